"""``servicecidr check``: a consistency report of a state.

It reads the state as stored (no controller catch-up, nothing written) and reports:

* ``missing-ipaddress``: a Service ClusterIP with no IPAddress object;
* ``wrong-parent``: the IPAddress of a ClusterIP names another parent;
* ``duplicate-clusterip``: two Services hold the same address;
* ``orphan-ipaddress``: an IPAddress managed by the allocator whose parent Service is gone
  or no longer holds the address (the repair loop releases these after its grace);
* ``outside-servicecidrs``: an address in no ServiceCIDR at all;
* ``allocator-mismatch``: an allocator marks an address no IPAddress holds, or misses one
  an IPAddress holds.

Exit status 0 when consistent, 1 otherwise; ``-o json`` for machines.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
from dataclasses import asdict, dataclass
from typing import Any

from servicecidr.cli.errors import CliError
from servicecidr.cli.kubectl import IO, opt
from servicecidr.cli.printers import render_table
from servicecidr.cli.progress import Progress
from servicecidr.cli.state import add_state_flag, open_state, resolve_state_dir
from servicecidr.cluster import Cluster

__all__ = ["Problem", "add_parser", "check_cluster", "run"]

MANAGED_BY = "ipallocator.k8s.io"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"


@dataclass(frozen=True)
class Problem:
    """One inconsistency."""

    type: str
    object: str
    ip: str
    message: str


def add_parser(sub: Any) -> None:
    """Register ``check``."""
    p = sub.add_parser(
        "check",
        help="report inconsistencies of a state (exit 1 when any)",
        description="Check a state: every ClusterIP has its IPAddress, every allocator-managed "
        "IPAddress has its Service, every address lies in some ServiceCIDR, and the "
        "allocators agree with the IPAddress objects. Reads only; exit status 1 when "
        "inconsistent.",
        epilog="examples:\n  servicecidr check\n  servicecidr --state ./lab check -o json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_state_flag(p)
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="report format")


def _in(ip: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def check_cluster(
    c: Cluster, progress: Progress | None = None
) -> tuple[list[Problem], dict[str, int]]:
    """Every inconsistency of a cluster, and object counts."""
    problems: list[Problem] = []
    services = c.list("Service")
    ipas = {str(o["metadata"]["name"]): o for o in c.list("IPAddress")}
    cidrs = [
        str(x) for o in c.list("ServiceCIDR") for x in (o.get("spec") or {}).get("cidrs") or []
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
    for prefix, alloc in c._meta.allocators():
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
        "serviceCIDRs": c.count("ServiceCIDR"),
        "services": len(services),
        "ipAddresses": len(ipas),
        "allocators": len(c._meta.allocators()),
    }
    return problems, counts


def run(args: argparse.Namespace, io: IO) -> int:
    """``servicecidr check``."""
    try:
        state = open_state(resolve_state_dir(opt(args, "state")), create=False, read_only=True)
    except CliError as e:
        io.err.write(e.message + "\n")
        return e.code
    try:
        problems, counts = check_cluster(state.cluster, Progress(io.err))
    finally:
        state.close()
    if args.output == "json":
        io.out.write(
            json.dumps(
                {
                    "consistent": not problems,
                    "counts": counts,
                    "problems": [asdict(p) for p in problems],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        io.out.write(
            f"{counts['serviceCIDRs']} ServiceCIDRs, {counts['services']} Services, "
            f"{counts['ipAddresses']} IPAddresses, {counts['allocators']} allocators\n"
        )
        if problems:
            rows = [["PROBLEM", "OBJECT", "IP", "MESSAGE"]]
            rows += [[p.type, p.object, p.ip, p.message] for p in problems]
            io.out.write(render_table(rows))
        io.out.write(
            "consistent\n" if not problems else f"inconsistent: {len(problems)} problems\n"
        )
    return 1 if problems else 0
