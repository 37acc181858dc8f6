"""Running a sweep into a directory, and resuming it.

The directory holds (``docs/SWEEPS.md``):

* ``sweep.yaml``: the sweep as expanded (rerun it with ``servicecidr sweep
  DIR/sweep.yaml --out DIR``); ``sweep.json``: its fingerprint and columns;
* ``cells.jsonl``, ``results.csv``, ``results.parquet``: the table (:mod:`.table`);
* ``report.json``, ``report.txt``, ``report.png``: the report (:mod:`.report`);
* ``errors/cell-N.txt``: the traceback of each cell that raised; ``timeseries/cell-N.csv``
  when the sweep asks for time series.

Running a sweep into a directory that holds the same sweep resumes it: the cells in the
journal are kept as they are and only the others run. A directory holding another sweep
is refused (``restart=True`` discards its results). One process at a time writes a
directory (a lock file).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from servicecidr.errors import StateError, StateLockedError
from servicecidr.sweep.engines import Engine, make_engine
from servicecidr.sweep.report import build_report, write_report
from servicecidr.sweep.spec import Sweep
from servicecidr.sweep.table import (
    CSV_NAME,
    JOURNAL_NAME,
    PARQUET_NAME,
    CsvTable,
    Journal,
    ParquetUnavailableError,
    columns,
    write_csv,
    write_parquet,
)

__all__ = ["Progress", "SweepResult", "run_sweep"]

META_NAME = "sweep.json"
SPEC_NAME = "sweep.yaml"
LOCK_NAME = ".lock"
_OURS = (
    META_NAME,
    SPEC_NAME,
    LOCK_NAME,
    JOURNAL_NAME,
    CSV_NAME,
    PARQUET_NAME,
    "report.json",
    "report.txt",
    "report.png",
    "errors",
    "timeseries",
)


@dataclass
class Progress:
    """Where a sweep is: cells done (resumed ones included), running, failed."""

    total: int
    done: int
    running: int
    failed: int
    resumed: int
    elapsed: float

    @property
    def eta(self) -> float | None:
        """Seconds left at this run's pace (None before the first cell finishes)."""
        ran = self.done - self.resumed
        left = self.total - self.done
        if left <= 0:
            return 0.0
        if ran <= 0:
            return None
        return self.elapsed / ran * left


@dataclass
class SweepResult:
    """What :func:`run_sweep` did. ``to_dict()`` is the ``-o json`` summary."""

    out: Path
    sweep: Sweep
    engine: str
    cells: int
    done: int
    failed: int
    resumed: int
    ran: int
    wall_s: float
    interrupted: bool
    files: list[Path]
    report: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every cell has a row."""
        return self.done == self.cells

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary."""
        return {
            "name": self.sweep.name,
            "kind": self.sweep.kind,
            "out": str(self.out),
            "engine": self.engine,
            "cells": self.cells,
            "done": self.done,
            "failed": self.failed,
            "resumed": self.resumed,
            "ran": self.ran,
            "complete": self.complete,
            "interrupted": self.interrupted,
            "wallSeconds": round(self.wall_s, 3),
            "files": [str(p) for p in self.files],
            "notes": self.notes,
            "report": self.report,
        }


