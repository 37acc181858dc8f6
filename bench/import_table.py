"""Audit-log import throughput and memory: a simulated history of 10^6 audit events.

The history is a simulation run with ``Cluster(audit_log=...)``: Services created and
deleted at random around 2,000 live ones in a /16 (each create and each delete is two
audit events, the allocator's IPAddress write and the user's Service write, at
RequestResponse level, ~1.5 KB a line). It is generated once into a temporary folder
(reused by later runs). Each import runs in its own process, into a state directory
(durability ``none``: the imported history goes to the on-disk event log, as
``servicecidr import`` does), at two sizes, so peak RSS shows whether memory grows with
the file. Then a stage breakdown (CPU microseconds per event) on the first events.

The importer runs on two threads: the Rust reader's worker parses and classifies lines
(``servicecidr._core.AuditLineReader``), the main thread applies; the stage table shows
both, and the throughput is bounded by the slower.

Usage: python bench/import_table.py [--events 1000000] [--dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["generate_audit_log"]


def generate_audit_log(path: Path, events: int, *, live: int = 2000, seed: int = 1) -> int:
    """Write a simulated history of at least ``events`` audit events; returns the count."""
    from servicecidr import Cluster, SimulatedClock
    from servicecidr.auditwriter import AuditWriter

    class _Drop(list[Any]):
        def append(self, x: Any, /) -> None:  # keep no history in memory
            pass

    clock = SimulatedClock()
    c = Cluster("10.96.0.0/16", seed=seed, clock=clock, audit_log=path)
    c._events = _Drop()
    w = AuditWriter.of(c)
    assert w is not None
    rng = random.Random(seed)
    names: list[str] = []
    i = 0
    while w.events_written < events:
        clock.advance(0.01)
        if len(names) < live or rng.random() < 0.5:
            i += 1
            name = f"svc-{i}"
            c.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
                    "spec": {
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                    },
                }
            )
            names.append(name)
        else:
            j = rng.randrange(len(names))
            names[j], names[-1] = names[-1], names[j]
            c.delete("Service", names.pop())
    w.close()
    return w.events_written


CHILD = r"""
import json, resource, sys, tempfile, time
from servicecidr import Cluster, SimulatedClock
from servicecidr.importers import import_observed
log, limit = sys.argv[1], int(sys.argv[2])
src = log
if limit:
    src = log + f".head{limit}"
    with open(log, "rb") as f, open(src, "wb") as out:
        for n, line in enumerate(f):
            if n >= limit:
                break
            out.write(line)
with tempfile.TemporaryDirectory() as d:
    c = Cluster.open(d, service_cluster_ip_range="10.96.0.0/16", seed=1,
                     clock=SimulatedClock(), durability="none")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    r = import_observed(c, "audit", [src])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    c.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"events": r.read, "used": r.used, "wall": wall, "cpu": cpu,
                  "divergences": sum(r.divergence_counts.values()),
                  "rss_mib": peak / 1024, "rss_base_mib": base / 1024}))
"""

STAGES = r"""
import gc, json, sys, tempfile, time
from servicecidr import Cluster, SimulatedClock
from servicecidr._core import AuditLineReader
from servicecidr.importers import pipeline
from servicecidr.importers.observed import ObservedImporter
from servicecidr.importers.pipeline import read_records
from servicecidr.importers.report import ImportReport
log, n = sys.argv[1], int(sys.argv[2])
src = log + f".head{n}"
with open(log, "rb") as f, open(src, "wb") as out:
    for i, line in enumerate(f):
        if i >= n:
            break
        out.write(line)
gc.disable()
def best(fn, reps=3):
    # (wall, main-thread CPU) per record, best of reps
    w, c = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        w.append(time.perf_counter() - t0); c.append(time.thread_time() - c0)
    return min(w) / n * 1e6, min(c) / n * 1e6
def reader():
    r = AuditLineReader(src)
    while r.next_batch() is not None:
        pass
def records():
    for _ in read_records("audit", [src], on_skip=lambda s: None, fast=True):
        pass
def python_records():
    pipeline.USE_RUST_READER = False
    try:
        for _ in read_records("audit", [src], on_skip=lambda s: None):
            pass
    finally:
        pipeline.USE_RUST_READER = True
recs = list(read_records("audit", [src], on_skip=lambda s: None, fast=True))
def applying():
    with tempfile.TemporaryDirectory() as d:
        c = Cluster.open(d, service_cluster_ip_range="10.96.0.0/16", seed=1,
                         clock=SimulatedClock(), durability="none")
        imp = ObservedImporter(c, ImportReport())
        with c.bulk():
            for r in recs:
                imp.apply(r)
        imp.finish()
        c.close()
out = {}
rw, rc = best(reader)
out["Rust reader: worker thread (wall, lines/s bound)"] = rw
out["  its batches on the main thread"] = rc
dw, dc = best(records)
out["records: + Record, reorder window, dedup (main)"] = dc - rc
out["apply + log, batched (main)"] = best(applying)[1]
out["for comparison: the Python reader alone (main)"] = best(python_records, 1)[1]
print(json.dumps(out))
"""


def _child(code: str, *args: str) -> dict[str, Any]:
    env = dict(os.environ)
    here = Path(__file__).resolve().parents[1] / "python"
    env["PYTHONPATH"] = str(here) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument(
        "--dir", default=os.path.join(tempfile.gettempdir(), "servicecidr-bench-import")
    )
    ap.add_argument("--profile-events", type=int, default=50_000)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    log = d / f"audit-{args.events}.jsonl"
    if not log.exists():
        t = time.perf_counter()
        tmp = log.with_suffix(".partial")
        tmp.unlink(missing_ok=True)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
        n = generate_audit_log(tmp, args.events)
        tmp.rename(log)
        print(
            f"generated {n:,} audit events ({log.stat().st_size / 2**20:,.0f} MiB) in "
            f"{time.perf_counter() - t:.0f}s: {log}"
        )
    else:
        print(f"reusing {log} ({log.stat().st_size / 2**20:,.0f} MiB)")
    rows = []
    print(
        f"\n{'events':>10} {'MiB':>6} {'wall s':>7} {'events/s':>9} {'events/cpu-s':>12} "
        f"{'peak RSS MiB':>12}"
    )
    for limit in (args.events // 5, 0):
        r = _child(CHILD, str(log), str(limit))
        size = log.stat().st_size if not limit else Path(f"{log}.head{limit}").stat().st_size
        r["mib"] = size / 2**20
        rows.append(r)
        print(
            f"{r['events']:>10,} {r['mib']:>6,.0f} {r['wall']:>7.1f} "
            f"{r['events'] / r['wall']:>9,.0f} {r['events'] / r['cpu']:>12,.0f} "
            f"{r['rss_mib']:>12,.0f}"
        )
    stages = _child(STAGES, str(log), str(args.profile_events))
    print(
        f"\nwhere the time goes (microseconds per event, best of 3, first "
        f"{args.profile_events:,} events; the reader's worker runs on its own core):"
    )
    for k, v in stages.items():
        print(f"  {k:<50} {v:6.1f}")
    main = sum(v for k, v in stages.items() if "(main)" in k or "main thread" in k)
    main -= stages.get("for comparison: the Python reader alone (main)", 0.0)
    worker = next(iter(stages.values()))
    print(
        f"  {'main thread total':<50} {main:6.1f}  -> at most "
        f"{1e6 / max(main, worker):,.0f} events/s (the slower of the two threads)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": rows, "stages_us": stages}, f, indent=2)


if __name__ == "__main__":
    main()
