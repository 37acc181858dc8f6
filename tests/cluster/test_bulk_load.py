"""After a bulk load (``Cluster.open``, ``Cluster.replay``) what the load left alive is
frozen out of the collector's walks (``gc.freeze``) until the Cluster is closed; a small
load freezes nothing."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import servicecidr.cluster as cluster_module
from servicecidr import Cluster, SimulatedClock


def _services(c: Cluster, n: int) -> None:
    c.create_many(
        [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}"},
             "spec": {"ports": [{"port": 80}]}}
            for i in range(n)
        ]
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _thawed() -> object:
    gc.unfreeze()
    yield None
    gc.unfreeze()


def test_a_small_load_freezes_nothing() -> None:
    c = Cluster("10.0.0.0/24", seed=1, clock=SimulatedClock())
    _services(c, 5)
    Cluster.replay(c.events(), "10.0.0.0/24", seed=1)
    assert gc.get_freeze_count() == 0


def test_replay_and_open_freeze_until_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_module, "BULK_LOAD_OBJECTS", 5)
    c = Cluster("10.0.0.0/24", seed=1, clock=SimulatedClock())
    _services(c, 5)
    r = Cluster.replay(c.events(), "10.0.0.0/24", seed=1)
    assert gc.get_freeze_count() > 0
    assert r.digest() == c.digest()
    r.close()
    assert gc.get_freeze_count() == 0

    with Cluster.open(tmp_path / "s", service_cluster_ip_range="10.0.0.0/24", seed=1) as d:
        _services(d, 5)
    assert gc.get_freeze_count() == 0  # a fresh state loads nothing
    with Cluster.open(tmp_path / "s") as d:
        assert gc.get_freeze_count() > 0
        assert d.count("Service") == 6
    assert gc.get_freeze_count() == 0
