"""The Rust allocation core of servicecidr (``rust/python`` over ``rust/core``).

One :class:`CidrAllocator` holds the allocation state of one Service CIDR exactly as
kube-apiserver's ``ipallocator`` would: usable addresses, KEP-3070 bands, random
dynamic allocation. Errors are the classes of :mod:`servicecidr.errors`:

* :class:`~servicecidr.errors.InvalidInputError` for a malformed IP, CIDR or snapshot
  (the message names the value and ends with Kubernetes' validation detail);
* :class:`~servicecidr.errors.RangeFullError` (``range is full``);
* :class:`~servicecidr.errors.AlreadyAllocatedError`
  (``provided IP is already allocated``; the instance also has an ``ip`` attribute);
* :class:`~servicecidr.errors.NotInRangeError`
  (``the provided IP (<ip>) is not in the valid range. The range of valid IPs is <cidr>``).
"""

import mmap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, final

from typing_extensions import Buffer

__all__ = [
    "MAX_OBJECT_DEPTH",
    "AdmissionInput",
    "AllocatedIterator",
    "AuditLineReader",
    "CidrAllocator",
    "CompiledPolicy",
    "MersenneTwister",
    "ReplayProgress",
    "ServiceFastDelete",
    "ServiceFastPath",
    "Store",
    "cel_eval",
    "crc32c",
    "decode_record",
    "encode_record",
    "frame_entries",
    "json_bound",
    "load_snapshot_store",
    "parse_cidr",
    "parse_ip",
    "record_schema_version",
    "repair_quiet_run",
    "replay_into",
]

_IPFamily = Literal["IPv4", "IPv6"]

#: How deep a stored object may nest (containers below the object): what the store,
#: and so the log, takes. ``servicecidr.api.storable.MAX_DEPTH`` is the same bound.
MAX_OBJECT_DEPTH: int

@final
class CidrAllocator:
    """The allocation state of one Service CIDR.

    ``cidr`` is parsed strictly (non-canonical spellings are accepted, host bits,
    leading zeros and IPv4-mapped IPv6 are not); IPv6 prefixes shorter than /64 are
    refused as by ``NewIPAllocator``. ``seed`` fixes the random choices of
    :meth:`allocate_next` (any int, taken modulo 2**64); ``None`` seeds from OS entropy.
    Safe to share between threads.
    """

    def __new__(cls, cidr: str, *, seed: int | None = None) -> CidrAllocator: ...
    def allocate(self, ip: str) -> None:
        """Reserve ``ip`` (either band); NotInRangeError or AlreadyAllocatedError."""

    def allocate_next(self) -> str:
        """Reserve a free address: random start in the upper band, scan with wrap,
        then the lower band; RangeFullError when none is left."""

    def release(self, ip: str) -> bool:
        """Free ``ip``; False (no error) when it was free or outside the range."""

    def reseed(self, seed: int) -> None:
        """Restart the random sequence of ``allocate_next`` from ``seed`` (mod 2^64)."""

    def mark(self, ip: str) -> bool:
        """Reserve ``ip`` if it is a free usable address; never raises (a taken, foreign
        or malformed address is just not marked). Returns whether it was marked."""

    def unmark(self, ip: str) -> bool:
        """Free ``ip`` if it is allocated; never raises. Returns whether it was freed."""

    def has(self, ip: str) -> bool:
        """Whether ``ip`` is allocated."""

    def contains(self, ip: str) -> bool:
        """Whether ``ip`` is one of the usable addresses of the range."""

    def allocate_many(self, ips: Iterable[str]) -> None:
        """Reserve every address of ``ips`` or none; the error's note names the item."""

    def allocate_next_many(self, n: int) -> list[str]:
        """Reserve ``n`` addresses as ``n`` calls of :meth:`allocate_next` would, or
        none (RangeFullError) when fewer than ``n`` are free; more than 2**24 in one call
        is an InvalidInputError."""

    def release_many(self, ips: Iterable[str]) -> int:
        """Free every address of ``ips``; return how many were allocated."""

    def allocate_many_int(self, ips: Iterable[int] | Buffer) -> None:
        """:meth:`allocate_many` of addresses as integers: their values in the range's
        family (``int(ipaddress.ip_address(text))``), from ints or a buffer of unsigned
        32- or 64-bit items; a value too large for the family is an InvalidInputError."""

    def allocate_next_many_int(self, n: int) -> list[int]:
        """:meth:`allocate_next_many` returning the addresses' values as ints."""

    def allocate_next_many_into(self, out: Buffer) -> None:
        """:meth:`allocate_next_many` of as many addresses as ``out`` (a writable buffer of
        unsigned 32- or 64-bit items, ``array('Q', bytes(8 * n))``) has items, written into
        it as values: no Python object per address. IPv4 only (an IPv6 value does not fit
        64 bits): InvalidInputError for an IPv6 range."""

    def release_many_int(self, ips: Iterable[int] | Buffer) -> int:
        """:meth:`release_many` of addresses as integers (as :meth:`allocate_many_int`
        reads them); return how many were allocated."""

    @property
    def free(self) -> int:
        """Number of free usable addresses."""

    @property
    def used(self) -> int:
        """Number of allocated addresses."""

    @property
    def size(self) -> int:
        """Number of usable addresses (2**h - 2 for IPv4, 2**h - 1 for IPv6, at most
        2**64 - 1)."""

    @property
    def cidr(self) -> str:
        """The range, canonical."""

    @property
    def ip_family(self) -> _IPFamily:
        """``"IPv4"`` or ``"IPv6"``."""

    @property
    def range_offset(self) -> int:
        """KEP-3070 offset: how many of the first usable addresses form the static band."""

    def __len__(self) -> int: ...
    def __contains__(self, ip: object, /) -> bool:
        """``ip in allocator``: like :meth:`has`, but False instead of an error for
        anything that is not a valid IP string."""

    def __iter__(self) -> AllocatedIterator:
        """The addresses allocated when iteration begins, in address order."""

    def snapshot(self) -> bytes:
        """Versioned, checksummed bytes of the whole state, random generator included."""

    @classmethod
    def restore(cls, cidr: str, data: bytes) -> CidrAllocator:
        """Rebuild from :meth:`snapshot` bytes; InvalidInputError for another range or
        damaged data."""

    def __reduce__(self) -> tuple[Callable[[str, bytes], CidrAllocator], tuple[str, bytes]]: ...

