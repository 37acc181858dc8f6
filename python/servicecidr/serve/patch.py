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

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.api.field_errors import invalid, to_invalid_error
from servicecidr.errors import (
    ApiError,
    BadRequestError,
    InvalidError,
    RequestEntityTooLargeError,
    UnsupportedMediaTypeError,
)
from servicecidr.serve.gojson import go_equal, go_kind, go_type, go_v, loads_checked
from servicecidr.serve.gosort import slice_stable
from servicecidr.serve.schema import (
    LEAF_NAMES,
    PATCH_TAGS,
    ROOTS,
    STRUCTS,
    type_kind,
    type_name,
)

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

JSON_PATCH: Final = "application/json-patch+json"
MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
#: The patch media types of a built-in resource, in the order kube-apiserver lists them.
PATCH_TYPES: Final = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

MAX_JSON_PATCH_OPERATIONS: Final = 10000  # handlers/patch.go maxJSONPatchOperations
MAX_JSON_PATCH_COPY_BYTES: Final = 3 * 1024 * 1024  # server/config.go JSONPatchMaxCopyBytes

_GENERIC_422: Final = "the server rejected our request due to an error in our request"

# --------------------------------------------------------------------------------------
# Directives and the mergepatch sentinel errors
# --------------------------------------------------------------------------------------

_DIRECTIVE: Final = "$patch"
_DELETE: Final = "delete"
_REPLACE: Final = "replace"
_MERGE: Final = "merge"
_RETAIN_KEYS_STRATEGY: Final = "retainKeys"
_RETAIN_KEYS: Final = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER: Final = "$setElementOrder"

_NO_LIST_OF_LISTS: Final = "lists of lists are not supported"
_BAD_PRIMITIVE_LIST: Final = "invalid patch format of primitive list"
_BAD_RETAIN_KEYS: Final = "invalid patch format of retainKeys"
_BAD_SET_ELEMENT_ORDER: Final = "invalid patch format of setElementOrder list"
_UNSUPPORTED_SMP: Final = "strategic merge patch format is not supported"


def _bad_request(message: str) -> ApiError:
    return BadRequestError(message)


def _unprocessable() -> ApiError:
    # NewGenericServerResponse(422, ...): reason Invalid, a generic message, empty details.
    return InvalidError(_GENERIC_422)


def _unknown(message: str) -> ApiError:
    """A plain Go error reaching ErrorToAPIStatus: 500 with StatusReasonUnknown."""
    return ApiError(message)


def _bad_arg_type(expected: str, actual: Any) -> ApiError:
    return _unknown(f"expected a {expected}, but received a {go_type(actual)}")


def _no_merge_key(m: dict[str, Any], key: str) -> ApiError:
    return _unknown(f"map: {go_v(m)} does not contain declared merge key: {key}")


def _go_s(value: Any) -> str:
    """``%s`` of an interface value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "%!s(<nil>)"
    return f"%!s({go_type(value)}={go_v(value)})"


def _bad_patch_type(directive: Any, m: dict[str, Any]) -> ApiError:
    return _unknown(f"unknown patch type: {_go_s(directive)} in map: {go_v(m)}")


# --------------------------------------------------------------------------------------
# Patch metadata: the Go types of the served kinds (servicecidr.serve.schema)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Meta:
    strategies: tuple[str, ...]
    merge_key: str


def _lookup_struct(t: str, key: str) -> tuple[str, _Meta]:
    """``PatchMetaFromStruct.LookupPatchMetadataForStruct``: the field's type and tags."""
    fields = STRUCTS.get(t)
    if fields is None:
        if t in LEAF_NAMES:
            fields = {}
        else:
            raise _unknown(
                "merging an object in json but data type is not struct, instead is: " + type_kind(t)
            )
    field = key if key in fields else None
    if field is None:
        # encoding/json's case-insensitive fallback
        field = next((f for f in fields if f.lower() == key.lower()), None)
    if field is None:
        raise _unknown(
            f"unable to find api field in struct {type_name(t)} "
            f"for the json field {json.dumps(key)}"
        )
    strategies, merge_key = PATCH_TAGS.get((t, field), (("",), ""))
    return fields[field], _Meta(strategies, merge_key)


def _lookup_slice(t: str, key: str) -> tuple[str, _Meta]:
    """``LookupPatchMetadataForSlice``: the element type of a list field and its tags."""
    sub, meta = _lookup_struct(t, key)
    if not sub.startswith("[]"):
        # Go prints the kind of the struct being searched, not of the field.
        raise _unknown(f"expected slice or array type, but got: {type_kind(t)}")
    elem = sub[2:]
    if elem.startswith("[]"):
        raise _unknown("unexpected slice of slice")
    return elem, meta


