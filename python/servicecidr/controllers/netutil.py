"""Prefix arithmetic for controllers (rare paths; the hot path lives in the Rust core)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

__all__ = ["cidr_contains_cidr", "cidr_contains_ip", "family_of_cidr", "range_parts"]

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=65536)
def _net(cidr: str) -> Net | None:
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return None


@lru_cache(maxsize=1 << 20)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def family_of_cidr(cidr: str) -> str:
    """``IPv4`` or ``IPv6`` ('' when the text is not a CIDR)."""
    n = _net(cidr)
    if n is None:
        return ""
    return "IPv4" if n.version == 4 else "IPv6"


def cidr_contains_ip(cidr: str, ip: str) -> bool:
    """The prefix holds the address as a usable one: the network address and the IPv4
    broadcast address do not count (servicecidr.ContainsIP)."""
    n, a = _net(cidr), _ip(ip)
    if n is None or a is None or n.version != a.version or a not in n:
        return False
    if a == n.network_address:
        return False
    return not (n.version == 4 and a == n.broadcast_address and n.prefixlen < 31)


def range_parts(cidrs: list[str]) -> list[tuple[int, int, int]]:
    """(IP version, network address as int, prefix length) of each text that is a CIDR
    as :func:`cidr_contains_ip` reads it (the others hold no address), for Rust."""
    nets = [_net(c) for c in cidrs]
    return [(n.version, int(n.network_address), n.prefixlen) for n in nets if n is not None]


def cidr_contains_cidr(outer: str, inner: str) -> bool:
    """``inner`` lies within ``outer`` (equal or longer prefix)."""
    o, i = _net(outer), _net(inner)
    if o is None or i is None or o.version != i.version:
        return False
    return i.subnet_of(o)  # type: ignore[arg-type]
