"""JSON merge patch (RFC 7386) as ``evanphx/json-patch`` ``merge.go`` applies it."""

from __future__ import annotations

import copy
from typing import Any

from servicecidr.serve.patch.common import (
    bad_request,
)

__all__ = ["json_merge_patch"]

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
        raise bad_request("Invalid JSON Patch")
    if not isinstance(patch, dict):
        if not isinstance(patch, list):
            raise bad_request("Invalid JSON Patch")
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
