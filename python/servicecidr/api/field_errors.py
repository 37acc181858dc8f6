"""Field-level validation errors, printed exactly as kube-apiserver prints them.

This is the Python counterpart of ``k8s.io/apimachinery/pkg/util/validation/field``
(``errors.go``, ``path.go``) and of ``apierrors.NewInvalid``
(``k8s.io/apimachinery/pkg/api/errors/errors.go``):

* :class:`FieldError` renders as ``field.Error.Error()``:
  ``<field>: <ErrorType>[: <bad value>][: <detail>]``;
* bad values render like ``ErrorBody()`` in apimachinery 0.33-0.35: Go ``string`` values with
  ``%q`` quoting, ``int``/``bool`` with ``%v``, everything else (lists, maps, structs, nil,
  named string types) as ``json.Marshal`` output;
* :func:`to_invalid_error` builds the ``Invalid`` (422) error a client receives, with the
  message de-duplicated as ``ErrorList.ToAggregate()`` does and the ``details`` object as
  ``NewInvalid`` fills it.

Go distinguishes a plain ``string`` bad value (printed with ``%q``) from a *named* string
type such as ``core.Protocol`` or ``types.UID`` (printed through ``json.Marshal``). The two
differ only for unusual characters (``<``, ``>``, ``&``, non-printable runes); wrap a value
in :class:`JSONString` to get the JSON rendering.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from servicecidr.errors import InvalidError

__all__ = [
    "FIELD_IMMUTABLE_ERROR_MSG",
    "OMITTED",
    "ErrorType",
    "FieldError",
    "JSONString",
    "Path",
    "aggregate_message",
    "duplicate",
    "forbidden",
    "go_json",
    "go_list",
    "go_quote",
    "immutable",
    "internal_error",
    "invalid",
    "not_found",
    "not_supported",
    "render_value",
    "required",
    "to_invalid_error",
    "too_long",
    "too_long_characters",
    "too_many",
    "type_invalid",
]

FIELD_IMMUTABLE_ERROR_MSG: Final = "field is immutable"
"""``apimachineryvalidation.FieldImmutableErrorMsg``."""


class ErrorType(StrEnum):
    """``field.ErrorType``: the machine-readable cause type (``StatusCause.reason``)."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"

    @property
    def label(self) -> str:
        """``ErrorType.String()``: the human text (``Invalid value``, ``Required value``)."""
        return _LABELS[self]


_LABELS: Final[dict[ErrorType, str]] = {
    ErrorType.NOT_FOUND: "Not found",
    ErrorType.REQUIRED: "Required value",
    ErrorType.DUPLICATE: "Duplicate value",
    ErrorType.INVALID: "Invalid value",
    ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.FORBIDDEN: "Forbidden",
    ErrorType.TOO_LONG: "Too long",
    ErrorType.TOO_MANY: "Too many",
    ErrorType.INTERNAL: "Internal error",
    ErrorType.TYPE_INVALID: "Invalid value",
}

# Types whose body never shows the bad value (errors.go ErrorBody, first case).
_VALUELESS: Final = frozenset(
    {ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG, ErrorType.INTERNAL}
)


class _Omitted:
    """The ``omitValue`` sentinel: the error body shows no value at all."""

    _instance: _Omitted | None = None

    def __new__(cls) -> _Omitted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMITTED"


OMITTED: Final = _Omitted()
"""Bad value that is not printed (``field.TooMany`` with a negative count)."""


class JSONString(str):
    """A string that Go holds in a *named* string type, so ErrorBody renders it as JSON."""

    __slots__ = ()


class Path:
    """``field.Path``: ``spec.ports[0].name``; immutable, each step returns a new Path."""

    __slots__ = ("_s",)

    def __init__(self, *names: str) -> None:
        self._s = ".".join(n for n in names if n)

    @classmethod
    def _raw(cls, s: str) -> Path:
        p = cls()
        p._s = s
        return p

    def child(self, *names: str) -> Path:
        """``fldPath.Child(name, more...)``."""
        s = self._s
        for n in names:
            s = f"{s}.{n}" if s else n
        return Path._raw(s)

    def index(self, i: int) -> Path:
        """``fldPath.Index(i)``: ``name[i]``."""
        return Path._raw(f"{self._s}[{i}]")

    def key(self, k: str) -> Path:
        """``fldPath.Key(k)``: ``name[k]`` (the key is not quoted)."""
        return Path._raw(f"{self._s}[{k}]")

    def __str__(self) -> str:
        return self._s

    def __repr__(self) -> str:
        return f"Path({self._s!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Path):
            return self._s == other._s
        if isinstance(other, str):
            return self._s == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._s)


