"""pytest-benchmark suite for ``servicecidr serve``: one Service create over HTTP (a kept-
alive connection to a server on loopback), and ``serve_table.py`` run once on a tiny
load, so the suite doubles as a smoke test of the table ``./dev bench`` prints.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from servicecidr import Cluster
from servicecidr.serve import Server

HERE = Path(__file__).resolve().parent


def test_http_create(benchmark: Any) -> None:
    with Server(Cluster("10.0.0.0/16", seed=1), listen="127.0.0.1:0") as srv:
        conn = HTTPConnection(srv.host, srv.port, timeout=30)
        names = (f"s{i}" for i in itertools.count())

        def create() -> int:
            body = {"metadata": {"name": next(names)}, "spec": {"ports": [{"port": 80}]}}
            conn.request(
                "POST",
                "/api/v1/namespaces/default/services",
                json.dumps(body),
                {"Content-Type": "application/json"},
            )
            resp = conn.getresponse()
            resp.read()
            return resp.status

        assert benchmark(create) == 201
        conn.close()


def test_serve_table_runs(tmp_path: Path) -> None:
    out = tmp_path / "serve.json"
    r = subprocess.run(
        [
            sys.executable,
            str(HERE / "serve_table.py"),
            "--creates", "60", "--connections", "4", "--watchers", "3",
            "--fanout-creates", "5", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["http"]["creates"] == 60
    assert doc["fanout"]["watchers"] == 3 and doc["fanout"]["events"] == 5
    assert "creates/s" in r.stdout
