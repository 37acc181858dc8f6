"""The command line as a user drives it: main([...]) with captured streams, plus a few
real subprocess runs of ``python -m servicecidr``."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from servicecidr.cli import main
from servicecidr.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]

Run = Callable[..., tuple[int, str, str]]

NEWCIDR1 = """apiVersion: networking.k8s.io/v1beta1
kind: ServiceCIDR
metadata:
  name: newcidr1
spec:
  cidrs:
  - 10.96.0.0/24
"""


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Run]:
    """run("get", "svc", stdin=...) -> (exit status, stdout, stderr) on tmp_path/state."""
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"  # describe prints times in the local zone, as kubectl does
    time.tzset()
    state = tmp_path / "state"

    def run(
        *argv: str, stdin: str | None = None, state_dir: Path | None = None
    ) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = main(["--state", str(state_dir or state), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    if old_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old_tz
    time.tzset()


@pytest.fixture
def sim(cli: Run) -> Run:
    """A state like the document's cluster: 10.96.0.0/28, simulated clock, kube-dns."""
    code, _, err = cli(
        "init", "--service-cluster-ip-range", "10.96.0.0/28", "--clock", "simulated", "--seed", "1"
    )
    assert code == 0, err
    code, _, err = cli(
        "create",
        "service",
        "clusterip",
        "kube-dns",
        "--tcp",
        "53",
        "--clusterip",
        "10.96.0.10",
        "-n",
        "kube-system",
    )
    assert code == 0, err
    return cli


def _state_files(path: Path) -> dict[str, bytes]:
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


# ------------------------------------------------------------------ the seed walkthrough


def test_seed_walkthrough_typed_as_written(sim: Run) -> None:
    code, out, err = sim("get", "servicecidr")
    assert (code, err) == (0, "")
    head, row = out.splitlines()
    assert head.split() == ["NAME", "CIDRS", "AGE"]
    assert row.split()[:2] == ["kubernetes", "10.96.0.0/28"]
    assert out.startswith("NAME         CIDRS          AGE\nkubernetes   10.96.0.0/28   ")

    code, out, err = sim("get", "service", "kubernetes")
    assert code == 0
    assert out.splitlines()[0] == (
        "NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE"
    )
    assert out.splitlines()[1].split()[:5] == [
        "kubernetes",
        "ClusterIP",
        "10.96.0.1",
        "<none>",
        "443/TCP",
    ]

    code, out, err = sim("get", "ipaddress", "10.96.0.1")
    assert out == "NAME        PARENTREF\n10.96.0.1   services/default/kubernetes\n"

    # for i in $(seq 1 13); do kubectl create service clusterip "test-$i" --tcp 80 -o json
    #   | jq -r .spec.clusterIP; done
    ips = []
    for i in range(1, 14):
        code, out, err = sim(
            "create", "service", "clusterip", f"test-{i}", "--tcp", "80", "-o", "json"
        )
        if code == 0:
            ips.append(json.loads(out)["spec"]["clusterIP"])
        else:
            assert out == ""
            assert err == (
                "error: failed to create ClusterIP service: Internal error occurred: "
                "failed to allocate a serviceIP: range is full\n"
            )
            assert i == 13
    assert len(ips) == 12 and len(set(ips)) == 12
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/28") for ip in ips)

    # cat <<EOF | kubectl apply -f - ... EOF
    code, out, err = sim("apply", "-f", "-", stdin=NEWCIDR1)
    assert (code, out, err) == (0, "servicecidr.networking.k8s.io/newcidr1 created\n", "")

    new_ips = []
    for i in range(13, 17):
        code, out, err = sim(
            "create", "service", "clusterip", f"test-{i}", "--tcp", "80", "-o", "json"
        )
        assert code == 0, err
        new_ips.append(json.loads(out)["spec"]["clusterIP"])
    for ip in new_ips:
        addr = ipaddress.ip_address(ip)
        assert addr in ipaddress.ip_network("10.96.0.0/24")
        assert addr not in ipaddress.ip_network("10.96.0.0/28")

    code, out, err = sim("delete", "servicecidr", "newcidr1")
    assert (code, out) == (0, 'servicecidr.networking.k8s.io "newcidr1" deleted\n')

    code, out, err = sim("get", "servicecidr", "newcidr1", "-o", "yaml")
    assert code == 0
    obj = yaml.safe_load(out)
    assert obj["metadata"]["finalizers"] == ["networking.k8s.io/service-cidr-finalizer"]
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 0
    assert obj["status"]["conditions"][0]["reason"] == "Terminating"
    assert obj["status"]["conditions"][0]["status"] == "False"
    lines = out.splitlines()
    assert lines[0].startswith("apiVersion: networking.k8s.io/v1")
    assert lines[1:3] == ["kind: ServiceCIDR", "metadata:"]
    assert [ln.split(":")[0].strip() for ln in lines[3:12]] == [
        "creationTimestamp",
        "deletionGracePeriodSeconds",
        "deletionTimestamp",
        "finalizers",
        "- networking.k8s.io/service-cidr-finalizer",
        "name",
        "resourceVersion",
        "uid",
        "spec",
    ]
    assert lines[3].startswith('  creationTimestamp: "20')
    assert '  resourceVersion: "' in out
    assert (
        "    message: There are still IPAddresses referencing the ServiceCIDR, please remove\n"
        "      them or create a new ServiceCIDR\n"
        "    reason: Terminating\n"
        '    status: "False"\n'
        "    type: Ready\n"
    ) in out

    for i in range(13, 17):
        code, out, err = sim("delete", "service", f"test-{i}")
        assert (code, out) == (0, f'service "test-{i}" deleted\n')

    code, out, err = sim("get", "servicecidr", "newcidr1")
    assert (code, out) == (1, "")
    assert err == (
        'Error from server (NotFound): servicecidrs.networking.k8s.io "newcidr1" not found\n'
    )


