"""Readers: every input shape, gzip, folders, stdin, ordering, skips with file and line."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicecidr import Cluster, SimulatedClock
from servicecidr.importers import ImportAborted, import_observed, read_records
from servicecidr.importers.inputs import Record, Skip


def _svc(
    name: str, ip: str, rv: int, ns: str = "default", uid: str | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": uid or f"uid-{name}",
            "resourceVersion": str(rv),
            "creationTimestamp": "2025-03-01T10:00:00Z",
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
        "status": {"loadBalancer": {}},
    }


def _ipa(ip: str, svc: str, rv: int, ns: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip,
            "uid": f"uid-ip-{ip}",
            "resourceVersion": str(rv),
            "creationTimestamp": "2025-03-01T10:00:00Z",
            "labels": {
                "ipaddress.kubernetes.io/ip-family": "IPv4",
                "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
            },
        },
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": ns, "name": svc}},
    }


def event(
    verb: str,
    obj: dict[str, Any] | None,
    *,
    resource: str = "services",
    name: str | None = None,
    ns: str | None = "default",
    code: int = 201,
    t: str = "2025-03-01T10:00:00.000000Z",
    aid: str | None = None,
    uri: str = "/api/v1/namespaces/default/services",
    level: str = "RequestResponse",
    user: str = "alice",
    request: Any = None,
    stage: str = "ResponseComplete",
) -> dict[str, Any]:
    group = "networking.k8s.io" if resource in ("ipaddresses", "servicecidrs") else ""
    ref: dict[str, Any] = {"resource": resource, "apiVersion": "v1"}
    if group:
        ref["apiGroup"] = group
    if ns and not group:
        ref["namespace"] = ns
    nm = name if name is not None else (obj or {}).get("metadata", {}).get("name")
    if nm:
        ref["name"] = nm
    ev: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": aid or f"id-{verb}-{nm}-{t}",
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user},
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": t,
        "stageTimestamp": t,
    }
    if request is not None:
        ev["requestObject"] = request
    if obj is not None and level == "RequestResponse":
        ev["responseObject"] = obj
    return ev


def _lines(*events: Any) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def _cluster() -> Cluster:
    return Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())


def _create_pair(name: str, ip: str, rv: int, t: str) -> list[dict[str, Any]]:
    return [
        event("create", _ipa(ip, name, rv), resource="ipaddresses", t=t, user="system:apiserver"),
        event("create", _svc(name, ip, rv + 1), t=t),
    ]


def test_jsonl_with_malformed_line_reported_with_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "audit.log"
    evs = _create_pair("web", "10.96.0.50", 100, "2025-03-01T10:00:00.000000Z")
    p.write_text(_lines(evs[0]) + '{"kind":"Event", "verb": \n' + _lines(evs[1]) + "\n")
    c = _cluster()
    r = import_observed(c, "audit", [p])
    assert (r.read, r.used) == (3, 2)
    assert dict(r.skipped) == {"malformed-json": 1}
    assert r.examples["malformed-json"][0]["file"] == str(p)
    assert r.examples["malformed-json"][0]["line"] == 2
    assert c.get("Service", "web")["spec"]["clusterIP"] == "10.96.0.50"
    assert c.get("IPAddress", "10.96.0.50")["metadata"]["uid"] == "uid-ip-10.96.0.50"
    with pytest.raises(ImportAborted, match=r"audit\.log:2: malformed-json"):
        import_observed(_cluster(), "audit", [p], strict=True)


def test_event_list_v1beta1_and_legacy_timestamp(tmp_path: Path) -> None:
    evs = _create_pair("web", "10.96.0.50", 100, "2025-03-01T10:00:00.000000Z")
    for e in evs:
        e["apiVersion"] = "audit.k8s.io/v1beta1"
        del e["stageTimestamp"], e["requestReceivedTimestamp"]
        e["timestamp"] = "2025-03-01T10:00:00Z"
    del evs[1]["apiVersion"]
    p = tmp_path / "batch.json"
    p.write_text(json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": evs}))
    c = _cluster()
    r = import_observed(c, "audit", [p])
    assert (r.read, r.used, dict(r.skipped)) == (2, 2, {})
    assert r.first_ts == r.last_ts == 1740823200.0
    assert c.events()[-1].ts == 1740823200.0


def test_gke_aks_cloudwatch_envelopes(tmp_path: Path) -> None:
    gke = {
        "insertId": "x",
        "operation": {"id": "gke-1", "producer": "k8s.io"},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": "dev@example.com"},
            "methodName": "io.k8s.core.v1.services.create",
            "resourceName": "core/v1/namespaces/default/services/a",
            "request": {"@type": "core.k8s.io/v1.Service", **_svc("a", "10.96.0.10", 5)},
            "response": {"@type": "core.k8s.io/v1.Service", **_svc("a", "10.96.0.10", 5)},
            "status": {"code": 0},
        },
        "timestamp": "2025-03-01T10:00:01Z",
    }
    gke_failed = json.loads(json.dumps(gke))
    gke_failed["operation"]["id"] = "gke-2"
    gke_failed["protoPayload"]["status"] = {"code": 6, "message": "already exists"}
    aks_string = {
        "category": "kube-audit",
        "properties": {
            "log": json.dumps(event("create", _svc("b", "10.96.0.11", 6), t="2025-03-01T10:00:02Z"))
        },
    }
    aks_object = {
        "category": "kube-audit-admin",
        "properties": {
            "log": event("create", _svc("c", "10.96.0.12", 7), t="2025-03-01T10:00:03Z")
        },
    }
    cloudwatch = {
        "logEvents": [
            {
                "message": json.dumps(
                    event("create", _svc("d", "10.96.0.13", 8), t="2025-03-01T10:00:04Z")
                )
            }
        ]
    }
    p = tmp_path / "mixed.jsonl"
    p.write_text(_lines(gke, gke_failed, aks_string, aks_object, cloudwatch))
    c = _cluster()
    r = import_observed(c, "audit", [p], ipaddresses="derived")
    assert (r.read, r.used) == (5, 4)
    assert dict(r.skipped) == {"failed": 1}
    assert "409" in r.examples["failed"][0]["detail"]
    for name, ip in (
        ("a", "10.96.0.10"),
        ("b", "10.96.0.11"),
        ("c", "10.96.0.12"),
        ("d", "10.96.0.13"),
    ):
        assert c.get("Service", name)["spec"]["clusterIP"] == ip
        assert c.get("IPAddress", ip)["spec"]["parentRef"]["name"] == name
    actors = [e.actor for e in c.events() if e.verb == "import" and e.kind == "Service"]
    assert actors[0] == "dev@example.com"


def test_yaml_multi_document_and_gzip_and_folder_of_rotated_files(tmp_path: Path) -> None:
    logs = tmp_path / "audit"
    logs.mkdir()
    a = _create_pair("one", "10.96.0.20", 10, "2025-03-01T10:00:00.000000Z")
    b = _create_pair("two", "10.96.0.21", 20, "2025-03-01T11:00:00.000000Z")
    d = [
        event(
            "delete",
            _ipa("10.96.0.20", "one", 30),
            resource="ipaddresses",
            t="2025-03-01T12:00:00.000000Z",
            code=200,
            user="system:apiserver",
        ),
        event("delete", _svc("one", "10.96.0.20", 31), t="2025-03-01T12:00:00.000000Z", code=200),
    ]
    # lumberjack names: backups sort before the current file
    with gzip.open(logs / "audit-2025-03-01T10-30-00.000.log.gz", "wt") as f:
        f.write(_lines(*a))
    (logs / "audit-2025-03-01T11-30-00.000.log").write_text(yaml.safe_dump_all(b))
    (logs / "audit.log").write_text(_lines(*d))
    (logs / "README.md").write_text("# notes\n")
    c = _cluster()
    r = import_observed(c, "audit", [logs])
    assert (r.files, r.read, r.used, dict(r.skipped)) == (3, 6, 6, {})
    assert [s["metadata"]["name"] for s in c.list("Service", "default")] == ["kubernetes", "two"]
    assert not c.engine.store.contains("IPAddress", "10.96.0.20")
    assert r.divergence_counts == {}
    assert r.ignored_files == [str(logs / "README.md")]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _lines(*_create_pair("web", "10.96.0.50", 100, "2025-03-01T10:00:00.000000Z"))
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data.encode())))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stdin", fake)
    c = _cluster()
    r = import_observed(c, "audit", ["-"])
    assert (r.read, r.used) == (2, 2)
    assert r.inputs == ["-"]


def test_skip_reasons(tmp_path: Path) -> None:
    t = "2025-03-01T10:00:00.000000Z"
    evs = [
        event("create", _svc("a", "10.96.0.5", 5), stage="RequestReceived", t=t),
        event("create", _svc("a", "10.96.0.5", 5), stage="Panic", t=t, aid="p"),
        event("get", _svc("a", "10.96.0.5", 5), code=200, t=t),
        {**event("create", _svc("x", "10.96.0.9", 9), t=t), "requestURI": "/api/v1/x?dryRun=All"},
        event("create", None, level="Metadata", name="m", t=t),
        event("patch", None, level="Request", name="p", code=200, request=[{"op": "add"}], t=t),
        event("create", None, resource="pods", name="pod", t=t),
        event("create", _svc("f", "10.96.0.7", 7), code=422, t=t),
        {k: v for k, v in event("create", None, t=t, name="n").items() if k != "objectRef"},
        event("delete", None, level="Metadata", name="absent", code=200, t=t),
        {
            **event("create", _svc("trunc", "10.96.0.8", 8), t=t),
            "annotations": {"audit.k8s.io/truncated": "true"},
        },
    ]
    p = tmp_path / "a.log"
    p.write_text(_lines(*evs))
    r = import_observed(_cluster(), "audit", [p])
    assert dict(r.skipped) == {
        "stage": 1,
        "panic": 1,
        "read-only": 1,
        "dry-run": 1,
        "metadata-only": 2,  # the Metadata create, the truncated one
        "patch-without-body": 1,
        "not-modeled": 1,
        "failed": 1,
        "non-resource": 1,
        "unchanged": 1,  # a delete of something the state never had
    }
    assert r.read == 11
    assert r.used == 0
    assert r.unusable == 4
    lines = {ex["line"] for exs in r.examples.values() for ex in exs}
    assert lines == set(range(1, 12))


def test_duplicate_response_complete_kept_once(tmp_path: Path) -> None:
    e = _create_pair("web", "10.96.0.50", 100, "2025-03-01T10:00:00.000000Z")
    p = tmp_path / "a.log"
    p.write_text(_lines(e[0], e[1], e[1]))
    r = import_observed(_cluster(), "audit", [p])
    assert (r.read, r.used, dict(r.skipped)) == (3, 2, {"duplicate": 1})


def test_out_of_order_lines_are_reordered_and_late_ones_counted(tmp_path: Path) -> None:
    a = _create_pair("a", "10.96.0.30", 10, "2025-03-01T10:00:02.000000Z")
    b = _create_pair("b", "10.96.0.31", 20, "2025-03-01T10:00:01.000000Z")
    p = tmp_path / "a.log"
    p.write_text(_lines(*a, *b))
    got: list[Record] = []
    records = list(read_records("audit", [p], on_skip=lambda s: None))
    got = records
    assert [r.name for r in got] == ["10.96.0.31", "b", "10.96.0.30", "a"]
    c = _cluster()
    r = import_observed(c, "audit", [p])
    assert r.reordered == 2 and r.late == 0
    r2 = import_observed(_cluster(), "audit", [p], reorder_window=1)
    assert r2.late == 2
    assert r2.used == 4


def test_several_files_merged_by_time(tmp_path: Path) -> None:
    # two apiservers, one log each
    (tmp_path / "apiserver-1.log").write_text(
        _lines(
            *_create_pair("a", "10.96.0.30", 10, "2025-03-01T10:00:01.000000Z"),
            *_create_pair("c", "10.96.0.32", 30, "2025-03-01T10:00:03.000000Z"),
        )
    )
    (tmp_path / "apiserver-2.log").write_text(
        _lines(*_create_pair("b", "10.96.0.31", 20, "2025-03-01T10:00:02.000000Z"))
    )
    recs = list(read_records("audit", [tmp_path], on_skip=lambda s: None))
    assert [r.name for r in recs if r.kind == "Service"] == ["a", "b", "c"]


def test_until(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_text(
        _lines(
            *_create_pair("a", "10.96.0.30", 10, "2025-03-01T10:00:01.000000Z"),
            *_create_pair("b", "10.96.0.31", 20, "2025-03-01T10:00:05.000000Z"),
        )
    )
    c = _cluster()
    r = import_observed(c, "audit", [p], until=1740823202.0)
    assert r.used == 2
    assert r.stopped_at == f"{p}:3"
    assert not c.engine.store.contains("Service", "default/b")


def test_dump_list_typed_list_and_multidoc_yaml(tmp_path: Path) -> None:
    generic = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            _svc("a", "10.96.0.40", 40),
            _ipa("10.96.0.40", "a", 41),
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {
                    "name": "extra",
                    "uid": "u-x",
                    "resourceVersion": "42",
                    "creationTimestamp": "2025-03-01T10:00:00Z",
                },
                "spec": {"cidrs": ["10.97.0.0/24"]},
            },
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
        ],
    }
    typed = {
        "apiVersion": "v1",
        "kind": "ServiceList",
        "metadata": {"resourceVersion": "99"},
        "items": [
            {k: v for k, v in _svc("b", "10.97.0.5", 43).items() if k not in ("kind", "apiVersion")}
        ],
    }
    (tmp_path / "list.json").write_text(json.dumps(generic, indent=4))
    (tmp_path / "more.yaml").write_text(yaml.safe_dump_all([typed, _svc("c", "10.96.0.41", 44)]))
    c = _cluster()
    r = import_observed(c, "dump", [tmp_path])
    assert (r.read, r.used, dict(r.skipped), dict(r.divergence_counts)) == (
        6,
        5,
        {"not-modeled": 1},
        {},
    )
    assert c.get("ServiceCIDR", "extra")["spec"]["cidrs"] == ["10.97.0.0/24"]
    assert c.get("IPAddress", "10.97.0.5")["spec"]["parentRef"]["name"] == "b"  # derived
    assert c.get("IPAddress", "10.96.0.40")["metadata"]["uid"] == "uid-ip-10.96.0.40"  # recorded
    assert c.get("Service", "b")["kind"] == "Service"


def test_watch_stream_pretty_printed_and_json_lines(tmp_path: Path) -> None:
    evs = [
        {"type": "ADDED", "object": _svc("a", "10.96.0.60", 60)},
        {"type": "ADDED", "object": _svc("b", "10.96.0.61", 61)},
        {
            "type": "MODIFIED",
            "object": {
                **_svc("a", "10.96.0.60", 62),
                "metadata": {**_svc("a", "10.96.0.60", 62)["metadata"], "labels": {"x": "y"}},
            },
        },
        {
            "type": "BOOKMARK",
            "object": {
                "kind": "Service",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "63"},
            },
        },
        {"type": "DELETED", "object": _svc("b", "10.96.0.61", 64)},
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "code": 410,
                "reason": "Expired",
                "message": "too old resource version",
            },
        },
    ]
    pretty = tmp_path / "watch.json"
    pretty.write_text("".join(json.dumps(e, indent=2) + "\n" for e in evs))
    lines = tmp_path / "watch.jsonl"
    lines.write_text(_lines(*evs))
    for p in (pretty, lines):
        c = _cluster()
        r = import_observed(c, "watch", [p])
        assert (r.read, r.used) == (6, 4), p
        assert dict(r.skipped) == {"bookmark": 1, "watch-error": 1}
        assert c.get("Service", "a")["metadata"]["labels"] == {"x": "y"}
        assert not c.engine.store.contains("Service", "default/b")
        assert not c.engine.store.contains("IPAddress", "10.96.0.61")  # derived, released
        assert c.get("IPAddress", "10.96.0.60")["spec"]["parentRef"]["name"] == "a"
        assert "410" in r.examples["watch-error"][0]["detail"]


def test_pretty_stream_with_a_broken_value_resumes(tmp_path: Path) -> None:
    good = json.dumps({"type": "ADDED", "object": _svc("a", "10.96.0.60", 60)}, indent=2)
    p = tmp_path / "w.json"
    p.write_text(good + '\n{\n  "type": "ADDED",\n  "object": {\n' + good + "\n")
    r = import_observed(_cluster(), "watch", [p])
    assert dict(r.skipped) == {"malformed-json": 1, "unchanged": 1}  # the same ADDED twice
    assert r.examples["malformed-json"][0]["line"] == len(good.splitlines()) + 1
    assert r.used == 1


def test_skip_objects_carry_reasons() -> None:
    s = Skip("f", 3, "failed", "409")
    assert s.where() == "f:3"
