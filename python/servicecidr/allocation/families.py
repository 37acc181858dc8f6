"""Service IP families and ClusterIP allocation, as the Service registry does it.

Mirrors ``pkg/registry/core/service/storage/alloc.go``: ``initIPFamilyFields`` (policy and
family defaulting, the checks against the cluster's configured families), and the
allocation cases of create and update (ExternalName <-> ClusterIP, single <-> dual-stack).
Functions work on the ``spec`` dict of a Service in its v1 shape.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from servicecidr.allocation.meta import MetaAllocator, family_of
from servicecidr.api import field_errors as fe
from servicecidr.api import validation
from servicecidr.api.memo import ValidationMemo
from servicecidr.errors import AllocationError, ApiError, InternalError

__all__ = [
    "Allocation",
    "allocate_cluster_ips",
    "init_ip_family_fields",
    "update_cluster_ips",
]

SINGLE = "SingleStack"
PREFER = "PreferDualStack"
REQUIRE = "RequireDualStack"
NONE = "None"
EXTERNAL_NAME = "ExternalName"
_IP_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


@dataclass(slots=True)
class Allocation:
    """Addresses one request took (to commit as IPAddresses or give back) and released.

    ``leaked`` holds addresses Kubernetes would leave behind when a dual-stack allocation
    fails half-way (alloc.go does not release the family already allocated).
    """

    allocated: list[str] = field(default_factory=list)
    to_release: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    #: The IPAddress create the allocator makes for each address it takes (a request of
    #: its own, through admission): raises the refusal. None in a dry run, which writes
    #: no IPAddress.
    ip_request: Callable[[str], None] | None = None
    _taken: list[tuple[str, Any]] = field(default_factory=list)

    def took(self, ip: str, alloc: Any) -> None:
        """``alloc`` marked ``ip`` for this request (given back by :meth:`rollback`)."""
        self._taken.append((ip, alloc))
        self.allocated.append(ip)

    def request_ip_address(self, ip: str) -> ApiError | None:
        """Make the IPAddress create of ``ip`` just taken; if that is refused, the address
        is given back (no IPAddress holds it) and the refusal returned."""
        if self.ip_request is None:
            return None
        try:
            self.ip_request(ip)
        except ApiError as e:
            taken, alloc = self._taken.pop()
            alloc.release(taken)
            self.allocated.pop()
            return e
        return None

    def rollback(self) -> None:
        """Give back every address this request marked in an allocator."""
        for ip, alloc in self._taken:
            alloc.release(ip)
        self._taken.clear()
        self.allocated.clear()


def _invalid(name: str, errs: list[fe.FieldError]) -> Exception:
    return fe.to_invalid_error("Service", name, errs)


def _matching_prefer_dual_stack(spec: dict[str, Any], old: dict[str, Any] | None) -> bool:
    if old is None or spec.get("ipFamilyPolicy") is None:
        return False
    if old.get("type") != spec.get("type") or spec.get("type") not in _IP_TYPES:
        return False
    if spec.get("ipFamilyPolicy") != PREFER or old.get("ipFamilyPolicy") != PREFER:
        return False
    return bool(
        list(spec.get("clusterIPs") or []) == list(old.get("clusterIPs") or [])
        and list(spec.get("ipFamilies") or []) == list(old.get("ipFamilies") or [])
    )


def init_ip_family_fields(
    families: tuple[str, ...],
    name: str,
    spec: dict[str, Any],
    old: dict[str, Any] | None,
    obj: dict[str, Any],
    memo: ValidationMemo | None = None,
) -> None:
    """Default ipFamilyPolicy/ipFamilies and check them against the configured families.

    ``families`` are the apiserver's configured families, primary first. Raises
    InvalidError exactly where initIPFamilyFields returns one.
    """
    if spec.get("type") == EXTERNAL_NAME:
        return
    if _matching_prefer_dual_stack(spec, old):
        return
    headless_selectorless = spec.get("clusterIP") == NONE and not spec.get("selector")
    if spec.get("ipFamilyPolicy") is None:
        if old is not None and old.get("ipFamilyPolicy") is not None:
            spec["ipFamilyPolicy"] = old["ipFamilyPolicy"]
        elif headless_selectorless:
            spec["ipFamilyPolicy"] = REQUIRE
        else:
            spec["ipFamilyPolicy"] = SINGLE
    policy = spec["ipFamilyPolicy"]

    errs = (
        memo.cluster_ips_related_fields(obj)
        if memo is not None and old is None
        else validation.validate_service_cluster_ips_related_fields(obj, old)
    )
    if errs:
        raise _invalid(name, errs)

    el: list[fe.FieldError] = []
    cips: list[str] = list(spec.get("clusterIPs") or [])
    fams: list[str] = list(spec.get("ipFamilies") or [])
    if old is not None:
        old_cips = list(old.get("clusterIPs") or [])
        old_fams = list(old.get("ipFamilies") or [])
        if policy == SINGLE:
            if cips == old_cips and len(cips) > 1:
                cips = cips[:1]
            if fams == old_fams and len(fams) > 1:
                fams = fams[:1]
        else:
            if cips and len(cips) < len(old_cips):
                el.append(
                    fe.invalid(
                        "spec.ipFamilyPolicy",
                        policy,
                        "must be 'SingleStack' to release the secondary cluster IP",
                    )
                )
            if fams and len(fams) < len(old_fams):
                el.append(
                    fe.invalid(
                        "spec.ipFamilyPolicy",
                        policy,
                        "must be 'SingleStack' to release the secondary IP family",
                    )
                )
    if policy == SINGLE:
        if len(cips) == 2:
            el.append(
                fe.invalid(
                    "spec.ipFamilyPolicy",
                    policy,
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs "
                    "are specified",
                )
            )
        if len(fams) == 2:
            el.append(
                fe.invalid(
                    "spec.ipFamilyPolicy",
                    policy,
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families "
                    "are specified",
                )
            )
    for i, ip in enumerate(cips):
        if ip == NONE:
            break
        fam = family_of(ip)
        if i >= len(fams):
            if fam not in families:
                el.append(
                    fe.invalid(
                        f"spec.clusterIPs[{i}]", cips, f"{fam} is not configured on this cluster"
                    )
                )
            else:
                fams.append(fam)
    spec["clusterIPs"] = cips
    if "clusterIPs" in spec and not cips:
        del spec["clusterIPs"]
    spec["ipFamilies"] = fams
    if el:
        raise _invalid(name, el)

    if headless_selectorless:
        if not fams:
            fams.append(families[0])
        if len(fams) < 2 and policy != SINGLE:
            fams.append("IPv6" if fams[0] == "IPv4" else "IPv4")
        return

    if policy == REQUIRE and len(families) < 2:
        el.append(
            fe.invalid(
                "spec.ipFamilyPolicy",
                policy,
                "this cluster is not configured for dual-stack services",
            )
        )
    for i, fam in enumerate(fams):
        if fam not in families:
            el.append(fe.invalid(f"spec.ipFamilies[{i}]", fam, "not configured on this cluster"))
    if el:
        raise _invalid(name, el)
    if not fams:
        fams.append(families[0])
    if policy != SINGLE and len(fams) == 1 and len(families) == 2:
        fams.append("IPv6" if fams[0] == "IPv4" else "IPv4")


def _alloc_ips(
    meta: MetaAllocator,
    rng: random.Random,
    name: str,
    spec: dict[str, Any],
    to_alloc: dict[str, str],
    dry_run: bool,
    result: Allocation,
) -> dict[str, str]:
    """allocIPs: families in Go map order (random); stops at the first failure."""
    order = list(to_alloc)
    if len(order) > 1:
        rng.shuffle(order)
    allocated: dict[str, str] = {}
    for fam in order:
        ip = to_alloc[fam]
        if not ip:
            try:
                if dry_run:
                    got = meta.dry_run_next(fam, rng)
                else:
                    got, alloc = meta.allocate_next(fam, rng)
                    result.took(got, alloc)
            except AllocationError as e:
                result.leaked = list(result.allocated)
                raise InternalError(
                    f"Internal error occurred: failed to allocate a serviceIP: {e}"
                ) from e
            # ipallocator.go: an IPAddress create that fails for any reason but
            # AlreadyExists ends the allocation with that error (cidrallocator.go stops
            # trying other ranges: it only moves on from full or unready ones).
            refused = result.request_ip_address(got) if not dry_run else None
            if refused is not None:
                result.leaked = list(result.allocated)
                raise InternalError(
                    f"Internal error occurred: failed to allocate a serviceIP: {refused.message}"
                ) from refused
            allocated[fam] = got
        else:
            try:
                if dry_run:
                    meta.check(ip)
                    canonical = ip
                else:
                    alloc = meta.allocate(ip)
                    canonical = ip
                    result.took(ip, alloc)
            except AllocationError as e:
                result.leaked = list(result.allocated)
                raise _invalid(
                    name,
                    [
                        fe.invalid(
                            "spec.clusterIPs",
                            list(spec.get("clusterIPs") or []),
                            f"failed to allocate IP {ip}: {e}",
                        )
                    ],
                ) from e
            refused = result.request_ip_address(ip) if not dry_run else None
            if refused is not None:
                result.leaked = list(result.allocated)
                raise _invalid(
                    name,
                    [
                        fe.invalid(
                            "spec.clusterIPs",
                            list(spec.get("clusterIPs") or []),
                            f"failed to allocate IP {ip}: {refused.message}",
                        )
                    ],
                ) from refused
            allocated[fam] = canonical
    return allocated


def allocate_cluster_ips(
    meta: MetaAllocator,
    rng: random.Random,
    name: str,
    spec: dict[str, Any],
    dry_run: bool,
    result: Allocation,
) -> None:
    """allocClusterIPs: fill clusterIPs for every family that has none yet."""
    if spec.get("type") == EXTERNAL_NAME:
        return
    cips: list[str] = list(spec.get("clusterIPs") or [])
    if cips and cips[0] == NONE:
        return
    fams: list[str] = spec.get("ipFamilies") or []
    to_alloc: dict[str, str] = {}
    for i, fam in enumerate(fams):
        if i >= len(cips):
            cips.append("")
        to_alloc[fam] = cips[i]
    allocated = _alloc_ips(meta, rng, name, spec, to_alloc, dry_run, result)
    for fam, ip in allocated.items():
        i = fams.index(fam)
        cips[i] = ip
    spec["clusterIPs"] = cips
    if cips:
        spec["clusterIP"] = cips[0]


def update_cluster_ips(
    meta: MetaAllocator,
    rng: random.Random,
    name: str,
    spec: dict[str, Any],
    old: dict[str, Any],
    dry_run: bool,
    result: Allocation,
) -> None:
    """updateClusterIPs: type changes, dual-stack upgrade and downgrade."""
    if _matching_prefer_dual_stack(spec, old):
        return
    old_type, new_type = old.get("type"), spec.get("type")
    old_cips: list[str] = list(old.get("clusterIPs") or [])
    if old_type == EXTERNAL_NAME and new_type != EXTERNAL_NAME:
        allocate_cluster_ips(meta, rng, name, spec, dry_run, result)
        return
    if old_cips and old_cips[0] == NONE:
        return
    if old_type != EXTERNAL_NAME and new_type == EXTERNAL_NAME:
        for i, _fam in enumerate(old.get("ipFamilies") or []):
            if i < len(old_cips):
                result.to_release.append(old_cips[i])
        return
    old_fams: list[str] = list(old.get("ipFamilies") or [])
    fams: list[str] = list(spec.get("ipFamilies") or [])
    if len(old_fams) == 1 and len(fams) == 2:
        cips: list[str] = list(spec.get("clusterIPs") or [])
        if len(cips) < 2:
            cips.append("")
        spec["clusterIPs"] = cips
        allocated = _alloc_ips(meta, rng, name, spec, {fams[1]: cips[1]}, dry_run, result)
        cips[1] = allocated[fams[1]]
        return
    if len(old_fams) == 2 and len(fams) == 1 and len(old_cips) > 1:
        result.to_release.append(old_cips[1])