def _lock(out: Path) -> IO[str]:
    f = open(out / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 (held for the run)
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise StateLockedError(
            f"sweep: another sweep is writing {out} (its lock file {out / LOCK_NAME} is held)"
        ) from None
    return f


def _prepare(out: Path, sweep: Sweep, restart: bool) -> None:
    """Check that ``out`` is this sweep's directory (or empty), and write its meta."""
    meta_path = out / META_NAME
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StateError(f"sweep: {meta_path} cannot be read ({e})") from e
        same = meta.get("fingerprint") == sweep.fingerprint
        if not same and not restart:
            raise StateError(
                f"sweep: {out} holds another sweep ({meta.get('name')!r}, "
                f"{meta.get('cells')} cells); choose another --out, or --restart to "
                "discard its results"
            )
    else:
        strangers = sorted(
            p.name for p in out.iterdir() if p.name not in _OURS and not p.name.endswith(".tmp")
        )
        if strangers:
            raise StateError(
                f"sweep: {out} is not empty and holds no sweep ({strangers[0]}, ...); "
                "choose an empty or new --out"
            )
    if restart:
        for name in _OURS:
            p = out / name
            if name == LOCK_NAME:
                continue
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    from servicecidr.version import __version__

    meta = {
        "name": sweep.name,
        "kind": sweep.kind,
        "fingerprint": sweep.fingerprint,
        "cells": len(sweep.cells),
        "params": list(sweep.params),
        "columns": [{"name": n, "type": t} for n, t in columns(sweep)],
        "servicecidr": __version__,
    }
    _write_text(meta_path, json.dumps(meta, indent=1) + "\n")
    spec_text = yaml.safe_dump(dict(sweep.spec), sort_keys=False, default_flow_style=False)
    _write_text(out / SPEC_NAME, spec_text)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    engine: str | Engine = "local",
    workers: int | None = None,
    address: str | None = None,
    restart: bool = False,
    progress: Callable[[Progress], None] | None = None,
    parquet_every: float = 10.0,
    png: bool = True,
) -> SweepResult:
    """Run (or resume) ``sweep`` into the directory ``out``.

    ``engine`` is ``"local"``, ``"ray"`` or an :class:`~servicecidr.sweep.engines.Engine`
    (one already started is left running, for the next sweep); ``workers`` sizes a
    local pool (or a local Ray instance), ``address`` names a Ray cluster.
    ``progress`` is called as cells finish; ``parquet_every`` seconds (at most) apart,
    results.parquet is rewritten while the sweep runs. A KeyboardInterrupt stops the
    sweep with what is done kept (``interrupted`` in the result); rerunning resumes it.
    """
    eng = (
        engine
        if isinstance(engine, Engine)
        else make_engine(engine, workers=workers, address=address)
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    close_after = not eng.started
    lock = _lock(out)
    t0 = time.perf_counter()
    notes: list[str] = []
    try:
        _prepare(out, sweep, restart)
        cols = columns(sweep)
        journal = Journal(out / JOURNAL_NAME)
        records, torn = journal.load()
        if torn:
            notes.append(f"cut off a torn last line of {JOURNAL_NAME} ({torn} bytes)")
        rows: dict[int, dict[str, Any]] = {}
        for cell in sweep.cells:
            rec = records.get(cell.index)
            if rec is not None and rec.get("key") == sweep.cell_key(cell):
                rows[cell.index] = rec["row"]
        stale = len(records) - len(rows)
        if stale:
            notes.append(f"{stale} journal line(s) of other cells ignored")
        resumed = len(rows)
        failed = sum(1 for r in rows.values() if r.get("error"))
        table = CsvTable(out / CSV_NAME, cols)
        table.start(rows[i] for i in sorted(rows))
        todo = [(c.index, sweep.task(c)) for c in sweep.cells if c.index not in rows]
        by_index = {c.index: c for c in sweep.cells}
        interrupted = False
        parquet_note: str | None = None
        last_parquet = time.monotonic()

        def tell() -> None:
            if progress is not None:
                progress(
                    Progress(
                        total=len(sweep.cells),
                        done=len(rows),
                        running=min(eng.running, len(sweep.cells) - len(rows)),
                        failed=failed,
                        resumed=resumed,
                        elapsed=time.perf_counter() - t0,
                    )
                )

        tell()
        try:
            if todo:
                eng.start()
                notes.append(f"engine: {eng.describe()}")
                for index, outcome in eng.run(todo):
                    cell = by_index[index]
                    row = dict(sweep.identity(cell))
                    row.update({n: outcome["row"].get(n) for n, _ in cols if n not in row})
                    journal.append({"cell": index, "key": sweep.cell_key(cell), "row": row})
                    rows[index] = row
                    table.append(row)
                    if row.get("error"):
                        failed += 1
                        if outcome.get("traceback"):
                            _side_file(out / "errors", index, "txt", outcome["traceback"])
                    if outcome.get("timeseries"):
                        _side_file(out / "timeseries", index, "csv", outcome["timeseries"])
                    if parquet_note is None and time.monotonic() - last_parquet > parquet_every:
                        parquet_note = _parquet(out, cols, rows)
                        last_parquet = time.monotonic()
                    tell()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if close_after:
                eng.close()
            journal.close()
            table.close()
        ordered = [rows[i] for i in sorted(rows)]
        write_csv(out / CSV_NAME, cols, ordered)
        files = [out / CSV_NAME]
        parquet_note = _parquet(out, cols, rows)
        if parquet_note is None:
            files.append(out / PARQUET_NAME)
        else:
            notes.append(parquet_note)
        report = build_report(sweep, ordered)
        report_files, plot_note = write_report(out, sweep, report, ordered, png=png)
        files += report_files
        if plot_note:
            notes.append(plot_note)
        tell()
        return SweepResult(
            out=out,
            sweep=sweep,
            engine=eng.name,
            cells=len(sweep.cells),
            done=len(rows),
            failed=failed,
            resumed=resumed,
            ran=len(rows) - resumed,
            wall_s=time.perf_counter() - t0,
            interrupted=interrupted,
            files=files,
            report=report,
            notes=notes,
        )
    finally:
        lock.close()


def _side_file(folder: Path, index: int, ext: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    _write_text(folder / f"cell-{index:06d}.{ext}", text)


def _parquet(out: Path, cols: list[tuple[str, str]], rows: dict[int, dict[str, Any]]) -> str | None:
    """Rewrite results.parquet from the rows; the reason when it cannot be written."""
    try:
        write_parquet(out / PARQUET_NAME, cols, [rows[i] for i in sorted(rows)])
    except ParquetUnavailableError as e:
        return str(e)
    return None
