"""The Ray engine against a real Ray instance started inside the test run: bound to the
loopback address, two CPUs, a small object store, shut down after (by the engine, which
started it). The same sweeps give the same tables (all but the wall time), report and
drawing as on the local engine, a cell that raises is recorded the same way, and
``servicecidr sweep --engine ray`` runs on it. Skipped, saying so, only where Ray cannot
be imported."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED
from servicecidr.sweep import (
    LocalEngine,
    RayEngine,
    compare_tables,
    read_csv_rows,
    run_sweep,
    simple_sweep,
    sweep_from_dict,
)

HAVE_RAY = importlib.util.find_spec("ray") is not None
pytestmark = pytest.mark.skipif(
    not HAVE_RAY, reason="Ray cannot be imported: pip install 'servicecidr[ray]' (ray==2.60.0)"
)


@pytest.fixture(scope="module")
def engine() -> Iterator[RayEngine]:
    """One Ray instance for the module, started (and stopped) by the engine itself."""
    eng = RayEngine(num_cpus=2, object_store_memory=80 * 1024 * 1024)
    with eng:
        yield eng
    ray = sys.modules["ray"]
    assert not ray.is_initialized()  # the engine stopped what it started


@pytest.fixture
def ray(engine: RayEngine) -> Any:
    return sys.modules["ray"]


def test_the_instance_is_bounded_and_on_loopback(ray: Any, engine: RayEngine) -> None:
    [node] = ray.nodes()
    assert node["NodeManagerAddress"] == "127.0.0.1"
    assert ray.cluster_resources()["CPU"] == 2
    assert engine.slots == 2 and engine.describe() == "ray (a local Ray instance), 2 CPUs"


def test_ray_and_local_agree_cell_for_cell(ray: Any, engine: RayEngine, tmp_path: Path) -> None:
    sweep = simple_sweep(
        preset_name="seed-at-scale",
        seeds="1-4",
        sets=["operator.enabled=true,false"],
        fixed={"duration": "10m"},
    )
    local = run_sweep(sweep, tmp_path / "local", engine=LocalEngine(2))
    remote = run_sweep(sweep, tmp_path / "ray", engine=engine)
    assert (local.done, remote.done, remote.failed) == (8, 8, 0)
    assert remote.engine == "ray" and ray.is_initialized()  # started before: left running
    assert compare_tables(tmp_path / "local", tmp_path / "ray") == []
    # the tables differ in the wall time only
    ha, ra = read_csv_rows(tmp_path / "local" / "results.csv")
    hb, rb = read_csv_rows(tmp_path / "ray" / "results.csv")
    wall = ha.index("wall_s")
    assert ha == hb and len(ra) == len(rb) == 8
    for a, b in zip(ra, rb, strict=True):
        assert a[:wall] + a[wall + 1 :] == b[:wall] + b[wall + 1 :]
    assert len({r[ha.index("digest")] for r in ra}) == 8  # eight different runs
    # so the report and the drawing are the same, byte for byte
    for name in ("report.json", "report.txt", "report.png"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()


def test_a_cell_that_raises_on_ray_is_recorded(engine: RayEngine, tmp_path: Path) -> None:
    spec = {
        "base": {"histories": [str(SHARED / "data" / "audit" / "falco-k8s-audit")]},
        "set": {"service_cluster_ip_range": "10.96.0.0/28"},
        "grid": {"add_servicecidrs": [{"extra": "10.97.0.0/24"}, {"bad": "10.97.0.1/24"}]},
    }
    sweep = sweep_from_dict(spec)
    remote = run_sweep(sweep, tmp_path / "ray", engine=engine, png=False)
    assert remote.complete and remote.failed == 1
    header, rows = read_csv_rows(tmp_path / "ray" / "results.csv")
    errors = [r[header.index("error")] for r in rows]
    assert errors[0] == ""
    assert errors[1].startswith('InvalidError: ServiceCIDR.networking.k8s.io "bad" is invalid')
    assert "Traceback" in (tmp_path / "ray" / "errors" / "cell-000001.txt").read_text()
    run_sweep(sweep, tmp_path / "local", engine=LocalEngine(1), png=False)
    assert compare_tables(tmp_path / "local", tmp_path / "ray") == []


def test_the_command_line_runs_on_ray(
    ray: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--engine ray` with Ray already up in the process uses that instance.
    from servicecidr.cli.main import main

    argv = ["sweep", "--preset", "seed", "--seeds", "1-3", "--no-png", "-o", "json"]
    assert main([*argv, "--engine", "ray", "--out", str(tmp_path / "ray")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["engine"] == "ray" and summary["done"] == 3
    assert main([*argv, "--workers", "1", "--out", str(tmp_path / "local")]) == 0
    assert compare_tables(tmp_path / "local", tmp_path / "ray") == []
    assert ray.is_initialized()
