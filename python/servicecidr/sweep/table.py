"""The sweep's table on disk: the journal that makes a sweep resumable, and the CSV and
Parquet files written from it.

* ``cells.jsonl``: one JSON line per finished cell (its row, and a digest of what it
  ran), appended and fsync'ed as each cell finishes. It is the record a resumed sweep
  reads: a cell with a line is not run again. A kill can tear only the last line; it is
  cut off on the next start (that cell runs again).
* ``results.csv``: the table as text, a row appended as each cell finishes (so a reader
  can follow a long sweep), rewritten sorted by ``cell`` when the sweep ends.
* ``results.parquet``: the same table, typed, rewritten atomically from the journal every
  few seconds while the sweep runs and, sorted by ``cell``, at its end. Needs pyarrow
  (``pip install 'servicecidr[parquet]'``); without it the CSV is the table.

Every value but ``wall_s`` is a function of the cell, so the same sweep run on any engine
writes the same table, byte for byte, once ``wall_s`` is dropped
(:data:`NONDETERMINISTIC_COLUMNS`, :func:`compare_tables`).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from servicecidr.errors import StateError
from servicecidr.sweep.cells import FIGURES
from servicecidr.sweep.spec import WHAT_IF, Sweep, param_text

__all__ = [
    "CSV_NAME",
    "JOURNAL_NAME",
    "NONDETERMINISTIC_COLUMNS",
    "PARQUET_HINT",
    "PARQUET_NAME",
    "Column",
    "CsvTable",
    "Journal",
    "ParquetUnavailableError",
    "columns",
    "compare_tables",
    "format_value",
    "read_csv_rows",
    "write_csv",
    "write_parquet",
]

JOURNAL_NAME = "cells.jsonl"
CSV_NAME = "results.csv"
PARQUET_NAME = "results.parquet"
#: Columns that differ between two runs of the same cell: the comparison of two tables
#: drops these and nothing else.
NONDETERMINISTIC_COLUMNS = ("wall_s",)
PARQUET_HINT = (
    "results.parquet needs pyarrow: pip install 'servicecidr[parquet]' "
    "(or pyarrow==26.0.1); results.csv holds the same table"
)

Column = tuple[str, str]  # (name, type: int | float | str | bool)

_FIGURE_TYPES = {
    "range_full": "bool",
    "first_range_full_event": "str",
    "first_range_full_s": "float",
    "first_range_full_at": "str",
    "range_full_failures": "int",
    "failures": "int",
    "service_cidrs_added": "int",
    "service_cidrs_final": "int",
    "peak_utilization_initial": "float",
    "peak_utilization_max": "float",
    "peak_utilization": "str",
    "creates": "int",
    "deletes": "int",
    "services_final": "int",
    "digest": "str",
    "replayed": "int",
    "succeeded": "int",
}


class ParquetUnavailableError(RuntimeError):
    """pyarrow is not installed."""


def _param_type(values: Iterable[Any]) -> str:
    vals = list(values)
    if all(isinstance(v, bool) for v in vals):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        return "float"
    return "str"


def columns(sweep: Sweep) -> list[Column]:
    """The table's columns, in order: ``cell``, ``history`` (what-if), the parameters,
    ``seed``, the figures, ``wall_s``, ``error``."""
    cols: list[Column] = [("cell", "int")]
    if sweep.kind == WHAT_IF:
        cols.append(("history", "str"))
    for i, name in enumerate(sweep.params):
        cols.append((name, _param_type(v.params[i][1] for v in sweep.variants)))
    cols.append(("seed", "int"))
    cols += [(f, _FIGURE_TYPES[f]) for f in FIGURES[sweep.kind]]
    cols += [("wall_s", "float"), ("error", "str")]
    return cols


def typed(value: Any, kind: str) -> Any:
    """``value`` as the column's type (None stays None)."""
    if value is None:
        return None
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    return param_text(value)


def format_value(value: Any, kind: str) -> str:
    """A value as CSV text: empty for None, ``true``/``false``, the shortest float that
    reads back the same (``repr``)."""
    v = typed(value, kind)
    if v is None:
        return ""
    if kind == "bool":
        return "true" if v else "false"
    if kind == "float":
        return repr(v)
    return str(v)


# ------------------------------------------------------------------------- the journal


