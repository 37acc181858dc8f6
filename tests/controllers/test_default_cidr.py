"""kube-apiserver's default-ServiceCIDR controller (servicecidr.controllers.default_cidr) and
kubernetes-service controller (servicecidr.controllers.kubernetes_service), each driven
alone on a real Engine: one sync, then the writes made through the engine (journal entries
with actor and verb) and the Events recorded.

After pkg/controlplane/controller/defaultservicecidr/default_servicecidr_controller.go
(SPEC 1.4) and pkg/controlplane/controller/kubernetesservice.
"""

from __future__ import annotations

from typing import Any

import pytest

from servicecidr.api.conditions import get_condition
from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock
from servicecidr.controllers.default_cidr import sync_default_service_cidr
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.controllers.kubernetes_service import ensure_kubernetes_service
from servicecidr.journal.recorder import MemoryRecorder

Obj = dict[str, Any]
DEFAULT = "kubernetes-service-cidr-controller"
APISERVER = "kube-apiserver"
READY = "Kubernetes default Service CIDR is ready"
V4 = ("10.96.0.0/24",)
DUAL = ("10.96.0.0/24", "fd00:10::/112")


class Apiserver:
    def __init__(self, flags: tuple[str, ...]) -> None:
        families = tuple("IPv6" if ":" in c else "IPv4" for c in flags) or ("IPv4", "IPv6")
        self.clock = SimulatedClock()
        self.engine = Engine(flags, families, 1, self.clock, MemoryRecorder())
        self.engine.lifecycle = (
            None  # no system-namespaces controller runs here: NamespaceLifecycle off
        )
        self.events = EventRecorder(self.engine)
        self.mark = 0

    def stored(
        self,
        *cidrs: str,
        conditions: list[Obj] | None = None,
        deleting: bool = False,
    ) -> None:
        """The default ServiceCIDR as a previous apiserver left it."""
        meta: Obj = {"name": "kubernetes"}
        if deleting:
            meta["finalizers"] = ["networking.k8s.io/service-cidr-finalizer"]
            meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        obj: Obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": meta,
            "spec": {"cidrs": list(cidrs)},
        }
        if conditions is not None:
            obj["status"] = {"conditions": conditions}
        self.engine.put_raw(obj, actor="etcd")

    def sync(self) -> bool:
        self.mark = self.engine.seq
        return sync_default_service_cidr(self.engine, self.events)

    def written(self) -> list[tuple[str, str, str, str]]:
        return [
            (e.actor, e.verb, e.kind, e.name.rsplit(".", 1)[0] if e.kind == "Event" else e.name)
            for e in self.engine.recorder.read(self.mark)
        ]

    def default(self) -> Obj:
        return self.engine.get("ServiceCIDR", "kubernetes")

    def recorded(self) -> list[tuple[str, str, str]]:
        return [(e["type"], e["reason"], e["note"]) for e in self.engine.list("Event")]


def ready(status: str, reason: str = "", message: str = READY) -> Obj:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2024-06-01T00:00:00Z",
    }


# ------------------------------------------------------------------------------ creation


