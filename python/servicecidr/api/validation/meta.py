"""ObjectMeta validation on create and update (apimachinery objectmeta.go, core
validateKubeFinalizerName)."""

from __future__ import annotations

from typing import Any, Final

from servicecidr.api.field_errors import (
    FieldError,
    JSONString,
    Path,
    forbidden,
    go_quote,
    immutable,
    invalid,
    required,
    too_long,
)
from servicecidr.api.validation.common import (
    NameFn,
    as_dict,
    as_int,
    as_list,
    as_str,
    as_str_map,
    as_strs,
    byte_len,
)
from servicecidr.api.validation.names import (
    is_qualified_name,
    is_valid_label_value,
    name_is_dns_label,
    validate_path_segment_name,
)

__all__ = [
    "FIELD_MANAGER_MAX_LENGTH",
    "STANDARD_FINALIZERS",
    "validate_labels",
    "validate_object_meta",
    "validate_object_meta_update",
]

# --------------------------------------------------------------------------------------
# ObjectMeta
# --------------------------------------------------------------------------------------

_TOTAL_ANNOTATION_SIZE_LIMIT: Final = 256 * 1024
#: ``validation.FieldManagerMaxLength`` (also the limit of a request's fieldManager)
FIELD_MANAGER_MAX_LENGTH: Final = 128
_MAX_SUBRESOURCE_NAME_LENGTH: Final = 256
_STANDARD_FINALIZERS: Final = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
#: ``helper.IsStandardFinalizerName``: the unqualified finalizer names core accepts.
STANDARD_FINALIZERS: Final = _STANDARD_FINALIZERS
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
    total = sum(byte_len(k) + byte_len(v) for k, v in annotations.items())
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
        "apiVersion": as_str(ref.get("apiVersion")),
        "kind": as_str(ref.get("kind")),
        "name": as_str(ref.get("name")),
        "uid": as_str(ref.get("uid")),
    }
    for k in ("controller", "blockOwnerDeletion"):
        if isinstance(ref.get(k), bool):
            out[k] = ref[k]
    return out


def _validate_owner_references(refs: list[Any], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    first_controller = ""
    for raw in refs:
        ref = as_dict(raw)
        api_version, kind = as_str(ref.get("apiVersion")), as_str(ref.get("kind"))
        gv = _parse_group_version(api_version)
        group, version = gv if gv is not None else ("", "")
        if not version:
            errs.append(invalid(path.child("apiVersion"), api_version, "version must not be empty"))
        if not kind:
            errs.append(invalid(path.child("kind"), kind, "must not be empty"))
        if not as_str(ref.get("name")):
            errs.append(invalid(path.child("name"), "", "must not be empty"))
        if not as_str(ref.get("uid")):
            errs.append(invalid(path.child("uid"), JSONString(""), "must not be empty"))
        if group == "" and version == "v1" and kind == "Event":
            errs.append(
                invalid(
                    path, _owner_ref_json(ref), "/v1, Kind=Event is disallowed from being an owner"
                )
            )
        if ref.get("controller") is True:
            current = f"{kind}/{as_str(ref.get('name'))}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        [_owner_ref_json(as_dict(r)) for r in refs],
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
        e = as_dict(raw)
        p = path.index(i)
        op = as_str(e.get("operation"))
        if op not in ("Apply", "Update"):
            errs.append(
                invalid(p.child("operation"), JSONString(op), "must be `Apply` or `Update`")
            )
        ftype = as_str(e.get("fieldsType"))
        if ftype and ftype != "FieldsV1":
            errs.append(invalid(p.child("fieldsType"), ftype, "must be `FieldsV1`"))
        manager = as_str(e.get("manager"))
        if byte_len(manager) > FIELD_MANAGER_MAX_LENGTH:
            errs.append(too_long(p.child("manager"), manager, FIELD_MANAGER_MAX_LENGTH))
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
            offset += byte_len(ch)
        sub = as_str(e.get("subresource"))
        if byte_len(sub) > _MAX_SUBRESOURCE_NAME_LENGTH:
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
    m = as_dict(meta)
    p = path if path is not None else Path("metadata")
    fn = name_fn if name_fn is not None else validate_path_segment_name
    errs: list[FieldError] = []
    generate_name = as_str(m.get("generateName"))
    if generate_name:
        errs.extend(
            invalid(p.child("generateName"), generate_name, msg) for msg in fn(generate_name, True)
        )
    name = as_str(m.get("name"))
    if not name:
        errs.append(required(p.child("name"), "name or generateName is required"))
    else:
        errs.extend(invalid(p.child("name"), name, msg) for msg in fn(name, False))
    namespace = as_str(m.get("namespace"))
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
    errs.extend(_nonnegative(as_int(m.get("generation")), p.child("generation")))
    errs.extend(validate_labels(as_str_map(m.get("labels")), p.child("labels")))
    errs.extend(_validate_annotations(as_str_map(m.get("annotations")), p.child("annotations")))
    errs.extend(
        _validate_owner_references(as_list(m.get("ownerReferences")), p.child("ownerReferences"))
    )
    finalizers = as_strs(m.get("finalizers"))
    errs.extend(_validate_finalizers(finalizers, p.child("finalizers")))
    errs.extend(_validate_managed_fields(as_list(m.get("managedFields")), p.child("managedFields")))
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
    n, o = as_dict(new), as_dict(old)
    p = path if path is not None else Path("metadata")
    errs: list[FieldError] = []
    new_finalizers = as_strs(n.get("finalizers"))
    if o.get("deletionTimestamp"):
        extra = sorted(set(new_finalizers) - set(as_strs(o.get("finalizers"))))
        if extra:
            errs.append(
                forbidden(
                    p.child("finalizers"),
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {_go_string_slice(extra)}",
                )
            )
    rv = as_str(n.get("resourceVersion"))
    if not rv:
        errs.append(invalid(p.child("resourceVersion"), rv, "must be specified for an update"))
    if as_int(n.get("generation")) < as_int(o.get("generation")):
        errs.append(
            invalid(p.child("generation"), as_int(n.get("generation")), "must not be decremented")
        )
    for key, wrap in (
        ("name", as_str),
        ("namespace", as_str),
        ("uid", lambda v: JSONString(as_str(v))),
        ("creationTimestamp", _time_value),
        ("deletionTimestamp", _time_value),
        ("deletionGracePeriodSeconds", lambda v: v if isinstance(v, int) else None),
    ):
        nv, ov = wrap(n.get(key)), wrap(o.get(key))
        if nv != ov:
            errs.append(immutable(p.child(key), nv))
    errs.extend(validate_labels(as_str_map(n.get("labels")), p.child("labels")))
    errs.extend(_validate_annotations(as_str_map(n.get("annotations")), p.child("annotations")))
    errs.extend(
        _validate_owner_references(as_list(n.get("ownerReferences")), p.child("ownerReferences"))
    )
    errs.extend(_validate_managed_fields(as_list(n.get("managedFields")), p.child("managedFields")))
    errs.extend(_validate_kube_finalizer_names(new_finalizers, p.child("finalizers")))
    return errs
