"""``-l`` label selectors (parsed by :mod:`servicecidr.api.selectors`, worded as kubectl
prints the error) and simple client-side ``--field-selector`` filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from servicecidr.api.selectors import Selector, parse_label_selector
from servicecidr.cli.errors import CliError
from servicecidr.errors import BadRequestError

__all__ = ["Selector", "parse_field_selector", "parse_selector"]


def parse_selector(text: str | None) -> Selector:
    """Parse a ``-l`` label selector; raises CliError with kubectl's wording."""
    try:
        return parse_label_selector(text)
    except BadRequestError as e:
        raise CliError(f"error: {e.message}") from None


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
