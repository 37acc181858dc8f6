"""kube-apiserver's command-line flags that shape the cluster, parsed and checked."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from servicecidr.errors import InvalidInputError

__all__ = ["parse_service_cluster_ip_range"]


def parse_service_cluster_ip_range(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """kube-apiserver's ``--service-cluster-ip-range``: at most two CIDRs (one per family),
    canonical, primary first."""
    if value is None:
        return ()
    raw = value.split(",") if isinstance(value, str) else value
    if isinstance(raw, Iterable):
        raw = list(raw)
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise InvalidInputError(
            f"--service-cluster-ip-range must be CIDRs as a string or a list of strings, "
            f"not {value!r}"
        )
    parts = [p for p in (p.strip() for p in raw) if p]
    if len(parts) > 2:
        raise InvalidInputError(
            f"--service-cluster-ip-range {','.join(parts)!r}: at most two CIDRs (one per family)"
        )
    out = []
    for p in parts:
        try:
            net = ipaddress.ip_network(p, strict=True)
        except (ValueError, TypeError) as e:
            raise InvalidInputError(
                f"--service-cluster-ip-range: {p!r} is not a valid CIDR ({e})"
            ) from e
        out.append(str(net))
    if (
        len(out) == 2
        and ipaddress.ip_network(out[0]).version == ipaddress.ip_network(out[1]).version
    ):
        raise InvalidInputError(
            f"--service-cluster-ip-range {','.join(out)!r}: a dual-stack range needs one IPv4 "
            "and one IPv6 CIDR"
        )
    return tuple(out)
