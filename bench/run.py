"""Run every benchmark, each part in its own process, and print one comparison table.

Usage: python bench/run.py [--quick] [--out DIR] [--all] [--skip NAME[,NAME]]

Parts, in order (figures and drawings go to --out, default bench/out/):

1. ``allocator_table.py``: release + allocate_next churn, Rust (text, integer and buffer
   batch calls) against the random-probing baseline, and the memory of a million IPv6
   allocations;
2. the comparison (this file, ``--part compare``): allocation throughput at several fills
   of a /16 and a /12 for every implementation, measured in this run: the pure-Python
   allocator a user would write (a set of used integers with the Kubernetes scan), the
   same set with random probing, a pyroaring BitMap with the Kubernetes scan, the Rust
   core called once per address and batched (the upper bound), and, in the /16, the whole
   engine (Service delete + create through ``Cluster``) -> ``compare.json``;
3. ``scale.py``: how Service create throughput and memory per Service grow from 10^3 to
   10^6 Services, beside the allocators -> ``scale.json``, ``scale.png``;
4. the simulations (``--part sim``): every preset of ``servicecidr simulate`` once, wall
   time and operations per second -> ``sim.json`` and each run's files;
5. the table scripts of the later layers, each beside its own baseline: ``log_table``,
   ``bench_admission``, ``import_table``, ``create_table`` (Service creates through
   ``Cluster.create`` and ``create_many`` beside the minimal pure-Python loop),
   ``serve_table``, ``sweep_table`` (``--skip`` leaves any of them out: a full sweep
   table alone takes most of an hour on 2 cores);
6. with ``--all``, ``cluster_table.py`` too (10^4..10^6 Services; scale.py covers it).

Then the comparison table, the scale and simulation lines, the goals of the issues met or
missed in this run (``goals.py``: printed, never a failure), and ``run.json`` with every
figure and the machine they were measured on.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

COMPARE_CIDRS = ["10.0.0.0/16", "10.0.0.0/12"]
COMPARE_FILLS = [0.0, 0.5, 0.9, 0.99, 0.999]
ENGINE_CIDR = "10.0.0.0/16"
SEED = 20240611
IMPLS = [
    # (key, column title)
    ("python-set-scan", "set+k8s scan"),
    ("python-set-probe", "set+probe"),
    ("pyroaring", "pyroaring"),
    ("rust-single", "Rust"),
    ("rust-batched", "Rust batched"),
    ("engine", "engine"),
]


# ------------------------------------------------------------------------- the comparison


def _churn(
    held: list[int],
    to_text: Callable[[int], str],
    to_int: Callable[[str], int],
    step: Callable[[list[str]], list[str]],
    batch: int,
    budget_s: float,
    min_rounds: int = 3,
    max_rounds: int = 40,
) -> float:
    """Median ns per (release + allocate) pair over rounds of victims, until ``budget_s``
    of measured time (at least ``min_rounds``, at most ``max_rounds`` rounds). An untimed
    round of 10 first sizes the rounds (at most ``batch``) so that a slow implementation
    still gets its rounds."""

    def one(j: int, b: int) -> float:
        victims = [to_text(n) for n in held[j : j + b]]
        t0 = time.perf_counter_ns()
        new = step(victims)
        dt = time.perf_counter_ns() - t0
        held[j : j + b] = [to_int(ip) for ip in new]
        return dt / b

    per = one(0, 10)
    batch = max(10, min(batch, int(budget_s / (min_rounds + 1) * 1e9 / per)))
    samples: list[float] = []
    spent = 0.0
    r = 1
    while len(samples) < min_rounds or (spent < budget_s and len(samples) < max_rounds):
        j = (r * batch) % (len(held) - batch + 1)
        r += 1
        ns = one(j, batch)
        samples.append(ns)
        spent += ns * batch / 1e9
    return statistics.median(samples)


def _one_by_one(a: Any) -> Callable[[list[str]], list[str]]:
    release, allocate_next = a.release, a.allocate_next

    def step(victims: list[str]) -> list[str]:
        out = []
        for ip in victims:
            release(ip)
            out.append(allocate_next())
        return out

    return step


def _batched(a: Any) -> Callable[[list[str]], list[str]]:
    def step(victims: list[str]) -> list[str]:
        a.release_many(victims)
        return a.allocate_next_many(len(victims))  # type: ignore[no-any-return]

    return step


class _Engine:
    """A Cluster whose Services fill ``cidr``; a step deletes the Services holding the
    victims and creates as many new ones (the whole engine: validation, allocation,
    IPAddress objects, events)."""

    def __init__(self, cidr: str) -> None:
        from servicecidr import Cluster, SimulatedClock

        self.c = Cluster(None, seed=SEED, clock=SimulatedClock())
        self.c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": "bench"},
                "spec": {"cidrs": [cidr]},
            }
        )
        self.by_ip: dict[str, str] = {}
        self.n = 0

    def create(self) -> str:
        self.n += 1
        name = f"s-{self.n}"
        svc = self.c.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name},
                "spec": {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
                         "ports": [{"port": 80, "protocol": "TCP"}]},
            }
        )  # fmt: skip
        ip: str = svc["spec"]["clusterIP"]
        self.by_ip[ip] = name
        return ip

    def fill_to(self, n: int) -> list[str]:
        while len(self.by_ip) < n:
            self.create()
        return list(self.by_ip)

    def step(self, victims: list[str]) -> list[str]:
        out = []
        for ip in victims:
            self.c.delete("Service", self.by_ip.pop(ip))
            out.append(self.create())
        return out


def compare(quick: bool) -> dict[str, Any]:
    """Measure every implementation at every (range, fill)."""
    import ipaddress
    import socket

    from baselines import BASELINES, roaring_available
    from servicecidr._core import CidrAllocator

    def to_int(ip: str) -> int:
        return int.from_bytes(socket.inet_aton(ip), "big")

    def to_text(n: int) -> str:
        return socket.inet_ntoa(n.to_bytes(4, "big"))

    budget = 0.15 if quick else 0.6
    cidrs = COMPARE_CIDRS[:1] if quick else COMPARE_CIDRS
    have_roaring = roaring_available()
    rows: list[dict[str, Any]] = []
    engine: _Engine | None = None
    print("allocation churn (release + allocate_next), ns per allocation; median of rounds")
    for cidr in cidrs:
        size = ipaddress.ip_network(cidr).num_addresses - 2
        for fill in COMPARE_FILLS:
            gc.collect()
            gc.disable()
            n_fill = max(int(size * fill), 2000)
            batch = 1000
            rust = CidrAllocator(cidr, seed=SEED)
            held = [to_int(ip) for ip in rust.allocate_next_many(n_fill)]
            random.Random(SEED).shuffle(held)
            cell: dict[str, Any] = {"cidr": cidr, "fill": fill, "size": size, "ns": {}}
            for key, _title in IMPLS:
                t_cell = time.perf_counter()
                if key == "rust-single":
                    ns = _churn(held, to_text, to_int, _one_by_one(rust), batch, budget)
                elif key == "rust-batched":
                    ns = _churn(held, to_text, to_int, _batched(rust), batch, budget)
                elif key == "engine":
                    if cidr != ENGINE_CIDR:
                        continue
                    gc.enable()
                    if engine is None:
                        engine = _Engine(cidr)
                    eheld = [to_int(ip) for ip in engine.fill_to(n_fill)]
                    random.Random(SEED).shuffle(eheld)
                    ns = _churn(eheld, to_text, to_int, engine.step, 200, budget)
                    gc.disable()
                else:
                    if key == "pyroaring" and not have_roaring:
                        continue
                    impl = BASELINES[key](cidr, seed=SEED)
                    impl.load_ints(held)
                    ns = _churn(held, to_text, to_int, _one_by_one(impl), batch, budget)
                    assert impl.used == rust.used, f"{key} must churn at the same fill"
                cell["ns"][key] = ns
                cell.setdefault("seconds", {})[key] = time.perf_counter() - t_cell
            gc.enable()
            rows.append(cell)
            shown = "  ".join(f"{k} {v:,.0f}" for k, v in cell["ns"].items())
            print(f"  {cidr:<13} {fill:>6.1%}  {shown}", flush=True)
            del rust, held
    if engine is not None:
        del engine
    return {
        "rows": rows,
        "pyroaring": have_roaring,
        "impls": [k for k, _ in IMPLS],
        "note": "ns per allocation: one release plus one allocate_next (engine: one Service "
        "delete plus one create); figures measured in one process, one cell after another",
    }


# ------------------------------------------------------------------------- the simulations


def simulations(out: Path, quick: bool) -> dict[str, Any]:
    """Run every preset once; wall time and operations per second."""
    from servicecidr.sim import PRESETS, run, write_outputs

    rows = []
    for name, model in PRESETS.items():
        m = model.with_changes(duration=min(model.duration, 1800.0)) if quick else model
        r = run(m, seed=1)
        write_outputs(r, out / "sim" / name)
        ops = r.totals["creates"] + r.totals["deletes"] + r.totals["failures"]
        row = {
            "preset": name,
            "simulated_s": m.duration,
            "wall_s": r.wall_seconds,
            "operations": ops,
            "operations_per_s": ops / r.wall_seconds if r.wall_seconds else 0.0,
            "service_cidrs_added": len(r.operator_actions),
            "failures": r.totals["failures"],
            "peak_services": max(int(s["services"]) for s in r.samples),
            "create_p50_us": r.latency["create"]["p50_us"] if r.latency else None,
            "create_p99_us": r.latency["create"]["p99_us"] if r.latency else None,
        }
        rows.append(row)
        print(
            f"  {name:<14} {m.duration / 3600:>4.1f} h simulated in {r.wall_seconds:5.1f} s, "
            f"{row['operations_per_s']:>8,.0f} operations/s, {row['failures']:,} failures, "
            f"{row['service_cidrs_added']} ServiceCIDRs added",
            flush=True,
        )
    return {"rows": rows}


# ------------------------------------------------------------------------- the report


def _fmt_rate(ns: float | None) -> str:
    if ns is None:
        return "n/a"
    per_s = 1e9 / ns
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f}M"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.0f}k"
    return f"{per_s:.0f}"


def comparison_table(cmp: dict[str, Any]) -> list[str]:
    """The comparison as Markdown: allocations per second for each implementation."""
    cols = [(k, t) for k, t in IMPLS if any(k in r["ns"] for r in cmp["rows"])]
    head = ["range", "fill", *[t for _, t in cols], "Rust batched / set+k8s scan"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in cmp["rows"]:
        ns = r["ns"]
        ratio = ns["python-set-scan"] / ns["rust-batched"]
        cells = ["/" + r["cidr"].split("/")[-1], f"{r['fill']:.1%}"]
        cells += [_fmt_rate(ns.get(k)) for k, _ in cols]
        cells.append(f"{ratio:,.0f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _child(part: str, out: Path, quick: bool) -> dict[str, Any]:
    path = out / f"{part}.json"
    rc = subprocess.call(
        [sys.executable, __file__, "--part", part, "--out", str(out)]
        + (["--quick"] if quick else [])
    )
    if rc != 0:
        raise SystemExit(f"bench/run.py --part {part} failed with status {rc}")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


#: What --skip names: the table scripts run after the comparison, scale and simulations.
PARTS = (
    "log_table",
    "bench_admission",
    "import_table",
    "create_table",
    "serve_table",
    "sweep_table",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run with rough figures")
    ap.add_argument("--out", default=str(HERE / "out"), help="figures and drawings (bench/out)")
    ap.add_argument("--all", action="store_true", help="also run cluster_table.py")
    ap.add_argument(
        "--skip",
        default="",
        metavar="NAME[,NAME]",
        help=f"leave parts out of this run (their goals print n/a): {', '.join(PARTS)}",
    )
    ap.add_argument("--part", choices=("compare", "sim"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(PARTS):
        ap.error(
            f"--skip: unknown part(s) {', '.join(sorted(skip - set(PARTS)))}; "
            f"use {', '.join(PARTS)}"
        )
    for name in skip:
        # a figure left by an earlier run must not pass for this run's
        (out / f"{name}.json").unlink(missing_ok=True)

    if args.part == "compare":
        doc = compare(args.quick)
        (out / "compare.json").write_text(json.dumps(doc, indent=1) + "\n")
        return 0
    if args.part == "sim":
        doc = simulations(out, args.quick)
        (out / "sim.json").write_text(json.dumps(doc, indent=1) + "\n")
        return 0

    t_start = time.perf_counter()
    status = 0
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, Python {info['python']}")

    print("\n== allocator_table.py", flush=True)
    status |= subprocess.call(
        [
            sys.executable,
            str(HERE / "allocator_table.py"),
            "--json",
            str(out / "allocator_table.json"),
            *(["--quick"] if args.quick else []),
        ]
    )

    print("\n== comparison: allocation throughput at several fills", flush=True)
    cmp = _child("compare", out, args.quick)

    print("\n== scale.py: 10^3 .. 10^6 Services", flush=True)
    scale_args = ["--out", str(out)] + (["--max", "100000"] if args.quick else [])
    status |= subprocess.call([sys.executable, str(HERE / "scale.py"), *scale_args])
    scale_path = out / "scale.json"
    scale = json.loads(scale_path.read_text()) if scale_path.exists() else None

    print("\n== simulations: every preset of servicecidr simulate", flush=True)
    sim = _child("sim", out, args.quick)

    # The other layers: each script prints its own table beside its in-memory or
    # no-policy baseline, measured in the same process.
    layers = [
        (
            "log_table.py: append per durability mode, replay (and read + CRC), open a snapshot",
            "log_table.py",
            ["--appends", "300", "--replay", "20000", "--services", "20000"]
            if args.quick
            else ["--services", "1000000"],
        ),
        (
            "bench_admission.py: ServiceCIDR create with and without the seed's policy",
            "bench_admission.py",
            ["--rounds", "6"] if args.quick else [],
        ),
        (
            "import_table.py: audit-log import throughput and memory",
            "import_table.py",
            ["--events", "20000", "--profile-events", "5000"]
            if args.quick
            # the size: 10^6 events (the log is generated once, ~1.4 GiB, and
            # kept in the temporary folder for later runs)
            else ["--events", "1000000", "--profile-events", "50000"],
        ),
        (
            "create_table.py: Service creates, Cluster.create and create_many, beside the "
            "minimal pure-Python loop",
            "create_table.py",
            ["--services", "5000"] if args.quick else [],
        ),
        (
            "serve_table.py: Service creates over HTTP beside the engine, watch fan-out",
            "serve_table.py",
            ["--creates", "3000", "--fanout-creates", "50"] if args.quick else [],
        ),
        (
            "sweep_table.py: a 200-cell seed-at-scale sweep, local and Ray, kill and resume",
            "sweep_table.py",
            ["--cells", "24", "--duration", "1h"] if args.quick else [],
        ),
    ]
    for title, script, extra in layers:
        if script[:-3] in skip:
            print(f"\n== {title}: skipped (--skip)", flush=True)
            continue
        print(f"\n== {title}", flush=True)
        status |= subprocess.call(
            [sys.executable, str(HERE / script), "--json", str(out / f"{script[:-3]}.json"), *extra]
        )

    if args.all:
        print("\n== cluster_table.py", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / "cluster_table.py")])

    print("\n== Comparison (all figures measured in this run)\n")
    print("Allocations per second at each fill, one release + one allocate_next per")
    print("allocation (engine: one Service delete + one create through Cluster):\n")
    for line in comparison_table(cmp):
        print(line)
    if not cmp["pyroaring"]:
        print("\n(pyroaring not installed: pip install pyroaring==1.2.0 for its column)")
    if scale is not None:
        print("\nScale (one process growing a Cluster to each size; bench/out/scale.png):\n")
        for line in scale["table"]:
            print(line)
    print("\nSimulations (servicecidr simulate --preset NAME --seed 1):\n")
    print("| preset | simulated | wall | operations/s | ServiceCIDRs added | failures |")
    print("|---|---|---|---|---|---|")
    for r in sim["rows"]:
        print(
            f"| {r['preset']} | {r['simulated_s'] / 3600:.1f} h | {r['wall_s']:.1f} s | "
            f"{r['operations_per_s']:,.0f} | {r['service_cidrs_added']} | {r['failures']:,} |"
        )
    # The issues' goals, met or missed in this run: printed, never a failure (a busy
    # machine misses them; the ratios to the same run's baselines above are the stable part).
    from goals import report

    goals = report(out)
    print("\nGoals (goals.py; PASS/MISS against this run's figures, never a failure):\n")
    for line in goals:
        print(line)
    elapsed = time.perf_counter() - t_start
    print(
        f"\nmachine: {info['cpu']}, {info['cpus']} CPUs, Python {info['python']}, "
        f"{info['date']}; whole run {elapsed:.0f} s"
    )
    doc = {
        "machine": info,
        "quick": args.quick,
        "skipped": sorted(skip),
        "elapsed_s": elapsed,
        "compare": cmp,
        "scale": scale,
        "sim": sim,
        "goals": goals,
    }
    (out / "run.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"figures: {out / 'run.json'}, drawings: {out / 'scale.png'}, {out / 'sim'}/*/")
    return status


if __name__ == "__main__":
    sys.exit(main())
