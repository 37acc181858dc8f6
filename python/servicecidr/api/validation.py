"""API validation of Service, ServiceCIDR and IPAddress, with kube-apiserver's exact texts.

Sources (Kubernetes 1.33-1.35; where releases differ the newest stored copy is followed and
the difference is noted):

* ``staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go``
  (``ValidateObjectMeta``, ``ValidateObjectMetaUpdate``) plus the core wrappers of
  ``pkg/apis/core/validation/validation.go`` (``validateKubeFinalizerName``);
* ``staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go``,
  ``pkg/api/validate/content`` (DNS labels and subdomains, qualified names, label values,
  port numbers and names, path segments) and ``ip.go`` (``IsValidIP``, ``IsValidCIDR``
  and the ``...ForLegacyField`` variants);
* ``pkg/apis/networking/validation/validation.go`` (``ValidateServiceCIDR``,
  ``ValidateServiceCIDRUpdate``, ``ValidateIPAddress``, ``ValidateIPAddressUpdate``);
* ``pkg/apis/core/validation/validation.go`` (``ValidateService``,
  ``ValidateServiceUpdate``, ``ValidateServiceClusterIPsRelatedFields``,
  ``validateUpgradeDowngradeClusterIPs``/``IPFamilies``);
* ``pkg/api/service/warnings.go`` (``GetWarningsForService``).

Every function takes the objects as the JSON-shaped dicts :mod:`servicecidr.api.decode`
produces (after defaulting, and for Services after ClusterIP allocation) and returns a list
of :class:`~servicecidr.api.field_errors.FieldError`; nothing here raises on bad input.
IP and CIDR parsing follow Go exactly (``netutils.ParseIPSloppy``/``ParseCIDRSloppy``,
``netip.ParseAddr``/``ParsePrefix``); no compiled extension is imported.

Go iterates maps in random order; label, selector and annotation errors here come out in
sorted key order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from servicecidr.api.field_errors import (
    FIELD_IMMUTABLE_ERROR_MSG,
    FieldError,
    JSONString,
    Path,
    duplicate,
    forbidden,
    go_quote,
    immutable,
    internal_error,
    invalid,
    not_supported,
    required,
    too_long,
)

__all__ = [
    "QUALIFIED_KIND",
    "STRICT_IP_CIDR_VALIDATION",
    "NameFn",
    "get_warnings_for_cidr",
    "get_warnings_for_ip",
    "get_warnings_for_service",
    "ip_family_of",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_path_segment_name",
    "is_path_segment_prefix",
    "is_qualified_name",
    "is_valid_cidr",
    "is_valid_cidr_for_legacy_field",
    "is_valid_ip",
    "is_valid_ip_for_legacy_field",
    "is_valid_label_value",
    "is_valid_port_name",
    "is_valid_port_num",
    "name_is_dns1035_label",
    "name_is_dns_label",
    "name_is_dns_subdomain",
    "parse_cidr_sloppy",
    "parse_ip_sloppy",
    "validate_ip_address",
    "validate_ip_address_name",
    "validate_ip_address_update",
    "validate_labels",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_path_segment_name",
    "validate_service",
    "validate_service_cidr",
    "validate_service_cidr_status_update",
    "validate_service_cidr_update",
    "validate_service_cluster_ips_related_fields",
    "validate_service_status_update",
    "validate_service_update",
]

QUALIFIED_KIND: Final[dict[str, str]] = {
    "Service": "Service",
    "ServiceCIDR": "ServiceCIDR.networking.k8s.io",
    "IPAddress": "IPAddress.networking.k8s.io",
    "ValidatingAdmissionPolicy": "ValidatingAdmissionPolicy.admissionregistration.k8s.io",
    "ValidatingAdmissionPolicyBinding": (
        "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io"
    ),
}
"""``GroupKind.String()`` per kind, the first argument of ``to_invalid_error``."""

STRICT_IP_CIDR_VALIDATION: Final = False
"""The ``StrictIPCIDRValidation`` feature gate: alpha (off by default) in 1.33-1.35, so the
legacy Service fields (``clusterIPs``, ``externalIPs``, ``loadBalancerSourceRanges``) only
need to parse "sloppily"; the new fields (ServiceCIDR, IPAddress) are always strict."""

NameFn = Callable[[str, bool], list[str]]
"""``ValidateNameFunc``: (name, is_prefix) -> list of problems."""

# --------------------------------------------------------------------------------------
# Small dict accessors (never raise)
# --------------------------------------------------------------------------------------


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _i(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _l(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _strs(v: Any) -> list[str]:
    return [_s(x) for x in _l(v)]


def _str_map(v: Any) -> dict[str, str]:
    return {str(k): _s(x) for k, x in _d(v).items()}


def _raw_strs(v: Any) -> list[str] | None:
    """A Go ``[]string`` as a bad value: ``None`` (JSON ``null``) when absent."""
    return _strs(v) if isinstance(v, list) else None


def _opt_s(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _blen(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


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


def _to4(ip: bytes) -> bytes | None:
    return ip[12:] if ip[:12] == _V4_IN_V6_PREFIX else None


def _ip_string(ip: bytes) -> str:
    """``net.IP.String()``: dotted for IPv4 (and IPv4-mapped), RFC 5952 for IPv6."""
    v4 = _to4(ip)
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
    if _to4(c.network) is not None:
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
    return "IPv4" if _to4(b) is not None else "IPv6"


def _cidr_family(cidr: str) -> str:
    c = _parse_cidr(cidr)
    if c is None:
        return ""
    return "IPv4" if _to4(c.ip) is not None else "IPv6"


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


# --------------------------------------------------------------------------------------
# Names, labels, ports (util/validation, api/validate/content)
# --------------------------------------------------------------------------------------

# Kubernetes 1.33 printed "characters" here; the newest apimachinery
# (api/validate/content/errors.go) prints "bytes" (lengths are byte counts in both).
_MAX_LEN_UNIT: Final = "bytes"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} {_MAX_LEN_UNIT}"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += f"'{ex}', "
    return msg + f"regex used for validation is '{fmt}')"


_EMPTY_ERROR: Final = "must be non-empty"

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_ERR: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_ERR: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_ERR: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character"
)
_LABEL_KEY_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_ERR: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character"
)
_LABEL_VALUE_FMT: Final = "(" + _LABEL_KEY_FMT + ")?"
_LABEL_VALUE_ERR: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character"
)

_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE: Final = re.compile(_DNS1035_LABEL_FMT)
_LABEL_KEY_RE: Final = re.compile(_LABEL_KEY_FMT)
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
_PORT_NAME_CHARSET_RE: Final = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER_RE: Final = re.compile("[a-z]")


def _full(rx: re.Pattern[str], s: str) -> bool:
    return rx.fullmatch(s) is not None


def is_dns1123_label(value: str) -> list[str]:
    """``validation.IsDNS1123Label`` (max 63)."""
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(_max_len_error(63))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_DNS1123_LABEL_ERR, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """``validation.IsDNS1123Subdomain`` (max 253)."""
    errs: list[str] = []
    if _blen(value) > 253:
        errs.append(_max_len_error(253))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """``validation.IsDNS1035Label`` (max 63)."""
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(_max_len_error(63))
    if not _full(_DNS1035_LABEL_RE, value):
        errs.append(_regex_error(_DNS1035_LABEL_ERR, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """``validation.IsQualifiedName`` = ``content.IsLabelKey``: ``[prefix/]name``."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + _EMPTY_ERROR)
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_ERR, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + _EMPTY_ERROR)
    elif _blen(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _full(_LABEL_KEY_RE, name):
        errs.append(
            "name part "
            + _regex_error(_LABEL_KEY_ERR, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """``validation.IsValidLabelValue`` (max 63, may be empty)."""
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(_max_len_error(63))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(
            _regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errs


def is_valid_port_num(port: int) -> list[str]:
    """``validation.IsValidPortNum``: 1..65535."""
    if 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    """``validation.IsValidPortName`` (IANA_SVC_NAME: <=15 chars, a letter, no ``--``)."""
    errs: list[str] = []
    if _blen(port) > 15:
        errs.append(_max_len_error(15))
    if not _full(_PORT_NAME_CHARSET_RE, port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if _PORT_NAME_LETTER_RE.search(port) is None:
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_path_segment_prefix(name: str) -> list[str]:
    """``content.IsPathSegmentPrefix``: no ``/`` and no ``%``."""
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


def is_path_segment_name(name: str) -> list[str]:
    """``content.IsPathSegmentName``: not ``.`` or ``..``, no ``/`` and no ``%``."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return is_path_segment_prefix(name)


def _mask_trailing_dash(name: str) -> str:
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """``apimachineryvalidation.NameIsDNSSubdomain`` (ServiceCIDR names)."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """``apimachineryvalidation.NameIsDNSLabel`` (namespace names)."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    """``apimachineryvalidation.NameIsDNS1035Label`` (Service names)."""
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def validate_path_segment_name(name: str, prefix: bool) -> list[str]:
    """``path.ValidatePathSegmentName``: the generic registry's name check."""
    return is_path_segment_prefix(name) if prefix else is_path_segment_name(name)


def validate_ip_address_name(name: str, prefix: bool) -> list[str]:
    """``ValidateIPAddressName``: the name must be a canonical IP (``prefix`` is ignored)."""
    del prefix
    return [e.detail for e in is_valid_ip(Path(), name)]


# --------------------------------------------------------------------------------------
# ObjectMeta
# --------------------------------------------------------------------------------------

_TOTAL_ANNOTATION_SIZE_LIMIT: Final = 256 * 1024
_FIELD_MANAGER_MAX_LENGTH: Final = 128
_MAX_SUBRESOURCE_NAME_LENGTH: Final = 256
_STANDARD_FINALIZERS: Final = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
_IS_NEGATIVE_ERROR_MSG: Final = "must be greater than or equal to 0"


def validate_labels(labels: dict[str, str], path: Path) -> list[FieldError]:
    """``ValidateLabels``: each key a qualified name, each value a label value."""
    errs: list[FieldError] = []
    for k in sorted(labels):
        v = labels[k]
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k))
        errs.extend(invalid(path, v, m) for m in is_valid_label_value(v))
    return errs


def _validate_annotations(annotations: dict[str, str], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    for k in sorted(annotations):
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
    total = sum(_blen(k) + _blen(v) for k, v in annotations.items())
    if total > _TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, "", _TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _parse_group_version(api_version: str) -> tuple[str, str] | None:
    if not api_version:
        return "", ""
    if api_version == "v1":
        return "", "v1"
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def _owner_ref_json(ref: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": _s(ref.get("apiVersion")),
        "kind": _s(ref.get("kind")),
        "name": _s(ref.get("name")),
        "uid": _s(ref.get("uid")),
    }
    for k in ("controller", "blockOwnerDeletion"):
        if isinstance(ref.get(k), bool):
            out[k] = ref[k]
    return out


def _validate_owner_references(refs: list[Any], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    first_controller = ""
    for raw in refs:
        ref = _d(raw)
        api_version, kind = _s(ref.get("apiVersion")), _s(ref.get("kind"))
        gv = _parse_group_version(api_version)
        group, version = gv if gv is not None else ("", "")
        if not version:
            errs.append(invalid(path.child("apiVersion"), api_version, "version must not be empty"))
        if not kind:
            errs.append(invalid(path.child("kind"), kind, "must not be empty"))
        if not _s(ref.get("name")):
            errs.append(invalid(path.child("name"), "", "must not be empty"))
        if not _s(ref.get("uid")):
            errs.append(invalid(path.child("uid"), JSONString(""), "must not be empty"))
        if group == "" and version == "v1" and kind == "Event":
            errs.append(
                invalid(
                    path, _owner_ref_json(ref), "/v1, Kind=Event is disallowed from being an owner"
                )
            )
        if ref.get("controller") is True:
            current = f"{kind}/{_s(ref.get('name'))}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        [_owner_ref_json(_d(r)) for r in refs],
                        'Only one reference can have Controller set to true. Found "true" in '
                        f"references for {first_controller} and {current}",
                    )
                )
            else:
                first_controller = current
    return errs


def _validate_finalizers(finalizers: list[str], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in finalizers:
        errs.extend(invalid(path, f, m) for m in is_qualified_name(f))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
        )
    return errs


def _validate_kube_finalizer_names(finalizers: list[str], path: Path) -> list[FieldError]:
    """core ``validateKubeFinalizerName``: unqualified names must be standard ones."""
    return [
        invalid(
            path.index(i), f, "name is neither a standard finalizer name nor is it fully qualified"
        )
        for i, f in enumerate(finalizers)
        if "/" not in f and f not in _STANDARD_FINALIZERS
    ]


def _validate_managed_fields(entries: list[Any], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(entries):
        e = _d(raw)
        p = path.index(i)
        op = _s(e.get("operation"))
        if op not in ("Apply", "Update"):
            errs.append(
                invalid(p.child("operation"), JSONString(op), "must be `Apply` or `Update`")
            )
        ftype = _s(e.get("fieldsType"))
        if ftype and ftype != "FieldsV1":
            errs.append(invalid(p.child("fieldsType"), ftype, "must be `FieldsV1`"))
        manager = _s(e.get("manager"))
        if _blen(manager) > _FIELD_MANAGER_MAX_LENGTH:
            errs.append(too_long(p.child("manager"), manager, _FIELD_MANAGER_MAX_LENGTH))
        offset = 0
        for ch in manager:
            if not ch.isprintable():
                errs.append(
                    invalid(
                        p.child("manager"),
                        manager,
                        f"invalid character U+{ord(ch):04X} (at position {offset})",
                    )
                )
            offset += _blen(ch)
        sub = _s(e.get("subresource"))
        if _blen(sub) > _MAX_SUBRESOURCE_NAME_LENGTH:
            errs.append(too_long(p.child("subresource"), sub, _MAX_SUBRESOURCE_NAME_LENGTH))
    return errs


def _nonnegative(value: int, path: Path) -> list[FieldError]:
    return [invalid(path, value, _IS_NEGATIVE_ERROR_MSG)] if value < 0 else []


def validate_object_meta(
    meta: dict[str, Any] | None,
    *,
    namespaced: bool,
    name_fn: NameFn | None = None,
    path: Path | None = None,
) -> list[FieldError]:
    """``ValidateObjectMeta`` (core wrapper) on create.

    ``name_fn`` is the kind's ``ValidateNameFunc`` (default: the generic registry's
    :func:`validate_path_segment_name`). Checks, in Go's order: ``generateName`` and
    ``name`` (``metadata.name: Required value: name or generateName is required``);
    ``namespace`` required and a DNS label for namespaced kinds, else
    ``metadata.namespace: Forbidden: not allowed on this type``; ``generation`` >= 0;
    labels; annotations (keys, total size 256 KiB); ownerReferences; finalizers
    (qualified names, ``orphan`` with ``foregroundDeletion``, and the core rule that an
    unqualified finalizer must be ``kubernetes``, ``orphan`` or ``foregroundDeletion``);
    managedFields.
    """
    m = _d(meta)
    p = path if path is not None else Path("metadata")
    fn = name_fn if name_fn is not None else validate_path_segment_name
    errs: list[FieldError] = []
    generate_name = _s(m.get("generateName"))
    if generate_name:
        errs.extend(
            invalid(p.child("generateName"), generate_name, msg) for msg in fn(generate_name, True)
        )
    name = _s(m.get("name"))
    if not name:
        errs.append(required(p.child("name"), "name or generateName is required"))
    else:
        errs.extend(invalid(p.child("name"), name, msg) for msg in fn(name, False))
    namespace = _s(m.get("namespace"))
    if namespaced:
        if not namespace:
            errs.append(required(p.child("namespace")))
        else:
            errs.extend(
                invalid(p.child("namespace"), namespace, msg)
                for msg in name_is_dns_label(namespace, False)
            )
    elif namespace:
        errs.append(forbidden(p.child("namespace"), "not allowed on this type"))
    errs.extend(_nonnegative(_i(m.get("generation")), p.child("generation")))
    errs.extend(validate_labels(_str_map(m.get("labels")), p.child("labels")))
    errs.extend(_validate_annotations(_str_map(m.get("annotations")), p.child("annotations")))
    errs.extend(
        _validate_owner_references(_l(m.get("ownerReferences")), p.child("ownerReferences"))
    )
    finalizers = _strs(m.get("finalizers"))
    errs.extend(_validate_finalizers(finalizers, p.child("finalizers")))
    errs.extend(_validate_managed_fields(_l(m.get("managedFields")), p.child("managedFields")))
    errs.extend(_validate_kube_finalizer_names(finalizers, p.child("finalizers")))
    return errs


def _go_string_slice(items: list[str]) -> str:
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def _time_value(v: Any) -> Any:
    return JSONString(v) if isinstance(v, str) and v else None


def validate_object_meta_update(
    new: dict[str, Any] | None, old: dict[str, Any] | None, *, path: Path | None = None
) -> list[FieldError]:
    """``ValidateObjectMetaUpdate`` (core wrapper).

    No new finalizers while ``old`` has a deletionTimestamp
    (``Forbidden: no new finalizers can be added if the object is being deleted, found new
    finalizers []string{"x"}``); ``resourceVersion`` ``must be specified for an update``;
    ``generation`` ``must not be decremented``; name, namespace, uid, creationTimestamp,
    deletionTimestamp and deletionGracePeriodSeconds immutable (``field is immutable``);
    labels, annotations, ownerReferences, managedFields of ``new``; unqualified finalizers
    must be standard ones.
    """
    n, o = _d(new), _d(old)
    p = path if path is not None else Path("metadata")
    errs: list[FieldError] = []
    new_finalizers = _strs(n.get("finalizers"))
    if o.get("deletionTimestamp"):
        extra = sorted(set(new_finalizers) - set(_strs(o.get("finalizers"))))
        if extra:
            errs.append(
                forbidden(
                    p.child("finalizers"),
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {_go_string_slice(extra)}",
                )
            )
    rv = _s(n.get("resourceVersion"))
    if not rv:
        errs.append(invalid(p.child("resourceVersion"), rv, "must be specified for an update"))
    if _i(n.get("generation")) < _i(o.get("generation")):
        errs.append(
            invalid(p.child("generation"), _i(n.get("generation")), "must not be decremented")
        )
    for key, wrap in (
        ("name", _s),
        ("namespace", _s),
        ("uid", lambda v: JSONString(_s(v))),
        ("creationTimestamp", _time_value),
        ("deletionTimestamp", _time_value),
        ("deletionGracePeriodSeconds", lambda v: v if isinstance(v, int) else None),
    ):
        nv, ov = wrap(n.get(key)), wrap(o.get(key))
        if nv != ov:
            errs.append(immutable(p.child(key), nv))
    errs.extend(validate_labels(_str_map(n.get("labels")), p.child("labels")))
    errs.extend(_validate_annotations(_str_map(n.get("annotations")), p.child("annotations")))
    errs.extend(
        _validate_owner_references(_l(n.get("ownerReferences")), p.child("ownerReferences"))
    )
    errs.extend(_validate_managed_fields(_l(n.get("managedFields")), p.child("managedFields")))
    errs.extend(_validate_kube_finalizer_names(new_finalizers, p.child("finalizers")))
    return errs


# --------------------------------------------------------------------------------------
# ServiceCIDR (pkg/apis/networking/validation)
# --------------------------------------------------------------------------------------


def _validate_service_cidr_spec(cidrs: list[str], path: Path) -> list[FieldError]:
    if not cidrs:
        return [required(path, "at least one CIDR required")]
    if len(cidrs) > 2:
        # the bad value is the internal ServiceCIDRSpec struct (no json tags)
        return [invalid(path, {"CIDRs": cidrs}, "may only hold up to 2 values")]
    errs: list[FieldError] = []
    for i, cidr in enumerate(cidrs):
        errs.extend(is_valid_cidr(path.index(i), cidr))
    if len(cidrs) == 2:
        f0, f1 = _cidr_family(cidrs[0]), _cidr_family(cidrs[1])
        if f0 == f1 and f0 != "":
            errs.append(
                invalid(
                    path,
                    cidrs,
                    "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 "
                    "and 2001:db8::/64",
                )
            )
    return errs


def _cidrs(obj: dict[str, Any]) -> list[str]:
    return _strs(_d(obj.get("spec")).get("cidrs"))


def validate_service_cidr(obj: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceCIDR``: metadata (cluster-scoped, name a DNS-1123 subdomain), then
    ``spec.cidrs``: empty -> ``Required value: at least one CIDR required``; more than two
    -> ``may only hold up to 2 values``; each entry through :func:`is_valid_cidr`; two of
    the same family -> ``may specify no more than one IP for each IP family, i.e
    192.168.0.0/24 and 2001:db8::/64``.

    Follows the 1.34/1.35 code: per-entry errors come first and the family check only runs
    when both entries parse. (1.33 checked the families first and returned early.)
    """
    o = _d(obj)
    errs = validate_object_meta(
        _d(o.get("metadata")), namespaced=False, name_fn=name_is_dns_subdomain
    )
    errs.extend(_validate_service_cidr_spec(_cidrs(o), Path("spec", "cidrs")))
    return errs


def validate_service_cidr_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """What the ServiceCIDR strategy's ``ValidateUpdate`` returns:
    ``ValidateServiceCIDR(new)`` followed by ``ValidateServiceCIDRUpdate(new, old)``.

    Same number of CIDRs: each changed entry is ``spec.cidrs[i]: ... field is immutable``;
    one -> two (single- to dual-stack, kubernetes/kubernetes#131261): allowed if
    ``cidrs[0]`` is unchanged, the new pair re-validated; any other change ->
    ``spec.cidrs: Invalid value: [...]: field is immutable``.
    """
    n, o = _d(new), _d(old)
    errs = validate_service_cidr(n)
    errs.extend(validate_object_meta_update(_d(n.get("metadata")), _d(o.get("metadata"))))
    new_cidrs, old_cidrs = _cidrs(n), _cidrs(o)
    path = Path("spec", "cidrs")
    if len(old_cidrs) == len(new_cidrs):
        for i, ip in enumerate(old_cidrs):
            if ip != new_cidrs[i]:
                errs.append(immutable(path.index(i), new_cidrs[i]))
    elif len(old_cidrs) == 1 and len(new_cidrs) == 2:
        if new_cidrs[0] != old_cidrs[0]:
            errs.append(immutable(path.index(0), new_cidrs[0]))
        errs.extend(_validate_service_cidr_spec(new_cidrs, path))
    else:
        errs.append(immutable(path, new_cidrs))
    return errs


def validate_service_cidr_status_update(
    new: dict[str, Any], old: dict[str, Any]
) -> list[FieldError]:
    """``ValidateServiceCIDRStatusUpdate``: metadata only; conditions are not validated."""
    return validate_object_meta_update(_d(_d(new).get("metadata")), _d(_d(old).get("metadata")))


# --------------------------------------------------------------------------------------
# IPAddress
# --------------------------------------------------------------------------------------


def _parent_ref_value(ref: Any) -> Any:
    if not isinstance(ref, dict):
        return None
    # the internal networking.ParentReference struct has no json tags
    return {
        "Group": _s(ref.get("group")),
        "Resource": _s(ref.get("resource")),
        "Namespace": _s(ref.get("namespace")),
        "Name": _s(ref.get("name")),
    }


def _validate_parent_reference(ref: Any, spec_path: Path) -> list[FieldError]:
    if not isinstance(ref, dict):
        return [required(spec_path.child("parentRef"))]
    p = spec_path.child("parentRef")
    errs: list[FieldError] = []
    group = _s(ref.get("group"))
    if group:
        errs.extend(invalid(p.child("group"), group, m) for m in is_dns1123_subdomain(group))
    for key in ("resource", "name"):
        v = _s(ref.get(key))
        if not v:
            errs.append(required(p.child(key)))
        else:
            errs.extend(invalid(p.child(key), v, m) for m in is_path_segment_name(v))
    ns = _s(ref.get("namespace"))
    if ns:
        errs.extend(invalid(p.child("namespace"), ns, m) for m in is_path_segment_name(ns))
    return errs


def validate_ip_address(obj: dict[str, Any]) -> list[FieldError]:
    """``ValidateIPAddress``: the name must be a canonical IP (:func:`is_valid_ip` texts on
    ``metadata.name``); ``spec.parentRef`` required, with ``resource`` and ``name`` required
    path segments, ``group`` (optional, empty = core) a DNS-1123 subdomain and
    ``namespace`` (optional) a path segment."""
    o = _d(obj)
    errs = validate_object_meta(
        _d(o.get("metadata")), namespaced=False, name_fn=validate_ip_address_name
    )
    errs.extend(_validate_parent_reference(_d(o.get("spec")).get("parentRef"), Path("spec")))
    return errs


def validate_ip_address_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """What the IPAddress strategy's ``ValidateUpdate`` returns: ``ValidateIPAddress(new)``
    then ``ValidateIPAddressUpdate``: metadata update rules and an immutable
    ``spec.parentRef`` (``spec.parentRef: Invalid value: {"Group":...}: field is
    immutable``)."""
    n, o = _d(new), _d(old)
    errs = validate_ip_address(n)
    errs.extend(validate_object_meta_update(_d(n.get("metadata")), _d(o.get("metadata"))))
    new_ref = _parent_ref_value(_d(n.get("spec")).get("parentRef"))
    old_ref = _parent_ref_value(_d(o.get("spec")).get("parentRef"))
    if new_ref != old_ref:
        errs.append(immutable(Path("spec", "parentRef"), new_ref))
    return errs


# --------------------------------------------------------------------------------------
# Service (pkg/apis/core/validation)
# --------------------------------------------------------------------------------------

_SUPPORTED_PORT_PROTOCOLS: Final = ["SCTP", "TCP", "UDP"]
_SUPPORTED_SERVICE_TYPES: Final = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_SUPPORTED_SESSION_AFFINITY: Final = ["ClientIP", "None"]
_SUPPORTED_IP_FAMILIES: Final = ["IPv4", "IPv6"]
_SUPPORTED_IP_FAMILY_POLICIES: Final = ["PreferDualStack", "RequireDualStack", "SingleStack"]
_SUPPORTED_TRAFFIC_POLICIES: Final = ["Cluster", "Local"]
_SUPPORTED_TRAFFIC_DISTRIBUTION: Final = ["PreferClose", "PreferSameZone", "PreferSameNode"]
_MAX_CLIENT_IP_AFFINITY_SECONDS: Final = 86400
_ANNOTATION_TOPOLOGY_AWARE_HINTS: Final = "service.kubernetes.io/topology-aware-hints"
_ANNOTATION_TOPOLOGY_MODE: Final = "service.kubernetes.io/topology-mode"
_ANNOTATION_LB_SOURCE_RANGES: Final = "service.beta.kubernetes.io/load-balancer-source-ranges"


def _spec(svc: dict[str, Any]) -> dict[str, Any]:
    return _d(svc.get("spec"))


def _is_headless(spec: dict[str, Any]) -> bool:
    ips = _strs(spec.get("clusterIPs"))
    return len(ips) == 1 and ips[0] == "None"


def _externally_accessible(spec: dict[str, Any]) -> bool:
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (
        t == "ClusterIP" and len(_l(spec.get("externalIPs"))) > 0
    )


def _needs_health_check(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _validate_port_num_or_name(value: Any, path: Path) -> list[FieldError]:
    if isinstance(value, str):
        return [invalid(path, value, m) for m in is_valid_port_name(value)]
    port = _i(value)
    return [invalid(path, port, m) for m in is_valid_port_num(port)]


def _validate_service_port(
    sp: dict[str, Any], require_name: bool, all_names: set[str], path: Path
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = _s(sp.get("name"))
    if require_name and not name:
        errs.append(required(path.child("name")))
    elif name:
        errs.extend(invalid(path.child("name"), name, m) for m in is_dns1123_label(name))
        if name in all_names:
            errs.append(duplicate(path.child("name"), name))
        else:
            all_names.add(name)
    port = _i(sp.get("port"))
    errs.extend(invalid(path.child("port"), port, m) for m in is_valid_port_num(port))
    protocol = _s(sp.get("protocol"))
    if not protocol:
        errs.append(required(path.child("protocol")))
    elif protocol not in _SUPPORTED_PORT_PROTOCOLS:
        errs.append(
            not_supported(path.child("protocol"), JSONString(protocol), _SUPPORTED_PORT_PROTOCOLS)
        )
    errs.extend(_validate_port_num_or_name(sp.get("targetPort"), path.child("targetPort")))
    app_protocol = sp.get("appProtocol")
    if isinstance(app_protocol, str):
        errs.extend(
            invalid(path.child("appProtocol"), app_protocol, m)
            for m in is_qualified_name(app_protocol)
        )
    return errs


def _validate_client_ip_affinity_config(cfg: Any, path: Path) -> list[FieldError]:
    detail = "when session affinity type is ClientIP"
    if not isinstance(cfg, dict):
        return [required(path, detail)]
    client = cfg.get("clientIP")
    if not isinstance(client, dict):
        return [required(path.child("clientIP"), detail)]
    timeout = client.get("timeoutSeconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        return [required(path.child("clientIP", "timeoutSeconds"), detail)]
    if timeout <= 0 or timeout > _MAX_CLIENT_IP_AFFINITY_SECONDS:
        return [
            invalid(
                path.child("clientIP", "timeoutSeconds"),
                timeout,
                f"must be greater than 0 and less than {_MAX_CLIENT_IP_AFFINITY_SECONDS}",
            )
        ]
    return []


def _validate_non_special_ip(ip: str, path: Path) -> list[FieldError]:
    """``ValidateNonSpecialIP``: no unspecified, loopback or link-local addresses."""
    b = parse_ip_sloppy(ip)
    if b is None:
        return [invalid(path, ip, "must be a valid IP address")]
    errs: list[FieldError] = []
    v4 = _to4(b)
    if (v4 is not None and v4 == bytes(4)) or b == bytes(16):
        errs.append(invalid(path, ip, f"may not be unspecified ({ip})"))
    if (v4 is not None and v4[0] == 127) or b == bytes(15) + b"\x01":
        errs.append(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if (v4 is not None and v4[:2] == b"\xa9\xfe") or (
        v4 is None and b[0] == 0xFE and (b[1] & 0xC0) == 0x80
    ):
        errs.append(
            invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if (v4 is not None and v4[:3] == b"\xe0\x00\x00") or (
        v4 is None and b[0] == 0xFF and (b[1] & 0x0F) == 0x02
    ):
        errs.append(
            invalid(
                path,
                ip,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        )
    return errs


def _is_dual_stack_ips(ips: list[str]) -> bool | None:
    """``netutils.IsDualStackIPStrings``: None when an entry does not parse."""
    v4 = v6 = False
    for ip in ips:
        b = parse_ip_sloppy(ip)
        if b is None:
            return None
        if _to4(b) is None:
            v6 = True
        else:
            v4 = True
    return v4 and v6


def _is_ipv6_string(ip: str) -> bool:
    b = parse_ip_sloppy(ip)
    return b is not None and _to4(b) is None


def validate_service_cluster_ips_related_fields(
    svc: dict[str, Any], old: dict[str, Any] | None = None
) -> list[FieldError]:
    """``ValidateServiceClusterIPsRelatedFields``: ``clusterIP``/``clusterIPs`` in sync,
    ``ipFamilies`` values and uniqueness, ``ipFamilyPolicy`` value, each cluster IP valid
    (``None`` only alone), at most two, one per family, and each IP matching its family
    (``expected an IPv4 value as indicated by `ipFamilies[1]```). Skipped for ExternalName.

    Exported because the registry runs it before allocation (``initIPFamilyFields``).
    ``old`` (update) lets IPs the old object held pass the legacy IP check.
    """
    spec = _spec(_d(svc))
    if spec.get("type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    has_invalid = False
    spec_path = Path("spec")
    cips_path = spec_path.child("clusterIPs")
    fam_path = spec_path.child("ipFamilies")
    cluster_ip = _s(spec.get("clusterIP"))
    cluster_ips = _strs(spec.get("clusterIPs"))
    families = _strs(spec.get("ipFamilies"))
    if cluster_ip:
        if not cluster_ips:
            errs.append(required(cips_path))
        elif cluster_ips[0] != cluster_ip:
            errs.append(invalid(cips_path, cluster_ips, "first value must match `clusterIP`"))
    elif cluster_ips:
        errs.append(
            invalid(cips_path, cluster_ips, "must be empty when `clusterIP` is not specified")
        )
    seen: set[str] = set()
    for i, fam in enumerate(families):
        if fam not in _SUPPORTED_IP_FAMILIES:
            errs.append(not_supported(fam_path.index(i), JSONString(fam), _SUPPORTED_IP_FAMILIES))
        if fam in seen:
            errs.append(duplicate(fam_path.index(i), JSONString(fam)))
        seen.add(fam)
    policy = spec.get("ipFamilyPolicy")
    if isinstance(policy, str) and policy not in _SUPPORTED_IP_FAMILY_POLICIES:
        errs.append(
            not_supported(
                spec_path.child("ipFamilyPolicy"), JSONString(policy), _SUPPORTED_IP_FAMILY_POLICIES
            )
        )
    old_ips = _strs(_spec(_d(old)).get("clusterIPs")) if old is not None else []
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                has_invalid = True
                errs.append(
                    invalid(cips_path, cluster_ips, "'None' must be the first and only value")
                )
            continue
        ip_errs = is_valid_ip_for_legacy_field(cips_path.index(i), ip, valid_old_ips=old_ips)
        has_invalid = has_invalid or bool(ip_errs)
        errs.extend(ip_errs)
    if len(cluster_ips) > 2:
        errs.append(invalid(cips_path, cluster_ips, "may only hold up to 2 values"))
    if has_invalid:
        return errs
    if len(cluster_ips) > 1:
        dual = _is_dual_stack_ips(cluster_ips)
        if dual is None:
            errs.append(
                internal_error(cips_path, "failed to check for dual stack with error:ip is invalid")
            )
        elif not dual:
            errs.append(
                invalid(
                    cips_path, cluster_ips, "may specify no more than one IP for each IP family"
                )
            )
    if not _is_headless(spec) and cluster_ips and families:
        for i, ip in enumerate(cluster_ips):
            if i > len(families) - 1:
                break
            if families[i] == "IPv4" and _is_ipv6_string(ip):
                errs.append(
                    invalid(
                        cips_path.index(i),
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if families[i] == "IPv6" and not _is_ipv6_string(ip):
                errs.append(
                    invalid(
                        cips_path.index(i),
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def _validate_load_balancer_class(
    old_spec: dict[str, Any] | None, spec: dict[str, Any]
) -> list[FieldError]:
    errs: list[FieldError] = []
    path = Path("spec", "loadBalancerClass")
    lbc = _opt_s(spec.get("loadBalancerClass"))
    is_lb = spec.get("type") == "LoadBalancer"
    if (
        old_spec is not None
        and old_spec.get("type") == "LoadBalancer"
        and is_lb
        and _opt_s(old_spec.get("loadBalancerClass")) != lbc
    ):
        errs.append(
            invalid(path, None if lbc is None else JSONString(lbc), "may not change once set")
        )
    if is_lb:
        if lbc is not None:
            errs.extend(invalid(path, lbc, m) for m in is_qualified_name(lbc))
    elif lbc is not None:
        errs.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
    return errs


def _validate_external_traffic_policy(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    path = Path("spec")
    etp = _s(spec.get("externalTrafficPolicy"))
    if not _externally_accessible(spec):
        if etp:
            errs.append(
                invalid(
                    path.child("externalTrafficPolicy"),
                    JSONString(etp),
                    "may only be set for externally-accessible services",
                )
            )
    elif not etp:
        errs.append(required(path.child("externalTrafficPolicy")))
    elif etp not in _SUPPORTED_TRAFFIC_POLICIES:
        errs.append(
            not_supported(
                path.child("externalTrafficPolicy"), JSONString(etp), _SUPPORTED_TRAFFIC_POLICIES
            )
        )
    hcnp = _i(spec.get("healthCheckNodePort"))
    if not _needs_health_check(spec):
        if hcnp != 0:
            errs.append(
                invalid(
                    path.child("healthCheckNodePort"),
                    hcnp,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                    "is 'Local'",
                )
            )
    elif hcnp == 0:
        errs.append(required(path.child("healthCheckNodePort")))
    else:
        errs.extend(
            invalid(path.child("healthCheckNodePort"), hcnp, m) for m in is_valid_port_num(hcnp)
        )
    return errs


def _validate_internal_traffic_policy(spec: dict[str, Any]) -> list[FieldError]:
    path = Path("spec", "internalTrafficPolicy")
    itp = spec.get("internalTrafficPolicy")
    if not isinstance(itp, str):
        if spec.get("type") in ("NodePort", "LoadBalancer", "ClusterIP"):
            return [required(path)]
        return []
    if itp not in _SUPPORTED_TRAFFIC_POLICIES:
        return [not_supported(path, JSONString(itp), _SUPPORTED_TRAFFIC_POLICIES)]
    return []


def _validate_traffic_distribution(spec: dict[str, Any]) -> list[FieldError]:
    td = spec.get("trafficDistribution")
    if not isinstance(td, str) or td in _SUPPORTED_TRAFFIC_DISTRIBUTION:
        return []
    return [not_supported(Path("spec", "trafficDistribution"), td, _SUPPORTED_TRAFFIC_DISTRIBUTION)]


def _service_port_key_json(protocol: str, port: int) -> dict[str, Any]:
    # core.ServicePort{Protocol, Port} as json.Marshal prints the internal struct
    return {
        "Name": "",
        "Protocol": protocol,
        "AppProtocol": None,
        "Port": port,
        "TargetPort": 0,
        "NodePort": 0,
    }


def validate_service(svc: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """``ValidateService`` on a defaulted, allocated ``v1`` Service dict.

    In Go's order: metadata (namespaced, name a DNS-1035 label); the topology annotations;
    ``spec.ports`` required unless headless or ExternalName; per type (LoadBalancer and
    NodePort may not be headless; ExternalName forbids clusterIPs, ipFamilies and
    ipFamilyPolicy and requires a DNS-1123 ``externalName``); each port (name required when
    several, DNS label, unique; port 1-65535; protocol TCP/UDP/SCTP; targetPort number or
    IANA name; appProtocol a qualified name); selector labels; sessionAffinity and its
    config; :func:`validate_service_cluster_ips_related_fields`; externalIPs (valid, not
    special); type; nodePort forbidden for ClusterIP; duplicate nodePorts and
    (protocol, port) pairs; loadBalancerSourceRanges (field or annotation);
    allocateLoadBalancerNodePorts; loadBalancerClass; external and internal traffic
    policies and healthCheckNodePort; trafficDistribution.

    ``old`` is only used by :func:`validate_service_update` (IPs the old object held are
    accepted by the legacy IP checks).
    """
    o = _d(svc)
    meta = _d(o.get("metadata"))
    errs = validate_object_meta(meta, namespaced=True, name_fn=name_is_dns1035_label)
    annotations = _str_map(meta.get("annotations"))
    if (
        _ANNOTATION_TOPOLOGY_MODE in annotations
        and _ANNOTATION_TOPOLOGY_AWARE_HINTS in annotations
        and annotations[_ANNOTATION_TOPOLOGY_MODE] != annotations[_ANNOTATION_TOPOLOGY_AWARE_HINTS]
    ):
        errs.append(
            invalid(
                Path("metadata", "annotations").key(_ANNOTATION_TOPOLOGY_MODE),
                annotations[_ANNOTATION_TOPOLOGY_MODE],
                f"must match annotations[{_ANNOTATION_TOPOLOGY_AWARE_HINTS}] when both are "
                "specified",
            )
        )
    spec = _spec(o)
    spec_path = Path("spec")
    svc_type = _s(spec.get("type"))
    headless = _is_headless(spec)
    ports = [_d(p) for p in _l(spec.get("ports"))]
    cluster_ips = _strs(spec.get("clusterIPs"))
    if not ports and not headless and svc_type != "ExternalName":
        errs.append(required(spec_path.child("ports")))
    if svc_type in ("LoadBalancer", "NodePort") and headless:
        errs.append(
            invalid(
                spec_path.child("clusterIPs").index(0),
                cluster_ips[0],
                f"may not be set to 'None' for {svc_type} services",
            )
        )
    elif svc_type == "ExternalName":
        if cluster_ips:
            errs.append(
                forbidden(spec_path.child("clusterIPs"), "may not be set for ExternalName services")
            )
        if _l(spec.get("ipFamilies")):
            errs.append(
                forbidden(spec_path.child("ipFamilies"), "may not be set for ExternalName services")
            )
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(
                forbidden(
                    spec_path.child("ipFamilyPolicy"), "may not be set for ExternalName services"
                )
            )
        cname = _s(spec.get("externalName"))
        if cname.endswith("."):
            cname = cname[:-1]
        if cname:
            errs.extend(
                invalid(spec_path.child("externalName"), cname, m)
                for m in is_dns1123_subdomain(cname)
            )
        else:
            errs.append(required(spec_path.child("externalName")))
    ports_path = spec_path.child("ports")
    names: set[str] = set()
    for i, sp in enumerate(ports):
        errs.extend(_validate_service_port(sp, len(ports) > 1, names, ports_path.index(i)))
    if isinstance(spec.get("selector"), dict):
        errs.extend(validate_labels(_str_map(spec.get("selector")), spec_path.child("selector")))
    affinity = _s(spec.get("sessionAffinity"))
    if not affinity:
        errs.append(required(spec_path.child("sessionAffinity")))
    elif affinity not in _SUPPORTED_SESSION_AFFINITY:
        errs.append(
            not_supported(
                spec_path.child("sessionAffinity"),
                JSONString(affinity),
                _SUPPORTED_SESSION_AFFINITY,
            )
        )
    if affinity == "ClientIP":
        errs.extend(
            _validate_client_ip_affinity_config(
                spec.get("sessionAffinityConfig"), spec_path.child("sessionAffinityConfig")
            )
        )
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(
            forbidden(
                spec_path.child("sessionAffinityConfig"),
                "must not be set when session affinity is None",
            )
        )
    errs.extend(validate_service_cluster_ips_related_fields(o, old))
    old_external = _strs(_spec(_d(old)).get("externalIPs")) if old is not None else []
    for i, ip in enumerate(_strs(spec.get("externalIPs"))):
        p = spec_path.child("externalIPs").index(i)
        ip_errs = is_valid_ip_for_legacy_field(p, ip, valid_old_ips=old_external)
        errs.extend(ip_errs if ip_errs else _validate_non_special_ip(ip, p))
    if not svc_type:
        errs.append(required(spec_path.child("type")))
    elif svc_type not in _SUPPORTED_SERVICE_TYPES:
        errs.append(
            not_supported(spec_path.child("type"), JSONString(svc_type), _SUPPORTED_SERVICE_TYPES)
        )
    if svc_type == "ClusterIP":
        for i, sp in enumerate(ports):
            if _i(sp.get("nodePort")) != 0:
                errs.append(
                    forbidden(
                        ports_path.index(i).child("nodePort"),
                        "may not be used when `type` is 'ClusterIP'",
                    )
                )
    seen_node_ports: set[tuple[str, int]] = set()
    for i, sp in enumerate(ports):
        node_port = _i(sp.get("nodePort"))
        if node_port == 0:
            continue
        key = (_s(sp.get("protocol")), node_port)
        if key in seen_node_ports:
            errs.append(duplicate(ports_path.index(i).child("nodePort"), node_port))
        seen_node_ports.add(key)
    seen_ports: set[tuple[str, int]] = set()
    for i, sp in enumerate(ports):
        pkey = (_s(sp.get("protocol")), _i(sp.get("port")))
        if pkey in seen_ports:
            errs.append(duplicate(ports_path.index(i), _service_port_key_json(*pkey)))
        seen_ports.add(pkey)
    ranges = _strs(spec.get("loadBalancerSourceRanges"))
    old_ranges = _strs(_spec(_d(old)).get("loadBalancerSourceRanges")) if old is not None else []
    if ranges:
        rpath = spec_path.child("LoadBalancerSourceRanges")  # sic: capital L, as in Go
        if svc_type != "LoadBalancer":
            errs.append(forbidden(rpath, "may only be used when `type` is 'LoadBalancer'"))
        for idx, value in enumerate(ranges):
            errs.extend(
                is_valid_cidr_for_legacy_field(
                    rpath.index(idx), value.strip(), valid_old_cidrs=old_ranges
                )
            )
    elif _ANNOTATION_LB_SOURCE_RANGES in annotations:
        apath = Path("metadata", "annotations").key(_ANNOTATION_LB_SOURCE_RANGES)
        if svc_type != "LoadBalancer":
            errs.append(forbidden(apath, "may only be used when `type` is 'LoadBalancer'"))
        val = annotations[_ANNOTATION_LB_SOURCE_RANGES].strip()
        if val:
            for value in val.split(","):
                errs.extend(is_valid_cidr_for_legacy_field(apath, value.strip()))
    if spec.get("allocateLoadBalancerNodePorts") is not None and svc_type != "LoadBalancer":
        errs.append(
            forbidden(
                spec_path.child("allocateLoadBalancerNodePorts"),
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(required(Path("allocateLoadBalancerNodePorts")))  # sic: no "spec." in Go
    errs.extend(_validate_load_balancer_class(None, spec))
    errs.extend(_validate_external_traffic_policy(spec))
    errs.extend(_validate_internal_traffic_policy(spec))
    errs.extend(_validate_traffic_distribution(spec))
    return errs


def _policy_value(spec: dict[str, Any]) -> Any:
    p = spec.get("ipFamilyPolicy")
    return JSONString(p) if isinstance(p, str) else None


def _validate_upgrade_downgrade_cluster_ips(
    old_spec: dict[str, Any], spec: dict[str, Any]
) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName":
        return errs
    if _is_headless(old_spec) and _is_headless(spec):
        return errs
    old_ips, new_ips = _strs(old_spec.get("clusterIPs")), _strs(spec.get("clusterIPs"))
    bad = _raw_strs(spec.get("clusterIPs"))
    path = Path("spec", "clusterIPs")
    if len(old_ips) == len(new_ips):
        for i, ip in enumerate(old_ips):
            if ip != new_ips[i]:
                errs.append(invalid(path.index(i), bad, "may not change once set"))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid(path.index(0), bad, "primary clusterIP can not be unset"))
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errs.append(invalid(path.index(0), bad, "may not change once set"))
        if len(new_ips) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    Path("spec", "ipFamilyPolicy"),
                    _policy_value(spec),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid(path.index(0), bad, "may not change once set"))
    return errs


def _validate_upgrade_downgrade_ip_families(
    old_spec: dict[str, Any], spec: dict[str, Any]
) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName":
        return errs
    old_headless, new_headless = _is_headless(old_spec), _is_headless(spec)
    if old_headless != new_headless or new_headless:
        return errs
    old_f, new_f = _strs(old_spec.get("ipFamilies")), _strs(spec.get("ipFamilies"))
    new_ips = _strs(spec.get("clusterIPs"))
    bad_ips, bad_f = _raw_strs(spec.get("clusterIPs")), _raw_strs(spec.get("ipFamilies"))
    path0 = Path("spec", "ipFamilies").index(0)
    if len(old_f) == len(new_f):
        for i, fam in enumerate(old_f):
            if fam != new_f[i]:
                errs.append(invalid(path0, bad_f, "may not change once set"))
    elif len(old_f) > len(new_f):
        # Go tests len(ClusterIPs) here and reports ClusterIPs as the bad value (sic)
        if not new_ips:
            errs.append(invalid(path0, bad_f, "primary ipFamily can not be unset"))
        if new_f and new_f[0] != old_f[0]:
            errs.append(invalid(path0, bad_ips, "may not change once set"))
        if len(new_f) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    Path("spec", "ipFamilyPolicy"),
                    _policy_value(spec),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_f and new_f and new_f[0] != old_f[0]:
        errs.append(invalid(path0, bad_ips, "may not change once set"))
    return errs


def validate_service_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceUpdate``: metadata update rules; cluster IPs may be added
    (upgrade) or the secondary released (downgrade, needs ``ipFamilyPolicy: SingleStack``)
    but never changed (``spec.clusterIPs[i]: Invalid value: [...]: may not change once
    set``), except to, from or on ExternalName; the same for ipFamilies (headless Services
    may change them); ``loadBalancerClass`` fixed while LoadBalancer;
    ``healthCheckNodePort`` fixed while a health check is needed (``Forbidden: field is
    immutable``); then :func:`validate_service` on ``new``.

    The registry's own pre-checks (``initIPFamilyFields``: ``must be 'SingleStack' to
    release the secondary cluster IP``, ...) run before this and are not repeated here.
    """
    n, o = _d(new), _d(old)
    errs = validate_object_meta_update(_d(n.get("metadata")), _d(o.get("metadata")))
    spec, old_spec = _spec(n), _spec(o)
    errs.extend(_validate_upgrade_downgrade_cluster_ips(old_spec, spec))
    errs.extend(_validate_upgrade_downgrade_ip_families(old_spec, spec))
    errs.extend(_validate_load_balancer_class(old_spec, spec))
    if (
        _needs_health_check(old_spec)
        and _needs_health_check(spec)
        and _i(spec.get("healthCheckNodePort")) != _i(old_spec.get("healthCheckNodePort"))
    ):
        errs.append(forbidden(Path("spec", "healthCheckNodePort"), FIELD_IMMUTABLE_ERROR_MSG))
    errs.extend(validate_service(n, o))
    return errs


def validate_service_status_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceStatusUpdate`` (metadata part only; load-balancer status ingress
    entries are checked minimally: each ``ip`` must parse)."""
    n, o = _d(new), _d(old)
    errs = validate_object_meta_update(_d(n.get("metadata")), _d(o.get("metadata")))
    ingress = _l(_d(_d(n.get("status")).get("loadBalancer")).get("ingress"))
    base = Path("status", "loadBalancer", "ingress")
    for i, ing in enumerate(ingress):
        ip = _s(_d(ing).get("ip"))
        if ip:
            errs.extend(is_valid_ip_for_legacy_field(base.index(i).child("ip"), ip))
    return errs


def get_warnings_for_service(svc: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """``GetWarningsForService``: non-standard IPs/CIDRs in clusterIPs, externalIPs,
    loadBalancerIP and loadBalancerSourceRanges; fields ignored for the Service's type."""
    del old
    spec = _spec(_d(svc))
    warnings: list[str] = []
    cluster_ips = _strs(spec.get("clusterIPs"))
    if cluster_ips and cluster_ips[0] not in ("", "None"):
        for i, ip in enumerate(cluster_ips):
            warnings.extend(get_warnings_for_ip(Path("spec", "clusterIPs").index(i), ip))
    for i, ip in enumerate(_strs(spec.get("externalIPs"))):
        warnings.extend(get_warnings_for_ip(Path("spec", "externalIPs").index(i), ip))
    lb_ip = _s(spec.get("loadBalancerIP"))
    if lb_ip:
        warnings.extend(get_warnings_for_ip(Path("spec", "loadBalancerIP"), lb_ip))
    for i, cidr in enumerate(_strs(spec.get("loadBalancerSourceRanges"))):
        warnings.extend(
            get_warnings_for_cidr(Path("spec", "loadBalancerSourceRanges").index(i), cidr)
        )
    svc_type = spec.get("type")
    if svc_type == "ExternalName" and _strs(spec.get("externalIPs")):
        warnings.append('spec.externalIPs is ignored when spec.type is "ExternalName"')
    if svc_type != "ExternalName" and _s(spec.get("externalName")):
        warnings.append('spec.externalName is ignored when spec.type is not "ExternalName"')
    return warnings
