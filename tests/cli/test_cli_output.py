"""The pieces that make the command line's output read like kubectl's: Go's tabwriter,
HumanDuration, go-yaml and encoding/json shapes, JSONPath, label selectors, errors."""

from __future__ import annotations

import pytest

from servicecidr.cli.errors import CliError, add_source, format_errors
from servicecidr.cli.jsonpath import JSONPath, JSONPathError
from servicecidr.cli.manifests import parse_stream
from servicecidr.cli.printers import (
    format_tabbed,
    human_duration,
    parse_output,
    render_table,
    to_json,
    to_yaml,
)
from servicecidr.cli.selectors import parse_selector
from servicecidr.errors import InvalidError, NotFoundError


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60 * 5, "3h5m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (17 * 86400, "17d"),
        (3 * 365 * 86400, "3y"),
        (3 * 365 * 86400 + 86400 * 4, "3y4d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_tabwriter_matches_go() -> None:
    # kubectl get: minwidth 6, padding 3, last column not padded
    assert render_table([["NAME", "CIDRS", "AGE"], ["kubernetes", "10.96.0.0/28", "17d"]]) == (
        "NAME         CIDRS          AGE\nkubernetes   10.96.0.0/28   17d\n"
    )
    assert render_table([["A", "B"], ["x", "y"]]) == "A     B\nx     y\n"  # minwidth 6
    # describe: minwidth 0, padding 2; a line without tabs ends a column block
    text = (
        "Name:\tx\nAnnotations:\t<none>\nStatus:\n  Type\tStatus\n  Ready\tTrue\nEvents:\t<none>\n"
    )
    assert format_tabbed(text, 0, 2) == (
        "Name:         x\nAnnotations:  <none>\nStatus:\n"
        "  Type   Status\n  Ready  True\nEvents:  <none>\n"
    )
    # nested blocks: column 1 is aligned only over the lines that have it
    assert format_tabbed("a\tb\tc\naa\tb\nx\n", 0, 1) == "a  b c\naa b\nx\n"


def test_yaml_like_go_yaml() -> None:
    obj = {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "Terminating",
                    "message": "There are still IPAddresses referencing the "
                    "ServiceCIDR, please remove them or create a new ServiceCIDR",
                    "lastTransitionTime": "2023-10-12T15:12:45Z",
                }
            ]
        },
        "spec": {"cidrs": ["10.96.0.0/24"]},
        "metadata": {
            "name": "newcidr1",
            "resourceVersion": "1133",
            "finalizers": ["f"],
            "deletionGracePeriodSeconds": 0,
            "annotations": {"a": ""},
            "labels": {"on": "yes", "n": "123", "x": "null", "t": "true"},
        },
        "kind": "ServiceCIDR",
        "apiVersion": "networking.k8s.io/v1",
    }
    assert to_yaml(obj) == (
        "apiVersion: networking.k8s.io/v1\n"
        "kind: ServiceCIDR\n"
        "metadata:\n"
        "  annotations:\n"
        '    a: ""\n'
        "  deletionGracePeriodSeconds: 0\n"
        "  finalizers:\n"
        "  - f\n"
        "  labels:\n"
        '    "n": "123"\n'
        '    "on": "yes"\n'
        '    t: "true"\n'
        '    x: "null"\n'
        "  name: newcidr1\n"
        '  resourceVersion: "1133"\n'
        "spec:\n"
        "  cidrs:\n"
        "  - 10.96.0.0/24\n"
        "status:\n"
        "  conditions:\n"
        '  - lastTransitionTime: "2023-10-12T15:12:45Z"\n'
        "    message: There are still IPAddresses referencing the ServiceCIDR, please remove\n"
        "      them or create a new ServiceCIDR\n"
        "    reason: Terminating\n"
        '    status: "False"\n'
        "    type: Ready\n"
    )
    assert to_yaml({"loadBalancer": {}, "items": []}) == "items: []\nloadBalancer: {}\n"
    # go-yaml sorts runs of digits as numbers
    assert to_yaml({"a10": 1, "a9": 2, "b": 3}) == "a9: 2\na10: 1\nb: 3\n"


def test_json_like_encoding_json() -> None:
    assert to_json({"b": [1, {}], "a": "<none> & co"}) == (
        '{\n    "a": "\\u003cnone\\u003e \\u0026 co",\n    "b": [\n        1,\n        {}\n    ]\n}'
    )


def test_parse_output() -> None:
    assert parse_output("wide").format == "wide"
    assert parse_output("=json").format == "json"
    spec = parse_output("jsonpath={.a}")
    assert (spec.format, spec.template) == ("jsonpath", "{.a}")
    with pytest.raises(CliError):
        parse_output("jsonpath")
    with pytest.raises(CliError):
        parse_output("xml")