# --------------------------------------------------------------------------------------
# Go value rendering
# --------------------------------------------------------------------------------------

_GO_CONTROL_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_list(items: list[str]) -> str:
    """Go's ``%v`` of a ``[]string``: ``[a b]``."""
    return "[" + " ".join(items) + "]"


def go_quote(s: str) -> str:
    """``strconv.Quote`` (Go's ``%q``): printable runes kept, others escaped Go-style."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif ch in _GO_CONTROL_ESCAPES:
            out.append(_GO_CONTROL_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")  # not valid UTF-8 in Go: decoded as RuneError
        elif ch.isprintable():
            out.append(ch)
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _go_json_string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    # encoding/json escapes HTML-significant characters and the JS line terminators.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _go_float(f: float) -> str:
    """``strconv.FormatFloat(f, 'g'-like, -1, 64)`` as encoding/json prints floats."""
    if math.isnan(f) or math.isinf(f):
        return "null"
    if f == int(f) and abs(f) < 1e21:
        return str(int(f))
    r = repr(f)
    if "e" in r:
        mant, exp = r.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits.zfill(2)}"
    return r


def go_json(value: Any) -> str:
    """``json.Marshal`` of a value: compact, HTML-escaped; dicts keep insertion order.

    Pass dicts whose keys are already in the order Go would print them (struct field
    order, or sorted keys for Go maps).
    """
    if value is None or value is OMITTED:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, Path):
        return _go_json_string(str(value))
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{_go_json_string(str(k))}:{go_json(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    return _go_json_string(str(value))


def render_value(value: Any) -> str:
    """The bad-value part of ``ErrorBody()`` (without the type label)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, JSONString):
        return _go_json_string(str(value))
    if isinstance(value, str):
        return go_quote(value)
    return go_json(value)


