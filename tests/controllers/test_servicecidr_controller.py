"""kube-controller-manager's ServiceCIDR controller (servicecidr.controllers.servicecidr),
driven alone on a real Engine, table-driven after
pkg/controller/servicecidrs/servicecidrs_controller_test.go (TestControllerSync,
TestController_canDeleteCIDR). Where kcm patches the object or its status, the engine's
journal holds an ``update`` or ``updateStatus`` entry by ``service-cidr-controller``.

Each case runs on a dual-stack apiserver (IPv6 addresses found through the allocator's
bitmap) and on an IPv4-only one (IPv6 addresses found by reading the IPAddress keys).
"""

from __future__ import annotations

from typing import Any

import pytest

from servicecidr.api.conditions import get_condition
from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock, format_time
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.controllers.servicecidr import can_delete, sync_service_cidrs
from servicecidr.journal.recorder import MemoryRecorder
from servicecidr.store import decode_object

Obj = dict[str, Any]
KCM = "service-cidr-controller"
FINALIZER = "networking.k8s.io/service-cidr-finalizer"
READY = "Kubernetes Service CIDR is ready"
TERMINATING = (
    "There are still IPAddresses referencing the ServiceCIDR, please remove them or create a "
    "new ServiceCIDR"
)
FAMILIES = {"dual-stack": ("IPv4", "IPv6"), "ipv4-only": ("IPv4",)}


@pytest.fixture(params=sorted(FAMILIES))
def families(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return FAMILIES[request.param]


class Kcm:
    """An engine without --service-cluster-ip-range, and the controller's event recorder."""

    def __init__(self, families: tuple[str, ...]) -> None:
        self.clock = SimulatedClock()
        self.engine = Engine((), families, 1, self.clock, MemoryRecorder())
        self.engine.lifecycle = (
            None  # no system-namespaces controller runs here: NamespaceLifecycle off
        )
        self.events = EventRecorder(self.engine)
        self.mark = 0

    def service_cidr(
        self,
        name: str,
        *cidrs: str,
        reconciled: bool = False,
        deleted_ago: float | None = None,
    ) -> None:
        """A ServiceCIDR as stored: reconciled by kcm already (finalizer, Ready=True), or
        new; with ``deleted_ago``, its deletion started that many seconds ago."""
        meta: Obj = {"name": name}
        obj: Obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": meta,
            "spec": {"cidrs": list(cidrs)},
        }
        if reconciled or deleted_ago is not None:
            meta["finalizers"] = [FINALIZER]
        if reconciled:
            obj["status"] = {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "",
                        "message": READY,
                        "lastTransitionTime": format_time(self.clock.now()),
                    }
                ]
            }
        if deleted_ago is not None:
            meta["deletionTimestamp"] = format_time(self.clock.now() - deleted_ago)
        self.engine.put_raw(obj, actor="etcd")

    def ip_address(self, ip: str, *, managed: bool = True, family: str | None = None) -> None:
        labels = {}
        if managed:
            labels = {
                "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
                "ipaddress.kubernetes.io/ip-family": family or ("IPv6" if ":" in ip else "IPv4"),
            }
        self.engine.put_raw(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IPAddress",
                "metadata": {"name": ip, "labels": labels},
                "spec": {
                    "parentRef": {"resource": "services", "namespace": "default", "name": "s"}
                },
            },
            actor="etcd",
        )

    def sync(self) -> tuple[bool, float | None]:
        self.mark = self.engine.seq
        return sync_service_cidrs(self.engine, self.events)

    def written(self) -> list[tuple[str, str, str]]:
        """(verb, kind, name) of kcm's writes since the last sync began."""
        out = []
        for e in self.engine.recorder.read(self.mark):
            assert e.actor == KCM
            out.append((e.verb, e.kind, e.name))
        return out

    def get(self, name: str) -> Obj | None:
        blob = self.engine.store.get("ServiceCIDR", name)
        return None if blob is None else decode_object(blob)


DELETED = ("deleted-cidr", "192.168.0.0/24", "2001:db2::/64")
FINALIZER_AND_STATUS = [("update", "ServiceCIDR"), ("updateStatus", "ServiceCIDR")]