@final
class AllocatedIterator:
    """Iterator returned by ``iter(CidrAllocator)``."""

    def __iter__(self) -> AllocatedIterator: ...
    def __next__(self) -> str: ...
    def __length_hint__(self) -> int: ...

def json_bound(obj: object, max_depth: int, limit: int) -> int | None:
    """A lower bound of the compact JSON size of ``obj`` when it is plain JSON (string
    keys, valid UTF-8, int64 integers, finite floats) nested at most ``max_depth`` deep
    (stopping once the bound passes ``limit``); None when Python must judge it."""

def parse_ip(text: str) -> tuple[str, _IPFamily]:
    """Parse an IP address strictly; return ``(canonical text, family)``."""

def parse_cidr(text: str) -> tuple[str, _IPFamily]:
    """Parse a CIDR strictly; return ``(canonical text, family)``."""

# --------------------------------------------------------------------------------------
# ValidatingAdmissionPolicy CEL (rust/cel, crate servicecidr-cel)
# --------------------------------------------------------------------------------------

_Decision = tuple[int, str, str | None]

@final
class AdmissionInput:
    """A request's ``object`` and ``oldObject`` (JSON-shaped dicts, or None), converted
    to CEL on first use, only the parts a policy reads, and kept for every evaluation of
    that policy on the request."""

    def __new__(
        cls, object: Mapping[str, object] | None, old_object: Mapping[str, object] | None
    ) -> AdmissionInput: ...

@final
class CompiledPolicy:
    """The CEL of a ValidatingAdmissionPolicy ``spec`` (a dict), compiled and type-checked
    once: match conditions, variables (composited, typed by their output), validations and
    their message expressions, audit annotations."""

    def __new__(cls, spec: Mapping[str, object]) -> CompiledPolicy: ...
    @property
    def errors(self) -> list[tuple[str, str]]:
        """(field path, detail) for each expression that failed to compile, e.g.
        ``("spec.validations[0].expression", "compilation failed: ERROR: ...")``."""

    @property
    def uses_request(self) -> bool:
        """Whether an expression reads ``request``."""

    @property
    def uses_namespace_object(self) -> bool:
        """Whether an expression reads ``namespaceObject``."""

    @property
    def uses_params(self) -> bool:
        """Whether an expression reads ``params``."""

    def evaluate(
        self,
        input: AdmissionInput,
        params: object = None,
        request: object = None,
        namespace_object: object = None,
    ) -> tuple[list[_Decision], list[tuple[str, str]], list[str]] | None:
        """Evaluate for one binding and param. ``params``, ``request`` and
        ``namespace_object`` are JSON-shaped values, None (``null``), or zero-argument
        callables returning one, called only when an expression reads the variable.

        None when the policy has nothing to say (a match condition excluded the request,
        or every validation passed and no audit annotation was published); otherwise
        (deny decisions as ``(validation index, message, reason or None)``, audit
        annotations as ``(key, value)``, audit annotation errors)."""

