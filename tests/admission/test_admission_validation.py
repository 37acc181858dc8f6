"""Defaulting and API validation of ValidatingAdmissionPolicy and its bindings, with
kube-apiserver's messages (pkg/apis/admissionregistration/validation/validation.go)."""

from __future__ import annotations

from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.errors import InvalidError

POLICY_KIND = 'ValidatingAdmissionPolicy.admissionregistration.k8s.io "x" is invalid: '
BINDING_KIND = 'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io "b" is invalid: '
RULE = {
    "apiGroups": ["networking.k8s.io"],
    "apiVersions": ["v1"],
    "operations": ["CREATE"],
    "resources": ["servicecidrs"],
}


def vap(spec: dict[str, Any], name: str = "x") -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def vapb(spec: dict[str, Any], name: str = "b") -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": spec,
    }


def rejected(obj: dict[str, Any]) -> str:
    c = Cluster(None, seed=1, clock=SimulatedClock())
    with pytest.raises(InvalidError) as e:
        c.create(obj)
    assert c.count(obj["kind"]) == 0
    return e.value.message


def test_defaults_are_filled_in() -> None:
    c = Cluster(None, seed=1, clock=SimulatedClock())
    got = c.create(
        vap(
            {"matchConstraints": {"resourceRules": [RULE]}, "validations": [{"expression": "true"}]}
        )
    )
    assert got["metadata"]["generation"] == 1
    assert got["spec"]["failurePolicy"] == "Fail"
    mc = got["spec"]["matchConstraints"]
    assert (mc["matchPolicy"], mc["namespaceSelector"], mc["objectSelector"]) == (
        "Equivalent",
        {},
        {},
    )
    assert mc["resourceRules"][0]["scope"] == "*"
    got["spec"]["validations"][0]["message"] = "changed"
    assert c.update(got)["metadata"]["generation"] == 2
    b = c.create(vapb({"policyName": "x", "validationActions": ["Deny"], "matchResources": {}}))
    assert b["spec"]["matchResources"] == {
        "matchPolicy": "Equivalent",
        "namespaceSelector": {},
        "objectSelector": {},
    }


def test_policy_needs_match_constraints_and_validations() -> None:
    assert rejected(vap({})) == POLICY_KIND + (
        "[spec.matchConstraints: Required value, spec.validations: Required value: validations "
        "or auditAnnotations must contain at least one item, spec.auditAnnotations: Required "
        "value: validations or auditAnnotations must contain at least one item]"
    )
    assert rejected(vap({"matchConstraints": {}, "validations": [{"expression": "true"}]})) == (
        POLICY_KIND + "spec.matchConstraints.resourceRules: Required value"
    )


def test_policy_field_errors() -> None:
    message = rejected(
        vap(
            {
                "failurePolicy": "Sometimes",
                "matchConstraints": {
                    "matchPolicy": "Fuzzy",
                    "resourceRules": [{**RULE, "operations": ["CREATE", "*"], "scope": "Global"}],
                },
                "matchConditions": [
                    {"name": "ok", "expression": "1"},
                    {"name": "ok", "expression": "true"},
                ],
                "variables": [{"name": "1x", "expression": ""}],
                "validations": [
                    {"expression": "true", "message": "a\nb", "reason": "Teapot"},
                ],
            }
        )
    )
    for part in [
        'spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"',
        'spec.matchConstraints.matchPolicy: Unsupported value: "Fuzzy": supported values: '
        '"Equivalent", "Exact"',
        'spec.matchConstraints.resourceRules[0].operations: Invalid value: ["CREATE","*"]: '
        "if '*' is present, must not specify other operations",
        'spec.matchConstraints.resourceRules[0].scope: Unsupported value: "Global": supported '
        'values: "*", "Cluster", "Namespaced"',
        'spec.matchConditions[0].expression: Invalid value: "1": must evaluate to bool',
        'spec.matchConditions[1].name: Duplicate value: "ok"',
        'spec.variables[0].name: Invalid value: "1x": name is not a valid CEL identifier',
        "spec.variables[0].expression: Required value: expression is not specified",
        'spec.validations[0].message: Invalid value: "a\\nb": message must not contain line breaks',
        'spec.validations[0].reason: Unsupported value: "Teapot": supported values: '
        '"Forbidden", "Invalid", "RequestEntityTooLarge"',
    ]:
        assert part in message, part


