"""What admission sees of a request: the version the client used (apiserver
admission/plugin/policy/matching, plugin/cel/condition.go), and the requests the engine
makes itself: the allocator's IPAddress creates and releases (ipallocator.go, as a client
of the API) and the repair loop's writes, each with its own identity."""

from __future__ import annotations

import re
from typing import Any

import pytest

from servicecidr import Cluster, InternalError, InvalidError, SimulatedClock

Obj = dict[str, Any]

SHOW = (
    "request.kind.version + ' ' + request.requestKind.version + ' ' + "
    "request.resource.version + ' ' + request.requestResource.version + ' ' + "
    "(has(request.requestSubResource) ? request.requestSubResource : '-') + ' ' + "
    "(object != null ? object.apiVersion : oldObject.apiVersion)"
)


def cluster(range_: str = "10.96.0.0/24") -> Cluster:
    return Cluster(range_, seed=1, clock=SimulatedClock())


def deny(
    c: Cluster,
    name: str,
    resource: str,
    versions: list[str],
    operations: list[str],
    *,
    group: str = "networking.k8s.io",
    match_policy: str | None = None,
    expression: str = "false",
    message_expression: str = SHOW,
) -> None:
    constraints: Obj = {
        "resourceRules": [
            {
                "apiGroups": [group],
                "apiVersions": versions,
                "operations": operations,
                "resources": [resource],
            }
        ]
    }
    if match_policy is not None:
        constraints["matchPolicy"] = match_policy
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "matchConstraints": constraints,
                "validations": [
                    {"expression": expression, "messageExpression": message_expression}
                ],
            },
        }
    )
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        }
    )


def scidr(name: str, version: str = "v1") -> Obj:
    return {
        "apiVersion": f"networking.k8s.io/{version}",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": ["10.100.0.0/24"]},
    }


