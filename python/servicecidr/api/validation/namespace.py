"""Namespace validation (``pkg/apis/core/validation``: ``ValidateNamespace`` and its
update, status and finalize variants)."""

from __future__ import annotations

from typing import Any

from servicecidr.api.field_errors import FieldError, JSONString, Path, invalid
from servicecidr.api.validation.common import as_dict, as_str, as_strs
from servicecidr.api.validation.meta import (
    STANDARD_FINALIZERS,
    validate_object_meta,
    validate_object_meta_update,
)
from servicecidr.api.validation.names import is_qualified_name, name_is_dns_label

__all__ = [
    "validate_namespace",
    "validate_namespace_finalize_update",
    "validate_namespace_status_update",
    "validate_namespace_update",
]


def _finalizer_name(value: str, path: Path) -> list[FieldError]:
    """``validateFinalizerName``: a qualified name, and an unqualified one must be standard."""
    errs = [invalid(path, value, m) for m in is_qualified_name(value)]
    if "/" not in value and value not in STANDARD_FINALIZERS:
        errs.append(
            invalid(
                path, value, "name is neither a standard finalizer name nor is it fully qualified"
            )
        )
    return errs


def validate_namespace(ns: dict[str, Any]) -> list[FieldError]:
    """``ValidateNamespace``: metadata (the name a DNS label), then each of
    ``spec.finalizers`` (the path carries no index, as in Go)."""
    errs = validate_object_meta(ns.get("metadata"), namespaced=False, name_fn=name_is_dns_label)
    path = Path("spec").child("finalizers")
    for f in as_strs(as_dict(ns.get("spec")).get("finalizers")):
        errs.extend(_finalizer_name(f, path))
    return errs


def validate_namespace_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """The generic store's update validation: ``ValidateNamespace`` then
    ``ValidateNamespaceUpdate`` (the metadata update rules)."""
    return validate_namespace(new) + validate_object_meta_update(
        new.get("metadata"), old.get("metadata")
    )


def validate_namespace_status_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateNamespaceStatusUpdate``: the phase must agree with deletionTimestamp."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    phase = as_str(as_dict(new.get("status")).get("phase"))
    if not as_dict(new.get("metadata")).get("deletionTimestamp"):
        if phase != "Active":
            errs.append(
                invalid(
                    Path("status").child("Phase"),
                    JSONString(phase),
                    "may only be 'Active' if `deletionTimestamp` is empty",
                )
            )
    elif phase != "Terminating":
        errs.append(
            invalid(
                Path("status").child("Phase"),
                JSONString(phase),
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            )
        )
    return errs


def validate_namespace_finalize_update(
    new: dict[str, Any], old: dict[str, Any]
) -> list[FieldError]:
    """``ValidateNamespaceFinalizeUpdate``: each ``spec.finalizers[i]``."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    path = Path("spec").child("finalizers")
    for i, f in enumerate(as_strs(as_dict(new.get("spec")).get("finalizers"))):
        errs.extend(_finalizer_name(f, path.index(i)))
    return errs