def cel_eval(expression: str) -> str:
    """Compile and evaluate a standalone expression (no variables bound) and return its
    printed result (``true``, ``"text"``, ``net.CIDR 10.0.0.0/8``); ValueError with the
    compile error as kube-apiserver words it, or the runtime error as cel-go does."""

def crc32c(data: bytes | memoryview | mmap.mmap, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of a bytes-like object, continuing from ``crc``."""

_Write = tuple[int, str, str, int, bytes | None] | Any
_Record = tuple[
    int,
    float,
    str,
    str,
    str,
    str | None,
    str,
    list[tuple[int, str, str, int, bytes | None]],
    bytes | None,
]

@final
class Store:
    """Objects by kind and key (in key order), the revision, the change feed, and the one
    apply (``servicecidr-store``); see :mod:`servicecidr.store`."""

    def __new__(
        cls,
        kinds: list[tuple[str, bool]],
        max_depth: int,
        *,
        feed_capacity: int = 100_000,
        journal: bool = False,
        first_seq: int = 1,
    ) -> Store: ...
    @property
    def revision(self) -> int:
        """The largest resourceVersion written so far."""
    @property
    def oldest_revision(self) -> int:
        """The oldest revision ``changes_since`` can answer from."""
    def kinds(self) -> list[str]:
        """The kinds this store holds."""
    def get(self, kind: str, key: str) -> bytes | None:
        """The stored object, or None."""
    def contains(self, kind: str, key: str) -> bool:
        """Whether an object is stored under the key."""
    def count(self, kind: str) -> int:
        """How many objects of a kind are stored."""
    def held(self, kind: str) -> tuple[int, int, int]:
        """``(objects, compact, bytes)``: the objects of a kind, how many are held in the
        compact form (IPAddress objects of the allocator's shape), and the bytes their
        stored forms take."""
    def keys(
        self, kind: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Keys of a kind in key order, starting with ``prefix``, after ``after``."""
    def items(
        self, kind: str, prefix: str = "", after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, bytes]]:
        """(key, object) pairs of a kind in key order, as ``keys`` selects them."""
    def apply(
        self, writes: Iterable[_Write], *, checked: bool = False
    ) -> tuple[list[str], list[str]] | None:
        """Apply writes (``Write`` objects or ``(op, kind, key, rv, blob)`` tuples): the
        one apply. None, or (ServiceCIDR keys, Service keys with node ports) written.
        InvalidInputError (nothing applied) for malformed writes; ``checked=True`` skips
        the checks ``check`` made already."""
    def check(self, writes: Iterable[_Write]) -> None:
        """Check writes as ``apply`` would, changing nothing."""
    def commit(
        self,
        seq: int,
        ts: float,
        verb: str,
        actor: str,
        kind: str,
        namespace: str | None,
        name: str,
        writes: Iterable[_Write],
        extra: bytes | None,
    ) -> tuple[list[str], list[str]] | None:
        """Record an entry in the store's journal and apply it, in one step."""
    @property
    def journal_last_seq(self) -> int | None:
        """The seq of the journal's last entry (None: no journal)."""
    @property
    def journal_max_ts(self) -> float | None:
        """The latest timestamp in the journal (None: no journal)."""
    def journal_read(self, after: int = 0, upto: int | None = None) -> list[_Record]:
        """The journal's entries with ``after < seq <= upto``, as record parts."""
    def changes_since(
        self, rv: int, limit: int | None = None
    ) -> list[tuple[int, str, str, str, bytes]]:
        """``(rv, ADDED|MODIFIED|DELETED, kind, key, object)`` after ``rv``;
        ExpiredError when the feed no longer reaches back to it."""
    def attach_allocator(self, alloc: CidrAllocator, *, mark_existing: bool = True) -> None:
        """Keep ``alloc`` marked from the IPAddress keys (marking the stored ones first)."""
    def detach_allocator(self, alloc: CidrAllocator) -> None:
        """Stop marking ``alloc``."""
    def truncate_feed(self) -> None:
        """Forget the change feed (after loading a snapshot)."""
    def raise_revision(self, rv: int) -> None:
        """Raise the revision to at least ``rv``."""
    def __len__(self) -> int: ...

@final
class MersenneTwister:
    """CPython's MT19937 generator held in Rust (``rust/python/src/rng.rs``): the state of
    a :class:`servicecidr.rng.SeededRandom`, which the one-call create draws from
    natively. Draws exactly what ``random.Random`` would from the same state."""

    def __new__(cls, state: Sequence[int]) -> MersenneTwister:
        """The generator at ``state``: the 625 ints of ``random.Random.getstate()[1]``;
        ``ValueError`` for any other length or an index past 624."""
    def getrandbits(self, k: int) -> int:
        """``random.Random.getrandbits(k)``."""
    def random(self) -> float:
        """``random.Random.random()``."""
    def getstate(self) -> tuple[int, ...]:
        """The state, as the constructor takes it."""

@final
class ServiceFastDelete:
    """One call per common Service delete (``rust/python/src/fastdelete.rs``): the
    Service, and the IPAddresses the allocator releases, removed in one journal entry,
    exactly as the full path would. What it cannot answer as the full path would (a
    missing Service, finalizers, an admission policy bound, anything unusual), it leaves
    alone (returns None) before changing anything."""

    def __new__(
        cls,
        store: Store,
        decode: Callable[[bytes], dict[str, Any]],
        upkeep: Callable[[list[str], list[str]], None],
    ) -> ServiceFastDelete: ...
    def set_allocators(self, allocators: list[CidrAllocator]) -> None:
        """Every allocator of the MetaAllocator, ready or not (a release goes through
        any that contains the address); set again whenever they change."""
    def set_counting(self, count: Callable[[float], None] | None) -> None:
        """How entries are recorded: None, in the store's journal; a callable, the store
        keeps none and ``count(ts)`` is told of each entry."""
    def delete(self, name: Any, namespace: Any, actor: Any, clock: Any) -> dict[str, Any] | None:
        """Delete the Service ``namespace/name`` (namespace None or "": ``default``) made
        by ``actor`` at ``clock.now()``: the Service as it was stored, or None with
        nothing changed (the full path must take it)."""
    def delete_many(
        self, keys: list[Any], start: int, actor: Any, clock: Any, out: list[Any]
    ) -> int:
        """:meth:`delete` of each ``("Service", name, namespace)`` of ``keys[start:]`` in
        order, appending each Service to ``out``, until one must take the full path;
        returns its index (``len(keys)`` when all were deleted)."""
    @property
    def deleted(self) -> int:
        """How many Services this path has deleted."""

@final
class ServiceFastPath:
    """One call per common Service create (``rust/python/src/fastcreate.rs``): creates a
    Service whose request *shape* (the body without its name, and the namespace asked
    for) was learned from a create of the full path, from that create's templates. What
    it cannot answer as the full path would, it leaves alone (returns None) before
    drawing anything; see :mod:`servicecidr.registry.service_fast`."""

    def __new__(
        cls,
        store: Store,
        format_time: Callable[[int], str],
        upkeep: Callable[[list[str], list[str]], None],
    ) -> ServiceFastPath: ...
    @property
    def sentinels(self) -> dict[str, str]:
        """Slot name (``name``, ``uid``, ``creationTimestamp``, ``resourceVersion``,
        ``ip0``, ``ip1``) -> the sentinel string a template holds in that slot."""
    def shape_key(self, obj: Any, namespace: str | None) -> tuple[bytes, str] | None:
        """The shape key of a request body and its name; None when the body cannot take
        the fast path (not plain JSON values, no string name, too large)."""
    def knows(self, key: bytes) -> bool:
        """Whether a shape is known (learned or refused); one learned in a Namespace
        stored differently since is not (it may be learned again)."""
    def set_lifecycle(self, on: bool) -> None:
        """Whether NamespaceLifecycle runs: a create then takes this path only while its
        Namespace is stored as it was when its shape was learned."""
    def refuse(self, key: bytes) -> None:
        """Remember a shape that always takes the full path."""
    def learn(
        self,
        key: bytes,
        namespace: str,
        families: list[str],
        warnings: list[str],
        object: dict[str, Any],
        service: bytes,
        addresses: list[bytes],
        expect: list[tuple[bytes, list[str]]],
    ) -> bool:
        """Learn a shape from the templates of the create that stored it; the templates
        filled with ``expect``'s values must give back its bytes. Returns whether the
        shape was learned (else it is refused)."""
    def set_ready(self, ipv4: list[CidrAllocator] | None, ipv6: list[CidrAllocator] | None) -> None:
        """The ready allocators of each family, in the MetaAllocator's order (None: the
        family takes the full path)."""
    def set_counting(self, count: Callable[[float], None] | None) -> None:
        """None: entries go to the store's journal; else the store keeps none and
        ``count(ts)`` is told of each one."""
    def clear(self) -> None:
        """Forget every shape."""
    def create(
        self, obj: Any, namespace: str | None, actor: str, rng: Any, clock: Any
    ) -> tuple[dict[str, Any], list[str]] | None:
        """Create the Service ``obj`` if its shape is known and nothing about it is
        unusual: (the Service as stored, the warnings); None, with nothing drawn or
        changed, when the full path must take it."""
    def create_many(
        self,
        objs: list[Any],
        start: int,
        namespace: str | None,
        actor: str,
        rng: Any,
        clock: Any,
        out: list[Any],
    ) -> int:
        """``create`` of ``objs[start:]`` in order, appending each Service to ``out``,
        until one must take the full path: returns its index (``len(objs)``: all done)."""
    @property
    def created(self) -> int:
        """How many Services this path has created."""
    def __len__(self) -> int: ...

@final
class ReplayProgress:
    """What one :func:`replay_into` call did."""

    @property
    def record_offset(self) -> int:
        """Where the last record consumed starts."""
    @property
    def offset(self) -> int:
        """Offset of the first record not consumed."""
    @property
    def records(self) -> int:
        """Records read (whole, CRC-valid, in sequence), applied or not."""
    @property
    def applied(self) -> int:
        """Records applied."""
    @property
    def last_seq(self) -> int:
        """Seq of the last record read (0 when none was)."""
    @property
    def expect_seq(self) -> int:
        """Seq the next record must have."""
    @property
    def last_ts(self) -> float:
        """Timestamp of the last record applied (NaN when none was)."""
    @property
    def max_ts(self) -> float:
        """Largest timestamp applied (NaN when none was)."""
    @property
    def status(self) -> int:
        """0 end of data; 1 the record at ``offset`` needs the Python reader; 2 the stop
        point was reached; 3 ``max_events`` applied; 4 a ServiceCIDR was written (sync
        the indexes, then call again)."""
    @property
    def reshaped(self) -> list[str]:
        """ServiceCIDR keys written by the records applied."""
    @property
    def node_ports(self) -> list[str]:
        """Service keys whose node ports may have changed."""

def replay_into(
    store: Store,
    data: bytes | mmap.mmap | memoryview,
    offset: int,
    expect_seq: int,
    start_seq: int,
    stop_seq: int | None,
    stop_ts: float | None,
    max_events: int,
) -> ReplayProgress:
    """Apply the log records of a segment from ``offset`` to ``store`` through the one
    apply (see journal/recovery.py). Stops before any record it does not take."""

def load_snapshot_store(
    store: Store, body: bytes | memoryview | mmap.mmap
) -> tuple[dict[str, tuple[int, int]], list[str], list[str]]:
    """Load a snapshot body's objects into ``store``; returns the ``(start, end)`` of every
    other top-level value, and the ServiceCIDR and node-port Service keys loaded.
    ValueError names a malformed part."""

def encode_record(
    seq: int,
    ts: float,
    verb: str,
    actor: str,
    kind: str,
    namespace: str | None,
    name: str,
    writes: Iterable[_Write],
    extra: bytes | None,
) -> bytes:
    """The framed log record of an entry given by its parts (``extra`` as msgpack)."""

def frame_entries(entries: list[Any]) -> bytes:
    """The framed records of journal entries (``bytes`` items are framed already),
    concatenated. TypeError when an ``extra`` holds a value it does not pack."""

def decode_record(payload: bytes | memoryview | mmap.mmap) -> _Record | None:
    """A current-schema record's parts, or None for anything else."""

def record_schema_version() -> int:
    """The schema version of the records ``encode_record`` writes."""

@final
class AuditLineReader:
    """Reads one JSON-lines audit log (plain or gzip) on a worker thread; see
    ``servicecidr.importers.auditreader_rust`` for what it hands back."""

    def __new__(
        cls,
        path: str,
        *,
        fast: bool = True,
        batch: int = 256,
        source: str | None = None,
        schema: dict[str, Any] | None = None,
    ) -> AuditLineReader: ...
    def next_batch(self) -> list[tuple[Any, ...]] | None:
        """The next batch of classified lines, or None at the end of the file."""
    @property
    def bytes_read(self) -> int:
        """Bytes of the file read so far (compressed bytes for gzip)."""
    def close(self) -> None:
        """Stop the worker and let go of the file."""

def repair_quiet_run(
    store: Store, kind: str, keys: list[str], start: int, ranges: list[tuple[int, int, int]]
) -> int:
    """The index of the first key of ``keys[start:]`` (Service keys for ``"Service"``,
    IPAddress names for ``"IPAddress"``) whose repair check is not certainly a no-op in
    ``store`` as it is now, or ``len(keys)`` when all are (a key with no stored object
    is). ``ranges`` are the usable ServiceCIDR ranges as (IP version, network address as
    int, prefix length)."""