def test_demo_runs_and_matches_the_document(cli: Run) -> None:
    code, out, err = cli("demo")
    assert code == 0, err
    assert "$ servicecidr get servicecidr\nNAME         CIDRS          AGE\n" in out
    assert "kubernetes   10.96.0.0/28   17d\n" in out
    assert "10.96.0.1   services/default/kubernetes" in out
    assert out.count("range is full") == 1
    assert "servicecidr.networking.k8s.io/newcidr1 created" in out
    assert "reason: Terminating" in out
    assert 'service "test-16" deleted' in out
    assert out.rstrip().endswith(
        'Error from server (NotFound): servicecidrs.networking.k8s.io "newcidr1" not found'
    )


def test_demo_is_deterministic_and_keeps_state(cli: Run, tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    code, out1, _ = cli("demo", "--keep", str(keep))
    assert code == 0
    code, out2, _ = cli("demo")
    assert code == 0
    strip = [ln for ln in out1.splitlines() if not ln.startswith("# A fresh state")]
    assert strip == [ln for ln in out2.splitlines() if not ln.startswith("# A fresh state")]
    code, out, _ = cli("get", "svc", "-A", "--no-headers", state_dir=keep)
    assert code == 0 and len(out.splitlines()) == 14


# ------------------------------------------------------------------ get


def test_get_formats(sim: Run) -> None:
    sim("create", "service", "clusterip", "web", "--tcp", "80:8080")
    code, out, _ = sim("get", "svc", "web", "-o", "wide")
    head, row = out.splitlines()
    assert head.split() == [
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
        "SELECTOR",
    ]
    assert row.split()[-1] == "app=web"

    code, out, _ = sim("get", "svc", "web", "-o", "json")
    assert out.startswith('{\n    "apiVersion": "v1",\n    "kind": "Service",\n    "metadata": {\n')
    svc = json.loads(out)
    assert svc["metadata"]["labels"] == {"app": "web"}
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"] == [
        {"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}
    ]

    code, out, _ = sim("get", "svc", "-o", "yaml")
    lst = yaml.safe_load(out)
    assert lst["kind"] == "List" and lst["apiVersion"] == "v1"
    assert lst["metadata"] == {"resourceVersion": ""}
    assert [o["metadata"]["name"] for o in lst["items"]] == ["kubernetes", "web"]
    assert out.endswith('kind: List\nmetadata:\n  resourceVersion: ""\n')

    code, out, _ = sim("get", "svc", "-o", "name")
    assert out == "service/kubernetes\nservice/web\n"
    code, out, _ = sim("get", "servicecidr,ip", "-o", "name")
    assert out.splitlines()[0] == "servicecidr.networking.k8s.io/kubernetes"
    assert "ipaddress.networking.k8s.io/10.96.0.1" in out

    code, out, _ = sim("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
    assert out == "10.96.0.1"
    code, out, _ = sim(
        "get",
        "svc",
        "-A",
        "-o",
        'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
    )
    assert out == "default/kubernetes\ndefault/web\nkube-system/kube-dns\n"
    code, out, _ = sim("get", "svc", "-o=jsonpath={.items[*].metadata.name}")
    assert out == "kubernetes web"

    code, out, _ = sim(
        "get", "svc", "-o", "custom-columns=NAME:.metadata.name,PORT:.spec.ports[*].port"
    )
    assert out == "NAME         PORT\nkubernetes   443\nweb          80\n"

    code, out, err = sim("get", "svc", "-o", "bogus")
    assert code == 1 and err.startswith(
        'error: unable to match a printer suitable for the output format "bogus"'
    )


def test_get_tables_namespaces_and_kinds(sim: Run) -> None:
    code, out, _ = sim("get", "svc", "-A")
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ]
    assert lines[1].startswith(
        "default       kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP"
    )
    assert lines[2].startswith(
        "kube-system   kube-dns     ClusterIP   10.96.0.10   <none>        53/TCP"
    )

    code, out, _ = sim("get", "svc", "-n", "kube-system", "kube-dns", "--no-headers")
    assert out.startswith("kube-dns   ClusterIP   10.96.0.10   <none>   53/TCP   ")

    code, out, _ = sim("get", "svc,servicecidr")
    tables = out.split("\n\n")
    assert len(tables) == 2
    assert "service/kubernetes" in tables[0]
    assert tables[1].startswith("NAME                                       CIDRS          AGE\n")
    assert "servicecidr.networking.k8s.io/kubernetes   10.96.0.0/28" in tables[1]

    code, out, _ = sim("get", "servicecidrs.networking.k8s.io/kubernetes", "svc/kubernetes")
    assert "kubernetes" in out and code == 0

    for alias in ("servicecidr", "servicecidrs", "ServiceCIDR", "servicecidrs.networking.k8s.io"):
        assert sim("get", alias)[0] == 0
    for alias in ("svc", "services", "service", "ip", "ipaddress", "ipaddresses", "ev", "events"):
        assert sim("get", alias)[0] == 0
    for alias in ("validatingadmissionpolicy", "validatingadmissionpolicybinding", "ns"):
        assert sim("get", alias)[0] == 0

    code, out, err = sim("get", "svc", "-n", "empty")
    assert (code, out, err) == (0, "", "No resources found in empty namespace.\n")
    # get.go: with nothing printed, the message depends only on --all-namespaces
    code, out, err = sim("get", "validatingadmissionpolicy")
    assert (code, out, err) == (0, "", "No resources found in default namespace.\n")
    code, out, err = sim("get", "validatingadmissionpolicy", "-A")
    assert (code, out, err) == (0, "", "No resources found\n")

    code, out, _ = sim("get", "svc", "-A", "--show-labels")
    assert out.splitlines()[0].split()[-1] == "LABELS"
    assert "component=apiserver,provider=kubernetes" in out


def test_get_label_and_field_selectors(sim: Run) -> None:
    for name in ("a1", "a2", "b1"):
        sim("create", "service", "clusterip", name, "--tcp", "80")

    def names(*argv: str) -> list[str]:
        code, out, err = sim("get", "svc", "-o", "name", *argv)
        assert code == 0, err
        return [ln.split("/")[1] for ln in out.splitlines()]

    assert names("-l", "app=a1") == ["a1"]
    assert names("-l", "app==a2") == ["a2"]
    assert names("-l", "app!=a1") == ["a2", "b1", "kubernetes"]
    assert names("-l", "app in (a1,b1)") == ["a1", "b1"]
    assert names("-l", "app notin (a1, b1)") == ["a2", "kubernetes"]
    assert names("-l", "app") == ["a1", "a2", "b1"]
    assert names("-l", "!app") == ["kubernetes"]
    assert names("-l", "component=apiserver,provider") == ["kubernetes"]
    assert names("--field-selector", "metadata.name=b1") == ["b1"]
    code, _, err = sim("get", "svc", "-l", "app in (a1")
    assert code == 1 and err.startswith("error: unable to parse requirement")


def test_get_errors(sim: Run) -> None:
    code, out, err = sim("get", "svc", "nope", "kubernetes")
    assert code == 1
    assert "kubernetes" in out
    assert err == 'Error from server (NotFound): services "nope" not found\n'
    code, out, err = sim("get", "svc", "nope", "--ignore-not-found")
    assert (code, out, err) == (0, "", "")
    code, out, err = sim("get", "foo")
    assert (code, out, err) == (1, "", 'error: the server doesn\'t have a resource type "foo"\n')
    code, _, err = sim("get")
    assert code == 1 and err.startswith("error: You must specify the type of resource to get.")
    code, _, err = sim("get", "svc", "--bogus")
    assert (
        code == 1
        and err == "error: unknown flag: --bogus\nSee 'servicecidr get --help' for usage.\n"
    )
    code, _, err = sim("get", "svc", "x", "-A")
    assert code == 1 and "across all namespaces" in err


def test_get_from_file(sim: Run, tmp_path: Path) -> None:
    f = tmp_path / "newcidr.yaml"
    f.write_text(NEWCIDR1)
    sim("apply", "-f", str(f))
    _, out, _ = sim("get", "-f", str(f), "-o", "name")
    assert out == "servicecidr.networking.k8s.io/newcidr1\n"


# ------------------------------------------------------------------ describe


def test_describe(sim: Run) -> None:
    code, out, _ = sim("describe", "servicecidr", "kubernetes")
    assert code == 0
    assert out.startswith(
        "Name:         kubernetes\nLabels:       <none>\nAnnotations:  <none>\n"
        "CIDRs:        10.96.0.0/28\nStatus:\nConditions:\n"
        "  Type   Status  LastTransitionTime               Reason  Message\n"
        "  ----   ------  ------------------               ------  -------\n"
        "  Ready  True    Wed, 01 Jan 2025 00:00:00 +0000          "
        "Kubernetes Service CIDR is ready\n"
    )
    assert out.endswith("Events:  <none>\n")

    code, out, _ = sim("describe", "ip", "10.96.0.1")
    assert out == (
        "Name:         10.96.0.1\n"
        "Labels:       ipaddress.kubernetes.io/ip-family=IPv4\n"
        "              ipaddress.kubernetes.io/managed-by=ipallocator.k8s.io\n"
        "Annotations:  <none>\n"
        "Parent Reference:\n"
        "  Group:      \n"
        "  Resource:   services\n"
        "  Namespace:  default\n"
        "  Name:       kubernetes\n"
        "Events:       <none>\n"
    )

    code, out, _ = sim("describe", "svc", "kube", "-n", "kube-system")  # a prefix
    assert out.startswith(
        "Name:                     kube-dns\nNamespace:                kube-system\n"
    )
    assert "IP:                       10.96.0.10\n" in out
    assert "Port:                     53  53/TCP\n" in out

    code, out, _ = sim("describe", "ns")
    assert code == 0
    code, out, err = sim("describe", "svc", "zzz")
    assert code == 1 and err == 'Error from server (NotFound): services "zzz" not found\n'


# ------------------------------------------------------------------ create


def test_create_from_files(sim: Run, tmp_path: Path) -> None:
    f = tmp_path / "objs.yaml"
    f.write_text(
        NEWCIDR1 + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
        "spec:\n  ports:\n  - port: 80\n"
    )
    code, out, err = sim("create", "-f", str(f))
    assert (code, err) == (0, "")
    assert out == "servicecidr.networking.k8s.io/newcidr1 created\nservice/web created\n"

    code, out, err = sim("create", "-f", str(f))
    assert code == 1 and out == ""
    assert err == (
        f'Error from server (AlreadyExists): error when creating "{f}": '
        'servicecidrs.networking.k8s.io "newcidr1" already exists\n'
        f'Error from server (AlreadyExists): error when creating "{f}": '
        'services "web" already exists\n'
    )

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata:\n  name: bad\n"
        "spec:\n  cidrs: [10.0.0.1/24]\n"
    )
    code, out, err = sim("create", "-f", str(bad))
    assert (code, out) == (1, "")
    assert err == (
        'The ServiceCIDR "bad" is invalid: spec.cidrs[0]: Invalid value: "10.0.0.1/24": '
        "must not have bits set beyond the prefix length\n"
    )


