"""The in-memory object store (what etcd is to kube-apiserver)."""

from servicecidr.store.memory import ObjectStore, object_key, split_key

__all__ = ["ObjectStore", "object_key", "split_key"]