# name -> (other ServiceCIDRs, IPAddresses, what is synced, kcm's writes to it, what becomes of it)
SYNC_CASES: dict[str, tuple[list[tuple[str, ...]], list[str], str, list[tuple[str, str]], str]] = {
    "default service CIDR must have finalizer": (
        [],
        [],
        "kubernetes",
        FINALIZER_AND_STATUS,
        "ready",
    ),
    "service CIDR must have finalizer": ([], [], "no-finalizer", FINALIZER_AND_STATUS, "ready"),
    "service CIDR being deleted must remove the finalizer": (
        [],
        [],
        "deleted-cidr",
        [("update", "ServiceCIDR")],
        "gone",
    ),
    "service CIDR being deleted but within the grace period must not remove the finalizer": (
        [],
        [],
        "deleting-cidr",
        [],
        "waiting",
    ),
    "service CIDR being deleted with IPv4 addresses should update the status": (
        [],
        ["192.168.0.1"],
        "deleted-cidr",
        [("updateStatus", "ServiceCIDR")],
        "terminating",
    ),
    "being deleted and overlapping same range and IPv4 addresses should remove the finalizer": (
        [("overlapping", "192.168.0.0/24", "2001:db2::/64")],
        ["192.168.0.1"],
        "deleted-cidr",
        [("update", "ServiceCIDR")],
        "gone",
    ),
    "being deleted and overlapping and IPv4 addresses should remove the finalizer": (
        [("overlapping", "192.168.0.0/16", "2001:db2::/64")],
        ["192.168.0.1"],
        "deleted-cidr",
        [("update", "ServiceCIDR")],
        "gone",
    ),
    "being deleted and not overlapping and IPv4 addresses should update the status": (
        [("overlapping", "192.168.255.0/26", "2001:db2::/64")],
        ["192.168.0.1"],
        "deleted-cidr",
        [("updateStatus", "ServiceCIDR")],
        "terminating",
    ),
    "service CIDR being deleted with IPv6 addresses should update the status": (
        [],
        ["2001:db2::1"],
        "deleted-cidr",
        [("updateStatus", "ServiceCIDR")],
        "terminating",
    ),
    "being deleted and overlapping same range and IPv6 addresses should remove the finalizer": (
        [("overlapping", "192.168.0.0/24", "2001:db2::/64")],
        ["2001:db2::1"],
        "deleted-cidr",
        [("update", "ServiceCIDR")],
        "gone",
    ),
    "being deleted and overlapping and IPv6 addresses should remove the finalizer": (
        [("overlapping", "192.168.0.0/16", "2001:db2::/48")],
        ["2001:db2::1"],
        "deleted-cidr",
        [("update", "ServiceCIDR")],
        "gone",
    ),
    "being deleted and not overlapping and IPv6 addresses should update the status": (
        [("overlapping", "192.168.255.0/26", "2001:db2:a:b::/64")],
        ["2001:db2::1"],
        "deleted-cidr",
        [("updateStatus", "ServiceCIDR")],
        "terminating",
    ),
}


@pytest.mark.parametrize(
    ("others", "ips", "synced", "writes", "outcome"), SYNC_CASES.values(), ids=SYNC_CASES.keys()
)
def test_controller_sync(
    families: tuple[str, ...],
    others: list[tuple[str, ...]],
    ips: list[str],
    synced: str,
    writes: list[tuple[str, str]],
    outcome: str,
) -> None:
    kcm = Kcm(families)
    cidrs = DELETED[1:]
    if synced == "deleted-cidr":
        kcm.service_cidr(synced, *cidrs, deleted_ago=11)  # past the 10 s deletion grace
    elif synced == "deleting-cidr":
        kcm.service_cidr(synced, *cidrs, deleted_ago=0)
    else:
        kcm.service_cidr(synced, *cidrs)
    for other in others:
        kcm.service_cidr(*other, reconciled=True)
    for ip in ips:
        kcm.ip_address(ip)
    changed, deadline = kcm.sync()
    assert kcm.written() == [(verb, kind, synced) for verb, kind in writes]
    assert changed is bool(writes)
    obj = kcm.get(synced)
    if outcome == "gone":
        assert obj is None
        return
    assert obj is not None
    cond = get_condition(obj, "Ready")
    if outcome == "ready":
        assert obj["metadata"]["finalizers"] == [FINALIZER]
        assert cond is not None
        assert (cond["status"], cond["reason"], cond["message"]) == ("True", "", READY)
        assert deadline is None
    elif outcome == "terminating":
        assert obj["metadata"]["finalizers"] == [FINALIZER]
        assert cond is not None
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "False",
            "Terminating",
            TERMINATING,
        )
    else:  # waiting: requeued for the end of the grace period
        assert obj["metadata"]["finalizers"] == [FINALIZER]
        assert deadline == kcm.clock.now() + 10
    # a second pass has nothing more to do
    assert kcm.sync() == (False, deadline)
    assert kcm.written() == []


