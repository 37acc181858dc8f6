"""What an object may hold to be stored: exactly what JSON carries, within kube-apiserver's
bounds, so that whatever is stored reads back as it went in.

A request body reaches kube-apiserver as JSON, so it can only hold JSON's values. A
Python caller (or a YAML document) can hand over more; each of these is refused, naming
the field path, before anything is decided:

* map keys that are not strings (``{1: 2}``), values that are not JSON (bytes from a YAML
  ``!!binary``, sets, tuples, other objects);
* strings that are not valid Unicode text (a lone surrogate cannot be encoded as UTF-8);
* floats that are not finite (JSON has no NaN or Infinity);
* integers outside int64: kube-apiserver decodes a JSON integer as an ``int64``
  (``sigs.k8s.io/json``, ``UnmarshalCaseSensitivePreserveInts``) and falls back to a
  float64 beyond that range, which would not read back as the integer that was sent;
* nesting deeper than :data:`MAX_DEPTH` containers (Go's JSON decoder stops at 10,000;
  msgpack, the stored form, at 511; Python's recursion sooner: the objects served here
  nest less than 15 deep);
* a body larger than kube-apiserver's request limit, :data:`MAX_REQUEST_BYTES` (3 MiB,
  ``MaxRequestBodyBytes`` in ``k8s.io/apiserver/pkg/server/config.go``), measured as the
  object's compact JSON encoding: the 413 ``Request entity too large: limit is 3145728``
  of ``limitedReadBody`` (``endpoints/handlers/rest.go``).

Every request body is checked. The walk here (pure Python, like all of ``api``) costs
about a tenth of a Service create, so the engine plugs in a quick pass in Rust
(:func:`use_quick_pass` with ``_core.json_bound``) that answers for the common case,
plain JSON well within the bounds, and leaves everything else to this walk, which names
the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "MAX_REQUEST_BYTES",
    "NotStorable",
    "TooLarge",
    "check",
    "is_text",
    "use_quick_pass",
]

MAX_REQUEST_BYTES: Final = 3 * 1024 * 1024
"""kube-apiserver's MaxRequestBodyBytes."""

MAX_DEPTH: Final = 100
"""Containers (objects and arrays) that may nest in one object, the object itself included."""

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# A lower bound of the compact JSON size grows by at least one byte per value, and the
# encoding is at most this many times the bound (a 20-digit integer counted as 1 byte and
# its comma: 21/2; an escaped control character: 6/1), so a bound below
# MAX_REQUEST_BYTES / _SLACK proves the object small without encoding it.
_SLACK: Final = 16


class NotStorable(Exception):
    """A value JSON cannot carry: ``path`` (``spec.ports[0].name``; empty for the object
    itself) and what is wrong (``problem``)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self._segments: list[str | int] = []  # innermost first, added on the way out

    def within(self, segment: str | int) -> NotStorable:
        """The same problem, one level further out (a map key or a list index)."""
        self._segments.append(segment)
        return self

    @property
    def path(self) -> str:
        """Where the value is, as kube-apiserver names fields (``spec.ports[0].name``)."""
        out = ""
        for seg in reversed(self._segments):
            if isinstance(seg, int):
                out += f"[{seg}]"
            else:
                out += f".{seg}" if out else seg
        return out

    def __str__(self) -> str:
        path = self.path
        return f"{path}: {self.problem}" if path else self.problem


class TooLarge(Exception):
    """The object's JSON encoding is larger than :data:`MAX_REQUEST_BYTES`."""


def _type_name(v: Any) -> str:
    if isinstance(v, bytes | bytearray | memoryview):
        return "bytes (a YAML !!binary value?)"
    return type(v).__name__


def _quote(s: str) -> str:
    """A string as an error may quote it (lone surrogates escaped, long ones cut)."""
    return json.dumps(s if len(s) <= 40 else s[:40] + "...")


def _bad_text(s: str) -> str | None:
    """Why ``s`` cannot be stored as UTF-8 text, or None."""
    if s.isascii():
        return None
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"a lone surrogate {s[e.start]!r} cannot be encoded as UTF-8"
    return None


