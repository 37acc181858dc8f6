"""``servicecidr sweep``: many simulations, or many histories under many settings, on a
pool of local processes or a Ray cluster, into one table (``docs/SWEEPS.md``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servicecidr.cli.common import IO
    from servicecidr.sweep import Sweep

__all__ = ["add_parser", "run"]

EPILOG = """examples:
  # a laptop: 200 seeds of a preset, with and without the operator, on every local CPU
  servicecidr sweep --preset seed-at-scale --seeds 1-200 --set operator.enabled=true,false \\
      --out runs/operator
  # initial range sizes: when does the range fill without the operator?
  servicecidr sweep --preset seed-at-scale --seeds 1-50 --set operator.enabled=false \\
      --set service_cluster_ip_range.prefix_length=22,23,24 --out runs/sizes
  # a spec file (grid, random samples, histories): see docs/SWEEPS.md
  servicecidr sweep sweep.yaml --out runs/ranges
  # the same on a Ray cluster (pip install 'servicecidr[ray]' here and on the nodes)
  servicecidr sweep sweep.yaml --out runs/ranges --engine ray --address ray://head:10001
  # what-if over recorded histories: each --history is one cluster's audit logs
  servicecidr sweep --history audit/prod-a --history audit/prod-b \\
      --set service_cluster_ip_range=10.96.0.0/24,10.96.0.0/22 --out runs/what-if
  # rerun after a crash or Ctrl-C: finished cells are kept, the others run
  servicecidr sweep sweep.yaml --out runs/ranges

Writes into --out (default ./servicecidr-sweep/<name>):
  results.csv, results.parquet   one row per cell (parquet needs 'servicecidr[parquet]')
  report.txt, report.json        percentiles of the figures, candidates ranked
  report.png                     P(range is full within T), peak utilization (matplotlib)
  cells.jsonl                    the journal a rerun resumes from
  sweep.yaml, sweep.json         the sweep as expanded; errors/cell-N.txt tracebacks

