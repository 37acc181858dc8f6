"""Output as kubectl prints it: tables, YAML, JSON, names, JSONPath and custom columns.

* Tables go through :class:`TabWriter`, a port of Go's ``text/tabwriter`` (kubectl's
  ``get`` uses minwidth 6, padding 3; ``describe`` uses minwidth 0, padding 2), so column
  widths match kubectl's byte for byte.
* The columns are kube-apiserver's server-side printing columns
  (``pkg/printers/internalversion/printers.go``), AGE in ``duration.HumanDuration`` form.
* ``-o yaml`` follows ``sigs.k8s.io/yaml`` (JSON -> go-yaml v2): keys sorted the way
  go-yaml sorts map keys, strings that would read as another type double-quoted,
  sequences not indented under their key, lines wrapped at 80 columns.
* ``-o json`` follows ``json.MarshalIndent(obj, "", "    ")`` on an unstructured object:
  keys in byte order, HTML characters escaped as ``\\u003c`` and friends.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from servicecidr.api.columns import COLUMNS, cells, event_times, format_labels, human_duration
from servicecidr.api.kinds import KINDS, KindInfo
from servicecidr.cli.errors import CliError
from servicecidr.cli.jsonpath import JSONPath, JSONPathError

__all__ = [
    "OUTPUT_FORMATS",
    "OutputSpec",
    "TabWriter",
    "event_times",
    "format_labels",
    "human_duration",
    "list_object",
    "name_of",
    "parse_output",
    "print_custom_columns",
    "print_jsonpath",
    "table_rows",
    "to_json",
    "to_yaml",
]

Obj = dict[str, Any]

OUTPUT_FORMATS = (
    "custom-columns",
    "json",
    "jsonpath",
    "name",
    "wide",
    "yaml",
)


# --------------------------------------------------------------------------- tabwriter


class TabWriter:
    """Go's ``text/tabwriter`` (no flags): cells are tab-terminated, a column block is a
    run of consecutive lines that have a cell in that column, and every cell of a block is
    padded to ``max(minwidth, widest cell + padding)``. The text after a line's last tab
    is not part of any column and is written as is."""

    def __init__(self, minwidth: int, padding: int) -> None:
        self.minwidth = minwidth
        self.padding = padding
        self._pending: list[str] = []
        self._done: list[str] = []

    def write(self, text: str) -> None:
        """Buffer text; nothing is formatted until :meth:`flush`."""
        self._pending.append(text)

    def flush(self) -> None:
        """Format what is buffered (later text is aligned independently)."""
        if self._pending:
            self._done.append(format_tabbed("".join(self._pending), self.minwidth, self.padding))
            self._pending = []

    def getvalue(self) -> str:
        """Flush and return everything formatted so far."""
        self.flush()
        return "".join(self._done)


def format_tabbed(text: str, minwidth: int, padding: int) -> str:
    """Align tab-separated text exactly as Go's tabwriter.Writer does on Flush."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: list[int] = []
    out: list[str] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts = []
            for j, cell in enumerate(cells):
                if j < len(widths):
                    parts.append(cell + " " * max(0, widths[j] - len(cell)))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)


def render_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows through kubectl's table tabwriter (minwidth 6, padding 3)."""
    w = TabWriter(6, 3)
    for row in rows:
        w.write("\t".join(row) + "\n")
    return w.getvalue()


# --------------------------------------------------------------------------- YAML


def _go_yaml_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys (letters before digits are not
    special; runs of digits compare as numbers)."""
    ar, br = a, b
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdigit():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdigit():
            an = an * 10 + int(ar[ai])
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdigit():
            bn = bn * 10 + int(br[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def _go_yaml_cmp(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
    ka, kb = str(a[0]), str(b[0])
    if ka == kb:
        return 0
    return -1 if _go_yaml_less(ka, kb) else 1


class _GoYamlDumper(yaml.SafeDumper):
    """A dumper whose output reads like go-yaml v2's."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_STR_TAG = "tag:yaml.org,2002:str"
