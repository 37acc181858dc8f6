"""ValidatingAdmissionPolicy enforcement through the Cluster facade: the seed's two
policies, failures under Fail and Ignore, what a denial leaves behind (nothing), the
validation actions, params, selectors, and replay."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from servicecidr import Cluster, SimulatedClock
from servicecidr.admission.messages import RequestEntityTooLargeError
from servicecidr.errors import ApiError, ForbiddenError, InvalidError
from servicecidr.journal.records import decode_entry, encode_entry

# The expression of the seed's first policy (one line in the document).
SEED_EXPRESSION = (
    "object.spec.cidrs.all(newCIDR, variables.allowed.exists(allowedCIDR, "
    "cidr(allowedCIDR).containsCIDR(newCIDR)))"
)

# The seed's two policies, as the document shows them (tasks/network/extend-service-ip-ranges).
SEED_RANGES = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "servicecidrs.default"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["networking.k8s.io"]
      apiVersions: ["v1","v1beta1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["servicecidrs"]
  matchConditions:
  - name: 'exclude-default-servicecidr'
    expression: "object.metadata.name != 'kubernetes'"
  variables:
  - name: allowed
    expression: "['10.96.0.0/16','2001:db8::/64']"
  validations:
  - expression: "{expression}"
  # For all CIDRs (newCIDR) listed in the spec.cidrs of the submitted ServiceCIDR
  # object, check if there exists at least one CIDR (allowedCIDR) in the `allowed`
  # list of the VAP such that the allowedCIDR fully contains the newCIDR.
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "servicecidrs-binding"
spec:
  policyName: "servicecidrs.default"
  validationActions: [Deny,Audit]
""".replace("{expression}", SEED_EXPRESSION)

