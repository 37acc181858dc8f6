"""The object store: what etcd and kube-apiserver's watch cache are to a cluster.

:class:`Store` (``servicecidr._core.Store``, the Rust crate ``servicecidr-store``) keeps
every object as the msgpack blob the log carries, by kind and storage key, in key order
(lists come out as etcd returns them), and gives it back as those very bytes (the
allocator's IPAddress objects are held in a compact form, a tenth of the size, rebuilt
byte for byte when read; :meth:`Store.held` counts them); the revision (the largest
resourceVersion written); and a bounded change feed (:meth:`Store.changes_since`), which
controllers, watches and importers read. :meth:`Store.apply` is the one apply: live
commits, log replay and snapshot loading all change the store through it, and it keeps
the attached allocators marked from the IPAddress keys. Reading never decodes; callers
decode the blobs they need (:func:`servicecidr.journal.records.decode_object`).
"""

from __future__ import annotations

from typing import Any

import msgpack

from servicecidr._core import Store
from servicecidr.api.kinds import KINDS
from servicecidr.api.storable import MAX_DEPTH

__all__ = ["Store", "decode_object", "encode_object", "new_store", "object_key", "split_key"]


def new_store(*, feed_capacity: int = 100_000, journal: bool = False, first_seq: int = 1) -> Store:
    """An empty store for every kind servicecidr serves, taking only objects it can read
    back (nested at most :data:`~servicecidr.api.storable.MAX_DEPTH` levels)."""
    kinds = [(kind, info.namespaced) for kind, info in KINDS.items()]
    return Store(
        kinds, MAX_DEPTH, feed_capacity=feed_capacity, journal=journal, first_seq=first_seq
    )


def encode_object(obj: dict[str, Any]) -> bytes:
    """The stored form of an API object: msgpack, as the log carries it."""
    return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]


def decode_object(blob: bytes) -> dict[str, Any]:
    """A fresh dict from the stored form (callers may mutate it)."""
    return msgpack.unpackb(blob, raw=False)  # type: ignore[no-any-return]


def object_key(namespaced: bool, namespace: str | None, name: str) -> str:
    """Storage key: ``namespace/name`` for namespaced kinds, ``name`` otherwise."""
    return f"{namespace}/{name}" if namespaced else name


def split_key(key: str) -> tuple[str | None, str]:
    """Inverse of :func:`object_key`."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, key)
