"""What real files from other clusters exposed (issue 13): objects from API servers before
1.20, data ``check`` could not read, a create that names a resourceVersion, empty
collections, unknown fields, and what each importer reader accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servicecidr import ApiError, BadRequestError, Cluster, SimulatedClock
from servicecidr.clock import parse_time
from servicecidr.importers import import_observed, import_what_if

Obj = dict[str, Any]


def cluster(range_: str = "10.96.0.0/24") -> Cluster:
    return Cluster(range_, seed=1, clock=SimulatedClock())


def old_service(name: str, cluster_ip: str, **spec: Any) -> Obj:
    """A Service as an API server before 1.20 stored and served it: ``clusterIP`` only."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "resourceVersion": "100",
            "creationTimestamp": "2019-05-01T10:00:00Z",
        },
        "spec": {"clusterIP": cluster_ip, "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def write_list(path: Path, items: list[Obj]) -> Path:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2))
    return path


# ------------------------------------------------------------------ objects before 1.20


def test_objects_from_before_1_20_are_read_as_kube_apiserver_reads_them(tmp_path: Path) -> None:
    lb = old_service("lb", "10.96.0.30", type="LoadBalancer", selector={"app": "lb"})
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}
    items = [
        old_service("web", "10.96.0.20", selector={"app": "web"}),
        old_service("headless", "None", selector={"app": "h"}),
        old_service("bare", "None"),  # headless without a selector: dual-stack
        {
            **old_service("ext", ""),
            "spec": {
                "type": "ExternalName",
                "externalName": "a.example",
                "internalTrafficPolicy": "Cluster",
            },
        },
        lb,
    ]
    c = cluster()
    import_observed(c, "dump", [write_list(tmp_path / "old.json", items)])
    web = c.get("Service", "web")["spec"]
    assert (web["clusterIPs"], web["ipFamilies"], web["ipFamilyPolicy"]) == (
        ["10.96.0.20"],
        ["IPv4"],
        "SingleStack",
    )
    headless = c.get("Service", "headless")["spec"]
    assert (headless["clusterIPs"], headless["ipFamilies"], headless["ipFamilyPolicy"]) == (
        ["None"],
        ["IPv4"],
        "SingleStack",
    )
    bare = c.get("Service", "bare")["spec"]
    assert (bare["ipFamilies"], bare["ipFamilyPolicy"]) == (["IPv4", "IPv6"], "RequireDualStack")
    ext = c.get("Service", "ext")["spec"]
    assert "internalTrafficPolicy" not in ext and "ipFamilies" not in ext
    got = c.get("Service", "lb")
    assert got["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.7", "ipMode": "VIP"}]
    assert got["spec"]["allocateLoadBalancerNodePorts"] is True
    # the repair loop keeps the IPAddress the import derived; nobody else gets the address
    c.reconcile()
    assert c.get("IPAddress", "10.96.0.20")["spec"]["parentRef"]["name"] == "web"
    with pytest.raises(ApiError, match="provided IP is already allocated"):
        c.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "thief"},
                "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 80}]},
            }
        )
    assert c.check()[0] == []


def test_a_raw_put_of_an_older_service_reads_back_normalised() -> None:
    c = cluster()
    stored = c.store(old_service("raw", "10.96.0.40"))
    assert stored["spec"]["clusterIPs"] == ["10.96.0.40"]
    assert c.get("Service", "raw")["spec"]["ipFamilies"] == ["IPv4"]


# ------------------------------------------------------------------ check


def test_check_finds_two_services_holding_one_address_whatever_their_shape() -> None:
    c = cluster()
    c.store(old_service("a", "10.96.0.50"))
    # the same address in another spelling of the plural field
    c.store(
        {
            **old_service("b", "10.96.0.50"),
            "spec": {"clusterIPs": ["10.96.0.50"], "ports": [{"port": 1}]},
        }
    )
    kinds = {(p.type, p.object) for p in c.check()[0]}
    assert ("duplicate-clusterip", "services/default/b") in kinds
    c6 = cluster("fd00::/108")
    c6.store(old_service("a", "fd00::a"))
    c6.store(old_service("b", "fd00:0::000a"))
    assert ("duplicate-clusterip", "services/default/b") in {
        (p.type, p.object) for p in c6.check()[0]
    }


def test_check_reports_stored_data_it_cannot_read_and_never_fails(tmp_path: Path) -> None:
    c = cluster()
    dump = write_list(tmp_path / "odd.json", [old_service("odd", "26")])
    import_observed(c, "dump", [dump])
    c.store(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {"name": "not-an-ip"},
            "spec": {"parentRef": {"resource": "services", "namespace": "d", "name": "x"}},
        }
    )
    problems, counts = c.check()
    assert {(p.type, p.ip, p.message) for p in problems} == {
        ("invalid-address", "26", "ClusterIP '26' is not an IP address"),
        ("invalid-address", "not-an-ip", "IPAddress name 'not-an-ip' is not an IP address"),
    }
    assert counts["services"] == 2


# ------------------------------------------------------------------ requests


