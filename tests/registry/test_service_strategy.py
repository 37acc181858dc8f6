"""The Service registry strategy (servicecidr.registry.service) called directly, on a small
real request context: an Engine with a MemoryRecorder and a simulated clock.

A strategy decides and returns an Outcome (the object, the warnings, the transactions, an
error to raise after committing them, and what undoes its reservations); it never
commits. Each case asserts the Outcome, that the strategy committed nothing, and what
committing it (``Engine.run``) leaves in the store.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock
from servicecidr.errors import (
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    ConflictError,
    InternalError,
    InvalidError,
    NotFoundError,
    ReadOnlyError,
)
from servicecidr.journal.recorder import MemoryRecorder
from servicecidr.journal.records import OP_PUT
from servicecidr.registry import service as strategy
from servicecidr.registry.txn import Outcome

Obj = dict[str, Any]
V4 = ("10.96.0.0/24",)
V6 = ("fd00:10::/120",)
DUAL = ("10.96.0.0/24", "fd00:10::/120")


def new_engine(ranges: tuple[str, ...] = V4, seed: int = 1) -> Engine:
    """An apiserver for these flags, with the default ServiceCIDR holding them."""
    families = tuple("IPv6" if ":" in c else "IPv4" for c in ranges)
    e = Engine(ranges, families, seed, SimulatedClock(), MemoryRecorder())
    e.lifecycle = None  # no system-namespaces controller runs here: NamespaceLifecycle off
    e.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "kubernetes"},
            "spec": {"cidrs": list(ranges)},
        },
        actor="test",
    )
    return e


def svc(name: str = "web", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def snapshot(e: Engine) -> tuple[Any, ...]:
    """What a client, the allocators and the node-port index would see."""
    return (
        e.seq,
        e.store.revision,
        {k: e.store.items(k) for k in e.store.kinds()},
        {p: list(a) for p, a in e.meta.allocators()},
        dict(e.nodeports._owner),
    )


def decide(e: Engine, call: Callable[..., Outcome], *args: Any) -> Outcome:
    """Run a strategy and check it committed nothing (its reservations may stand)."""
    before = snapshot(e)[:3]
    out = call(e, *args)
    assert snapshot(e)[:3] == before, "a strategy committed something"
    return out


def refused(
    e: Engine, error: type[ApiError], match: str, call: Callable[..., Any], *args: Any
) -> None:
    """A strategy that raises leaves everything as it was, reservations included."""
    before = snapshot(e)
    with pytest.raises(error, match=match):
        call(e, *args)
    assert snapshot(e) == before


def writes(out: Outcome) -> list[tuple[str, str, str]]:
    return [
        (w.kind, w.key, "put" if w.op == OP_PUT else "delete") for t in out.txns for w in t.writes
    ]


def stored(e: Engine, name: str = "web") -> Obj:
    return e.get("Service", name, "default")


def ip_addresses(e: Engine) -> set[str]:
    return set(e.store.keys("IPAddress"))


def in_ranges(ip: str, ranges: tuple[str, ...]) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in ranges)


# ------------------------------------------------------------------------------ create


@dataclass
class Create:
    ranges: tuple[str, ...]
    spec: Obj
    families: list[str] | None
    policy: str | None
    ips: list[str] | int | None  # exact clusterIPs, or how many allocated
    node_ports: int = 0
    extra_writes: list[tuple[str, str, str]] = field(default_factory=list)


CREATES = {
    "cluster-ip": Create(V4, {}, ["IPv4"], "SingleStack", 1),
    "specific": Create(V4, {"clusterIP": "10.96.0.10"}, ["IPv4"], "SingleStack", ["10.96.0.10"]),
    "specific-plural-only": Create(
        V4, {"clusterIPs": ["10.96.0.11"]}, ["IPv4"], "SingleStack", ["10.96.0.11"]
    ),
    "specific-in-the-static-band": Create(
        V4, {"clusterIP": "10.96.0.1"}, ["IPv4"], None, ["10.96.0.1"]
    ),
    "ipv6-only-cluster": Create(V6, {}, ["IPv6"], "SingleStack", 1),
    "ipv6-on-dual": Create(DUAL, {"ipFamilies": ["IPv6"]}, ["IPv6"], "SingleStack", 1),
    "prefer-dual-on-dual": Create(
        DUAL, {"ipFamilyPolicy": "PreferDualStack"}, ["IPv4", "IPv6"], "PreferDualStack", 2
    ),
    "require-dual-v6-first": Create(
        DUAL,
        {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6", "IPv4"]},
        ["IPv6", "IPv4"],
        "RequireDualStack",
        2,
    ),
    "dual-specific": Create(
        DUAL,
        {"ipFamilyPolicy": "RequireDualStack", "clusterIPs": ["fd00:10::7", "10.96.0.7"]},
        ["IPv6", "IPv4"],
        "RequireDualStack",
        ["fd00:10::7", "10.96.0.7"],
    ),
    "prefer-dual-on-single": Create(
        V4, {"ipFamilyPolicy": "PreferDualStack"}, ["IPv4"], "PreferDualStack", 1
    ),
    "headless": Create(
        V4, {"clusterIP": "None", "selector": {"app": "web"}}, ["IPv4"], "SingleStack", ["None"]
    ),
    # headless without selector: both families, even on a single-stack cluster
    "headless-selectorless": Create(
        V4, {"clusterIP": "None"}, ["IPv4", "IPv6"], "RequireDualStack", ["None"]
    ),
    "external-name": Create(
        V4, {"type": "ExternalName", "externalName": "db.example.com"}, None, None, None
    ),
    "node-port": Create(V4, {"type": "NodePort"}, ["IPv4"], "SingleStack", 1, node_ports=1),
    "load-balancer-local": Create(
        V4,
        {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
        ["IPv4"],
        "SingleStack",
        1,
        node_ports=2,  # the port's and healthCheckNodePort
    ),
}


@pytest.mark.parametrize("case", CREATES.values(), ids=CREATES.keys())
def test_create_allocates_and_writes_ip_addresses_with_the_service(case: Create) -> None:
    e = new_engine(case.ranges)
    before = snapshot(e)
    out = decide(e, strategy.create, svc(**case.spec), None, False, "user")
    assert out.error is None and out.warnings == []
    spec = out.obj["spec"]
    assert spec.get("ipFamilies") == case.families
    if case.policy is not None:
        assert spec.get("ipFamilyPolicy") == case.policy
    ips = spec.get("clusterIPs")
    if isinstance(case.ips, int):
        assert len(ips) == case.ips
        assert all(in_ranges(ip, case.ranges) for ip in ips)
        assert [("IPv6" if ":" in ip else "IPv4") for ip in ips] == case.families
    else:
        assert ips == case.ips
    assert spec.get("clusterIP") == (ips[0] if ips else None)
    allocated = [ip for ip in ips or () if ip != "None"]
    # one transaction: the IPAddress of each ClusterIP, then the Service
    assert len(out.txns) == 1
    txn = out.txns[0]
    assert (txn.verb, txn.kind, txn.namespace, txn.name) == ("create", "Service", "default", "web")
    assert sorted(writes(out)[:-1]) == sorted(("IPAddress", ip, "put") for ip in allocated)
    assert writes(out)[-1] == ("Service", "default/web", "put")
    # the addresses and ports are reserved until the transaction commits or is undone
    reserved = {ip for _, a in e.meta.allocators() for ip in a}
    assert reserved == set(allocated)
    ports = sorted(p["nodePort"] for p in spec["ports"] if "nodePort" in p)
    if "healthCheckNodePort" in spec:
        ports.append(spec["healthCheckNodePort"])
    assert len(ports) == case.node_ports
    assert sorted(e.nodeports._owner) == sorted(ports)

    obj, warnings = e.run(out, "user")
    assert warnings == []
    assert obj == out.obj == stored(e)
    assert ip_addresses(e) == set(allocated)
    for ip in allocated:
        ref = e.get("IPAddress", ip)["spec"]["parentRef"]
        assert ref == {"group": "", "resource": "services", "namespace": "default", "name": "web"}
    assert e.nodeports.holders() == ({"default/web": tuple(sorted(ports))} if ports else {})
    assert e.seq == before[0] + 1


@pytest.mark.parametrize(
    ("ranges", "spec", "error", "match"),
    [
        (
            V4,
            {"ipFamilyPolicy": "RequireDualStack"},
            InvalidError,
            r"spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not "
            r"configured for dual-stack services",
        ),
        (
            V4,
            {"ipFamilies": ["IPv6"]},
            InvalidError,
            r"spec.ipFamilies\[0\]: Invalid value: \"IPv6\": not configured on this cluster",
        ),
        (V4, {"clusterIP": "fd00:10::1"}, InvalidError, "IPv6 is not configured on this cluster"),
        (
            V4,
            {"clusterIP": "10.97.0.1"},
            InvalidError,
            "failed to allocate IP 10.97.0.1: the provided network does not match the current "
            "range",
        ),
        (
            V4,
            {"clusterIP": "10.96.0.0"},  # the network address
            InvalidError,
            "failed to allocate IP 10.96.0.0",
        ),
        (
            DUAL,
            {"ipFamilyPolicy": "SingleStack", "clusterIPs": ["10.96.0.5", "fd00:10::5"]},
            InvalidError,
            "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are "
            "specified",
        ),
        (
            V4,
            {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]},
            InvalidError,
            "provided port is not in the valid range",
        ),
        (V4, {"ports": [{"port": 0}]}, InvalidError, r"spec.ports\[0\].port"),
    ],
    ids=[
        "require-dual-on-single",
        "family-not-configured",
        "ip-of-a-family-not-configured",
        "specific-outside-every-range",
        "network-address",
        "single-stack-with-two-ips",
        "node-port-out-of-range",
        "invalid-port-after-allocation",
    ],
)
def test_a_refused_create_reserves_nothing(
    ranges: tuple[str, ...], spec: Obj, error: type[ApiError], match: str
) -> None:
    e = new_engine(ranges)
    refused(e, error, match, strategy.create, svc(**spec), None, False, "user")


def test_a_specific_address_held_by_another_service_is_refused() -> None:
    e = new_engine()
    e.create(svc("first", clusterIP="10.96.0.10"))
    refused(
        e,
        InvalidError,
        r'Service "web" is invalid: spec.clusterIPs: Invalid value: \["10.96.0.10"\]: failed to '
        r"allocate IP 10.96.0.10: provided IP is already allocated",
        strategy.create,
        svc(clusterIP="10.96.0.10"),
        None,
        False,
        "user",
    )


def test_a_duplicate_name_is_refused_after_allocation_and_leaks_nothing() -> None:
    e = new_engine()
    e.create(svc(type="NodePort"))
    refused(
        e,
        AlreadyExistsError,
        'services "web" already exists',
        strategy.create,
        svc(type="NodePort"),
        None,
        False,
        "user",
    )


def test_a_full_range_is_an_internal_error() -> None:
    e = new_engine(("10.96.0.0/30",))
    e.create(svc("a"))
    e.create(svc("b"))
    refused(
        e,
        InternalError,
        r"^Internal error occurred: failed to allocate a serviceIP: range is full$",
        strategy.create,
        svc(),
        None,
        False,
        "user",
    )


def test_generate_name_and_namespace_come_from_the_request_context() -> None:
    e = new_engine()
    body = svc()
    body["metadata"] = {"generateName": "web-", "namespace": "prod"}
    out = decide(e, strategy.create, body, None, False, "user")
    meta = out.obj["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == len("web-") + 5
    assert meta["namespace"] == "prod"
    assert meta["creationTimestamp"] == "2025-01-01T00:00:00Z"
    assert writes(out)[-1] == ("Service", f"prod/{meta['name']}", "put")
    body = svc()
    out = decide(e, strategy.create, body, "other", False, "user")
    assert out.obj["metadata"]["namespace"] == "other"


# ------------------------------------------------------------------------------ dry run


@pytest.mark.parametrize(
    ("ranges", "spec", "cluster_ips"),
    [
        # ipallocator.go: a dry run returns the range's network address, unchecked
        (V4, {}, ["10.96.0.0"]),
        (V4, {"type": "NodePort"}, ["10.96.0.0"]),
        (V4, {"clusterIP": "10.96.0.10"}, ["10.96.0.10"]),
        (DUAL, {"ipFamilyPolicy": "RequireDualStack"}, ["10.96.0.0", "fd00:10::"]),
    ],
    ids=["dynamic", "node-port", "specific", "dual"],
)
def test_a_dry_run_create_commits_nothing_and_keeps_no_reservation(
    ranges: tuple[str, ...], spec: Obj, cluster_ips: list[str]
) -> None:
    e = new_engine(ranges)
    before = snapshot(e)
    out = strategy.create(e, svc(**spec), None, True, "user")
    assert out.txns == [] and out.undo == [] and out.error is None
    assert out.obj["spec"]["clusterIPs"] == cluster_ips
    assert snapshot(e) == before


def test_a_dry_run_that_fails_validation_leaks_nothing() -> None:
    e = new_engine()
    refused(
        e,
        InvalidError,
        r"spec.ports\[0\].port",
        strategy.create,
        svc(ports=[{"port": 0}]),
        None,
        True,
        "user",
    )


# ------------------------------------------------------------------------- half-done dual stack


def test_a_dual_stack_create_failing_on_its_second_family_keeps_the_first() -> None:
    """alloc.go allocates the families in map order and does not release the first when
    the second fails: the Outcome carries the IPAddress left behind and the error."""
    seen = set()
    for seed in range(12):
        e = new_engine(("10.96.0.0/24", "fd00:10::/127"), seed=seed)  # one IPv6 address
        e.create(svc("first", ipFamilies=["IPv6"]))
        e.set_rng(random.Random(seed))
        before = snapshot(e)
        try:
            out = decide(
                e, strategy.create, svc(ipFamilyPolicy="RequireDualStack"), None, False, "user"
            )
        except InternalError as err:
            # IPv6 first: nothing was allocated, nothing is left
            assert "range is full" in err.message
            assert snapshot(e) == before
            seen.add("v6-first")
            continue
        seen.add("v4-first")
        assert out.obj == {} and out.warnings == []
        assert isinstance(out.error, InternalError)
        assert out.error.message == (
            "Internal error occurred: failed to allocate a serviceIP: range is full"
        )
        [txn] = out.txns
        [(kind, leaked, op)] = writes(out)
        assert (txn.verb, txn.kind, txn.actor, kind, op) == (
            "create",
            "IPAddress",
            "ipallocator",
            "IPAddress",
            "put",
        )
        assert in_ranges(leaked, ("10.96.0.0/24",))
        with pytest.raises(InternalError):
            e.run(out, "user")
        assert ip_addresses(e) == {"fd00:10::1", leaked}
        assert e.get("IPAddress", leaked)["spec"]["parentRef"]["name"] == "web"
        assert not e.store.contains("Service", "default/web")
        entry = list(e.recorder.read())[-1]
        assert (entry.verb, entry.actor, entry.kind) == ("create", "ipallocator", "IPAddress")
    assert seen == {"v4-first", "v6-first"}


# ------------------------------------------------------------------------------ commit failure


def test_an_outcome_that_cannot_be_committed_is_undone() -> None:
    e = new_engine(DUAL)
    e.create(svc("other"))
    before = snapshot(e)
    out = decide(
        e,
        strategy.create,
        svc(type="LoadBalancer", externalTrafficPolicy="Local", ipFamilyPolicy="PreferDualStack"),
        None,
        False,
        "user",
    )
    assert snapshot(e) != before  # two addresses and two node ports reserved
    e.refuse_writes("the state is read-only for this test")
    with pytest.raises(ReadOnlyError, match="read-only for this test"):
        e.run(out, "user")
    assert snapshot(e) == before


# ------------------------------------------------------------------------------ update


def created(e: Engine, **spec: Any) -> Obj:
    obj, _ = e.create(svc(**spec))
    return obj


def updated(old: Obj, **spec: Any) -> Obj:
    new = copy.deepcopy(old)
    for k, v in spec.items():
        if v is None:
            new["spec"].pop(k, None)
        else:
            new["spec"][k] = v
    return new


def test_update_to_external_name_releases_the_cluster_ip_after_the_service() -> None:
    e = new_engine()
    old = created(e)
    ip = old["spec"]["clusterIP"]
    out = decide(
        e,
        strategy.update,
        updated(old, type="ExternalName", externalName="db.example.com"),
        None,
        False,
        "user",
    )
    spec = out.obj["spec"]
    assert "clusterIP" not in spec and "clusterIPs" not in spec and "ipFamilies" not in spec
    assert writes(out) == [("Service", "default/web", "put"), ("IPAddress", ip, "delete")]
    e.run(out, "user")
    assert ip_addresses(e) == set()
    assert ip not in (e.meta.allocator_for("10.96.0.0/24") or ())


def test_update_from_external_name_allocates() -> None:
    e = new_engine()
    old = created(e, type="ExternalName", externalName="db.example.com")
    new = updated(old, type="ClusterIP", externalName=None)
    out = decide(e, strategy.update, new, None, False, "user")
    ip = out.obj["spec"]["clusterIP"]
    assert in_ranges(ip, V4)
    assert writes(out) == [("IPAddress", ip, "put"), ("Service", "default/web", "put")]
    e.run(out, "user")
    assert ip_addresses(e) == {ip}


def test_an_update_that_omits_the_cluster_ip_keeps_it() -> None:
    e = new_engine()
    old = created(e)
    new = updated(old, clusterIP=None, clusterIPs=None, sessionAffinity="ClientIP")
    out = decide(e, strategy.update, new, None, False, "user")
    assert out.obj["spec"]["clusterIPs"] == old["spec"]["clusterIPs"]
    assert writes(out) == [("Service", "default/web", "put")]


def test_a_cluster_ip_may_not_change_once_set() -> None:
    e = new_engine()
    old = created(e)
    other = "10.96.0.99" if old["spec"]["clusterIP"] != "10.96.0.99" else "10.96.0.98"
    refused(
        e,
        InvalidError,
        r"spec.clusterIPs\[0\]: Invalid value: .*may not change once set",
        strategy.update,
        updated(old, clusterIP=other, clusterIPs=[other]),
        None,
        False,
        "user",
    )


def test_upgrade_to_dual_stack_allocates_the_secondary() -> None:
    e = new_engine(DUAL)
    old = created(e)
    out = decide(
        e, strategy.update, updated(old, ipFamilyPolicy="PreferDualStack"), None, False, "user"
    )
    v4, v6 = out.obj["spec"]["clusterIPs"]
    assert v4 == old["spec"]["clusterIP"] and in_ranges(v6, V6)
    assert out.obj["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert writes(out) == [("IPAddress", v6, "put"), ("Service", "default/web", "put")]


def test_downgrade_to_single_stack_releases_the_secondary() -> None:
    e = new_engine(DUAL)
    old = created(e, ipFamilyPolicy="RequireDualStack")
    v4, v6 = old["spec"]["clusterIPs"]
    keep_policy = updated(old, clusterIPs=[v4], ipFamilies=["IPv4"])
    refused(
        e,
        InvalidError,
        "must be 'SingleStack' to release the secondary cluster IP",
        strategy.update,
        keep_policy,
        None,
        False,
        "user",
    )
    down = updated(old, clusterIPs=[v4], ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack")
    out = decide(e, strategy.update, down, None, False, "user")
    assert out.obj["spec"]["clusterIPs"] == [v4]
    assert writes(out) == [("Service", "default/web", "put"), ("IPAddress", v6, "delete")]


def test_a_dry_run_upgrade_commits_and_reserves_nothing() -> None:
    e = new_engine(DUAL)
    old = created(e)
    before = snapshot(e)
    out = strategy.update(e, updated(old, ipFamilyPolicy="PreferDualStack"), None, True, "user")
    assert out.txns == []
    assert out.obj["spec"]["clusterIPs"] == [old["spec"]["clusterIP"], "fd00:10::"]
    assert snapshot(e) == before


def test_leaving_node_port_drops_the_node_ports_the_user_left() -> None:
    e = new_engine()
    old = created(e, type="NodePort")
    out = decide(e, strategy.update, updated(old, type="ClusterIP"), None, False, "user")
    assert all("nodePort" not in p for p in out.obj["spec"]["ports"])
    assert "externalTrafficPolicy" not in out.obj["spec"]
    e.run(out, "user")
    assert e.nodeports.holders() == {}


@pytest.mark.parametrize(
    ("meta", "error", "match"),
    [
        ({"resourceVersion": "1"}, ConflictError, "the object has been modified"),
        ({"uid": "not-the-uid"}, ConflictError, "Precondition failed: UID in precondition"),
        ({"name": "nothing"}, NotFoundError, 'services "nothing" not found'),
    ],
    ids=["stale-resource-version", "uid-precondition", "not-found"],
)
def test_update_preconditions(meta: Obj, error: type[ApiError], match: str) -> None:
    e = new_engine()
    new = created(e)
    new["metadata"].update(meta)
    refused(e, error, match, strategy.update, new, None, False, "user")


def test_removing_the_last_finalizer_of_a_deleted_service_deletes_it_and_releases() -> None:
    e = new_engine()
    old = created(e)
    old["metadata"]["finalizers"] = ["example.com/hold"]
    old, _ = e.update(old)
    ip = old["spec"]["clusterIP"]
    held, _ = e.delete("Service", "web", "default")
    assert held["metadata"]["deletionTimestamp"]
    held["metadata"]["finalizers"] = []
    out = decide(e, strategy.update, held, None, False, "user")
    assert writes(out) == [("Service", "default/web", "delete"), ("IPAddress", ip, "delete")]


def test_update_status_changes_only_the_status() -> None:
    e = new_engine()
    old = created(e, type="LoadBalancer")
    new = updated(old, type="ClusterIP")
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    out = decide(e, strategy.update_status, new, None, False, "user")
    assert out.obj["spec"] == old["spec"]
    assert out.obj["status"] == new["status"]
    [txn] = out.txns
    assert txn.verb == "updateStatus"
    assert writes(out) == [("Service", "default/web", "put")]


# ------------------------------------------------------------------------------ delete


@pytest.mark.parametrize(
    ("ranges", "spec", "released"),
    [
        (V4, {}, 1),
        (DUAL, {"ipFamilyPolicy": "RequireDualStack"}, 2),
        (V4, {"clusterIP": "None", "selector": {"app": "web"}}, 0),
        (V4, {"type": "ExternalName", "externalName": "db.example.com"}, 0),
    ],
    ids=["single", "dual", "headless", "external-name"],
)
def test_delete_removes_the_service_then_its_ip_addresses(
    ranges: tuple[str, ...], spec: Obj, released: int
) -> None:
    e = new_engine(ranges)
    old = created(e, **spec)
    ips = [ip for ip in old["spec"].get("clusterIPs") or () if ip != "None"]
    out = decide(e, strategy.delete, "web", "default", False, "user")
    assert out.obj == old
    assert writes(out) == [("Service", "default/web", "delete")] + [
        ("IPAddress", ip, "delete") for ip in ips
    ]
    assert len(ips) == released
    [txn] = out.txns
    assert (txn.verb, txn.kind, txn.name) == ("delete", "Service", "web")
    e.run(out, "user")
    assert ip_addresses(e) == set()


def test_a_service_with_finalizers_is_only_marked_deleted() -> None:
    e = new_engine()
    old = created(e)
    old["metadata"]["finalizers"] = ["example.com/hold"]
    e.update(old)
    out = decide(e, strategy.delete, "web", "default", False, "user")
    assert out.obj["metadata"]["deletionTimestamp"] == "2025-01-01T00:00:00Z"
    assert out.obj["metadata"]["deletionGracePeriodSeconds"] == 0
    assert writes(out) == [("Service", "default/web", "put")]
    e.run(out, "user")
    again = decide(e, strategy.delete, "web", "default", False, "user")
    assert again.txns == []  # already being deleted: nothing to write
    assert ip_addresses(e) == {old["spec"]["clusterIP"]}


def test_a_dry_run_delete_writes_nothing() -> None:
    e = new_engine()
    created(e)
    out = decide(e, strategy.delete, "web", "default", True, "user")
    assert out.txns == [] and out.obj["metadata"]["name"] == "web"


def test_delete_releases_only_what_is_there_to_release() -> None:
    e = new_engine()
    e.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "extra"},
            "spec": {"cidrs": ["10.98.0.0/24"]},
        }
    )
    lost = created(e)  # its IPAddress is gone
    e.delete("IPAddress", lost["spec"]["clusterIP"])
    out = decide(e, strategy.delete, "web", "default", False, "user")
    assert writes(out) == [("Service", "default/web", "delete")]
    # an address no allocator contains any more is not released (its IPAddress stays)
    e.create(svc("orphan", clusterIP="10.98.0.5"))
    e.delete("ServiceCIDR", "extra")
    out = decide(e, strategy.delete, "orphan", "default", False, "user")
    assert writes(out) == [("Service", "default/orphan", "delete")]


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("nothing", NotFoundError, 'services "nothing" not found'),
        ("", BadRequestError, "resource name may not be empty"),
    ],
)
def test_delete_of_what_is_not_there(name: str, error: type[ApiError], match: str) -> None:
    e = new_engine()
    refused(e, error, match, strategy.delete, name, "default", False, "user")
