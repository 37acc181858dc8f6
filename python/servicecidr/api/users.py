"""Who the engine's actors are, as kube-apiserver would authenticate them.

Every change is made by an actor: ``user`` (the facade's caller), a controller by its
name, or a client of the HTTP server authenticated as a user (:func:`client_actor`,
``client:<username>``). Admission (``request.userInfo``) and the audit writer (``user``,
``userAgent``) see the same identity: the admin credentials kubectl uses,
kube-apiserver's own loopback client for the controllers that run inside it, and
kube-controller-manager's service account for the ServiceCIDR controller.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ADMIN_USER", "CLIENT_PREFIX", "K8S_VERSION", "Identity", "client_actor", "identity_of"]

#: The Kubernetes version the engine models (user agents and discovery say it).
K8S_VERSION = "v1.33.0"


class Identity(NamedTuple):
    """An authenticated user and the agent it calls with."""

    username: str
    groups: list[str]
    user_agent: str


#: The user a kubeconfig written by ``servicecidr serve`` authenticates as (kubeadm's
#: admin.conf user, in the groups that make it a cluster admin).
ADMIN_USER = "kubernetes-admin"
_ADMIN_GROUPS = ["kubeadm:cluster-admins", "system:authenticated"]
#: The actor prefix of requests the HTTP server makes for an authenticated client.
CLIENT_PREFIX = "client:"

_APISERVER = Identity(
    "system:apiserver",
    ["system:authenticated", "system:masters"],
    f"kube-apiserver/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr",
)
_KCM_SA = "system:serviceaccount:kube-system:service-cidr-controller"
_NS_SA = "system:serviceaccount:kube-system:namespace-controller"
_KCM_GROUPS = [
    "system:serviceaccounts",
    "system:serviceaccounts:kube-system",
    "system:authenticated",
]
_IDENTITIES: dict[str, Identity] = {
    "user": Identity(
        ADMIN_USER,
        _ADMIN_GROUPS,
        f"kubectl/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr",
    ),
    "kube-apiserver": _APISERVER,
    "kubernetes-service-cidr-controller": _APISERVER,
    "ipallocator-repair-controller": _APISERVER,
    "ipallocator": _APISERVER,
    "service-cidr-controller": Identity(
        _KCM_SA,
        _KCM_GROUPS,
        f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr/{_KCM_SA}",
    ),
    "namespace-controller": Identity(
        _NS_SA,
        _KCM_GROUPS,
        f"kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/servicecidr/{_NS_SA}",
    ),
}


def client_actor(username: str) -> str:
    """The actor of a request the HTTP server makes for a client authenticated as
    ``username`` (recorded with each change it makes)."""
    return CLIENT_PREFIX + username


def identity_of(actor: str) -> Identity:
    """The identity of an engine actor: a known actor's; for ``client:<username>`` that
    user (the admin's groups for :data:`ADMIN_USER`), calling through kubectl; any other
    actor is a user of that name."""
    ident = _IDENTITIES.get(actor)
    if ident is not None:
        return ident
    if actor.startswith(CLIENT_PREFIX):
        username = actor[len(CLIENT_PREFIX) :]
        groups = list(_ADMIN_GROUPS) if username == ADMIN_USER else ["system:authenticated"]
        return Identity(username, groups, _IDENTITIES["user"].user_agent)
    return Identity(actor, ["system:authenticated"], f"servicecidr/{K8S_VERSION}")
