"""How Service create throughput and memory per Service grow from 10^3 to 10^6 Services.

Usage: python bench/scale.py [--max 1000000] [--out bench/out]

One fresh process grows a Cluster (``10.0.0.0/8``) to ``--max`` Services in a single pass.
At each power of ten it records

* the create rate over the decade just grown (10^5 -> 10^6 Services, say);
* deletes/s and creates/s at that size: 1,000 Services (a tenth at 10^3) deleted, then as
  many created (the best of three rounds);
* bytes per Service: the growth of the process's resident memory since the empty Cluster
  (after a garbage collection), divided by the Services held (IPAddress objects and the
  in-memory event history included).

Other fresh processes do the same for the bare allocators in the same /8 (the Rust core
one call per address and batched, a pyroaring BitMap and a Python set with the
Kubernetes scan: see baselines.py): allocate_next rate over each decade and bytes per
address. Figures go to ``scale.json``, the drawing to ``scale.png`` (matplotlib), and a
Markdown table is printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

CIDR = "10.0.0.0/8"
SEED = 1
MIN_MEASURABLE = 1 << 20
CHURN_REPEATS = 3
ALLOCATORS = [
    # (key, label)
    ("rust-batched", "Rust allocate_next_many"),
    ("rust-single", "Rust allocate_next"),
    ("pyroaring", "pyroaring BitMap + k8s scan"),
    ("python-set-scan", "Python set + k8s scan"),
]


def rss_bytes() -> int:
    """The process's resident memory now (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def checkpoints(n_max: int) -> list[int]:
    out, n = [], 1000
    while n <= n_max:
        out.append(n)
        n *= 10
    if not out or out[-1] != n_max:
        out.append(n_max)
    return out


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]},
    }


