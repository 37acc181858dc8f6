"""kubectl against a live server: watches, waiting deletes, ``kubectl wait`` and
server-side apply."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import yaml
from tests.serve.server_kit import Running

from servicecidr import Cluster
from servicecidr.clock import SimulatedClock


def _cidr(name: str, *cidrs: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": name},
            "spec": {"cidrs": list(cidrs)},
        }
    )


def _until(what: str, check: Any, timeout: float = 30.0) -> None:
    """Wait for ``check()`` (a condition met by the server or a child process; bounded)."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def _served(c: Cluster) -> Cluster:
    c.reconcile()
    return c


def _deletion_started(s: Running, name: str) -> bool:
    obj = s.server.call(lambda: s.cluster.list("ServiceCIDR"))
    return any(
        o["metadata"]["name"] == name and o["metadata"].get("deletionTimestamp") for o in obj
    )


def test_get_watch_shows_a_deletion_as_it_happens(serve: Any) -> None:
    s: Running = serve(_served(Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())))
    assert s.kubectl("apply", "-f", "-", stdin=_cidr("extra", "10.97.0.0/24")).returncode == 0
    p = s.popen("get", "servicecidr", "-w")
    try:
        lines: list[str] = []
        assert p.stdout is not None
        # the list first: header, extra, kubernetes
        while len(lines) < 3:
            lines.append(p.stdout.readline())
        assert lines[0].split() == ["NAME", "CIDRS", "AGE"]
        assert sorted(line.split()[0] for line in lines[1:]) == ["extra", "kubernetes"]
        r = s.kubectl("delete", "servicecidr", "extra", "--wait=false")
        assert r.returncode == 0, r.stderr
        # the deletionTimestamp, then (after the controller's grace) the deletion itself
        s.advance("10s")
        _until("the deletion", lambda: s.kubectl("get", "servicecidr", "extra").returncode == 1)
        seen = []
        while len(seen) < 2:
            line = p.stdout.readline()
            assert line, "the watch ended"
            seen.append(line.split())
        assert all(row[:2] == ["extra", "10.97.0.0/24"] for row in seen)
        assert p.poll() is None  # the watch stays open until the client leaves
    finally:
        p.kill()
        p.communicate()


def test_delete_waits_until_the_finalizer_is_removed(serve: Any) -> None:
    s: Running = serve(_served(Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())))
    assert s.kubectl("apply", "-f", "-", stdin=_cidr("extra", "10.97.0.0/24")).returncode == 0
    p = s.popen("delete", "servicecidr", "extra")  # default --wait=true
    try:
        _until("the deletionTimestamp", lambda: _deletion_started(s, "extra"))
        time.sleep(0.5)
        assert p.poll() is None, "kubectl returned before the finalizer was removed"
        s.advance("10s")  # the controller removes the finalizer after its grace
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err
    assert out.strip() == 'servicecidr.networking.k8s.io "extra" deleted'
    assert s.kubectl("get", "servicecidr", "extra").returncode == 1


def test_kubectl_wait_for_ready(serve: Any) -> None:
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())
    s: Running = serve(_served(c))
    assert s.kubectl("apply", "-f", "-", stdin=_cidr("extra", "10.97.0.0/24")).returncode == 0
    r = s.kubectl("wait", "--for=condition=Ready", "servicecidr/extra", "--timeout=30s")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "servicecidr.networking.k8s.io/extra condition met"


def test_server_side_apply_creates_updates_and_reports_conflicts(serve: Any) -> None:
    s: Running = serve(_served(Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())))
    r = s.kubectl("apply", "--server-side", "-f", "-", stdin=_cidr("ssa", "10.97.0.0/24"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "servicecidr.networking.k8s.io/ssa serverside-applied"
    r = s.kubectl(
        "apply", "--server-side", "-f", "-", stdin=_cidr("ssa", "10.97.0.0/24", "fd00:1::/64")
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(
        s.kubectl("get", "servicecidr", "ssa", "-o", "json", "--show-managed-fields").stdout
    )
    assert got["spec"]["cidrs"] == ["10.97.0.0/24", "fd00:1::/64"]
    managers = [m["manager"] for m in got["metadata"]["managedFields"]]
    assert "kubectl" in managers

    # Another manager applying other cidrs conflicts with kubectl's ownership.
    r = s.kubectl(
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        stdin=_cidr("ssa", "10.98.0.0/24"),
    )
    assert r.returncode == 1
    assert r.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl": .spec.cidrs\n'
        "Please review the fields above--they currently have other managers."
    ), r.stderr
    # --force-conflicts takes a field over (a label: the cidrs are immutable).
    labelled = yaml.safe_load(_cidr("ssa", "10.97.0.0/24", "fd00:1::/64"))
    labelled["metadata"]["labels"] = {"team": "a"}
    r = s.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(labelled))
    assert r.returncode == 0, r.stderr
    other = {**labelled, "spec": {}}
    other["metadata"] = {"name": "ssa", "labels": {"team": "b"}}
    r = s.kubectl(
        "apply", "--server-side", "--field-manager=other", "-f", "-", stdin=yaml.safe_dump(other)
    )
    assert r.returncode == 1
    assert 'conflict with "kubectl": .metadata.labels.team' in r.stderr
    r = s.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=other",
        "-f",
        "-",
        stdin=yaml.safe_dump(other),
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(s.kubectl("get", "servicecidr", "ssa", "-o", "json").stdout)
    assert got["metadata"]["labels"] == {"team": "b"}
    assert got["spec"]["cidrs"] == ["10.97.0.0/24", "fd00:1::/64"]


def test_kubectl_get_field_selector_and_describe(serve: Any) -> None:
    s: Running = serve(_served(Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())))
    r = s.kubectl("get", "ipaddress", "--field-selector", "metadata.name=10.96.0.1", "-o", "name")
    assert r.stdout.split() == ["ipaddress.networking.k8s.io/10.96.0.1"], r.stderr
    r = s.kubectl("describe", "servicecidr", "kubernetes")
    assert r.returncode == 0, r.stderr
    assert "10.96.0.0/28" in r.stdout


def test_a_kubectl_process_never_hangs(serve: Any) -> None:
    """A request the server cannot serve (an unknown resource) fails at once."""
    s: Running = serve()
    try:
        r = s.kubectl("get", "pods", timeout=30)
    except subprocess.TimeoutExpired as e:  # pragma: no cover - the failure being tested
        raise AssertionError("kubectl hung") from e
    assert r.returncode == 1
    assert 'the server doesn\'t have a resource type "pods"' in r.stderr