def test_a_create_naming_a_resource_version_is_refused_as_etcd_refuses_it() -> None:
    c = cluster()
    saved = c.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"ports": [{"port": 80}]},
        }
    )
    c.delete("Service", "web")
    before = c.digest()
    for body in (
        saved,
        {**saved, "kind": "Service"},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "x", "resourceVersion": "12"},
            "spec": {"cidrs": ["10.100.0.0/24"]},
        },
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "n", "resourceVersion": "3"},
        },
    ):
        for verb in (c.create, c.apply):
            with pytest.raises(ApiError) as e:
                verb(body)
            assert (e.value.reason, e.value.code, e.value.message) == (
                "Unknown",
                500,
                "resourceVersion should not be set on objects to be created",
            )
    assert c.digest() == before
    c.create(saved, dry_run=True)  # a dry run never reaches etcd
    meta = {**saved["metadata"], "resourceVersion": "0"}
    c.create({**saved, "metadata": meta})  # zero is no version


def test_empty_lists_and_maps_are_not_kept() -> None:
    c = cluster()
    got = c.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "labels": {}, "annotations": {}, "finalizers": []},
            "spec": {
                "selector": {},
                "externalIPs": [],
                "loadBalancerSourceRanges": [],
                "ports": [{"port": 80}],
            },
        }
    )
    for obj in (got, c.get("Service", "web")):
        assert not {"labels", "annotations", "finalizers"} & set(obj["metadata"])
        assert not {"selector", "externalIPs", "loadBalancerSourceRanges"} & set(obj["spec"])
    ext = c.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ext"},
            "spec": {"type": "ExternalName", "externalName": "a.example", "ports": []},
        }
    )
    assert "ports" not in ext["spec"]


def test_field_validation_is_kube_apiservers() -> None:
    c = cluster()
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ipFamily": "IPv4", "ports": [{"port": 80}]},
    }
    with pytest.raises(BadRequestError) as e:
        c.create(body, field_validation="Strict")
    assert e.value.message == (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.ipFamily"'
    )
    with pytest.raises(BadRequestError, match="strict decoding error"):
        c.apply(body, field_validation="Strict")
    assert c.create_with_warnings(body, dry_run=True)[1] == ['unknown field "spec.ipFamily"']
    assert c.create_with_warnings(body, field_validation="Ignore")[1] == []
    with pytest.raises(BadRequestError, match="strict decoding error"):
        c.update({**c.get("Service", "web"), "extra": 1}, field_validation="Strict")
    with pytest.raises(BadRequestError, match='fieldValidation parameter unsupported: "bogus"'):
        c.create(body, field_validation="bogus")  # type: ignore[arg-type]


# ------------------------------------------------------------------ importers


MANIFEST = """apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata:
  name: bad
spec:
  cidrs:
  - 10.100.0.0/24
  - 10.101.0.0/24
"""


def test_one_rule_for_what_the_readers_accept(tmp_path: Path) -> None:
    f = tmp_path / "manifest.yaml"
    f.write_text(MANIFEST)
    c = cluster()
    r = import_observed(c, "watch", [f])
    assert (r.used, dict(r.skipped), dict(r.divergence_counts)) == (0, {"unknown-shape": 1}, {})
    assert "a manifest (no uid or resourceVersion)" in r.examples["unknown-shape"][0]["detail"]
    assert [s["metadata"]["name"] for s in c.list("ServiceCIDR")] == ["kubernetes"]
    r = import_observed(c, "dump", [f])
    assert (r.used, dict(r.skipped), dict(r.divergence_counts)) == (0, {"invalid-object": 1}, {})
    assert r.examples["invalid-object"][0]["detail"].startswith(
        'ServiceCIDR.networking.k8s.io "bad" is invalid: spec.cidrs: Invalid value'
    )
    assert [s["metadata"]["name"] for s in c.list("ServiceCIDR")] == ["kubernetes"]


def test_a_watch_import_reports_reordering_by_resource_version(tmp_path: Path) -> None:
    lines = []
    for name, rv in (("a", "30"), ("b", "10"), ("c", "20")):
        obj = old_service(name, "")
        obj["metadata"]["resourceVersion"] = rv
        obj["spec"] = {"clusterIP": "None", "ports": [{"port": 80}]}
        lines.append(json.dumps({"type": "ADDED", "object": obj}))
    f = tmp_path / "watch.jsonl"
    f.write_text("\n".join(lines) + "\n")
    r = import_observed(cluster(), "watch", [f])
    assert r.reordered == 2
    text = r.to_text()
    assert "reordered by resourceVersion" in text and "stageTimestamp" not in text


def test_what_if_never_prints_a_peak_without_a_time(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n"
    )
    r = import_what_if(
        "dump",
        [f],
        service_cluster_ip_range="10.96.0.0/24",
        add_service_cidrs=[("unused", ["10.97.0.0/28"])],
    )
    text = r.to_text()
    assert "peak 10.97.0.0/28" in text and " at ?" not in text
    assert r.peaks["10.97.0.0/28"]["time"] == "2025-01-01T00:00:00.000000Z"


def test_after_an_import_nothing_is_younger_than_the_states_clock(tmp_path: Path) -> None:
    c = cluster()
    svc = old_service("later", "10.96.0.60")
    svc["metadata"]["creationTimestamp"] = "2031-03-04T05:06:07Z"
    import_observed(c, "dump", [write_list(tmp_path / "d.json", [svc])])
    assert c.clock.now() >= parse_time("2031-03-04T05:06:07Z")
