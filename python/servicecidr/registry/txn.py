"""A transaction: the storage writes one decision produces, and what it is about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from servicecidr.errors import ApiError
from servicecidr.journal.records import OP_DELETE, OP_PUT, Write
from servicecidr.store import encode_object

__all__ = ["Outcome", "Txn"]


class Txn:
    """Collects the writes of one request; each takes the next store revision, as in etcd.

    It also names the request, which is what its journal entry records: the verb, the
    object it was about, who asked (None: the actor of the request), and ``extra`` notes
    (audit annotations and warnings of admission).

    Putting an object stamps ``metadata.resourceVersion`` before encoding it, so the
    stored bytes are final and the entry can carry them as they are.
    """

    __slots__ = ("_rv", "actor", "extra", "kind", "name", "namespace", "verb", "writes")

    def __init__(
        self,
        revision: int,
        verb: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        actor: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._rv = revision
        self.verb = verb
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.actor = actor
        self.extra = extra
        self.writes: list[Write] = []

    def put(self, kind: str, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (stamped with its new resourceVersion); returns it."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self.writes.append(Write(OP_PUT, kind, key, self._rv, encode_object(obj)))
        return obj

    def delete(self, kind: str, key: str, last: bytes | None) -> None:
        """Remove the object under ``key`` (``last``: its final stored form)."""
        self._rv += 1
        self.writes.append(Write(OP_DELETE, kind, key, self._rv, last))

    def add(self, write: Write) -> None:
        """Take a write made elsewhere (an import keeps the revision it recorded)."""
        self._rv = max(self._rv, write.rv)
        self.writes.append(write)

    def __bool__(self) -> bool:
        return bool(self.writes)


@dataclass(slots=True)
class Outcome:
    """What a registry strategy decided: the object to answer with, the warnings, the
    transactions to commit (in order), and an error to raise once they are committed
    (a half-done dual-stack allocation is kept, as Kubernetes keeps it, and the request
    still fails), and what undoes the decision's reservations (allocator bits, node ports)
    if the transactions cannot be recorded."""

    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    txns: list[Txn] = field(default_factory=list)
    error: ApiError | None = None
    undo: list[Callable[[], None]] = field(default_factory=list)