def test_create_dry_run_and_outputs(sim: Run) -> None:
    _, out, _ = sim("create", "-f", "-", "--dry-run=server", stdin=NEWCIDR1)
    assert out == "servicecidr.networking.k8s.io/newcidr1 created (server dry run)\n"
    assert sim("get", "servicecidr", "newcidr1")[0] == 1
    _code, out, _ = sim("create", "-f", "-", "--dry-run=client", "-o", "yaml", stdin=NEWCIDR1)
    assert yaml.safe_load(out)["spec"] == {"cidrs": ["10.96.0.0/24"]}
    assert sim("get", "servicecidr", "newcidr1")[0] == 1
    _, out, _ = sim("create", "-f", "-", "-o", "name", stdin=NEWCIDR1)
    assert out == "servicecidr.networking.k8s.io/newcidr1\n"


def test_create_service_generator(sim: Run) -> None:
    code, out, err = sim(
        "create", "service", "clusterip", "pinned", "--tcp", "80", "--clusterip", "10.96.0.5"
    )
    assert (code, out, err) == (0, "service/pinned created\n", "")
    code, out, _ = sim("get", "svc", "pinned", "-o", "json")
    svc = json.loads(out)
    assert svc["spec"]["clusterIP"] == "10.96.0.5"
    assert svc["spec"]["ports"] == [{"name": "80", "port": 80, "protocol": "TCP", "targetPort": 80}]
    code, _, err = sim(
        "create", "service", "clusterip", "again", "--tcp", "80", "--clusterip", "10.96.0.5"
    )
    assert code == 1
    assert err.startswith(
        'error: failed to create ClusterIP service: Service "again" is invalid: spec.clusterIPs: '
    )
    assert err.endswith(": failed to allocate IP 10.96.0.5: provided IP is already allocated\n")
    code, out, _ = sim("create", "svc", "clusterip", "headless", "--clusterip", "None")
    assert code == 0
    code, out, _ = sim(
        "create", "service", "clusterip", "dry", "--tcp", "80", "--dry-run=client", "-o", "yaml"
    )
    assert yaml.safe_load(out)["metadata"] == {"labels": {"app": "dry"}, "name": "dry"}
    code, _, err = sim("create", "service", "clusterip", "noport")
    assert (code, err) == (1, "error: at least one tcp port specifier must be provided\n")
    code, _, err = sim("create", "service", "clusterip")
    assert (code, err) == (1, "error: exactly one NAME is required, got 0\n")
    code, out, _ = sim("create", "namespace", "demo")
    assert out == "namespace/demo created\n"