@pytest.mark.parametrize("flags", [V4, DUAL, ("fd00:10::/112",)], ids=["ipv4", "dual", "ipv6"])
def test_a_missing_default_service_cidr_is_created_from_the_flags_and_made_ready(
    flags: tuple[str, ...],
) -> None:
    api = Apiserver(flags)
    assert api.sync() is True
    assert api.written() == [
        (DEFAULT, "create", "ServiceCIDR", "kubernetes"),
        (DEFAULT, "updateStatus", "ServiceCIDR", "kubernetes"),
    ]
    sc = api.default()
    assert sc["spec"]["cidrs"] == list(flags)
    assert "finalizers" not in sc["metadata"]  # kcm adds it
    cond = get_condition(sc, "Ready")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "", READY)
    assert cond["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert api.sync() is False
    assert api.written() == []


def test_without_flags_there_is_no_default_service_cidr() -> None:
    api = Apiserver(())
    assert api.sync() is False
    assert api.written() == []
    assert api.engine.store.count("ServiceCIDR") == 0


def test_a_deleted_default_is_created_again() -> None:
    api = Apiserver(V4)
    api.sync()
    api.engine.delete("ServiceCIDR", "kubernetes")  # no finalizer: gone at once
    assert api.sync() is True
    assert [w[1] for w in api.written()] == ["create", "updateStatus"]


# ------------------------------------------------------------------------------ status sync


@pytest.mark.parametrize(
    ("conditions", "writes", "events"),
    [
        (None, [(DEFAULT, "updateStatus", "ServiceCIDR", "kubernetes")], []),
        ([ready("Unknown")], [(DEFAULT, "updateStatus", "ServiceCIDR", "kubernetes")], []),
        ([ready("True")], [], []),
        # kcm's own message counts as ready too
        ([ready("True", message="Kubernetes Service CIDR is ready")], [], []),
        (
            [ready("False", "Terminating", "something is wrong")],
            [(DEFAULT, "create", "Event", "kubernetes")],
            [("Warning", "Terminating", "Configuration matches, but something is wrong")],
        ),
    ],
    ids=["no-condition", "unknown", "ready", "ready-by-kcm", "not-ready"],
)
def test_the_status_of_a_matching_default(
    conditions: list[Obj] | None,
    writes: list[tuple[str, str, str, str]],
    events: list[tuple[str, str, str]],
) -> None:
    api = Apiserver(V4)
    api.stored(*V4, conditions=conditions)
    assert api.sync() is bool(writes)
    assert api.written() == writes
    assert api.recorded() == events
    cond = get_condition(api.default(), "Ready")
    assert cond is not None
    if conditions is None or conditions[0]["status"] == "Unknown":
        assert (cond["status"], cond["message"]) == ("True", READY)
    else:
        assert cond == conditions[0]  # never overwritten (no hot loop against kcm)
    # reported once
    assert api.sync() is False
    assert api.written() == []


def test_a_default_being_deleted_is_left_to_kcm() -> None:
    api = Apiserver(V4)
    api.stored("10.0.0.0/24", deleting=True)
    assert api.sync() is False
    assert api.written() == []


def test_single_stack_default_is_upgraded_when_the_flags_gain_a_secondary_range() -> None:
    api = Apiserver(DUAL)
    api.stored(*V4, conditions=[ready("True")])
    assert api.sync() is True
    assert api.written() == [(DEFAULT, "update", "ServiceCIDR", "kubernetes")]
    assert api.default()["spec"]["cidrs"] == list(DUAL)
    assert api.sync() is False


@pytest.mark.parametrize(
    ("flags", "stored"),
    [
        (V4, ("10.0.0.0/24",)),
        (DUAL, ("10.0.0.0/24",)),  # another primary: no upgrade
        (V4, DUAL),  # a dual default is never downgraded
    ],
    ids=["other-range", "other-primary", "dual-stored"],
)
def test_a_default_that_does_not_match_the_flags_is_reported_once_and_left_alone(
    flags: tuple[str, ...], stored: tuple[str, ...]
) -> None:
    api = Apiserver(flags)
    api.stored(*stored)
    assert api.sync() is True
    assert api.written() == [(DEFAULT, "create", "Event", "kubernetes")]
    [(type_, reason, _)] = api.recorded()
    assert (type_, reason) == ("Warning", "KubernetesDefaultServiceCIDRInconsistent")
    assert api.default()["spec"]["cidrs"] == list(stored)
    assert get_condition(api.default(), "Ready") is None  # the status is left alone
    assert api.sync() is False


def test_the_inconsistency_note_prints_the_lists_as_go_does() -> None:
    api = Apiserver(DUAL)
    api.stored("10.0.0.0/24", "fd00:99::/112")
    api.sync()
    [(_, _, note)] = api.recorded()
    assert note == (
        "The default ServiceCIDR [10.0.0.0/24 fd00:99::/112] does not match the controller "
        "flag configurations [10.96.0.0/24 fd00:10::/112]"
    )


# ------------------------------------------------------------------------------ refusals


def _deny(api: Apiserver, operation: str) -> None:
    api.engine.create(
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
                            "operations": [operation],
                            "resources": ["servicecidrs"],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "frozen"}],
            },
        },
        actor="admin",
    )
    api.engine.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "frozen"},
            "spec": {"policyName": "frozen", "validationActions": ["Deny"]},
        },
        actor="admin",
    )


