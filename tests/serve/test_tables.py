"""Server-side Table responses as kube-apiserver sends them to kubectl get."""

from __future__ import annotations

from typing import Any

import pytest

from servicecidr.clock import parse_time
from servicecidr.errors import BadRequestError
from servicecidr.serve import tables as t

NOW = parse_time("2025-01-18T00:00:00Z")
CREATED = "2025-01-01T00:00:00Z"  # 17 days before NOW


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "creationTimestamp": CREATED, "resourceVersion": "7", **extra}


def test_servicecidr_table_matches_the_measured_kubectl_exchange() -> None:
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": meta("kubernetes"),
        "spec": {"cidrs": ["10.96.0.0/28"]},
    }
    out = t.table("ServiceCIDR", [obj], now=NOW, resource_version="104")
    assert out["kind"] == "Table"
    assert out["apiVersion"] == "meta.k8s.io/v1"
    assert out["metadata"] == {"resourceVersion": "104"}
    assert [
        (c["name"], c["type"], c["format"], c["priority"]) for c in out["columnDefinitions"]
    ] == [
        ("Name", "string", "name", 0),
        ("CIDRs", "string", "", 0),
        ("Age", "string", "", 0),
    ]
    assert out["columnDefinitions"][1]["description"].startswith("cidrs defines the IP blocks")
    assert out["rows"] == [
        {
            "cells": ["kubernetes", "10.96.0.0/28", "17d"],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta("kubernetes"),
            },
        }
    ]


def test_service_cells_are_wide() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("kubernetes", namespace="default"),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.1",
            "clusterIPs": ["10.96.0.1"],
            "ports": [{"port": 443, "protocol": "TCP"}],
        },
    }
    out = t.table("Service", [svc], now=NOW)
    assert [c["name"] for c in out["columnDefinitions"]] == [
        "Name",
        "Type",
        "Cluster-IP",
        "External-IP",
        "Port(s)",
        "Age",
        "Selector",
    ]
    assert out["columnDefinitions"][-1]["priority"] == 1
    assert out["rows"][0]["cells"] == [
        "kubernetes",
        "ClusterIP",
        "10.96.0.1",
        "<none>",
        "443/TCP",
        "17d",
        "<none>",
    ]


def test_ipaddress_has_no_age() -> None:
    ip = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": meta("10.96.0.1"),
        "spec": {
            "parentRef": {
                "group": "",
                "resource": "services",
                "namespace": "default",
                "name": "kubernetes",
            }
        },
    }
    out = t.table("IPAddress", [ip], now=NOW)
    assert [c["name"] for c in out["columnDefinitions"]] == ["Name", "ParentRef"]
    assert out["rows"][0]["cells"] == ["10.96.0.1", "services/default/kubernetes"]


def test_typed_cells_for_policies_and_events() -> None:
    vap = {
        "kind": "ValidatingAdmissionPolicy",
        "metadata": meta("p"),
        "spec": {"validations": [{"expression": "true"}, {"expression": "false"}]},
    }
    assert t.table("ValidatingAdmissionPolicy", [vap], now=NOW)["rows"][0]["cells"] == [
        "p",
        2,
        "<unset>",
        "17d",
    ]
    binding = {
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": meta("b"),
        "spec": {"policyName": "p", "paramRef": {"name": "x", "namespace": "ns"}},
    }
    assert t.table("ValidatingAdmissionPolicyBinding", [binding], now=NOW)["rows"][0]["cells"] == [
        "b",
        "p",
        "ns/x",
        "17d",
    ]
    event = {
        "kind": "Event",
        "metadata": meta("e.1", namespace="default"),
        "eventTime": "2025-01-17T23:59:00.000000Z",
        "reason": "ServiceCIDRReady",
        "type": "Normal",
        "note": "ok ",
        "regarding": {"kind": "ServiceCIDR", "name": "kubernetes"},
        "reportingController": "servicecidr-controller",
    }
    out = t.table("Event", [event], now=NOW)
    assert [c["name"] for c in out["columnDefinitions"]][:5] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
    ]
    assert out["rows"][0]["cells"] == [
        "60s",
        "Normal",
        "ServiceCIDRReady",
        "servicecidr/kubernetes",
        "",
        "servicecidr-controller",
        "ok",
        "60s",
        1,
        "e.1",
    ]
    ns = {"kind": "Namespace", "metadata": meta("default"), "status": {"phase": "Active"}}
    assert t.table("Namespace", [ns], now=NOW)["rows"][0]["cells"] == ["default", "Active", "17d"]


def test_include_object_and_headers() -> None:
    obj = {
        "kind": "ServiceCIDR",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": meta("a"),
        "spec": {"cidrs": []},
    }
    assert (
        t.table("ServiceCIDR", [obj], now=NOW, include_object="Object")["rows"][0]["object"] == obj
    )
    assert (
        t.table("ServiceCIDR", [obj], now=NOW, include_object="None")["rows"][0]["object"] is None
    )
    out = t.table(
        "ServiceCIDR",
        [],
        now=NOW,
        no_headers=True,
        version="v1beta1",
        continue_token="c",
        remaining_item_count=3,
    )
    assert out == {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1beta1",
        "metadata": {"continue": "c", "remainingItemCount": 3},
        "columnDefinitions": None,
        "rows": [],
    }
    with pytest.raises(BadRequestError) as e:
        t.table("ServiceCIDR", [obj], now=NOW, include_object="All")
    assert e.value.message == (
        'Unable to convert to Table as requested: includeObject: Invalid value: "All": '
        "must be 'Metadata', 'Object', 'None', or empty"
    )


def test_accept_negotiation() -> None:
    kubectl = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,"
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    )
    assert t.table_version(kubectl) == "v1"
    assert t.table_version("application/json;as=Table;g=meta.k8s.io;v=v1beta1") == "v1beta1"
    assert t.table_version("application/json") is None
    assert t.table_version(None) is None
    assert t.table_version("application/json, */*") is None
    assert t.table_content_type("v1") == "application/json;as=Table;v=v1;g=meta.k8s.io"
    assert t.has_columns("Service") and not t.has_columns("Pod")
