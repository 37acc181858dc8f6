"""IP and CIDR validation as Go parses them (netutils.ParseIPSloppy/ParseCIDRSloppy, netip)
with kube-apiserver's field errors and warnings."""

from __future__ import annotations

from typing import Final

from servicecidr.api.field_errors import (
    FieldError,
    Path,
    go_quote,
    invalid,
)
from servicecidr.api.validation.common import STRICT_IP_CIDR_VALIDATION

__all__ = [
    "cidr_family",
    "get_warnings_for_cidr",
    "get_warnings_for_ip",
    "ip_family_of",
    "is_valid_cidr",
    "is_valid_cidr_for_legacy_field",
    "is_valid_ip",
    "is_valid_ip_for_legacy_field",
    "parse_cidr_sloppy",
    "parse_ip_sloppy",
    "to4",
]

# --------------------------------------------------------------------------------------
# IP and CIDR parsing, as Go does it
# --------------------------------------------------------------------------------------

_BIG: Final = 0xFFFFFF
_V4_IN_V6_PREFIX: Final = bytes(10) + b"\xff\xff"


class _Parsed:
    """A parsed address: 16 bytes (IPv4 as ::ffff:a.b.c.d), which syntax was used, and
    whether ``netip.ParseAddr`` would accept the same text."""

    __slots__ = ("ip", "strict_ok", "v6_syntax")

    def __init__(self, ip: bytes, v6_syntax: bool, strict_ok: bool) -> None:
        self.ip = ip
        self.v6_syntax = v6_syntax
        self.strict_ok = strict_ok


def _dtoi(s: str) -> tuple[int, int, bool]:
    n = 0
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        n = n * 10 + ord(s[i]) - 48
        if n >= _BIG:
            return _BIG, i, False
        i += 1
    if i == 0:
        return 0, 0, False
    return n, i, True


def _xtoi(s: str) -> tuple[int, int, bool]:
    n = 0
    i = 0
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9":
            n = n * 16 + ord(c) - 48
        elif "a" <= c <= "f":
            n = n * 16 + ord(c) - 87
        elif "A" <= c <= "F":
            n = n * 16 + ord(c) - 55
        else:
            break
        if n >= _BIG:
            return 0, i, False
        i += 1
    if i == 0:
        return 0, i, False
    return n, i, True


def _parse_v4(s: str) -> tuple[bytes, bool] | None:
    """Go 1.16 ``parseIPv4`` (leading zeros allowed); also reports netip strictness."""
    out = bytearray()
    strict = True
    for i in range(4):
        if not s:
            return None
        if i > 0:
            if s[0] != ".":
                return None
            s = s[1:]
        n, c, ok = _dtoi(s)
        if not ok or n > 0xFF:
            return None
        if c > 1 and s[0] == "0":
            strict = False
        s = s[c:]
        out.append(n)
    if s:
        return None
    return _V4_IN_V6_PREFIX + bytes(out), strict


def _parse_v6(s: str) -> tuple[bytes, bool] | None:
    """Go 1.16 ``parseIPv6``; also reports netip strictness (<=4 hex digits, no 0-led v4)."""
    ip = bytearray(16)
    strict = True
    ellipsis = -1
    if len(s) >= 2 and s[0] == ":" and s[1] == ":":
        ellipsis = 0
        s = s[2:]
        if not s:
            return bytes(ip), True
    i = 0
    while i < 16:
        n, c, ok = _xtoi(s)
        if not ok or n > 0xFFFF:
            return None
        if c < len(s) and s[c] == ".":
            if ellipsis < 0 and i != 12:
                return None
            if i + 4 > 16:
                return None
            v4 = _parse_v4(s)
            if v4 is None:
                return None
            ip[i : i + 4] = v4[0][12:]
            strict = strict and v4[1]
            s = ""
            i += 4
            break
        if c > 4:
            strict = False
        ip[i] = n >> 8
        ip[i + 1] = n & 0xFF
        i += 2
        s = s[c:]
        if not s:
            break
        if s[0] != ":" or len(s) == 1:
            return None
        s = s[1:]
        if s[0] == ":":
            if ellipsis >= 0:
                return None
            ellipsis = i
            s = s[1:]
            if not s:
                break
    if s:
        return None
    if i < 16:
        if ellipsis < 0:
            return None
        n = 16 - i
        for j in range(i - 1, ellipsis - 1, -1):
            ip[j + n] = ip[j]
        for j in range(ellipsis + n - 1, ellipsis - 1, -1):
            ip[j] = 0
    elif ellipsis >= 0:
        return None
    return bytes(ip), strict


def _parse_ip(s: str) -> _Parsed | None:
    for ch in s:
        if ch == ".":
            r4 = _parse_v4(s)
            return None if r4 is None else _Parsed(r4[0], False, r4[1])
        if ch == ":":
            r6 = _parse_v6(s)
            return None if r6 is None else _Parsed(r6[0], True, r6[1])
    return None


