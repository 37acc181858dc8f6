"""What-if replay: the recorded requests under other settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.errors import ApiError
from servicecidr.importers import import_what_if


def _svc(name: str, ip: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": 80}]}
    if ip:
        spec["clusterIP"] = ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def _line_of(log: Path, verb: str, name: str) -> int:
    for n, line in enumerate(log.read_text().splitlines(), 1):
        ev = json.loads(line)
        ref = ev.get("objectRef") or {}
        if ev["verb"] == verb and ref.get("resource") == "services" and ref.get("name") == name:
            return n
    raise AssertionError(f"no {verb} of {name}")


@pytest.fixture(scope="module")
def full_24(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history that filled a /24: 253 Services, then the 254th meets 'range is full'."""
    log = tmp_path_factory.mktemp("whatif") / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/24", seed=3, clock=clock, audit_log=log)
    c.reconcile()
    for i in range(1, 255):
        clock.advance(1)
        try:
            c.create(_svc(f"s{i}"))
        except ApiError as e:
            assert i == 254 and "range is full" in e.message
    return log


def test_first_range_full_under_a_28(full_24: Path) -> None:
    r = import_what_if("audit", [full_24], service_cluster_ip_range="10.96.0.0/28")
    # a /28 has 14 addresses; default/kubernetes takes the first: s1..s13 fit
    first = r.first_range_full
    assert first is not None
    assert first["event"]["name"] == "s14"
    assert first["event"]["line"] == _line_of(full_24, "create", "s14")
    assert first["event"]["file"] == str(full_24)
    assert first["time"] == "2025-01-01T00:00:14.000000Z"
    assert first["reason"] == "InternalError"
    assert "range is full" in first["message"]
    assert (r.replayed, r.succeeded) == (253, 13)
    assert dict(r.failure_counts) == {"InternalError": 240}
    assert r.skipped["failed"] == 1  # the recorded 254th create, which failed for real
    assert r.peaks["10.96.0.0/28"]["used"] == 14
    assert r.peaks["10.96.0.0/28"]["utilization"] == 1.0
    assert r.peaks["10.96.0.0/28"]["serviceCIDRs"] == ["kubernetes"]
    assert "first 'range is full' at" in r.to_text()


def test_the_recorded_range_itself_fits(full_24: Path) -> None:
    r = import_what_if("audit", [full_24], service_cluster_ip_range="10.96.0.0/24", seed=9)
    assert r.first_range_full is None
    assert (r.replayed, r.succeeded) == (253, 253)
    assert r.peaks["10.96.0.0/24"]["used"] == 254


def test_an_extra_servicecidr_moves_the_first_failure(full_24: Path) -> None:
    r = import_what_if(
        "audit",
        [full_24],
        service_cluster_ip_range="10.96.0.0/28",
        add_service_cidrs=[("extra", ["10.97.0.0/28"])],
    )
    assert r.first_range_full is not None
    assert r.first_range_full["event"]["name"] == "s28"  # 14 + 14 addresses, 1 taken
    assert r.peaks["10.97.0.0/28"]["used"] == 14
    assert r.peaks["10.97.0.0/28"]["serviceCIDRs"] == ["extra"]


def test_removed_servicecidr_and_cascading_failures(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/28", seed=1, clock=clock, audit_log=log)
    c.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "more"},
            "spec": {"cidrs": ["10.97.0.0/28"]},
        }
    )
    c.reconcile()
    for i in range(1, 21):
        clock.advance(1)
        c.create(_svc(f"s{i}"))
    clock.advance(1)
    c.delete("Service", "s20")
    r = import_what_if(
        "audit", [log], service_cluster_ip_range="10.96.0.0/28", remove_service_cidrs=["more"]
    )
    assert r.notes["recorded writes of removed ServiceCIDRs not replayed"] == 1
    assert r.first_range_full is not None and r.first_range_full["event"]["name"] == "s14"
    assert dict(r.failure_counts) == {
        "InternalError": 7,
        "NotFound (its create failed earlier)": 1,
    }


def test_user_chosen_cluster_ip_is_kept_and_updates_replay(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/24", seed=1, clock=clock, audit_log=log)
    c.create(_svc("pinned", "10.96.0.200"))
    web = c.create(_svc("web"))
    clock.advance(5)
    web["spec"]["ports"] = [{"port": 8080}]
    c.update(web)
    r = import_what_if("audit", [log], service_cluster_ip_range="10.96.0.0/24", seed=77)
    assert (r.replayed, r.succeeded, dict(r.failure_counts)) == (3, 3, {})
    r2 = import_what_if("audit", [log], service_cluster_ip_range="10.200.0.0/24")
    assert [f["event"]["name"] for f in r2.failures] == ["pinned"]
    assert r2.failures[0]["reason"] == "Invalid"


def test_what_if_on_a_dump(tmp_path: Path) -> None:
    dump = tmp_path / "svcs.json"
    items = [
        {
            **_svc(f"d{i}", f"10.43.0.{i + 10}"),
            "metadata": {"name": f"d{i}", "uid": f"u{i}", "resourceVersion": str(i + 1)},
        }
        for i in range(20)
    ]
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    r = import_what_if("dump", [dump], service_cluster_ip_range="10.96.0.0/28")
    assert r.first_range_full is not None and r.first_range_full["event"]["name"] == "d13"
    assert r.succeeded == 13
