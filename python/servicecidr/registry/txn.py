"""A transaction: the storage writes one decision produces, with their revisions."""

from __future__ import annotations

from typing import Any

from servicecidr.journal.records import OP_DELETE, OP_PUT, Write, encode_object

__all__ = ["Txn"]


class Txn:
    """Collects writes; each one takes the next store revision, as in etcd.

    Putting an object stamps ``metadata.resourceVersion`` before encoding it, so the
    stored bytes are final and an event can carry them as they are.
    """

    __slots__ = ("_rv", "writes")

    def __init__(self, revision: int) -> None:
        self._rv = revision
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

    def __bool__(self) -> bool:
        return bool(self.writes)
