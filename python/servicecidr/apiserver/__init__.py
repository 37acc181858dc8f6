"""The API server in a box: verbs, registry strategies, and one commit.

:class:`Engine` is what every front door reaches through the facade
(:class:`servicecidr.Cluster`), and what the controllers write through, as
kube-controller-manager writes through kube-apiserver.
"""

from servicecidr.apiserver.engine import USER, AdmissionHook, Engine, need_name, resolve_kind

__all__ = ["USER", "AdmissionHook", "Engine", "need_name", "resolve_kind"]
