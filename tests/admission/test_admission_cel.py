"""The CEL environment of policies as Python sees it (``servicecidr._core``): the
Kubernetes libraries, cel-go's error wording, the write-time checker, and the compiled
policy's evaluation API. The library's test vectors themselves are Rust tests
(``rust/cel/tests/vectors.rs``)."""

from __future__ import annotations

import pytest

from servicecidr._core import AdmissionInput, CompiledPolicy, cel_eval

SEED_SPEC = {
    "failurePolicy": "Fail",
    "matchConditions": [
        {
            "name": "exclude-default-servicecidr",
            "expression": "object.metadata.name != 'kubernetes'",
        }
    ],
    "variables": [{"name": "allowed", "expression": "['10.96.0.0/16','2001:db8::/64']"}],
    "validations": [
        {
            "expression": "object.spec.cidrs.all(newCIDR, variables.allowed.exists(allowedCIDR, "
            "cidr(allowedCIDR).containsCIDR(newCIDR)))"
        }
    ],
}


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("cidr('10.96.0.0/16').containsCIDR('10.96.1.0/24')", "true"),
        ("cidr('192.168.0.1/24').masked()", "net.CIDR 192.168.0.0/24"),
        ("string(ip('2001:DB8::1'))", '"2001:db8::1"'),
        ("type(cidr('10.0.0.0/8')) == net.CIDR", "true"),
        ("'abc'.split('b')", '["a", "c"]'),
        ("['a','b'].join('-')", '"a-b"'),
        ("[3,1,2].isSorted()", "false"),
        ("[1,2,3].sum()", "6"),
        ("[3,1,2].min()", "1"),
        ("[1,2,3].indexOf(2)", "1"),
        ("sets.equivalent([1,2],[2,1])", "true"),
        ("'a1b22c333'.findAll('[0-9]+', 2)", '["1", "22"]'),
        ("{'a': 1}.?b.orValue(5)", "5"),
        ("[1,2].exists(x, x == 1 || x / 0 == 1)", "true"),
        ("1 < 2.5", "true"),
    ],
)
def test_library(expression: str, result: str) -> None:
    assert cel_eval(expression) == result


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("1/0 == 1", "division by zero"),
        ("[1,2][5] == 1", "index out of bounds: 5"),
        ("{'a':1}['b'] == 1", "no such key: b"),
        ("cidr(dyn(1))", "no such overload: cidr(int)"),
        ("cidr('10.0.0.0/8').containsIP('::ffff:10.0.0.1')", "no such overload"),
        ("9223372036854775807 + 1", "integer overflow"),
        ("[].min()", "min called on empty list"),
        (
            "ip('fe80::1%eth0')",
            'IP address "fe80::1%eth0" with zone value is not allowed',
        ),
    ],
)
def test_runtime_errors_read_as_in_cel_go(expression: str, error: str) -> None:
    with pytest.raises(ValueError) as e:
        cel_eval(expression)
    assert str(e.value) == error


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        (
            "cidr(192168)",
            "ERROR: <input>:1:5: found no matching overload for 'cidr' applied to '(int)'\n"
            " | cidr(192168)\n | ....^",
        ),
        (
            "isIP(cidr('192.168.0.0/24'))",
            "ERROR: <input>:1:5: found no matching overload for 'isIP' applied to '(net.CIDR)'",
        ),
        ("params.x", "ERROR: <input>:1:1: undeclared reference to 'params' (in container '')"),
        ("request.foo", "ERROR: <input>:1:8: undefined field 'foo'"),
        ("[1, 'a']", "ERROR: <input>:1:5: expected type 'int' but found 'string'"),
        ("matches('x', '(')", "ERROR: <input>:1:14: invalid matches argument"),
        ("cidr(", "ERROR: <input>:1:6: Syntax error: mismatched input '<EOF>' expecting"),
        ("'x'.reverse()", "ERROR: <input>:1:12: undeclared reference to 'reverse'"),
    ],
)
def test_compile_errors_read_as_in_kube_apiserver(expression: str, error: str) -> None:
    with pytest.raises(ValueError) as e:
        cel_eval(expression)
    assert str(e.value).startswith("compilation failed: " + error)


def test_compiled_policy_reports_what_it_reads_and_its_errors() -> None:
    p = CompiledPolicy(SEED_SPEC)
    assert p.errors == []
    assert not p.uses_request and not p.uses_params and not p.uses_namespace_object
    bad = CompiledPolicy(
        {
            "validations": [
                {"expression": "true", "messageExpression": "object.metadata.name.size()"}
            ],
            "auditAnnotations": [{"key": "k", "valueExpression": "1"}],
        }
    )
    assert bad.errors == [
        ("spec.validations[0].messageExpression", "must evaluate to string"),
        ("spec.auditAnnotations[0].valueExpression", "must evaluate to one of [string null_type]"),
    ]


def test_compiled_policy_evaluates_the_seed_examples() -> None:
    p = CompiledPolicy(SEED_SPEC)

    def run(name: str, *cidrs: str) -> object:
        return p.evaluate(
            AdmissionInput({"metadata": {"name": name}, "spec": {"cidrs": list(cidrs)}}, None)
        )

    assert run("a", "10.96.1.0/24") is None
    assert run("b", "2001:db8:0:0:ffff::/80", "10.96.0.0/20") is None
    assert run("kubernetes", "172.20.0.0/16") is None  # the matchCondition excludes it
    assert run("c", "172.20.0.0/16") == (
        [(0, "failed expression: " + SEED_SPEC["validations"][0]["expression"], "Invalid")],  # type: ignore[index]
        [],
        [],
    )


def test_request_is_built_only_when_read() -> None:
    calls: list[int] = []

    def request() -> dict[str, object]:
        calls.append(1)
        return {"operation": "CREATE", "userInfo": {"username": "alice"}}

    reads = CompiledPolicy({"validations": [{"expression": "request.userInfo.username == 'bob'"}]})
    ignores = CompiledPolicy({"validations": [{"expression": "object.x == 1"}]})
    inp = AdmissionInput({"x": 1}, None)
    assert ignores.evaluate(inp, None, request) is None
    assert calls == []
    result = reads.evaluate(inp, None, request)
    assert calls == [1] and result is not None


def test_values_must_be_json_shaped() -> None:
    p = CompiledPolicy({"validations": [{"expression": "object.x == 1"}]})
    with pytest.raises(TypeError, match="JSON-shaped"):
        p.evaluate(AdmissionInput({"x": object()}, None))
