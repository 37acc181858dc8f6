"""Namespaces as kube-apiserver has them, and the NamespaceLifecycle admission plugin
(apiserver plugin/namespace/lifecycle/admission.go; pkg/registry/core/namespace;
pkg/controller/namespace/deletion; pkg/controlplane/controller/systemnamespaces)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from servicecidr import (
    Cluster,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    SimulatedClock,
)
from servicecidr.conformance import run_scenario
from servicecidr.importers import import_observed, import_what_if
from servicecidr.sim import Simulation, model_from_dict

Obj = dict[str, Any]


def cluster(range_: str | None = "10.96.0.0/28") -> Cluster:
    return Cluster(range_, seed=1, clock=SimulatedClock())


def ns(name: str, **spec: Any) -> Obj:
    obj: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if spec:
        obj["spec"] = spec
    return obj


def svc(name: str, namespace: str = "default", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def names(c: Cluster) -> list[str]:
    return [n["metadata"]["name"] for n in c.list("Namespace")]


def test_kube_apiservers_four_namespaces_exist_from_the_start() -> None:
    for range_ in ("10.96.0.0/28", None):
        c = cluster(range_)
        assert names(c) == ["default", "kube-node-lease", "kube-public", "kube-system"]
        default = c.get("Namespace", "default")
        assert default["metadata"]["labels"] == {"kubernetes.io/metadata.name": "default"}
        assert default["spec"] == {"finalizers": ["kubernetes"]}
        assert default["status"] == {"phase": "Active"}
        assert list(default) == ["apiVersion", "kind", "metadata", "spec", "status"]


def test_a_namespace_is_active_with_the_kubernetes_finalizer_and_its_name_label() -> None:
    c = cluster()
    got = c.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "other"}},
            "spec": {"finalizers": ["example.com/x"]},
            "status": {"phase": "Terminating"},
        }
    )
    assert got["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert got["spec"] == {"finalizers": ["example.com/x", "kubernetes"]}
    assert got["status"] == {"phase": "Active"}
    generated = c.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": "gen-"}}
    )
    name = generated["metadata"]["name"]
    assert name.startswith("gen-")
    assert generated["metadata"]["labels"] == {"kubernetes.io/metadata.name": name}
    with pytest.raises(InvalidError) as e:
        c.create(ns("Bad_Name", finalizers=["nope"]))
    assert e.value.message == (
        'Namespace "Bad_Name" is invalid: [metadata.name: Invalid value: "Bad_Name": a lowercase '
        "RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
        "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
        "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'), spec.finalizers: Invalid "
        'value: "nope": name is neither a standard finalizer name nor is it fully qualified]'
    )


def test_a_create_in_a_missing_namespace_is_not_found_before_anything_else() -> None:
    c = cluster("10.96.0.0/30")  # one address, held by default/kubernetes
    before = c.digest()
    for body in (
        svc("web", "nope"),
        svc("bad", "nope", type="Wrong"),  # invalid too: the namespace is looked at first
        svc("full", "nope"),  # and the range is full
    ):
        with pytest.raises(NotFoundError) as e:
            c.create(body)
        assert e.value.message == 'namespaces "nope" not found'
        assert e.value.details == {"name": "nope", "group": "", "kind": "namespaces"}
    with pytest.raises(NotFoundError, match='namespaces "nope" not found'):
        c.apply(svc("web", "nope"))
    with pytest.raises(NotFoundError, match='namespaces "nope" not found'):
        c.create(svc("web", "nope"), dry_run=True)
    assert c.digest() == before


def test_a_namespace_being_deleted_refuses_new_content_then_is_emptied_and_goes() -> None:
    c = cluster("10.96.0.0/24")
    c.create(ns("team"))
    web = c.create(svc("web", "team"))
    ip = web["spec"]["clusterIP"]
    gone = c.delete("Namespace", "team")
    assert gone["status"]["phase"] == "Terminating"
    assert gone["metadata"]["deletionTimestamp"] == "2025-01-01T00:00:00Z"
    assert gone["spec"] == {"finalizers": ["kubernetes"]}
    with pytest.raises(ForbiddenError) as e:
        c.create(svc("late", "team"))
    assert e.value.message == (
        'services "late" is forbidden: unable to create new content in namespace team because '
        "it is being terminated"
    )
    assert e.value.details["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": "namespace team is being terminated",
            "field": "metadata.namespace",
        }
    ]
    with pytest.raises(ForbiddenError, match=r'services "gen-" is forbidden'):
        c.create({**svc("", "team"), "metadata": {"generateName": "gen-", "namespace": "team"}})
    # a second delete changes nothing while the namespace controller has work to do
    assert c.delete("Namespace", "team") == c.get("Namespace", "team")
    c.update(svc("web", "team", type="ClusterIP"))  # updates still pass
    c.reconcile()
    with pytest.raises(NotFoundError):
        c.get("Namespace", "team")
    assert c.list("Service", "team") == []
    assert not c.engine.store.contains("IPAddress", ip)
    assert c.check()[0] == []


def test_objects_held_by_finalizers_keep_it_terminating_with_conditions() -> None:
    c = cluster("10.96.0.0/24")
    c.create(ns("team"))
    held = svc("held", "team")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    c.create(held)
    c.create(svc("free", "team"))
    c.delete("Namespace", "team")
    c.reconcile()  # settles: nothing keeps simulated time running
    team = c.get("Namespace", "team")
    conditions = {x["type"]: x for x in team["status"]["conditions"]}
    assert [x["type"] for x in team["status"]["conditions"]] == [
        "NamespaceDeletionDiscoveryFailure",
        "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure",
        "NamespaceContentRemaining",
        "NamespaceFinalizersRemaining",
    ]
    assert conditions["NamespaceContentRemaining"] == {
        "type": "NamespaceContentRemaining",
        "status": "True",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        "reason": "SomeResourcesRemain",
        "message": "Some resources are remaining: services. has 1 resource instances",
    }
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some finalizers are remaining: example.com/hold in 1 resource instances"
    )
    assert conditions["NamespaceDeletionContentFailure"]["status"] == "False"
    assert conditions["NamespaceDeletionContentFailure"]["message"] == (
        "All content successfully deleted, may be waiting on finalization"
    )
    assert [s["metadata"]["name"] for s in c.list("Service", "team")] == ["held"]
    assert c.get("Service", "held", "team")["metadata"]["deletionTimestamp"]
    release = c.get("Service", "held", "team")
    release["metadata"]["finalizers"] = []
    c.update(release)
    c.reconcile()
    with pytest.raises(NotFoundError):
        c.get("Namespace", "team")


def test_immortal_namespaces_and_the_system_namespaces_controller() -> None:
    c = cluster()
    for name in ("default", "kube-system", "kube-public"):
        with pytest.raises(ForbiddenError) as e:
            c.delete("Namespace", name)
        assert (
            e.value.message
            == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
    c.delete("Namespace", "kube-node-lease")  # not immortal: it goes, and comes back
    uid = c.get("Namespace", "kube-node-lease")["metadata"]["uid"]
    c.reconcile()
    again = c.get("Namespace", "kube-node-lease")
    assert again["metadata"]["uid"] != uid and again["status"] == {"phase": "Active"}


def test_updates_keep_finalizers_and_status_which_only_their_subresources_change() -> None:
    c = cluster()
    c.create(ns("team"))
    current = c.get("Namespace", "team")
    current["spec"] = {"finalizers": []}
    current["status"] = {"phase": "Terminating"}
    current["metadata"]["labels"]["x"] = "y"
    got = c.update(current)
    assert got["spec"] == {"finalizers": ["kubernetes"]}
    assert got["status"] == {"phase": "Active"}
    assert got["metadata"]["labels"]["x"] == "y"
    with pytest.raises(InvalidError) as e:
        c.update_status({**c.get("Namespace", "team"), "status": {"phase": "Terminating"}})
    assert e.value.message == (
        'Namespace "team" is invalid: status.Phase: Invalid value: "Terminating": may only be '
        "'Active' if `deletionTimestamp` is empty"
    )


def test_the_namespace_controller_deletes_as_its_service_account() -> None:
    """Its deletes go through admission with kube-controller-manager's identity: a policy
    that refuses them holds the namespace, and says so in its conditions."""
    c = cluster("10.96.0.0/24")
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "keep"},
            "spec": {
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["DELETE"],
                            "resources": ["services"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "request.userInfo.username != "
                        "'system:serviceaccount:kube-system:namespace-controller'",
                        "message": "not by the namespace controller",
                    }
                ],
            },
        }
    )
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "keep"},
            "spec": {"policyName": "keep", "validationActions": ["Deny"]},
        }
    )
    c.create(ns("team"))
    c.create(svc("web", "team"))
    c.delete("Namespace", "team")
    c.reconcile()
    team = c.get("Namespace", "team")
    failure = next(
        x for x in team["status"]["conditions"] if x["type"] == "NamespaceDeletionContentFailure"
    )
    assert failure["status"] == "True" and failure["reason"] == "ContentDeletionFailed"
    assert failure["message"] == (
        'Failed to delete all resource types, 1 remaining: services "web" is forbidden: '
        "ValidatingAdmissionPolicy 'keep' with binding 'keep' denied request: not by the "
        "namespace controller"
    )
    c.delete("Service", "web", "team")  # the user may
    c.reconcile()
    assert "team" not in names(c)


def test_namespaces_come_back_from_the_log(tmp_path: Path) -> None:
    with Cluster.open(tmp_path / "s", service_cluster_ip_range="10.96.0.0/28", seed=1) as c:
        c.create(ns("team"))
        c.create(svc("web", "team"))
        c.delete("Namespace", "team")
        live = c.digest()
        assert Cluster.replay(c.events(), c.service_cluster_ip_range, seed=1).digest() == live
    with Cluster.open(tmp_path / "s") as c:
        assert c.get("Namespace", "team")["status"]["phase"] == "Terminating"
        c.reconcile()
        assert "team" not in names(c)


# ------------------------------------------------------------------ who makes namespaces


def _dump(tmp_path: Path, namespace: str) -> Path:
    p = tmp_path / "dump.yaml"
    p.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n"
        f"  name: api\n  namespace: {namespace}\n  uid: u-1\n  resourceVersion: '7'\n"
        "  creationTimestamp: '2024-06-01T00:00:00Z'\n"
        "spec:\n  clusterIP: 10.96.0.7\n  clusterIPs: [10.96.0.7]\n  ipFamilies: [IPv4]\n"
        "  ipFamilyPolicy: SingleStack\n  ports:\n  - port: 80\n"
    )
    return p


def test_an_import_adopts_a_namespace_it_never_sees_created(tmp_path: Path) -> None:
    c = cluster("10.96.0.0/24")
    r = import_observed(c, "dump", [_dump(tmp_path, "apps")])
    assert r.notes["namespaces adopted (the input never shows their creation)"] == 1
    assert "namespaces adopted" in r.to_text()
    apps = c.get("Namespace", "apps")
    assert apps["status"] == {"phase": "Active"} and apps["spec"] == {"finalizers": ["kubernetes"]}
    assert apps["metadata"]["labels"] == {"kubernetes.io/metadata.name": "apps"}
    assert c.get("Service", "api", "apps")["spec"]["clusterIP"] == "10.96.0.7"
    c.create(svc("more", "apps"))  # the adopted namespace takes new content
    # a namespace the state holds is not adopted again
    r2 = import_observed(c, "dump", [_dump(tmp_path, "default")])
    assert not r2.notes.get("namespaces adopted (the input never shows their creation)")


def test_what_if_adopts_the_namespaces_its_requests_need(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: apps\n"
        "spec:\n  ports:\n  - port: 80\n"
    )
    r = import_what_if("dump", [manifest], service_cluster_ip_range="10.96.0.0/24")
    assert dict(r.failure_counts) == {}
    assert r.succeeded == 1
    assert r.notes["namespaces adopted (the input never shows their creation)"] == 1


def test_a_simulation_makes_the_namespaces_it_spreads_services_over() -> None:
    model = model_from_dict(
        {
            "name": "spread",
            "service_cluster_ip_range": "10.96.0.0/24",
            "duration": "10m",
            "namespaces": 3,
            "streams": [{"name": "s", "rate": 0.1, "lifetime": "forever"}],
        }
    )
    sim = Simulation(model, seed=1)
    result = sim.run()
    assert result.failures == []
    assert {"ns-0000", "ns-0001", "ns-0002"} <= set(names(sim.cluster))


def test_the_conformance_runner_makes_the_namespaces_a_scenario_uses() -> None:
    steps = [{"create": svc("web", "team")}]
    cfg = {"serviceClusterIPRange": "10.96.0.0/28"}
    for restart in (False, True):
        doc = {"scenario": "s", "cluster": cfg, "steps": steps}
        assert run_scenario(doc, restart_each_step=restart).passed
    # a scenario that handles the Namespace itself sees NamespaceLifecycle at work
    own = [
        {"get": {"kind": "Namespace", "name": "team"}, "expect": {"error": {"reason": "NotFound"}}},
        {
            "create": svc("web", "team"),
            "expect": {"error": {"reason": "NotFound", "messageContains": 'namespaces "team"'}},
        },
        {"create": ns("team")},
        {"create": svc("web", "team")},
    ]
    result = run_scenario({"scenario": "own", "cluster": cfg, "steps": own})
    assert result.passed, result.message
