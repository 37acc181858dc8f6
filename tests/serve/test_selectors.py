"""Label and field selectors of list and watch, as kube-apiserver applies them."""

from __future__ import annotations

from typing import Any

import pytest

from servicecidr.api.selectors import parse_field_selector, parse_label_selector
from servicecidr.cli.errors import CliError
from servicecidr.cli.selectors import parse_selector
from servicecidr.errors import BadRequestError
from servicecidr.serve.selectors import list_filter, selectable_fields


def svc(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": spec,
    }


def bad(fn: Any) -> str:
    with pytest.raises(BadRequestError) as e:
        fn()
    assert e.value.code == 400
    return e.value.message


def test_field_selector_parsing() -> None:
    sel = parse_field_selector("metadata.name=a,metadata.namespace!=b")
    assert [(t.field, t.op, t.value) for t in sel.terms] == [
        ("metadata.name", "=", "a"),
        ("metadata.namespace", "!=", "b"),
    ]
    assert parse_field_selector("a==b").terms[0].op == "="
    # Escaped commas and equals belong to the value.
    assert parse_field_selector(r"a=x\,y\=z\\").terms[0].value == "x,y=z\\"
    assert parse_field_selector("").empty
    assert bad(lambda: parse_field_selector("metadata.name")) == (
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
    )
    assert bad(lambda: parse_field_selector(r"a=b\c")) == (
        "invalid field selector: invalid escape sequence: \\c"
    )
    assert bad(lambda: parse_field_selector("a=b=c")) == (
        "invalid field selector: unescaped character in value: 61"
    )


def test_the_wait_for_delete_selector() -> None:
    f = list_filter(
        "networking.k8s.io",
        "ServiceCIDR",
        namespaced=False,
        field_selector="metadata.name=newcidr1",
    )
    assert f.matches({"metadata": {"name": "newcidr1"}})
    assert not f.matches({"metadata": {"name": "kubernetes"}})


def test_service_fields() -> None:
    f = list_filter(
        "",
        "Service",
        namespaced=True,
        field_selector="spec.type=ClusterIP,metadata.namespace=default",
    )
    assert f.matches(svc("a", type="ClusterIP"))
    assert not f.matches(svc("a", type="NodePort"))
    assert not f.matches(svc("a", "other", type="ClusterIP"))
    f = list_filter("", "Service", namespaced=True, field_selector="spec.clusterIP!=None")
    assert f.matches(svc("a", clusterIP="10.0.0.1"))
    assert not f.matches(svc("a", clusterIP="None"))


def test_unsupported_fields_are_worded_per_kind() -> None:
    assert bad(
        lambda: list_filter("", "Service", namespaced=True, field_selector="spec.ports=1")
    ) == ("field label not supported: spec.ports")
    assert bad(
        lambda: list_filter(
            "networking.k8s.io", "ServiceCIDR", namespaced=False, field_selector="spec.cidrs=x"
        )
    ) == ('"spec.cidrs" is not a known field selector: only "metadata.name", "metadata.namespace"')
    # Spaces are not trimmed: "metadata.name " is another field.
    assert "not a known field selector" in bad(
        lambda: list_filter(
            "networking.k8s.io", "IPAddress", namespaced=False, field_selector="metadata.name =x"
        )
    )
    assert bad(
        lambda: list_filter(
            "", "Namespace", namespaced=False, field_selector="metadata.namespace=x"
        )
    ) == ("field label not supported: metadata.namespace")


def test_cluster_scoped_namespace_field_is_empty() -> None:
    f = list_filter(
        "networking.k8s.io", "IPAddress", namespaced=False, field_selector="metadata.namespace="
    )
    assert f.matches({"metadata": {"name": "10.0.0.1"}})


def test_events_in_both_versions() -> None:
    ev1 = {
        "kind": "Event",
        "metadata": {"name": "e", "namespace": "default"},
        "regarding": {"kind": "ServiceCIDR", "name": "newcidr1"},
        "reason": "Terminating",
        "type": "Warning",
        "reportingController": "servicecidr-controller",
    }
    f = list_filter(
        "events.k8s.io",
        "Event",
        namespaced=True,
        field_selector="regarding.name=newcidr1,reportingController=servicecidr-controller",
    )
    assert f.matches(ev1)
    core = list_filter(
        "",
        "Event",
        namespaced=True,
        field_selector="involvedObject.name=newcidr1,involvedObject.kind=ServiceCIDR",
    )
    assert core.matches(ev1)  # the engine's events.k8s.io form, read as core
    assert bad(
        lambda: list_filter(
            "events.k8s.io", "Event", namespaced=True, field_selector="involvedObject.name=x"
        )
    ) == ("field label not supported: involvedObject.name")
    assert selectable_fields("Event", ev1, namespaced=True)["source"] == ""


def test_label_selectors() -> None:
    f = list_filter("", "Service", namespaced=True, label_selector="app in (a,b),!skip")
    assert f.matches(svc("a"))
    assert not f.matches(svc("c"))
    assert list_filter("", "Service", namespaced=True).empty
    assert bad(lambda: parse_label_selector("app in (a")) == (
        "unable to parse requirement: found '', expected: ')'"
    )


def test_cli_keeps_its_wording() -> None:
    with pytest.raises(CliError) as e:
        parse_selector("app in (a")
    assert str(e.value) == "error: unable to parse requirement: found '', expected: ')'"
    assert parse_selector("a=b").matches({"a": "b"})
