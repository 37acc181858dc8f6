"""The consistency check of a state: what ``servicecidr check`` reports.

It reads the state as stored (no controller catch-up, nothing written) and finds:

* ``missing-ipaddress``: a Service ClusterIP with no IPAddress object;
* ``wrong-parent``: the IPAddress of a ClusterIP names another parent;
* ``duplicate-clusterip``: two Services hold the same address (compared in canonical
  form, whether a Service lists it in ``clusterIPs`` or, written by an older API server,
  only in ``clusterIP``);
* ``orphan-ipaddress``: an IPAddress managed by the allocator whose parent Service is gone
  or no longer holds the address (the repair loop releases these after its grace);
* ``outside-servicecidrs``: an address in no ServiceCIDR at all;
* ``allocator-mismatch``: an allocator marks an address no IPAddress holds, or misses one
  an IPAddress holds;
* ``invalid-address``: a ClusterIP, or the name of an IPAddress, that is not an IP address;
* ``unreadable``: a stored object the check cannot read (a field of an unexpected type).

Whatever is stored, the check reports it and goes on: it never fails on the data.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Protocol

from servicecidr._core import parse_ip
from servicecidr.apiserver import Engine
from servicecidr.errors import ServiceCIDRError

__all__ = ["Problem", "Reporter", "check"]

MANAGED_BY = "ipallocator.k8s.io"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"

Obj = dict[str, Any]


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


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _canonical(ip: Any) -> str | None:
    """The canonical text of an IP address (None: not one)."""
    if not isinstance(ip, str):
        return None
    try:
        return str(parse_ip(ip)[0])
    except ServiceCIDRError:
        return None


def _networks(cidrs: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c, strict=False))
        except ValueError:
            continue
    return out


def _in_any(ip: str, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr.version == n.version and addr in n for n in nets)


def _cluster_ips(svc: Obj) -> list[Any]:
    """The addresses a stored Service holds: ``clusterIPs``, or ``clusterIP`` alone as an
    API server before 1.20 wrote it (none for ExternalName or headless)."""
    spec = _d(svc.get("spec"))
    if spec.get("type") == "ExternalName":
        return []
    ips = spec.get("clusterIPs")
    if not isinstance(ips, list) or not ips:
        ip = spec.get("clusterIP")
        ips = [ip] if ip else []
    return [ip for ip in ips if ip not in ("", "None", None)]


def check(engine: Engine, progress: Reporter | None = None) -> tuple[list[Problem], dict[str, int]]:
    """Every inconsistency of a state as stored, and object counts."""
    problems: list[Problem] = []
    services = engine.list("Service")
    ipas: dict[str, Obj] = {}
    for o in engine.list("IPAddress"):
        ipas[str(_d(o.get("metadata")).get("name", ""))] = o
    cidrs: list[str] = []
    for o in engine.list("ServiceCIDR"):
        listed = _d(o.get("spec")).get("cidrs")
        if isinstance(listed, list):
            cidrs.extend(x for x in listed if isinstance(x, str))
    nets = _networks(cidrs)
    total = len(services) + len(ipas) + 1
    if progress:
        progress.start(total, "checking")
    holders: dict[str, list[str]] = {}
    for svc in services:
        meta = _d(svc.get("metadata"))
        ref = f"services/{meta.get('namespace', '')}/{meta.get('name', '')}"
        try:
            _check_service(svc, ref, ipas, nets, holders, problems)
        except (TypeError, ValueError, AttributeError, ServiceCIDRError) as e:
            problems.append(Problem("unreadable", ref, "", f"cannot read the Service: {e}"))
        if progress:
            progress.advance()
    for name, ipa in sorted(ipas.items()):
        try:
            _check_ip_address(name, ipa, nets, holders, problems)
        except (TypeError, ValueError, AttributeError, ServiceCIDRError) as e:
            problems.append(
                Problem("unreadable", f"ipaddresses/{name}", name, f"cannot read it: {e}")
            )
        if progress:
            progress.advance()
    held = {c for n in ipas if (c := _canonical(n)) is not None}
    for prefix, alloc in engine.meta.allocators():
        marked = set(alloc)
        expected = set()
        for ip in held:
            try:
                if alloc.contains(ip):
                    expected.add(ip)
            except ServiceCIDRError:
                continue  # another family
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


def _check_service(
    svc: Obj,
    ref: str,
    ipas: dict[str, Obj],
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    holders: dict[str, list[str]],
    problems: list[Problem],
) -> None:
    meta = _d(svc.get("metadata"))
    for raw in _cluster_ips(svc):
        ip = _canonical(raw)
        if ip is None:
            problems.append(
                Problem("invalid-address", ref, str(raw), f"ClusterIP {raw!r} is not an IP address")
            )
            continue
        others = holders.setdefault(ip, [])
        if others:
            problems.append(
                Problem("duplicate-clusterip", ref, ip, f"{ip} is also held by {others[0]}")
            )
        others.append(ref)
        ipa = ipas.get(ip)
        if ipa is None:
            problems.append(
                Problem("missing-ipaddress", ref, ip, f"ClusterIP {ip} has no IPAddress object")
            )
        else:
            pr = _d(_d(ipa.get("spec")).get("parentRef"))
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
        if not _in_any(ip, nets):
            problems.append(
                Problem("outside-servicecidrs", ref, ip, f"ClusterIP {ip} is in no ServiceCIDR")
            )


def _check_ip_address(
    name: str,
    ipa: Obj,
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    holders: dict[str, list[str]],
    problems: list[Problem],
) -> None:
    labels = _d(_d(ipa.get("metadata")).get("labels"))
    pr = _d(_d(ipa.get("spec")).get("parentRef"))
    ref = f"ipaddresses/{name}"
    ip = _canonical(name)
    if ip is None:
        problems.append(
            Problem("invalid-address", ref, name, f"IPAddress name {name!r} is not an IP address")
        )
        return
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and pr.get("resource") == "services":
        parent = f"services/{pr.get('namespace', '')}/{pr.get('name', '')}"
        if parent not in holders.get(ip, ()):
            problems.append(
                Problem("orphan-ipaddress", ref, ip, f"parent {parent} does not hold {ip}")
            )
    if not _in_any(ip, nets) and ip not in holders:
        problems.append(
            Problem("outside-servicecidrs", ref, ip, f"IPAddress {ip} is in no ServiceCIDR")
        )
