"""Service creates through the engine beside the minimal loop a user would write. Usage:

    python bench/create_table.py [--services 20000] [--rounds 3] [--json PATH]

In one process, round after round (the best round of each kept, so a busy moment of a
shared machine hurts every column alike):

* baseline: the minimal pure-Python loop (``baselines.minimal_service_loop``): a dict of
  Services and a set of used addresses, no validation, no log;
* ``Cluster.create`` of each Service in turn (the fast path on, as by default);
* ``Cluster.create_many`` of all of them in one call;
* ``Cluster.create`` with ``engine.fast_creates`` off: the full Python path, for scale.

Each engine column starts from a fresh ``Cluster("10.0.0.0/12", seed=1)`` with its
in-memory history, as a user gets it. The ratios to the baseline are what ``goals.py``
reads (issue 16); no figure is asserted (DESIGN.md rule 10).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

from baselines import minimal_service_loop
from servicecidr import Cluster, SimulatedClock

RANGE = "10.0.0.0/12"


def services(n: int) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"s{i}"},
            "spec": {"ports": [{"port": 80}]},
        }
        for i in range(n)
    ]


def _timed(make: Any, run: Any, n: int) -> float:
    """Creates per second of ``run(state, objs)`` on a fresh ``make()``."""
    objs = services(n)
    state = make()
    gc.collect()
    t = time.perf_counter()
    run(state, objs)
    return n / (time.perf_counter() - t)


def _cluster(fast: bool = True) -> Cluster:
    c = Cluster(RANGE, seed=1, clock=SimulatedClock())
    c.engine.fast_creates = fast
    return c


def _loop(c: Cluster, objs: list[dict[str, Any]]) -> None:
    for o in objs:
        c.create(o)


def _many(c: Cluster, objs: list[dict[str, Any]]) -> None:
    c.create_many(objs)


COLUMNS = {
    "baseline_per_s": (lambda: RANGE, minimal_service_loop),
    "create_per_s": (_cluster, _loop),
    "create_many_per_s": (_cluster, _many),
    "full_path_per_s": (lambda: _cluster(False), _loop),
}


def measure(n: int, rounds: int) -> dict[str, Any]:
    best: dict[str, float] = dict.fromkeys(COLUMNS, 0.0)
    for _ in range(rounds):
        for name, (make, run) in COLUMNS.items():
            best[name] = max(best[name], _timed(make, run, n))
    base = best["baseline_per_s"]
    return {
        "services": n,
        "rounds": rounds,
        **best,
        "create_ratio": best["create_per_s"] / base,
        "create_many_ratio": best["create_many_per_s"] / base,
        "full_path_ratio": best["full_path_per_s"] / base,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    doc = measure(args.services, args.rounds)
    print(f"{args.services:,} Service creates into {RANGE}, best of {args.rounds} rounds:\n")
    print("| path | creates/s | / minimal loop |")
    print("|---|---|---|")
    for label, key, ratio in (
        ("minimal pure-Python loop (dict + set)", "baseline_per_s", 1.0),
        ("Cluster.create", "create_per_s", doc["create_ratio"]),
        ("Cluster.create_many", "create_many_per_s", doc["create_many_ratio"]),
        ("Cluster.create, full path", "full_path_per_s", doc["full_path_ratio"]),
    ):
        print(f"| {label} | {doc[key]:,.0f} | {ratio:.2f}× |")
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