Exit status: 0 every cell ran; 3 the sweep finished but some cells failed (their rows
hold the error); 130 interrupted (rerun to resume); 1 the sweep could not run.
"""


def add_parser(sub: Any) -> None:
    """Register ``sweep`` on the top-level subparsers."""
    p = sub.add_parser(
        "sweep",
        help="run many simulations or what-if replays (grid, seeds, samples) into one table",
        description="Run a sweep: a base (a simulation preset or model, or recorded "
        "histories replayed what-if) times a parameter grid, random samples of ranges "
        "and seeds. Cells run on a pool of local processes (default) or on Ray; rows "
        "stream into DIR/results.csv and DIR/results.parquet as cells finish; a rerun "
        "resumes where a killed sweep stopped.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", nargs="?", metavar="SPEC.yaml", help="a sweep spec (docs/SWEEPS.md)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help="base: a simulation preset")
    src.add_argument("--model", metavar="FILE", help="base: a simulation model file")
    src.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="PATH",
        help="base: one recorded history (a file or folder of logs), replayed what-if "
        "(repeatable: one history each)",
    )
    p.add_argument(
        "--format",
        choices=("audit", "dump", "watch"),
        default="audit",
        help="what --history holds (default audit)",
    )
    p.add_argument("--seeds", metavar="SEEDS", help="1-200, 1,5,9 or 1-10,20-30 (default 1)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a grid axis (repeatable): a model field (operator.threshold, "
        "streams.app.rate, service_cluster_ip_range.prefix_length) or a what-if setting",
    )
    p.add_argument("--duration", metavar="D", help="simulated time of every cell (90m, 6h)")
    p.add_argument("--no-operator", action="store_true", help="simulations without the operator")
    p.add_argument("--timeseries", action="store_true", help="keep each cell's time series")
    p.add_argument("--out", metavar="DIR", help="output directory (see below)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="where cells run")
    p.add_argument("--address", metavar="ADDR", help="a Ray cluster (default: a local instance)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local processes (or a local Ray instance's CPUs); default: every CPU",
    )
    p.add_argument("--restart", action="store_true", help="discard the results already in --out")
    p.add_argument(
        "--dry-run", action="store_true", help="print the cells and columns; run nothing"
    )
    p.add_argument("--no-png", action="store_true", help="do not draw report.png")
    p.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="summary format"
    )


def _sweep(args: argparse.Namespace) -> Sweep:
    import yaml

    from servicecidr.errors import InvalidInputError
    from servicecidr.sweep import parse_set, simple_sweep, sweep_from_dict

    fixed: dict[str, Any] = {}
    if args.duration:
        fixed["duration"] = args.duration
    if args.no_operator:
        fixed["operator.enabled"] = False
    if not args.spec:
        return simple_sweep(
            preset_name=args.preset,
            model_path=args.model,
            histories=args.history,
            fmt=args.format,
            seeds=args.seeds,
            sets=args.set,
            fixed=fixed,
            timeseries=args.timeseries,
        )
    if args.preset or args.model or args.history:
        raise InvalidInputError("sweep: a SPEC file names its base (no --preset/--model/--history)")
    path = Path(args.spec)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInputError(f"sweep: cannot read {path}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise InvalidInputError(f"sweep: {path} is not valid YAML: {e}") from e
    if not isinstance(doc, dict):
        raise InvalidInputError(f"sweep: {path}: expected a mapping")
    # Flags refine a spec: --seeds replaces its seeds, --set adds grid axes.
    if args.seeds:
        doc["seeds"] = args.seeds
    if args.set:
        grid = dict(doc.get("grid") or {})
        for s in args.set:
            k, values = parse_set(s)
            grid[k] = values
        doc["grid"] = grid
    if fixed:
        doc["set"] = {**(doc.get("set") or {}), **fixed}
    if args.timeseries:
        doc["timeseries"] = True
    return sweep_from_dict(doc, path.resolve().parent)


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA -"
    s = int(seconds + 0.5)
    if s >= 3600:
        return f"ETA {s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"ETA {s // 60}m{s % 60:02d}s"
    return f"ETA {s}s"


def run(args: argparse.Namespace, io: IO) -> int:
    """Run ``servicecidr sweep``; returns the exit status."""
    from servicecidr.cli.progress import Progress as Bar
    from servicecidr.errors import ServiceCIDRError
    from servicecidr.sweep import Progress, columns, format_report, run_sweep

    try:
        sweep = _sweep(args)
    except ServiceCIDRError as e:
        io.err.write(f"error: {e}\n")
        return 1
    out = Path(args.out) if args.out else Path("servicecidr-sweep") / sweep.name
    if args.dry_run:
        cols = [n for n, _ in columns(sweep)]
        doc = {
            "name": sweep.name,
            "kind": sweep.kind,
            "cells": len(sweep.cells),
            "parameterSets": len(sweep.variants),
            "seeds": len(sweep.seeds),
            "histories": [h.name for h in sweep.histories],
            "columns": cols,
            "out": str(out),
        }
        if args.output == "json":
            io.out.write(json.dumps(doc, indent=2) + "\n")
        else:
            hist = f" x {len(sweep.histories)} histories" if sweep.histories else ""
            io.out.write(
                f"{sweep.name} ({sweep.kind}): {len(sweep.cells):,} cells = "
                f"{len(sweep.variants)} parameter sets x {len(sweep.seeds)} seeds{hist}\n"
                f"columns: {', '.join(cols)}\nout: {out}\n"
            )
        return 0
    bar = Bar(io.err)
    bar.start(len(sweep.cells), f"sweep {sweep.name}")

    def progress(p: Progress) -> None:
        bar.suffix = f"{p.running} running, {p.failed} failed, {_eta(p.eta)}"
        bar.update(p.done, p.total)

    try:
        result = run_sweep(
            sweep,
            out,
            engine=args.engine,
            workers=args.workers,
            address=args.address,
            restart=args.restart,
            progress=progress,
            png=not args.no_png,
        )
    except ServiceCIDRError as e:
        bar.finish()
        io.err.write(f"error: {e}\n")
        return 1
    except OSError as e:
        bar.finish()
        io.err.write(f"error: cannot write to {out}: {e.strerror or e}\n")
        return 1
    bar.finish()
    for note in result.notes:
        if not note.startswith("engine:"):
            io.err.write(f"note: {note}\n")
    if args.output == "json":
        io.out.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        engine = next((n[8:] for n in result.notes if n.startswith("engine:")), result.engine)
        io.out.write(
            f"sweep {sweep.name}: {result.done:,} of {result.cells:,} cells "
            f"({result.resumed:,} kept from before, {result.ran:,} ran now) in "
            f"{result.wall_s:.1f} s on {engine}; {result.failed:,} failed\n\n"
        )
        io.out.write(format_report(result.report))
        io.out.write("\nfiles: " + " ".join(str(p) for p in result.files) + "\n")
    if result.interrupted:
        io.err.write(f"interrupted: rerun the same command to finish the sweep in {out}\n")
        return 130
    return 3 if result.failed else 0
