"""pytest-benchmark suites for the durable event log.

With --benchmark-disable (the test command) each runs once on a small history, so the
suite doubles as a smoke test; ``bench/log_table.py`` prints the large-scale figures.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.journal.recovery import iter_log

RANGE = "10.0.0.0/16"


def _svc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]},
    }


def _history(path: Path, n: int, snapshot: bool) -> str:
    with Cluster.open(
        path, service_cluster_ip_range=RANGE, seed=1, clock=SimulatedClock(), durability="none"
    ) as c:
        for i in range(n):
            c.create(_svc(f"s{i}"))
        if snapshot:
            c.snapshot()
        return c.digest()


@pytest.mark.parametrize("mode", ["memory", "none", "group", "fsync"])
def test_append_create_delete(benchmark: Any, tmp_path: Path, mode: str) -> None:
    """One Service create + delete (two events) per round, logged with each durability."""
    if mode == "memory":
        c = Cluster(RANGE, seed=1, clock=SimulatedClock())
    else:
        c = Cluster.open(
            tmp_path / mode,
            service_cluster_ip_range=RANGE,
            seed=1,
            clock=SimulatedClock(),
            durability=mode,
        )
    counter = itertools.count()

    def churn() -> None:
        name = f"s-{next(counter)}"
        c.create(_svc(name))
        c.delete("Service", name)

    with c:
        benchmark(churn)
        assert c.count("Service") == 1


@pytest.mark.parametrize("snapshot", [False, True], ids=["replay-log", "with-snapshot"])
def test_open(benchmark: Any, tmp_path: Path, snapshot: bool) -> None:
    """Open (read-only) a history of Service creates: decode + apply the whole log, or
    load the snapshot that covers it (nothing to replay after it)."""
    d = tmp_path / "st"
    digest = _history(d, 2000, snapshot=snapshot)

    def open_it() -> Cluster:
        c = Cluster.open(d, read_only=True)
        c.close()
        return c

    c = benchmark(open_it)
    assert c.digest() == digest


def test_replay_in_memory(benchmark: Any, tmp_path: Path) -> None:
    """The in-memory figure beside it: Cluster.replay of the same events, decoded."""
    d = tmp_path / "st"
    digest = _history(d, 2000, snapshot=False)
    events = list(iter_log(d / "log"))
    c = benchmark(lambda: Cluster.replay(events, RANGE, seed=1))
    assert c.digest() == digest


def test_write_snapshot(benchmark: Any, tmp_path: Path) -> None:
    """Write a snapshot of 2000 Services."""
    d = tmp_path / "st"
    _history(d, 2000, snapshot=False)
    with Cluster.open(d, durability="none") as c:
        benchmark(c.snapshot)
