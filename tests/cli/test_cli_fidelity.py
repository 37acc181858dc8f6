"""The command line where real kubectl 1.37 differed (issue 13): manifests of kinds the
server does not serve, ``--validate``, saved objects that name a resourceVersion, the
create-service generators, describe, YAML errors, printed ports, and the clock after an
import."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from servicecidr import Cluster
from servicecidr.cli.common import IO
from servicecidr.cli.main import run

Run = Callable[..., tuple[int, str, str]]

CHART = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec: {}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data: {a: b}
"""

MAPPING = (
    'resource mapping not found for name: "{name}" namespace: "" from "STDIN": no matches for '
    'kind "{kind}" in version "{version}"\nensure CRDs are installed first'
)
DEPLOYMENT = MAPPING.format(name="web", kind="Deployment", version="apps/v1")
CONFIGMAP = MAPPING.format(name="cfg", kind="ConfigMap", version="v1")


@pytest.fixture
def sh(tmp_path: Path) -> Iterator[Run]:
    """sh("get", "svc", stdin=...) -> (exit status, stdout, stderr) on a fresh state."""
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    state = tmp_path / "state"

    def go(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = run(["--state", str(state), *argv], IO(out, err, io.StringIO(stdin)))
        return code, out.getvalue(), err.getvalue()

    code, _, err = go(
        "init", "--service-cluster-ip-range", "10.96.0.0/28", "--clock", "simulated", "--seed", "1"
    )
    assert code == 0, err
    yield go
    if old_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old_tz
    time.tzset()


def test_apply_goes_on_past_kinds_the_server_does_not_serve(sh: Run) -> None:
    code, out, err = sh("apply", "-f", "-", stdin=CHART)
    assert (code, out) == (1, "service/web created\n")
    assert err == f"{DEPLOYMENT}\n{CONFIGMAP}\n"  # kubectl's MultipleErrors, no "error: "
    code, out, err = sh("apply", "-f", "-", stdin=CHART.replace("port: 80", "port: 0"))
    assert code == 1 and out == ""
    # the mapping errors (one aggregate, as Go prints it) and then the request's own
    assert err.startswith(f"[{DEPLOYMENT}, {CONFIGMAP}]\nError from server (Invalid): ")
    code, out, err = sh("apply", "-f", "-", stdin=CHART.split("---")[0])
    assert (code, out, err) == (1, "", f"error: {DEPLOYMENT}\n")


def test_create_reports_unserved_kinds_in_document_order(sh: Run) -> None:
    code, out, err = sh("create", "-f", "-", stdin=CHART + "---\n" + CHART.split("---")[1])
    assert (code, out) == (1, "service/web created\n")
    assert err == (
        f"{DEPLOYMENT}\n{CONFIGMAP}\n"
        'Error from server (AlreadyExists): error when creating "STDIN": services "web" '
        "already exists\n"
    )


def test_a_yaml_syntax_error_still_changes_nothing(sh: Run) -> None:
    before = sh("get", "svc", "-o", "name")[1]
    code, out, err = sh("apply", "-f", "-", stdin=CHART + "---\na: b: c\n")
    assert (code, out) == (1, "")
    assert err == (
        "error: error parsing STDIN: error converting YAML to JSON: yaml: line 1: mapping "
        "values are not allowed in this context\n"
    )
    assert sh("get", "svc", "-o", "name")[1] == before


UNKNOWN = """apiVersion: v1
kind: Service
metadata:
  name: old
spec:
  ipFamily: IPv4
  ports:
  - port: 80
"""


def test_validate_is_strict_by_default_as_kubectl_1_37(sh: Run) -> None:
    code, out, err = sh("create", "-f", "-", stdin=UNKNOWN)
    assert (code, out) == (1, "")
    assert err == (
        'Error from server (BadRequest): error when creating "STDIN": Service in version "v1" '
        'cannot be handled as a Service: strict decoding error: unknown field "spec.ipFamily"\n'
    )
    code, out, err = sh("apply", "-f", "-", "--validate=warn", stdin=UNKNOWN)
    assert (code, out, err) == (
        0,
        "service/old created\n",
        'Warning: unknown field "spec.ipFamily"\n',
    )
    for flag in ("--validate=ignore", "--validate=false", "--validate=0"):
        code, out, err = sh("apply", "-f", "-", flag, stdin=UNKNOWN)
        assert (code, out, err) == (0, "service/old unchanged\n", "")
    for flag in ("--validate", "--validate=true", "--validate=strict", "--validate=T"):
        code, _, err = sh("apply", "-f", "-", flag, stdin=UNKNOWN)
        assert code == 1 and "strict decoding error" in err
    code, _, err = sh("create", "service", "clusterip", "x", "--tcp", "80", "--validate=maybe")
    assert (code, err) == (
        1,
        'error: invalid - validate option "maybe"; must be one of: strict (or true), warn, '
        "ignore (or false)\n",
    )


def test_a_saved_object_with_a_resource_version_is_refused(sh: Run, tmp_path: Path) -> None:
    sh("create", "service", "clusterip", "web", "--tcp", "80")
    saved = tmp_path / "web.yaml"
    saved.write_text(sh("get", "svc", "web", "-o", "yaml")[1])
    sh("delete", "svc", "web")
    for verb in ("create", "apply"):
        code, out, err = sh(verb, "-f", str(saved))
        assert (code, out, err) == (
            1,
            "",
            f'Error from server: error when creating "{saved}": resourceVersion should not be '
            "set on objects to be created\n",
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tcp", "abc"], 'strconv.ParseUint: parsing "abc": invalid syntax'),
        (["--tcp", "70000"], 'strconv.ParseUint: parsing "70000": value out of range'),
        (["--tcp", "80:0"], "must be between 1 and 65535, inclusive"),
        (
            ["--tcp", "80:Web_1"],
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ),
        (
            ["--tcp", "80:0123456789abcdef"],
            "must be no more than 15 bytes",
        ),
        (
            ["--tcp", "0"],
            'failed to create ClusterIP service: Service "web" is invalid: '
            "[spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, "
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive]",
        ),
    ],
)
def test_create_service_words_bad_ports_as_kubectl(sh: Run, args: list[str], message: str) -> None:
    code, out, err = sh("create", "service", "clusterip", "web", *args)
    assert (code, out, err) == (1, "", f"error: {message}\n")


