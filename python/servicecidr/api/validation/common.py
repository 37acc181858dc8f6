"""Shared pieces of validation: qualified kinds, the strict-IP feature gate, and coercions
of JSON-shaped values (nothing here raises on bad input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "QUALIFIED_KIND",
    "STRICT_IP_CIDR_VALIDATION",
    "NameFn",
    "as_dict",
    "as_int",
    "as_list",
    "as_str",
    "as_str_map",
    "as_strs",
    "byte_len",
    "opt_str",
    "raw_strs",
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


def as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def as_str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def as_int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def as_strs(v: Any) -> list[str]:
    return [as_str(x) for x in as_list(v)]


def as_str_map(v: Any) -> dict[str, str]:
    return {str(k): as_str(x) for k, x in as_dict(v).items()}


def raw_strs(v: Any) -> list[str] | None:
    """A Go ``[]string`` as a bad value: ``None`` (JSON ``null``) when absent."""
    return as_strs(v) if isinstance(v, list) else None


def opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def byte_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))