# ------------------------------------------------------------------ apply


def test_apply_created_unchanged_configured(sim: Run, tmp_path: Path) -> None:
    d = tmp_path / "manifests"
    d.mkdir()
    (d / "a.yaml").write_text(NEWCIDR1)
    (d / "b.json").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": "web", "labels": {"t": "1"}},
                        "spec": {"ports": [{"port": 80}]},
                    },
                ],
            }
        )
    )
    (d / "ignored.txt").write_text("not a manifest")
    code, out, err = sim("apply", "-f", str(d))
    assert (code, err) == (0, "")
    assert out == "servicecidr.networking.k8s.io/newcidr1 created\nservice/web created\n"
    code, out, _ = sim("apply", "-f", str(d))
    assert out == "servicecidr.networking.k8s.io/newcidr1 unchanged\nservice/web unchanged\n"
    (d / "b.json").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ServiceList",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": "web", "labels": {"t": "2"}},
                        "spec": {"ports": [{"port": 80}]},
                    },
                ],
            }
        )
    )
    ip_before = json.loads(sim("get", "svc", "web", "-o", "json")[1])["spec"]["clusterIP"]
    code, out, _ = sim("apply", "-f", str(d / "b.json"))
    assert out == "service/web configured\n"
    after = json.loads(sim("get", "svc", "web", "-o", "json")[1])
    assert after["metadata"]["labels"] == {"t": "2"}
    assert after["spec"]["clusterIP"] == ip_before
    code, out, _ = sim("apply", "-f", str(d / "b.json"), "-o", "yaml")
    assert yaml.safe_load(out)["metadata"]["name"] == "web"


