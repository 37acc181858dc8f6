"""Sweeps: a 200-cell sweep of the seed-at-scale model (200 seeds) on both engines.

    python bench/sweep_table.py [--cells 200] [--duration 6h] [--workers N] [--json FILE]

0. floor: a few cells in one bare process, then split over ``--workers`` bare processes
   at once: the best ratio any engine can reach on this machine's CPUs (two vCPUs that
   are hyperthreads of one core do not run two cells in the time of one);
1. serial: the cells one after another in this process (the same worker function the
   engines call), the baseline a user would otherwise write;
2. local: ``run_sweep`` on the local engine (a pool of ``--workers`` processes, default
   every CPU); its time as a ratio of the serial one (goal: at most 0.6 on 2 cores);
3. ray: the same sweep on a Ray instance started for it (loopback only, ``--workers``
   CPUs); its table must equal the local one (every column but ``wall_s``);
4. kill and resume: ``servicecidr sweep`` in a subprocess, killed with SIGKILL once half
   the cells are in its journal, then run again: the rerun must run only the missing
   cells and end with the same table.

Exit status 1 when a table differs or the resume reran a finished cell. The machine is
shared and noisy: the ratio is measured in one run, serial and parallel back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from goals import SWEEP_LOCAL


def _journal_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


_FLOOR = r"""
import json, sys, time
from servicecidr.sweep import run_cell
tasks = json.loads(sys.stdin.read())
for t in tasks:
    run_cell(t)
"""


def _bare(tasks: list[dict[str, Any]], parts: int) -> float:
    """Seconds to run ``tasks`` split over ``parts`` bare processes started together (no
    engine: the most any pool could get from this machine's CPUs)."""
    chunks = [tasks[i::parts] for i in range(parts)]
    t = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", _FLOOR], stdin=subprocess.PIPE, text=True)
        for _ in chunks
    ]
    for p, chunk in zip(procs, chunks, strict=True):
        assert p.stdin is not None
        p.stdin.write(json.dumps(chunk))
        p.stdin.close()
    for p in procs:
        p.wait()
    return time.perf_counter() - t


