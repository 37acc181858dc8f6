"""Kubernetes JSONPath (``k8s.io/client-go/util/jsonpath``), the part kubectl users type.

Supported: literal text around ``{...}`` actions; ``.field`` and ``['field']`` (``\\.``
escapes a dot in a field name); ``[n]``, negative indexes, ``[a:b]``/``[a:b:step]``
slices, ``[a,b]`` unions, ``[*]`` and ``.*``; ``..field`` recursive descent; filters
``[?(@.a == "x")]`` with ``== != < <= > >=`` or a bare existence test; ``{range ...}``
... ``{end}``; quoted literals such as ``{"\\n"}``. Missing keys produce nothing (kubectl's
``--allow-missing-template-keys=true``). Several results of one action are separated by
a space; maps and lists print as compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JSONPath", "JSONPathError"]


class JSONPathError(Exception):
    """The template does not parse, or cannot be evaluated."""


@dataclass
class _Field:
    name: str


@dataclass
class _Wildcard:
    pass


@dataclass
class _Recursive:
    pass


@dataclass
class _Index:
    # each item: int index, or (start, end, step) slice with None for absent parts
    items: list[int | tuple[int | None, int | None, int | None]]


@dataclass
class _Names:
    names: list[str]


@dataclass
class _Filter:
    left: list[Any]
    op: str
    right: Any  # literal value, or ("path", steps, root)
    right_is_path: bool = False
    right_root: str = "@"


Step = _Field | _Wildcard | _Recursive | _Index | _Names | _Filter


@dataclass
class _Path:
    steps: list[Step]
    root: str = "@"  # "$" starts at the document root


@dataclass
class _Text:
    text: str


@dataclass
class _Range:
    path: _Path
    body: list[Any] = field(default_factory=list)


Node = _Text | _Path | _Range


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def error(self, msg: str) -> JSONPathError:
        return JSONPathError(msg)

    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def parse_path(self, stop: str = "") -> _Path:
        path = _Path([])
        self.skip_ws()
        if self.peek() in ("$", "@"):
            path.root = self.peek()
            self.i += 1
        while self.i < len(self.s):
            c = self.peek()
            if stop and c in stop:
                break
            if c in " \t":
                break
            if self.peek(2) == "..":
                self.i += 2
                path.steps.append(_Recursive())
                if self.peek() == "[":
                    continue
                path.steps.append(self._field_or_wildcard())
            elif c == ".":
                self.i += 1
                if (
                    self.i >= len(self.s)
                    or self.peek() in (" ", "}")
                    or (stop and self.peek() in stop)
                ):
                    continue  # "." alone: the current object
                if self.peek() == "[":
                    continue
                path.steps.append(self._field_or_wildcard())
            elif c == "[":
                path.steps.append(self._bracket())
            else:
                # a bare field name (relaxed syntax)
                path.steps.append(self._field_or_wildcard())
        return path

    def _field_or_wildcard(self) -> Step:
        if self.peek() == "*":
            self.i += 1
            return _Wildcard()
        name = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\" and self.i + 1 < len(self.s):
                name.append(self.s[self.i + 1])
                self.i += 2
                continue
            if c in ".[]{}() \t,=!<>?@$'\"":
                break
            name.append(c)
            self.i += 1
        if not name:
            raise self.error(f"invalid field name at position {self.i} in {self.s!r}")
        return _Field("".join(name))

    def _bracket(self) -> Step:
        end = self._matching_bracket(self.i)
        inner = self.s[self.i + 1 : end].strip()
        self.i = end + 1
        if inner == "*":
            return _Wildcard()
        if inner.startswith("?"):
            return self._filter(inner[1:].strip())
        if inner[:1] in ("'", '"'):
            return _Names([_unquote(p.strip()) for p in _split_top(inner, ",")])
        items: list[int | tuple[int | None, int | None, int | None]] = []
        for part in _split_top(inner, ","):
            part = part.strip()
            if ":" in part:
                bits = part.split(":")
                if len(bits) > 3:
                    raise self.error(f"invalid array slice {part!r}")
                nums = [_int_or_none(b, self.error) for b in bits] + [None] * (3 - len(bits))
                items.append((nums[0], nums[1], nums[2]))
            else:
                n = _int_or_none(part, self.error)
                if n is None:
                    raise self.error(f"invalid array index {part!r}")
                items.append(n)
        return _Index(items)

    def _matching_bracket(self, start: int) -> int:
        depth = 0
        quote = ""
        i = start
        while i < len(self.s):
            c = self.s[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in ("'", '"'):
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise self.error(f"unclosed array expect ] in {self.s!r}")

    def _filter(self, expr: str) -> _Filter:
        if not (expr.startswith("(") and expr.endswith(")")):
            raise self.error(f"unclosed filter expression {expr!r}")
        body = expr[1:-1].strip()
        for op in ("==", "!=", "<=", ">=", "<", ">"):
            idx = _find_op(body, op)
            if idx >= 0:
                left = _Parser(body[:idx].strip()).parse_path()
                rtext = body[idx + len(op) :].strip()
                if rtext[:1] in ("@", "$"):
                    right = _Parser(rtext).parse_path()
                    return _Filter(left.steps, op, right.steps, True, right.root)
                return _Filter(left.steps, op, _literal(rtext))
        left = _Parser(body).parse_path()
        return _Filter(left.steps, "exists", None)


def _find_op(body: str, op: str) -> int:
    quote = ""
    i = 0
    while i < len(body):
        c = body[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif body.startswith(op, i):
            if op in ("<", ">") and body[i + 1 : i + 2] == "=":
                i += 1
                continue
            return i
        i += 1
    return -1


def _split_top(text: str, sep: str) -> list[str]:
    parts, cur, quote = [], [], ""
    for c in text:
        if quote:
            cur.append(c)
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
            cur.append(c)
        elif c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in ("'", '"'):
        body = text[1:-1]
        if text[0] == '"':
            try:
                return str(json.loads(text))
            except ValueError:
                return body
        return body.replace("\\'", "'")
    return text


def _int_or_none(text: str, err: Any) -> int | None:
    t = text.strip()
    if not t:
        return None
    try:
        return int(t)
    except ValueError:
        raise err(f"invalid array index {text!r}") from None


def _literal(text: str) -> Any:
    if text[:1] in ("'", '"'):
        return _unquote(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _parse_template(template: str) -> list[Node]:
    nodes: list[Node] = []
    stack: list[list[Node]] = [nodes]
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            stack[-1].append(_Text(template[i:]))
            break
        if start > i:
            stack[-1].append(_Text(template[i:start]))
        end = _action_end(template, start)
        action = template[start + 1 : end].strip()
        i = end + 1
        if action == "end":
            if len(stack) == 1:
                raise JSONPathError("not in range, nothing to end")
            stack.pop()
            continue
        if action.startswith("range ") or action.startswith("range\t"):
            rng = _Range(_Parser(action[5:].strip()).parse_path())
            stack[-1].append(rng)
            stack.append(rng.body)
            continue
        if action[:1] in ("'", '"') and action[-1:] == action[:1] and len(action) >= 2:
            stack[-1].append(_Text(_unquote(action)))
            continue
        if not action:
            continue
        stack[-1].append(_Parser(action).parse_path())
    if len(stack) != 1:
        raise JSONPathError("range without end")
    return nodes


def _action_end(template: str, start: int) -> int:
    quote = ""
    i = start + 1
    while i < len(template):
        c = template[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif c == "}":
            return i
        i += 1
    raise JSONPathError(f"unclosed action in {template!r}")


def _descendants(v: Any) -> list[Any]:
    out = [v]
    if isinstance(v, dict):
        for k in sorted(v):
            out.extend(_descendants(v[k]))
    elif isinstance(v, list):
        for x in v:
            out.extend(_descendants(x))
    return out


def _compare(a: Any, op: str, b: Any) -> bool:
    try:
        if op == "==":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        if op == ">=":
            return bool(a >= b)
    except TypeError:
        return False
    return False


class JSONPath:
    """A parsed template; :meth:`execute` renders it against an object."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.nodes = _parse_template(template)

    def _eval_steps(self, values: list[Any], steps: list[Step], root: Any) -> list[Any]:
        for step in steps:
            nxt: list[Any] = []
            if isinstance(step, _Field):
                for v in values:
                    if isinstance(v, dict) and step.name in v:
                        nxt.append(v[step.name])
            elif isinstance(step, _Names):
                for v in values:
                    if isinstance(v, dict):
                        nxt.extend(v[n] for n in step.names if n in v)
            elif isinstance(step, _Wildcard):
                for v in values:
                    if isinstance(v, dict):
                        nxt.extend(v[k] for k in sorted(v))
                    elif isinstance(v, list):
                        nxt.extend(v)
            elif isinstance(step, _Recursive):
                for v in values:
                    nxt.extend(_descendants(v))
            elif isinstance(step, _Index):
                for v in values:
                    if not isinstance(v, list):
                        continue
                    for item in step.items:
                        if isinstance(item, int):
                            idx = item + len(v) if item < 0 else item
                            if 0 <= idx < len(v):
                                nxt.append(v[idx])
                        else:
                            if item[2] is not None and item[2] <= 0:
                                # client-go evalArray; Python would reverse (or raise)
                                raise JSONPathError("step must be > 0")
                            nxt.extend(v[slice(*item)])
            else:
                for v in values:
                    elems = v if isinstance(v, list) else [v]
                    for e in elems:
                        if self._match(e, step, root):
                            nxt.append(e)
            values = nxt
        return values

    def _match(self, elem: Any, f: _Filter, root: Any) -> bool:
        left = self._eval_steps([elem], f.left, root)
        if f.op == "exists":
            return bool(left)
        if not left:
            return False
        if f.right_is_path:
            start = root if f.right_root == "$" else elem
            right = self._eval_steps([start], f.right, root)
            if not right:
                return False
            rv = right[0]
        else:
            rv = f.right
        return _compare(left[0], f.op, rv)

    def find(self, obj: Any) -> list[Any]:
        """The values of the first action (custom columns use one path per column)."""
        for node in self.nodes:
            if isinstance(node, _Path):
                return self._eval_steps([obj], node.steps, obj)
        return []

    @staticmethod
    def text(value: Any) -> str:
        """How one result prints: strings as is, maps and lists as compact JSON."""
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return ""
        return str(value)

    def _render(self, nodes: list[Node], cur: Any, root: Any) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Path):
                start = root if node.root == "$" else cur
                vals = self._eval_steps([start], node.steps, root)
                out.append(" ".join(self.text(v) for v in vals))
            else:
                start = root if node.path.root == "$" else cur
                for v in self._eval_steps([start], node.path.steps, root):
                    out.append(self._render(node.body, v, root))
        return "".join(out)

    def execute(self, obj: Any) -> str:
        """Render the template against ``obj``."""
        return self._render(self.nodes, obj, obj)