SEED_DENY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "servicecidrs.deny"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["networking.k8s.io"]
      apiVersions: ["v1","v1beta1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["servicecidrs"]
  validations:
  - expression: "object.metadata.name == 'kubernetes'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "servicecidrs-deny-binding"
spec:
  policyName: "servicecidrs.deny"
  validationActions: [Deny,Audit]
"""


def docs(text: str) -> Iterator[dict[str, Any]]:
    for d in yaml.safe_load_all(text):
        if d:
            yield d


def cluster(range_: str | None = "10.96.0.0/28") -> Cluster:
    return Cluster(range_, seed=1, clock=SimulatedClock())


def servicecidr(name: str, *cidrs: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": list(cidrs)},
    }


def service(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def policy(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault(
        "matchConstraints",
        {
            "resourceRules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["servicecidrs"],
                }
            ]
        },
    )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def binding(name: str, policy_name: str, *actions: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": policy_name,
            "validationActions": list(actions or ("Deny",)),
            **spec,
        },
    }


def unchanged(c: Cluster) -> tuple[str, int]:
    return c.digest(), len(c.events())


# ----------------------------------------------------------------------- the seed


def test_seed_range_policy_allows_and_denies_the_seed_examples() -> None:
    c = cluster()
    for d in docs(SEED_RANGES):
        c.apply(d)
    c.apply(servicecidr("newcidr1", "10.96.1.0/24"))
    c.apply(servicecidr("newcidr2", "2001:db8:0:0:ffff::/80", "10.96.0.0/20"))
    before = unchanged(c)
    with pytest.raises(InvalidError) as e:
        c.apply(servicecidr("newcidr3", "172.20.0.0/16"))
    assert e.value.message == (
        'servicecidrs.networking.k8s.io "newcidr3" is forbidden: ValidatingAdmissionPolicy '
        "'servicecidrs.default' with binding 'servicecidrs-binding' denied request: "
        f"failed expression: {SEED_EXPRESSION}"
    )
    assert e.value.code == 422
    assert e.value.details["causes"] == [{"message": e.value.message.split("forbidden: ", 1)[1]}]
    assert unchanged(c) == before
    assert sorted(o["metadata"]["name"] for o in c.list("ServiceCIDR")) == [
        "kubernetes",
        "newcidr1",
        "newcidr2",
    ]
    # The default ServiceCIDR is exempt through the matchCondition, even on update.
    k = c.get("ServiceCIDR", "kubernetes")
    c.update(k)


def test_seed_deny_policy_denies_every_new_servicecidr_but_the_default() -> None:
    c = cluster()
    for d in docs(SEED_DENY):
        c.apply(d)
    for cidrs in (["10.96.1.0/24"], ["2001:db8:0:0:ffff::/80", "10.96.0.0/20"], ["172.20.0.0/16"]):
        with pytest.raises(InvalidError, match=re.escape("failed expression: object.metadata")):
            c.apply(servicecidr("newcidr", *cidrs))
    # kube-apiserver's own default ServiceCIDR still syncs, and Services get addresses.
    c.reconcile()
    assert c.create(service("web"))["spec"]["clusterIP"].startswith("10.96.0.")


def test_seed_policies_survive_a_restart_and_compile_once() -> None:
    c = cluster()
    for d in docs(SEED_RANGES):
        c.apply(d)
    plugin = c.admission
    assert plugin is not None
    c2 = Cluster.replay(c.events(), "10.96.0.0/28", seed=1, clock=SimulatedClock(), start=True)
    c2.admission = plugin
    with pytest.raises(InvalidError):
        c2.create(servicecidr("outside", "172.20.0.0/16"))
    c2.create(servicecidr("inside", "10.96.1.0/24"))
    assert len(plugin._compiled) == 1  # type: ignore[attr-defined]
    # A fresh engine (its own plugin) enforces the replayed policies too.
    c3 = Cluster.replay(c.events(), "10.96.0.0/28", seed=1, clock=SimulatedClock(), start=True)
    with pytest.raises(InvalidError):
        c3.create(servicecidr("outside", "172.20.0.0/16"))


def test_audit_action_keeps_the_annotation_with_the_event() -> None:
    c = cluster()
    for d in docs(SEED_RANGES):
        c.apply(d)
    c.apply(binding("audit-only", "servicecidrs.default", "Audit"))
    c.delete("ValidatingAdmissionPolicyBinding", "servicecidrs-binding")
    c.create(servicecidr("outside", "172.20.0.0/16"))
    ev = c.events()[-1]
    assert ev.kind == "ServiceCIDR" and ev.name == "outside"
    assert ev.extra is not None
    value = ev.extra["annotations"]["validation.policy.admission.k8s.io/validation_failure"]
    assert json.loads(value) == [
        {
            "message": f"failed expression: {SEED_EXPRESSION}",
            "policy": "servicecidrs.default",
            "binding": "audit-only",
            "expressionIndex": 0,
            "validationActions": ["Audit"],
        }
    ]
    assert decode_entry(encode_entry(ev)).extra == ev.extra  # kept in the log too
    # A dry run records nothing, and the next write does not inherit anything.
    c.create(servicecidr("outside2", "172.21.0.0/16"), dry_run=True)
    c.create(servicecidr("inside", "10.96.1.0/24"))
    assert c.events()[-1].extra is None


# ----------------------------------------------------------------------- failures


def test_policy_that_does_not_compile_is_rejected_and_leaves_nothing() -> None:
    c = cluster()
    before = unchanged(c)
    bad = policy("bad", validations=[{"expression": "params.allowed.exists(a, a == 'x')"}])
    with pytest.raises(InvalidError) as e:
        c.create(bad)
    assert e.value.message == (
        'ValidatingAdmissionPolicy.admissionregistration.k8s.io "bad" is invalid: '
        "spec.validations[0].expression: Invalid value: \"params.allowed.exists(a, a == 'x')\": "
        "compilation failed: ERROR: <input>:1:1: undeclared reference to 'params' "
        "(in container '')\n | params.allowed.exists(a, a == 'x')\n | ^"
    )
    assert e.value.details["causes"][0]["field"] == "spec.validations[0].expression"
    with pytest.raises(
        InvalidError, match=r"found no matching overload for 'cidr' applied to '\(int\)'"
    ):
        c.create(policy("bad", validations=[{"expression": "cidr(192168).prefixLength() > 8"}]))
    with pytest.raises(
        InvalidError, match=r"spec.validations\[0\].expression: .*: must evaluate to bool"
    ):
        c.create(policy("bad", validations=[{"expression": "object.spec.cidrs"}]))
    with pytest.raises(InvalidError, match=r"messageExpression: .*: must evaluate to string"):
        c.create(policy("bad", validations=[{"expression": "true", "messageExpression": "1"}]))
    assert unchanged(c) == before
    assert c.count("ValidatingAdmissionPolicy") == 0


def test_binding_to_a_missing_policy_does_nothing_until_the_policy_exists() -> None:
    c = cluster()
    c.create(binding("b", "not-yet"))
    c.create(servicecidr("free", "172.20.0.0/16"))
    c.create(policy("not-yet", validations=[{"expression": "false", "message": "closed"}]))
    before = unchanged(c)
    with pytest.raises(
        InvalidError,
        match="ValidatingAdmissionPolicy 'not-yet' with binding 'b' denied request: closed",
    ):
        c.create(servicecidr("now", "172.21.0.0/16"))
    assert unchanged(c) == before


@pytest.mark.parametrize("failure_policy", ["Fail", "Ignore"])
def test_runtime_error_follows_the_failure_policy(failure_policy: str) -> None:
    c = cluster()
    c.create(
        policy(
            "rt",
            failurePolicy=failure_policy,
            validations=[{"expression": "object.spec.nonExistentField == 'x'"}],
        )
    )
    c.create(binding("rt-binding", "rt"))
    before = unchanged(c)
    if failure_policy == "Ignore":
        c.create(servicecidr("any", "10.100.0.0/24"))
        assert c.count("ServiceCIDR") == 2
        return
    with pytest.raises(InvalidError) as e:
        c.create(servicecidr("any", "10.100.0.0/24"))
    assert e.value.message == (
        "servicecidrs.networking.k8s.io \"any\" is forbidden: ValidatingAdmissionPolicy 'rt' "
        "with binding 'rt-binding' denied request: expression 'object.spec.nonExistentField "
        "== 'x'' resulted in error: no such key: nonExistentField"
    )
    assert unchanged(c) == before


def test_denied_service_gives_its_clusterip_back() -> None:
    c = cluster("10.96.0.0/24")
    c.create(
        policy(
            "no-services",
            matchConstraints={
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["services"],
                    }
                ]
            },
            validations=[
                {
                    "expression": "cidr('10.96.0.0/25').containsIP(object.spec.clusterIP)",
                    "messageExpression": "'clusterIP ' + object.spec.clusterIP + ' is too high'",
                    "reason": "Forbidden",
                }
            ],
        )
    )
    c.create(binding("no-services", "no-services"))
    before = unchanged(c)
    free = [a[2] for a in c.allocators()]
    with pytest.raises(ForbiddenError) as e:
        c.create(service("high", clusterIP="10.96.0.200"))
    assert e.value.code == 403
    assert e.value.message == (
        "services \"high\" is forbidden: ValidatingAdmissionPolicy 'no-services' with binding "
        "'no-services' denied request: clusterIP 10.96.0.200 is too high"
    )
    assert e.value.details["group"] == "" and e.value.details["kind"] == "services"
    assert unchanged(c) == before
    assert [a[2] for a in c.allocators()] == free
    assert c.count("IPAddress") == 1  # only the kubernetes Service's


def test_reason_request_entity_too_large() -> None:
    c = cluster()
    c.create(
        policy("big", validations=[{"expression": "false", "reason": "RequestEntityTooLarge"}])
    )
    c.create(binding("big", "big"))
    with pytest.raises(RequestEntityTooLargeError) as e:
        c.create(servicecidr("x", "10.100.0.0/24"))
    assert (e.value.reason, e.value.code) == ("RequestEntityTooLarge", 413)


def test_match_condition_errors_under_fail_are_aggregated() -> None:
    c = cluster()
    c.create(
        policy(
            "mc",
            matchConditions=[
                {"name": "a", "expression": "object.spec.missing == 1"},
                {"name": "b", "expression": "object.metadata.missing == 2"},
            ],
            validations=[{"expression": "true"}],
        )
    )
    c.create(binding("mc", "mc"))
    with pytest.raises(InvalidError) as e:
        c.create(servicecidr("x", "10.100.0.0/24"))
    assert e.value.message.endswith(
        "denied request: [expression 'object.spec.missing == 1' resulted in error: no such "
        "key: missing, expression 'object.metadata.missing == 2' resulted in error: no such "
        "key: missing]"
    )
    # A false condition skips the policy even when another errors.
    c.update(
        policy(
            "mc",
            matchConditions=[
                {"name": "a", "expression": "object.spec.missing == 1"},
                {"name": "b", "expression": "object.metadata.name == 'nope'"},
            ],
            validations=[{"expression": "false"}],
        )
        | {"metadata": {"name": "mc"}}
    )
    c.create(servicecidr("y", "10.101.0.0/24"))


def test_variables_are_lazy_and_their_errors_named() -> None:
    c = cluster()
    c.create(
        policy(
            "vars",
            variables=[
                {"name": "bad", "expression": "object.spec.missing"},
                {"name": "n", "expression": "size(object.spec.cidrs)"},
                {"name": "twice", "expression": "variables.n * 2"},
            ],
            validations=[
                {"expression": "variables.twice == 2"},
                {"expression": "object.metadata.name != 'read-bad' || variables.bad == 1"},
            ],
        )
    )
    c.create(binding("vars", "vars"))
    c.create(servicecidr("one", "10.100.0.0/24"))  # `bad` is never read
    with pytest.raises(InvalidError, match=re.escape("failed expression: variables.twice")):
        c.create(servicecidr("two", "10.101.0.0/24", "fd00::/64"))
    with pytest.raises(InvalidError) as e:
        c.create(servicecidr("read-bad", "10.102.0.0/24"))
    assert e.value.message.endswith(
        'resulted in error: composited variable "bad" fails to evaluate: no such key: missing'
    )


# ----------------------------------------------------------------------- actions


def test_warn_returns_warnings_and_admits() -> None:
    c = cluster()
    for d in docs(SEED_RANGES):
        c.apply(d)
    c.delete("ValidatingAdmissionPolicyBinding", "servicecidrs-binding")
    c.create(binding("warn", "servicecidrs.default", "Warn"))
    obj, warnings = c.create_with_warnings(servicecidr("outside", "172.20.0.0/16"))
    assert warnings == [
        "Validation failed for ValidatingAdmissionPolicy 'servicecidrs.default' with binding "
        f"'warn': failed expression: {SEED_EXPRESSION}"
    ]
    assert c.events()[-1].extra == {"warnings": warnings}
    assert obj["metadata"]["name"] == "outside"


def test_audit_annotations_are_published_per_policy() -> None:
    c = cluster()
    c.create(
        policy(
            "annotate",
            validations=[{"expression": "true"}],
            auditAnnotations=[
                {"key": "ranges", "valueExpression": "object.spec.cidrs.join(', ')"},
                {"key": "skipped", "valueExpression": "null"},
            ],
        )
    )
    c.create(binding("annotate", "annotate"))
    c.create(servicecidr("x", "10.100.0.0/24", "fd00::/64"))
    assert c.events()[-1].extra == {"annotations": {"annotate/ranges": "10.100.0.0/24, fd00::/64"}}


# ----------------------------------------------------------------------- matching, params


def test_namespace_selector_uses_namespace_labels() -> None:
    c = cluster("10.96.0.0/24")
    c.create(
        policy(
            "prod",
            matchConstraints={
                "namespaceSelector": {"matchLabels": {"env": "prod"}},
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["services"],
                    }
                ],
            },
            validations=[
                {
                    "expression": "object.metadata.name.startsWith('prod-')",
                    "messageExpression": "'in namespace ' + namespaceObject.metadata.name",
                }
            ],
        )
    )
    c.create(binding("prod", "prod"))
    c.create(service("web"))  # default has only kubernetes.io/metadata.name=default
    c.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"env": "prod"}},
        }
    )
    with pytest.raises(InvalidError, match="denied request: in namespace shop"):
        c.create(service("web", "shop"))
    c.create(service("prod-web", "shop"))


def test_a_namespace_is_labelled_with_its_name() -> None:
    """kube-apiserver labels every Namespace ``kubernetes.io/metadata.name`` (defaulting):
    a namespaceSelector can name it without anyone having set the label."""
    c = cluster("10.96.0.0/24")
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    c.create(
        policy(
            "only-default",
            matchConstraints={
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": ["default"],
                        }
                    ]
                },
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["services"],
                    }
                ],
            },
            validations=[{"expression": "false", "message": "only the default namespace"}],
        )
    )
    c.create(binding("only-default", "only-default"))
    c.create(service("a"))
    with pytest.raises(InvalidError, match="only the default namespace"):
        c.create(service("a", "team"))


def test_object_selector_and_exclude_rules() -> None:
    c = cluster("10.96.0.0/24")
    rule = {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["services"],
    }
    c.create(
        policy(
            "db",
            matchConstraints={
                "objectSelector": {"matchLabels": {"tier": "db"}},
                "resourceRules": [rule],
                "excludeResourceRules": [{**rule, "resourceNames": ["legacy-db"]}],
            },
            validations=[{"expression": "false", "message": "no new databases"}],
        )
    )
    c.create(binding("db", "db"))
    labelled = service("db1")
    labelled["metadata"]["labels"] = {"tier": "db"}
    with pytest.raises(InvalidError, match="no new databases"):
        c.create(labelled)
    c.create(service("fe"))
    legacy = service("legacy-db")
    legacy["metadata"]["labels"] = {"tier": "db"}
    c.create(legacy)


def test_binding_match_resources_narrow_the_policy() -> None:
    c = cluster()
    c.create(policy("all", validations=[{"expression": "false"}]))
    c.create(
        binding(
            "only-labelled",
            "all",
            matchResources={"objectSelector": {"matchLabels": {"guard": "yes"}}},
        )
    )
    c.create(servicecidr("plain", "10.100.0.0/24"))
    labelled = servicecidr("guarded", "10.101.0.0/24")
    labelled["metadata"]["labels"] = {"guard": "yes"}
    with pytest.raises(InvalidError, match="binding 'only-labelled'"):
        c.create(labelled)


def test_params_from_a_stored_object() -> None:
    c = cluster(None)
    c.create(servicecidr("allowed-range", "10.96.0.0/16"))
    c.create(
        policy(
            "p",
            paramKind={"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR"},
            validations=[
                {
                    "expression": "object.spec.cidrs.all(c, params.spec.cidrs.exists(p, "
                    "cidr(p).containsCIDR(c)))",
                    "messageExpression": "'outside ' + params.spec.cidrs.join(',')",
                }
            ],
        )
    )
    c.create(
        binding(
            "pb",
            "p",
            paramRef={"name": "allowed-range", "parameterNotFoundAction": "Deny"},
        )
    )
    c.create(servicecidr("in", "10.96.5.0/24"))
    with pytest.raises(InvalidError, match=re.escape("denied request: outside 10.96.0.0/16")):
        c.create(servicecidr("out", "10.97.0.0/24"))
    c.create(binding("missing", "p", paramRef={"name": "nope", "parameterNotFoundAction": "Deny"}))
    with pytest.raises(InvalidError) as e:
        c.create(servicecidr("in2", "10.96.6.0/24"))
    assert e.value.message.endswith(
        "ValidatingAdmissionPolicy 'p' with binding 'missing' denied request: failed to "
        "configure binding: no params found for policy binding with `Deny` "
        "parameterNotFoundAction"
    )
    c.delete("ValidatingAdmissionPolicyBinding", "missing")
    c.create(binding("allow", "p", paramRef={"name": "nope", "parameterNotFoundAction": "Allow"}))
    c.create(servicecidr("in3", "10.96.7.0/24"))


def test_param_kind_the_engine_does_not_serve_is_a_policy_configuration_error() -> None:
    c = cluster()
    c.create(
        policy(
            "cm",
            paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
            validations=[{"expression": "true"}],
        )
    )
    c.create(binding("cm", "cm", paramRef={"name": "x", "parameterNotFoundAction": "Allow"}))
    with pytest.raises(InvalidError) as e:
        c.create(servicecidr("x", "10.100.0.0/24"))
    assert e.value.message.endswith(
        "ValidatingAdmissionPolicy 'cm' denied request: failed to configure policy: failed to "
        "find resource referenced by paramKind: '/v1, Kind=ConfigMap'"
    )


def test_request_and_old_object_on_update_and_delete() -> None:
    c = cluster("10.96.0.0/24")
    rule = {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["*"],
        "resources": ["services"],
    }
    c.create(
        policy(
            "ops",
            matchConstraints={"resourceRules": [rule]},
            validations=[
                {
                    "expression": "request.operation != 'DELETE' || (object == null && "
                    "oldObject.metadata.name != 'keep')",
                    "messageExpression": "request.operation + ' ' + request.name + ' by ' + "
                    "request.userInfo.username + ' (' + request.resource.resource + ')'",
                },
                {
                    "expression": "request.operation != 'UPDATE' || "
                    "oldObject.spec.clusterIP == object.spec.clusterIP",
                },
            ],
        )
    )
    c.create(binding("ops", "ops"))
    c.create(service("keep"))
    c.create(service("go"))
    c.delete("Service", "go")
    with pytest.raises(
        InvalidError, match=r"denied request: DELETE keep by kubernetes-admin \(services\)"
    ):
        c.delete("Service", "keep")
    svc = c.get("Service", "keep")
    svc["spec"]["ports"][0]["port"] = 81
    c.update(svc)


def test_policies_and_bindings_are_exempt() -> None:
    c = cluster()
    c.create(
        policy(
            "everything",
            matchConstraints={
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "operations": ["*"],
                        "resources": ["*"],
                    }
                ]
            },
            validations=[{"expression": "false"}],
        )
    )
    c.create(binding("everything", "everything"))
    c.create(binding("another", "everything"))
    c.delete("ValidatingAdmissionPolicyBinding", "another")
    with pytest.raises(ApiError):
        c.create(servicecidr("x", "10.100.0.0/24"))


def test_status_subresource_is_not_matched_by_the_resource() -> None:
    c = cluster()
    c.create(servicecidr("x", "10.100.0.0/24"))
    c.reconcile()
    c.create(policy("frozen", validations=[{"expression": "false"}]))
    c.create(binding("frozen", "frozen"))
    obj = c.get("ServiceCIDR", "x")
    obj["status"]["conditions"][0]["message"] = "checked"
    c.update_status(obj)  # servicecidrs/status: not matched by "servicecidrs"
    with pytest.raises(InvalidError, match="failed expression: false"):
        c.update(c.get("ServiceCIDR", "x"))


def test_controller_writes_go_through_admission() -> None:
    c = cluster()
    c.create(servicecidr("x", "10.100.0.0/24"))
    c.create(policy("frozen", validations=[{"expression": "object.metadata.name == 'kubernetes'"}]))
    c.create(binding("frozen", "frozen"))
    # The ServiceCIDR controller adds its finalizer with an UPDATE, which the policy denies
    # for "x" only; kube-controller-manager retries later, and so does reconcile().
    c.reconcile()
    assert not c.get("ServiceCIDR", "x")["metadata"].get("finalizers")
    assert c.get("ServiceCIDR", "kubernetes")["metadata"]["finalizers"] == [
        "networking.k8s.io/service-cidr-finalizer"
    ]


def test_controller_writes_denied_by_a_policy_do_not_break_reconcile() -> None:
    import yaml

    from servicecidr import Cluster, SimulatedClock

    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    c.create(
        yaml.safe_load(
            """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: freeze-servicecidrs}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["networking.k8s.io"]
      apiVersions: ["v1"]
      operations: ["UPDATE"]
      resources: ["servicecidrs", "servicecidrs/status"]
  validations:
  - expression: "false"
    message: frozen
"""
        )
    )
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "freeze"},
            "spec": {"policyName": "freeze-servicecidrs", "validationActions": ["Deny"]},
        }
    )
    c.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "extra"},
            "spec": {"cidrs": ["10.97.0.0/24"]},
        }
    )
    c.reconcile()  # kcm's writes are refused; it retries later instead of failing
    assert not c.get("ServiceCIDR", "extra")["metadata"].get("finalizers")
    # still usable: no Ready condition counts as ready
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}]},
    }
    assert c.create(svc)["spec"]["clusterIP"]