# name -> (ServiceCIDRs besides the one asked about, IPAddresses, whether it can be deleted)
CAN_DELETE: dict[str, tuple[list[tuple[str, ...]], list[str], bool]] = {
    "empty": ([], [], True),
    "CIDR without IPs": ([], ["192.168.1.24"], True),
    "CIDR with IPs": ([], ["192.168.0.24"], False),
    "CIDR with IPv4 address referencing the subnet address": ([], ["192.168.0.0"], True),
    "CIDR with IPv4 address referencing the broadcast address": ([], ["192.168.0.255"], True),
    # IPv6 has no broadcast address: the all-ones address is an address like any other
    "CIDR with IPv6 address referencing the broadcast address": (
        [],
        ["2001:db2::ffff:ffff:ffff:ffff"],
        False,
    ),
    "CIDR with same range overlapping and IPs": (
        [("overlapping", "192.168.0.0/24", "2001:db2::/64")],
        ["192.168.0.23"],
        True,
    ),
    "CIDR with smaller range overlapping and IPs": (
        [("overlapping", "192.168.0.0/26", "2001:db2::/64")],
        ["192.168.0.23"],
        True,
    ),
    "CIDR with smaller range overlapping but IPs orphan": (
        [("overlapping", "192.168.0.0/28", "2001:db2::/64")],
        ["192.168.0.23"],
        False,
    ),
    "CIDR with larger range overlapping and IPs": (
        [("overlapping", "192.168.0.0/16", "2001:db2::/64")],
        ["192.168.0.23"],
        True,
    ),
}


@pytest.mark.parametrize(("others", "ips", "want"), CAN_DELETE.values(), ids=CAN_DELETE.keys())
def test_can_delete_cidr(
    families: tuple[str, ...], others: list[tuple[str, ...]], ips: list[str], want: bool
) -> None:
    kcm = Kcm(families)
    kcm.service_cidr("kubernetes", "192.168.0.0/24", "2001:db2::/64")
    for other in others:
        kcm.service_cidr(*other)
    for ip in ips:
        kcm.ip_address(ip)
    everything = kcm.engine.list("ServiceCIDR")
    sc = kcm.get("kubernetes")
    assert sc is not None
    assert can_delete(kcm.engine, sc, everything) is want


@pytest.mark.parametrize(
    ("managed", "family", "blocks"),
    [(True, None, True), (False, None, False), (True, "IPv6", False)],
    ids=["managed", "user-created", "wrong-family-label"],
)
def test_only_the_allocators_ip_addresses_block_a_deletion(
    families: tuple[str, ...], managed: bool, family: str | None, blocks: bool
) -> None:
    kcm = Kcm(families)
    kcm.service_cidr("kubernetes", "192.168.0.0/24")
    kcm.ip_address("192.168.0.24", managed=managed, family=family)
    sc = kcm.get("kubernetes")
    assert sc is not None
    assert can_delete(kcm.engine, sc, [sc]) is not blocks


def test_two_terminating_identical_service_cidrs_release_each_other(
    families: tuple[str, ...],
) -> None:
    # SPEC 5 (open): the other ServiceCIDRs counted are all existing ones, terminating or not
    kcm = Kcm(families)
    kcm.service_cidr("a", "192.168.0.0/24", deleted_ago=11)
    kcm.service_cidr("b", "192.168.0.0/24", deleted_ago=11)
    kcm.ip_address("192.168.0.24")
    kcm.sync()
    assert kcm.get("a") is None
    # b lost its cover with a: it now waits for the address to go
    b = kcm.get("b")
    assert b is not None and FINALIZER in b["metadata"]["finalizers"]


# ------------------------------------------------------------------------------ over time


