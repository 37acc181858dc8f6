"""pytest-benchmark suites for the importers: observed import of a simulated audit log,
the same into a state directory, and a what-if replay.

With --benchmark-disable (the test command) each runs once on a small log, so the suite
doubles as a smoke test of the import path. ``bench/import_table.py`` measures 10^6.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.importers import import_observed, import_what_if

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_table import generate_audit_log

EVENTS = 4000


@pytest.fixture(scope="module")
def audit_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("bench-import") / "audit.log"
    generate_audit_log(log, EVENTS, live=200)
    return log


def test_import_observed_in_memory(benchmark: Any, audit_log: Path) -> None:
    def run() -> Any:
        c = Cluster("10.96.0.0/16", seed=1, clock=SimulatedClock(), _start=False)
        return import_observed(c, "audit", [audit_log])

    r = benchmark(run)
    assert r.read == r.used >= EVENTS
    assert not r.divergence_counts


def test_import_observed_into_state(benchmark: Any, audit_log: Path, tmp_path: Path) -> None:
    counter = iter(range(1_000_000))

    def run() -> Any:
        c = Cluster.open(
            tmp_path / f"s{next(counter)}",
            service_cluster_ip_range="10.96.0.0/16",
            seed=1,
            clock=SimulatedClock(),
            durability="none",
        )
        try:
            return import_observed(c, "audit", [audit_log])
        finally:
            c.close()

    r = benchmark(run)
    assert r.read >= EVENTS and not r.in_memory


def test_what_if(benchmark: Any, audit_log: Path) -> None:
    r = benchmark(import_what_if, "audit", [audit_log], service_cluster_ip_range="10.96.0.0/24")
    assert r.replayed > 0