def parse_ip_sloppy(s: str) -> bytes | None:
    """``netutils.ParseIPSloppy``: 16 bytes (IPv4 as ``::ffff:a.b.c.d``) or None.

    Like Go before 1.17 it accepts leading zeros in IPv4 octets (as decimal) and IPv4-mapped
    IPv6; it rejects zones (``%eth0``), brackets, ports and CIDRs.
    """
    p = _parse_ip(s)
    return p.ip if p is not None else None


def to4(ip: bytes) -> bytes | None:
    return ip[12:] if ip[:12] == _V4_IN_V6_PREFIX else None


def _ip_string(ip: bytes) -> str:
    """``net.IP.String()``: dotted for IPv4 (and IPv4-mapped), RFC 5952 for IPv6."""
    v4 = to4(ip)
    if v4 is not None:
        return ".".join(str(b) for b in v4)
    e0, e1 = -1, -1
    i = 0
    while i < 16:
        j = i
        while j < 16 and ip[j] == 0 and ip[j + 1] == 0:
            j += 2
        if j > i and j - i > e1 - e0:
            e0, e1 = i, j
            i = j
        i += 2
    if e1 - e0 <= 2:
        e0, e1 = -1, -1
    out = []
    i = 0
    while i < 16:
        if i == e0:
            out.append("::")
            i = e1
            if i >= 16:
                break
        elif i > 0:
            out.append(":")
        out.append(f"{(ip[i] << 8) | ip[i + 1]:x}")
        i += 2
    return "".join(out)


class _CIDR:
    __slots__ = ("bits", "ip", "network", "strict_err", "v6_syntax")

    def __init__(
        self, ip: bytes, network: bytes, bits: int, v6_syntax: bool, strict_err: str
    ) -> None:
        self.ip = ip  # the address as written
        self.network = network  # masked (16 bytes)
        self.bits = bits  # prefix length in the address family as written (32 or 128)
        self.v6_syntax = v6_syntax
        self.strict_err = strict_err  # "" when netip.ParsePrefix accepts the text