def test_a_terminating_service_cidr_goes_once_its_addresses_do_and_the_grace_passed(
    families: tuple[str, ...],
) -> None:
    kcm = Kcm(families)
    kcm.service_cidr("old", "192.168.0.0/24", reconciled=True)
    kcm.ip_address("192.168.0.24")
    kcm.engine.delete("ServiceCIDR", "old", actor="user")
    assert kcm.sync() == (True, None)
    assert kcm.written() == [("updateStatus", "ServiceCIDR", "old")]
    kcm.clock.advance(60)
    kcm.engine.delete("IPAddress", "192.168.0.24")
    deletion = kcm.get("old")["metadata"]["deletionTimestamp"]  # type: ignore[index]
    # the grace counts from the deletionTimestamp: 60 s ago, so it is over
    assert kcm.sync() == (True, None)
    assert kcm.written() == [("update", "ServiceCIDR", "old")]
    assert kcm.get("old") is None
    assert deletion == format_time(kcm.clock.now() - 60)


def test_the_deletion_grace_is_a_deadline_on_the_clock(families: tuple[str, ...]) -> None:
    kcm = Kcm(families)
    kcm.service_cidr("old", "192.168.0.0/24", reconciled=True)
    kcm.engine.delete("ServiceCIDR", "old")
    t0 = kcm.clock.now()
    assert kcm.sync() == (False, t0 + 10)
    kcm.clock.advance(9)
    assert kcm.sync() == (False, t0 + 10)
    kcm.clock.advance(1)
    assert kcm.sync() == (True, None)
    assert kcm.get("old") is None


def test_the_default_controllers_ready_message_is_rewritten_by_kcm(
    families: tuple[str, ...],
) -> None:
    kcm = Kcm(families)
    kcm.engine.put_raw(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "kubernetes", "finalizers": [FINALIZER]},
            "spec": {"cidrs": ["10.96.0.0/24"]},
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "message": "Kubernetes default Service CIDR is ready",
                        "lastTransitionTime": "2024-06-01T00:00:00Z",
                    }
                ]
            },
        }
    )
    kcm.sync()
    assert kcm.written() == [("updateStatus", "ServiceCIDR", "kubernetes")]
    cond = get_condition(kcm.get("kubernetes") or {}, "Ready")
    assert cond is not None
    assert (cond["status"], cond["message"]) == ("True", READY)
    # the status did not change, so neither does the transition time
    assert cond["lastTransitionTime"] == "2024-06-01T00:00:00Z"


def _deny(kcm: Kcm, resource: str) -> None:
    e = kcm.engine
    e.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "frozen"},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["networking.k8s.io"],
                            "apiVersions": ["v1"],
                            "operations": ["UPDATE"],
                            "resources": [resource],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "frozen"}],
            },
        },
        actor="admin",
    )
    e.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "frozen"},
            "spec": {"policyName": "frozen", "validationActions": ["Deny"]},
        },
        actor="admin",
    )


def test_a_refused_write_is_retried_on_the_next_pass(families: tuple[str, ...]) -> None:
    kcm = Kcm(families)
    _deny(kcm, "servicecidrs")
    kcm.service_cidr("new", "192.168.0.0/24")
    assert kcm.sync() == (False, None)
    assert kcm.written() == []
    kcm.engine.delete("ValidatingAdmissionPolicyBinding", "frozen", actor="admin")
    assert kcm.sync() == (True, None)
    assert kcm.written() == [
        ("update", "ServiceCIDR", "new"),
        ("updateStatus", "ServiceCIDR", "new"),
    ]


def test_a_refused_status_write_is_reported_once(families: tuple[str, ...]) -> None:
    kcm = Kcm(families)
    _deny(kcm, "servicecidrs/status")
    kcm.service_cidr("new", "192.168.0.0/24")
    kcm.sync()
    assert [(v, k) for v, k, _ in kcm.written()] == [("update", "ServiceCIDR"), ("create", "Event")]
    [event] = kcm.engine.list("Event")
    assert (event["type"], event["reason"], event["note"], event["reportingController"]) == (
        "Warning",
        "KubernetesServiceCIDRError",
        "The ServiceCIDR Status can not be set to Ready=True",
        KCM,
    )
    assert event["regarding"]["name"] == "new"
    assert kcm.sync() == (False, None)