def test_apply_errors_and_namespaces(sim: Run, tmp_path: Path) -> None:
    f = tmp_path / "svc.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: prod\n"
        "spec:\n  ports:\n  - port: 80\n"
    )
    code, _, err = sim("apply", "-f", str(f), "-n", "dev")
    assert code == 1 and "does not match the namespace" in err
    code, out, err = sim("apply", "-f", str(f))
    # NamespaceLifecycle: kube-apiserver refuses a create in a namespace that is missing
    assert (code, out, err) == (
        1,
        "",
        f'Error from server (NotFound): error when creating "{f}": namespaces "prod" not found\n',
    )
    assert sim("create", "namespace", "prod")[1] == "namespace/prod created\n"
    code, out, _ = sim("apply", "-f", str(f))
    assert out == "service/web created\n"
    assert sim("get", "svc", "web", "-n", "prod")[0] == 0
    code, _, err = sim(
        "apply", "-f", "-", stdin="apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"
    )
    assert code == 1
    assert err == (
        'error: resource mapping not found for name: "d" namespace: "" from "STDIN": '
        'no matches for kind "Deployment" in version "apps/v1"\nensure CRDs are installed first\n'
    )
    code, _, err = sim("apply", "-f", "-", stdin="")
    assert (code, err) == (1, "error: no objects passed to apply\n")
    code, out, err = sim("apply", "-f", "-", "--dry-run=server", stdin=NEWCIDR1)
    assert out == "servicecidr.networking.k8s.io/newcidr1 created (server dry run)\n"
    assert sim("get", "servicecidr", "newcidr1")[0] == 1


