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
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, final

__all__ = [
    "AdmissionInput",
    "AllocatedIterator",
    "AuditLineReader",
    "CidrAllocator",
    "CompiledPolicy",
    "RecordRules",
    "ReplayProgress",
    "cel_eval",
    "crc32c",
    "encode_log_records",
    "frame_import_event",
    "json_bound",
    "parse_cidr",
    "parse_ip",
    "read_snapshot_body",
    "replay_records",
]

_IPFamily = Literal["IPv4", "IPv6"]

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

@final
class ReplayProgress:
    """What one :func:`replay_records` call did."""

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
    def revision(self) -> int:
        """Highest resourceVersion written (0 when none was)."""
    @property
    def status(self) -> int:
        """0 end of data; 1 the record at ``offset`` needs the Python reader; 2 the stop
        point was reached (the record before ``offset``, read, not applied); 3
        ``max_events`` applied."""

def replay_records(
    data: bytes | mmap.mmap,
    offset: int,
    expect_seq: int,
    start_seq: int,
    stop_seq: int | None,
    stop_ts: float | None,
    buckets: dict[str, dict[str, bytes]],
    allocators: list[CidrAllocator],
    node_port_services: dict[str, tuple[int, ...]],
    max_events: int,
    rules: RecordRules,
) -> ReplayProgress:
    """Apply the log records of a segment from ``offset``: the replay fast path (see
    events/recovery.py). Stops before any record it does not handle, and before any
    record ``rules`` refuse."""

def read_snapshot_body(
    body: bytes | memoryview | mmap.mmap,
    rules: RecordRules,
) -> tuple[list[tuple[str, dict[str, bytes]]], dict[str, tuple[int, int]]]:
    """Read a snapshot body: the store as ``[(kind, {key: blob})]`` (every blob checked
    with ``rules.object``) and, for every other top-level key, the ``(start, end)`` of
    its value. ValueError names a malformed part and its offset in ``body``."""

@final
class RecordRules:
    """What a log record and a stored object must be to be read back (one walk over the
    msgpack bytes; see events/model.py and docs/FORMAT.md).

    ``kinds`` maps every kind to whether it is namespaced; ``max_depth`` bounds how deep
    an object nests; ``schema_version`` is the event schema records must have.
    """

    def __new__(
        cls, kinds: Mapping[str, bool], max_depth: int, schema_version: int
    ) -> RecordRules: ...
    def record(self, payload: bytes) -> str | None:
        """Why ``payload`` is not a readable event record (None: it is)."""
    def object(self, kind: str, key: str, blob: bytes) -> str | None:
        """Why ``blob`` is not a readable stored object of ``kind`` under ``key``."""

@final
class AuditLineReader:
    """Reads one JSON-lines audit log (plain or gzip) on a worker thread; see
    ``servicecidr.importers.fastaudit`` for what it hands back."""

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

def encode_log_records(events: list[Any]) -> bytes:
    """The framed log records (length, CRC32C, msgpack payload) of a list of
    ``servicecidr.events.model.Event``, concatenated: exactly ``frame(encode_event(ev))``
    for each. TypeError when an event holds a value it does not encode."""

def frame_import_event(
    seq: int,
    ts: float,
    actor: str,
    kind: str,
    namespace: str | None,
    name: str,
    op: int,
    key: str,
    rv: int,
    blob: bytes | None,
    verb: str,
    at: str,
    audit_id: str,
) -> bytes:
    """The framed log record of an observed import's one-write event (see
    ``ObservedImporter._commit_fast``): ``frame(encode_event(...))`` without the Event."""
