"""Hostile and clumsy input on the command line: every one an error line (never a
traceback), and the state untouched. Manifests are read as kubectl reads them (libyaml
when PyYAML has it, go-yaml's bounds, string keys)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import CONFORMANCE
from servicecidr import yamldoc
from servicecidr.cli import main
from servicecidr.cli.errors import CliError
from servicecidr.cli.manifests import parse_stream

Run = tuple[int, str, str]

# 446 bytes of aliases (the probe's bomb) and one level more
LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: bomb}\nspec: {x: *g}\n"
)


def _state_files(state: Path) -> dict[str, bytes]:
    """The log and snapshots (``meta`` keeps the simulated clock, which any command moves)."""
    return {
        str(p.relative_to(state)): p.read_bytes()
        for p in state.rglob("*")
        if p.is_file() and p.name not in ("meta", "lock")
    }


@pytest.fixture
def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    state = tmp_path / "state"

    def go(*argv: str, stdin: str = "") -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--state", str(state), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = go(
        "init", "--service-cluster-ip-range", "10.96.0.0/28", "--clock", "simulated", "--seed", "1"
    )
    assert code == 0, err
    code, _, err = go("create", "service", "clusterip", "web", "--tcp", "80")
    assert code == 0, err
    go.state = state  # type: ignore[attr-defined]
    yield go


NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
SVC = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
REFUSED = [
    (LAUGHS, "yaml: document contains excessive aliasing"),
    (NS + "spec: &a [*a]\n", "yaml: anchor 'a' value contains itself"),
    (NS + "spec: &a {b: [*a]}\n", "yaml: anchor 'a' value contains itself"),
    (NS + "spec: {a: " + "[" * 200_000 + "]" * 200_000 + "}\n", "exceeded max depth of 100"),
    (NS + "spec:\n" + "".join(" " * i + "- \n" for i in range(1, 400)), "max depth of 100"),
    (NS + "spec: {a: *nope}\n", "yaml: unknown anchor 'nope' referenced"),
    (NS + "spec: {a: !!int x}\n", "yaml: line 4: cannot decode `x` as a !!int"),
    (NS + "spec: {~: 1}\n", "YAML to JSON: unsupported map key of type: null"),
    (NS + "spec: !!set {a, b}\n", "error converting YAML to JSON: json: unsupported type: set"),
    (NS + "spec: {a: .nan}\n", "error converting YAML to JSON: json: unsupported value: NaN"),
    (NS + "spec: !!omap [a: 1]\n", "json: unsupported type: tuple"),
    (SVC + "spec: [1]\n", "cannot unmarshal array into Go struct field Service.spec"),
    (SVC + "spec: null\n", "spec.ports: Required value"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: 5}\n", "ObjectMeta.metadata.name"),
    (
        "apiVersion: v1\nkind: Service\n"
        'metadata: {name: n, creationTimestamp: "9999-12-31T23:59:59-23:59"}\n'
        "spec: {ports: [{port: 80}]}\n",
        'parsing time "9999-12-31T23:59:59-23:59": year out of range',
    ),
    ('{"apiVersion": "v1", "kind": "Namespace", "spec": {"a": NaN}}', "invalid character 'N'"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "exceeded max depth"),
    (
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "j\\ud800"}}',
        'metadata.name: "j\\ud800" is not valid Unicode text',
    ),
]


@pytest.mark.parametrize(("manifest", "message"), REFUSED, ids=range(len(REFUSED)))
@pytest.mark.parametrize("verb", ["apply", "create"])
def test_hostile_manifests_are_an_error_line(
    run: object, verb: str, manifest: str, message: str
) -> None:
    state = run.state  # type: ignore[attr-defined]
    before = _state_files(state)
    code, out, err = run(verb, "-f", "-", stdin=manifest)  # type: ignore[operator]
    assert code == 1
    assert message in err, err
    assert "Traceback" not in err and out == ""
    assert _state_files(state) == before


def test_apply_of_an_existing_object_with_a_broken_spec(run: object) -> None:
    for spec in ("spec: [1]\n", "spec: null\n", "spec: {ports: 5}\n"):
        code, _, err = run("apply", "-f", "-", stdin=SVC + spec)  # type: ignore[operator]
        assert code == 1 and "Traceback" not in err, err
        assert err.startswith(("Error from server", 'The Service "web" is invalid')), err


def test_keys_and_binary_become_json_as_kubectl_sends_them(run: object) -> None:
    manifest = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"
        "  annotations: {1: a, 2.5: b, false: c, k: !!binary aGVsbG8=, bad: !!binary /w==,"
        " t: !!timestamp 2001-12-14t21:59:43.10-05:00, d: !!timestamp 2002-12-14}\n"
    )
    code, _, err = run("apply", "-f", "-", stdin=manifest)  # type: ignore[operator]
    assert code == 0, err
    code, out, _ = run(  # type: ignore[operator]
        "get", "ns", "x", "-o", "jsonpath={.metadata.annotations}"
    )
    assert out == (
        '{"1":"a","2.5":"b","bad":"\ufffd","d":"2002-12-14T00:00:00Z","false":"c","k":"hello",'
        '"t":"2001-12-14T21:59:43.1-05:00"}'
    )


def test_dev_null_is_an_empty_file(run: object) -> None:
    code, _, err = run("apply", "-f", "/dev/null")  # type: ignore[operator]
    assert (code, err) == (1, "error: no objects passed to apply\n")


def test_a_jsonpath_step_must_be_positive(run: object) -> None:
    for step in ("0", "-1"):
        template = f"jsonpath={{.items[0:1:{step}]}}"
        code, out, err = run("get", "svc", "-o", template)  # type: ignore[operator]
        assert (code, out) == (1, "")
        assert err == f'error: error executing jsonpath "{template[9:]}": step must be > 0\n'


def test_float_keys_are_written_as_go_formats_a_float32() -> None:
    cases = {0.5: "0.5", 1e6: "1e+06", 123456.0: "123456", 1e-5: "1e-05", 0.0001: "0.0001",
             -2.5: "-2.5", 0.1: "0.1", float("inf"): ".inf", 3.3333333333: "3.3333333"}  # fmt: skip
    for f, want in cases.items():
        assert yamldoc._float_key(f) == want, f


def test_the_c_loader_is_used_when_pyyaml_has_it() -> None:
    assert yamldoc.with_libyaml() == bool(getattr(yaml, "__with_libyaml__", False))


@pytest.mark.skipif(not CONFORMANCE.is_dir(), reason="no shared conformance scenarios")
def test_both_loaders_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [p.read_text() for p in sorted(CONFORMANCE.rglob("*.yaml"))]
    texts += [LAUGHS, NS + "spec: &a [*a]\n", "a: b: c\n", "kind: [\n", NS + "spec: {1: 2}\n"]

    def outcome(text: str) -> object:
        try:
            return parse_stream(text, "f.yaml")
        except CliError as e:
            return e.message.split(": yaml: ")[0]  # the wording is each parser's own

    c_loader = [outcome(t) for t in texts]
    monkeypatch.setattr(yamldoc, "_Loader", yamldoc._PyLoader)
    assert [outcome(t) for t in texts] == c_loader


def test_errors_name_the_file_and_line(tmp_path: Path, run: object) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n   bad: [\n")
    code, _, err = run("apply", "-f", str(broken))  # type: ignore[operator]
    assert code == 1
    assert err == (
        f"error: error parsing {broken}: error converting YAML to JSON: yaml: line 5: "
        "mapping values are not allowed in this context\n"
    )
