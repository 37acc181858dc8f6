"""The event log's figures, each beside the in-memory one. Usage:

    python bench/log_table.py [--appends 3000] [--replay 200000] [--services 1000000]

* append: microseconds per event (Service create + delete churn) logged with each
  durability mode, and in memory;
* replay: events per second opening a log of Service creates (no snapshot), beside
  reading the log's bytes and checking one CRC32C over each segment (the least any
  opening must do: the baseline of issue 16's replay goal), the decoder alone and the
  in-memory ``Cluster.replay`` of the same (decoded) events;
* open: seconds to open a history of N Services with a snapshot, beside a full log replay
  and the in-memory ``Cluster.replay`` of its events.

Every figure comes from a fresh subprocess, so none inherits warm memory from another.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRELUDE = r"""
import gc, json, sys, time
from servicecidr import Cluster, SimulatedClock
from servicecidr.journal.recovery import iter_log
from pathlib import Path
RANGE = "10.0.0.0/8"
def svc(name):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}
args = json.loads(sys.argv[1])
"""

APPEND = r"""
mode, n = args["mode"], args["n"]
if mode == "memory":
    c = Cluster(RANGE, seed=1, clock=SimulatedClock())
else:
    c = Cluster.open(args["dir"], service_cluster_ip_range=RANGE, seed=1,
                     clock=SimulatedClock(), durability=mode)
start_seq = c.seq
t = time.perf_counter()
for i in range(n):
    c.create(svc(f"s{i}"))
    c.delete("Service", f"s{i}")
dt = time.perf_counter() - t
events = c.seq - start_seq
c.close()
print(json.dumps({"us_per_event": dt / events * 1e6}))
"""

BUILD = r"""
with Cluster.open(args["dir"], service_cluster_ip_range=RANGE, seed=1,
                  clock=SimulatedClock(), durability="none") as c:
    for i in range(args["n"]):
        c.create(svc(f"s{i}"))
    if args["snapshot"]:
        c.snapshot()
    digest = c.digest() if args["n"] <= 300000 else ""
print(json.dumps({"seq": c.seq, "digest": digest}))
"""

OPEN = r"""
t = time.perf_counter()
c = Cluster.open(args["dir"], read_only=True)
dt = time.perf_counter() - t
ok = (not args["digest"]) or c.digest() == args["digest"]
print(json.dumps({"seconds": dt, "events_per_s": c.seq / dt, "ok": ok,
                  "services": c.count("Service")}))
"""

DECODE = r"""
gc.disable()
t = time.perf_counter()
n = 0
for ev in iter_log(Path(args["dir"]) / "log"):
    n += 1
dt = time.perf_counter() - t
print(json.dumps({"events_per_s": n / dt}))
"""

READ_CRC = r"""
from servicecidr._core import crc32c
from servicecidr.journal.segments import list_segments
gc.disable()
best = None
for _ in range(3):  # the best of three (the files are in the page cache either way)
    t = time.perf_counter()
    for seg in list_segments(Path(args["dir"]) / "log"):
        crc32c(seg.path.read_bytes())
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(json.dumps({"events_per_s": args["events"] / best}))
"""

MEMORY_REPLAY = r"""
events = list(iter_log(Path(args["dir"]) / "log"))
gc.collect()
t = time.perf_counter()
c = Cluster.replay(events, RANGE, seed=1)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "events_per_s": len(events) / dt}))
"""


def child(code: str, **args: object) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + code, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--appends", type=int, default=3000, help="create+delete rounds per mode")
    ap.add_argument("--replay", type=int, default=200_000, help="events in the replay log")
    ap.add_argument("--services", type=int, default=1_000_000, help="Services in the snapshot")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="servicecidr-bench-"))
    rows: dict[str, object] = {}
    try:
        print("append (Service create + delete churn), microseconds per event")
        for mode in ("memory", "none", "group", "fsync"):
            r = child(APPEND, mode=mode, n=args.appends, dir=str(tmp / f"append-{mode}"))
            rows[f"append_{mode}_us"] = r["us_per_event"]
            label = "in memory" if mode == "memory" else f"durability={mode}"
            print(f"  {label:<22} {r['us_per_event']:>10.1f} us/event")

        print(f"\nreplay: a log of {args.replay:,} Service creates, no snapshot")
        d = tmp / "replay"
        b = child(BUILD, dir=str(d), n=args.replay, snapshot=False)
        # the best of two opens, as the baseline is the best of three reads
        o = max(
            (child(OPEN, dir=str(d), digest=b["digest"]) for _ in range(2)),
            key=lambda r: r["events_per_s"],
        )
        crc = child(READ_CRC, dir=str(d), events=b["seq"])
        dec = child(DECODE, dir=str(d))
        mem = child(MEMORY_REPLAY, dir=str(d))
        rows.update(
            replay_log_eps=o["events_per_s"],
            read_crc_eps=crc["events_per_s"],
            decode_eps=dec["events_per_s"],
            replay_memory_eps=mem["events_per_s"],
        )
        print(
            f"  Cluster.open (decode + apply)   {o['events_per_s']:>12,.0f} events/s  ok={o['ok']}"
        )
        print(
            f"  reading + CRC32C of the bytes   {crc['events_per_s']:>12,.0f} events/s"
            f"  (open: {o['events_per_s'] / crc['events_per_s']:.2f}×)"
        )
        print(f"  decoder alone                   {dec['events_per_s']:>12,.0f} events/s")
        print(f"  in memory: Cluster.replay       {mem['events_per_s']:>12,.0f} events/s")
        shutil.rmtree(d)

        print(f"\nopen: {args.services:,} Services")
        d = tmp / "big"
        t = time.perf_counter()
        b = child(BUILD, dir=str(d), n=args.services, snapshot=True)
        print(f"  (built with a snapshot in {time.perf_counter() - t:.0f}s)")
        o = child(OPEN, dir=str(d), digest=b["digest"])
        o2 = child(OPEN, dir=str(d), digest=b["digest"])
        best = min(o["seconds"], o2["seconds"])
        rows["open_snapshot_s"] = best
        rows["open_services"] = args.services
        print(f"  Cluster.open with the snapshot  {best:>10.2f} s   ({o['services']:,} Services)")
        for s in (d / "snapshots").iterdir():
            s.unlink()
        full = child(OPEN, dir=str(d), digest="")
        mem = child(MEMORY_REPLAY, dir=str(d))
        rows.update(open_replay_s=full["seconds"], open_memory_replay_s=mem["seconds"])
        print(f"  Cluster.open, full log replay   {full['seconds']:>10.2f} s")
        print(f"  in memory: Cluster.replay       {mem['seconds']:>10.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
