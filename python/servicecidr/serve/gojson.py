"""How Go sees a decoded JSON value (``interface{}``): its type, ``==`` and ``fmt``'s ``%v``.

Kubernetes' patch code works on ``map[string]interface{}`` documents and puts ``%v`` of
them into error messages; these helpers let the patch modules compare and print values as
that code does. JSON integers are ``int64`` and other numbers ``float64`` (the decoders
kube-apiserver uses preserve integers).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["go_equal", "go_kind", "go_type", "go_v", "loads_checked"]


def go_type(value: Any) -> str:
    """``reflect.TypeOf(value).String()`` (``%!s(<nil>)`` is what ``%s`` prints for nil)."""
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def go_kind(value: Any) -> str:
    """``reflect.TypeOf(value).Kind().String()``."""
    if value is None:
        return "invalid"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    return go_type(value)


def go_equal(a: Any, b: Any) -> bool:
    """Go's ``==`` on two ``interface{}`` values: equal dynamic types and values.

    Go panics comparing maps or slices; here they compare deeply instead (still
    type-strict), so a hostile patch gets an answer rather than a crash.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(go_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(go_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _float(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` with ``%v``'s exponent threshold of 21."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    assert isinstance(exp, int)
    point = len(text) + exp  # position of the decimal point in the digits
    x = point - 1  # the exponent in d.ddd form
    neg = "-" if sign else ""
    if x < -4 or x >= 21:
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{neg}{text}{'0' * (point - len(text))}"
    return f"{neg}{text[:point]}.{text[point:]}"


def go_v(value: Any) -> str:
    """``fmt.Sprintf("%v", value)``: maps as ``map[k:v ...]`` with sorted keys, slices as
    ``[a b]``, nil as ``<nil>``, strings unquoted."""
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_v(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float(value)
    return str(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def loads_checked(body: bytes | str) -> tuple[Any, list[str]]:
    """Parse JSON and report duplicate keys as sigs.k8s.io/json's strict mode words them
    (``duplicate field "spec.ports[0].name"``). The value keeps the last of duplicate
    keys, as Go's decoder does. Raises ValueError for text that is not JSON."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    # The hook runs bottom-up without paths: note which keys repeat in which object (by
    # identity; the objects live on in the result), then walk the result for the paths.
    repeats: dict[int, tuple[dict[str, Any], list[str]]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        dup: list[str] = []
        for k, v in pairs:
            if k in out:
                dup.append(k)
            out[k] = v
        if dup:
            repeats[id(out)] = (out, dup)  # held, so that no later object reuses the id
        return out

    value = json.loads(text, object_pairs_hook=hook, parse_constant=_no_constant)
    found: list[str] = []
    if repeats:
        stack: list[tuple[Any, str]] = [(value, "")]
        while stack:
            node, path = stack.pop()
            if isinstance(node, dict):
                _, dup = repeats.get(id(node), (node, []))
                found.extend(f"{path}.{k}" if path else k for k in dup)
                stack.extend((v, f"{path}.{k}" if path else k) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
    return value, [f"duplicate field {json.dumps(p)}" for p in sorted(found)]
