"""Typed values for server-side apply: structured-merge-diff's ``typed`` package over
JSON objects of the served kinds.

The schema is :mod:`servicecidr.serve.schema` read as kube-openapi's schema conversion
reads the Go markers: structs (atomic with ``+structType=atomic``), maps (granular unless
``+mapType=atomic``), lists (``+listType=map`` keyed, ``+listType=set`` of scalars,
atomic otherwise) and scalars (numeric, string, boolean; ``IntOrString`` untyped;
``FieldsV1`` deduced from its value). The walkers follow ``typed/validate.go``,
``tofieldset.go``, ``merge.go`` (the merge that keeps the right-hand side, with its list
ordering), ``compare.go`` and ``remove.go``, and ``fieldpath.Set.EnsureNamedFieldsAreMembers``.

Values are plain JSON (dicts, lists, str, int, float, bool, None); :data:`ABSENT` stands
for "no value" (Go's nil ``value.Value``), which is not JSON ``null``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from servicecidr.api.field_errors import go_quote
from servicecidr.serve.fieldpath import FieldSet, Path, PathElement, freeze, path_string
from servicecidr.serve.gojson import go_v
from servicecidr.serve.schema import (
    ATOMIC_MAPS,
    ATOMIC_STRUCTS,
    KEY_DEFAULTS,
    LIST_TYPES,
    ROOTS,
    STRUCTS,
)

__all__ = [
    "ABSENT",
    "Comparison",
    "TypeRef",
    "TypedError",
    "compare",
    "ensure_named_fields_are_members",
    "merge",
    "remove_items",
    "root_type",
    "to_field_set",
    "validate",
]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


class TypedError(ValueError):
    """Validation errors of a value against its type (``typed.ValidationErrors``),
    worded as structured-merge-diff words them."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__(_errors_text(errors))


def _error_text(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


def _errors_text(errors: list[tuple[str, str]]) -> str:
    if len(errors) == 1:
        return _error_text(*errors[0])
    return "\n".join(["errors:", *("  " + _error_text(p, m) for p, m in errors)])


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True, slots=True)
class TypeRef:
    """One resolved type: ``kind`` is scalar, struct, map, list or deduced."""

    kind: str
    scalar: str = ""  # numeric | string | boolean | untyped
    name: str = ""  # the struct, or the element type name of a map or list
    atomic: bool = False
    keys: tuple[str, ...] = ()  # list-map keys
    associative: bool = False  # a list-map or a set

    def fields(self) -> dict[str, str]:
        return STRUCTS.get(self.name, {}) if self.kind == "struct" else {}


_SCALARS: Final = {
    "string": "string",
    "int32": "numeric",
    "int64": "numeric",
    "bool": "boolean",
    "Time": "string",
    "IntOrString": "untyped",
}
_DEDUCED: Final = TypeRef("deduced")


def _ref(t: str, struct: str = "", fname: str = "") -> TypeRef:
    if t in _SCALARS:
        return TypeRef("scalar", scalar=_SCALARS[t])
    if t == "raw":
        return _DEDUCED
    if t == "map[string]string":
        return TypeRef("map", name="string", atomic=(struct, fname) in ATOMIC_MAPS)
    if t.startswith("[]"):
        kind, keys = LIST_TYPES.get((struct, fname), ("atomic", ()))
        return TypeRef(
            "list", name=t[2:], atomic=kind == "atomic", keys=keys, associative=kind != "atomic"
        )
    return TypeRef("struct", name=t, atomic=t in ATOMIC_STRUCTS)


def root_type(api_version: str, kind: str) -> TypeRef | None:
    """The type of an object of ``api_version``/``kind`` (None when not served)."""
    name = ROOTS.get((api_version, kind))
    return None if name is None else TypeRef("struct", name=name)


def _field_type(t: TypeRef, key: str) -> TypeRef | None:
    """``Map.FindField`` then the element type: None for an undeclared struct field."""
    if t.kind == "struct":
        ft = t.fields().get(key)
        return None if ft is None else _ref(ft, t.name, key)
    if t.kind == "map":
        return _ref(t.name)
    return _DEDUCED  # a deduced map's elements are deduced


