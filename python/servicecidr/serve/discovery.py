"""Discovery: which resources the server serves, and the documents kubectl reads to learn
them.

:data:`SERVED` is the one table of served resources, built from
:data:`servicecidr.api.kinds.KINDS` (groups, versions, plural, singular and short names)
plus what discovery says that the engine's kinds do not: verbs, categories, subresources.
Core ``v1`` Events are served read-only beside ``events.k8s.io/v1`` (``kubectl describe``
reads them).

Documents (shapes from kubernetes/api ``apidiscovery/v2`` and apimachinery ``meta/v1``
``APIVersions``/``APIGroupList``/``APIGroup``/``APIResourceList``, ``version.Info``):

* aggregated discovery v2 (:func:`aggregated_api`, :func:`aggregated_apis`), served as
  :data:`AGGREGATED_CONTENT_TYPE` when the client asks for it (SPEC-serve §1.1);
* legacy discovery (:func:`api_versions`, :func:`api_group_list`, :func:`api_group`,
  :func:`api_resource_list`);
* ``/version`` (:func:`version_info`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from servicecidr.api.kinds import KINDS, KindInfo

__all__ = [
    "AGGREGATED_CONTENT_TYPE",
    "KUBERNETES_VERSION",
    "SERVED",
    "ServedResource",
    "aggregated_api",
    "aggregated_apis",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "find_resource",
    "group_versions",
    "version_info",
]

#: The Kubernetes version the server reports (the engine models v1.33).
KUBERNETES_VERSION: Final = "v1.33.0"

AGGREGATED_CONTENT_TYPE: Final = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
)

_ALL_VERBS: Final = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
_STATUS_VERBS: Final = ("get", "patch", "update")


@dataclass(frozen=True)
class ServedResource:
    """One resource of one group version, as discovery describes it."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    singular: str
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    engine_kind: str = ""  # the engine's kind holding these objects

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_resource(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


# Per kind: verbs, categories and subresources, as kube-apiserver advertises them.
_EXTRAS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    "Service": (_ALL_VERBS, ("all",), ("status",)),
    "ServiceCIDR": (_ALL_VERBS, (), ("status",)),
    "IPAddress": (_ALL_VERBS, (), ()),
    "ValidatingAdmissionPolicy": (_ALL_VERBS, ("api-extensions",), ("status",)),
    "ValidatingAdmissionPolicyBinding": (_ALL_VERBS, ("api-extensions",), ()),
    "Event": (_ALL_VERBS, (), ()),
    # Namespaces have no deletecollection.
    "Namespace": (
        ("create", "delete", "get", "list", "patch", "update", "watch"),
        (),
        ("status",),
    ),
}


def _from_kind(info: KindInfo, version: str) -> ServedResource:
    verbs, categories, subresources = _EXTRAS[info.kind]
    return ServedResource(
        group=info.group,
        version=version,
        resource=info.resource,
        kind=info.kind,
        namespaced=info.namespaced,
        singular=info.singular or info.kind.lower(),
        verbs=verbs,
        short_names=info.short_names,
        categories=categories,
        subresources=tuple((s, _STATUS_VERBS) for s in subresources),
        engine_kind=info.kind,
    )


def _build() -> tuple[ServedResource, ...]:
    out = [_from_kind(info, v) for info in KINDS.values() for v in info.versions]
    # core/v1 Events, read from the engine's events.k8s.io Events.
    out.append(
        ServedResource(
            group="",
            version="v1",
            resource="events",
            kind="Event",
            namespaced=True,
            singular="event",
            verbs=("get", "list", "watch"),
            short_names=("ev",),
            engine_kind="Event",
        )
    )
    return tuple(out)


#: Every served resource, in KINDS order (preferred version first).
SERVED: Final[tuple[ServedResource, ...]] = _build()

# Groups in kube-apiserver's priority order (pkg/controlplane groupVersionPriority).
_GROUP_ORDER: Final = ("events.k8s.io", "networking.k8s.io", "admissionregistration.k8s.io")


def group_versions(group: str) -> list[str]:
    """The served versions of a group, preferred first."""
    out: list[str] = []
    for r in SERVED:
        if r.group == group and r.version not in out:
            out.append(r.version)
    return out


def _groups() -> list[str]:
    present = {r.group for r in SERVED if r.group}
    ordered = [g for g in _GROUP_ORDER if g in present]
    return ordered + sorted(present - set(ordered))


def find_resource(group: str, version: str, resource: str) -> ServedResource | None:
    """The served resource at ``/apis/<group>/<version>/<resource>`` (or ``/api/v1``)."""
    for r in SERVED:
        if (r.group, r.version, r.resource) == (group, version, resource):
            return r
    return None


# --------------------------------------------------------------------------- aggregated


def _gvk(r: ServedResource) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": r.kind}


def _resource_discovery(r: ServedResource) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": r.resource,
        "responseKind": _gvk(r),
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        out["shortNames"] = list(r.short_names)
    if r.categories:
        out["categories"] = list(r.categories)
    if r.subresources:
        out["subresources"] = [
            {"subresource": name, "responseKind": _gvk(r), "verbs": list(verbs)}
            for name, verbs in r.subresources
        ]
    return out


def _group_discovery(group: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": group} if group else {}
    meta["creationTimestamp"] = None
    return {
        "metadata": meta,
        "versions": [
            {
                "version": v,
                "resources": [
                    _resource_discovery(r) for r in SERVED if r.group == group and r.version == v
                ],
                "freshness": "Current",
            }
            for v in group_versions(group)
        ],
    }


def _discovery_list(groups: list[str]) -> dict[str, Any]:
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [_group_discovery(g) for g in groups],
    }


def aggregated_api() -> dict[str, Any]:
    """Aggregated discovery of ``/api``: the core group (one item with no name)."""
    return _discovery_list([""])


def aggregated_apis() -> dict[str, Any]:
    """Aggregated discovery of ``/apis``: every named group, versions preferred first."""
    return _discovery_list(_groups())


# --------------------------------------------------------------------------- legacy


def api_versions(server_address: str) -> dict[str, Any]:
    """``/api`` as ``APIVersions``."""
    return {
        "kind": "APIVersions",
        "versions": group_versions(""),
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_doc(group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in group_versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list() -> dict[str, Any]:
    """``/apis`` as ``APIGroupList``."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_doc(g) for g in _groups()],
    }


def api_group(group: str) -> dict[str, Any] | None:
    """``/apis/<group>`` as ``APIGroup`` (None for a group not served)."""
    if not group or group not in _groups():
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group)}


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``/api/v1`` or ``/apis/<group>/<version>`` as ``APIResourceList`` (None when not
    served): each resource, then each of its subresources as ``<resource>/<sub>``."""
    served = [r for r in SERVED if r.group == group and r.version == version]
    if not served:
        return None
    resources: list[dict[str, Any]] = []
    for r in served:
        entry: dict[str, Any] = {
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        for name, verbs in r.subresources:
            resources.append(
                {
                    "name": f"{r.resource}/{name}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(verbs),
                }
            )
    gv = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }


def version_info(*, platform: str = "linux/amd64") -> dict[str, Any]:
    """``/version`` (``version.Info``)."""
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": KUBERNETES_VERSION,
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "",
        "compiler": "servicecidr",
        "platform": platform,
    }
