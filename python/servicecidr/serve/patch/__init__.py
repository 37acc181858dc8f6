"""PATCH bodies as kube-apiserver applies them: strategic merge patch, JSON merge patch
(RFC 7386) and JSON patch (RFC 6902).

Sources followed: ``apimachinery/pkg/util/strategicpatch/patch.go`` (``mergeMap`` and the
functions it calls) and ``meta.go`` (patch metadata from Go struct tags),
``apimachinery/pkg/util/mergepatch/errors.go``, ``gopkg.in/evanphx/json-patch.v4``
(``patch.go``, ``merge.go``) and ``apiserver/pkg/endpoints/handlers/patch.go``
(``PatchResource``, ``applyJSPatch``, ``strategicPatchObject``,
``interpretStrategicMergePatchError``).

Strategic merge patch uses the merge keys and strategies compiled into the Go types (the
``patchStrategy``/``patchMergeKey`` tags), as kubectl and kube-apiserver do:

=====================================================  ======================  =========
list                                                   strategy                merge key
=====================================================  ======================  =========
``metadata.finalizers`` (every kind)                   merge (a set)
``metadata.ownerReferences`` (every kind)              merge                   ``uid``
Service ``spec.ports``                                 merge                   ``port``
Service, ServiceCIDR, Namespace ``status.conditions``  merge                   ``type``
ValidatingAdmissionPolicy ``spec.matchConditions``     merge                   ``name``
ValidatingAdmissionPolicy ``spec.variables``           merge                   ``name``
=====================================================  ======================  =========

Every other list is replaced whole (ServiceCIDR ``spec.cidrs``, ``validations``, ...),
maps merge recursively and ``null`` deletes. The directives: ``$patch: replace|delete``
on a map, ``{"$patch": "delete", <key>}`` and ``{"$patch": "replace"}`` in a merging list,
``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>`` and ``$retainKeys``.
Errors carry kube-apiserver's status: the sentinel errors it maps to 400 or 422, and any
other merge error as a 500 whose reason is empty (``metav1.StatusReasonUnknown``), as
``ErrorToAPIStatus`` sends a plain Go error.

A failed JSON patch operation is a 422 whose message is kube-apiserver's generic text (it
passes the json-patch error through ``NewGenericServerResponse``, which drops it); the
operation's own error is chained as ``__cause__`` for logs.

Decoding the patched object into its kind (unknown fields, wrong types) is the caller's
next step; :func:`patch_decode_error` words those failures as the patch handler does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.api.field_errors import invalid, to_invalid_error
from servicecidr.errors import InvalidError, RequestEntityTooLargeError, UnsupportedMediaTypeError
from servicecidr.serve.gojson import go_v, loads_checked
from servicecidr.serve.patch.common import (
    APPLY_PATCH,
    JSON_PATCH,
    MAX_JSON_PATCH_OPERATIONS,
    MERGE_PATCH,
    PATCH_TYPES,
    STRATEGIC_MERGE_PATCH,
    bad_request,
)
from servicecidr.serve.patch.jsonmerge import json_merge_patch
from servicecidr.serve.patch.jsonpatch import JsonPatchError, json_patch
from servicecidr.serve.patch.strategic import strategic_merge_patch

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MAX_JSON_PATCH_OPERATIONS",
    "MERGE_PATCH",
    "PATCH_TYPES",
    "STRATEGIC_MERGE_PATCH",
    "JsonPatchError",
    "PatchResult",
    "apply_patch",
    "json_merge_patch",
    "json_patch",
    "patch_decode_error",
    "patch_type",
    "strategic_merge_patch",
]

# --------------------------------------------------------------------------------------
# The request: media type, body, field validation
# --------------------------------------------------------------------------------------


def patch_type(content_type: str | None) -> str:
    """The patch type of a ``Content-Type`` header (parameters dropped), or
    UnsupportedMediaTypeError listing the accepted types as kube-apiserver does."""
    base = (content_type or "").split(";", 1)[0].strip()
    if base not in PATCH_TYPES:
        raise UnsupportedMediaTypeError(
            "the body of the request was in an unknown format - accepted media types "
            "include: " + ", ".join(PATCH_TYPES)
        )
    return base


@dataclass(frozen=True)
class PatchResult:
    """A patched document and the strict-decoding problems of the patch body
    (``duplicate field "a"``, ``json patch unknown field "[0].x"``): warnings with
    ``fieldValidation=Warn``; with ``Strict`` the caller raises :func:`patch_decode_error`
    after adding the unknown fields of the patched object."""

    document: Any
    strict_errors: list[str]


_JSON_PATCH_OP_FIELDS: Final = ("op", "path", "from", "value")


def _json_patch_strict(ops: Any) -> list[str]:
    """``kjson.UnmarshalStrict(patch, &[]jsonPatchOp)``: type errors and unknown fields."""
    if not isinstance(ops, list):
        raise bad_request(
            "error decoding patch: json: cannot unmarshal "
            f"{_json_kind(ops)} into Go value of type []handlers.jsonPatchOp"
        )
    type_error = None
    unknown: list[str] = []
    for i, op in enumerate(ops):
        if op is None:
            continue
        if not isinstance(op, dict):
            type_error = type_error or (
                f"json: cannot unmarshal {_json_kind(op)} into Go value of type "
                "handlers.jsonPatchOp"
            )
            continue
        for k, v in op.items():
            if k not in _JSON_PATCH_OP_FIELDS:
                unknown.append(f'json patch unknown field "[{i}].{k}"')
            elif k != "value" and v is not None and not isinstance(v, str):
                type_error = type_error or (
                    f"json: cannot unmarshal {_json_kind(v)} into Go struct field "
                    f"jsonPatchOp.{k} of type string"
                )
    if type_error:
        raise bad_request(f"error decoding patch: {type_error}")
    return unknown


def _json_kind(v: Any) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return "string"


def apply_patch(
    document: dict[str, Any],
    body: bytes,
    content_type: str | None,
    *,
    api_version: str,
    kind: str,
    field_validation: str = "Warn",
) -> PatchResult:
    """Apply a JSON, JSON merge or strategic merge PATCH body to the current object, in
    the order ``PatchResource`` checks things: the media type (415), valid JSON (400
    ``invalid JSON patch``), the body's shape, the operation limit (413), then the patch.

    ``apply-patch+yaml`` is server-side apply (:mod:`servicecidr.serve.apply`); passing
    it here is a programming error (ValueError).
    """
    ptype = patch_type(content_type)
    if ptype == APPLY_PATCH:
        raise ValueError("server-side apply bodies go to servicecidr.serve.apply")
    try:
        return _apply(document, body, ptype, api_version, kind, field_validation)
    except RecursionError:
        # Go's decoder allows 10000 levels; Python's stack does not, and no object the
        # engine stores nests that deep.
        raise bad_request("invalid JSON patch: nested too deeply") from None


def _apply(
    document: dict[str, Any],
    body: bytes,
    ptype: str,
    api_version: str,
    kind: str,
    field_validation: str,
) -> PatchResult:
    try:
        doc, duplicates = loads_checked(body)
    except ValueError:
        raise bad_request("invalid JSON patch") from None
    strict = field_validation in ("Warn", "Strict")
    if ptype == JSON_PATCH:
        errors: list[str] = []
        if strict:
            errors = [f"json patch {d}" for d in duplicates] + _json_patch_strict(doc)
        if not isinstance(doc, list):
            raise bad_request(
                f"json: cannot unmarshal {_json_kind(doc)} into Go value of type jsonpatch.Patch"
            )
        for op in doc:
            if op is not None and not isinstance(op, dict):
                raise bad_request(
                    f"json: cannot unmarshal {_json_kind(op)} into Go value of type "
                    "jsonpatch.Operation"
                )
        if len(doc) > MAX_JSON_PATCH_OPERATIONS:
            raise RequestEntityTooLargeError(
                "Request entity too large: The allowed maximum operations in a JSON patch is "
                f"{MAX_JSON_PATCH_OPERATIONS}, got {len(doc)}"
            )
        return PatchResult(json_patch(document, doc), errors)
    if ptype == MERGE_PATCH:
        if strict and doc is not None and not isinstance(doc, dict):
            raise bad_request(
                "error decoding patch: json: cannot unmarshal "
                f"{_json_kind(doc)} into Go value of type map[string]interface {{}}"
            )
        return PatchResult(json_merge_patch(document, doc), duplicates if strict else [])
    if doc is not None and not isinstance(doc, dict):
        raise bad_request(
            f"json: cannot unmarshal {_json_kind(doc)} into Go value of type "
            "map[string]interface {}"
        )
    merged = strategic_merge_patch(document, doc or {}, api_version=api_version, kind=kind)
    return PatchResult(merged, duplicates if strict else [])


def patch_decode_error(
    ptype: str, document: Any, patch: Any, strict_errors: list[str], decode_error: str = ""
) -> InvalidError:
    """The 422 kube-apiserver sends when the patched object does not decode.

    With ``decode_error`` (a type error), that error; otherwise the strict-decoding
    errors (the patch's own and the patched object's unknown fields, for
    ``fieldValidation=Strict``) as ``strict decoding error: ...``. The bad value is the
    patched document's JSON for JSON and merge patches and ``%+v`` of the patch map for
    strategic merge patches, as ``applyJSPatch`` and ``applyPatchToObject`` word it.
    """
    if ptype == STRATEGIC_MERGE_PATCH:
        value = go_v(patch)
    else:
        value = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    detail = decode_error or "strict decoding error: " + ", ".join(strict_errors)
    return to_invalid_error("", "", [invalid("patch", value, detail)])
