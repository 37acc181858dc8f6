"""pytest-benchmark suites for the cluster model: Service create+delete churn.

With --benchmark-disable (the test command) each runs once on a small cluster, so the
suite doubles as a smoke test of the hot path.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock

HERE = Path(__file__).resolve().parent


def _svc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]},
    }


@pytest.mark.parametrize("prefill", [0, 1000])
def test_service_create_delete(benchmark: Any, prefill: int) -> None:
    c = Cluster("10.0.0.0/16", seed=1, clock=SimulatedClock())
    for i in range(prefill):
        c.create(_svc(f"pre-{i}"))
    counter = itertools.count()

    def churn() -> None:
        name = f"s-{next(counter)}"
        c.create(_svc(name))
        c.delete("Service", name)

    benchmark(churn)
    assert c.count("Service") == prefill + 1
    assert c.count("IPAddress") == prefill + 1


def test_create_table_runs(tmp_path: Path) -> None:
    # the table script behind issue 16's goals, once on a tiny size (figures not checked)
    out = tmp_path / "create.json"
    r = subprocess.run(
        [sys.executable, str(HERE / "create_table.py"), "--services", "50", "--rounds", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["services"] == 50
    assert {"baseline_per_s", "create_ratio", "create_many_ratio"} <= doc.keys()


def test_create_many_benchmark(benchmark: Any) -> None:
    counter = itertools.count()

    def batch() -> None:
        c = Cluster("10.0.0.0/16", seed=1, clock=SimulatedClock())
        k = next(counter)
        got = c.create_many([_svc(f"b{k}-{i}") for i in range(100)])
        assert all(isinstance(o, dict) for o in got)

    benchmark(batch)
