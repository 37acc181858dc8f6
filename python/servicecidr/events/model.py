"""Events: the recorded outcome of every decision the engine makes.

A mutating call (a user's create, a controller's status write, the repair loop's fix)
decides first — validation, admission, random allocation — and then records one
:class:`Event` holding every storage write that decision produced, with the objects as
they are stored (so the ClusterIPs chosen are in the event). Applying an event replays
those writes and cannot fail, which is what makes replay deterministic.

Objects travel inside events as msgpack-encoded bytes, the same bytes the store keeps, so
applying an event never re-encodes anything.

:data:`RULES` says what a record and a stored object must be to be read back (checked in
Rust, ``_core.RecordRules``, by every reader and by the writer before it appends): an
event is the 10-field array of docs/FORMAT.md; a stored object is a JSON object (string
keys, JSON values only, at most :data:`MAX_OBJECT_DEPTH` levels deep) of a known kind
whose ``kind``, ``metadata.name`` and ``metadata.namespace`` spell its key, and whose
``spec`` and ``status`` are maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from servicecidr._core import RecordRules
from servicecidr.api.kinds import KINDS
from servicecidr.api.storable import MAX_DEPTH
from servicecidr.errors import InvalidInputError

__all__ = [
    "MAX_OBJECT_DEPTH",
    "OP_DELETE",
    "OP_PUT",
    "RULES",
    "SCHEMA_VERSION",
    "Event",
    "Write",
    "check_payload",
    "decode_event",
    "decode_object",
    "encode_event",
    "encode_object",
]

#: Version of the event layout written by this code; older versions are upcast on read.
SCHEMA_VERSION = 1

OP_PUT = 0
OP_DELETE = 1

#: How deep a value may sit in a stored object (the object is level 0): what the write
#: side lets in (``api.storable.MAX_DEPTH`` containers, the object included, so values sit
#: at most that many levels below it), so that whatever was stored reads back.
MAX_OBJECT_DEPTH = MAX_DEPTH

#: The rules every record and stored object must follow (see the module doc).
RULES = RecordRules(
    {k: info.namespaced for k, info in KINDS.items()}, MAX_OBJECT_DEPTH, SCHEMA_VERSION
)


def check_payload(payload: bytes) -> str | None:
    """Why an encoded event of the current schema could not be read back (None: it can)."""
    return RULES.record(payload)


def encode_object(obj: dict[str, Any]) -> bytes:
    """The stored form of an API object."""
    return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]


def decode_object(blob: bytes) -> dict[str, Any]:
    """A fresh dict from the stored form (callers may mutate it)."""
    return msgpack.unpackb(blob, raw=False)  # type: ignore[no-any-return]


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
class Event:
    """One decided and applied change to the cluster state.

    Attributes:
        seq: position in the log, from 1.
        ts: clock time of the decision (seconds since the epoch).
        verb: ``create``, ``update``, ``updateStatus``, ``delete``, ``store``, ...
        actor: who asked: ``user`` or a controller's name (``service-cidr-controller``).
        kind, namespace, name: the object the request was about.
        writes: the storage writes, in the order they happened.
        extra: audit annotations, warnings and other notes kept with the event.
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
        """Whether this event is about, or writes, an object matching the filters."""
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


def encode_event(ev: Event) -> bytes:
    """The msgpack form of an event (the log record payload)."""
    return msgpack.packb(  # type: ignore[no-any-return]
        [
            SCHEMA_VERSION,
            ev.seq,
            ev.ts,
            ev.verb,
            ev.actor,
            ev.kind,
            ev.namespace,
            ev.name,
            [[w.op, w.kind, w.key, w.rv, w.blob] for w in ev.writes],
            ev.extra,
        ],
        use_bin_type=True,
    )


def decode_event(data: bytes) -> Event:
    """Decode one event of the current schema; anything :data:`RULES` refuses raises
    InvalidInputError (``events.log.decode_payload`` also upcasts older schemas)."""
    why = RULES.record(data)
    if why is not None:
        raise InvalidInputError(f"not a readable event record: {why}")
    rec = msgpack.unpackb(data, raw=False)
    _, seq, ts, verb, actor, kind, ns, name, writes, extra = rec
    ws = [Write(w[0], w[1], w[2], w[3], w[4]) for w in writes]
    return Event(seq, float(ts), verb, actor, kind, ns, name, ws, extra)
