"""Discovery documents, /version and OpenAPI v3 as kubectl reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from servicecidr.api.kinds import KINDS
from servicecidr.serve import discovery as d
from servicecidr.serve import openapi as o


def by_name(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(i for i in items if i[key] == value)


# --------------------------------------------------------------------------- aggregated


def test_aggregated_apis_matches_what_kubectl_was_measured_to_accept() -> None:
    doc = d.aggregated_apis()
    assert (doc["kind"], doc["apiVersion"], doc["metadata"]) == (
        "APIGroupDiscoveryList",
        "apidiscovery.k8s.io/v2",
        {},
    )
    names = [g["metadata"]["name"] for g in doc["items"]]
    assert names == ["events.k8s.io", "networking.k8s.io", "admissionregistration.k8s.io"]
    net = by_name(
        [g | {"n": g["metadata"]["name"]} for g in doc["items"]], "n", "networking.k8s.io"
    )
    # Preferred version first (kubectl resolves get servicecidr to v1).
    assert [v["version"] for v in net["versions"]] == ["v1", "v1beta1"]
    v1 = net["versions"][0]
    assert v1["freshness"] == "Current"
    cidrs = by_name(v1["resources"], "resource", "servicecidrs")
    assert cidrs == {
        "resource": "servicecidrs",
        "responseKind": {"group": "networking.k8s.io", "version": "v1", "kind": "ServiceCIDR"},
        "scope": "Cluster",
        "singularResource": "servicecidr",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "subresources": [
            {
                "subresource": "status",
                "responseKind": {
                    "group": "networking.k8s.io",
                    "version": "v1",
                    "kind": "ServiceCIDR",
                },
                "verbs": ["get", "patch", "update"],
            }
        ],
    }
    ips = by_name(net["versions"][1]["resources"], "resource", "ipaddresses")
    assert ips["shortNames"] == ["ip"]
    assert ips["responseKind"]["version"] == "v1beta1"
    adm = doc["items"][2]["versions"][0]["resources"]
    assert {r["resource"]: r["categories"] for r in adm} == {
        "validatingadmissionpolicies": ["api-extensions"],
        "validatingadmissionpolicybindings": ["api-extensions"],
    }


def test_aggregated_api_core_group() -> None:
    doc = d.aggregated_api()
    assert len(doc["items"]) == 1
    core = doc["items"][0]
    assert "name" not in core["metadata"]
    resources = core["versions"][0]["resources"]
    svc = by_name(resources, "resource", "services")
    assert (svc["scope"], svc["shortNames"], svc["categories"]) == ("Namespaced", ["svc"], ["all"])
    ns = by_name(resources, "resource", "namespaces")
    assert "deletecollection" not in ns["verbs"] and ns["scope"] == "Cluster"
    ev = by_name(resources, "resource", "events")
    assert ev["verbs"] == ["get", "list", "watch"]
    assert ev["shortNames"] == ["ev"]


def test_every_kind_is_served_in_every_version() -> None:
    for info in KINDS.values():
        for v in info.versions:
            r = d.find_resource(info.group, v, info.resource)
            assert r is not None and r.kind == info.kind
    assert d.find_resource("", "v1", "pods") is None
    assert d.AGGREGATED_CONTENT_TYPE == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )


# --------------------------------------------------------------------------- legacy


def test_legacy_documents() -> None:
    assert d.api_versions("127.0.0.1:6443") == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }
    groups = d.api_group_list()
    net = by_name(groups["groups"], "name", "networking.k8s.io")
    assert net == {
        "name": "networking.k8s.io",
        "versions": [
            {"groupVersion": "networking.k8s.io/v1", "version": "v1"},
            {"groupVersion": "networking.k8s.io/v1beta1", "version": "v1beta1"},
        ],
        "preferredVersion": {"groupVersion": "networking.k8s.io/v1", "version": "v1"},
    }
    assert d.api_group("networking.k8s.io") == {"kind": "APIGroup", "apiVersion": "v1", **net}
    assert d.api_group("apps") is None
    core = d.api_resource_list("", "v1")
    assert core is not None and core["groupVersion"] == "v1"
    names = [r["name"] for r in core["resources"]]
    assert names[:2] == ["services", "services/status"]
    assert by_name(core["resources"], "name", "services") == {
        "name": "services",
        "singularName": "service",
        "namespaced": True,
        "kind": "Service",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "shortNames": ["svc"],
        "categories": ["all"],
    }
    assert d.api_resource_list("networking.k8s.io", "v2") is None


def test_version_info() -> None:
    info = d.version_info()
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "33", "v1.33.0")
    assert info["platform"] == "linux/amd64"


# --------------------------------------------------------------------------- OpenAPI


def test_index_lists_every_served_group_version() -> None:
    paths = o.index()["paths"]
    assert list(paths) == [
        "api/v1",
        "apis/networking.k8s.io/v1",
        "apis/networking.k8s.io/v1beta1",
        "apis/admissionregistration.k8s.io/v1",
        "apis/events.k8s.io/v1",
    ]
    url = paths["apis/networking.k8s.io/v1beta1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/networking.k8s.io/v1beta1?hash=")
    assert o.document("apis/apps/v1") is None


def supports_field_validation(doc: dict[str, Any], group: str, version: str, kind: str) -> bool:
    """cli-runtime's supportsQueryParamV3: a PATCH for the GVK with the query param."""
    for path in doc["paths"].values():
        op = path.get("patch")
        if not op:
            continue
        if op.get("x-kubernetes-group-version-kind") != {
            "group": group,
            "version": version,
            "kind": kind,
        }:
            continue
        if any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"]):
            return True
    return False