def child_engine(n_max: int) -> list[dict[str, Any]]:
    """Grow one Cluster through every checkpoint (one pass)."""
    from servicecidr import Cluster, SimulatedClock

    c = Cluster(CIDR, seed=SEED, clock=SimulatedClock())
    gc.collect()
    base = rss_bytes()
    rng = random.Random(SEED)
    create = c.create
    made = 0
    rows = []
    for n in checkpoints(n_max):
        t0 = time.perf_counter()
        for i in range(made, n):
            create(_service(f"svc-{i}"))
        grow_s = time.perf_counter() - t0
        grown = n - made
        made = n
        gc.collect()
        mem = rss_bytes() - base
        k = min(1000, n // 10)
        del_s = cre_s = float("inf")
        for rep in range(CHURN_REPEATS):  # best of a few: other processes add noise
            victims = rng.sample(range(n), k)
            t1 = time.perf_counter()
            for i in victims:
                c.delete("Service", f"svc-{i}")
            del_s = min(del_s, time.perf_counter() - t1)
            t2 = time.perf_counter()
            for i in victims:
                create(_service(f"svc-{i}-{rep}"))
            cre_s = min(cre_s, time.perf_counter() - t2)
            # back to the checkpoint's names, for the next round
            for i in victims:
                c.delete("Service", f"svc-{i}-{rep}")
                create(_service(f"svc-{i}"))
        assert c.count("Service") == n + 1  # + default/kubernetes
        row = {
            "services": n,
            "create_per_s_growing": grown / grow_s,
            "create_per_s_at_size": k / cre_s,
            "delete_per_s_at_size": k / del_s,
            "bytes_per_service": mem / n,
            "rss_growth_bytes": mem,
        }
        rows.append(row)
        print(json.dumps({"engine": row}), flush=True)
    return rows


def child_alloc(impl: str, n_max: int) -> list[dict[str, Any]]:
    """allocate_next through every checkpoint in one allocator."""
    from baselines import KubernetesScanAllocator, RoaringAllocator
    from servicecidr._core import CidrAllocator

    gc.collect()
    base = rss_bytes()
    a: Any
    if impl.startswith("rust"):
        a = CidrAllocator(CIDR, seed=SEED)
    elif impl == "pyroaring":
        a = RoaringAllocator(CIDR, seed=SEED)
    else:
        a = KubernetesScanAllocator(CIDR, seed=SEED)
    made = 0
    rows = []
    for n in checkpoints(n_max):
        t0 = time.perf_counter()
        if impl == "rust-batched":
            todo = n - made
            while todo:
                a.allocate_next_many(min(todo, 1000))
                todo -= min(todo, 1000)
        else:
            allocate_next = a.allocate_next
            for _ in range(n - made):
                allocate_next()
        dt = time.perf_counter() - t0
        rate = (n - made) / dt
        made = n
        assert a.used == n
        gc.collect()
        mem = rss_bytes() - base
        row = {
            "addresses": n,
            "allocate_per_s": rate,
            "bytes_per_address": mem / n,
            "rss_growth_bytes": mem,
        }
        rows.append(row)
        print(json.dumps({impl: row}), flush=True)
    return rows


def _run_child(args: list[str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"scale.py {' '.join(args)} failed:\n{proc.stderr}")
    rows = []
    for line in proc.stdout.splitlines():
        rows.append(next(iter(json.loads(line).values())))
    return rows


def _fmt(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def table(doc: dict[str, Any]) -> list[str]:
    """Markdown: the engine's figures, then allocate_next/s and bytes per address."""
    alloc = doc["allocators"]
    keys = [k for k, _ in ALLOCATORS if k in alloc]
    head = [
        "Services",
        "creates/s (growing)",
        "creates/s at size",
        "deletes/s at size",
        "bytes/Service",
        *[f"{dict(ALLOCATORS)[k]}/s" for k in keys],
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, e in enumerate(doc["engine"]):
        cells = [
            f"10^{len(str(e['services'])) - 1}" if str(e["services"]).strip("0") == "1"
            else f"{e['services']:,}",
            _fmt(e["create_per_s_growing"]),
            _fmt(e["create_per_s_at_size"]),
            _fmt(e["delete_per_s_at_size"]),
            f"{e['bytes_per_service']:,.0f}",
        ]  # fmt: skip
        for k in keys:
            rows = alloc[k]
            cells.append(_fmt(rows[i]["allocate_per_s"]) if i < len(rows) else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"bytes per address held at {doc['engine'][-1]['services']:,} "
        f"(resident memory growth, the {CIDR} bitmap's fixed cost included): "
        + ", ".join(f"{dict(ALLOCATORS)[k]} {alloc[k][-1]['bytes_per_address']:,.1f}" for k in keys)
    )
    return lines


def draw(doc: dict[str, Any], path: Path) -> str | None:
    """scale.png: throughput and memory against size, log-log. Returns a note when
    matplotlib is missing."""
    from servicecidr.sim.plot import PlotUnavailableError, new_figure, plot_style, save_png

    try:
        with plot_style():
            fig = new_figure(11, 5)
            ax1, ax2 = fig.subplots(1, 2)
            eng = doc["engine"]
            xs = [e["services"] for e in eng]
            ax1.plot(xs, [e["create_per_s_growing"] for e in eng], "o-", label="Service create")
            ax1.plot(xs, [e["create_per_s_at_size"] for e in eng], "s--", label="create at size")
            ax1.plot(xs, [e["delete_per_s_at_size"] for e in eng], "^--", label="delete at size")
            for key, label in ALLOCATORS:
                rows = doc["allocators"].get(key)
                if rows:
                    ax1.plot(
                        [r["addresses"] for r in rows],
                        [r["allocate_per_s"] for r in rows],
                        ".:",
                        label=label,
                    )
            ax1.set_xscale("log")
            ax1.set_yscale("log")
            ax1.set_xlabel("Services (or addresses) held")
            ax1.set_ylabel("operations per second")
            ax1.set_title("throughput", fontsize=10)
            ax1.grid(True, which="both", alpha=0.3)
            ax1.legend(fontsize=7)
            ax2.plot(xs, [e["bytes_per_service"] for e in eng], "o-", label="per Service (engine)")
            for key, label in ALLOCATORS:
                # Below a MiB of growth, resident memory moves by pages and arenas, not by
                # what the allocator holds: such points say nothing and are left out.
                rows = [
                    r
                    for r in doc["allocators"].get(key, [])
                    if r.get("rss_growth_bytes", 0) >= MIN_MEASURABLE
                ]
                if rows and key != "rust-single":
                    ax2.plot(
                        [r["addresses"] for r in rows],
                        [r["bytes_per_address"] for r in rows],
                        ".:",
                        label=f"per address ({label})",
                    )
            ax2.set_xscale("log")
            ax2.set_yscale("log")
            ax2.set_xlabel("Services (or addresses) held")
            ax2.set_ylabel("bytes (resident memory growth / count)")
            ax2.set_title("memory (points with at least 1 MiB of growth)", fontsize=10)
            ax2.grid(True, which="both", alpha=0.3)
            ax2.legend(fontsize=7)
            fig.suptitle(f"servicecidr at scale ({CIDR}; {doc['machine']})", fontsize=10)
            save_png(fig, path)
    except PlotUnavailableError as e:
        return str(e)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=1_000_000, help="largest size (10^6)")
    ap.add_argument("--out", default=str(HERE / "out"), help="directory (bench/out)")
    ap.add_argument("--child", nargs=2, metavar=("WHAT", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        what, n = args.child[0], int(args.child[1])
        if what == "engine":
            child_engine(n)
        else:
            child_alloc(what, n)
        return 0

    from baselines import roaring_available

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"engine: growing one Cluster to {args.max:,} Services ...", flush=True)
    engine = _run_child(["--child", "engine", str(args.max)])
    allocators = {}
    for key, label in ALLOCATORS:
        if key == "pyroaring" and not roaring_available():
            print("pyroaring not installed (pip install pyroaring==1.2.0): skipped")
            continue
        print(f"{label}: {args.max:,} addresses ...", flush=True)
        allocators[key] = _run_child(["--child", key, str(args.max)])
    import platform

    doc: dict[str, Any] = {
        "cidr": CIDR,
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "engine": engine,
        "allocators": allocators,
        "seconds": time.perf_counter() - t0,
    }
    doc["table"] = table(doc)
    note = draw(doc, out / "scale.png")
    (out / "scale.json").write_text(json.dumps(doc, indent=1) + "\n")
    print()
    for line in doc["table"]:
        print(line)
    print(f"\n{out / 'scale.json'}" + (f"\nnote: {note}" if note else f", {out / 'scale.png'}"))
    print(f"({doc['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