class Journal:
    """``cells.jsonl``: the finished cells, one line each, durable once appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: Any = None

    def load(self) -> tuple[dict[int, dict[str, Any]], int]:
        """(the records by cell, bytes of a torn last line that were cut off)."""
        out: dict[int, dict[str, Any]] = {}
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return out, 0
        good = data.rfind(b"\n") + 1
        torn = len(data) - good
        lines = data[:good].split(b"\n")[:-1]
        for n, line in enumerate(lines, 1):
            try:
                rec = json.loads(line)
                cell = int(rec["cell"])
                if not isinstance(rec.get("row"), dict):
                    raise ValueError("no row")
            except (ValueError, KeyError, TypeError) as e:
                if n == len(lines) and torn == 0:
                    # The last line may be whole but cut mid-value by a crash.
                    torn = len(line) + 1
                    good -= torn
                    break
                raise StateError(
                    f"{self.path}:{n}: not a journal record ({e}); remove the line (that "
                    "cell runs again) or rerun with --restart"
                ) from e
            out[cell] = rec
        if torn:
            with open(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        return out, torn

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record and make it durable (flush and fsync)."""
        if self._f is None:
            self._f = open(self.path, "ab")  # noqa: SIM115 (kept open between appends)
        line = json.dumps(record, separators=(",", ":"), sort_keys=False) + "\n"
        self._f.write(line.encode())
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        """Close the file."""
        if self._f is not None:
            self._f.close()
            self._f = None


# ------------------------------------------------------------------------- CSV


def _csv_line(cols: Sequence[Column], row: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(
        [format_value(row.get(name), kind) for name, kind in cols]
    )
    return buf.getvalue()


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_csv(path: Path, cols: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write the table (atomically: a reader sees the old file or the new one)."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([n for n, _ in cols])
    text = header.getvalue() + "".join(_csv_line(cols, r) for r in rows)
    _replace(path, text.encode())


class CsvTable:
    """``results.csv`` while the sweep runs: rows appended as cells finish."""

    def __init__(self, path: Path, cols: Sequence[Column]) -> None:
        self.path = path
        self.cols = list(cols)
        self._f: TextIO | None = None

    def start(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rewrite the file with the rows already done, then append from there."""
        write_csv(self.path, self.cols, rows)
        self._f = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row (flushed, so a reader following the file sees it)."""
        assert self._f is not None
        self._f.write(_csv_line(self.cols, row))
        self._f.flush()

    def close(self) -> None:
        """Close the file."""
        if self._f is not None:
            self._f.close()
            self._f = None


def read_csv_rows(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a results.csv, as text."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        return header, list(reader)


# ------------------------------------------------------------------------- Parquet


def write_parquet(path: Path, cols: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write the table as Parquet, typed (atomically). Raises ParquetUnavailableError
    without pyarrow."""
    try:
        pa: Any = importlib.import_module("pyarrow")
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError as e:
        raise ParquetUnavailableError(PARQUET_HINT) from e
    types = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}
    schema = pa.schema([pa.field(name, types[kind]) for name, kind in cols])
    arrays = [
        pa.array([typed(r.get(name), kind) for r in rows], type=types[kind]) for name, kind in cols
    ]
    table = pa.Table.from_arrays(arrays, schema=schema)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, str(tmp))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ------------------------------------------------------------------------- comparing


def _deterministic_csv(path: Path, drop: Sequence[str]) -> list[list[str]]:
    header, rows = read_csv_rows(path)
    keep = [i for i, name in enumerate(header) if name not in drop]
    if "cell" in header:
        ci = header.index("cell")
        rows = sorted(rows, key=lambda r: int(r[ci]))
    return [[header[i] for i in keep]] + [[r[i] for i in keep] for r in rows]


def compare_tables(
    a: str | Path, b: str | Path, drop: Sequence[str] = NONDETERMINISTIC_COLUMNS
) -> list[str]:
    """Differences between the tables of two sweep directories, sorted by cell, with the
    ``drop`` columns left out (the wall time by default): ``[]`` when they are the same,
    byte for byte in CSV and value for value in Parquet (when both have one)."""
    da, db = Path(a), Path(b)
    diffs: list[str] = []
    ta = _deterministic_csv(da / CSV_NAME, drop)
    tb = _deterministic_csv(db / CSV_NAME, drop)
    if ta[0] != tb[0]:
        diffs.append(f"columns differ: {ta[0]} vs {tb[0]}")
    if len(ta) != len(tb):
        diffs.append(f"{len(ta) - 1} rows vs {len(tb) - 1}")
    for ra, rb in zip(ta[1:], tb[1:], strict=False):
        if ra != rb:
            cols = [ta[0][i] for i in range(min(len(ra), len(rb))) if ra[i] != rb[i]]
            diffs.append(f"cell {ra[0]}: {', '.join(cols)} differ")
            if len(diffs) > 20:
                break
    pa_path, pb_path = da / PARQUET_NAME, db / PARQUET_NAME
    if not diffs and pa_path.exists() and pb_path.exists():
        try:
            pq: Any = importlib.import_module("pyarrow.parquet")
        except ImportError:
            return diffs
        x = pq.read_table(str(pa_path))
        y = pq.read_table(str(pb_path))
        x = x.drop_columns([c for c in drop if c in x.column_names]).sort_by("cell")
        y = y.drop_columns([c for c in drop if c in y.column_names]).sort_by("cell")
        if not x.equals(y):
            diffs.append("the Parquet tables differ")
    return diffs
