"""``servicecidr serve --state DIR`` killed with SIGKILL loses no acknowledged write; the
restarted server continues with the same objects and resourceVersions, and a watch
resumes from a revision, or gets 410 Expired when the history no longer reaches it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from servicecidr import Cluster


def _start(state: Path, kubeconfig: Path) -> tuple[subprocess.Popen[str], str]:
    kubeconfig.unlink(missing_ok=True)
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicecidr",
            "--state",
            str(state),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig-out",
            str(kubeconfig),
            "--service-cluster-ip-range",
            "10.96.0.0/24",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.monotonic() + 60
    while not kubeconfig.exists():
        if p.poll() is not None:
            raise AssertionError(f"the server exited: {p.communicate()}")
        assert time.monotonic() < end, "the server did not start"
        time.sleep(0.05)
    url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return p, str(url)


def _req(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _watch(url: str, path: str, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with urllib.request.urlopen(url + path, timeout=30) as resp:
        while len(out) < n:
            line = resp.readline()
            if not line:
                break
            out.append(json.loads(line))
    return out


SVCS = "/api/v1/namespaces/default/services"


def _svc(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}}


def test_sigkill_loses_no_acknowledged_write(tmp_path: Path) -> None:
    state, kc = tmp_path / "state", tmp_path / "kubeconfig"
    p, url = _start(state, kc)
    acked: dict[str, dict[str, Any]] = {}
    try:
        for i in range(20):
            code, obj = _req(
                url,
                "POST",
                SVCS,
                {"metadata": {"name": f"s{i}"}, "spec": {"ports": [{"port": 80}]}},
            )
            assert code == 201, obj
            acked[f"s{i}"] = obj
        code, _ = _req(url, "DELETE", f"{SVCS}/s3")
        assert code == 200
        del acked["s3"]
        mid = int(acked["s10"]["metadata"]["resourceVersion"])
        code, listed = _req(url, "GET", SVCS)
        last_rv = int(listed["metadata"]["resourceVersion"])
    finally:
        p.send_signal(signal.SIGKILL)
        p.communicate()
    assert p.returncode == -signal.SIGKILL

    p, url = _start(state, kc)
    try:
        code, listed = _req(url, "GET", SVCS)
        got = {o["metadata"]["name"]: o for o in listed["items"]}
        assert int(listed["metadata"]["resourceVersion"]) >= last_rv
        for name, obj in acked.items():
            assert name in got, f"{name} was acknowledged, then lost"
            for f in ("resourceVersion", "uid"):
                assert got[name]["metadata"][f] == obj["metadata"][f]
            assert got[name]["spec"]["clusterIP"] == obj["spec"]["clusterIP"]
        assert "s3" not in got
        # The history continues: new writes get later revisions.
        code, obj = _req(
            url, "POST", SVCS, {"metadata": {"name": "after"}, "spec": {"ports": [{"port": 80}]}}
        )
        assert code == 201 and int(obj["metadata"]["resourceVersion"]) > last_rv
        # A watch resumes from a revision before the kill.
        events = _watch(url, f"{SVCS}?watch=true&resourceVersion={mid}", 9)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
            ("ADDED", f"s{i}") for i in range(11, 20)
        ]
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err

    # After a snapshot the history before it is gone: a watch from there gets 410.
    with Cluster.open(state) as c:
        c.snapshot()
    p, url = _start(state, kc)
    try:
        events = _watch(url, f"{SVCS}?watch=true&resourceVersion={mid}", 1)
        assert len(events) == 1 and events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["code"] == 410 and status["reason"] == "Expired"
        assert status["message"].startswith(f"too old resource version: {mid} (")
        code, listed = _req(url, "GET", SVCS)
        assert {o["metadata"]["name"] for o in listed["items"]} >= set(acked)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
