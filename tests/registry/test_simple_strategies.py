"""The strategies of the kinds without allocation (servicecidr.registry.simple): ServiceCIDR,
IPAddress, Namespace, Event and the admission kinds, called directly on a small real
request context (an Engine with a MemoryRecorder). Each returns an Outcome and commits
nothing; the generic store's steps (metadata, preconditions, validation, admission,
graceful deletion) are asserted on what it returns."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock
from servicecidr.errors import (
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    ConflictError,
    InvalidError,
    NotFoundError,
)
from servicecidr.journal.recorder import MemoryRecorder
from servicecidr.journal.records import OP_PUT
from servicecidr.registry.simple import SIMPLE_KINDS, SimpleKind
from servicecidr.registry.strategies import STRATEGIES
from servicecidr.registry.txn import Outcome

Obj = dict[str, Any]
SERVICE_CIDR = SIMPLE_KINDS["ServiceCIDR"]
IP_ADDRESS = SIMPLE_KINDS["IPAddress"]
NAMESPACE = STRATEGIES["Namespace"]
EVENT = SIMPLE_KINDS["Event"]
POLICY = SIMPLE_KINDS["ValidatingAdmissionPolicy"]
BINDING = SIMPLE_KINDS["ValidatingAdmissionPolicyBinding"]


def new_engine() -> Engine:
    e = Engine(("10.96.0.0/24",), ("IPv4",), 1, SimulatedClock(), MemoryRecorder())
    e.lifecycle = None  # no system-namespaces controller runs here: NamespaceLifecycle off
    return e


def service_cidr(name: str = "extra", *cidrs: str, version: str = "v1", **more: Any) -> Obj:
    return {
        "apiVersion": f"networking.k8s.io/{version}",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": list(cidrs) or ["10.100.0.0/24"]},
        **more,
    }


def ip_address(name: str = "10.96.0.5", **ref: str) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": name},
        "spec": {"parentRef": {"group": "", "resource": "services", "name": "web", **ref}},
    }


def event(name: str = "web.1") -> Obj:
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name},
        "eventTime": "2025-01-01T00:00:00.000000Z",
        "reportingController": "test",
        "reportingInstance": "test-1",
        "action": "Testing",
        "reason": "Tested",
        "note": "a note",
        "type": "Normal",
        "regarding": {"kind": "Service", "name": "web", "namespace": "default"},
    }


def namespace(name: str = "prod") -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def snapshot(e: Engine) -> tuple[Any, ...]:
    return (e.seq, e.store.revision, {k: e.store.items(k) for k in e.store.kinds()})


def decide(e: Engine, call: Callable[..., Outcome], *args: Any) -> Outcome:
    before = snapshot(e)
    out = call(e, *args)
    assert snapshot(e) == before, "a strategy committed something"
    return out


def refused(
    e: Engine, error: type[ApiError], match: str, call: Callable[..., Any], *args: Any
) -> None:
    before = snapshot(e)
    with pytest.raises(error, match=match):
        call(e, *args)
    assert snapshot(e) == before


def writes(out: Outcome) -> list[tuple[str, str, str]]:
    return [
        (w.kind, w.key, "put" if w.op == OP_PUT else "delete") for t in out.txns for w in t.writes
    ]


# ------------------------------------------------------------------------------ create


@pytest.mark.parametrize(
    ("kind", "body", "key"),
    [
        (SERVICE_CIDR, service_cidr(), "extra"),
        (SERVICE_CIDR, service_cidr(version="v1beta1"), "extra"),
        (IP_ADDRESS, ip_address(), "10.96.0.5"),
        (NAMESPACE, namespace(), "prod"),
        (EVENT, event(), "default/web.1"),
    ],
    ids=["servicecidr", "servicecidr-v1beta1", "ipaddress", "namespace", "event"],
)
def test_create_returns_one_put_with_system_metadata(kind: SimpleKind, body: Obj, key: str) -> None:
    e = new_engine()
    # a resourceVersion is refused (etcd3's ErrResourceVersionSetOnCreate), after the
    # strategy has decided everything else, so it leaves nothing behind
    with_rv = copy.deepcopy(body)
    with_rv["metadata"]["resourceVersion"] = "42"
    refused(
        e,
        ApiError,
        "resourceVersion should not be set on objects to be created",
        kind.create,
        with_rv,
        None,
        False,
        "user",
    )
    body["metadata"].update(uid="from-the-client", generation=3)
    out = decide(e, kind.create, copy.deepcopy(body), None, False, "user")
    obj = out.obj
    info = kind.info
    assert obj["apiVersion"] == info.api_version  # kept in the preferred version
    meta = obj["metadata"]
    assert meta["uid"] != "from-the-client" and len(meta["uid"]) == 36
    assert meta["creationTimestamp"] == "2025-01-01T00:00:00Z"
    assert meta["resourceVersion"] == str(e.store.revision + 1)
    assert "generation" not in meta
    assert (meta.get("namespace") == "default") is info.namespaced
    assert out.warnings == [] and out.error is None
    [txn] = out.txns
    assert (txn.verb, txn.kind, txn.name, txn.namespace) == (
        "create",
        info.kind,
        meta["name"],
        meta.get("namespace"),
    )
    assert writes(out) == [(info.kind, key, "put")]
    e.run(out, "user")
    assert e.get(info.kind, meta["name"], meta.get("namespace")) == obj


def test_status_cannot_be_set_by_a_create() -> None:
    e = new_engine()
    body = service_cidr(status={"conditions": [{"type": "Ready", "status": "False"}]})
    out = decide(e, SERVICE_CIDR.create, body, None, False, "user")
    assert "status" not in out.obj


@pytest.mark.parametrize(
    ("kind", "body", "match"),
    [
        (
            SERVICE_CIDR,
            service_cidr("x", "10.0.0.1/24"),
            r'ServiceCIDR.networking.k8s.io "x" is invalid: spec.cidrs\[0\]: Invalid value: '
            r'"10.0.0.1/24": must not have bits set beyond the prefix length',
        ),
        (
            SERVICE_CIDR,
            {**service_cidr("x"), "spec": {"cidrs": []}},
            "spec.cidrs: Required value: at least one CIDR required",
        ),
        (
            SERVICE_CIDR,
            service_cidr("x", "10.0.0.0/24", "10.1.0.0/24"),
            "may specify no more than one IP for each IP family",
        ),
        (
            SERVICE_CIDR,
            service_cidr("x", "10.0.0.0/24", "fd00::/64", "10.2.0.0/24"),
            "may only hold up to 2 values",
        ),
        (SERVICE_CIDR, service_cidr("Bad_Name"), "a lowercase RFC 1123 subdomain"),
        (IP_ADDRESS, ip_address("10.0.0.01"), "must not have leading 0s"),
        (IP_ADDRESS, ip_address("2001:db8:0::1"), r'must be in canonical form \("2001:db8::1"\)'),
        (IP_ADDRESS, ip_address("10.0.0.0/24"), "must be a valid IP address"),
        (IP_ADDRESS, ip_address("::ffff:10.0.0.1"), "must not be an IPv4-mapped IPv6 address"),
        (
            IP_ADDRESS,
            {**ip_address(), "spec": {}},
            r'IPAddress.networking.k8s.io "10.96.0.5" is invalid: spec.parentRef: Required value',
        ),
        (IP_ADDRESS, ip_address(name=""), "metadata.name: Required value"),
    ],
    ids=[
        "cidr-host-bits",
        "no-cidrs",
        "two-ipv4-cidrs",
        "three-cidrs",
        "bad-name",
        "ip-leading-zero",
        "ip-not-canonical",
        "ip-is-a-cidr",
        "ip-v4-mapped",
        "ip-no-parent-ref",
        "ip-no-name",
    ],
)
def test_an_invalid_create_is_refused_with_kubernetes_field_errors(
    kind: SimpleKind, body: Obj, match: str
) -> None:
    e = new_engine()
    refused(e, InvalidError, match, kind.create, body, None, False, "user")


def test_a_second_create_of_a_name_already_exists() -> None:
    e = new_engine()
    e.create(service_cidr())
    refused(
        e,
        AlreadyExistsError,
        'servicecidrs.networking.k8s.io "extra" already exists',
        SERVICE_CIDR.create,
        service_cidr(),
        None,
        False,
        "user",
    )


def test_a_dry_run_create_returns_the_object_and_no_transaction() -> None:
    e = new_engine()
    out = decide(e, SERVICE_CIDR.create, service_cidr(), None, True, "user")
    assert out.txns == [] and out.obj["metadata"]["name"] == "extra"


def test_generate_name() -> None:
    e = new_engine()
    body = namespace()
    body["metadata"] = {"generateName": "team-"}
    out = decide(e, NAMESPACE.create, body, None, False, "user")
    name = out.obj["metadata"]["name"]
    assert name.startswith("team-") and len(name) == len("team-") + 5
    assert writes(out) == [("Namespace", name, "put")]


def test_an_event_is_created_in_the_request_namespace() -> None:
    e = new_engine()
    out = decide(e, EVENT.create, event(), "kube-system", False, "a-controller")
    assert out.obj["metadata"]["namespace"] == "kube-system"
    assert writes(out) == [("Event", "kube-system/web.1", "put")]


# ------------------------------------------------------------------------------ admission


POLICY_OBJ = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "only-default"},
    "spec": {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["servicecidrs"],
                }
            ]
        },
        "validations": [
            {"expression": "object.metadata.name == 'kubernetes'", "message": "only the default"}
        ],
    },
}


def bound(e: Engine, *actions: str) -> None:
    e.create(copy.deepcopy(POLICY_OBJ))
    e.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "b"},
            "spec": {"policyName": "only-default", "validationActions": list(actions)},
        }
    )


def test_a_denying_policy_refuses_the_create() -> None:
    e = new_engine()
    bound(e, "Deny")
    refused(
        e,
        InvalidError,
        r'servicecidrs.networking.k8s.io "extra" is forbidden: ValidatingAdmissionPolicy '
        r"'only-default' with binding 'b' denied request: only the default",
        SERVICE_CIDR.create,
        service_cidr(),
        None,
        False,
        "user",
    )
    # a dry run is admitted the same way
    refused(
        e, InvalidError, "denied request", SERVICE_CIDR.create, service_cidr(), None, True, "user"
    )


def test_warn_and_audit_actions_come_back_in_the_outcome_and_the_entry() -> None:
    e = new_engine()
    bound(e, "Warn", "Audit")
    out = decide(e, SERVICE_CIDR.create, service_cidr(), None, False, "user")
    warning = (
        "Validation failed for ValidatingAdmissionPolicy 'only-default' with binding 'b': "
        "only the default"
    )
    assert out.warnings == [warning]
    [txn] = out.txns
    assert txn.extra is not None and txn.extra["warnings"] == [warning]
    assert "validation.policy.admission.k8s.io/validation_failure" in txn.extra["annotations"]
    e.run(out, "user")
    assert list(e.recorder.read())[-1].extra == txn.extra


# ------------------------------------------------------------------------------ update


def test_update_keeps_the_status_and_the_system_fields() -> None:
    e = new_engine()
    obj, _ = e.create(service_cidr())
    obj["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "",
                "message": "m",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }
        ]
    }
    obj, _ = e.update_status(obj)
    new = copy.deepcopy(obj)
    new["metadata"]["labels"] = {"team": "net"}
    new["metadata"]["uid"] = ""
    new["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z"
    new["status"] = {}
    out = decide(e, SERVICE_CIDR.update, new, None, False, "user")
    assert out.obj["status"] == obj["status"]
    assert out.obj["metadata"]["uid"] == obj["metadata"]["uid"]
    assert out.obj["metadata"]["creationTimestamp"] == obj["metadata"]["creationTimestamp"]
    assert out.obj["metadata"]["labels"] == {"team": "net"}
    [txn] = out.txns
    assert txn.verb == "update" and writes(out) == [("ServiceCIDR", "extra", "put")]


@pytest.mark.parametrize(
    ("kind", "body", "change", "match"),
    [
        (
            SERVICE_CIDR,
            service_cidr("x", "10.0.0.0/24"),
            lambda o: o["spec"].update(cidrs=["10.1.0.0/24"]),
            r'spec.cidrs\[0\]: Invalid value: "10.1.0.0/24": field is immutable',
        ),
        (
            SERVICE_CIDR,
            service_cidr("x", "10.0.0.0/24"),
            lambda o: o["spec"].update(cidrs=["10.1.0.0/24", "fd00::/64"]),
            r'spec.cidrs\[0\]: Invalid value: "10.1.0.0/24": field is immutable',
        ),
        (
            SERVICE_CIDR,
            service_cidr("x", "10.0.0.0/24", "fd00::/64"),
            lambda o: o["spec"].update(cidrs=["10.0.0.0/24"]),
            r'spec.cidrs: Invalid value: \["10.0.0.0/24"\]: field is immutable',
        ),
        (
            IP_ADDRESS,
            ip_address(),
            lambda o: o["spec"]["parentRef"].update(name="other"),
            r"spec.parentRef: Invalid value: .*field is immutable",
        ),
    ],
    ids=["cidr-changed", "cidr-changed-in-an-upgrade", "dual-to-single", "parent-ref"],
)
def test_immutable_fields(kind: SimpleKind, body: Obj, change: Any, match: str) -> None:
    e = new_engine()
    obj, _ = e.create(body)
    change(obj)
    refused(e, InvalidError, match, kind.update, obj, None, False, "user")


def test_a_service_cidr_may_grow_from_single_to_dual_stack() -> None:
    # kubernetes/kubernetes#131261: one -> two CIDRs when the first is unchanged
    e = new_engine()
    obj, _ = e.create(service_cidr("x", "10.0.0.0/24"))
    obj["spec"]["cidrs"] = ["10.0.0.0/24", "fd00::/64"]
    out = decide(e, SERVICE_CIDR.update, obj, None, False, "user")
    assert out.obj["spec"]["cidrs"] == ["10.0.0.0/24", "fd00::/64"]


@pytest.mark.parametrize(
    ("meta", "error", "match"),
    [
        ({"resourceVersion": "99"}, ConflictError, "the object has been modified"),
        ({"uid": "0000"}, ConflictError, "Precondition failed: UID in precondition: 0000"),
        ({"name": "missing"}, NotFoundError, 'servicecidrs.networking.k8s.io "missing" not found'),
    ],
)
def test_update_preconditions(meta: Obj, error: type[ApiError], match: str) -> None:
    e = new_engine()
    obj, _ = e.create(service_cidr())
    obj["metadata"].update(meta)
    refused(e, error, match, SERVICE_CIDR.update, obj, None, False, "user")


def test_update_status_changes_only_the_status() -> None:
    e = new_engine()
    obj, _ = e.create(service_cidr())
    new = copy.deepcopy(obj)
    new["spec"]["cidrs"] = ["10.200.0.0/24"]
    new["metadata"]["labels"] = {"ignored": "yes"}
    new["status"] = {"conditions": [{"type": "Ready", "status": "False"}]}
    out = decide(e, SERVICE_CIDR.update_status, new, None, False, "a-controller")
    assert out.obj["spec"] == obj["spec"]
    assert "labels" not in out.obj["metadata"]
    assert out.obj["status"] == new["status"]
    assert [t.verb for t in out.txns] == ["updateStatus"]


def test_a_kind_without_a_status_subresource_has_no_status_to_update() -> None:
    e = new_engine()
    e.create(ip_address())
    refused(
        e,
        NotFoundError,
        'ipaddresses.networking.k8s.io "10.96.0.5/status" not found',
        IP_ADDRESS.update_status,
        ip_address(),
        None,
        False,
        "user",
    )


def test_a_dry_run_update_returns_the_object_and_no_transaction() -> None:
    e = new_engine()
    obj, _ = e.create(namespace())
    obj["metadata"]["labels"] = {"a": "b"}
    out = decide(e, NAMESPACE.update, obj, None, True, "user")
    # every Namespace carries its name label (SetDefaults_Namespace)
    assert out.txns == [] and out.obj["metadata"]["labels"] == {
        "a": "b",
        "kubernetes.io/metadata.name": "prod",
    }


# ------------------------------------------------------------------------------ delete


def test_delete_without_finalizers_removes_the_object() -> None:
    e = new_engine()
    obj, _ = e.create(ip_address())
    out = decide(e, IP_ADDRESS.delete, "10.96.0.5", None, False, "user")
    assert out.obj == obj
    assert writes(out) == [("IPAddress", "10.96.0.5", "delete")]
    assert out.txns[0].writes[0].blob == e.store.get("IPAddress", "10.96.0.5")


def test_delete_with_finalizers_marks_the_object_until_they_are_removed() -> None:
    e = new_engine()
    e.create(service_cidr(metadata={"name": "extra", "finalizers": ["example.com/hold"]}))
    out = decide(e, SERVICE_CIDR.delete, "extra", None, False, "user")
    assert out.obj["metadata"]["deletionTimestamp"] == "2025-01-01T00:00:00Z"
    assert writes(out) == [("ServiceCIDR", "extra", "put")]
    held, _ = e.run(out, "user")
    assert decide(e, SERVICE_CIDR.delete, "extra", None, False, "user").txns == []
    # an update dropping the last finalizer of an object being deleted deletes it
    held["metadata"]["finalizers"] = []
    out = decide(e, SERVICE_CIDR.update, held, None, False, "user")
    assert writes(out) == [("ServiceCIDR", "extra", "delete")]
    e.run(out, "user")
    assert not e.store.contains("ServiceCIDR", "extra")


def test_a_dry_run_delete_returns_the_object_and_no_transaction() -> None:
    e = new_engine()
    e.create(event())
    out = decide(e, EVENT.delete, "web.1", "default", True, "user")
    assert out.txns == [] and out.obj["metadata"]["name"] == "web.1"


@pytest.mark.parametrize(
    ("kind", "name", "namespace", "error", "match"),
    [
        (NAMESPACE, "missing", None, NotFoundError, 'namespaces "missing" not found'),
        (EVENT, "web.1", "other", NotFoundError, 'events.events.k8s.io "web.1" not found'),
        (SERVICE_CIDR, "", None, BadRequestError, "resource name may not be empty"),
    ],
    ids=["missing", "other-namespace", "no-name"],
)
def test_delete_of_what_is_not_there(
    kind: SimpleKind, name: str, namespace: str | None, error: type[ApiError], match: str
) -> None:
    e = new_engine()
    e.create(event())
    refused(e, error, match, kind.delete, name, namespace, False, "user")


# ------------------------------------------------------------------------------ admission kinds


def test_policies_and_bindings_are_validated_on_create() -> None:
    e = new_engine()
    bad_policy = copy.deepcopy(POLICY_OBJ)
    bad_policy["spec"]["validations"] = [{"expression": "object.metadata.name ==", "message": "x"}]
    refused(
        e,
        InvalidError,
        r"spec.validations\[0\].expression",
        POLICY.create,
        bad_policy,
        None,
        False,
        "user",
    )
    bad_binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "b"},
        "spec": {"policyName": "only-default", "validationActions": []},
    }
    refused(
        e, InvalidError, "spec.validationActions", BINDING.create, bad_binding, None, False, "user"
    )