def _declared(t: TypeRef, key: str) -> bool:
    return t.kind == "struct" and key in t.fields()


def _element_type(t: TypeRef) -> TypeRef:
    if t.kind == "list":
        return _ref(t.name)
    return _DEDUCED


def _atom(t: TypeRef, value: Any) -> str:
    """``deduceAtom`` + ``handleAtom``: which walker method handles the value."""
    if t.kind == "scalar":
        return "scalar"
    if t.kind in ("struct", "map"):
        return "map"
    if t.kind == "list":
        return "list"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict) or value is None or value is ABSENT:
        return "map"
    return "scalar"


def _list_of(t: TypeRef) -> TypeRef:
    """The list view of a type (a deduced list is atomic)."""
    return t if t.kind == "list" else TypeRef("list", atomic=True)


def _map_atomic(t: TypeRef) -> bool:
    return t.atomic if t.kind in ("struct", "map") else False


# --------------------------------------------------------------------------- list items


def _key_default(t: TypeRef, key: str) -> Any:
    return KEY_DEFAULTS.get((t.name, key), ABSENT)


def list_item_pe(t: TypeRef, item: Any) -> PathElement:
    """``listItemToPathElement``; raises ValueError with structured-merge-diff's text."""
    if not t.associative:
        raise ValueError("invalid indexing of non-associative list")
    if t.keys:
        if item is None:
            raise ValueError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise ValueError("associative list with keys may not have non-map elements")
        fields = []
        for k in t.keys:
            if k in item:
                fields.append((k, freeze(item[k])))
            else:
                default = _key_default(t, k)
                if default is not ABSENT:
                    fields.append((k, freeze(default)))
        if not fields:
            quoted = "[" + " ".join(go_quote(k) for k in t.keys) + "]"
            raise ValueError(
                f"associative list with keys has an element that omits all key fields "
                f"{quoted} (and doesn't have default values for any key fields)"
            )
        return ("k", tuple(sorted(fields)))
    if isinstance(item, dict):
        raise ValueError("associative list without keys has an element that's a map type")
    if isinstance(item, list):
        raise ValueError("not supported: associative list with lists as elements")
    if item is None:
        raise ValueError("associative list without keys has an element that's an explicit null")
    return ("v", freeze(item))


def _pe_str(pe: PathElement) -> str:
    return path_string((pe,))


# --------------------------------------------------------------------------- validation


def _go_type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "<nil>"


