"""Field paths and field sets of server-side apply (sigs.k8s.io/structured-merge-diff
``fieldpath``), with their ``FieldsV1`` form (``managedFields[].fieldsV1``).

A path element is one of:

* ``("f", name)``: a field of a struct or a key of a map (``f:name``, printed ``.name``);
* ``("k", ((field, value), ...))``: an item of a list keyed by fields, sorted by field
  name (``k:{"port":80,"protocol":"TCP"}``, printed ``[port=80,protocol="TCP"]``);
* ``("v", value)``: an item of a set of scalars (``v:"a"``, printed ``[="a"]``);
* ``("i", index)``: an item of a list by position (``i:0``, printed ``[0]``).

A set is a Python set of paths (tuples of elements): the trie structured-merge-diff keeps
is only a way of storing it, so union, difference and intersection are set operations.
Values inside elements are frozen (:func:`freeze`) so that paths hash; :func:`thaw`
gives the JSON value back. Ordering (:func:`pe_compare`) is structured-merge-diff's:
fields before keys before values before indexes; values by ``value.Compare``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from servicecidr.api.field_errors import go_json, go_quote
from servicecidr.serve.gojson import go_v

__all__ = [
    "FieldSet",
    "FieldsV1Error",
    "PathElement",
    "freeze",
    "path_string",
    "pe_compare",
    "set_from_fields_v1",
    "set_to_fields_v1",
    "thaw",
    "value_compare",
]

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = set[Path]


class FieldsV1Error(ValueError):
    """A ``fieldsV1`` document that does not parse as a field set."""


# --------------------------------------------------------------------------- values


class _Bool(tuple[str, bool]):
    """A frozen JSON boolean: distinct from 1 and 0, as Go's values are."""

    __slots__ = ()


class _Map(tuple[tuple[str, Any], ...]):
    __slots__ = ()


class _List(tuple[Any, ...]):
    __slots__ = ()