def is_text(s: str) -> bool:
    """Whether ``s`` can be stored (encoded as UTF-8)."""
    return _bad_text(s) is None


class _Walker:
    """One pass over a value; the path of a refused value is built only on the way out
    of a failure (the common case pays for no path)."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        self.size = 0  # lower bound of the compact JSON encoding so far

    def value(self, v: Any, depth: int) -> None:
        t = type(v)
        if t is str:
            why = _bad_text(v)
            if why is not None:
                raise NotStorable(f"{_quote(v)} is not valid Unicode text ({why})")
            self.size += len(v) + 2
        elif t is dict:
            self.mapping(v, depth)
        elif t is list:
            self.sequence(v, depth)
        elif t is int:
            if not INT64_MIN <= v <= INT64_MAX:
                raise NotStorable(f"the integer {v} is out of range (Kubernetes carries int64)")
            self.size += 1
        elif v is None or t is bool:
            self.size += 4
        elif t is float:
            if not math.isfinite(v):
                raise NotStorable(f"{v!r} is not a JSON number")
            self.size += 1
        elif isinstance(v, str):  # subclasses carry their base type's value
            self.value(str.__str__(v), depth)
        elif isinstance(v, dict):
            self.mapping(v, depth)
        elif isinstance(v, list):
            self.sequence(v, depth)
        elif isinstance(v, int):
            self.value(int(v), depth)
        elif isinstance(v, float):
            self.value(float(v), depth)
        else:
            raise NotStorable(f"a value of type {_type_name(v)} is not a JSON value")
        if self.size > MAX_REQUEST_BYTES:
            raise TooLarge

    def mapping(self, d: dict[Any, Any], depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise NotStorable(f"nested deeper than {MAX_DEPTH} levels")
        self.size += 1 + len(d)
        for k, item in d.items():
            if type(k) is not str:
                if not isinstance(k, str):
                    raise NotStorable(f"the map key {k!r} ({_type_name(k)}) is not a string")
                k = str.__str__(k)
            why = _bad_text(k)
            if why is not None:
                raise NotStorable(f"the map key {_quote(k)} is not valid Unicode text ({why})")
            self.size += len(k) + 3
            try:
                self.value(item, depth + 1)
            except NotStorable as e:
                raise e.within(k) from None

    def sequence(self, items: list[Any], depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise NotStorable(f"nested deeper than {MAX_DEPTH} levels")
        self.size += 1 + len(items)
        for i, item in enumerate(items):
            try:
                self.value(item, depth + 1)
            except NotStorable as e:
                raise e.within(i) from None


QuickPass = Callable[[Any, int, int], "int | None"]
_quick_pass: QuickPass | None = None


def use_quick_pass(quick: QuickPass | None) -> None:
    """Answer plain bodies with ``quick(obj, MAX_DEPTH, MAX_REQUEST_BYTES)``: a lower bound
    of the compact JSON size when ``obj`` is plain JSON within the depth (stopping once
    past the limit), or None to have the walk here judge it. It must give the walk's
    verdicts (tests/fuzz/test_fuzz_api.py holds ``_core.json_bound`` to them)."""
    global _quick_pass
    _quick_pass = quick


def check(obj: Any) -> None:
    """Refuse what JSON cannot carry or kube-apiserver would not accept (see the module
    doc): raises :class:`NotStorable` (with the field path) or :class:`TooLarge`."""
    # A quick pass answers for plain JSON within the bounds; anything else is judged
    # here, field by field.
    quick = _quick_pass
    size = quick(obj, MAX_DEPTH, MAX_REQUEST_BYTES) if quick is not None else None
    if size is None:
        w = _Walker()
        w.value(obj, 0)
        size = w.size
    if size > MAX_REQUEST_BYTES:
        raise TooLarge
    if size * _SLACK > MAX_REQUEST_BYTES:
        # Near the limit: measure exactly (the walk proved the object encodable).
        exact = len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())
        if exact > MAX_REQUEST_BYTES:
            raise TooLarge