# ------------------------------------------------------------------ delete


def test_delete_variants(sim: Run, tmp_path: Path) -> None:
    for n in ("a", "b", "c", "d"):
        sim("create", "service", "clusterip", n, "--tcp", "80")
    code, out, _ = sim("delete", "svc", "a", "b")
    assert out == 'service "a" deleted\nservice "b" deleted\n'
    code, out, err = sim("delete", "svc", "a")
    assert (code, out, err) == (1, "", 'Error from server (NotFound): services "a" not found\n')
    assert sim("delete", "svc", "a", "--ignore-not-found")[0] == 0
    code, out, _ = sim("delete", "svc", "-l", "app=c", "--dry-run=server")
    assert out == 'service "c" deleted (server dry run)\n'
    code, out, _ = sim("delete", "svc", "-l", "app=c", "-o", "name")
    assert out == "service/c\n"
    code, _, err = sim("delete", "svc")
    assert (code, err) == (1, "error: resource(s) were provided, but no name was specified\n")
    code, _, err = sim("delete")
    assert code == 1 and err.startswith("error: You must provide one or more resources")
    f = tmp_path / "n.yaml"
    f.write_text(NEWCIDR1)
    sim("apply", "-f", str(f))
    code, out, _ = sim("delete", "-f", str(f))
    assert out == 'servicecidr.networking.k8s.io "newcidr1" deleted\n'
    code, _, err = sim("delete", "-f", str(f))
    assert err == (
        f'Error from server (NotFound): error when deleting "{f}": '
        'servicecidrs.networking.k8s.io "newcidr1" not found\n'
    )
    code, out, _ = sim("delete", "svc", "--all", "-n", "kube-system")
    assert out == 'service "kube-dns" deleted\n'


# ------------------------------------------------------------------ clocks


def test_simulated_clock_moves_one_second_per_command(sim: Run) -> None:
    ages = []
    for _ in range(3):
        out = sim("get", "svc", "kubernetes", "--no-headers")[1]
        ages.append(int(out.split()[-1].rstrip("s")))
    assert ages[1] == ages[0] + 1 and ages[2] == ages[1] + 1


