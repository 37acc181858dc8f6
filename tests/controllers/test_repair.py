"""kube-apiserver's IPAddress repair loop (servicecidr.controllers.repair), driven alone on a
real Engine: broken states are written with ``Engine.put_raw`` (an etcd-level write), one
``sync`` runs, and the test reads what the loop wrote through the engine (journal entries
with their actor and verb) and the Kubernetes Event objects it recorded.

The cases follow pkg/registry/core/service/ipallocator/controller/repairip.go (SPEC 4).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

import pytest

from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock, format_time
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.controllers.repair import RepairController
from servicecidr.errors import ApiError
from servicecidr.journal.recorder import MemoryRecorder
from servicecidr.journal.records import encode_entry

Obj = dict[str, Any]
REPAIR = "ipallocator-repair-controller"
MANAGED = {
    "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
    "ipaddress.kubernetes.io/ip-family": "IPv4",
}


class Loop:
    """An engine with the default ServiceCIDR, its event recorder and the repair loop."""

    def __init__(self, *, feed_capacity: int = 100_000) -> None:
        self.clock = SimulatedClock()
        self.engine = Engine(
            ("10.96.0.0/24",),
            ("IPv4",),
            1,
            self.clock,
            MemoryRecorder(),
            feed_capacity=feed_capacity,
        )
        self.engine.lifecycle = (
            None  # no system-namespaces controller runs here: NamespaceLifecycle off
        )
        self.engine.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": "kubernetes"},
                "spec": {"cidrs": ["10.96.0.0/24"]},
            },
            actor="test",
        )
        self.events = EventRecorder(self.engine)
        self.repair = RepairController(self.engine, self.events)
        self.mark = self.engine.seq

    def sync(self) -> tuple[bool, float | None]:
        self.mark = self.engine.seq
        return self.repair.sync()

    def written(self) -> list[tuple[str, str, str, str]]:
        """(actor, verb, kind, name) of the entries since the last sync began; an Event is
        named after what it is about (the recorder adds a hash of its content)."""
        return [
            (e.actor, e.verb, e.kind, e.name.rsplit(".", 1)[0] if e.kind == "Event" else e.name)
            for e in self.engine.recorder.read(self.mark)
        ]

    def recorded(self) -> list[tuple[str, str, str, str, str]]:
        """(reason, note, action, regarding kind, regarding name) of every Event."""
        out = []
        for ev in self.engine.list("Event"):
            assert ev["type"] == "Warning" and ev["reportingController"] == REPAIR
            reg = ev["regarding"]
            out.append((ev["reason"], ev["note"], ev["action"], reg["kind"], reg["name"]))
        return out

    def ip_address(self, ip: str) -> Obj | None:
        blob = self.engine.store.get("IPAddress", ip)
        return None if blob is None else self.engine.get("IPAddress", ip)


def service(name: str, *ips: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ips[0],
            "clusterIPs": list(ips),
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    }


def ip_address(
    ip: str,
    parent: str = "web",
    *,
    labels: dict[str, str] | None = MANAGED,
    resource: str = "services",
    group: str = "",
    created: str | None = None,
) -> Obj:
    meta: Obj = {"name": ip}
    if labels is not None:
        meta["labels"] = dict(labels)
    if created is not None:
        meta["creationTimestamp"] = created
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": meta,
        "spec": {
            "parentRef": {
                "group": group,
                "resource": resource,
                "namespace": "default",
                "name": parent,
            }
        },
    }


def event(kind: str) -> tuple[str, str, str, str]:
    return (REPAIR, "create", "Event", kind)


CLUSTER_IP = "ClusterIPAllocation"
IP_ADDRESS = "IPAddressAllocation"
TWO_MINUTES_AGO = format_time(SimulatedClock().now() - 120)

# name -> (objects written raw, journal entries of one pass, events recorded)
CASES: dict[str, tuple[list[Obj], list[tuple[str, str, str, str]], list[tuple[str, ...]]]] = {
    "healthy": (
        [service("web", "10.96.0.50"), ip_address("10.96.0.50")],
        [],
        [],
    ),
    "cluster-ip-without-ip-address": (
        [service("web", "10.96.0.50")],
        [(REPAIR, "create", "Event", "web"), (REPAIR, "create", "IPAddress", "10.96.0.50")],
        [
            (
                "ClusterIPNotAllocated",
                "Cluster IP [IPv4]: 10.96.0.50 is not allocated; repairing",
                CLUSTER_IP,
                "Service",
                "web",
            )
        ],
    ),
    "cluster-ip-out-of-range": (
        [service("web", "10.200.0.5")],
        [(REPAIR, "create", "Event", "web")],
        [
            (
                "ClusterIPOutOfRange",
                "Cluster IP [IPv4]: 10.200.0.5 is not within any configured Service CIDR; "
                "please recreate service",
                CLUSTER_IP,
                "Service",
                "web",
            )
        ],
    ),
    "network-address-is-out-of-range": (
        [service("web", "10.96.0.0")],
        [(REPAIR, "create", "Event", "web")],
        [
            (
                "ClusterIPOutOfRange",
                "Cluster IP [IPv4]: 10.96.0.0 is not within any configured Service CIDR; "
                "please recreate service",
                CLUSTER_IP,
                "Service",
                "web",
            )
        ],
    ),
    "ip-address-of-a-pod": (
        [service("web", "10.96.0.50"), ip_address("10.96.0.50", "p", resource="pods")],
        [
            (REPAIR, "create", "Event", "web"),
            (REPAIR, "delete", "IPAddress", "10.96.0.50"),
            (REPAIR, "create", "IPAddress", "10.96.0.50"),
        ],
        [
            (
                "ClusterIPNotAllocated",
                "the ClusterIP [IPv4]: 10.96.0.50 for Service default/web has a wrong "
                "reference; repairing",
                CLUSTER_IP,
                "Service",
                "web",
            )
        ],
    ),
    "ip-address-of-a-missing-service": (
        [service("web", "10.96.0.50"), ip_address("10.96.0.50", "gone")],
        [
            (REPAIR, "create", "Event", "web"),
            (REPAIR, "delete", "IPAddress", "10.96.0.50"),
            (REPAIR, "create", "IPAddress", "10.96.0.50"),
        ],
        [
            (
                "ClusterIPNotAllocated",
                "the ClusterIP [IPv4]: 10.96.0.50 for Service default/web has a wrong "
                "reference; repairing",
                CLUSTER_IP,
                "Service",
                "web",
            )
        ],
    ),
    "cluster-ip-of-two-services": (
        [
            service("other", "10.96.0.50"),
            service("web", "10.96.0.50"),
            ip_address("10.96.0.50", "other"),
        ],
        [(REPAIR, "create", "Event", "web")],
        [
            (
                "ClusterIPAlreadyAllocated",
                "Cluster IP [IPv4]:10.96.0.50 was assigned to multiple services; please "
                "recreate service",
                CLUSTER_IP,
                "Service",
                "web",
            )
        ],
    ),
    "ip-address-without-labels": (
        [service("web", "10.96.0.50"), ip_address("10.96.0.50", labels=None)],
        [
            (REPAIR, "delete", "IPAddress", "10.96.0.50"),
            (REPAIR, "create", "IPAddress", "10.96.0.50"),
        ],
        [],
    ),
    "ip-address-with-the-wrong-family-label": (
        [
            service("web", "10.96.0.50"),
            ip_address(
                "10.96.0.50", labels={**MANAGED, "ipaddress.kubernetes.io/ip-family": "IPv6"}
            ),
        ],
        [
            (REPAIR, "delete", "IPAddress", "10.96.0.50"),
            (REPAIR, "create", "IPAddress", "10.96.0.50"),
        ],
        [],
    ),
    "managed-ip-address-not-of-a-service": (
        [ip_address("10.96.0.77", "p", resource="pods")],
        [(REPAIR, "create", "Event", "10.96.0.77"), (REPAIR, "delete", "IPAddress", "10.96.0.77")],
        [
            (
                "IPAddressNotAllocated",
                "IPAddress 10.96.0.77 appears to have been modified, not referencing a Service "
                "&ParentReference{Group:,Resource:pods,Namespace:default,Name:p,}: cleaning up",
                IP_ADDRESS,
                "IPAddress",
                "10.96.0.77",
            )
        ],
    ),
    "managed-ip-address-its-service-does-not-list": (
        [service("web", "10.96.0.50"), ip_address("10.96.0.50"), ip_address("10.96.0.77")],
        [(REPAIR, "create", "Event", "10.96.0.77"), (REPAIR, "delete", "IPAddress", "10.96.0.77")],
        [
            (
                "IPAddressWrongReference",
                "IPAddress: 10.96.0.77 for Service default/web has a wrong reference; cleaning up",
                IP_ADDRESS,
                "IPAddress",
                "10.96.0.77",
            )
        ],
    ),
    "leaked-ip-address-older-than-the-grace": (
        [ip_address("10.96.0.77", "gone", created=TWO_MINUTES_AGO)],
        [(REPAIR, "create", "Event", "10.96.0.77"), (REPAIR, "delete", "IPAddress", "10.96.0.77")],
        [
            (
                "IPAddressNotAllocated",
                "IPAddress: 10.96.0.77 for Service default/gone appears to have leaked: "
                "cleaning up",
                IP_ADDRESS,
                "IPAddress",
                "10.96.0.77",
            )
        ],
    ),
    "ip-address-not-managed-by-the-allocator": (
        [ip_address("10.96.0.77", "gone", labels=None, created=TWO_MINUTES_AGO)],
        [],
        [],
    ),
    "headless-and-external-name": (
        [
            service("headless", "None"),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "ext"},
                "spec": {"type": "ExternalName", "externalName": "db.example.com"},
            },
        ],
        [],
        [],
    ),
}


@pytest.mark.parametrize(("objects", "entries", "events"), CASES.values(), ids=CASES.keys())
def test_one_pass_repairs_what_repairip_go_repairs(
    objects: list[Obj], entries: list[tuple[str, str, str, str]], events: list[tuple[str, ...]]
) -> None:
    loop = Loop()
    for obj in objects:
        loop.engine.put_raw(obj, actor="etcd")
    changed, _ = loop.sync()
    assert loop.written() == entries
    assert loop.recorded() == events
    assert changed is bool(entries)
    # whatever the loop made right stays right: a second pass writes nothing
    loop.sync()
    assert loop.written() == []


def test_a_recreated_ip_address_is_the_allocators_own() -> None:
    loop = Loop()
    loop.engine.put_raw(service("web", "10.96.0.50"))
    loop.engine.put_raw(ip_address("10.96.0.50", "p", resource="pods", labels=None))
    loop.sync()
    ipa = loop.ip_address("10.96.0.50")
    assert ipa is not None
    assert ipa["metadata"]["labels"] == MANAGED
    assert ipa["spec"]["parentRef"] == {
        "group": "",
        "resource": "services",
        "namespace": "default",
        "name": "web",
    }
    # and the allocators hold the address again
    assert "10.96.0.50" in (loop.engine.meta.allocator_for("10.96.0.0/24") or ())


# ------------------------------------------------------------------------------ the change feed


def test_after_the_first_pass_the_loop_follows_what_changed() -> None:
    loop = Loop()
    web, _ = loop.engine.create(service("web", "10.96.0.50"))
    assert loop.sync() == (False, None)
    # a removed IPAddress concerns the Service it pointed at
    loop.engine.delete("IPAddress", "10.96.0.50")
    assert loop.sync() == (True, None)
    assert loop.written() == [event("web"), (REPAIR, "create", "IPAddress", "10.96.0.50")]
    # a changed Service is looked at again
    moved = service("web", "10.96.0.60")
    moved["metadata"]["uid"] = web["metadata"]["uid"]
    loop.engine.put_raw(moved)
    loop.sync()
    assert (REPAIR, "create", "IPAddress", "10.96.0.60") in loop.written()
    # unrelated changes make no work
    loop.engine.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
    assert loop.sync() == (False, None)
    assert loop.written() == []


def test_a_range_added_makes_the_loop_look_again_at_services_out_of_range() -> None:
    loop = Loop()
    loop.engine.put_raw(service("web", "10.200.0.5"))
    loop.sync()
    assert [r[0] for r in loop.recorded()] == ["ClusterIPOutOfRange"]
    # the Service did not change, but its address is now inside a ServiceCIDR
    loop.engine.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "more"},
            "spec": {"cidrs": ["10.200.0.0/24"]},
        }
    )
    assert loop.sync() == (True, None)
    assert loop.written() == [event("web"), (REPAIR, "create", "IPAddress", "10.200.0.5")]
    assert [r[0] for r in loop.recorded()] == ["ClusterIPOutOfRange", "ClusterIPNotAllocated"]


def _shared_address_then_other_deleted(loop: Loop) -> None:
    """web and other both list 10.96.0.50, whose IPAddress is other's; then other is
    deleted, which releases the address: web's ClusterIP has no IPAddress any more, and
    neither web nor any IPAddress web points at changed."""
    loop.engine.create(service("other", "10.96.0.50"))
    loop.engine.put_raw(service("web", "10.96.0.50"))
    loop.sync()
    assert [r[0] for r in loop.recorded()] == ["ClusterIPAlreadyAllocated"]
    loop.engine.delete("Service", "other", "default")
    assert loop.ip_address("10.96.0.50") is None


def test_a_full_pass_after_the_feed_no_longer_reaches_back() -> None:
    loop = Loop(feed_capacity=4)
    _shared_address_then_other_deleted(loop)
    for i in range(5):
        loop.engine.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"n{i}"}})
    assert loop.sync() == (True, None)
    assert loop.written() == [event("web"), (REPAIR, "create", "IPAddress", "10.96.0.50")]
    assert loop.ip_address("10.96.0.50")["spec"]["parentRef"]["name"] == "web"  # type: ignore[index]


def test_a_service_left_without_its_ip_address_is_repaired_in_time() -> None:
    loop = Loop()
    _shared_address_then_other_deleted(loop)
    for _ in range(3):  # passes over more than Kubernetes' 3-minute repair interval
        loop.sync()
        loop.clock.advance(120)
    assert loop.ip_address("10.96.0.50") is not None


def test_a_refused_repair_is_retried() -> None:
    loop = Loop()
    e = loop.engine
    e.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "no-ip-addresses"},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["networking.k8s.io"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["ipaddresses"],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "not now"}],
            },
        }
    )
    e.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "no-ip-addresses"},
            "spec": {"policyName": "no-ip-addresses", "validationActions": ["Deny"]},
        }
    )
    e.put_raw(service("web", "10.96.0.50"))
    loop.sync()
    assert loop.ip_address("10.96.0.50") is None  # refused
    e.delete("ValidatingAdmissionPolicyBinding", "no-ip-addresses")
    for _ in range(3):
        loop.sync()
        loop.clock.advance(120)
    assert loop.ip_address("10.96.0.50") is not None


# ------------------------------------------------------------------------------ the leak grace


def test_a_leaked_ip_address_is_deleted_once_60_seconds_old() -> None:
    loop = Loop()
    t0 = loop.clock.now()
    loop.engine.put_raw(ip_address("10.96.0.77", "gone"))
    assert loop.sync() == (False, t0 + 60.001)
    assert loop.written() == []
    loop.clock.advance(30)
    loop.engine.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
    assert loop.sync() == (False, t0 + 60.001)
    loop.clock.advance(31)
    assert loop.sync() == (True, None)
    assert loop.written() == [event("10.96.0.77"), (REPAIR, "delete", "IPAddress", "10.96.0.77")]
    assert [r[0] for r in loop.recorded()] == ["IPAddressNotAllocated"]


def test_a_leak_timer_finds_the_service_that_appeared_meanwhile() -> None:
    loop = Loop()
    loop.engine.put_raw(ip_address("10.96.0.77", "late"))
    _, due = loop.sync()
    assert due is not None
    loop.clock.advance(10)
    loop.engine.put_raw(service("late", "10.96.0.77"))
    loop.sync()
    loop.clock.set(due)
    assert loop.sync() == (False, None)
    assert loop.written() == []
    assert loop.ip_address("10.96.0.77") is not None


def test_the_grace_counts_from_the_creation_timestamp() -> None:
    loop = Loop()
    thirty_seconds_ago = format_time(loop.clock.now() - 30)
    loop.engine.put_raw(ip_address("10.96.0.77", "gone", created=thirty_seconds_ago))
    _, due = loop.sync()
    assert due == loop.clock.now() + 30.001


# ------------------------------------------------------------------------------ events


def test_repeated_events_become_a_series_and_warnings_are_recorded_once() -> None:
    loop = Loop()
    e = loop.engine
    svc, _ = e.create(service("web", "10.96.0.50"))
    record: Callable[[], None] = lambda: loop.events.record(  # noqa: E731
        REPAIR, svc, "Warning", "Testing", "Test", "the same note"
    )
    record()
    loop.clock.advance(5)
    record()
    [ev] = e.list("Event")
    assert ev["series"]["count"] == 2
    assert ev["regarding"]["uid"] == svc["metadata"]["uid"]
    assert [x.verb for x in e.recorder.read(e.seq - 2)] == ["create", "update"]
    assert loop.events.warn_once(REPAIR, svc, "Once", "a note")
    assert not loop.events.warn_once(REPAIR, svc, "Once", "a note")
    assert len(e.list("Event")) == 2


# ------------------------------------------------------------------ ranges added


def _history(loop: Loop, seed: int) -> None:
    """Services in and out of every range, IPAddresses removed, unmanaged and leaked,
    with passes between: states the change feed shows the loop."""
    rng = random.Random(seed)
    for i in range(40):
        op = rng.randrange(6)
        if op == 0:
            with contextlib.suppress(ApiError):
                loop.engine.create(service(f"s{i}", f"10.96.0.{rng.randrange(1, 250)}"))
        elif op == 1:
            loop.engine.put_raw(
                service(f"o{i}", f"10.{rng.choice((200, 201, 202))}.0.{rng.randrange(1, 250)}")
            )
        elif op == 2:
            ips = loop.engine.store.keys("IPAddress")
            if ips:
                loop.engine.delete("IPAddress", rng.choice(ips))
        elif op == 3:
            # a new IPAddress (changing one that another Service's address names would
            # be a state only the resync finds: repairip.go looks at the Service the
            # changed object names, not the one it named before)
            ip = f"10.{rng.choice((96, 200))}.0.{rng.randrange(1, 250)}"
            if not loop.engine.store.contains("IPAddress", ip):
                labels = rng.choice((None, MANAGED))
                loop.engine.put_raw(ip_address(ip, rng.choice(("web", f"s{i - 1}")), labels=labels))
        elif op == 4:
            loop.sync()
        else:
            loop.clock.advance(rng.choice((10, 40)))


def _add_range(loop: Loop, name: str, cidr: str) -> None:
    loop.engine.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": name},
            "spec": {"cidrs": [cidr]},
        }
    )


@pytest.mark.parametrize("seed", range(12))
def test_a_range_added_makes_the_pass_a_full_pass_would_make(seed: int) -> None:
    incremental, full = Loop(), Loop()
    for loop in (incremental, full):
        _history(loop, seed)
        loop.sync()
    for name, cidr in (("more", "10.200.0.0/24"), ("most", "10.201.0.0/16")):
        for loop in (incremental, full):
            _add_range(loop, name, cidr)
        full.repair._cursor = None  # what the loop did before: a full pass
        assert incremental.sync() == full.sync()
        assert incremental.written() == full.written()
        assert incremental.recorded() == full.recorded()
        assert incremental.engine.store.keys("IPAddress") == full.engine.store.keys("IPAddress")


def test_a_range_removed_makes_a_full_pass() -> None:
    loop = Loop()
    _add_range(loop, "more", "10.200.0.0/24")
    loop.engine.put_raw(service("web", "10.200.0.5"))
    loop.sync()
    assert loop.ip_address("10.200.0.5") is not None
    assert [r[0] for r in loop.recorded()] == ["ClusterIPNotAllocated"]
    loop.engine.put_raw(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "more"},
            "spec": {"cidrs": ["10.201.0.0/24"]},
        }
    )
    loop.sync()  # web did not change, but its address is now outside every range
    assert sorted(r[0] for r in loop.recorded()) == [
        "ClusterIPNotAllocated",
        "ClusterIPOutOfRange",
    ]


NO_IPS_POLICY: Obj = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "no-ips"},
    "spec": {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["ipaddresses"],
                }
            ]
        },
        "validations": [{"expression": "false", "message": "not now"}],
    },
}
NO_IPS_BINDING: Obj = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "no-ips"},
    "spec": {"policyName": "no-ips", "validationActions": ["Deny"]},
}


def _broken_history(loop: Loop, seed: int) -> list[Any]:
    """Random consistent and broken states, with passes between (some of whose repairs
    are refused); returns what each pass returned."""
    rng = random.Random(seed)
    got: list[Any] = []
    late: list[tuple[str, str]] = []
    loop.engine.create(NO_IPS_POLICY)
    for i in range(120):
        op = rng.randrange(14)
        ip = f"10.{rng.choice((96, 96, 96, 200))}.0.{rng.randrange(0, 256)}"
        if op in (6, 7):
            got.append(loop.sync())
        else:
            # (a write refused is refused on both sides)
            with contextlib.suppress(ApiError):
                _broken_step(loop, rng, op, i, ip, late)
    got.append(loop.sync())
    return got


def _broken_step(
    loop: Loop, rng: random.Random, op: int, i: int, ip: str, late: list[tuple[str, str]]
) -> None:
    if op <= 1:
        loop.engine.create(service(f"s{i}", f"10.96.0.{rng.randrange(1, 250)}"))
    elif op == 2:
        # written straight to storage: any address, spelled oddly, twice
        ips = rng.choice(([ip], [ip, ip], ["10.96.0.07"], [ip.replace("10.", "010.")]))
        loop.engine.put_raw(service(rng.choice(("web", f"o{i}", f"s{i - 1}")), *ips))
    elif op == 3:
        keys = loop.engine.store.keys("IPAddress")
        if keys:
            loop.engine.delete("IPAddress", rng.choice(keys))
    elif op == 4:
        parent = rng.choice(("web", f"s{i - 1}", f"s{i - 2}", "gone"))
        family = {**MANAGED, "ipaddress.kubernetes.io/ip-family": "IPv6"}
        labels = rng.choice((None, MANAGED, family))
        kind = rng.choice(({}, {"resource": "pods"}, {"group": "x"}))
        loop.engine.put_raw(ip_address(ip, parent, labels=labels, **kind))
    elif op == 5:
        keys = loop.engine.store.keys("Service")
        if keys:
            loop.engine.delete("Service", keys[rng.randrange(len(keys))].split("/")[1])
    elif op == 8 and not loop.engine.store.contains("ServiceCIDR", "more"):
        _add_range(loop, "more", "10.200.0.0/24")
    elif op == 9:
        # IPAddress creates refused by a policy bound, or allowed again
        if loop.engine.store.contains("ValidatingAdmissionPolicyBinding", "no-ips"):
            loop.engine.delete("ValidatingAdmissionPolicyBinding", "no-ips")
        else:
            loop.engine.create(NO_IPS_BINDING)
    elif op == 10:
        # an IPAddress whose Service comes later (a leak timer runs meanwhile)
        late.append((f"late{i}", ip))
        loop.engine.put_raw(ip_address(ip, f"late{i}"))
    elif op == 11 and late:
        loop.engine.put_raw(service(*late.pop(rng.randrange(len(late)))))
    elif op == 12 and loop.engine.store.count("IPAddress"):
        # a held address relabelled: the wrong family, or no manager
        name = rng.choice(loop.engine.store.keys("IPAddress"))
        parent = loop.engine.get("IPAddress", name)["spec"]["parentRef"]["name"]
        family = {**MANAGED, "ipaddress.kubernetes.io/ip-family": "IPv6"}
        labels = rng.choice((family, {"ipaddress.kubernetes.io/ip-family": "IPv4"}))
        loop.engine.put_raw(ip_address(name, parent, labels=labels))
    else:
        loop.clock.advance(rng.choice((10, 40, 200)))


@pytest.mark.parametrize("seed", range(16))
def test_the_quiet_pass_does_what_the_checks_of_every_object_do(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pass asks Rust which objects its checks would leave alone and skips them;
    # with that off every object is checked in Python: the same writes, Events, results.
    checked: dict[bool, int] = {True: 0, False: 0}
    sync_service = RepairController._sync_service

    def counting(self: RepairController, svc: Obj, cidrs: list[str]) -> bool:
        checked[self.quiet_check] += 1
        return sync_service(self, svc, cidrs)

    monkeypatch.setattr(RepairController, "_sync_service", counting)
    quiet, full = Loop(), Loop()
    full.repair.quiet_check = False
    results = [_broken_history(loop, seed) for loop in (quiet, full)]
    assert results[0] == results[1]
    assert [encode_entry(e) for e in quiet.engine.recorder.read()] == [
        encode_entry(e) for e in full.engine.recorder.read()
    ]
    assert quiet.recorded() == full.recorded()
    # and the same work queues: leak timers, retries, Services out of range
    for state in ("_due", "_retry_svcs", "_retry_ips", "_out_of_range"):
        assert getattr(quiet.repair, state) == getattr(full.repair, state), state
    assert checked[True] < checked[False]
