"""Behaviour of the Cluster facade a user sees: results, errors, determinism, replay."""

from __future__ import annotations

from typing import Any

import pytest

from servicecidr import (
    AlreadyExistsError,
    BadRequestError,
    Cluster,
    InternalError,
    InvalidError,
    NotFoundError,
    SimulatedClock,
)


def svc(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def cidr(name: str, *cidrs: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": list(cidrs)},
    }


def new(range_: str | None = "10.96.0.0/28", seed: int = 1) -> Cluster:
    return Cluster(range_, seed=seed, clock=SimulatedClock())


def test_seed_range_fills_after_13_services_with_kubernetes_error_text() -> None:
    c = new()
    ips = {c.create(svc(f"s{i}"))["spec"]["clusterIP"] for i in range(13)}
    assert len(ips) == 13
    assert "10.96.0.1" not in ips  # the kubernetes Service holds it
    with pytest.raises(InternalError) as e:
        c.create(svc("one-too-many"))
    assert e.value.message == (
        "Internal error occurred: failed to allocate a serviceIP: range is full"
    )
    assert e.value.code == 500 and e.value.reason == "InternalError"


def test_default_objects_exist_from_the_flags() -> None:
    c = new("10.96.0.0/28,fd00::/112")
    assert c.get("ServiceCIDR", "kubernetes")["spec"]["cidrs"] == ["10.96.0.0/28", "fd00::/112"]
    k = c.get("Service", "kubernetes", "default")
    assert k["spec"]["clusterIP"] == "10.96.0.1"
    ipa = c.get("IPAddress", "10.96.0.1")
    assert ipa["spec"]["parentRef"] == {
        "group": "",
        "resource": "services",
        "namespace": "default",
        "name": "kubernetes",
    }


def test_rejected_calls_leave_state_unchanged() -> None:
    c = new()
    c.create(svc("a", clusterIP="10.96.0.5"))
    before = c.digest()
    bad: list[Any] = [
        svc("a"),  # AlreadyExists
        svc("b", clusterIP="10.96.0.5"),  # already allocated
        svc("c", clusterIP="172.16.0.1"),  # outside every range
        svc("Bad_Name"),  # invalid name
        svc("d", ipFamilyPolicy="RequireDualStack"),
        {"apiVersion": "v1", "kind": "Nope", "metadata": {"name": "x"}},
        {"kind": "Service", "metadata": {"name": "x"}},
        "not an object",
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": 5}},
    ]
    for obj in bad:
        with pytest.raises((InvalidError, AlreadyExistsError, BadRequestError)):
            c.create(obj)
    with pytest.raises(NotFoundError):
        c.delete("Service", "missing")
    with pytest.raises(BadRequestError):
        c.get("Gadget", "x")
    assert c.digest() == before


def test_duplicate_name_leaks_no_address() -> None:
    c = new("10.96.0.0/29")
    c.create(svc("a"))
    used = c.list("IPAddress")
    with pytest.raises(AlreadyExistsError, match='services "a" already exists'):
        c.create(svc("a"))
    assert c.list("IPAddress") == used


def test_replaying_events_reaches_the_same_digest() -> None:
    c = new("10.96.0.0/24", seed=7)
    for i in range(20):
        c.create(svc(f"s{i}"))
    c.create(cidr("extra", "10.97.0.0/24"))
    c.reconcile()
    for i in range(0, 20, 3):
        c.delete("Service", f"s{i}")
    c.delete("ServiceCIDR", "extra")
    c.reconcile()
    replayed = Cluster.replay(c.events(), "10.96.0.0/24", seed=7)
    assert replayed.digest() == c.digest()
    assert replayed.list("Service") == c.list("Service")


def test_same_seed_same_addresses() -> None:
    a, b = new("10.0.0.0/16", seed=3), new("10.0.0.0/16", seed=3)
    for i in range(50):
        assert (
            a.create(svc(f"s{i}"))["spec"]["clusterIP"]
            == (b.create(svc(f"s{i}"))["spec"]["clusterIP"])
        )
    assert a.digest() == b.digest()


def test_dry_run_keeps_nothing() -> None:
    c = new()
    before = c.digest()
    out = c.create(svc("dry"), dry_run=True)
    assert out["metadata"]["name"] == "dry"
    assert c.digest() == before
    with pytest.raises(NotFoundError):
        c.get("Service", "dry")


def test_memoised_validation_still_reports_bad_names_and_special_addresses() -> None:
    # The shape of "good" is cached; "Bad.Name" has the same shape and must still fail
    # with the full validator's message.
    c = new("10.96.0.0/24")
    c.create(svc("good"))
    with pytest.raises(InvalidError, match=r"metadata\.name"):
        c.create(svc("Bad.Name"))


@pytest.mark.parametrize(
    "variant",
    [
        {"metadata": {"name": "ok-2"}},
        {"metadata": {"name": "9starts-with-digit"}},
        {"metadata": {"name": "x" * 64}},
        {"spec": {"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"]}},
        {"spec": {"clusterIP": "10.96.0.07", "clusterIPs": ["10.96.0.07"]}},
        {"spec": {"clusterIP": "127.0.0.1", "clusterIPs": ["127.0.0.1"]}},
        {"spec": {"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.8"]}},
        {"spec": {"clusterIP": "fd00::7", "clusterIPs": ["fd00::7"]}},
    ],
)
def test_memo_agrees_with_the_full_validator(variant: dict[str, Any]) -> None:
    from servicecidr.api import validation
    from servicecidr.api.memo import ValidationMemo

    def obj(meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"namespace": "default", "name": "ok", **meta},
            "spec": {
                "type": "ClusterIP",
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                "sessionAffinity": "None",
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
                **spec,
            },
        }

    memo = ValidationMemo()
    assert memo.validate_service(obj({}, {})) == []  # primes the shape
    o = obj(variant.get("metadata", {}), variant.get("spec", {}))
    assert [str(e) for e in memo.validate_service(o)] == [
        str(e) for e in validation.validate_service(o)
    ]


