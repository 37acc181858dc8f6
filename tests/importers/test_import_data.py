"""Every file of ../shared/data imports without a crash, with the counts its README leads
a reader to expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED
from servicecidr import Cluster, SimulatedClock
from servicecidr.importers import ImportAborted, import_observed, import_what_if
from servicecidr.importers.report import ImportReport

DATA = SHARED / "data"
AUDIT = DATA / "audit"
MANIFESTS = DATA / "manifests"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"no shared data at {DATA}")


def _cluster(rng: str = "10.96.0.0/12") -> Cluster:
    return Cluster(rng, seed=1, clock=SimulatedClock())


def _observed(fmt: str, path: Path, rng: str = "10.96.0.0/12") -> tuple[Cluster, ImportReport]:
    c = _cluster(rng)
    return c, import_observed(c, fmt, [path])


def _counts(r: ImportReport) -> dict[str, Any]:
    return {
        "files": r.files,
        "read": r.read,
        "used": r.used,
        "skipped": dict(r.skipped),
        "divergences": dict(r.divergence_counts),
    }


def test_falco_folder() -> None:
    c, r = _observed("audit", AUDIT / "falco-k8s-audit")
    assert _counts(r) == {
        "files": 47,  # the README is left out
        "read": 52,
        "used": 7,  # 3 Service creates, 1 Service delete, 2 Namespace creates, 1 delete
        "skipped": {
            "unknown-shape": 1,  # fal_01_003.json: {"kind": 0}
            "duplicate": 1,  # two trimmed copies share an auditID
            "not-modeled": 40,
            "read-only": 1,
            "stage": 2,  # attach and exec: ResponseStarted
        },
        # create_nginx_service_{nodeport,nonodeport} both create default/nginx with no
        # delete between them: the fixture is not one history
        "divergences": {"created-twice": 1},
    }
    assert r.ignored_files == [str(AUDIT / "falco-k8s-audit" / "README.md")]
    [ex] = r.examples["unknown-shape"]
    assert ex["file"].endswith("fal_01_003.json")
    assert "kind is 0" in ex["detail"]
    # Request level: the Services are known, their ClusterIPs are not
    assert r.notes["Services without their ClusterIP (Request level: IP unknown)"] == 3
    nginx = c.get("Service", "nginx", "default")
    assert "clusterIP" not in nginx["spec"]
    assert nginx["metadata"]["creationTimestamp"] == "2018-10-26T13:12:04Z"
    assert r.first_ts is not None and r.last_ts is not None
    assert [s["metadata"]["name"] for s in c.list("Namespace")] == [
        "default",
        "foo",  # the log's own
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]


def test_falco_malformed_event_alone_and_strict() -> None:
    _, r = _observed("audit", AUDIT / "falco-k8s-audit" / "fal_01_003.json")
    assert _counts(r) == {
        "files": 1,
        "read": 1,
        "used": 0,
        "skipped": {"unknown-shape": 1},
        "divergences": {},
    }
    with pytest.raises(ImportAborted, match=r"fal_01_003.json:1: unknown-shape"):
        import_observed(_cluster(), "audit", [AUDIT / "falco-k8s-audit"], strict=True)


def test_falco_service_create_request_level() -> None:
    c, r = _observed("audit", AUDIT / "falco-k8s-audit" / "create_service.json")
    assert (r.read, r.used) == (1, 1)
    svc = c.get("Service", "nginx", "default")
    assert svc["spec"]["selector"] == {"app": "nginx"}
    ev = c.events()[-1]
    assert (ev.verb, ev.actor) == ("import", "minikube-user")
    assert ev.extra is not None and ev.extra["auditID"] == "75b22022-d079-44e5-90a7-25be235ab235"


def test_audit2rbac_changes_nothing() -> None:
    c, r = _observed("audit", AUDIT / "audit2rbac" / "demo.log")
    before = _cluster().digest()
    assert _counts(r) == {
        "files": 1,
        "read": 37,
        "used": 0,
        "skipped": {"read-only": 37},
        "divergences": {},
    }
    denied = [ex for ex in r.examples["read-only"] if "(403)" in ex["detail"]]
    assert denied, "the 403s are named"
    assert c.digest() == before


def test_audit2rbac_policy_file_is_not_an_event() -> None:
    _, r = _observed("audit", AUDIT / "audit2rbac" / "demo-policy.yaml")
    assert dict(r.skipped) == {"unknown-shape": 1}
    assert "Policy" in r.examples["unknown-shape"][0]["detail"]


def test_khi_yaml_event_and_gke_envelope() -> None:
    _, r = _observed("audit", AUDIT / "khi")
    assert _counts(r) == {
        "files": 2,
        "read": 2,
        "used": 0,
        "skipped": {"not-modeled": 2},
        "divergences": {},
    }
    details = sorted(ex["detail"] for ex in r.examples["not-modeled"])
    assert details == ["leases.coordination.k8s.io", "pods"]


def test_panther_envelopes_and_the_409() -> None:
    c, r = _observed("audit", AUDIT / "panther-analysis" / "k8s_service_nodeport.yml")
    assert _counts(r) == {
        "files": 1,
        "read": 6,
        "used": 3,  # EKS and GKE create default/test-ns, AKS creates default/test-svc
        "skipped": {
            "failed": 1,  # the 409
            "no-name": 1,  # "ClusterIP Service Created" names no Service
            "read-only": 1,  # the get
        },
        "divergences": {"created-twice": 1},  # EKS and GKE tests both create test-ns
    }
    assert "409" in r.examples["failed"][0]["detail"]
    names = sorted(s["metadata"]["name"] for s in c.list("Service", "default"))
    assert names == ["kubernetes", "test-ns", "test-svc"]
    assert c.get("Service", "test-svc", "default")["spec"]["type"] == "NodePort"
    actors = [e.actor for e in c.events() if e.verb == "import"]
    assert actors == ["user@example.com", "admin@example.com", "user@company.com"]


def test_kube_audit_rest_is_not_an_audit_log() -> None:
    _, r = _observed("audit", AUDIT / "kube-audit-rest" / "kube-audit-rest.log")
    assert _counts(r) == {
        "files": 1,
        "read": 59,
        "used": 0,
        "skipped": {"unknown-shape": 59},
        "divergences": {},
    }
    assert "AdmissionReview" in r.examples["unknown-shape"][0]["detail"]


def test_k3s_support_bundle_dump() -> None:
    c, r = _observed("dump", MANIFESTS / "troubleshoot-k3s-support-bundle", "10.43.0.0/16")
    assert _counts(r) == {
        "files": 4,
        "read": 4,
        "used": 4,
        "skipped": {},
        "divergences": {},
    }
    ips = {
        f"{s['metadata']['namespace']}/{s['metadata']['name']}": s["spec"]["clusterIP"]
        for s in c.list("Service")
    }
    assert ips == {
        "default/kubernetes": "10.43.0.1",
        "kube-system/kube-dns": "10.43.0.10",
        "kube-system/metrics-server": "10.43.217.1",
        "kube-system/traefik": "10.43.221.30",
    }
    # the allocator's IPAddresses, derived from the ClusterIPs (k3s keeps no IPAddress)
    parents = {
        ip["metadata"]["name"]: ip["spec"]["parentRef"]["name"] for ip in c.list("IPAddress")
    }
    assert parents == {
        "10.43.0.1": "kubernetes",
        "10.43.0.10": "kube-dns",
        "10.43.217.1": "metrics-server",
        "10.43.221.30": "traefik",
    }
    assert r.notes["IPAddresses derived from Service ClusterIPs"] == 3
    dns = c.get("Service", "kube-dns", "kube-system")
    assert dns["metadata"]["uid"] == "3dbe978d-945f-49c2-83d8-3424f280befd"
    assert "managedFields" not in dns["metadata"]
    [sc] = r.state
    assert sc["ranges"][0]["cidr"] == "10.43.0.0/16" and sc["ranges"][0]["used"] == 4


def test_kube_prometheus_manifests_go_through_the_engine() -> None:
    c, r = _observed("dump", MANIFESTS / "kube-prometheus")
    assert (r.read, r.used, dict(r.skipped), dict(r.divergence_counts)) == (2, 2, {}, {})
    grafana = c.get("Service", "grafana", "monitoring")
    ksm = c.get("Service", "kube-state-metrics", "monitoring")
    assert grafana["spec"]["clusterIP"].startswith("10.")
    assert ksm["spec"]["clusterIP"] == "None"
    assert c.count("IPAddress") == 2  # default/kubernetes and grafana; headless takes none


def test_kubectl_typed_list_without_namespace() -> None:
    c, r = _observed("dump", MANIFESTS / "kubernetes-hack-testdata")
    assert (r.read, r.used, dict(r.skipped)) == (2, 2, {})
    assert sorted(s["metadata"]["name"] for s in c.list("Service", "default")) == [
        "kubernetes",
        "mock",
        "mock2",
    ]


def _all_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file()) if DATA.is_dir() else []


@pytest.mark.parametrize("fmt", ["audit", "dump", "watch"])
@pytest.mark.parametrize("path", _all_files(), ids=lambda p: str(p.relative_to(DATA)))
def test_every_file_imports_without_a_crash(path: Path, fmt: str) -> None:
    r = import_observed(_cluster(), fmt, [path])
    assert r.files == 1
    assert r.to_text() and r.to_json()
    w = import_what_if(fmt, [path], service_cluster_ip_range="10.96.0.0/24")
    assert w.to_text() and w.to_json()
