"""JSON patch (RFC 6902) as ``evanphx/json-patch`` v4 ``patch.go`` applies it, with
kube-apiserver's limits (operations, bytes copied)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.serve.gojson import go_equal
from servicecidr.serve.patch.common import (
    MAX_JSON_PATCH_COPY_BYTES,
    unprocessable,
)

__all__ = ["JsonPatchError", "json_patch"]

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
            raise unprocessable() from e
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