def test_a_refused_create_is_retried_on_the_next_sync() -> None:
    api = Apiserver(V4)
    _deny(api, "CREATE")
    assert api.sync() is False
    assert api.written() == []
    api.engine.delete("ValidatingAdmissionPolicyBinding", "frozen", actor="admin")
    assert api.sync() is True
    assert [w[1] for w in api.written()] == ["create", "updateStatus"]


def test_a_refused_upgrade_is_reported() -> None:
    api = Apiserver(DUAL)
    api.stored(*V4, conditions=[ready("True")])
    _deny(api, "UPDATE")
    assert api.sync() is False
    assert api.written() == [(DEFAULT, "create", "Event", "kubernetes")]
    [(type_, reason, note)] = api.recorded()
    assert (type_, reason) == ("Warning", "KubernetesDefaultServiceCIDRError")
    assert note.startswith(
        "The default ServiceCIDR can not be upgraded from 10.96.0.0/24 to dual stack"
    )
    assert note.endswith("denied request: frozen")
    assert api.default()["spec"]["cidrs"] == list(V4)


# ------------------------------------------------------------------------------ default/kubernetes


def test_the_kubernetes_service_takes_the_first_address_of_the_primary_range() -> None:
    api = Apiserver(DUAL)
    api.sync()
    api.mark = api.engine.seq
    assert ensure_kubernetes_service(api.engine) is True
    assert api.written() == [(APISERVER, "create", "Service", "kubernetes")]
    [entry] = list(api.engine.recorder.read(api.mark))
    assert [(w.kind, w.key) for w in entry.writes] == [
        ("IPAddress", "10.96.0.1"),
        ("Service", "default/kubernetes"),
    ]
    svc = api.engine.get("Service", "kubernetes", "default")
    assert svc["spec"]["clusterIPs"] == ["10.96.0.1"]
    assert svc["spec"]["ipFamilyPolicy"] == "SingleStack"
    assert svc["spec"]["ports"][0]["port"] == 443
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert ensure_kubernetes_service(api.engine) is False


def test_the_kubernetes_service_waits_for_a_range_that_holds_its_address() -> None:
    api = Apiserver(V4)
    assert ensure_kubernetes_service(api.engine) is False  # no ServiceCIDR yet
    assert api.engine.seq == 0
    api.sync()
    assert ensure_kubernetes_service(api.engine) is True
    # deleted: created again on the next sync
    api.engine.delete("Service", "kubernetes", "default")
    assert ensure_kubernetes_service(api.engine) is True


def test_no_kubernetes_service_without_flags() -> None:
    api = Apiserver(())
    assert ensure_kubernetes_service(api.engine) is False
    assert api.engine.seq == 0


def test_the_upgrade_failure_note_prints_the_list_as_go_does() -> None:
    api = Apiserver(DUAL)
    api.stored(*V4, conditions=[ready("True")])
    _deny(api, "UPDATE")
    api.sync()
    [(_, _, note)] = api.recorded()
    assert note.startswith(
        "The default ServiceCIDR can not be upgraded from 10.96.0.0/24 to dual stack "
        "[10.96.0.0/24 fd00:10::/112] : "
    )
