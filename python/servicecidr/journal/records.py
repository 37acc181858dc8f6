"""Journal entries: the recorded outcome of every decision the engine makes.

A mutating call (a user's create, a controller's status write, the repair loop's fix)
decides first (validation, admission, random allocation) and then records one
:class:`Entry` holding every storage write that decision produced, with the objects as
they are stored (so the ClusterIPs chosen are in the entry). Applying an entry replays
those writes and cannot fail, which is what makes replay deterministic.

Objects travel inside entries as msgpack-encoded bytes, the same bytes the store keeps,
so applying an entry never re-encodes anything.

The record layout (an entry as bytes in the log, docs/FORMAT.md) is defined once, in the
Rust crate ``servicecidr-codec``: :func:`encode_entry` and :func:`decode_entry` call it.
Only what that decoder does not take comes here: older schema versions, upcast through
:data:`UPCASTS`, and damage, worded for the user.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from servicecidr._core import decode_record, encode_record, record_schema_version
from servicecidr.api import storable
from servicecidr.errors import InvalidInputError

__all__ = [
    "OP_DELETE",
    "OP_PUT",
    "SCHEMA_VERSION",
    "UPCASTS",
    "Entry",
    "Write",
    "decode_checked",
    "decode_entry",
    "encode_entry",
    "entry_from_parts",
    "frame_entry",
    "pack_extra",
]

#: Version of the entry layout written by this code (the codec crate's constant).
SCHEMA_VERSION: int = record_schema_version()

OP_PUT = 0
OP_DELETE = 1


@dataclass(slots=True)
class Write:
    """One storage write: put an object under ``(kind, key)`` or delete it.

    ``rv`` is the store revision this write creates (the object's resourceVersion for a
    put). ``blob`` is the encoded object for a put, and the last stored state for a delete
    (kept so that history can be read without replaying).
    """

    op: int
    kind: str
    key: str
    rv: int
    blob: bytes | None = None


@dataclass(slots=True)
class Entry:
    """One decided and applied change to the cluster state: a journal entry.

    Attributes:
        seq: position in the journal, from 1.
        ts: clock time of the decision (seconds since the epoch).
        verb: ``create``, ``update``, ``updateStatus``, ``delete``, ``store``, ...
        actor: who asked: ``user`` or a controller's name (``service-cidr-controller``).
        kind, namespace, name: the object the request was about.
        writes: the storage writes, in the order they happened.
        extra: audit annotations, warnings and other notes kept with the entry.
    """

    seq: int
    ts: float
    verb: str
    actor: str
    kind: str
    namespace: str | None
    name: str
    writes: list[Write] = field(default_factory=list)
    extra: dict[str, Any] | None = None

    def touches(
        self, kind: str | None = None, namespace: str | None = None, name: str | None = None
    ) -> bool:
        """Whether this entry is about, or writes, an object matching the filters."""
        if self._matches(self.kind, self.namespace, self.name, kind, namespace, name):
            return True
        for w in self.writes:
            ns, _, n = w.key.rpartition("/")
            if self._matches(w.kind, ns or None, n, kind, namespace, name):
                return True
        return False

    @staticmethod
    def _matches(
        k: str, ns: str | None, n: str, kind: str | None, namespace: str | None, name: str | None
    ) -> bool:
        return (
            (kind is None or k == kind)
            and (namespace is None or ns == namespace)
            and (name is None or n == name)
        )


def pack_extra(entry: Entry) -> bytes | None:
    """The entry's ``extra`` as msgpack (None for none)."""
    if entry.extra is None:
        return None
    packed: bytes = msgpack.packb(entry.extra, use_bin_type=True)
    return packed


def frame_entry(entry: Entry) -> bytes:
    """The entry as one framed log record (length, CRC32C, payload)."""
    extra = pack_extra(entry)
    try:
        return encode_record(
            entry.seq,
            entry.ts,
            entry.verb,
            entry.actor,
            entry.kind,
            entry.namespace,
            entry.name,
            entry.writes,
            extra,
        )
    except (TypeError, OverflowError) as e:
        raise InvalidInputError(f"entry {entry.seq} cannot be encoded: {e}") from e


def encode_entry(entry: Entry) -> bytes:
    """The entry's record payload (what :func:`decode_entry` reads)."""
    return frame_entry(entry)[8:]


#: Upcasts: schema version -> function turning a record of that version (the decoded
#: msgpack array, schema version first) into one of the next version. Reading applies them
#: in a chain until the record is at SCHEMA_VERSION. Version 1 is the first and the
#: current one, so the table is empty; a change to the layout bumps the codec crate's
#: SCHEMA_VERSION and adds ``UPCASTS[old] = function`` here.
UPCASTS: dict[int, Callable[[list[Any]], list[Any]]] = {}


