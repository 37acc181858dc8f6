"""Sweeps: many simulations, or many histories under many settings, run across a pool of
workers (local processes or a Ray cluster) into one table.

A sweep is a base (a simulation preset or model file, or a set of history files with
what-if settings) times parameter sets (a grid, random samples of ranges, or both) times
seeds. Each cell runs in a worker and returns its figures; rows stream into
``results.csv`` and ``results.parquet`` as cells finish, one row per cell; a killed sweep
resumes where it stopped; a cell that raises is a row with its error. See
``docs/SWEEPS.md``.

Example::

    from servicecidr.sweep import load_sweep, run_sweep, simple_sweep
    sweep = simple_sweep(preset_name="seed-at-scale", seeds="1-200",
                         sets=["operator.enabled=false"])
    result = run_sweep(sweep, "out/sweep", engine="local")    # or engine="ray"
    result.report["ranking"][0]

It uses only the public API of :mod:`servicecidr.sim` and
:func:`servicecidr.importers.import_what_if`.
"""

from servicecidr.sweep.cells import FIGURES, run_cell
from servicecidr.sweep.engines import (
    ENGINES,
    WORKER_DIED,
    Engine,
    LocalEngine,
    RayEngine,
    default_workers,
    make_engine,
)
from servicecidr.sweep.report import build_report, format_report
from servicecidr.sweep.runner import Progress, SweepResult, run_sweep
from servicecidr.sweep.spec import (
    SIMULATION,
    WHAT_IF,
    Cell,
    History,
    Sweep,
    Variant,
    load_sweep,
    parse_seeds,
    parse_set,
    simple_sweep,
    sweep_from_dict,
)
from servicecidr.sweep.table import (
    NONDETERMINISTIC_COLUMNS,
    columns,
    compare_tables,
    read_csv_rows,
)

__all__ = [
    "ENGINES",
    "FIGURES",
    "NONDETERMINISTIC_COLUMNS",
    "SIMULATION",
    "WHAT_IF",
    "WORKER_DIED",
    "Cell",
    "Engine",
    "History",
    "LocalEngine",
    "Progress",
    "RayEngine",
    "Sweep",
    "SweepResult",
    "Variant",
    "build_report",
    "columns",
    "compare_tables",
    "default_workers",
    "format_report",
    "load_sweep",
    "make_engine",
    "parse_seeds",
    "parse_set",
    "read_csv_rows",
    "run_cell",
    "run_sweep",
    "simple_sweep",
    "sweep_from_dict",
]
