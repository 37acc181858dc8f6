"""``servicecidr simulate`` (seeded workload simulations) and ``servicecidr bench`` (the
repository's benchmark script)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servicecidr.cli.common import IO

__all__ = ["add_bench_parser", "add_parser", "run", "run_bench"]

EPILOG = """presets:
{presets}

examples:
  servicecidr simulate --preset seed-at-scale --seed 1
  servicecidr simulate --preset seed-at-scale --seed 1 --no-operator
  servicecidr simulate --preset burst --duration 90m --out ./burst -o json
  servicecidr simulate --preset dual-stack --show-model > my-model.yaml
  servicecidr simulate --model my-model.yaml --seed 7

Writes into --out (default ./servicecidr-sim/<model>-seed<N>[-no-operator]):
  timeseries.csv, summary.json, model.yaml, timeseries.png  the same for the same seed,
                                                            byte for byte
  latency.json, latency.png                                 wall-clock latencies
"""


def _epilog() -> str:
    from servicecidr.sim.presets import PRESETS

    lines = []
    for name, m in PRESETS.items():
        first = m.description.split(". ")[0].split(": ")[0]
        lines.append(f"  {name:<15} {first}")
    return EPILOG.format(presets="\n".join(lines))


def add_parser(sub: Any) -> None:
    """Register ``simulate`` on the subcommand action of the main parser."""
    p = sub.add_parser(
        "simulate",
        help="run a seeded workload simulation and draw it",
        description="Run a seeded workload (Service arrivals and lifetimes, bursts, "
        "namespaces, IP family policies, an operator who adds ServiceCIDRs) against an "
        "in-memory cluster on a simulated clock; write the time series (CSV), a summary "
        "(JSON) and a drawing (PNG), and print a summary table.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help="a preset model (see below)")
    src.add_argument("--model", metavar="FILE", help="a model file (YAML)")
    p.add_argument(
        "--duration",
        metavar="D",
        help="simulated time to run (90s, 15m, 6h; default: the model's)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    p.add_argument("--out", metavar="DIR", help="output directory (see below)")
    p.add_argument(
        "--no-operator",
        action="store_true",
        help="disable the operator: no ServiceCIDR is added, whatever the utilization",
    )
    p.add_argument("--no-png", action="store_true", help="do not draw the PNGs")
    p.add_argument(
        "--no-latency",
        action="store_true",
        help="do not time operations (no latency.json/latency.png)",
    )
    p.add_argument(
        "--show-model",
        action="store_true",
        help="print the model as YAML (with --duration/--no-operator applied) and exit",
    )
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="summary format (default text)",
    )


def _load(args: argparse.Namespace) -> Any:
    from servicecidr.clock import parse_duration
    from servicecidr.errors import InvalidInputError
    from servicecidr.sim import load_model, preset

    if args.preset:
        model = preset(args.preset)
    elif args.model:
        model = load_model(args.model)
    else:
        raise InvalidInputError("one of --preset NAME or --model FILE is required")
    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ValueError as e:
            raise InvalidInputError(f"--duration: {e}") from e
        if not duration > 0:
            raise InvalidInputError("--duration must be positive")
    return model.with_changes(duration=duration, operator=False if args.no_operator else None)


def run(args: argparse.Namespace, io: IO) -> int:
    """Run ``servicecidr simulate``; returns the exit status."""
    from servicecidr.cli.progress import Progress
    from servicecidr.errors import ServiceCIDRError
    from servicecidr.sim import PRESETS, Simulation, format_summary, model_to_yaml
    from servicecidr.sim.output import summary_dict, write_outputs

    if args.list_presets:
        for name, m in PRESETS.items():
            io.out.write(f"{name}\n  {m.description}\n")
        return 0
    try:
        model = _load(args)
    except ServiceCIDRError as e:
        io.err.write(f"error: {e}\n")
        return 1
    if args.show_model:
        io.out.write(model_to_yaml(model))
        return 0
    out = (
        Path(args.out)
        if args.out
        else Path("servicecidr-sim")
        / (f"{model.name}-seed{args.seed}" + ("" if model.operator.enabled else "-no-operator"))
    )
    sim = Simulation(model, args.seed, record_latency=not args.no_latency)
    bar = Progress(io.err)
    bar.start(max(1, int(model.duration)), f"simulating {model.name}")
    done = [0]

    def progress(t: float) -> None:
        step = int(t) - done[0]
        if step > 0:
            done[0] += step
            bar.advance(step)

    try:
        result = sim.run(progress)
    finally:
        bar.finish()
    try:
        files, note = write_outputs(result, out, png=not args.no_png, latency=not args.no_latency)
    except OSError as e:
        io.err.write(f"error: cannot write to {out}: {e.strerror or e}\n")
        return 1
    if note:
        io.err.write(f"note: {note}\n")
    if args.output == "json":
        doc: dict[str, Any] = summary_dict(result)
        doc["wall_seconds"] = result.wall_seconds
        if result.latency is not None:
            doc["latency"] = {k: v for k, v in result.latency.items() if k != "series"}
        doc["files"] = [str(p) for p in files]
        io.out.write(json.dumps(doc, indent=2) + "\n")
    else:
        io.out.write(format_summary(result, files))
    return 0


# ------------------------------------------------------------------------------- bench


def add_bench_parser(sub: Any) -> None:
    """Register ``bench`` (runs ``bench/run.py`` of a source checkout)."""
    p = sub.add_parser(
        "bench",
        help="run the benchmark tables (from a source checkout)",
        description="Run bench/run.py of the source checkout this package was installed "
        "from (or of the current directory): the allocator and baseline tables, the "
        "10^3..10^6 scale run (PNG and JSON in bench/out/) and one comparison table.",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run with rough figures")


def _bench_script() -> Path | None:
    here = Path(__file__).resolve()
    for root in (here.parents[3], Path.cwd()):
        candidate = root / "bench" / "run.py"
        if candidate.is_file():
            return candidate
    return None


def run_bench(args: argparse.Namespace, io: IO) -> int:
    """Run ``servicecidr bench``; returns the script's exit status."""
    script = _bench_script()
    if script is None:
        io.err.write(
            "error: bench/run.py not found: `servicecidr bench` runs the benchmark script of a "
            "source checkout; run it from the repository (python bench/run.py)\n"
        )
        return 1
    cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
    if io.out is sys.stdout:
        return subprocess.call(cmd)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    io.out.write(proc.stdout)
    io.err.write(proc.stderr)
    return proc.returncode
