"""kube-apiserver's bounds on CEL: cel-go's parse limits refuse a policy when it is
written; the per-expression cost limit and the per-evaluation budgets stop an admission,
under the policy's failurePolicy; and a state holding an expensive policy still answers
every command (each used to crash the process with SIGSEGV or exhaust its memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.errors import InvalidError

LIMIT = "operation cancelled: actual cost limit exceeded"
BUDGET = (
    "validation failed due to running out of cost budget, no further validation rules will be run"
)
# ceil(20000 * .1) * ceil(4500 * .1) = 900,000: under the per-expression limit of 1,000,000
COSTLY = "!'{}'.contains('{}')".format("a" * 20_000, "b" * 4_500)
# four nested all() over 60 elements: millions of steps, cancelled at the limit
RANGE = "[" + ",".join(str(i) for i in range(60)) + "]"
SLOW = f"{RANGE}.all(a, {RANGE}.all(b, {RANGE}.all(c, {RANGE}.all(d, a + b + c + d >= 0))))"


def cluster() -> Cluster:
    return Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())


def servicecidr(name: str, cidr: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": [cidr]},
    }


def policy(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault(
        "matchConstraints",
        {
            "resourceRules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
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


def binding(name: str, policy_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": policy_name, "validationActions": ["Deny"]},
    }


def refused(expression: str) -> str:
    c = cluster()
    with pytest.raises(InvalidError) as e:
        c.create(policy("p", validations=[{"expression": expression}]))
    assert c.count("ValidatingAdmissionPolicy") == 0
    prefix = (
        'ValidatingAdmissionPolicy.admissionregistration.k8s.io "p" is invalid: '
        f"spec.validations[0].expression: Invalid value: {json.dumps(expression)}: "
    )
    assert e.value.message.startswith(prefix)
    return e.value.message[len(prefix) :]


# ------------------------------------------------------------- when it is written


@pytest.mark.parametrize(
    "expression",
    [
        " + ".join(["1"] * 6_000) + " > 0",
        " == ".join(["1"] * 6_000),
        "object" + ".a" * 6_000 + " == 1",
        "object" + "[0]" * 6_000 + " == 1",
    ],
    ids=["sum", "equality", "selection", "index"],
)
def test_deep_chains_are_refused_with_cel_go_s_message(expression: str) -> None:
    assert refused(expression) == (
        "compilation failed: ERROR: <input>:-1:0: max recursion depth exceeded"
    )


def test_deep_nesting_and_oversized_expressions_are_refused() -> None:
    nested = "size(" + "[" * 300 + "1" + "]" * 300 + ") == 1"
    assert refused(nested) == (
        "compilation failed: ERROR: <input>:-1:0: expression recursion limit exceeded: 250"
    )
    huge = "size([" + ",".join(["1"] * 60_000) + "]) > 0"
    assert refused(huge) == (
        "compilation failed: ERROR: <input>:-1:0: expression code point size exceeds limit: "
        f"size: {len(huge)}, limit 100000"
    )


def test_an_expression_at_the_limits_is_accepted() -> None:
    c = cluster()
    # 249 additions and a comparison: 250 nested operations, cel-go's most
    c.create(policy("p", validations=[{"expression": " + ".join(["1"] * 250) + " == 250"}]))
    c.create(binding("b", "p"))
    c.create(servicecidr("ok", "10.100.0.0/24"))
    assert c.count("ServiceCIDR") == 2


# --------------------------------------------------------------- when it is run


def admit(c: Cluster) -> None:
    c.create(servicecidr("new", "10.100.0.0/24"))


def denial(c: Cluster) -> str:
    with pytest.raises(InvalidError) as e:
        admit(c)
    prefix = (
        "servicecidrs.networking.k8s.io \"new\" is forbidden: ValidatingAdmissionPolicy 'p' "
        "with binding 'b' denied request: "
    )
    assert e.value.message.startswith(prefix)
    return e.value.message[len(prefix) :]


@pytest.mark.parametrize("failure_policy", ["Fail", "Ignore"])
def test_the_per_expression_limit_cancels_a_slow_validation(failure_policy: str) -> None:
    c = cluster()
    c.create(policy("p", failurePolicy=failure_policy, validations=[{"expression": SLOW}]))
    c.create(binding("b", "p"))
    if failure_policy == "Ignore":
        admit(c)
        assert c.count("ServiceCIDR") == 2
        return
    assert denial(c) == f"expression '{SLOW}' resulted in error: {LIMIT}"


@pytest.mark.parametrize("failure_policy", ["Fail", "Ignore"])
def test_the_evaluation_budget_stops_the_validations(failure_policy: str) -> None:
    c = cluster()
    # eleven fit in the budget of 10,000,000; the twelfth does not
    validations = [{"expression": COSTLY}] * 12
    c.create(policy("p", failurePolicy=failure_policy, validations=validations))
    c.create(binding("b", "p"))
    if failure_policy == "Ignore":
        admit(c)
        assert c.count("ServiceCIDR") == 2
        return
    assert denial(c) == BUDGET


def test_eleven_costly_validations_fit_the_budget() -> None:
    c = cluster()
    c.create(policy("p", validations=[{"expression": COSTLY}] * 11))
    c.create(binding("b", "p"))
    admit(c)
    assert c.count("ServiceCIDR") == 2


@pytest.mark.parametrize("failure_policy", ["Fail", "Ignore"])
def test_match_conditions_have_a_budget_of_their_own(failure_policy: str) -> None:
    c = cluster()
    # three conditions of 900,000 pass the match conditions' 2,500,000
    conditions = [{"name": f"m{i}", "expression": COSTLY} for i in range(3)]
    c.create(
        policy(
            "p",
            failurePolicy=failure_policy,
            matchConditions=conditions,
            validations=[{"expression": "false"}],
        )
    )
    c.create(binding("b", "p"))
    if failure_policy == "Ignore":
        admit(c)  # the policy does not match
        assert c.count("ServiceCIDR") == 2
        return
    assert denial(c) == BUDGET


def test_message_expressions_spend_what_the_validations_left() -> None:
    c = cluster()
    validations = [{"expression": COSTLY}] * 11 + [
        {"expression": "false", "messageExpression": f"{COSTLY} ? 'a' : 'b'"}
    ]
    c.create(policy("p", validations=validations))
    c.create(binding("b", "p"))
    assert denial(c) == f"failed messageExpression: {BUDGET}"


def test_string_doubling_variables_are_stopped() -> None:
    variables = [{"name": "v0", "expression": "'0123456789abcdef'"}] + [
        {"name": f"v{i}", "expression": f"variables.v{i - 1} + variables.v{i - 1}"}
        for i in range(1, 40)
    ]
    c = cluster()
    c.create(
        policy("p", variables=variables, validations=[{"expression": "size(variables.v39) > 0"}])
    )
    c.create(binding("b", "p"))
    message = denial(c)
    assert f'composited variable "v20" fails to evaluate: {LIMIT}' in message or message == BUDGET


# ------------------------------------------------------------------ a stored state


def servicecidr_cli(
    state: Path, *argv: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servicecidr", "--state", str(state), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_state_holding_an_expensive_policy_answers_every_command(tmp_path: Path) -> None:
    state = tmp_path / "state"
    init = servicecidr_cli(
        state, "init", "--service-cluster-ip-range", "10.96.0.0/28", "--clock", "simulated"
    )
    assert init.returncode == 0, init.stderr
    docs = [policy("p", validations=[{"expression": SLOW}]), binding("b", "p")]
    applied = servicecidr_cli(
        state,
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"kind": "List", "apiVersion": "v1", "items": docs}),
    )
    assert applied.returncode == 0, applied.stderr
    deep = policy("deep", validations=[{"expression": " + ".join(["1"] * 6_000) + " > 0"}])
    refused_ = servicecidr_cli(state, "apply", "-f", "-", stdin=json.dumps(deep))
    assert refused_.returncode != 0
    assert "max recursion depth exceeded" in refused_.stderr
    got = servicecidr_cli(state, "get", "validatingadmissionpolicy")
    assert got.returncode == 0, got.stderr
    assert "p" in got.stdout.split()
    denied = servicecidr_cli(
        state, "apply", "-f", "-", stdin=json.dumps(servicecidr("new", "10.100.0.0/24"))
    )
    assert denied.returncode != 0
    assert LIMIT in denied.stderr
    for argv in (["check"], ["reconcile"], ["delete", "validatingadmissionpolicy", "p"]):
        r = servicecidr_cli(state, *argv)
        assert r.returncode == 0, (argv, r.stderr)
    allowed = servicecidr_cli(
        state, "apply", "-f", "-", stdin=json.dumps(servicecidr("new", "10.100.0.0/24"))
    )
    assert allowed.returncode == 0, allowed.stderr