def test_wall_clock_servicecidr_gone_after_grace(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    assert cli("init", "--service-cluster-ip-range", "10.96.0.0/28")[0] == 0
    assert cli("apply", "-f", "-", stdin=NEWCIDR1)[0] == 0
    now[0] += 1
    assert cli("get", "servicecidr", "newcidr1")[0] == 0  # the controller adds its finalizer
    now[0] += 1
    assert cli("delete", "servicecidr", "newcidr1")[0] == 0
    now[0] += 2
    code, out, _ = cli("get", "servicecidr", "newcidr1", "-o", "yaml")
    assert code == 0 and "deletionTimestamp" in out  # inside the 10 s grace
    now[0] += 10
    code, _, err = cli("get", "servicecidr", "newcidr1")
    assert code == 1 and "NotFound" in err


def test_reconcile_command(sim: Run, cli: Run) -> None:
    code, out, _ = sim("reconcile", "--advance", "2h")
    assert code == 0 and "simulated clock" in out
    out = sim("get", "svc", "kubernetes", "--no-headers")[1]
    assert out.split()[-1] == "120m"
    code, _, err = sim("reconcile", "--advance", "2x")
    assert code == 1 and "invalid duration" in err


# ------------------------------------------------------------------ state handling


def test_init_and_default_state(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "fresh"
    code, out, _ = cli("get", "servicecidr", state_dir=fresh)
    assert code == 0 and "10.96.0.0/12" in out  # kubeadm's default range
    code, _, err = cli("init", state_dir=fresh)
    assert code == 1 and "already exists" in err
    monkeypatch.setenv("SERVICECIDR_STATE", str(tmp_path / "env"))
    capsys_code = main(["get", "svc", "kubernetes", "-o", "name"])
    assert capsys_code == 0
    assert (tmp_path / "env" / "meta").is_file()
    code, _, err = cli(
        "init", "--service-cluster-ip-range", "10.0.0.0/8,10.1.0.0/16", state_dir=tmp_path / "x"
    )
    assert code == 1 and err.startswith("error: ")
    assert not (tmp_path / "x").exists()


def test_bad_input_leaves_state_unchanged(sim: Run, tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = _state_files(state)
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n   bad: [\n")
    cases = [
        (("apply", "-f", str(broken)), "error: error parsing "),
        (("create", "-f", str(broken)), "error: error parsing "),
        (("get", "foo"), 'error: the server doesn\'t have a resource type "foo"'),
        (("delete", "foo", "x"), 'error: the server doesn\'t have a resource type "foo"'),
        (("apply", "-f", "x.yaml"), 'error: the path "x.yaml" does not exist'),
        (("apply", "-f", "-"), "error: "),
    ]
    for argv, prefix in cases:
        code, out, err = sim(*argv, stdin="kind: [")
        assert code == 1, argv
        assert out == ""
        assert err.startswith(prefix), (argv, err)
        assert len(err.strip().splitlines()) == 1, err
        assert _state_files(state) == before, argv
    code, _, err = sim("apply", "-f", str(broken))
    assert "yaml: line 5: mapping values are not allowed in this context" in err

    notstate = tmp_path / "notstate"
    notstate.mkdir()
    (notstate / "file.txt").write_text("hello")
    code, out, err = sim("get", "svc", state_dir=notstate)
    assert code == 1 and err.startswith(f"error: {notstate} is not a servicecidr state directory")
    assert sorted(p.name for p in notstate.iterdir()) == ["file.txt"]
    code, _, err = sim("get", "svc", state_dir=broken)
    assert code == 1 and "is not a servicecidr state directory" in err


# ------------------------------------------------------------------ check


def test_check_consistent_and_inconsistent(sim: Run, tmp_path: Path) -> None:
    code, out, _ = sim("check")
    assert code == 0 and out.endswith("consistent\n")
    code, out, _ = sim("check", "-o", "json")
    report = json.loads(out)
    assert report["consistent"] is True and report["counts"]["services"] == 2
    with Cluster.open(tmp_path / "state") as c:
        c.store(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IPAddress",
                "metadata": {
                    "name": "10.96.0.7",
                    "labels": {"ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"},
                },
                "spec": {
                    "parentRef": {
                        "group": "",
                        "resource": "services",
                        "namespace": "default",
                        "name": "ghost",
                    }
                },
            }
        )
        c.store(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "noip", "namespace": "default"},
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "10.200.0.1",
                    "clusterIPs": ["10.200.0.1"],
                    "ports": [{"port": 80}],
                },
            }
        )
    code, out, _ = sim("check", "-o", "json")
    assert code == 1
    types = {p["type"] for p in json.loads(out)["problems"]}
    assert {"orphan-ipaddress", "missing-ipaddress", "outside-servicecidrs"} <= types
    code, out, _ = sim("check")
    assert code == 1 and "inconsistent" in out
    code, _, err = sim("check", state_dir=tmp_path / "none")
    assert code == 1 and err.startswith("error: no servicecidr state in")