DOC = {
    "kind": "List",
    "items": [
        {
            "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
            "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 80}, {"port": 443}]},
        },
        {"metadata": {"name": "b"}, "spec": {"clusterIP": "10.0.0.2", "ports": [{"port": 53}]}},
    ],
}


@pytest.mark.parametrize(
    ("template", "text"),
    [
        ("{.kind}", "List"),
        ("{.items[0].metadata.name}", "a"),
        ("{.items[-1].metadata.name}", "b"),
        ("{.items[*].metadata.name}", "a b"),
        ("{.items[0:1].spec.clusterIP}", "10.0.0.1"),
        ("{.items[*].spec.ports[*].port}", "80 443 53"),
        ("{..port}", "80 443 53"),
        ('{.items[?(@.metadata.name=="b")].spec.clusterIP}', "10.0.0.2"),
        ("{.items[?(@.spec.ports[0].port>60)].metadata.name}", "a"),
        ("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", "x"),
        ("{.items[0].metadata['labels']}", '{"app.kubernetes.io/name":"x"}'),
        (
            '{range .items[*]}{.metadata.name}:{.spec.clusterIP}{"\\n"}{end}',
            "a:10.0.0.1\nb:10.0.0.2\n",
        ),
        ("name={.items[1].metadata.name}!", "name=b!"),
        ("{.missing.field}", ""),
        ("{.items[5].metadata.name}", ""),
    ],
)
def test_jsonpath(template: str, text: str) -> None:
    assert JSONPath(template).execute(DOC) == text


def test_jsonpath_errors() -> None:
    for bad in ("{.items[}", "{range .items[*]}{.x}", "{end}", "{.items[a]}"):
        with pytest.raises(JSONPathError):
            JSONPath(bad).execute(DOC)


@pytest.mark.parametrize(
    ("selector", "labels", "match"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {}, False),
        ("app!=web", {}, True),
        ("app in (a, web)", {"app": "web"}, True),
        ("app notin (a,web)", {"app": "web"}, False),
        ("app,tier", {"app": "x", "tier": "y"}, True),
        ("!app", {"app": "x"}, False),
        ("n>3", {"n": "4"}, True),
        ("n<3", {"n": "4"}, False),
        ("app=", {"app": ""}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], match: bool) -> None:
    assert parse_selector(selector).matches(labels) is match


@pytest.mark.parametrize("bad", ["app in (a", "app in", "=x", "app=a b", "app=,", "app=@"])
def test_label_selector_errors(bad: str) -> None:
    with pytest.raises(CliError, match="unable to parse requirement"):
        parse_selector(bad)


def test_error_messages_like_kubectl() -> None:
    nf = NotFoundError('services "x" not found')
    assert format_errors([nf]) == 'Error from server (NotFound): services "x" not found'
    sourced = add_source("creating", "x.yaml", nf)
    assert format_errors([sourced]) == (
        'Error from server (NotFound): error when creating "x.yaml": services "x" not found'
    )
    causes = [
        {"field": "spec.cidrs[0]", "message": 'Invalid value: "a": bad'},
        {"field": "spec.cidrs[1]", "message": 'Invalid value: "b": bad'},
    ]
    inv = InvalidError(
        'ServiceCIDR.networking.k8s.io "s" is invalid: [...]',
        details={"kind": "ServiceCIDR", "name": "s", "causes": causes},
    )
    assert format_errors([inv]) == (
        'The ServiceCIDR "s" is invalid: \n'
        '* spec.cidrs[0]: Invalid value: "a": bad\n'
        '* spec.cidrs[1]: Invalid value: "b": bad'
    )
    assert format_errors([inv, nf]).splitlines() == [
        'Error from server (Invalid): ServiceCIDR.networking.k8s.io "s" is invalid: [...]',
        'Error from server (NotFound): services "x" not found',
    ]


def test_manifest_streams() -> None:
    objs = parse_stream(
        "---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
        "  creationTimestamp: 2023-10-12T15:11:07Z\n--- # trailing comment\n"
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n"
        "  metadata: {name: b}\n",
        "f.yaml",
    )
    assert [o["metadata"]["name"] for o in objs] == ["a", "b"]
    assert objs[0]["metadata"]["creationTimestamp"] == "2023-10-12T15:11:07Z"  # stays a string
    objs = parse_stream(
        '{"apiVersion": "v1", "kind": "Service"}\n{"apiVersion": "v1", "kind": "Service"}', "f.json"
    )
    assert len(objs) == 2
    with pytest.raises(CliError, match=r"error validating \"f.yaml\".*kind not set"):
        parse_stream("apiVersion: v1\nmetadata: {}\n", "f.yaml")
    with pytest.raises(CliError, match=r"error parsing f\.json"):
        parse_stream('{"a": }', "f.json")