def test_reconcile_advance_respects_the_deletion_grace() -> None:
    c = new("10.96.0.0/24")
    c.create(cidr("extra", "10.100.0.0/24"))
    c.reconcile()
    c.delete("ServiceCIDR", "extra")
    c.reconcile(advance="5s")
    assert c.get("ServiceCIDR", "extra")["metadata"]["deletionTimestamp"]
    c.reconcile(advance="5s")
    with pytest.raises(NotFoundError):
        c.get("ServiceCIDR", "extra")


def test_events_are_recorded_by_the_repair_loop() -> None:
    c = new("10.96.0.0/24")
    ip = c.create(svc("web"))["spec"]["clusterIP"]
    c.delete("IPAddress", ip)
    c.reconcile()
    reasons = [e["reason"] for e in c.list("Event")]
    assert "ClusterIPNotAllocated" in reasons
    assert c.get("IPAddress", ip)["spec"]["parentRef"]["name"] == "web"


def test_repair_after_the_first_pass_sees_only_what_changed_and_its_timers() -> None:
    c = new("10.96.0.0/24")
    ip = c.create(svc("web"))["spec"]["clusterIP"]
    c.reconcile()  # the full pass
    c.delete("IPAddress", ip)
    c.reconcile()
    assert c.get("IPAddress", ip)["spec"]["parentRef"]["name"] == "web"
    c.store(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {
                "name": "10.96.0.200",
                "labels": {
                    "ipaddress.kubernetes.io/ip-family": "IPv4",
                    "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
                },
            },
            "spec": {
                "parentRef": {
                    "group": "",
                    "resource": "services",
                    "namespace": "default",
                    "name": "ghost",
                }
            },
        }
    )
    c.reconcile(advance="59s")
    assert c.get("IPAddress", "10.96.0.200")
    c.reconcile(advance="2s")
    with pytest.raises(NotFoundError):
        c.get("IPAddress", "10.96.0.200")


def test_migrating_the_service_range_as_kubernetes_does() -> None:
    """test/integration/servicecidr/migration_test.go TestMigrateServiceCIDR, condensed."""
    clock = SimulatedClock()
    c = Cluster("192.168.0.0/29", seed=1, clock=clock)
    for i in range(3):
        c.create(svc(f"s{i}"))
    c.create(cidr("new", "10.168.0.0/24"))
    c.reconcile()
    c.delete("ServiceCIDR", "kubernetes")
    c.reconcile()
    cond = c.get("ServiceCIDR", "kubernetes")["status"]["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "Terminating")
    # kube-apiserver restarted with the new range; the old Services go away
    c = Cluster.replay(c.events(), "10.168.0.0/24", seed=1, clock=clock, start=True)
    for i in range(3):
        c.delete("Service", f"s{i}")
    c.delete("Service", "kubernetes")
    c.reconcile()
    assert c.get("ServiceCIDR", "kubernetes")["spec"]["cidrs"] == ["10.168.0.0/24"]
    assert c.get("Service", "kubernetes", "default")["spec"]["clusterIP"] == "10.168.0.1"
    assert [o["metadata"]["name"] for o in c.list("IPAddress")] == ["10.168.0.1"]


def test_keep_events_false_drops_the_history_but_not_the_state() -> None:
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock(), keep_events=False)
    c.create(svc("a"))
    assert c.events() == []
    assert c.get("Service", "a")["spec"]["clusterIP"]