def _mask(ip: bytes, bits: int, total: int) -> bytes:
    off = 16 - total // 8  # IPv4 (total 32) masks only the last 4 bytes
    keep = bytearray(ip)
    for idx in range(total // 8):
        b = idx * 8
        if bits >= b + 8:
            continue
        m = 0 if bits <= b else (0xFF << (8 - (bits - b))) & 0xFF
        keep[off + idx] &= m
    return bytes(keep)


def _parse_cidr(s: str) -> _CIDR | None:
    """Go 1.16 ``ParseCIDR`` (``netutils.ParseCIDRSloppy``) plus netip strictness."""
    slash = s.find("/")
    if slash < 0:
        return None
    addr, mask = s[:slash], s[slash + 1 :]
    v4 = _parse_v4(addr)
    v6_syntax = v4 is None
    parsed = v4 if v4 is not None else _parse_v6(addr)
    n, c, ok = _dtoi(mask)
    total = 128 if v6_syntax else 32
    if parsed is None or not ok or c != len(mask) or n > total:
        return None
    ip, strict = parsed
    network = _mask(ip, n, total)
    strict_err = ""
    if not strict or (len(mask) > 1 and mask[0] == "0"):
        strict_err = "must not have leading 0s in IP or prefix length"
    elif v6_syntax and ip[:12] == _V4_IN_V6_PREFIX:
        strict_err = "must not have an IPv4-mapped IPv6 address"
    elif network != ip:
        strict_err = "must not have bits set beyond the prefix length"
    return _CIDR(ip, network, n, v6_syntax, strict_err)


def parse_cidr_sloppy(s: str) -> tuple[bytes, bytes, int] | None:
    """``netutils.ParseCIDRSloppy``: (address, network address, prefix length) or None.

    Addresses are 16 bytes; the prefix length counts in the written family (an IPv4 CIDR
    ``10.0.0.0/8`` gives 8).
    """
    c = _parse_cidr(s)
    return (c.ip, c.network, c.bits) if c is not None else None


def _cidr_string(c: _CIDR) -> str:
    """``(*net.IPNet).String()`` of the parsed network."""
    if to4(c.network) is not None:
        bits = c.bits - 96 if c.v6_syntax else c.bits
        if bits < 0:
            return f"{_ip_string(c.network)}/{c.bits}"
        return f"{_ip_string(c.network)}/{bits}"
    return f"{_ip_string(c.network)}/{c.bits}"


def ip_family_of(ip: str) -> str:
    """``netutils.IPFamilyOfString``: ``IPv4`` (including IPv4-mapped), ``IPv6`` or ``""``."""
    b = parse_ip_sloppy(ip)
    if b is None:
        return ""
    return "IPv4" if to4(b) is not None else "IPv6"


def cidr_family(cidr: str) -> str:
    c = _parse_cidr(cidr)
    if c is None:
        return ""
    return "IPv4" if to4(c.ip) is not None else "IPv6"


_INVALID_IP: Final = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_INVALID_CIDR: Final = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _ip_errors(
    path: Path | str, value: str, strict: bool
) -> tuple[_Parsed | None, list[FieldError]]:
    p = _parse_ip(value)
    if p is None:
        return None, [invalid(path, value, _INVALID_IP)]
    errs: list[FieldError] = []
    if strict:
        if not p.strict_ok:
            errs.append(invalid(path, value, "must not have leading 0s"))
        elif p.v6_syntax and p.ip[:12] == _V4_IN_V6_PREFIX:
            errs.append(invalid(path, value, "must not be an IPv4-mapped IPv6 address"))
    return p, errs


def is_valid_ip(path: Path | str, value: str) -> list[FieldError]:
    """``validation.IsValidIP``: strict, canonical IP address (ServiceCIDR/IPAddress era).

    Details: ``must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)``,
    ``must not have leading 0s``, ``must not be an IPv4-mapped IPv6 address``,
    ``must be in canonical form ("<ip>")``.
    """
    p, errs = _ip_errors(path, value, True)
    if errs or p is None:
        return errs
    canonical = _ip_string(p.ip)
    if value != canonical:
        return [invalid(path, value, f"must be in canonical form ({go_quote(canonical)})")]
    return []


def is_valid_ip_for_legacy_field(
    path: Path | str,
    value: str,
    strict: bool = STRICT_IP_CIDR_VALIDATION,
    valid_old_ips: list[str] | None = None,
) -> list[FieldError]:
    """``validation.IsValidIPForLegacyField``: parses sloppily; with ``strict`` also rejects
    leading zeros and IPv4-mapped IPv6. Values in ``valid_old_ips`` are always accepted."""
    if valid_old_ips and value in valid_old_ips:
        return []
    return _ip_errors(path, value, strict)[1]


def is_valid_cidr(path: Path | str, value: str) -> list[FieldError]:
    """``validation.IsValidCIDR``: strict, canonical subnet CIDR.

    Details: ``must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)``,
    ``must not have leading 0s in IP or prefix length``,
    ``must not have an IPv4-mapped IPv6 address``,
    ``must not have bits set beyond the prefix length``,
    ``must be in canonical form ("<cidr>")``.
    """
    c = _parse_cidr(value)
    if c is None:
        return [invalid(path, value, _INVALID_CIDR)]
    if c.strict_err:
        return [invalid(path, value, c.strict_err)]
    canonical = _cidr_string(c)
    if value != canonical:
        return [invalid(path, value, f"must be in canonical form ({go_quote(canonical)})")]
    return []


def is_valid_cidr_for_legacy_field(
    path: Path | str,
    value: str,
    strict: bool = STRICT_IP_CIDR_VALIDATION,
    valid_old_cidrs: list[str] | None = None,
) -> list[FieldError]:
    """``validation.IsValidCIDRForLegacyField``: sloppy parse; ``strict`` adds the netip
    checks (leading zeros, IPv4-mapped, bits beyond the prefix) but not canonical form."""
    if valid_old_cidrs and value in valid_old_cidrs:
        return []
    c = _parse_cidr(value)
    if c is None:
        return [invalid(path, value, _INVALID_CIDR)]
    if strict and c.strict_err:
        return [invalid(path, value, c.strict_err)]
    return []


def get_warnings_for_ip(path: Path | str, value: str) -> list[str]:
    """``validation.GetWarningsForIP`` for a value that parses sloppily."""
    p = _parse_ip(value)
    if p is None:
        return []
    if not p.strict_ok or (p.v6_syntax and p.ip[:12] == _V4_IN_V6_PREFIX):
        return [
            f"{path}: non-standard IP address {go_quote(value)} will be considered invalid "
            f"in a future Kubernetes release: use {go_quote(_ip_string(p.ip))}"
        ]
    if p.v6_syntax:
        canonical = _ip_string(p.ip)
        if canonical != value:
            return [
                f"{path}: IPv6 address {go_quote(value)} should be in RFC 5952 canonical "
                f"format ({go_quote(canonical)})"
            ]
    return []


def get_warnings_for_cidr(path: Path | str, value: str) -> list[str]:
    """``validation.GetWarningsForCIDR`` for a value that parses sloppily."""
    c = _parse_cidr(value)
    if c is None:
        return []
    warnings: list[str] = []
    if c.ip != c.network:
        addrlen = 128 if c.v6_syntax else 32
        single = f"{_ip_string(c.ip)}/{addrlen}"
        warnings.append(
            f"{path}: CIDR value {go_quote(value)} is ambiguous in this context (should be "
            f"{go_quote(_cidr_string(c))} or {go_quote(single)}?)"
        )
    if c.strict_err and c.strict_err != "must not have bits set beyond the prefix length":
        warnings.append(
            f"{path}: non-standard CIDR value {go_quote(value)} will be considered invalid "
            f"in a future Kubernetes release: use {go_quote(_cidr_string(c))}"
        )
    if not warnings and c.v6_syntax:
        canonical = f"{_ip_string(c.ip)}/{c.bits}"
        if canonical != value:
            warnings.append(
                f"{path}: IPv6 CIDR value {go_quote(value)} should be in RFC 5952 canonical "
                f"format ({go_quote(canonical)})"
            )
    return warnings
