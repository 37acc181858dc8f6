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


def test_yaml_inputs_are_read_within_go_yamls_bounds(tmp_path: Path) -> None:
    """The importers read YAML as the command line does: an alias bomb, a self-reference,
    deep nesting or a value its tag cannot hold is one malformed-yaml line each."""
    bomb = (
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(
            f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n"
            for p, n in zip("abcdefg", "bcdefgh", strict=True)
        )
        + "kind: Service\napiVersion: v1\nmetadata: {name: x, namespace: default}\n"
    )
    docs = [
        bomb,
        "kind: Service\napiVersion: v1\nmetadata: &m {name: y, labels: *m}\n",
        "kind: Service\napiVersion: v1\nspec: " + "[" * 100_000 + "\n",
        "kind: Service\napiVersion: v1\nmetadata: {name: z, generation: !!int x}\n",
        "kind: Service\napiVersion: v1\nmetadata: {name: ok, namespace: default, uid: u,"
        " resourceVersion: '5', creationTimestamp: 2025-01-01T00:00:00Z}\n"
        "spec: {clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20], ports: [{port: 80}]}\n",
    ]
    path = tmp_path / "dump.yaml"
    path.write_text("---\n".join(docs))
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    report = import_observed(c, "dump", [path]).to_dict()
    bad = report["skipped"]["malformed-yaml"]
    assert bad["count"] == 4
    details = [x["detail"] for x in bad["examples"]]
    assert details[0] == "yaml: document contains excessive aliasing"
    assert details[1] == "yaml: anchor 'm' value contains itself"
    assert details[2] == "yaml: exceeded max depth of 100"
    assert details[3] == "yaml: cannot decode `x` as a !!int"
    # timestamps stay strings, as sigs.k8s.io/yaml keeps them
    assert c.get("Service", "ok")["metadata"]["creationTimestamp"] == "2025-01-01T00:00:00Z"
