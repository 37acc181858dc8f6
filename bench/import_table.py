"""Audit-log import throughput and memory: a simulated history of 10^6 audit events.

The history is a simulation run with ``Cluster(audit_log=...)``: Services created and
deleted at random around 2,000 live ones in a /16 (each create and each delete is two
audit events, the allocator's IPAddress write and the user's Service write, at
RequestResponse level, ~1.5 KB a line). It is generated once into a temporary folder
(reused by later runs). Each import runs in its own process, into a state directory
(durability ``none``: the imported history goes to the on-disk event log, as
``servicecidr import`` does), at two sizes, so peak RSS shows whether memory grows with
the file. Then a stage breakdown (CPU microseconds per event) on the first events.

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
    from servicecidr.audit import AuditWriter

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
import gc, json, sys, time
from servicecidr import Cluster, SimulatedClock
from servicecidr.events.model import encode_event
from servicecidr.importers.auditlog import event_record
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
scan = json.JSONDecoder().scan_once
out = {}
def best(fn, reps=3):
    t = []
    for _ in range(reps):
        c0 = time.process_time(); fn(); t.append(time.process_time() - c0)
    return min(t) / n * 1e6
def lines():
    for _ in open(src, "rb"): pass
def decode():
    for l in open(src, "rb"): scan(l.decode(), 0)
def classify():
    for i, l in enumerate(open(src, "rb")): event_record(scan(l.decode(), 0)[0], src, i)
def reading():
    for _ in read_records("audit", [src], on_skip=lambda s: None): pass
recs = list(read_records("audit", [src], on_skip=lambda s: None))
class _Drop(list):
    def append(self, x): pass
def applying():
    c = Cluster("10.96.0.0/16", seed=1, clock=SimulatedClock(), _start=False)
    c._events = _Drop()
    imp = ObservedImporter(c, ImportReport())
    for r in recs: imp.apply(r)
    imp.finish()
evs = []
def collecting():
    c = Cluster("10.96.0.0/16", seed=1, clock=SimulatedClock(), _start=False)
    c._events = _Drop()
    c.add_sink(evs.append)
    imp = ObservedImporter(c, ImportReport())
    for r in recs: imp.apply(r)
    imp.finish()
collecting()
def logging():
    for e in evs: encode_event(e)
a, b, c, d = best(lines), best(decode), best(classify), best(reading)
out["read lines"] = a
out["JSON decode (C scanner)"] = b - a
out["classify (audit event -> Record)"] = c - b
out["files, reorder window, dedup"] = d - c
out["apply: rebuild, encode, check, commit"] = best(applying)
out["event log record (encode_event)"] = best(logging)
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
    total = sum(stages.values())
    print(
        f"\nwhere the time goes (CPU us per event, best of 3, first "
        f"{args.profile_events:,} events):"
    )
    for k, v in stages.items():
        print(f"  {k:<40} {v:6.1f}  {v / total:6.1%}")
    print(f"  {'total':<40} {total:6.1f}  -> at most {1e6 / total:,.0f} events per CPU-second")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": rows, "stages_us": stages}, f, indent=2)


if __name__ == "__main__":
    main()
