"""Strategic merge patch as kube-apiserver applies it (``apimachinery/pkg/util/strategicpatch``
``patch.go`` and ``meta.go``, ``mergepatch/errors.go``): the merge keys and strategies
of the served kinds' Go types (:mod:`servicecidr.serve.schema`), and the directives."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.errors import (
    ApiError,
)
from servicecidr.serve.gojson import go_equal, go_kind, go_type, go_v
from servicecidr.serve.gosort import slice_stable
from servicecidr.serve.patch.common import (
    bad_request,
    plain_error,
    unprocessable,
)
from servicecidr.serve.schema import (
    LEAF_NAMES,
    PATCH_TAGS,
    ROOTS,
    STRUCTS,
    type_kind,
    type_name,
)

__all__ = ["strategic_merge_patch"]

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


def _bad_arg_type(expected: str, actual: Any) -> ApiError:
    return plain_error(f"expected a {expected}, but received a {go_type(actual)}")


def _no_merge_key(m: dict[str, Any], key: str) -> ApiError:
    return plain_error(f"map: {go_v(m)} does not contain declared merge key: {key}")


def _go_s(value: Any) -> str:
    """``%s`` of an interface value."""
    if isinstance(value, str):
        return value
    if value is None:
        return "%!s(<nil>)"
    return f"%!s({go_type(value)}={go_v(value)})"


def _bad_patch_type(directive: Any, m: dict[str, Any]) -> ApiError:
    return plain_error(f"unknown patch type: {_go_s(directive)} in map: {go_v(m)}")


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
            raise plain_error(
                "merging an object in json but data type is not struct, instead is: " + type_kind(t)
            )
    field = key if key in fields else None
    if field is None:
        # encoding/json's case-insensitive fallback
        field = next((f for f in fields if f.lower() == key.lower()), None)
    if field is None:
        raise plain_error(
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
        raise plain_error(f"expected slice or array type, but got: {type_kind(t)}")
    elem = sub[2:]
    if elem.startswith("[]"):
        raise plain_error("unexpected slice of slice")
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
    raise plain_error(f"unexpected patch strategy: [{' '.join(strategies)}]")


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
        raise bad_request(_UNSUPPORTED_SMP)
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
            raise bad_request(_BAD_PRIMITIVE_LIST)
        raise bad_request(_BAD_SET_ELEMENT_ORDER)
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
        raise bad_request(_BAD_RETAIN_KEYS)
    keys = {v for v in retain if isinstance(v, str)}
    for k, v in patch.items():
        if v is None or k.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
            continue
        if k not in keys:
            raise bad_request(_BAD_RETAIN_KEYS)
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
        raise plain_error(
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
                raise plain_error(f"list element types are not identical: {go_v(list(lists))}")
    if not seen:
        raise plain_error("no elements in any of the given slices")
    return go_kind(next(v for items in lists for v in items))


def _unprocessable_from(message: str) -> ApiError:
    err = unprocessable()
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
            raise plain_error(f"cannot merge lists without merge key for {type_kind(elem)}")
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
            raise plain_error("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, v)
    if replace:
        return plain, []
    return original, plain


def _find_by_key(items: list[Any], key: str, value: Any) -> int:
    """``findMapInSliceBasedOnKeyValue``: the index of the first map whose key equals."""
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise plain_error(f"value for key {i} is not a map")
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
