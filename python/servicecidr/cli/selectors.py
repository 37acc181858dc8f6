"""Label selectors (``k8s.io/apimachinery/pkg/labels.Parse``) and simple field selectors.

Label selector syntax: requirements separated by commas, each one of ``key``, ``!key``,
``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)``, ``key notin (a,b)``,
``key>N``, ``key<N``. ``!=`` and ``notin`` also match objects without the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from servicecidr.cli.errors import CliError

__all__ = ["Selector", "parse_field_selector", "parse_selector"]

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
            raise CliError(
                f"error: unable to parse requirement: invalid character {text[pos:].strip()[0]!r} "
                f"in selector {text!r}"
            )
        out.append(m.group(1))
        pos = m.end()
    return out


def _bad(msg: str) -> CliError:
    return CliError(f"error: unable to parse requirement: {msg}")


def _check_value(v: str) -> str:
    if len(v) > 63 or not _VALUE.match(v):
        raise _bad(
            f'values[0][value]: Invalid value: "{v}": a valid label must be an empty string or '
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )
    return v


def parse_selector(text: str | None) -> Selector:
    """Parse a ``-l`` label selector; raises CliError with kubectl's wording."""
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


def _field_check(path: str, negate: bool, value: str) -> Callable[[dict[str, Any]], bool]:
    def check(obj: dict[str, Any]) -> bool:
        cur: Any = obj
        for seg in path.split("."):
            cur = cur.get(seg) if isinstance(cur, dict) else None
        got = "" if cur is None else str(cur)
        return (got != value) if negate else (got == value)

    return check


def parse_field_selector(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """``--field-selector``: ``metadata.name=x``, ``metadata.namespace!=y`` (comma-joined)."""
    if not text:
        return lambda obj: True
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*", part)
        if not m:
            raise CliError(f"error: invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = m.groups()

        checks.append(_field_check(path, op == "!=", value))
    return lambda obj: all(c(obj) for c in checks)