def test_variables_are_typed_for_later_expressions() -> None:
    ok = vap(
        {
            "matchConstraints": {"resourceRules": [RULE]},
            "variables": [
                {"name": "names", "expression": "object.spec.cidrs.map(c, cidr(c).prefixLength())"},
                {"name": "short", "expression": "variables.names.exists(n, n < 16)"},
            ],
            "validations": [{"expression": "!variables.short"}],
        }
    )
    Cluster(None, seed=1, clock=SimulatedClock()).create(ok)
    message = rejected(
        vap(
            {
                "matchConstraints": {"resourceRules": [RULE]},
                "variables": [{"name": "later", "expression": "variables.first"}],
                "validations": [{"expression": "variables.later == 1"}],
            }
        )
    )
    assert (
        'spec.variables[0].expression: Invalid value: "variables.first": compilation failed: '
        "ERROR: <input>:1:10: undefined field 'first'"
    ) in message
    # A match condition cannot read variables (it is compiled without them).
    assert "undeclared reference to 'variables'" in rejected(
        vap(
            {
                "matchConstraints": {"resourceRules": [RULE]},
                "matchConditions": [{"name": "v", "expression": "variables.a"}],
                "variables": [{"name": "a", "expression": "true"}],
                "validations": [{"expression": "true"}],
            }
        )
    )


def test_audit_annotation_errors() -> None:
    message = rejected(
        vap(
            {
                "matchConstraints": {"resourceRules": [RULE]},
                "auditAnnotations": [
                    {"key": "k", "valueExpression": "'a'"},
                    {"key": "k", "valueExpression": "1"},
                ],
            }
        )
    )
    assert message == POLICY_KIND + (
        '[spec.auditAnnotations[1].valueExpression: Invalid value: "1": must evaluate to one of '
        '[string null_type], spec.auditAnnotations[1].key: Duplicate value: "k"]'
    )


def test_binding_rejects_deny_with_warn_and_no_actions() -> None:
    assert rejected(vapb({"policyName": "x", "validationActions": ["Deny", "Warn"]})) == (
        BINDING_KIND + 'spec.validationActions: Invalid value: ["Deny","Warn"]: must not contain '
        "both Deny and Warn (repeating the same validation failure information in the API "
        "response and headers serves no purpose)"
    )
    assert rejected(vapb({"policyName": "x", "validationActions": []})) == (
        BINDING_KIND + "spec.validationActions: Required value: at least one validation action "
        "is required"
    )


def test_binding_field_errors() -> None:
    message = rejected(
        vapb(
            {
                "policyName": "Bad_Name",
                "validationActions": ["Deny", "Deny", "Maybe"],
                "paramRef": {"name": "n", "selector": {}, "parameterNotFoundAction": "Retry"},
                "matchResources": {
                    "namespaceSelector": {"matchExpressions": [{"key": "k", "operator": "In"}]}
                },
            }
        )
    )
    for part in [
        'spec.policyName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
        "spec.paramRef.name: Forbidden: name and selector are mutually exclusive",
        'spec.paramRef.parameterNotFoundAction: Unsupported value: "Retry": supported values: '
        '"Deny", "Allow"',
        "spec.matchResouces.namespaceSelector.matchExpressions[0].values: Required value: must "
        "be specified when `operator` is 'In' or 'NotIn'",
        'spec.validationActions[1]: Duplicate value: "Deny"',
        'spec.validationActions[2]: Unsupported value: "Maybe": supported values: "Audit", '
        '"Deny", "Warn"',
    ]:
        assert part in message, part


def test_update_checks_match_conditions_only_when_they_change() -> None:
    c = Cluster(None, seed=1, clock=SimulatedClock())
    p = c.create(
        vap(
            {
                "matchConstraints": {"resourceRules": [RULE]},
                "matchConditions": [{"name": "a", "expression": "true"}],
                "validations": [{"expression": "true"}],
            }
        )
    )
    p["spec"]["matchConditions"][0]["expression"] = "1"
    with pytest.raises(InvalidError, match="must evaluate to bool"):
        c.update(p)
