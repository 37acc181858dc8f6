"""The kinds the engine serves, with the names kube-apiserver and kubectl use for them."""

from __future__ import annotations

from dataclasses import dataclass

from servicecidr.errors import BadRequestError

__all__ = ["KINDS", "KindInfo", "kind_info", "resolve_kind"]


@dataclass(frozen=True, slots=True)
class KindInfo:
    """Static facts about one kind."""

    kind: str
    group: str
    versions: tuple[str, ...]  # served versions, preferred first
    resource: str  # plural, as in URLs and error messages
    namespaced: bool
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        """The preferred apiVersion (``v1``, ``networking.k8s.io/v1``)."""
        return f"{self.group}/{self.versions[0]}" if self.group else self.versions[0]

    @property
    def qualified_kind(self) -> str:
        """GroupKind.String(): ``Service``, ``ServiceCIDR.networking.k8s.io``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def qualified_resource(self) -> str:
        """GroupResource.String(): ``services``, ``servicecidrs.networking.k8s.io``."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def api_versions(self) -> tuple[str, ...]:
        """Every apiVersion string served for this kind."""
        return tuple(f"{self.group}/{v}" if self.group else v for v in self.versions)


KINDS: dict[str, KindInfo] = {
    k.kind: k
    for k in (
        KindInfo("Service", "", ("v1",), "services", True, ("svc",), "service"),
        KindInfo(
            "ServiceCIDR",
            "networking.k8s.io",
            ("v1", "v1beta1"),
            "servicecidrs",
            False,
            (),
            "servicecidr",
        ),
        KindInfo(
            "IPAddress",
            "networking.k8s.io",
            ("v1", "v1beta1"),
            "ipaddresses",
            False,
            ("ip",),
            "ipaddress",
        ),
        KindInfo(
            "ValidatingAdmissionPolicy",
            "admissionregistration.k8s.io",
            ("v1",),
            "validatingadmissionpolicies",
            False,
            (),
            "validatingadmissionpolicy",
        ),
        KindInfo(
            "ValidatingAdmissionPolicyBinding",
            "admissionregistration.k8s.io",
            ("v1",),
            "validatingadmissionpolicybindings",
            False,
            (),
            "validatingadmissionpolicybinding",
        ),
        KindInfo("Event", "events.k8s.io", ("v1",), "events", True, ("ev",), "event"),
        KindInfo("Namespace", "", ("v1",), "namespaces", False, ("ns",), "namespace"),
    )
}


def _build_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for info in KINDS.values():
        for alias in (info.kind, info.resource, info.singular, *info.short_names):
            a = alias.lower()
            aliases[a] = info.kind
            if info.group:
                aliases[f"{a}.{info.group}"] = info.kind
                for v in info.versions:
                    aliases[f"{a}.{v}.{info.group}"] = info.kind
    return aliases


_ALIASES = _build_aliases()


def resolve_kind(name: str) -> str:
    """Map any name kubectl accepts for a kind (plural, short name, ``kind.group``) to the Kind.

    Raises BadRequestError naming the unknown kind.
    """
    kind = _ALIASES.get(name.lower())
    if kind is None:
        raise BadRequestError(f'the server doesn\'t have a resource type "{name}"')
    return kind


def kind_info(kind: str) -> KindInfo:
    """KindInfo for a Kind name (also accepts kubectl's aliases)."""
    info = KINDS.get(kind)
    if info is None:
        return KINDS[resolve_kind(kind)]
    return info