def freeze(value: Any) -> Any:
    """A hashable form of a JSON value (equal numbers hash equal, booleans apart)."""
    if isinstance(value, bool):
        return _Bool(("bool", value))
    if isinstance(value, dict):
        return _Map(tuple(sorted((k, freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return _List(tuple(freeze(v) for v in value))
    return value


def thaw(value: Any) -> Any:
    """The JSON value of a frozen one."""
    if isinstance(value, _Bool):
        return value[1]
    if isinstance(value, _Map):
        return {k: thaw(v) for k, v in value}
    if isinstance(value, _List):
        return [thaw(v) for v in value]
    return value


def _rank(value: Any) -> int:
    if isinstance(value, _Bool):
        return 3
    if isinstance(value, int | float):
        return 0
    if isinstance(value, str):
        return 2
    if isinstance(value, _List):
        return 4
    if isinstance(value, _Map):
        return 5
    return 6  # null


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def value_compare(a: Any, b: Any) -> int:
    """``value.Compare`` on frozen values: numbers (ints and floats together), strings,
    booleans, lists, maps, null."""
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return _cmp(ra, rb)
    if ra == 0 or ra == 2:
        return _cmp(a, b)
    if ra == 3:
        return _cmp(a[1], b[1])
    if ra == 4:
        for x, y in zip(a, b, strict=False):
            c = value_compare(x, y)
            if c:
                return c
        return _cmp(len(a), len(b))
    if ra == 5:
        for (ka, va), (kb, vb) in zip(a, b, strict=False):
            c = _cmp(ka, kb) or value_compare(va, vb)
            if c:
                return c
        return _cmp(len(a), len(b))
    return 0


_KIND_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def pe_compare(a: PathElement, b: PathElement) -> int:
    """``PathElement.Compare``."""
    if a[0] != b[0]:
        return _cmp(_KIND_ORDER[a[0]], _KIND_ORDER[b[0]])
    if a[0] == "f":
        return _cmp(a[1], b[1])
    if a[0] == "k":
        for (na, va), (nb, vb) in zip(a[1], b[1], strict=False):
            c = _cmp(na, nb) or value_compare(va, vb)
            if c:
                return c
        return _cmp(len(a[1]), len(b[1]))
    if a[0] == "v":
        return value_compare(a[1], b[1])
    return _cmp(a[1], b[1])


_PE_KEY = functools.cmp_to_key(pe_compare)


def path_compare(a: Path, b: Path) -> int:
    """``Path.Compare``: element by element, a prefix first."""
    for x, y in zip(a, b, strict=False):
        c = pe_compare(x, y)
        if c:
            return c
    return _cmp(len(a), len(b))


PATH_KEY = functools.cmp_to_key(path_compare)


# --------------------------------------------------------------------------- printing


def _to_string(value: Any) -> str:
    """``value.ToString``."""
    if value is None:
        return "null"
    if isinstance(value, _Bool):
        return "true" if value[1] else "false"
    if isinstance(value, float):
        return go_v(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, _List):
        return "[" + ",".join(_to_string(v) for v in value) + "]"
    if isinstance(value, _Map):
        return "".join(f"{k}={_to_string(v)}" for k, v in value)
    return "{{undefined}}"


def pe_string(pe: PathElement) -> str:
    """``PathElement.String``."""
    kind, val = pe
    if kind == "f":
        return "." + str(val)
    if kind == "k":
        return "[" + ",".join(f"{n}={_to_string(v)}" for n, v in val) + "]"
    if kind == "v":
        return f"[={_to_string(val)}]"
    return f"[{val}]"


def path_string(path: Path) -> str:
    """``Path.String``: ``.spec.ports[port=80,protocol="TCP"].targetPort``."""
    return "".join(pe_string(pe) for pe in path)


# --------------------------------------------------------------------------- FieldsV1


def _serialize(pe: PathElement) -> str:
    kind, val = pe
    if kind == "f":
        return "f:" + str(val)
    if kind == "k":
        return "k:{" + ",".join(f"{go_json(n)}:{go_json(thaw(v))}" for n, v in val) + "}"
    if kind == "v":
        return "v:" + go_json(thaw(val))
    return f"i:{val}"


def set_to_fields_v1(fields: Iterable[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` object of a set (``Set.ToJSON``): keys in path-element order, a
    node that is itself a member and has children marked ``".": {}`` first."""
    root: dict[PathElement, Any] = {}
    members: set[Path] = set()
    for path in fields:
        if not path:
            continue
        members.add(path)
        node = root
        for pe in path[:-1]:
            node = node.setdefault(pe, {})
        node.setdefault(path[-1], {})
    return _emit(root, (), members)


def _emit(node: dict[PathElement, Any], prefix: Path, members: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pe in sorted(node, key=_PE_KEY):
        path = (*prefix, pe)
        child = _emit(node[pe], path, members)
        if child and path in members:
            child = {".": {}, **child}
        out[_serialize(pe)] = child
    return out


def _deserialize(key: str) -> PathElement | None:
    """``DeserializePathElement``; None for an unknown element type (skipped)."""
    if len(key) < 2:
        raise FieldsV1Error(f"key must be 2 characters long: {key}")
    if key[1] != ":":
        raise FieldsV1Error(f"missing colon: {key}")
    kind, text = key[0], key[2:]
    if kind == "f":
        return ("f", text)
    if kind == "i":
        try:
            return ("i", int(text))
        except ValueError:
            raise FieldsV1Error(f'strconv.Atoi: parsing "{text}": invalid syntax') from None
    if kind not in ("k", "v"):
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise FieldsV1Error(f"parsing key as path element: {e}") from None
    if kind == "v":
        return ("v", freeze(value))
    if not isinstance(value, dict):
        raise FieldsV1Error(f"parsing key as path element: {key} is not an object")
    return ("k", tuple(sorted((k, freeze(v)) for k, v in value.items())))


def set_from_fields_v1(doc: Any) -> FieldSet:
    """The set a ``fieldsV1`` object holds (``Set.FromJSON``); raises FieldsV1Error."""
    if not isinstance(doc, dict):
        raise FieldsV1Error("fieldsV1 must be an object")
    out: FieldSet = set()
    stack: list[tuple[dict[str, Any], Path]] = [(doc, ())]
    while stack:
        node, prefix = stack.pop()
        for key, child in node.items():
            if key == ".":
                continue
            pe = _deserialize(key)
            if pe is None:
                continue
            path = (*prefix, pe)
            if not isinstance(child, dict):
                raise FieldsV1Error(f"{path_string(path)}: expected an object")
            # readIterV1: a node is a member when marked "." or when nothing under it
            # is a path element.
            known = [k for k in child if k != "." and _deserialize(k) is not None]
            if not known or "." in child:
                out.add(path)
            if known:
                stack.append((child, path))
    return out
