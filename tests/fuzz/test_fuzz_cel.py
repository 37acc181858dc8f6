"""Fuzzing policy compilation and evaluation: random and deeply nested expressions,
written as a policy and run on a request. The property: every call ends with a result
or an error of servicecidr's tree, and the process survives (no signal, no abort)."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import fuzz_examples

from servicecidr import Cluster, SimulatedClock
from servicecidr.errors import ServiceCIDRError

ATOMS = st.sampled_from(
    [
        "1",
        "2u",
        "1.5",
        "'a'",
        "b'x'",
        "true",
        "null",
        "object",
        "object.spec",
        "object.spec.cidrs",
        "object.metadata.name",
        "[1, 2, 3]",
        "{'k': 'v'}",
        "cidr('10.0.0.0/8')",
        "ip('10.0.0.1')",
        "variables.v",
    ]
)
BINARY = st.sampled_from(
    [" + ", " - ", " * ", " / ", " % ", " == ", " != ", " < ", " && ", " || ", " in "]
)
WRAPS = st.sampled_from(
    [
        "({})",
        "[{}]",
        "size({})",
        "!{}",
        "-{}",
        "{}.size()",
        "{}[0]",
        "{}.a",
        "has({}.a)",
        "{}.all(x, x == x)",
        "{}.map(x, [x, x])",
        "{}.exists(x, {{'k': x}}.k == x)",
        "string({})",
        "{} ? 1 : 2",
        "cidr({}).containsCIDR('10.1.0.0/16')",
        "{}.matches('a+')",
    ]
)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 6 or draw(st.booleans()):
        return draw(ATOMS)
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(BINARY).join([draw(expressions(depth + 1)), draw(expressions(depth + 1))])
    if kind == 1:
        return draw(WRAPS).format(draw(expressions(depth + 1)))
    if kind == 2:
        # long chains and deep nesting around cel-go's limits
        n = draw(st.sampled_from([10, 249, 250, 251, 400, 3_000]))
        shape = draw(st.sampled_from(["chain", "select", "index", "list", "paren"]))
        inner = draw(ATOMS)
        return {
            "chain": " + ".join([inner] * n),
            "select": inner + ".a" * n,
            "index": inner + "[0]" * n,
            "list": "[" * n + inner + "]" * n,
            "paren": "(" * n + inner + ")" * n,
        }[shape]
    # raw noise: CEL tokens in random order
    return "".join(
        draw(st.lists(st.sampled_from(list("()[]{}.,?:!-+*/%<>=&|'\"ab1 ")), max_size=40))
    )


def policy(expression: str, failure_policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "p"},
        "spec": {
            "failurePolicy": failure_policy,
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
            "variables": [{"name": "v", "expression": "[1, 2]"}],
            "validations": [{"expression": expression}],
        },
    }


@settings(max_examples=fuzz_examples(1500), deadline=None)
@given(expression=expressions(), failure_policy=st.sampled_from(["Fail", "Ignore"]))
def test_policies_compile_and_run_or_fail_within_the_tree(
    expression: str, failure_policy: str
) -> None:
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())
    try:
        c.create(policy(expression, failure_policy))
    except ServiceCIDRError:
        return
    c.create(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "b"},
            "spec": {"policyName": "p", "validationActions": ["Deny"]},
        }
    )
    with contextlib.suppress(ServiceCIDRError):
        c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": "new"},
                "spec": {"cidrs": ["10.100.0.0/24"]},
            }
        )