@pytest.mark.parametrize("gv", o.served_group_versions())
def test_every_kind_has_a_patch_with_field_validation(gv: str) -> None:
    doc = o.document(gv)
    assert doc is not None
    assert doc["openapi"] == "3.0.0"
    for r in d.SERVED:
        key = f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}"
        if key != gv or "patch" not in r.verbs:
            continue
        assert supports_field_validation(doc, r.group, r.version, r.kind), r
    # every $ref resolves
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, ref


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return doc["components"]["schemas"][schema["$ref"].rpartition("/")[2]]
    return schema


def lookup(doc: dict[str, Any], kind_component: str, *path: str) -> dict[str, Any]:
    """PatchMetaFromOpenAPIV3's walk: properties, then items for lists."""
    schema = doc["components"]["schemas"][kind_component]
    for i, key in enumerate(path):
        schema = schema["properties"][key]
        if i < len(path) - 1:
            schema = resolve(doc, schema.get("items", schema) if "items" in schema else schema)
    return schema


def test_schemas_carry_the_patch_and_list_extensions() -> None:
    doc = o.document("api/v1")
    assert doc is not None
    svc = "io.k8s.api.core.v1.Service"
    assert doc["components"]["schemas"][svc]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Service", "version": "v1"}
    ]
    ports = lookup(doc, svc, "spec", "ports")
    assert ports["x-kubernetes-patch-merge-key"] == "port"
    assert ports["x-kubernetes-patch-strategy"] == "merge"
    assert ports["x-kubernetes-list-type"] == "map"
    assert ports["x-kubernetes-list-map-keys"] == ["port", "protocol"]
    assert lookup(doc, svc, "spec", "selector")["x-kubernetes-map-type"] == "atomic"
    fin = lookup(doc, svc, "metadata", "finalizers")
    assert (fin["x-kubernetes-patch-strategy"], fin["x-kubernetes-list-type"]) == ("merge", "set")
    net = o.document("apis/networking.k8s.io/v1beta1")
    assert net is not None
    cidrs = lookup(net, "io.k8s.api.networking.v1beta1.ServiceCIDR", "spec", "cidrs")
    assert cidrs["x-kubernetes-list-type"] == "atomic"
    assert "x-kubernetes-patch-strategy" not in cidrs
    patch = net["paths"]["/apis/networking.k8s.io/v1beta1/servicecidrs/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
