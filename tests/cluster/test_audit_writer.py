"""The engine's audit log: one audit.k8s.io/v1 Event per storage write, as kube-apiserver
audits its own loopback and controller clients, plus failed and dry-run calls."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.auditwriter import AuditWriter
from servicecidr.errors import ApiError


def _read(p: Path) -> list[dict[str, Any]]:
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt") as f:
        return [json.loads(line) for line in f]


def _svc(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def _summary(ev: dict[str, Any]) -> tuple[str, str, str, str, int]:
    ref = ev["objectRef"]
    return (
        ev["verb"],
        ref["resource"] + ("/" + ref["subresource"] if ref.get("subresource") else ""),
        ref.get("name", ""),
        ev["user"]["username"],
        ev["responseStatus"]["code"],
    )


def test_start_writes_are_audited_as_the_apiserver(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock(), audit_log=log)
    evs = _read(log)
    assert [_summary(e) for e in evs] == [
        # the system-namespaces controller, then the default ServiceCIDR and Service
        ("create", "namespaces", "kube-system", "system:apiserver", 201),
        ("create", "namespaces", "kube-public", "system:apiserver", 201),
        ("create", "namespaces", "kube-node-lease", "system:apiserver", 201),
        ("create", "namespaces", "default", "system:apiserver", 201),
        ("create", "servicecidrs", "kubernetes", "system:apiserver", 201),
        ("patch", "servicecidrs/status", "kubernetes", "system:apiserver", 200),
        ("create", "ipaddresses", "10.96.0.1", "system:apiserver", 201),
        ("create", "services", "kubernetes", "system:apiserver", 201),
    ]
    for e in evs:
        assert e["kind"] == "Event" and e["apiVersion"] == "audit.k8s.io/v1"
        assert e["level"] == "RequestResponse" and e["stage"] == "ResponseComplete"
        assert e["stageTimestamp"] == "2025-01-01T00:00:00.000000Z"
        assert e["requestReceivedTimestamp"] == e["stageTimestamp"]
        assert isinstance(e["responseObject"], dict)
    assert len({e["auditID"] for e in evs}) == 8
    assert evs[0]["requestURI"] == "/api/v1/namespaces"
    assert evs[4]["requestURI"] == "/apis/networking.k8s.io/v1/servicecidrs"
    assert evs[5]["requestURI"].startswith(
        "/apis/networking.k8s.io/v1/servicecidrs/kubernetes/status?fieldManager="
    )
    assert evs[7]["requestURI"] == "/api/v1/namespaces/default/services"


def test_user_calls_and_nested_allocator_writes(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/28", seed=1, clock=clock, audit_log=log)
    n0 = len(_read(log))
    clock.advance(2)
    svc = c.create(_svc("web"))
    ip = svc["spec"]["clusterIP"]
    evs = _read(log)[n0:]
    assert [_summary(e) for e in evs] == [
        ("create", "ipaddresses", ip, "system:apiserver", 201),  # nested: completes first
        ("create", "services", "web", "kubernetes-admin", 201),
    ]
    create = evs[1]
    assert "clusterIP" not in create["requestObject"]["spec"]  # allocated after the request
    assert create["responseObject"]["spec"]["clusterIP"] == ip
    assert create["annotations"]["servicecidr.io/actor"] == "user"
    assert evs[0]["annotations"]["servicecidr.io/actor"] == "ipallocator"
    assert evs[0]["responseObject"]["spec"]["parentRef"]["name"] == "web"
    assert create["stageTimestamp"] == "2025-01-01T00:00:02.000000Z"

    n1 = len(_read(log))
    c.delete("Service", "web")
    evs = _read(log)[n1:]
    assert [_summary(e) for e in evs] == [
        ("delete", "ipaddresses", ip, "system:apiserver", 200),
        ("delete", "services", "web", "kubernetes-admin", 200),
    ]
    # a deleted object comes back with the revision of its deletion
    assert (
        int(evs[1]["responseObject"]["metadata"]["resourceVersion"]) == c.engine.store.revision - 1
    )
    assert int(evs[0]["responseObject"]["metadata"]["resourceVersion"]) == c.engine.store.revision


def test_failed_and_dry_run_calls_are_audited(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock(), audit_log=log)
    c.create(_svc("web"))
    n0 = len(_read(log))
    with pytest.raises(ApiError):
        c.create(_svc("web"))
    c.create(_svc("dry"), dry_run=True)
    evs = _read(log)[n0:]
    assert [e["responseStatus"]["code"] for e in evs] == [409, 201]
    assert evs[0]["responseStatus"]["reason"] == "AlreadyExists"
    assert evs[0]["responseStatus"]["status"] == "Failure"
    assert "responseObject" not in evs[0]
    assert evs[1]["requestURI"].endswith("?dryRun=All")
    assert not c.engine.store.contains("Service", "default/dry")


def test_controllers_write_with_their_identities(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/28", seed=1, clock=clock, audit_log=log)
    n0 = len(_read(log))
    c.reconcile()
    evs = _read(log)[n0:]
    kcm = "system:serviceaccount:kube-system:service-cidr-controller"
    assert [_summary(e) for e in evs] == [
        ("patch", "servicecidrs", "kubernetes", kcm, 200),  # the finalizer
        ("patch", "servicecidrs/status", "kubernetes", kcm, 200),  # Ready, server-side apply
    ]
    assert evs[0]["requestObject"] == {
        "metadata": {
            "finalizers": ["networking.k8s.io/service-cidr-finalizer"],
            "resourceVersion": "6",  # after the four namespaces and the status patch
        }
    }
    assert evs[1]["requestObject"]["status"]["conditions"][0]["message"] == (
        "Kubernetes Service CIDR is ready"
    )
    assert "kube-controller-manager/" in evs[0]["userAgent"]


def test_store_writes_and_repair(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock(), audit_log=log)
    n0 = len(_read(log))
    c.store(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "raw"},
            "spec": {"clusterIP": "10.96.0.9", "clusterIPs": ["10.96.0.9"], "ports": [{"port": 1}]},
        }
    )
    c.reconcile()
    evs = _read(log)[n0:]
    raw = evs[0]
    assert _summary(raw)[:4] == ("create", "services", "raw", "system:servicecidr:storage")
    assert raw["annotations"]["servicecidr.io/raw-storage-write"] == "true"
    repaired = [e for e in evs if e["objectRef"].get("name") == "10.96.0.9"]
    assert [_summary(e)[:4] for e in repaired] == [
        ("create", "ipaddresses", "10.96.0.9", "system:apiserver")
    ]
    events = [e for e in evs if e["objectRef"]["resource"] == "events"]
    assert events and events[0]["objectRef"]["apiGroup"] == "events.k8s.io"


def test_servicecidr_terminating_then_removed(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    clock = SimulatedClock()
    c = Cluster("10.96.0.0/28", seed=1, clock=clock, audit_log=log)
    c.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "extra"},
            "spec": {"cidrs": ["10.97.0.0/28"]},
        }
    )
    c.reconcile()
    n0 = len(_read(log))
    c.delete("ServiceCIDR", "extra")
    c.reconcile()
    evs = _read(log)[n0:]
    delete = evs[0]
    assert _summary(delete)[:2] == ("delete", "servicecidrs")
    assert delete["responseObject"]["metadata"]["deletionTimestamp"]
    assert delete["responseObject"]["metadata"]["finalizers"]
    last = evs[-1]
    assert _summary(last)[:2] == ("patch", "servicecidrs")
    assert "finalizers" not in last["responseObject"]["metadata"]
    assert not c.engine.store.contains("ServiceCIDR", "extra")


def test_gzip_and_reopen_appends_with_new_ids(tmp_path: Path) -> None:
    log = tmp_path / "audit.log.gz"
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock(), audit_log=log)
    w = AuditWriter.of(c)
    assert w is not None
    w.close()
    first = _read(log)
    c2 = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock(), audit_log=log)
    w2 = AuditWriter.of(c2)
    assert w2 is not None and w2.events_written == 8
    w2.close()
    both = _read(log)
    assert len(both) == 2 * len(first)
    assert len({e["auditID"] for e in both}) == len(both)


def test_no_writer_without_audit_log() -> None:
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())
    assert AuditWriter.of(c) is None


def test_admission_audit_annotations_go_on_the_request_event(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock(), audit_log=log)
    rules = [
        {
            "apiGroups": ["networking.k8s.io"],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["servicecidrs"],
        }
    ]
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "annotate"},
            "spec": {
                "matchConstraints": {"resourceRules": rules},
                "validations": [{"expression": "true"}],
                "auditAnnotations": [
                    {"key": "ranges", "valueExpression": "object.spec.cidrs.join(', ')"}
                ],
            },
        }
    )
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "annotate"},
            "spec": {"policyName": "annotate", "validationActions": ["Deny"]},
        }
    )
    c.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "x"},
            "spec": {"cidrs": ["10.100.0.0/24"]},
        }
    )
    last = _read(log)[-1]
    assert _summary(last)[:3] == ("create", "servicecidrs", "x")
    assert last["annotations"]["annotate/ranges"] == "10.100.0.0/24"
