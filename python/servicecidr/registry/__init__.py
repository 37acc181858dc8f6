"""Per-kind request handling, as kube-apiserver's registries do it."""
