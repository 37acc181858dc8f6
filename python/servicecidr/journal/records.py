"""Events: the recorded outcome of every decision the engine makes.

A mutating call (a user's create, a controller's status write, the repair loop's fix)
decides first — validation, admission, random allocation — and then records one
:class:`Event` holding every storage write that decision produced, with the objects as
they are stored (so the ClusterIPs chosen are in the event). Applying an event replays
those writes and cannot fail, which is what makes replay deterministic.

Objects travel inside events as msgpack-encoded bytes, the same bytes the store keeps, so
applying an event never re-encodes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from servicecidr.errors import InvalidInputError

__all__ = [
    "OP_DELETE",
    "OP_PUT",
    "SCHEMA_VERSION",
    "Event",
    "Write",
    "decode_event",
    "decode_object",
    "encode_event",
    "encode_object",
]

#: Version of the event layout written by this code; older versions are upcast on read.
SCHEMA_VERSION = 1

OP_PUT = 0
OP_DELETE = 1


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
    """Decode (and upcast) one event; malformed data raises InvalidInputError."""
    try:
        rec = msgpack.unpackb(data, raw=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise InvalidInputError(f"event record is not valid msgpack: {e}") from e
    if not isinstance(rec, list) or not rec or not isinstance(rec[0], int):
        raise InvalidInputError("event record is not an event (expected a versioned array)")
    version = rec[0]
    if version > SCHEMA_VERSION:
        raise InvalidInputError(
            f"event schema version {version} is newer than this servicecidr understands "
            f"({SCHEMA_VERSION}); upgrade servicecidr"
        )
    if len(rec) != 10:
        raise InvalidInputError(f"event record of schema {version} has {len(rec)} fields, not 10")
    _, seq, ts, verb, actor, kind, ns, name, writes, extra = rec
    try:
        ws = [Write(int(w[0]), w[1], w[2], int(w[3]), w[4]) for w in writes]
    except (TypeError, IndexError, ValueError) as e:
        raise InvalidInputError(f"event {seq}: malformed write list: {e}") from e
    return Event(int(seq), float(ts), verb, actor, kind, ns, name, ws, extra)
