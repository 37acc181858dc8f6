"""Dumps and watch streams with objects kube-apiserver could never have served: each is
reported as a line (file, line, why) and never stored; the import goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.api import decode
from servicecidr.importers import import_observed


def svc(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"u-{name}",
            "resourceVersion": "100",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            **meta,
        },
        "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "ports": [{"port": 80}]},
    }


def ipa(name: str, spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": name,
            "uid": f"u-{name}",
            "resourceVersion": "101",
            "creationTimestamp": "2025-01-01T00:00:00Z",
        },
        "spec": spec,
    }


BAD: list[tuple[Any, str]] = [
    (ipa("10.96.0.30", {"parentRef": "x"}), "IPAddressSpec.spec.parentRef"),
    (ipa("10.96.0.31", 1.5), "IPAddress.spec of type"),
    (svc("rv", resourceVersion="1" * 40), "is not an etcd revision"),
    (svc("big", labels={"a": "b"}, generation=10**30), "metadata.generation: the integer"),
    (svc("late", creationTimestamp="9999-12-31T23:59:59-23:59"), "year out of range"),
    (svc("deep") | {"extra": json.loads("[" * 150 + "]" * 150)}, "nested deeper than 100"),
]


def _check(c: Cluster, before: str, report: dict[str, Any], path: Path) -> None:
    got = report["skipped"]["invalid-object"]
    assert got["count"] == len(BAD)
    assert got["examples"]
    for x in got["examples"]:  # (watch streams are ordered by resourceVersion)
        assert x["file"] == str(path)
        assert BAD[x["line"] - 1][1] in x["detail"], x
    for kind in ("Service", "IPAddress"):
        for obj in c.list(kind):
            decode.check(obj)
    assert Cluster.replay(c.events(), c.service_cluster_ip_range, c.seed).digest() == c.digest()
    c.reconcile()
    assert c.get("Service", "ok")["spec"]["clusterIP"] == "10.96.0.20"


@pytest.mark.parametrize("fmt", ["dump", "watch"])
def test_hostile_objects_are_reported_never_stored(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"in.{fmt}.json"
    docs = [obj for obj, _ in BAD] + [svc("ok")]
    if fmt == "watch":
        docs = [{"type": "ADDED", "object": d} for d in docs]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    before = c.digest()
    report = import_observed(c, fmt, [path]).to_dict()
    _check(c, before, report, path)