#: YAML 1.1 booleans go-yaml v2 knows and PyYAML's resolver does not.
_GO_YAML_BOOLS = frozenset({"y", "Y", "n", "N"})
_RESOLVER = yaml.resolver.Resolver()


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar(_STR_TAG, data, style="|")
    tag = _RESOLVER.resolve(yaml.ScalarNode, data, (True, False))  # type: ignore[no-untyped-call]
    if data == "" or tag != _STR_TAG or data in _GO_YAML_BOOLS:
        return dumper.represent_scalar(_STR_TAG, data, style='"')
    return dumper.represent_scalar(_STR_TAG, data)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.MappingNode:
    items = sorted(data.items(), key=functools.cmp_to_key(_go_yaml_cmp))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


_GoYamlDumper.add_representer(str, _represent_str)
_GoYamlDumper.add_representer(dict, _represent_dict)


def to_yaml(obj: Any) -> str:
    """An object as ``kubectl -o yaml`` prints it."""
    return yaml.dump(
        obj,
        Dumper=_GoYamlDumper,
        default_flow_style=False,
        allow_unicode=True,
        width=80,
        indent=2,
    )


# --------------------------------------------------------------------------- JSON

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}
_HTML_ESCAPES["\u2029"] = "\\u2029"


def _go_escape(text: str) -> str:
    for ch, rep in _HTML_ESCAPES.items():
        if ch in text:
            text = text.replace(ch, rep)
    return text


def to_json(obj: Any, indent: int | None = 4) -> str:
    """``json.MarshalIndent(obj, "", "    ")`` of an unstructured object (no newline)."""
    if indent is None:
        text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=indent)
    return _go_escape(text)


# --------------------------------------------------------------------------- -o parsing


@dataclass(frozen=True)
class OutputSpec:
    """A parsed ``-o`` value: the format and, for templates, the template."""

    format: str = ""
    template: str = ""

    @property
    def human(self) -> bool:
        """Whether this is a table format (default or wide)."""
        return self.format in ("", "wide")


def parse_output(value: str | None) -> OutputSpec:
    """Parse ``-o``: ``wide``, ``yaml``, ``json``, ``name``, ``jsonpath=TEMPLATE``,
    ``custom-columns=SPEC`` (``-o=json`` is accepted too)."""
    if value is None or value == "":
        return OutputSpec()
    v = value[1:] if value.startswith("=") else value
    fmt, sep, template = v.partition("=")
    if fmt in ("wide", "yaml", "json", "name") and not sep:
        return OutputSpec(fmt)
    if fmt in ("jsonpath", "custom-columns") and sep:
        if not template:
            raise CliError(f"error: {fmt} template format specified but no template given")
        return OutputSpec(fmt, template)
    raise CliError(
        f'error: unable to match a printer suitable for the output format "{v}", '
        f"allowed formats are: {','.join(OUTPUT_FORMATS)}"
    )


# --------------------------------------------------------------------------- names, lists


def info_of(obj: Obj) -> KindInfo | None:
    """The KindInfo of an object by its kind (None for unknown kinds)."""
    kind = obj.get("kind")
    return KINDS.get(kind) if isinstance(kind, str) else None


def kind_string(info: KindInfo) -> str:
    """``service``, ``servicecidr.networking.k8s.io``: how kubectl names a kind in messages."""
    return info.qualified_kind.lower()


def name_of(obj: Obj) -> str:
    """``-o name``: ``servicecidr.networking.k8s.io/newcidr1``, ``service/test-1``."""
    info = info_of(obj)
    meta = obj.get("metadata") or {}
    kind = kind_string(info) if info else str(obj.get("kind", "")).lower()
    return f"{kind}/{meta.get('name', '')}"


