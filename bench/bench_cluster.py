"""pytest-benchmark suites for the cluster model: Service create+delete churn.

With --benchmark-disable (the test command) each runs once on a small cluster, so the
suite doubles as a smoke test of the hot path.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock


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