def _go_syntax(value: Any) -> str:
    """``%#v`` of an unstructured value."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool | int | float):
        return go_v(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_syntax(v) for v in value) + "}"
    return (
        "map[string]interface {}{"
        + ", ".join(f"{go_quote(k)}:{_go_syntax(value[k])}" for k in sorted(value))
        + "}"
    )


def _value_v(value: Any) -> str:
    """``%v`` of a ``value.Value`` (a pointer to a struct holding the value)."""
    return "&{" + go_v(value) + "}"


def validate(value: Any, t: TypeRef, *, allow_duplicates: bool = False) -> None:
    """Check a value against its type; raises TypedError listing what is wrong."""
    errors: list[tuple[str, str]] = []
    _validate(value, t, "", errors, allow_duplicates)
    if errors:
        raise TypedError(errors)


def _validate(value: Any, t: TypeRef, path: str, errors: list[tuple[str, str]], dups: bool) -> None:
    atom = _atom(t, value)
    if atom == "scalar":
        if value is None:
            return
        msg = _scalar_error(t.scalar if t.kind == "scalar" else "untyped", value)
        if msg:
            errors.append((path, msg))
        return
    if atom == "list":
        if value is None:
            return
        if not isinstance(value, list):
            errors.append((path, f"expected list, got {_value_v(value)}"))
            return
        lt = _list_of(t)
        seen: set[PathElement] = set()
        for i, item in enumerate(value):
            if lt.associative:
                try:
                    pe = list_item_pe(lt, item)
                except ValueError as e:
                    errors.append((path, f"element {i}: {e}"))
                    return
                if pe in seen and not dups:
                    errors.append((path, f"duplicate entries for key {_pe_str(pe)}"))
                seen.add(pe)
            else:
                pe = ("i", i)
            _validate(item, _element_type(lt), path + _pe_str(pe), errors, dups)
        return
    if value is None:
        return
    if not isinstance(value, dict):
        errors.append((path, f"expected map, got {_value_v(value)}"))
        return
    for key, item in value.items():
        ft = _field_type(t, key)
        child = f"{path}.{key}"
        if ft is None:
            errors.append((child, "field not declared in schema"))
            return
        _validate(item, ft, child, errors, dups)


def _scalar_error(scalar: str, value: Any) -> str:
    if scalar == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected numeric (int or float), got {_go_type_of(value)}"
    elif scalar == "string":
        if not isinstance(value, str):
            return f"expected string, got &value.valueUnstructured{{Value:{_go_syntax(value)}}}"
    elif scalar == "boolean":
        if not isinstance(value, bool):
            return f"expected boolean, got {_value_v(value)}"
    elif isinstance(value, dict | list):
        return f"expected any scalar, got {_value_v(value)}"
    return ""


# --------------------------------------------------------------------------- field sets


def to_field_set(value: Any, t: TypeRef) -> FieldSet:
    """``TypedValue.ToFieldSet``: the paths a value sets."""
    out: FieldSet = set()
    _to_set(value, t, (), out)
    return out


def _to_set(value: Any, t: TypeRef, path: Path, out: FieldSet) -> None:
    atom = _atom(t, value)
    if atom == "scalar":
        out.add(path)
        return
    if atom == "list":
        lt = _list_of(t)
        if lt.atomic:
            out.add(path)
            return
        if not isinstance(value, list):
            return
        pes = []
        seen: set[PathElement] = set()
        dups: set[PathElement] = set()
        for item in value:
            pe = list_item_pe(lt, item)
            pes.append(pe)
            if pe in seen and pe not in dups:
                out.add((*path, pe))
                dups.add(pe)
            seen.add(pe)
        for pe, item in zip(pes, value, strict=True):
            if pe in dups:
                continue
            _to_set(item, _element_type(lt), (*path, pe), out)
            out.add((*path, pe))
        return
    if _map_atomic(t):
        out.add(path)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        ft = _field_type(t, key) or _DEDUCED
        child = (*path, ("f", key))
        _to_set(item, ft, child, out)
        if item is None or (isinstance(item, dict) and not item) or not _declared(t, key):
            out.add(child)


# --------------------------------------------------------------------------- merge


def merge(lhs: Any, rhs: Any, t: TypeRef) -> Any:
    """``TypedValue.Merge`` (rhs wins): structs and granular maps merge field by field,
    list-maps and sets item by item (items of both in the right-hand order, left-only
    items kept in place), atomic values and scalars are replaced. Returns ABSENT when
    neither side has a value. Raises ValueError for duplicate keys on the right."""
    if lhs is ABSENT and rhs is ABSENT:
        return ABSENT
    atom = _atom(t, rhs if rhs is not ABSENT else lhs)
    if atom == "scalar":
        return _keep_rhs(lhs, rhs)
    if atom == "list":
        lt = _list_of(t)
        llist = lhs if isinstance(lhs, list) else None
        rlist = rhs if isinstance(rhs, list) else None
        if lt.atomic or (not llist and not rlist):
            return _keep_rhs(lhs, rhs)
        return _merge_list(lt, llist or [], rlist or [])
    lmap = lhs if isinstance(lhs, dict) else None
    rmap = rhs if isinstance(rhs, dict) else None
    if _map_atomic(t) or (not lmap and not rmap):
        return _keep_rhs(lhs, rhs)
    out: dict[str, Any] = {}
    for key in _zip_keys(lmap or {}, rmap or {}):
        ft = _field_type(t, key) or _DEDUCED
        merged = merge((lmap or {}).get(key, ABSENT), (rmap or {}).get(key, ABSENT), ft)
        if merged is not ABSENT:
            out[key] = merged
    return out if out else ABSENT


def _keep_rhs(lhs: Any, rhs: Any) -> Any:
    return rhs if rhs is not ABSENT else lhs


def _zip_keys(lhs: dict[str, Any], rhs: dict[str, Any]) -> list[str]:
    return list(lhs) + [k for k in rhs if k not in lhs]


def _index(
    t: TypeRef, items: list[Any], duplicates: bool
) -> tuple[list[PathElement], dict[PathElement, Any]]:
    pes: list[PathElement] = []
    observed: dict[PathElement, Any] = {}
    for i, item in enumerate(items):
        try:
            pe = list_item_pe(t, item)
        except ValueError as e:
            raise ValueError(f"element {i}: {e}") from None
        if pe in observed:
            if not duplicates:
                raise ValueError(f"duplicate entries for key {_pe_str(pe)}")
            observed[pe] = None  # a duplicated item merges as null
        else:
            observed[pe] = item
        pes.append(pe)
    return pes, observed


def _merge_list(t: TypeRef, lhs: list[Any], rhs: list[Any]) -> Any:
    """``mergingWalker.visitListItems``."""
    rpes, robs = _index(t, rhs, False)
    lpes, lobs = _index(t, lhs, True)
    shared = [pe for pe in rpes if pe in lobs]
    next_shared = shared.pop(0) if shared else None
    merged_rhs: set[PathElement] = set()
    out: list[Any] = []
    elem = _element_type(t)
    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            pe = lpes[li]
            if pe == rpes[ri]:
                merged_rhs.add(pe)
                item = merge(lobs.get(pe, ABSENT), robs.get(pe, ABSENT), elem)
                if item is not ABSENT:
                    out.append(item)
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in robs and next_shared is not None and next_shared != lpes[li]:
                li += 1
                continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in robs:
                item = merge(lhs[li], ABSENT, elem)
                if item is not ABSENT:
                    out.append(item)
                li += 1
                continue
            if pe in merged_rhs:
                li += 1
        if ri < len(rpes):
            pe = rpes[ri]
            merged_rhs.add(pe)
            item = merge(lobs.get(pe, ABSENT), robs.get(pe, ABSENT), elem)
            if item is not ABSENT:
                out.append(item)
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out if out else ABSENT


# --------------------------------------------------------------------------- compare


@dataclass
class Comparison:
    """``typed.Comparison``: paths added, modified and removed from lhs to rhs."""

    added: FieldSet = field(default_factory=set)
    modified: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def filtered(self, reset: tuple[Path, ...]) -> Comparison:
        """Without the paths under the reset fields (``Comparison.FilterFields``)."""
        return Comparison(
            exclude(self.added, reset), exclude(self.modified, reset), exclude(self.removed, reset)
        )


def exclude(fields: FieldSet, prefixes: tuple[Path, ...]) -> FieldSet:
    """``RecursiveDifference``: drop every path that is or lies under a prefix."""
    if not prefixes:
        return set(fields)
    return {p for p in fields if not any(p[: len(x)] == x for x in prefixes)}


def compare(lhs: Any, rhs: Any, t: TypeRef) -> Comparison:
    """``TypedValue.Compare``."""
    c = Comparison()
    _compare(lhs, rhs, t, (), c)
    return c


def _leaf(lhs: Any, rhs: Any, path: Path, c: Comparison) -> None:
    if lhs is ABSENT:
        c.added.add(path)
    elif rhs is ABSENT:
        c.removed.add(path)
    elif lhs != rhs or _type_differs(lhs, rhs):
        c.modified.add(path)


def _type_differs(a: Any, b: Any) -> bool:
    # value.Equals: numbers compare numerically; a boolean never equals a number.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is not type(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return any(_type_differs(a[k], b[k]) for k in a if k in b)
    if isinstance(a, list) and isinstance(b, list):
        return any(_type_differs(x, y) for x, y in zip(a, b, strict=False))
    return False


def _compare(lhs: Any, rhs: Any, t: TypeRef, path: Path, c: Comparison) -> None:
    atom = _atom(t, rhs if rhs is not ABSENT else lhs)
    leaf = False
    if atom == "scalar":
        leaf = True
    elif atom == "list":
        lt = _list_of(t)
        llist = lhs if isinstance(lhs, list) else None
        rlist = rhs if isinstance(rhs, list) else None
        if lt.atomic or (not llist and not rlist):
            leaf = True
        else:
            _compare_list(lt, llist or [], rlist or [], path, c)
    else:
        lmap = lhs if isinstance(lhs, dict) else None
        rmap = rhs if isinstance(rhs, dict) else None
        if _map_atomic(t) or (not lmap and not rmap):
            leaf = True
        else:
            lm, rm = lmap or {}, rmap or {}
            for key in _zip_keys(lm, rm):
                ft = _field_type(t, key) or _DEDUCED
                _compare(lm.get(key, ABSENT), rm.get(key, ABSENT), ft, (*path, ("f", key)), c)
    if leaf:
        _leaf(lhs, rhs, path, c)
        return
    if lhs is ABSENT:
        c.added.add(path)
    elif rhs is ABSENT:
        c.removed.add(path)


def _compare_list(t: TypeRef, lhs: list[Any], rhs: list[Any], path: Path, c: Comparison) -> None:
    order: list[PathElement] = []
    lvals: dict[PathElement, list[Any]] = {}
    rvals: dict[PathElement, list[Any]] = {}
    for item in lhs:
        pe = list_item_pe(t, item)
        if pe not in lvals:
            order.append(pe)
        lvals.setdefault(pe, []).append(item)
    for item in rhs:
        pe = list_item_pe(t, item)
        if pe not in rvals and pe not in lvals:
            order.append(pe)
        rvals.setdefault(pe, []).append(item)
    elem = _element_type(t)
    for pe in order:
        ll, rl = lvals.get(pe, []), rvals.get(pe, [])
        child = (*path, pe)
        if len(ll) <= 1 and len(rl) <= 1:
            _compare(ll[0] if ll else ABSENT, rl[0] if rl else ABSENT, elem, child, c)
        elif len(ll) >= 2 and len(rl) >= 2:
            if ll != rl:
                c.modified.add(child)
        elif len(ll) >= 2:
            if rl:
                _compare(ABSENT, rl[0], elem, child, c)
            c.removed.add(child)
        else:
            if ll:
                _compare(ll[0], ABSENT, elem, child, c)
            c.added.add(child)


# --------------------------------------------------------------------------- remove


def _with_prefix(fields: FieldSet, pe: PathElement) -> FieldSet:
    return {p[1:] for p in fields if len(p) > 1 and p[0] == pe}


def remove_items(value: Any, t: TypeRef, fields: FieldSet) -> Any:
    """``TypedValue.RemoveItems``: the value without the given paths (atomic values and
    empty ones are kept unless removed by their own path). Returns ABSENT when nothing is
    left of a map or list."""
    atom = _atom(t, value)
    if atom == "scalar":
        return value
    if atom == "list":
        lt = _list_of(t)
        if not isinstance(value, list):
            return ABSENT
        if not value or lt.atomic:
            return ABSENT
        out = []
        for item in value:
            pe = list_item_pe(lt, item)
            if (pe,) in fields:
                continue
            sub = _with_prefix(fields, pe)
            if sub:
                item = remove_items(item, _element_type(lt), sub)
            out.append(None if item is ABSENT else item)
        return out if out else ABSENT
    if not isinstance(value, dict):
        return ABSENT
    if not value or _map_atomic(t):
        return ABSENT
    result: dict[str, Any] = {}
    for key, item in value.items():
        fpe: PathElement = ("f", key)
        if (fpe,) in fields:
            continue
        sub = _with_prefix(fields, fpe)
        if sub:
            item = remove_items(item, _field_type(t, key) or _DEDUCED, sub)
        result[key] = None if item is ABSENT else item
    return result if result else ABSENT


def ensure_named_fields_are_members(fields: FieldSet, t: TypeRef) -> FieldSet:
    """``Set.EnsureNamedFieldsAreMembers``: every struct field on the way to a member is
    a member too (a map's keys are not)."""
    out = set(fields)
    for path in fields:
        cur: TypeRef | None = t
        for i in range(len(path) - 1):
            pe = path[i]
            if cur is None:
                break
            if pe[0] == "f":
                if _declared(cur, pe[1]):
                    out.add(path[: i + 1])
                cur = _field_type(cur, pe[1]) if cur.kind in ("struct", "map") else None
            elif pe[0] == "k":
                cur = _element_type(cur) if cur.kind == "list" else None
            else:
                cur = None
    return out