def list_object(items: Iterable[Obj]) -> Obj:
    """What kubectl prints for several objects: a ``List``."""
    return {
        "apiVersion": "v1",
        "items": list(items),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def for_output(obj: Obj, show_managed_fields: bool = False) -> Obj:
    """The object as kubectl shows it (managedFields hidden unless asked for)."""
    if show_managed_fields or "managedFields" not in (obj.get("metadata") or {}):
        return obj
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return out


# --------------------------------------------------------------------------- table columns


@dataclass(frozen=True)
class TableSpec:
    """Server-side printing columns of a kind."""

    headers: tuple[str, ...]
    wide_headers: tuple[str, ...]
    row: Callable[[Obj, float, bool], list[str]]
    name_column: int = 0


def _spec(kind: str) -> TableSpec:
    """kubectl's view of kube-apiserver's columns: names upper-cased, priority-1 columns
    only with ``-o wide``; cells printed as text."""
    columns = COLUMNS[kind]
    names = [c.name.upper() for c in columns]
    headers = tuple(n for n, c in zip(names, columns, strict=True) if c.priority == 0)

    def row(o: Obj, now: float, wide: bool) -> list[str]:
        return [str(c) for c in cells(kind, o, now, wide=wide)]

    name_column = next(i for i, c in enumerate(columns) if c.format == "name")
    return TableSpec(headers, tuple(names), row, 0 if name_column == 0 else -1)


TABLES: dict[str, TableSpec] = {kind: _spec(kind) for kind in COLUMNS}


def table_rows(
    kind: str,
    objs: Sequence[Obj],
    now: float,
    *,
    wide: bool = False,
    with_kind: bool = False,
    with_namespace: bool = False,
    show_labels: bool = False,
    headers: bool = True,
) -> list[list[str]]:
    """The rows (header first unless ``headers=False``) kubectl prints for one kind."""
    spec = TABLES[kind]
    info = KINDS[kind]
    head = list(spec.wide_headers if wide else spec.headers)
    rows: list[list[str]] = []
    for o in objs:
        row = spec.row(o, now, wide)
        if with_kind and spec.name_column == 0:
            row[0] = f"{kind_string(info)}/{row[0]}"
        if with_namespace:
            row.insert(0, str((o.get("metadata") or {}).get("namespace", "")))
        if show_labels:
            row.append(format_labels((o.get("metadata") or {}).get("labels")))
        rows.append(row)
    if with_namespace:
        head.insert(0, "NAMESPACE")
    if show_labels:
        head.append("LABELS")
    return [head, *rows] if headers else rows


# --------------------------------------------------------------------------- templates


def _jsonpath(template: str) -> JSONPath:
    try:
        return JSONPath(template)
    except JSONPathError as e:
        raise CliError(f"error: error parsing jsonpath {template}, {e}") from e


def print_jsonpath(template: str, obj: Any) -> str:
    """``-o jsonpath=TEMPLATE`` of an object (or List); missing keys print nothing."""
    jp = _jsonpath(template)
    try:
        return jp.execute(obj)
    except JSONPathError as e:
        raise CliError(f'error: error executing jsonpath "{template}": {e}') from e


def _relaxed(expr: str) -> str:
    """``RelaxedJSONPathExpression``: ``.a.b``, ``a.b`` and ``{.a.b}`` all mean the same."""
    e = expr.strip()
    if e.startswith("{") and e.endswith("}"):
        e = e[1:-1]
    if not e.startswith(".") and not e.startswith("["):
        e = "." + e
    return "{" + e + "}"


def print_custom_columns(spec: str, objs: Sequence[Obj], headers: bool = True) -> str:
    """``-o custom-columns=HEADER:PATH,...``."""
    cols: list[tuple[str, JSONPath]] = []
    for part in spec.split(","):
        head, sep, expr = part.partition(":")
        if not sep or not head:
            raise CliError(
                f"error: unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
            )
        cols.append((head, _jsonpath(_relaxed(expr))))
    rows: list[list[str]] = [[h for h, _ in cols]] if headers else []
    for o in objs:
        row = []
        for _, jp in cols:
            try:
                values = jp.find(o)
            except JSONPathError as e:
                raise CliError(f"error: {e}") from e
            row.append(",".join(jp.text(v) for v in values) if values else "<none>")
        rows.append(row)
    return render_table(rows)
