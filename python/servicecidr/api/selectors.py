"""Label and field selectors of list and watch requests, shared by the command line and
the HTTP server.

Label selectors (``k8s.io/apimachinery/pkg/labels.Parse``): requirements separated by
commas, each one of ``key``, ``!key``, ``key=value``, ``key==value``, ``key!=value``,
``key in (a,b)``, ``key notin (a,b)``, ``key>N``, ``key<N``. ``!=`` and ``notin`` also
match objects without the key.

Field selectors (``k8s.io/apimachinery/pkg/fields.ParseSelector``): terms separated by
unescaped commas, each ``field=value``, ``field==value`` or ``field!=value``, the value
unescaped (``\\,``, ``\\=``, ``\\\\``). Which fields a kind can be selected on is the
server's business (:mod:`servicecidr.serve.selectors`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from servicecidr.errors import BadRequestError

__all__ = [
    "FieldSelector",
    "FieldTerm",
    "Selector",
    "parse_field_selector",
    "parse_label_selector",
]

_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[A-Za-z0-9._/\-]+)")
_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._\-]*[A-Za-z0-9])?)?$")

Requirement = Callable[[Mapping[str, str]], bool]


class Selector:
    """A parsed selector: ``matches(labels)`` is the conjunction of its requirements."""

    def __init__(self, text: str, requirements: list[Requirement]) -> None:
        self.text = text
        self.requirements = requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether a label set satisfies every requirement."""
        lab = labels or {}
        return all(r(lab) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """A selector with no requirements matches everything."""
        return not self.requirements


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise BadRequestError(
                f"unable to parse requirement: invalid character {text[pos:].strip()[0]!r} "
                f"in selector {text!r}"
            )
        out.append(m.group(1))
        pos = m.end()
    return out


def _bad(msg: str) -> BadRequestError:
    return BadRequestError(f"unable to parse requirement: {msg}")


def _check_value(v: str) -> str:
    if len(v) > 63 or not _VALUE.match(v):
        raise _bad(
            f'values[0][value]: Invalid value: "{v}": a valid label must be an empty string or '
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )
    return v


def parse_label_selector(text: str | None) -> Selector:
    """Parse a label selector (``labels.Parse``); raises BadRequestError
    (``unable to parse requirement: ...``)."""
    if not text or not text.strip():
        return Selector(text or "", [])
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def expect_key() -> str:
        nonlocal i
        if i >= len(toks) or toks[i] in ("==", "!=", "=", "!", "(", ")", ",", ">", "<"):
            found = toks[i] if i < len(toks) else ""
            raise _bad(f"found '{found}', expected: identifier")
        key = toks[i]
        i += 1
        return key

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            key = expect_key()
            reqs.append(_req(key, "!", frozenset()))
        else:
            key = expect_key()
            op = toks[i] if i < len(toks) else ","
            if op == ",":
                reqs.append(_req(key, "exists", frozenset()))
            elif op in ("=", "==", "!="):
                i += 1
                val = ""
                if i < len(toks) and toks[i] not in (",", "(", ")", "=", "==", "!=", "!"):
                    val = _check_value(toks[i])
                    i += 1
                reqs.append(_req(key, "notin" if op == "!=" else "in", frozenset({val})))
            elif op in ("in", "notin"):
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    found = toks[i] if i < len(toks) else ""
                    raise _bad(f"found '{found}', expected: '('")
                i += 1
                values: set[str] = set()
                while i < len(toks) and toks[i] != ")":
                    if toks[i] != ",":
                        values.add(_check_value(toks[i]))
                    i += 1
                if i >= len(toks):
                    raise _bad("found '', expected: ')'")
                i += 1
                reqs.append(_req(key, op, frozenset(values)))
            elif op in (">", "<"):
                i += 1
                if i >= len(toks):
                    raise _bad("found '', expected: integer")
                try:
                    bound = int(toks[i])
                except ValueError:
                    raise _bad("for 'Gt', 'Lt' operators, the value must be an integer") from None
                i += 1
                reqs.append(_numeric(key, op, bound))
            else:
                raise _bad(f"found '{op}', expected: '=', '!=', '==', 'in', notin'")
        if i < len(toks):
            if toks[i] != ",":
                raise _bad(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
            if i >= len(toks):
                raise _bad("found '', expected: identifier")
    return Selector(text, reqs)


def _req(key: str, op: str, values: frozenset[str]) -> Requirement:
    def req(lab: Mapping[str, str]) -> bool:
        if op == "!":
            return key not in lab
        if op == "exists":
            return key in lab
        if op == "in":
            return lab.get(key) in values
        return lab.get(key) not in values

    return req


def _numeric(key: str, op: str, bound: int) -> Requirement:
    def req(lab: Mapping[str, str]) -> bool:
        v = lab.get(key)
        if v is None:
            return False
        try:
            n = int(v)
        except ValueError:
            return False
        return n > bound if op == ">" else n < bound

    return req


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldTerm:
    """One term of a field selector: ``field``, ``op`` (``=`` or ``!=``), ``value``."""

    field: str
    op: str
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        """``hasTerm``/``notHasTerm``: a missing field reads as the empty string."""
        got = fields.get(self.field, "")
        return got == self.value if self.op == "=" else got != self.value


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: the conjunction of its terms (sorted as Go sorts them)."""

    terms: tuple[FieldTerm, ...]

    @property
    def empty(self) -> bool:
        """An empty selector matches everything."""
        return not self.terms

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object's selectable fields satisfy every term."""
        return all(t.matches(fields) for t in self.terms)

    def transform(self, fn: Callable[[str, str], tuple[str, str]]) -> FieldSelector:
        """``Selector.Transform``: rename fields (and values) term by term; ``fn`` raises
        for a field it does not support."""
        out = []
        for t in self.terms:
            field, value = fn(t.field, t.value)
            out.append(FieldTerm(field, t.op, value))
        return FieldSelector(tuple(out))


def _split_terms(text: str) -> list[str]:
    """``splitTerms``: commas not preceded by a backslash separate terms."""
    terms: list[str] = []
    start = 0
    in_slash = False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """``splitTerm``: the first ``!=``, ``==`` or ``=`` splits (no spaces trimmed)."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(value: str) -> str:
    """``UnescapeValue``."""
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c not in "\\,=":
                raise BadRequestError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            raise BadRequestError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise BadRequestError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse a field selector (``fields.ParseSelector``); raises BadRequestError with
    apimachinery's wording (``invalid selector: 'x'; can't understand 'x'``)."""
    if not text:
        return FieldSelector(())
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise BadRequestError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        terms.append(FieldTerm(lhs, "!=" if op == "!=" else "=", _unescape(rhs)))
    return FieldSelector(tuple(terms))
