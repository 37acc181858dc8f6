"""Who the engine's actors are, as kube-apiserver would authenticate them.

Every change is made by an actor: ``user`` (the facade's caller), or a controller by its
name. Admission (``request.userInfo``) and the audit writer (``user``, ``userAgent``) see
the same identity: the admin credentials kubectl uses, kube-apiserver's own loopback
client for the controllers that run inside it, and kube-controller-manager's service
account for the ServiceCIDR controller.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["K8S_VERSION", "Identity", "identity_of"]

#: The Kubernetes version the engine models (user agents and discovery say it).
K8S_VERSION = "v1.33.0"


class Identity(NamedTuple):
    """An authenticated user and the agent it calls with."""

    username: str
    groups: list[str]
    user_agent: str


_APISERVER = Identity(
    "system:apiserver",
    ["system:authenticated", "system:masters"],
    f"kube-apiserver/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr",
)
_KCM_SA = "system:serviceaccount:kube-system:service-cidr-controller"
_IDENTITIES: dict[str, Identity] = {
    "user": Identity(
        "kubernetes-admin",
        ["kubeadm:cluster-admins", "system:authenticated"],
        f"kubectl/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr",
    ),
    "kube-apiserver": _APISERVER,
    "kubernetes-service-cidr-controller": _APISERVER,
    "ipallocator-repair-controller": _APISERVER,
    "ipallocator": _APISERVER,
    "service-cidr-controller": Identity(
        _KCM_SA,
        ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
        f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr/{_KCM_SA}",
    ),
}


def identity_of(actor: str) -> Identity:
    """The identity of an engine actor (an unknown actor is a user of that name)."""
    ident = _IDENTITIES.get(actor)
    if ident is not None:
        return ident
    return Identity(actor, ["system:authenticated"], f"servicecidr/{K8S_VERSION}")