# ------------------------------------------------------------------ help, completion, misc


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["init"],
        ["get"],
        ["describe"],
        ["create"],
        ["create", "service", "clusterip"],
        ["apply"],
        ["delete"],
        ["api-resources"],
        ["reconcile"],
        ["check"],
        ["demo"],
        ["completion"],
        ["conformance"],
    ],
)
def test_help_has_examples(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: servicecidr" in out and "examples:" in out


def test_completion_scripts(cli: Run) -> None:
    code, out, _ = cli("completion", "bash")
    assert code == 0
    assert "complete -o default -F _servicecidr servicecidr" in out
    for word in ("get", "describe", "apply", "servicecidrs", "--dry-run", "clusterip", "simulated"):
        assert word in out
    if Path("/bin/bash").exists():
        res = subprocess.run(["/bin/bash", "-n"], input=out, text=True, capture_output=True)
        assert res.returncode == 0, res.stderr
        script = (
            out
            + "\nCOMP_WORDS=(servicecidr get servicec); COMP_CWORD=2; _servicecidr\n"
            + 'echo "${COMPREPLY[@]}"\n'
        )
        res = subprocess.run(["/bin/bash", "-c", script], text=True, capture_output=True)
        assert res.stdout.split() == ["servicecidr", "servicecidrs"]
    code, out, _ = cli("completion", "zsh")
    assert out.startswith("#compdef servicecidr") and "bashcompinit" in out


def test_api_resources_and_version(cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _ = cli("api-resources")
    assert out.splitlines()[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert "servicecidrs                                     networking.k8s.io/v1" in out
    _, out, _ = cli("api-resources", "-o", "name")
    assert "servicecidrs.networking.k8s.io" in out.splitlines()
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("servicecidr ")


# ------------------------------------------------------------------ real processes


def _proc(args: list[str], state: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"), TZ="UTC")
    return subprocess.run(
        [sys.executable, "-m", "servicecidr", "--state", str(state), *args],
        input=stdin,
        text=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_subprocess_streams_and_exit_codes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    res = _proc(
        ["init", "--service-cluster-ip-range", "10.96.0.0/28", "--clock", "simulated"], state
    )
    assert res.returncode == 0, res.stderr
    res = _proc(["apply", "-f", "-"], state, NEWCIDR1)
    assert (res.returncode, res.stdout, res.stderr) == (
        0,
        "servicecidr.networking.k8s.io/newcidr1 created\n",
        "",
    )
    res = _proc(["get", "servicecidr", "gone"], state)
    assert res.returncode == 1 and res.stdout == ""
    assert (
        res.stderr
        == 'Error from server (NotFound): servicecidrs.networking.k8s.io "gone" not found\n'
    )


def test_subprocess_demo(tmp_path: Path) -> None:
    res = _proc(["demo"], tmp_path / "unused")
    assert res.returncode == 0, res.stderr
    assert "$ servicecidr get servicecidr newcidr1 -o yaml" in res.stdout
    assert "reason: Terminating" in res.stdout


def test_audit_log_flag_round_trips_through_import(cli: Run, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    assert (
        cli(
            "--audit-log",
            str(audit),
            "init",
            "--service-cluster-ip-range",
            "10.96.0.0/28",
            "--clock",
            "simulated",
            "--seed",
            "1",
        )[0]
        == 0
    )
    assert (
        cli("--audit-log", str(audit), "create", "service", "clusterip", "web", "--tcp", "80")[0]
        == 0
    )
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {e["objectRef"]["resource"] for e in lines} >= {
        "servicecidrs",
        "services",
        "ipaddresses",
    }
    assert all(e["stage"] == "ResponseComplete" and e["level"] == "RequestResponse" for e in lines)
    other = tmp_path / "imported"
    code, out, _err = cli("import", "audit", str(audit), state_dir=other)
    assert code == 0 and "divergences           0" in out
    code, out, _ = cli("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    code2, out2, _ = cli("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}", state_dir=other)
    assert code == code2 == 0 and out == out2