# --------------------------------------------------------------------------------------
# FieldError
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One field-level validation error (``field.Error``).

    Attributes:
        type: the :class:`ErrorType` (``StatusCause.reason``).
        field: the field path as a string (``spec.cidrs[0]``).
        bad_value: the offending value (see the module docstring for how it prints).
        detail: the explanation appended after the value.
    """

    type: ErrorType
    field: str
    bad_value: Any
    detail: str

    def error_body(self) -> str:
        """``ErrorBody()``: the message without the field name (``StatusCause.message``)."""
        if self.type in _VALUELESS or self.bad_value is OMITTED:
            s = self.type.label
        else:
            s = f"{self.type.label}: {render_value(self.bad_value)}"
        if self.detail:
            s += f": {self.detail}"
        return s

    def __str__(self) -> str:
        return f"{self.field}: {self.error_body()}"


def _f(field: Path | str) -> str:
    return str(field)


def required(field: Path | str, detail: str = "") -> FieldError:
    """``field.Required``: ``<field>: Required value[: detail]``."""
    return FieldError(ErrorType.REQUIRED, _f(field), "", detail)


def invalid(field: Path | str, value: Any, detail: str) -> FieldError:
    """``field.Invalid``: ``<field>: Invalid value: <value>: <detail>``."""
    return FieldError(ErrorType.INVALID, _f(field), value, detail)


def type_invalid(field: Path | str, value: Any, detail: str) -> FieldError:
    """``field.TypeInvalid`` (prints as ``Invalid value``)."""
    return FieldError(ErrorType.TYPE_INVALID, _f(field), value, detail)


def not_supported(field: Path | str, value: Any, valid: list[str] | tuple[str, ...]) -> FieldError:
    """``field.NotSupported``: the detail lists the supported values, each ``%q``-quoted."""
    detail = ""
    if valid:
        detail = "supported values: " + ", ".join(go_quote(v) for v in valid)
    return FieldError(ErrorType.NOT_SUPPORTED, _f(field), value, detail)


def forbidden(field: Path | str, detail: str) -> FieldError:
    """``field.Forbidden``: ``<field>: Forbidden: <detail>``."""
    return FieldError(ErrorType.FORBIDDEN, _f(field), "", detail)


def duplicate(field: Path | str, value: Any) -> FieldError:
    """``field.Duplicate``: ``<field>: Duplicate value: <value>``."""
    return FieldError(ErrorType.DUPLICATE, _f(field), value, "")


def not_found(field: Path | str, value: Any) -> FieldError:
    """``field.NotFound``: ``<field>: Not found: <value>``."""
    return FieldError(ErrorType.NOT_FOUND, _f(field), value, "")


def too_many(field: Path | str, actual: int, max: int) -> FieldError:
    """``field.TooMany``: ``<field>: Too many: <actual>: must have at most <max> items``."""
    if max >= 0:
        detail = f"must have at most {max} {'item' if max == 1 else 'items'}"
    else:
        detail = "has too many items"
    value: Any = actual if actual >= 0 else OMITTED
    return FieldError(ErrorType.TOO_MANY, _f(field), value, detail)


def too_long(field: Path | str, value: Any = "", max_length: int = -1) -> FieldError:
    """``field.TooLong``: ``<field>: Too long: may not be more than <n> bytes`` (value unused)."""
    del value
    if max_length >= 0:
        detail = f"may not be more than {max_length} {'byte' if max_length == 1 else 'bytes'}"
    else:
        detail = "value is too long"
    return FieldError(ErrorType.TOO_LONG, _f(field), "<value omitted>", detail)


def too_long_characters(field: Path | str, max_length: int = -1) -> FieldError:
    """``field.TooLongCharacters``: ``may not be more than <n> characters``."""
    if max_length >= 0:
        unit = "character" if max_length == 1 else "characters"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return FieldError(ErrorType.TOO_LONG, _f(field), "<value omitted>", detail)


def internal_error(field: Path | str, message: str) -> FieldError:
    """``field.InternalError``: ``<field>: Internal error: <message>``."""
    return FieldError(ErrorType.INTERNAL, _f(field), None, message)


def immutable(field: Path | str, value: Any) -> FieldError:
    """``ValidateImmutableField`` failure: ``<field>: Invalid value: <v>: field is immutable``."""
    return FieldError(ErrorType.INVALID, _f(field), value, FIELD_IMMUTABLE_ERROR_MSG)


# --------------------------------------------------------------------------------------
# Aggregation and the Invalid StatusError
# --------------------------------------------------------------------------------------


def _dedup(errs: list[FieldError]) -> list[FieldError]:
    seen: set[str] = set()
    out: list[FieldError] = []
    for e in errs:
        msg = str(e)
        if msg not in seen:
            seen.add(msg)
            out.append(e)
    return out


def aggregate_message(errs: list[FieldError]) -> str:
    """``ErrorList.ToAggregate().Error()``: duplicates (same text) dropped; one error prints
    alone, several as ``[e1, e2]``; an empty list gives ``""``."""
    unique = _dedup(errs)
    if not unique:
        return ""
    if len(unique) == 1:
        return str(unique[0])
    return "[" + ", ".join(str(e) for e in unique) + "]"


def to_invalid_error(qualified_kind: str, name: str, errs: list[FieldError]) -> InvalidError:
    """``apierrors.NewInvalid(GroupKind, name, errs)``.

    ``qualified_kind`` is ``GroupKind.String()``: ``Service`` for the core group,
    ``ServiceCIDR.networking.k8s.io`` otherwise (the part before the first dot is the
    kind). The message is ``<qualified_kind> "<name>" is invalid: <aggregate>`` (no
    ``: ...`` tail when ``errs`` is empty). ``details`` mirrors ``metav1.StatusDetails`` as
    serialised to JSON: empty ``name``/``group``/``field`` and an empty ``causes`` list are
    omitted; every error is one cause (not de-duplicated), with ``message`` = ErrorBody().
    """
    kind, _, group = qualified_kind.partition(".")
    agg = aggregate_message(errs)
    quoted = go_quote(name)
    if agg:
        message = f"{qualified_kind} {quoted} is invalid: {agg}"
    else:
        message = f"{qualified_kind} {quoted} is invalid"
    causes: list[dict[str, Any]] = []
    for e in errs:
        cause: dict[str, Any] = {"reason": str(e.type)}
        body = e.error_body()
        if body:
            cause["message"] = body
        if e.field:
            cause["field"] = e.field
        causes.append(cause)
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return InvalidError(message, details=details)
