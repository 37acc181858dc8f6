"""Service create throughput and memory per Service at 10^4, 10^5 and 10^6 Services.

Each size runs in a fresh subprocess so peak RSS is its own. Usage:
    python bench/cluster_table.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import gc, json, resource, sys, time
from servicecidr import Cluster, SimulatedClock
n = int(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
c = Cluster("10.0.0.0/8", seed=1, clock=SimulatedClock())
spec = {"ports": [{"port": 80, "protocol": "TCP"}]}
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
for i in range(n):
    c.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
              "spec": spec})
dt = time.perf_counter() - t0
gc.collect()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t1 = time.perf_counter()
for i in range(min(n, 20000)):
    c.delete("Service", f"svc-{i}")
ddt = time.perf_counter() - t1
print(json.dumps({"n": n, "create_per_s": n / dt, "delete_per_s": min(n, 20000) / ddt,
                  "bytes_per_service": (after - before) * 1024 / n,
                  "services": c.count("Service")}))
"""


def measure(n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    rows = []
    print(f"{'services':>10} {'creates/s':>12} {'deletes/s':>12} {'bytes/Service':>14}")
    for n in (int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        r = measure(n)
        rows.append(r)
        print(
            f"{n:>10} {r['create_per_s']:>12,.0f} {r['delete_per_s']:>12,.0f} "
            f"{r['bytes_per_service']:>14,.0f}   ({time.perf_counter() - t:.0f}s)"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
