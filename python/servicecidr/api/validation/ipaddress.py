"""IPAddress validation (pkg/apis/networking/validation: ValidateIPAddress,
ValidateIPAddressUpdate)."""

from __future__ import annotations

from typing import Any

from servicecidr.api.field_errors import (
    FieldError,
    Path,
    immutable,
    invalid,
    required,
)
from servicecidr.api.validation.common import as_dict, as_str
from servicecidr.api.validation.meta import validate_object_meta, validate_object_meta_update
from servicecidr.api.validation.names import (
    is_dns1123_subdomain,
    is_path_segment_name,
    validate_ip_address_name,
)

__all__ = ["validate_ip_address", "validate_ip_address_update"]

# --------------------------------------------------------------------------------------
# IPAddress
# --------------------------------------------------------------------------------------


def _parent_ref_value(ref: Any) -> Any:
    if not isinstance(ref, dict):
        return None
    # the internal networking.ParentReference struct has no json tags
    return {
        "Group": as_str(ref.get("group")),
        "Resource": as_str(ref.get("resource")),
        "Namespace": as_str(ref.get("namespace")),
        "Name": as_str(ref.get("name")),
    }


def _validate_parent_reference(ref: Any, spec_path: Path) -> list[FieldError]:
    if not isinstance(ref, dict):
        return [required(spec_path.child("parentRef"))]
    p = spec_path.child("parentRef")
    errs: list[FieldError] = []
    group = as_str(ref.get("group"))
    if group:
        errs.extend(invalid(p.child("group"), group, m) for m in is_dns1123_subdomain(group))
    for key in ("resource", "name"):
        v = as_str(ref.get(key))
        if not v:
            errs.append(required(p.child(key)))
        else:
            errs.extend(invalid(p.child(key), v, m) for m in is_path_segment_name(v))
    ns = as_str(ref.get("namespace"))
    if ns:
        errs.extend(invalid(p.child("namespace"), ns, m) for m in is_path_segment_name(ns))
    return errs


def validate_ip_address(obj: dict[str, Any]) -> list[FieldError]:
    """``ValidateIPAddress``: the name must be a canonical IP (:func:`is_valid_ip` texts on
    ``metadata.name``); ``spec.parentRef`` required, with ``resource`` and ``name`` required
    path segments, ``group`` (optional, empty = core) a DNS-1123 subdomain and
    ``namespace`` (optional) a path segment."""
    o = as_dict(obj)
    errs = validate_object_meta(
        as_dict(o.get("metadata")), namespaced=False, name_fn=validate_ip_address_name
    )
    errs.extend(_validate_parent_reference(as_dict(o.get("spec")).get("parentRef"), Path("spec")))
    return errs


def validate_ip_address_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """What the IPAddress strategy's ``ValidateUpdate`` returns: ``ValidateIPAddress(new)``
    then ``ValidateIPAddressUpdate``: metadata update rules and an immutable
    ``spec.parentRef`` (``spec.parentRef: Invalid value: {"Group":...}: field is
    immutable``)."""
    n, o = as_dict(new), as_dict(old)
    errs = validate_ip_address(n)
    errs.extend(validate_object_meta_update(as_dict(n.get("metadata")), as_dict(o.get("metadata"))))
    new_ref = _parent_ref_value(as_dict(n.get("spec")).get("parentRef"))
    old_ref = _parent_ref_value(as_dict(o.get("spec")).get("parentRef"))
    if new_ref != old_ref:
        errs.append(immutable(Path("spec", "parentRef"), new_ref))
    return errs
