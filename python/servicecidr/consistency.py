"""The consistency check of a state: what ``servicecidr check`` reports.

It reads the state as stored (no controller catch-up, nothing written) and finds:

* ``missing-ipaddress``: a Service ClusterIP with no IPAddress object;
* ``wrong-parent``: the IPAddress of a ClusterIP names another parent;
* ``duplicate-clusterip``: two Services hold the same address;
* ``orphan-ipaddress``: an IPAddress managed by the allocator whose parent Service is gone
  or no longer holds the address (the repair loop releases these after its grace);
* ``outside-servicecidrs``: an address in no ServiceCIDR at all;
* ``allocator-mismatch``: an allocator marks an address no IPAddress holds, or misses one
  an IPAddress holds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

from servicecidr.apiserver import Engine

__all__ = ["Problem", "Reporter", "check"]

MANAGED_BY = "ipallocator.k8s.io"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"


class Reporter(Protocol):
    """Told how far the check has got (a progress bar)."""

    def start(self, total: int, label: str) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class Problem:
    """One inconsistency."""

    type: str
    object: str
    ip: str
    message: str


def _in(ip: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def check(engine: Engine, progress: Reporter | None = None) -> tuple[list[Problem], dict[str, int]]:
    """Every inconsistency of a state as stored, and object counts."""
    problems: list[Problem] = []
    services = engine.list("Service")
    ipas = {str(o["metadata"]["name"]): o for o in engine.list("IPAddress")}
    cidrs = [
        str(x) for o in engine.list("ServiceCIDR") for x in (o.get("spec") or {}).get("cidrs") or []
    ]
    total = len(services) + len(ipas) + 1
    if progress:
        progress.start(total, "checking")
    holders: dict[str, str] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        ref = f"services/{meta.get('namespace', '')}/{meta.get('name', '')}"
        for ip in (svc.get("spec") or {}).get("clusterIPs") or []:
            if not ip or ip == "None":
                continue
            if ip in holders:
                problems.append(
                    Problem("duplicate-clusterip", ref, ip, f"{ip} is also held by {holders[ip]}")
                )
            holders[ip] = ref
            ipa = ipas.get(ip)
            if ipa is None:
                problems.append(
                    Problem("missing-ipaddress", ref, ip, f"ClusterIP {ip} has no IPAddress object")
                )
            else:
                pr = (ipa.get("spec") or {}).get("parentRef") or {}
                if (pr.get("resource"), pr.get("namespace"), pr.get("name")) != (
                    "services",
                    meta.get("namespace"),
                    meta.get("name"),
                ):
                    problems.append(
                        Problem(
                            "wrong-parent",
                            ref,
                            ip,
                            f"IPAddress {ip} names parent "
                            f"{pr.get('resource')}/{pr.get('namespace')}/{pr.get('name')}",
                        )
                    )
            if not any(_in(ip, cidr) for cidr in cidrs):
                problems.append(
                    Problem("outside-servicecidrs", ref, ip, f"ClusterIP {ip} is in no ServiceCIDR")
                )
        if progress:
            progress.advance()
    for ip, ipa in sorted(ipas.items()):
        labels = (ipa.get("metadata") or {}).get("labels") or {}
        pr = (ipa.get("spec") or {}).get("parentRef") or {}
        ref = f"ipaddresses/{ip}"
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and pr.get("resource") == "services":
            parent = f"services/{pr.get('namespace', '')}/{pr.get('name', '')}"
            if holders.get(ip) != parent:
                problems.append(
                    Problem(
                        "orphan-ipaddress",
                        ref,
                        ip,
                        f"parent {parent} does not hold {ip}",
                    )
                )
        if not any(_in(ip, cidr) for cidr in cidrs) and ip not in holders:
            problems.append(
                Problem("outside-servicecidrs", ref, ip, f"IPAddress {ip} is in no ServiceCIDR")
            )
        if progress:
            progress.advance()
    for prefix, alloc in engine.meta.allocators():
        marked = set(alloc)
        expected = {ip for ip in ipas if alloc.contains(ip)}
        for ip in sorted(marked - expected):
            problems.append(
                Problem(
                    "allocator-mismatch",
                    f"allocator/{prefix}",
                    ip,
                    f"allocator {prefix} marks {ip} but no IPAddress holds it",
                )
            )
        for ip in sorted(expected - marked):
            problems.append(
                Problem(
                    "allocator-mismatch",
                    f"allocator/{prefix}",
                    ip,
                    f"IPAddress {ip} is not marked in allocator {prefix}",
                )
            )
    if progress:
        progress.advance()
        progress.finish()
    counts = {
        "serviceCIDRs": engine.store.count("ServiceCIDR"),
        "services": len(services),
        "ipAddresses": len(ipas),
        "allocators": len(engine.meta.allocators()),
    }
    return problems, counts