def test_create_service_externalname(sh: Run) -> None:
    for argv in (["e"], []):
        code, _, err = sh("create", "service", "externalname", *argv)
        assert (code, err) == (1, 'error: required flag(s) "external-name" not set\n')
    code, _, err = sh("create", "service", "externalname", "e", "--external-name", "Bad_Name")
    assert (code, err) == (1, "error: invalid service external name Bad_Name\n")
    code, out, _ = sh(
        "create", "service", "externalname", "e", "--external-name", "a.example", "-o", "json"
    )
    assert code == 0 and "ports" not in json.loads(out)["spec"]
    code, out, _ = sh(
        "create",
        "service",
        "externalname",
        "f",
        "--external-name",
        "a.example",
        "--dry-run=client",
        "-o",
        "json",
    )
    assert code == 0 and "ports" not in json.loads(out)["spec"]


LB = """apiVersion: v1
kind: Service
metadata:
  name: lb
spec:
  type: LoadBalancer
  ports:
  - name: web
    port: 80
    appProtocol: kubernetes.io/h2c
"""


def test_describe_service_shows_app_protocol_and_the_ingress_ip_mode(
    sh: Run, tmp_path: Path
) -> None:
    sh("apply", "-f", "-", stdin=LB)
    # a load balancer controller writes the status (the command line has no verb for it)
    with Cluster.open(tmp_path / "state") as c:
        lb = c.get("Service", "lb")
        lb["status"] = {
            "loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example"}]}
        }
        c.update_status(lb)
    code, out, _ = sh("describe", "svc", "lb")
    assert code == 0
    assert "LoadBalancer Ingress:     192.0.2.1 (VIP), lb.example\n" in out
    assert "TargetPort:               80/TCP\nAppProtocol:              kubernetes.io/h2c\n" in out


def test_describe_namespace(sh: Run) -> None:
    code, out, _ = sh("describe", "ns", "default")
    assert (code, out) == (
        0,
        "Name:         default\n"
        "Labels:       kubernetes.io/metadata.name=default\n"
        "Annotations:  <none>\n"
        "Status:       Active\n",
    )


def test_get_svc_prints_ports_as_make_port_string(sh: Run, tmp_path: Path) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "np",
                    "namespace": "default",
                    "uid": "u-1",
                    "resourceVersion": "50",
                    "creationTimestamp": "2019-01-01T00:00:00Z",
                },
                "spec": {
                    "type": "NodePort",
                    "clusterIP": "10.96.0.9",
                    "ports": [{"port": 80, "nodePort": -5}, {"port": 81, "nodePort": 30001}],
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "hl",
                    "namespace": "default",
                    "uid": "u-2",
                    "resourceVersion": "51",
                    "creationTimestamp": "2019-01-01T00:00:00Z",
                },
                "spec": {"clusterIP": "None", "selector": {"a": "b"}, "ports": [{"port": 1}]},
            },
        ],
    }
    f = tmp_path / "old.json"
    f.write_text(json.dumps(svc))
    code, _, err = sh("import", "dump", str(f))
    assert code == 0, err
    code, out, _ = sh("get", "svc", "np", "hl")
    lines = out.splitlines()
    assert lines[1].split()[:5] == ["np", "NodePort", "10.96.0.9", "<none>", "80/TCP,81:30001/TCP"]
    assert lines[2].split()[:3] == ["hl", "ClusterIP", "None"]


def test_after_an_import_age_is_never_invalid(sh: Run, tmp_path: Path) -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "later",
            "namespace": "default",
            "uid": "u-9",
            "resourceVersion": "9",
            "creationTimestamp": "2030-01-01T00:00:00Z",
        },
        "spec": {"clusterIP": "10.96.0.12", "ports": [{"port": 80}]},
    }
    f = tmp_path / "later.json"
    f.write_text(json.dumps(obj))
    assert sh("import", "dump", str(f))[0] == 0
    code, out, _ = sh("get", "svc", "later")
    assert code == 0 and "<invalid>" not in out


def test_yaml_errors_of_models_and_scenarios_are_worded_as_go_yaml(sh: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: b: c\n")
    code, _, err = sh("simulate", "--model", str(bad))
    assert code != 0
    assert err == (
        f"error: model: {bad} is not valid YAML: yaml: line 1: mapping values are not allowed "
        "in this context\n"
    )
    code, out, _ = sh("conformance", str(bad))
    assert code == 1
    assert "yaml: line 1: mapping values are not allowed in this context" in out
    assert "<unicode string>" not in out
