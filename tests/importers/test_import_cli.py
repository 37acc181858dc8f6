"""``servicecidr import audit|dump|watch``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conftest import SHARED
from servicecidr import Cluster, SimulatedClock
from servicecidr.cli.common import IO
from servicecidr.cli.main import run

DATA = SHARED / "data"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), IO(out, err, io.StringIO()))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def history(tmp_path: Path) -> Path:
    log = tmp_path / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/24", seed=2, clock=clock, audit_log=log)
    for i in range(1, 21):
        clock.advance(1)
        c.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"s{i}"},
                "spec": {"ports": [{"port": 80}]},
            }
        )
    return log


@pytest.mark.skipif(not DATA.is_dir(), reason="no shared data")
def test_observed_dump_into_a_new_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    bundle = DATA / "manifests" / "troubleshoot-k3s-support-bundle"
    code, out, err = _run(
        "--state",
        str(state),
        "import",
        "dump",
        str(bundle),
        "--service-cluster-ip-range",
        "10.43.0.0/16",
    )
    assert code == 0, err
    assert "observed import of dump: 4 file(s)" in out
    assert "4 Services, 4 IPAddresses, 1 ServiceCIDRs" in out
    assert f"new state {state}" in out
    code, out, err = _run("--state", str(state), "get", "svc", "-A")
    assert code == 0, err
    assert "10.43.0.10" in out and "kube-dns" in out
    # a second import goes into the existing state
    code, out, _ = _run("--state", str(state), "import", "dump", str(bundle), "-o", "json")
    assert code == 0
    rep = json.loads(out)
    assert rep["skipped"]["unchanged"]["count"] == 4
    assert rep["inMemory"] is False


def test_observed_audit_json_report_and_in_memory(tmp_path: Path, history: Path) -> None:
    state = tmp_path / "state"
    code, out, err = _run(
        "--state", str(state), "import", "audit", str(history), "--in-memory", "-o", "json"
    )
    assert code == 0, err
    rep = json.loads(out)
    # the start's 8 writes (4 namespaces, the default ServiceCIDR and its status, the
    # kubernetes Service and its IPAddress) and 2 per Service
    assert rep["mode"] == "observed" and rep["read"] == 48 and rep["used"] == 48
    assert rep["divergences"]["count"] == 0
    assert rep["state"]["totals"]["services"] == 21
    assert not state.exists()


def test_what_if_json(history: Path) -> None:
    code, out, err = _run(
        "import",
        "audit",
        str(history),
        "--mode",
        "what-if",
        "--service-cluster-ip-range",
        "10.96.0.0/28",
        "-o",
        "json",
    )
    assert code == 0, err
    rep = json.loads(out)["whatIf"]
    assert rep["firstRangeFull"]["event"]["name"] == "s14"
    assert rep["failed"] == 7 and rep["succeeded"] == 13
    assert rep["peakUtilization"]["10.96.0.0/28"]["used"] == 14
    code, out, _ = _run(
        "import",
        "audit",
        str(history),
        "--mode",
        "what-if",
        "--service-cluster-ip-range",
        "10.96.0.0/28",
        "--add-servicecidr",
        "x=10.97.0.0/27",
    )
    assert code == 0
    assert "no 'range is full'" in out


@pytest.mark.skipif(not DATA.is_dir(), reason="no shared data")
def test_strict_exits_1_naming_the_line(tmp_path: Path) -> None:
    code, out, err = _run(
        "--state",
        str(tmp_path / "s"),
        "import",
        "audit",
        str(DATA / "audit" / "falco-k8s-audit"),
        "--strict",
        "--in-memory",
    )
    assert code == 1
    assert "fal_01_003.json:1: unknown-shape" in err
    assert out == ""


def test_usage_errors(tmp_path: Path, history: Path) -> None:
    code, _, err = _run("import", "audit", str(history), "--add-servicecidr", "x=10.0.0.0/24")
    assert code == 1 and "--mode what-if" in err
    code, _, err = _run("import", "audit", str(history), "--until", "yesterday", "--in-memory")
    assert code == 1 and "invalid timestamp" in err
    code, _, err = _run(
        "import", "audit", str(history), "--mode", "what-if", "--add-servicecidr", "nocidr"
    )
    assert code == 1 and "NAME=CIDR" in err
    code, _, err = _run(
        "--state",
        str(tmp_path / "s"),
        "import",
        "audit",
        str(tmp_path / "missing.log"),
        "--in-memory",
    )
    assert code == 1 and "missing.log" in err


def test_until(history: Path, tmp_path: Path) -> None:
    code, out, _ = _run(
        "--state",
        str(tmp_path / "s"),
        "import",
        "audit",
        str(history),
        "--in-memory",
        "--until",
        "2025-01-01T00:00:05Z",
        "-o",
        "json",
    )
    assert code == 0
    rep = json.loads(out)
    assert rep["state"]["totals"]["services"] == 6  # kubernetes and s1..s5
    assert rep["skipped"]["after-until"]["count"] == 1


def test_new_state_takes_the_recorded_range(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    Cluster("10.77.0.0/20", seed=2, clock=SimulatedClock(), audit_log=log)
    state = tmp_path / "state"
    code, out, err = _run("--state", str(state), "import", "audit", str(log))
    assert code == 0, err
    assert "range 10.77.0.0/20 from the recorded default ServiceCIDR" in out
    c = Cluster.open(state, read_only=True)
    try:
        assert c.service_cluster_ip_range == ("10.77.0.0/20",)
        assert c.get("ServiceCIDR", "kubernetes")["spec"]["cidrs"] == ["10.77.0.0/20"]
    finally:
        c.close()
    code, out, _ = _run("import", "audit", str(log), "--mode", "what-if", "-o", "json")
    assert json.loads(out)["whatIf"]["settings"]["service-cluster-ip-range"] == "10.77.0.0/20"


@pytest.mark.skipif(not DATA.is_dir(), reason="no shared data")
def test_new_state_starts_where_the_history_starts_and_time_travels(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, _, err = _run(
        "--state", str(state), "import", "audit", str(DATA / "audit" / "falco-k8s-audit")
    )
    assert code == 0, err

    def services(as_of: str) -> list[str]:
        c = Cluster.open(state, as_of=as_of)
        try:
            return sorted(s["metadata"]["name"] for s in c.list("Service", "default"))
        finally:
            c.close()

    assert services("2018-10-26T13:00:00Z") == ["kubernetes", "nginx"]
    assert services("2018-10-26T13:11:30Z") == ["kubernetes"]  # deleted at 13:11:02
    assert services("2018-10-26T13:12:05Z") == ["kubernetes", "nginx"]  # created again