def _strategy(strategies: tuple[str, ...]) -> str:
    """``extractRetainKeysPatchStrategy``: the strategy other than retainKeys."""
    if len(strategies) == 0:
        return ""
    if len(strategies) == 1:
        return "" if strategies[0] == _RETAIN_KEYS_STRATEGY else strategies[0]
    if len(strategies) == 2:
        if strategies[0] == _RETAIN_KEYS_STRATEGY:
            return strategies[1]
        if strategies[1] == _RETAIN_KEYS_STRATEGY:
            return strategies[0]
    raise _unknown(f"unexpected patch strategy: [{' '.join(strategies)}]")


# --------------------------------------------------------------------------------------
# Strategic merge patch
# --------------------------------------------------------------------------------------


def strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], *, api_version: str, kind: str
) -> dict[str, Any]:
    """Apply a strategic merge patch to an object of ``api_version``/``kind``.

    Neither argument is modified. Raises an :class:`~servicecidr.errors.ApiError` with
    kube-apiserver's status for a malformed patch.
    """
    root = ROOTS.get((api_version, kind))
    if root is None:
        raise _bad_request(_UNSUPPORTED_SMP)
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), root)


def _merge_map(
    original: dict[str, Any] | None, patch: dict[str, Any], schema: str
) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        return _directive_in_map(patch[_DIRECTIVE], patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_set_element_order(original, patch, schema)
    for key in list(patch):
        patch_v = patch[key]
        k = key
        is_delete_list = False
        if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
            k = _extract_key(key, _DELETE_FROM_PRIMITIVE_LIST)
            is_delete_list = True
        if patch_v is None:
            original.pop(k, None)
            continue  # IgnoreUnmatchedNulls
        if k not in original or type(original[k]) is not type(patch_v):
            if not is_delete_list:
                _discard_nulls(patch_v)
                value, keep = _remove_directives(patch_v)
                if keep:
                    original[k] = value
                else:
                    original.pop(k, None)
            continue
        if isinstance(patch_v, dict):
            sub, meta = _lookup_struct(schema, k)
            strategy = _strategy(meta.strategies)
            if strategy != _REPLACE:
                original[k] = _merge_map(original[k], patch_v, sub)
            else:
                original[k] = patch_v
        elif isinstance(patch_v, list):
            elem, meta = _lookup_slice(schema, k)
            strategy = _strategy(meta.strategies)
            if strategy == _MERGE or is_delete_list:
                original[k] = _merge_slice(
                    original[k], patch_v, elem, meta.merge_key, is_delete_list
                )
            else:
                original[k] = patch_v
        else:
            value, keep = _remove_directives(patch_v)
            if keep:
                original[k] = value
            else:
                original.pop(k, None)
    return original


def _directive_in_map(directive: Any, patch: dict[str, Any]) -> dict[str, Any]:
    if directive == _REPLACE:
        del patch[_DIRECTIVE]
        return patch
    if directive == _DELETE:
        return {}
    raise _bad_patch_type(directive, patch)


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        if prefix == _DELETE_FROM_PRIMITIVE_LIST:
            raise _bad_request(_BAD_PRIMITIVE_LIST)
        raise _bad_request(_BAD_SET_ELEMENT_ORDER)
    return rest


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in [k for k, v in value.items() if v is None]:
            del value[k]
        for v in value.values():
            _discard_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _discard_nulls(v)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """``removeDirectives``: drop maps holding ``$patch`` (and the keys leading to them)."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        for k in list(value):
            v, keep = _remove_directives(value[k])
            if keep:
                value[k] = v
            else:
                del value[k]
        return value, True
    if isinstance(value, list):
        kept = []
        for item in value:
            v, keep = _remove_directives(item)
            if keep:
                kept.append(v)
        return kept, True
    return value, True


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _bad_request(_BAD_RETAIN_KEYS)
    keys = {v for v in retain if isinstance(v, str)}
    for k, v in patch.items():
        if v is None or k.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
            continue
        if k not in keys:
            raise _bad_request(_BAD_RETAIN_KEYS)
    for k in [k for k in original if k not in keys]:
        del original[k]


def _merge_set_element_order(original: dict[str, Any], patch: dict[str, Any], schema: str) -> None:
    """``mergePatchIntoOriginal``: each ``$setElementOrder/<list>`` with its list."""
    for key in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        list_key = _extract_key(key, _SET_ELEMENT_ORDER)
        found_original = list_key in original
        found_patch = list_key in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            if not isinstance(original[list_key], list):
                raise _bad_arg_type("[]interface {}", original[list_key])
            original_list = original[list_key]
        if found_patch:
            if not isinstance(patch[list_key], list):
                raise _bad_arg_type("[]interface {}", patch[list_key])
            patch_list = patch[list_key]
        elem, meta = _lookup_slice(schema, list_key)
        strategy = _strategy(meta.strategies)
        _validate_with_order(patch_list, order, meta.merge_key)
        server_order = list(original_list)
        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            merged, _ = _remove_directives(patch_list)
        elif found_original and found_patch:
            if strategy == _MERGE:
                merged = _merge_slice(original_list, patch_list, elem, meta.merge_key, False)
            else:
                merged = patch_list
        else:
            continue
        if not meta.merge_key:
            patch_items, server_only = _partition_primitives(merged, order)
        else:
            patch_items, server_only = _partition_maps(merged, order, meta.merge_key)
        kind = _element_kind(server_order, patch_list)
        original[list_key] = _normalize_element_order(
            patch_items, server_only, order, server_order, meta.merge_key, kind
        )
        patch.pop(list_key, None)


def _validate_with_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """``validatePatchWithSetOrderList``: the patch list follows the order list."""
    if not order or not patch_list:
        return
    items = _split_deletes(patch_list)[0] if merge_key else patch_list
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and _DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _merge_key_equal(items[pi], order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(items) and oi >= len(order):
        raise _unknown(
            f"The order in patch list:\n{go_v(patch_list)}\n doesn't match "
            f"{_SET_ELEMENT_ORDER} list:\n{go_v(order)}\n"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return go_equal(left, right)
    if not isinstance(left, dict):
        raise _bad_arg_type("map[string]interface {}", left)
    if not isinstance(right, dict):
        raise _bad_arg_type("map[string]interface {}", right)
    if merge_key not in left:
        raise _no_merge_key(left, merge_key)
    if merge_key not in right:
        raise _no_merge_key(right, merge_key)
    return go_equal(left[merge_key], right[merge_key])


def _split_deletes(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """``extractToDeleteItems``: (items to keep, ``$patch: delete`` items)."""
    keep: list[Any] = []
    delete: list[Any] = []
    for v in items:
        if not isinstance(v, dict):
            raise _bad_arg_type("map[string]interface {}", v)
        if v.get(_DIRECTIVE) == _DELETE and isinstance(v.get(_DIRECTIVE), str):
            delete.append(v)
        else:
            keep.append(v)
    return keep, delete


def _element_kind(*lists: list[Any]) -> str:
    """``sliceElementType(...).Kind()``: every element of every list has one type."""
    first: type | None = None
    seen = False
    for items in lists:
        for v in items:
            if not seen:
                first, seen = type(v), True
                if isinstance(v, list):
                    raise _unprocessable_from(_NO_LIST_OF_LISTS)
            elif type(v) is not first:
                raise _unknown(f"list element types are not identical: {go_v(list(lists))}")
    if not seen:
        raise _unknown("no elements in any of the given slices")
    return go_kind(next(v for items in lists for v in items))


def _unprocessable_from(message: str) -> ApiError:
    err = _unprocessable()
    err.__cause__ = ValueError(message)
    return err


def _merge_slice(
    original: list[Any], patch: list[Any], elem: str, merge_key: str, is_delete_list: bool
) -> list[Any]:
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind != "map":
        if is_delete_list:
            return [v for v in original if not any(go_equal(v, d) for d in patch)]
        merged = _deduplicate([*original, *patch])
    else:
        if not merge_key:
            raise _unknown(f"cannot merge lists without merge key for {type_kind(elem)}")
        original, patch = _merge_special_elements(original, patch, merge_key)
        merged = _merge_without_special(original, patch, merge_key, elem)
    if not merge_key:
        patch_items, server_only = _partition_primitives(merged, patch)
    else:
        patch_items, server_only = _partition_maps(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, original, merge_key, kind)


def _deduplicate(s: list[Any]) -> list[Any]:
    """``deduplicateScalars``: Go's in-place swap-with-last removal (order as Go leaves it)."""
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if go_equal(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _merge_special_elements(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    """``mergeSliceWithSpecialElements``: apply ``$patch`` items of a merging list."""
    plain: list[Any] = []
    replace = False
    for v in patch:
        if _DIRECTIVE not in v:
            plain.append(v)
            continue
        directive = v[_DIRECTIVE]
        if directive == _DELETE and isinstance(directive, str):
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            value = v[merge_key]
            original = [
                o
                for o in original
                if not (isinstance(o, dict) and merge_key in o and go_equal(o[merge_key], value))
            ]
        elif directive == _REPLACE and isinstance(directive, str):
            replace = True
        elif directive == _MERGE and isinstance(directive, str):
            raise _unknown("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, v)
    if replace:
        return plain, []
    return original, plain


def _find_by_key(items: list[Any], key: str, value: Any) -> int:
    """``findMapInSliceBasedOnKeyValue``: the index of the first map whose key equals."""
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise _unknown(f"value for key {i} is not a map")
        if key in v and go_equal(v[key], value):
            return i
    return -1


def _merge_without_special(
    original: list[Any], patch: list[Any], merge_key: str, elem: str
) -> list[Any]:
    original = list(original)
    for v in patch:
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
        i = _find_by_key(original, merge_key, v[merge_key])
        if i >= 0:
            original[i] = _merge_map(original[i], v, elem)
        else:
            original.append(v)
    return original


def _partition_primitives(merged: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for v in merged:
        (inside if any(go_equal(v, b) for b in by) else outside).append(v)
    return inside, outside


def _partition_maps(
    merged: list[Any], by: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for v in merged:
        if not isinstance(v, dict):
            raise _bad_arg_type("map[string]interface {}", v)
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
        (inside if _find_by_key(by, merge_key, v[merge_key]) >= 0 else outside).append(v)
    return inside, outside


def _index(items: list[Any], value: Any, merge_key: str, kind: str) -> int:
    def get(item: Any) -> Any:
        if kind != "map":
            return item
        return item.get(merge_key) if isinstance(item, dict) else None

    want = get(value)
    for i, v in enumerate(items):
        if go_equal(want, get(v)):
            return i
    return -1


def _normalize_slice_order(
    items: list[Any], order: list[Any], merge_key: str, kind: str
) -> list[Any]:
    deletes: list[Any] = []
    if kind == "map":
        for lst in (items, order):
            for v in lst:
                if not isinstance(v, dict):
                    raise _bad_arg_type("map[string]interface {}", v)
                if merge_key not in v:
                    raise _no_merge_key(v, merge_key)
        items, deletes = _split_deletes(items)
    items = list(items)

    def less(i: int, j: int) -> bool:
        ii = _index(order, items[i], merge_key, kind)
        if ii >= 0:
            ij = _index(order, items[j], merge_key, kind)
            if ij >= 0:
                return ii < ij
        return True

    slice_stable(items, less)
    return items + deletes


def _normalize_element_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """``normalizeElementOrder`` and ``mergeSortedSlice``."""
    right = _normalize_slice_order(patch_items, patch_order, merge_key, kind)
    left = _normalize_slice_order(server_only, server_order, merge_key, kind)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, kind)
            ri = _index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# --------------------------------------------------------------------------------------
# JSON merge patch (evanphx/json-patch merge.go)
# --------------------------------------------------------------------------------------


def json_merge_patch(document: Any, patch: Any) -> Any:
    """RFC 7386 as ``jsonpatch.MergePatch``: ``null`` deletes, objects merge, anything
    else replaces; a non-object patch replaces the document (an array keeps its nulls
    but loses the nulls inside its objects). Neither argument is modified.

    Raises BadRequestError (``Invalid JSON Patch``) for a ``null`` or scalar patch.
    """
    patch = copy.deepcopy(patch)
    if patch is None:
        raise _bad_request("Invalid JSON Patch")
    if not isinstance(patch, dict):
        if not isinstance(patch, list):
            raise _bad_request("Invalid JSON Patch")
        _prune_array_nulls(patch)
        return patch
    if not isinstance(document, dict):
        _prune_nulls(patch)
        return patch
    doc = copy.deepcopy(document)
    _merge_docs(doc, patch)
    return doc


def _merge_docs(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if v is None:
            doc.pop(k, None)
        elif doc.get(k) is None:
            _prune_nulls(v)
            doc[k] = v
        else:
            doc[k] = _merge_value(doc[k], v)


def _merge_value(cur: Any, patch: Any) -> Any:
    if not isinstance(cur, dict):
        _prune_nulls(patch)
        return patch
    if not isinstance(patch, dict):
        return patch
    _merge_docs(cur, patch)
    return cur


def _prune_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in [k for k, v in value.items() if v is None]:
            del value[k]
        for v in value.values():
            _prune_nulls(v)
    elif isinstance(value, list):
        _prune_array_nulls(value)


def _prune_array_nulls(items: list[Any]) -> None:
    for v in items:
        if v is not None:
            _prune_nulls(v)


# --------------------------------------------------------------------------------------
# JSON patch (evanphx/json-patch patch.go, v4)
# --------------------------------------------------------------------------------------


class JsonPatchError(ValueError):
    """Why a JSON patch operation failed, in json-patch's words (kube-apiserver replies
    with its generic 422 text; this is the ``__cause__``)."""


_MISSING: Final = object()


def _decode_pointer_part(part: str) -> str:
    return re.sub(r"~[01]", lambda m: "/" if m.group(0) == "~1" else "~", part)


def _atoi(text: str) -> int:
    """``strconv.Atoi``: optional sign, decimal digits, no spaces."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise JsonPatchError(f"strconv.Atoi: parsing {json.dumps(text)}: invalid syntax")
    return int(text)


@dataclass
class _Root:
    """The document being patched (a replace of "" swaps it whole)."""

    value: Any


def _find(root: _Root, path: str) -> tuple[Any, str] | None:
    """``findObject``: the container holding the last segment, and that segment."""
    split = path.split("/")
    if len(split) < 2:
        return None
    doc = root.value
    for part in split[1:-1]:
        nxt = _get(doc, _decode_pointer_part(part))
        if nxt is _MISSING or nxt is None or not isinstance(nxt, dict | list):
            return None
        doc = nxt
    return doc, _decode_pointer_part(split[-1])


def _index_of(container: list[Any], key: str, *, extra: int = 0) -> int:
    idx = _atoi(key)
    size = len(container) + extra
    if idx < 0:
        if idx < -size:
            raise JsonPatchError(f"Unable to access invalid index: {idx}: invalid index referenced")
        idx += size
    return idx


def _get(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    try:
        idx = _index_of(container, key)
    except JsonPatchError:
        return _MISSING
    if idx >= len(container):
        return _MISSING
    return container[idx]


def _get_strict(container: Any, key: str, what: str) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    idx = _index_of(container, key)
    if idx >= len(container):
        raise JsonPatchError(f"error in {what}: Unable to access invalid index: {idx}")
    return container[idx]


def _add(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    idx = _atoi(key)
    size = len(container) + 1
    if idx >= size:
        raise JsonPatchError(f"Unable to access invalid index: {idx}: invalid index referenced")
    if idx < 0:
        if idx < -size:
            raise JsonPatchError(f"Unable to access invalid index: {idx}: invalid index referenced")
        idx += size
    container.insert(idx, value)


def _remove(container: Any, key: str) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise JsonPatchError(f"Unable to remove nonexistent key: {key}: missing value")
        del container[key]
        return
    idx = _atoi(key)
    if idx >= len(container):
        raise JsonPatchError(f"Unable to access invalid index: {idx}: invalid index referenced")
    if idx < 0:
        if idx < -len(container):
            raise JsonPatchError(f"Unable to access invalid index: {idx}: invalid index referenced")
        idx += len(container)
    del container[idx]


def _op_string(op: dict[str, Any], field: str) -> str | None:
    v = op.get(field)
    return v if isinstance(v, str) else None


def _patch_equal(a: Any, b: Any) -> bool:
    """``lazyNode.equal``: structural, type-strict (1 and 1.0 differ, as their texts do)."""
    return go_equal(a, b)


def json_patch(document: Any, operations: list[Any]) -> Any:
    """Apply RFC 6902 operations as ``jsonpatch.Patch.Apply`` (v4) does, quirks included:
    a ``replace`` of a missing object key adds it, a ``copy`` from a missing key writes
    ``null``, negative array indices count from the end, and a path's first segment is
    not checked to be empty. The document is not modified.

    Raises:
        InvalidError: an operation failed (kube-apiserver's generic 422 text; the
            operation's error is the ``__cause__``).
    """
    root = _Root(copy.deepcopy(document))
    copied = 0
    for op in operations:
        try:
            copied = _apply_op(root, op, copied)
        except JsonPatchError as e:
            raise _unprocessable() from e
    return root.value


def _apply_op(root: _Root, op: Any, copied: int) -> int:
    if not isinstance(op, dict):
        raise JsonPatchError("Unexpected kind: unknown")
    raw_kind = op.get("op")
    kind = raw_kind if isinstance(raw_kind, str) else "unknown"
    path = _op_string(op, "path")
    has_value = "value" in op
    value = copy.deepcopy(op.get("value"))
    if kind not in ("add", "remove", "replace", "move", "test", "copy"):
        raise JsonPatchError(f"Unexpected kind: {kind}")
    if path is None:
        raise JsonPatchError(f"{kind} operation failed to decode path: missing value")
    if kind == "add":
        found = _find(root, path)
        if found is None:
            raise JsonPatchError(f'add operation does not apply: doc is missing path: "{path}"')
        _add(found[0], found[1], value)
    elif kind == "remove":
        found = _find(root, path)
        if found is None:
            raise JsonPatchError(f'remove operation does not apply: doc is missing path: "{path}"')
        _remove(found[0], found[1])
    elif kind == "replace":
        if path == "":
            if not isinstance(value, dict | list):
                raise JsonPatchError("replace operation value must be object or array")
            root.value = value
            return copied
        found = _find(root, path)
        if found is None:
            raise JsonPatchError(f"replace operation does not apply: doc is missing path: {path}")
        container, key = found
        if isinstance(container, dict):
            container[key] = value
        else:
            idx = _index_of(container, key)
            if idx >= len(container):
                raise JsonPatchError(
                    f"replace operation does not apply: doc is missing key: {path}"
                )
            container[idx] = value
    elif kind == "test":
        _test(root, path, value, has_value)
    else:
        frm = _op_string(op, "from")
        if frm is None:
            raise JsonPatchError(f"{kind} operation failed to decode from: missing value")
        found = _find(root, frm)
        if found is None:
            raise JsonPatchError(
                f"{kind} operation does not apply: doc is missing from path: {frm}"
            )
        moved = _get_strict(found[0], found[1], kind)
        if kind == "move":
            _remove(found[0], found[1])
        else:
            if moved is not None:  # deepCopy(nil) copies nothing
                text = json.dumps(moved, separators=(",", ":"), ensure_ascii=False)
                copied += len(text.encode())
            if copied > MAX_JSON_PATCH_COPY_BYTES:
                raise JsonPatchError(
                    "Unable to complete the copy, the accumulated size increase of copy is "
                    f"{copied}, exceeding the limit {MAX_JSON_PATCH_COPY_BYTES}"
                )
            moved = copy.deepcopy(moved)
        dest = _find(root, path)
        if dest is None:
            raise JsonPatchError(
                f"{kind} operation does not apply: doc is missing destination path: {path}"
            )
        _add(dest[0], dest[1], moved)
    return copied


def _test(root: _Root, path: str, value: Any, has_value: bool) -> None:
    if path == "":
        if _patch_equal(root.value, value):
            return
        raise JsonPatchError("testing value  failed: test failed")
    found = _find(root, path)
    if found is None:
        raise JsonPatchError(f"test operation does not apply: is missing path: {path}")
    current = _get_strict(found[0], found[1], "test")
    if current is None:
        # A missing key or a null passes against an absent or null value.
        if value is None:
            return
        raise JsonPatchError(f"testing value {path} failed: test failed")
    if not has_value:
        raise JsonPatchError(f"testing value {path} failed: test failed")
    if not _patch_equal(current, value):
        raise JsonPatchError(f"testing value {path} failed: test failed")


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
        raise _bad_request(
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
        raise _bad_request(f"error decoding patch: {type_error}")
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
        raise _bad_request("invalid JSON patch: nested too deeply") from None


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
        raise _bad_request("invalid JSON patch") from None
    strict = field_validation in ("Warn", "Strict")
    if ptype == JSON_PATCH:
        errors: list[str] = []
        if strict:
            errors = [f"json patch {d}" for d in duplicates] + _json_patch_strict(doc)
        if not isinstance(doc, list):
            raise _bad_request(
                f"json: cannot unmarshal {_json_kind(doc)} into Go value of type jsonpatch.Patch"
            )
        for op in doc:
            if op is not None and not isinstance(op, dict):
                raise _bad_request(
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
            raise _bad_request(
                "error decoding patch: json: cannot unmarshal "
                f"{_json_kind(doc)} into Go value of type map[string]interface {{}}"
            )
        return PatchResult(json_merge_patch(document, doc), duplicates if strict else [])
    if doc is not None and not isinstance(doc, dict):
        raise _bad_request(
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
