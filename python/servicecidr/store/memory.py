"""Objects kept compactly: one msgpack blob per object, decoded only when read.

A dict-of-dicts Service costs kilobytes in CPython; its msgpack form costs a few hundred
bytes, and large simulations hold millions of them. The blob is also exactly what an
event carries, so applying an event stores bytes without re-encoding.
"""

from __future__ import annotations

from collections.abc import Iterator

from servicecidr.api.kinds import KINDS

__all__ = ["ObjectStore", "object_key", "split_key"]


def object_key(namespaced: bool, namespace: str | None, name: str) -> str:
    """Storage key: ``namespace/name`` for namespaced kinds, ``name`` otherwise."""
    return f"{namespace}/{name}" if namespaced else name


def split_key(key: str) -> tuple[str | None, str]:
    """Inverse of :func:`object_key`."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, key)


class ObjectStore:
    """Kind -> key -> encoded object, and the global revision (etcd's resourceVersion)."""

    __slots__ = ("_data", "revision")

    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {k: {} for k in KINDS}
        self.revision = 0

    def get(self, kind: str, key: str) -> bytes | None:
        """The stored blob, or None."""
        return self._data[kind].get(key)

    def contains(self, kind: str, key: str) -> bool:
        """Whether an object is stored under the key."""
        return key in self._data[kind]

    def put(self, kind: str, key: str, blob: bytes, rv: int) -> bool:
        """Store a blob; returns True when the key is new."""
        bucket = self._data[kind]
        new = key not in bucket
        bucket[key] = blob
        if rv > self.revision:
            self.revision = rv
        return new

    def delete(self, kind: str, key: str, rv: int) -> bytes | None:
        """Remove an object; returns the blob it had."""
        if rv > self.revision:
            self.revision = rv
        return self._data[kind].pop(key, None)

    def keys(self, kind: str) -> Iterator[str]:
        """Keys of a kind, in insertion order (callers sort when order matters)."""
        return iter(list(self._data[kind]))

    def items(self, kind: str) -> list[tuple[str, bytes]]:
        """A stable copy of (key, blob) pairs of a kind."""
        return list(self._data[kind].items())

    def count(self, kind: str) -> int:
        """How many objects of a kind are stored."""
        return len(self._data[kind])

    def load_bucket(self, kind: str, objects: dict[str, bytes]) -> None:
        """Replace every object of a kind at once (loading a snapshot); the dict is kept."""
        self._data[kind] = objects

    def kinds(self) -> list[str]:
        """Every kind the store has a bucket for."""
        return list(self._data)
