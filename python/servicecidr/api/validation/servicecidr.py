"""ServiceCIDR validation (pkg/apis/networking/validation: ValidateServiceCIDR,
ValidateServiceCIDRUpdate)."""

from __future__ import annotations

from typing import Any

from servicecidr.api.field_errors import (
    FieldError,
    Path,
    immutable,
    invalid,
    required,
)
from servicecidr.api.validation.common import as_dict, as_strs
from servicecidr.api.validation.ips import cidr_family, is_valid_cidr
from servicecidr.api.validation.meta import validate_object_meta, validate_object_meta_update
from servicecidr.api.validation.names import name_is_dns_subdomain

__all__ = [
    "validate_service_cidr",
    "validate_service_cidr_status_update",
    "validate_service_cidr_update",
]

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
        f0, f1 = cidr_family(cidrs[0]), cidr_family(cidrs[1])
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
    return as_strs(as_dict(obj.get("spec")).get("cidrs"))


def validate_service_cidr(obj: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceCIDR``: metadata (cluster-scoped, name a DNS-1123 subdomain), then
    ``spec.cidrs``: empty -> ``Required value: at least one CIDR required``; more than two
    -> ``may only hold up to 2 values``; each entry through :func:`is_valid_cidr`; two of
    the same family -> ``may specify no more than one IP for each IP family, i.e
    192.168.0.0/24 and 2001:db8::/64``.

    Follows the 1.34/1.35 code: per-entry errors come first and the family check only runs
    when both entries parse. (1.33 checked the families first and returned early.)
    """
    o = as_dict(obj)
    errs = validate_object_meta(
        as_dict(o.get("metadata")), namespaced=False, name_fn=name_is_dns_subdomain
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
    n, o = as_dict(new), as_dict(old)
    errs = validate_service_cidr(n)
    errs.extend(validate_object_meta_update(as_dict(n.get("metadata")), as_dict(o.get("metadata"))))
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
    return validate_object_meta_update(
        as_dict(as_dict(new).get("metadata")), as_dict(as_dict(old).get("metadata"))
    )