def _upcast(rec: Any) -> list[Any]:
    if not isinstance(rec, list) or not rec or type(rec[0]) is not int:
        raise InvalidInputError("record is not an entry (expected a versioned msgpack array)")
    version = rec[0]
    if version > SCHEMA_VERSION:
        raise InvalidInputError(
            f"entry schema version {version} is newer than this servicecidr understands "
            f"({SCHEMA_VERSION}); upgrade servicecidr to read this log"
        )
    while version < SCHEMA_VERSION:
        step = UPCASTS.get(version)
        if step is None:
            raise InvalidInputError(f"no upcast from entry schema version {version}")
        rec = step(rec)
        if not isinstance(rec, list) or not rec or rec[0] != version + 1:
            raise InvalidInputError(f"upcast from schema version {version} went wrong")
        version = rec[0]
    if len(rec) != 10:
        raise InvalidInputError(f"entry record of schema {version} has {len(rec)} fields, not 10")
    return rec


def _text(value: Any, what: str, seq: Any, *, optional: bool = False) -> Any:
    if isinstance(value, str) or (optional and value is None):
        return value
    raise InvalidInputError(f"entry {seq!r}: {what} is not a string: {value!r}")


def decode_checked(payload: bytes) -> Entry:
    """The slow path: an older schema, or a record the codec refused (worded here)."""
    try:
        rec = msgpack.unpackb(payload, raw=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise InvalidInputError(f"record payload is not valid msgpack: {e}") from e
    rec = _upcast(rec)
    _, seq, ts, verb, actor, kind, ns, name, writes, extra = rec
    if type(seq) is not int or seq < 0:
        raise InvalidInputError(f"entry {seq!r}: the sequence number is not an integer")
    if type(ts) not in (int, float) or not math.isfinite(ts):
        raise InvalidInputError(f"entry {seq}: the timestamp is not a finite number: {ts!r}")
    if not isinstance(writes, list):
        raise InvalidInputError(f"entry {seq}: the writes are not a list")
    if extra is not None:
        if not isinstance(extra, dict):
            raise InvalidInputError(f"entry {seq}: extra is not a map")
        try:
            storable.check(extra)  # what the codec takes: a JSON object
        except (storable.NotStorable, storable.TooLarge) as e:
            raise InvalidInputError(f"entry {seq}: extra is not a JSON object: {e}") from e
    ws = []
    for i, w in enumerate(writes):
        if not isinstance(w, list) or len(w) != 5:
            raise InvalidInputError(f"entry {seq}: write {i} is not [op, kind, key, rv, blob]")
        op, wkind, key, rv, blob = w
        if op not in (OP_PUT, OP_DELETE) or type(op) is not int:
            raise InvalidInputError(f"entry {seq}: write {i} has op {op!r} (0 put, 1 delete)")
        if type(rv) is not int or rv < 0:
            raise InvalidInputError(f"entry {seq}: write {i} has resourceVersion {rv!r}")
        if blob is not None and not isinstance(blob, bytes):
            raise InvalidInputError(f"entry {seq}: write {i} carries no object bytes")
        if op == OP_PUT and blob is None:
            raise InvalidInputError(f"entry {seq}: write {i} is a put without an object")
        ws.append(
            Write(op, _text(wkind, "a write's kind", seq), _text(key, "a key", seq), rv, blob)
        )
    return Entry(
        seq,
        float(ts),
        _text(verb, "the verb", seq),
        _text(actor, "the actor", seq),
        _text(kind, "the kind", seq),
        _text(ns, "the namespace", seq, optional=True),
        _text(name, "the name", seq),
        ws,
        extra,
    )


def decode_entry(payload: bytes) -> Entry:
    """Decode (and upcast) one record payload; a malformed one raises InvalidInputError.

    The current layout is read by the codec crate; an older schema or a malformed record
    takes the checked path, which upcasts or words the error.
    """
    rec = decode_record(payload)
    if rec is None:
        return decode_checked(payload)
    return entry_from_parts(rec)


def entry_from_parts(parts: tuple[Any, ...]) -> Entry:
    """An Entry from a record's parts as the codec gives them (``decode_record``,
    ``Store.journal_read``): the writes as tuples, ``extra`` as msgpack bytes."""
    seq, ts, verb, actor, kind, ns, name, writes, extra = parts
    return Entry(
        seq,
        ts,
        verb,
        actor,
        kind,
        ns,
        name,
        [Write(*w) for w in writes],
        None if extra is None else msgpack.unpackb(extra, raw=False),
    )