def floor(tasks: list[dict[str, Any]], workers: int) -> tuple[float, float, float]:
    """(one process, ``workers`` processes, ratio): the same cells one after another in
    one bare process, then split over ``workers`` bare processes at once. On CPUs that
    are hyperthreads of one core the ratio stays well above 1/workers, whatever runs
    the cells."""
    one = _bare(tasks, 1)
    many = _bare(tasks, workers)
    return one, many, many / one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=200, help="seeds 1..N (default 200)")
    ap.add_argument("--duration", default=None, help="simulated time (default: the preset's 6h)")
    ap.add_argument("--workers", type=int, default=None, help="default: every CPU")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--keep", help="keep the sweep directories here")
    args = ap.parse_args()

    from servicecidr.sweep import (
        LocalEngine,
        RayEngine,
        compare_tables,
        default_workers,
        run_cell,
        run_sweep,
        simple_sweep,
    )

    workers = args.workers or default_workers()
    fixed = {"duration": args.duration} if args.duration else None
    seeds = f"1-{args.cells}"
    sweep = simple_sweep(preset_name="seed-at-scale", seeds=seeds, fixed=fixed)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    for name in ("local", "ray", "killed"):
        shutil.rmtree(root / name, ignore_errors=True)
    status = 0
    doc: dict[str, Any] = {
        "cells": len(sweep.cells),
        "model": "seed-at-scale",
        "duration": args.duration or "6h",
        "workers": workers,
    }
    print(f"{len(sweep.cells)} cells of seed-at-scale ({doc['duration']}), {workers} workers")

    sample = [sweep.task(c) for c in sweep.cells[: 2 * workers]]
    one, many, ratio = floor(sample, workers)
    doc["floor"] = {"cells": len(sample), "one_process_s": one, "parallel_s": many,
                    "ratio": ratio}  # fmt: skip
    print(
        f"  floor: {len(sample)} cells in 1 bare process {one:.1f} s, in {workers} at once "
        f"{many:.1f} s: ratio {ratio:.2f} (the best any engine can do here)",
        flush=True,
    )

    t = time.perf_counter()
    for cell in sweep.cells:
        run_cell(sweep.task(cell))
    serial = time.perf_counter() - t
    doc["serial_s"] = serial
    print(f"  serial (one after another, one process): {serial:8.1f} s", flush=True)

    t = time.perf_counter()
    local = run_sweep(sweep, root / "local", engine=LocalEngine(workers), png=False)
    local_s = time.perf_counter() - t
    doc["local_s"] = local_s
    doc["local_ratio"] = local_s / serial
    print(
        f"  local engine:                            {local_s:8.1f} s   "
        f"ratio to serial {local_s / serial:.2f} (goal <= {SWEEP_LOCAL.limit:g})",
        flush=True,
    )
    if local.failed:
        print(f"  FAIL: {local.failed} cells failed on the local engine")
        status = 1

    try:
        t = time.perf_counter()
        run_sweep(sweep, root / "ray", engine=RayEngine(num_cpus=workers), png=False)
        ray_s = time.perf_counter() - t
        diffs = compare_tables(root / "local", root / "ray")
        doc["ray_s"] = ray_s
        doc["ray_ratio"] = ray_s / serial
        doc["ray_equal"] = not diffs
        print(
            f"  ray engine (local instance, startup in): {ray_s:8.1f} s   "
            f"ratio to serial {ray_s / serial:.2f}; table "
            + ("identical to local (all columns but wall_s)" if not diffs else "DIFFERS"),
            flush=True,
        )
        for d in diffs[:10]:
            print(f"    {d}")
        status |= bool(diffs)
    except Exception as e:  # Ray missing: say so, measure the rest
        doc["ray_error"] = f"{type(e).__name__}: {e}"
        print(f"  ray engine: not run ({doc['ray_error']})")

    out = root / "killed"
    argv = [sys.executable, "-m", "servicecidr", "sweep", "--preset", "seed-at-scale",
            "--seeds", seeds, "--workers", str(workers), "--no-png", "--out", str(out),
            "-o", "json", *(["--duration", args.duration] if args.duration else [])]  # fmt: skip
    journal = out / "cells.jsonl"
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(argv, stdout=devnull, stderr=devnull)
        while _journal_lines(journal) < len(sweep.cells) // 2 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    kept = _journal_lines(journal)
    t = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    resume_s = time.perf_counter() - t
    summary = json.loads(done.stdout) if done.stdout.strip() else {}
    ok = (
        done.returncode == 0
        and summary.get("resumed") == kept
        and summary.get("ran") == len(sweep.cells) - kept
    )
    diffs = compare_tables(root / "local", out)
    doc["killed_at"] = kept
    doc["resumed"] = summary.get("resumed")
    doc["ran_after_resume"] = summary.get("ran")
    doc["resume_s"] = resume_s
    doc["resume_equal"] = ok and not diffs
    print(
        f"  killed (SIGKILL) with {kept} of {len(sweep.cells)} cells done; the rerun kept "
        f"{summary.get('resumed')} and ran {summary.get('ran')} in {resume_s:.1f} s; table "
        + ("identical to local" if ok and not diffs else "WRONG"),
        flush=True,
    )
    if not ok:
        print(f"    exit {done.returncode}: {done.stderr.strip()[:500]}")
    for d in diffs[:10]:
        print(f"    {d}")
    status |= not (ok and not diffs)

    print(
        f"\n| cells | serial | local ({workers} workers) | local / serial | ray | "
        "ray / serial | tables | kill + resume |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ray_cell = f"{doc['ray_s']:.1f} s" if "ray_s" in doc else "n/a"
    ray_ratio = f"{doc['ray_ratio']:.2f}" if "ray_ratio" in doc else "n/a"
    same = "identical" if doc.get("ray_equal") else "n/a" if "ray_error" in doc else "DIFFER"
    resumed = f"{kept} kept, {summary.get('ran')} ran" if ok else "WRONG"
    print(
        f"| {len(sweep.cells)} | {serial:.1f} s | {local_s:.1f} s | {local_s / serial:.2f} | "
        f"{ray_cell} | {ray_ratio} | {same} | {resumed} |"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