def svc(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def denial(c: Cluster, body: Obj) -> str:
    with pytest.raises(InvalidError) as e:
        c.create(body)
    return e.value.message.rpartition("denied request: ")[2]


# ------------------------------------------------------------------ the request's version


def test_an_exact_binding_for_v1_does_not_see_a_v1beta1_request() -> None:
    c = cluster()
    deny(c, "exact", "servicecidrs", ["v1"], ["CREATE", "DELETE"], match_policy="Exact")
    c.create(scidr("through-beta", "v1beta1"))  # a v1beta1 request: not matched
    assert denial(c, scidr("through-v1")) == "v1 v1 v1 v1 - networking.k8s.io/v1"
    c.delete("ServiceCIDR", "through-beta", api_version="networking.k8s.io/v1beta1")
    c.create(scidr("again", "v1beta1"))
    with pytest.raises(InvalidError):
        c.delete("ServiceCIDR", "again")  # through the preferred version: matched


def test_an_equivalent_binding_sees_the_request_as_the_version_it_names() -> None:
    c = cluster()
    deny(c, "equivalent", "servicecidrs", ["v1"], ["CREATE", "UPDATE"])  # Equivalent default
    # matched through v1: kind and object are v1, requestKind what the client sent
    assert denial(c, scidr("a", "v1beta1")) == "v1 v1beta1 v1 v1beta1 - networking.k8s.io/v1"
    assert c.count("ServiceCIDR") == 1  # the default one only


def test_a_binding_that_names_only_v1beta1_sees_v1_requests_converted() -> None:
    c = cluster()
    deny(c, "beta", "servicecidrs", ["v1beta1"], ["CREATE", "UPDATE"])
    assert denial(c, scidr("a")) == "v1beta1 v1 v1beta1 v1 - networking.k8s.io/v1beta1"
    assert denial(c, scidr("b", "v1beta1")) == (
        "v1beta1 v1beta1 v1beta1 v1beta1 - networking.k8s.io/v1beta1"
    )


def test_the_request_subresource_and_version_of_a_status_update() -> None:
    c = cluster()
    c.create(scidr("a"))
    deny(c, "status", "servicecidrs/status", ["v1"], ["UPDATE"])
    obj = c.get("ServiceCIDR", "a", api_version="networking.k8s.io/v1beta1")
    assert obj["apiVersion"] == "networking.k8s.io/v1beta1"
    obj["status"] = {"conditions": []}
    with pytest.raises(InvalidError) as e:
        c.update_status(obj)
    assert e.value.message.endswith("v1 v1beta1 v1 v1beta1 status networking.k8s.io/v1")


# ------------------------------------------------------------------ the engine's own writes


def test_a_refused_ipaddress_create_fails_the_service_create_as_kube_apiserver() -> None:
    """ipallocator.go: the IPAddress create is a request of the allocator's own, as
    system:apiserver; refused, the Service create fails, and nothing is kept."""
    c = cluster("10.96.0.0/28")
    deny(
        c,
        "no-ips",
        "ipaddresses",
        ["v1"],
        ["CREATE"],
        expression="request.userInfo.username != 'system:apiserver' || "
        "object.metadata.name == '10.96.0.1'",
        message_expression="'by ' + request.userInfo.username + ' for ' + "
        "object.spec.parentRef.name",
    )
    before = (c.digest(), c.count("IPAddress"))
    # a chosen address: the Invalid error of a static allocation
    with pytest.raises(InvalidError) as e:
        c.create(svc("pinned", clusterIP="10.96.0.5"))
    assert e.value.message == (
        'Service "pinned" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to '
        'allocate IP 10.96.0.5: ipaddresses.networking.k8s.io "10.96.0.5" is forbidden: '
        "ValidatingAdmissionPolicy 'no-ips' with binding 'no-ips' denied request: by "
        "system:apiserver for pinned"
    )
    # any address: the first refusal ends the allocation (cidrallocator.go)
    with pytest.raises(InternalError) as e2:
        c.create(svc("dynamic"))
    assert re.fullmatch(
        r"Internal error occurred: failed to allocate a serviceIP: ipaddresses.networking.k8s.io "
        r'"10\.96\.0\.\d+" is forbidden: ValidatingAdmissionPolicy \'no-ips\' with binding '
        r"'no-ips' denied request: by system:apiserver for dynamic",
        e2.value.message,
    )
    assert (c.digest(), c.count("IPAddress")) == before  # no address kept, no bit marked
    # the user may create IPAddresses; a dry run creates none, so none is refused
    c.create(svc("dry"), dry_run=True)
    c.delete("ValidatingAdmissionPolicyBinding", "no-ips")
    assert c.create(svc("pinned", clusterIP="10.96.0.5"))["spec"]["clusterIPs"] == ["10.96.0.5"]


def test_a_refused_release_leaves_the_ipaddress_to_the_repair_loop() -> None:
    c = cluster("10.96.0.0/28")
    web = c.create(svc("web"))
    ip = web["spec"]["clusterIP"]
    deny(
        c,
        "keep-ips",
        "ipaddresses",
        ["v1"],
        ["DELETE"],
        expression="request.userInfo.username != 'system:apiserver'",
        message_expression="'kept'",
    )
    c.delete("Service", "web")  # the Service goes; its release is refused and ignored
    assert c.engine.store.contains("IPAddress", ip)
    problems, _ = c.check()
    assert [(p.type, p.ip) for p in problems] == [("orphan-ipaddress", ip)]
    c.delete("ValidatingAdmissionPolicyBinding", "keep-ips")
    c.reconcile()  # the repair loop removes the leaked address after its grace
    assert not c.engine.store.contains("IPAddress", ip)


def test_the_repair_loop_writes_as_the_apiserver_through_admission() -> None:
    c = cluster("10.96.0.0/28")
    ip = c.create(svc("web"))["spec"]["clusterIP"]
    deny(
        c,
        "no-repair",
        "ipaddresses",
        ["v1"],
        ["CREATE"],
        expression="request.userInfo.username != 'system:apiserver'",
        message_expression="'no'",
    )
    c.delete("IPAddress", ip)
    c.reconcile()
    assert not c.engine.store.contains("IPAddress", ip)  # its create was refused
    c.delete("ValidatingAdmissionPolicyBinding", "no-repair")
    web = c.get("Service", "web")
    web["metadata"]["labels"] = {"touched": "yes"}
    c.update(web)  # a change of the Service brings the repair loop back to it
    c.reconcile()
    ipa = c.get("IPAddress", ip)
    assert ipa["spec"]["parentRef"]["name"] == "web"
