"""PATCH bodies as kube-apiserver applies them: strategic merge, JSON merge, JSON patch."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import fuzz_examples

from servicecidr.errors import (
    ApiError,
    BadRequestError,
    InvalidError,
    RequestEntityTooLargeError,
    UnsupportedMediaTypeError,
)
from servicecidr.serve import patch as p

GENERIC_422 = "the server rejected our request due to an error in our request"


def service(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            ],
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "type": "ClusterIP",
            **spec,
        },
    }


def smp(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    return p.strategic_merge_patch(obj, patch, api_version=obj["apiVersion"], kind=obj["kind"])


def smp_error(obj: dict[str, Any], patch: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as e:
        smp(obj, patch)
    return e.value


def cidr(*cidrs: str, conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {
            "name": "newcidr1",
            "finalizers": ["networking.k8s.io/service-cidr-finalizer"],
        },
        "spec": {"cidrs": list(cidrs)},
    }
    if conditions is not None:
        obj["status"] = {"conditions": conditions}
    return obj


def policy() -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "servicecidrs.default"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConditions": [
                {"name": "a", "expression": "true"},
                {"name": "b", "expression": "false"},
            ],
            "validations": [{"expression": "1 == 1"}, {"expression": "2 == 2"}],
        },
    }


# --------------------------------------------------------------------------- SMP: lists


def test_service_ports_merge_on_port_with_set_element_order() -> None:
    # The body kubectl apply sends (SPEC-serve §3).
    patch = {
        "spec": {
            "$setElementOrder/ports": [{"port": 80}, {"port": 53}],
            "ports": [
                {"port": 80, "targetPort": 8080},
                {"name": "dnstcp", "port": 53, "protocol": "TCP"},
            ],
        }
    }
    out = smp(service(), patch)
    assert out["spec"]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
        # 53/UDP -> 53/TCP merges into the same entry: the merge key is port alone.
        {"name": "dnstcp", "port": 53, "protocol": "TCP", "targetPort": 53},
    ]
    assert out["spec"]["clusterIP"] == "10.96.0.10"


def test_set_element_order_reorders_and_new_items_go_where_the_order_says() -> None:
    patch = {
        "spec": {
            "$setElementOrder/ports": [{"port": 53}, {"port": 443}, {"port": 80}],
            "ports": [{"port": 443, "name": "https"}],
        }
    }
    ports = smp(service(), patch)["spec"]["ports"]
    assert [x["port"] for x in ports] == [53, 443, 80]


def test_server_only_items_keep_their_place_relative_to_patched_ones() -> None:
    obj = service(
        ports=[{"port": 1}, {"port": 2}, {"port": 3}, {"port": 4}],
    )
    # Only 3 and a new 5 in the patch: 1, 2, 4 keep their order around 3, and 5 follows
    # the patch item before it (mergeSortedSlice takes a patch item first whenever it
    # cannot place it in the live order).
    out = smp(obj, {"spec": {"ports": [{"port": 3, "name": "c"}, {"port": 5}]}})
    assert [x["port"] for x in out["spec"]["ports"]] == [1, 2, 3, 5, 4]


def test_delete_directive_in_a_merging_list() -> None:
    out = smp(service(), {"spec": {"ports": [{"$patch": "delete", "port": 53}]}})
    assert [x["port"] for x in out["spec"]["ports"]] == [80]


def test_replace_directive_in_a_merging_list() -> None:
    patch = {"spec": {"ports": [{"port": 8443, "name": "x"}, {"$patch": "replace"}]}}
    assert smp(service(), patch)["spec"]["ports"] == [{"port": 8443, "name": "x"}]


def test_merge_directive_in_a_list_is_refused_as_kube_apiserver_does() -> None:
    err = smp_error(service(), {"spec": {"ports": [{"$patch": "merge", "port": 80}]}})
    assert (err.code, err.reason) == (500, "Unknown")
    assert err.message == "merging lists cannot yet be specified in the patch"


def test_delete_directive_needs_the_merge_key() -> None:
    err = smp_error(service(), {"spec": {"ports": [{"$patch": "delete", "name": "dns"}]}})
    assert err.code == 500
    assert (
        err.message == "map: map[$patch:delete name:dns] does not contain declared merge key: port"
    )


def test_merge_key_missing_from_a_patch_item() -> None:
    err = smp_error(service(), {"spec": {"ports": [{"name": "x"}]}})
    assert err.message == "map: map[name:x] does not contain declared merge key: port"


def test_atomic_list_is_replaced_whole() -> None:
    # ServiceCIDR spec.cidrs has no patch strategy: kubectl apply's body replaces it.
    patch = {
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"x"}\n'
            }
        },
        "spec": {"cidrs": ["10.96.0.0/24", "10.97.0.0/24"]},
    }
    out = smp(cidr("10.96.0.0/24"), patch)
    assert out["spec"]["cidrs"] == ["10.96.0.0/24", "10.97.0.0/24"]
    assert out["metadata"]["annotations"] == patch["metadata"]["annotations"]
    assert out["metadata"]["finalizers"] == ["networking.k8s.io/service-cidr-finalizer"]


def test_v1beta1_servicecidr_patches_like_v1() -> None:
    obj = cidr("10.96.0.0/24")
    obj["apiVersion"] = "networking.k8s.io/v1beta1"
    assert smp(obj, {"spec": {"cidrs": ["fd00::/64"]}})["spec"]["cidrs"] == ["fd00::/64"]


def test_conditions_merge_on_type() -> None:
    obj = cidr(
        "10.0.0.0/24",
        conditions=[
            {"type": "Ready", "status": "True", "reason": "", "message": ""},
            {"type": "Other", "status": "True"},
        ],
    )
    patch = {
        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Terminating"}]}
    }
    out = smp(obj, patch)
    assert out["status"]["conditions"] == [
        {"type": "Ready", "status": "False", "reason": "Terminating", "message": ""},
        {"type": "Other", "status": "True"},
    ]


def test_policy_match_conditions_merge_on_name_and_validations_are_replaced() -> None:
    patch = {
        "spec": {
            "matchConditions": [
                {"name": "b", "expression": "true"},
                {"name": "c", "expression": "x"},
            ],
            "validations": [{"expression": "3 == 3"}],
        }
    }
    out = smp(policy(), patch)
    assert out["spec"]["matchConditions"] == [
        {"name": "a", "expression": "true"},
        {"name": "b", "expression": "true"},
        {"name": "c", "expression": "x"},
    ]
    assert out["spec"]["validations"] == [{"expression": "3 == 3"}]


def test_finalizers_are_a_set_and_delete_from_primitive_list_removes() -> None:
    obj = cidr("10.0.0.0/24")
    obj["metadata"]["finalizers"] = ["a", "b"]
    out = smp(obj, {"metadata": {"finalizers": ["b", "c"]}})
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]
    out = smp(obj, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zzz"]}})
    assert out["metadata"]["finalizers"] == ["b"]


def test_delete_from_primitive_list_of_a_missing_list_adds_nothing() -> None:
    obj = cidr("10.0.0.0/24")
    del obj["metadata"]["finalizers"]
    out = smp(obj, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert "finalizers" not in out["metadata"]


def test_set_element_order_of_primitives() -> None:
    obj = cidr("10.0.0.0/24")
    obj["metadata"]["finalizers"] = ["a", "b", "c"]
    patch = {"metadata": {"$setElementOrder/finalizers": ["c", "a", "b"]}}
    assert smp(obj, patch)["metadata"]["finalizers"] == ["c", "a", "b"]
    # Items the order does not name keep their live place among the named ones.
    patch = {"metadata": {"$setElementOrder/finalizers": ["c", "x", "a"]}}
    assert smp(obj, patch)["metadata"]["finalizers"] == ["b", "c", "a"]


def test_set_element_order_mismatch_is_an_error() -> None:
    obj = cidr("10.0.0.0/24")
    obj["metadata"]["finalizers"] = ["a", "b", "c"]
    patch = {"metadata": {"$setElementOrder/finalizers": ["a", "b", "c"], "finalizers": ["c", "a"]}}
    err = smp_error(obj, patch)
    assert err.code == 500
    assert err.message == (
        "The order in patch list:\n[c a]\n doesn't match $setElementOrder list:\n[a b c]\n"
    )


def test_set_element_order_must_be_a_list() -> None:
    err = smp_error(service(), {"spec": {"$setElementOrder/ports": {"port": 80}}})
    assert err.message == "expected a []interface {}, but received a map[string]interface {}"


def test_bad_directive_prefixes_are_bad_requests() -> None:
    err = smp_error(service(), {"spec": {"$setElementOrder": [1]}})
    assert (err.code, err.message) == (400, "invalid patch format of setElementOrder list")
    err = smp_error(service(), {"spec": {"$deleteFromPrimitiveListports": [1]}})
    assert (err.code, err.message) == (400, "invalid patch format of primitive list")


def test_set_element_order_of_an_unknown_field() -> None:
    err = smp_error(service(), {"spec": {"$setElementOrder/bogus": [1]}})
    assert (
        err.message == 'unable to find api field in struct ServiceSpec for the json field "bogus"'
    )
    err = smp_error(service(), {"metadata": {"$setElementOrder/labels": ["a"]}})
    assert err.message == "expected a []interface {}, but received a map[string]interface {}"
    err = smp_error(service(), {"metadata": {"$setElementOrder/annotations": ["a"]}})
    assert err.message == "expected slice or array type, but got: struct"


def test_list_of_lists_is_unprocessable() -> None:
    obj = cidr("10.0.0.0/24")
    obj["metadata"]["finalizers"] = []
    patch = {"metadata": {"finalizers": [["x"]]}}
    err = smp_error(obj, patch)
    assert (err.code, err.reason, err.message) == (422, "Invalid", GENERIC_422)


def test_element_types_must_agree() -> None:
    obj = cidr("10.0.0.0/24")
    err = smp_error(obj, {"metadata": {"finalizers": [1]}})
    assert err.message == (
        "list element types are not identical: [[networking.k8s.io/service-cidr-finalizer] [1]]"
    )


def test_merging_list_of_structs_without_a_key() -> None:
    err = smp_error(policy(), {"spec": {"$deleteFromPrimitiveList/validations": [{"x": 1}]}})
    assert err.message == "cannot merge lists without merge key for struct"


def test_owner_references_merge_on_uid() -> None:
    obj = cidr("10.0.0.0/24")
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1"},
    ]
    patch = {
        "metadata": {
            "ownerReferences": [
                {"uid": "1", "name": "renamed"},
                {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2"},
            ]
        }
    }
    refs = smp(obj, patch)["metadata"]["ownerReferences"]
    assert refs == [
        {"apiVersion": "v1", "kind": "A", "name": "renamed", "uid": "1"},
        {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2"},
    ]


# The cases of apimachinery's strategicpatch tests (patch_test.go: "preserve the order
# from the patch", "$setElementOrder contains item that is not present ...", "should
# check if order in $setElementOrder and patch list match", "missing merge key should
# error out", "$deleteFromPrimitiveList of nonexistent item"), with their mergingList
# (merge key name) played by ValidatingAdmissionPolicy spec.matchConditions and their
# mergingIntList by metadata.finalizers.


def vap_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    obj = policy()
    obj["spec"]["matchConditions"] = items
    return obj


def mc(items: dict[str, Any]) -> list[Any]:
    return smp(vap_list(items["original"]), {"spec": items["patch"]})["spec"]["matchConditions"]


def fin(original: list[str], patch: dict[str, Any]) -> list[str]:
    obj = cidr("10.0.0.0/24")
    obj["metadata"]["finalizers"] = original
    return smp(obj, {"metadata": patch})["metadata"].get("finalizers")


def test_go_preserve_the_order_from_the_patch() -> None:
    original = [{"name": "1"}, {"name": "2", "value": "b"}, {"name": "3"}]
    patch = {
        "matchConditions": [
            {"name": "3", "value": "c"},
            {"name": "1", "value": "a"},
            {"name": "2", "other": "x"},
        ]
    }
    assert mc({"original": original, "patch": patch}) == [
        {"name": "3", "value": "c"},
        {"name": "1", "value": "a"},
        {"name": "2", "value": "b", "other": "x"},
    ]
    patch = {"matchConditions": [{"name": "3", "value": "c"}, {"name": "1", "value": "a"}]}
    assert mc({"original": original, "patch": patch}) == [
        {"name": "2", "value": "b"},
        {"name": "3", "value": "c"},
        {"name": "1", "value": "a"},
    ]
    assert fin(["1", "2", "3"], {"finalizers": ["3", "1", "2"]}) == ["3", "1", "2"]


def test_go_set_element_order_naming_absent_items() -> None:
    original = [{"name": "1"}, {"name": "3"}]
    patch = {
        "$setElementOrder/matchConditions": [{"name": "3"}, {"name": "2"}, {"name": "1"}],
        "matchConditions": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}],
    }
    assert mc({"original": original, "patch": patch}) == [
        {"name": "3", "value": "3"},
        {"name": "1", "value": "1"},
    ]
    assert fin(["1", "3"], {"$setElementOrder/finalizers": ["3", "2", "1"]}) == ["3", "1"]


def test_go_set_element_order_must_match_the_patch_list() -> None:
    original = [{"name": "1"}, {"name": "3"}, {"name": "2"}]
    patch = {
        "$setElementOrder/matchConditions": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
        "matchConditions": [{"name": "3", "value": "3"}, {"name": "1", "value": "1"}],
    }
    with pytest.raises(ApiError, match="doesn't match"):
        mc({"original": original, "patch": patch})
    with pytest.raises(ApiError, match="doesn't match"):
        fin(
            ["1", "3", "2"],
            {"$setElementOrder/finalizers": ["1", "2", "3"], "finalizers": ["3", "1"]},
        )


def test_go_missing_merge_key_and_delete_of_absent_primitive() -> None:
    with pytest.raises(ApiError, match="does not contain declared merge key"):
        mc(
            {
                "original": [{"name": "1", "value": "a"}],
                "patch": {"matchConditions": [{"value": "b"}]},
            }
        )
    assert fin(["1", "2"], {"$deleteFromPrimitiveList/finalizers": ["3"]}) == ["1", "2"]


# --------------------------------------------------------------------------- SMP: maps


def test_null_deletes_and_maps_merge() -> None:
    out = smp(service(), {"metadata": {"labels": {"app": None, "tier": "db"}}})
    assert out["metadata"]["labels"] == {"tier": "db"}
    out = smp(service(), {"metadata": {"labels": None}})
    assert "labels" not in out["metadata"]


def test_new_values_lose_their_nulls_and_directives() -> None:
    out = smp(service(), {"metadata": {"annotations": {"a": "1", "b": None}}})
    assert out["metadata"]["annotations"] == {"a": "1"}
    out = smp(service(), {"spec": {"ports": [{"port": 9, "nodePort": None}]}})
    # A new item of a merging list keeps what the patch said (kube-apiserver's result too)
    # and, not being in the live order, goes first.
    assert out["spec"]["ports"][0] == {"port": 9, "nodePort": None}


def test_map_directives() -> None:
    out = smp(service(), {"metadata": {"labels": {"$patch": "replace", "x": "y"}}})
    assert out["metadata"]["labels"] == {"x": "y"}
    out = smp(service(), {"metadata": {"labels": {"$patch": "delete"}}})
    assert out["metadata"]["labels"] == {}
    err = smp_error(service(), {"metadata": {"labels": {"$patch": "merge"}}})
    assert err.code == 500
    assert err.message == "unknown patch type: merge in map: map[$patch:merge]"
    err = smp_error(service(), {"metadata": {"labels": {"$patch": 3}}})
    assert err.message == "unknown patch type: %!s(int64=3) in map: map[$patch:3]"


def test_replace_of_the_whole_object() -> None:
    out = smp(service(), {"$patch": "replace", "apiVersion": "v1", "kind": "Service"})
    assert out == {"apiVersion": "v1", "kind": "Service"}


def test_retain_keys() -> None:
    out = smp(service(), {"spec": {"$retainKeys": ["ports", "type"], "type": "NodePort"}})
    assert set(out["spec"]) == {"ports", "type"}
    assert out["spec"]["type"] == "NodePort"
    err = smp_error(service(), {"spec": {"$retainKeys": ["ports"], "type": "NodePort"}})
    assert (err.code, err.message) == (400, "invalid patch format of retainKeys")
    err = smp_error(service(), {"spec": {"$retainKeys": "ports"}})
    assert (err.code, err.message) == (400, "invalid patch format of retainKeys")


def test_type_change_replaces() -> None:
    out = smp(service(), {"spec": {"type": {"weird": True}}})
    assert out["spec"]["type"] == {"weird": True}
    out = smp(service(), {"spec": {"ports": "none"}})
    assert out["spec"]["ports"] == "none"


def test_unknown_struct_field_is_an_error_only_when_both_sides_are_maps() -> None:
    obj = service()
    obj["spec"]["extra"] = {"a": 1}
    err = smp_error(obj, {"spec": {"extra": {"b": 2}}})
    assert (
        err.message == 'unable to find api field in struct ServiceSpec for the json field "extra"'
    )
    assert smp(service(), {"spec": {"extra": {"b": 2}}})["spec"]["extra"] == {"b": 2}


def test_inputs_are_not_modified() -> None:
    obj = service()
    patch = {"spec": {"$setElementOrder/ports": [{"port": 53}, {"port": 80}], "ports": []}}
    before = (copy.deepcopy(obj), copy.deepcopy(patch))
    smp(obj, patch)
    assert (obj, patch) == before


def test_namespace_and_event_kinds() -> None:
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "a"},
        "status": {"phase": "Active", "conditions": [{"type": "X", "status": "True"}]},
    }
    out = smp(ns, {"status": {"conditions": [{"type": "Y", "status": "False"}]}})
    assert [c["type"] for c in out["status"]["conditions"]] == ["Y", "X"]
    ev = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "e"},
        "note": "a",
        "regarding": {"kind": "Service", "name": "x"},
    }
    out = smp(ev, {"note": "b", "regarding": {"name": "y"}})
    assert out["note"] == "b"
    assert out["regarding"] == {"kind": "Service", "name": "y"}


def test_unsupported_kind() -> None:
    err = smp_error({"apiVersion": "x/v1", "kind": "Thing"}, {})
    assert (err.code, err.message) == (400, "strategic merge patch format is not supported")


# --------------------------------------------------------------------------- merge patch


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        # RFC 7386 Appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": "b"}, ["c"], ["c"]),
    ],
)
def test_rfc7386(target: Any, patch: Any, result: Any) -> None:
    assert p.json_merge_patch(target, patch) == result


def test_merge_patch_quirks() -> None:
    # An array patch keeps its null items and prunes nulls inside its objects.
    assert p.json_merge_patch({"a": 1}, {"a": [None, {"x": None, "y": 1}]}) == {
        "a": [None, {"y": 1}]
    }
    with pytest.raises(BadRequestError, match="Invalid JSON Patch"):
        p.json_merge_patch({}, None)
    with pytest.raises(BadRequestError, match="Invalid JSON Patch"):
        p.json_merge_patch({}, "x")


# --------------------------------------------------------------------------- JSON patch


def jp(doc: Any, ops: list[Any]) -> Any:
    return p.json_patch(doc, ops)


def jp_fails(doc: Any, ops: list[Any]) -> str:
    with pytest.raises(InvalidError) as e:
        jp(doc, ops)
    assert (e.value.code, e.value.message) == (422, GENERIC_422)
    assert isinstance(e.value.__cause__, p.JsonPatchError)
    return str(e.value.__cause__)


def test_rfc6902_examples() -> None:
    assert jp({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}]) == {
        "foo": "bar",
        "baz": "qux",
    }
    assert jp({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}]) == {
        "foo": ["bar", "qux", "baz"]
    }
    assert jp({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}]) == {"foo": "bar"}
    assert jp({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}]) == {
        "foo": ["bar", "baz"]
    }
    assert jp({"baz": "qux"}, [{"op": "replace", "path": "/baz", "value": "boo"}]) == {"baz": "boo"}
    doc = {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}
    assert jp(doc, [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]) == {
        "foo": {"bar": "baz"},
        "qux": {"corge": "grault", "thud": "fred"},
    }
    doc2 = {"foo": ["all", "grass", "cows", "eat"]}
    assert jp(doc2, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}]) == {
        "foo": ["all", "cows", "eat", "grass"]
    }
    assert jp(
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
    ) == {"baz": "qux", "foo": ["a", 2, "c"]}
    assert "test failed" in jp_fails(
        {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]
    )
    assert jp({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}]) == {
        "foo": "bar",
        "child": {"grandchild": {}},
    }
    jp_fails({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}])
    assert jp({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}]) == {
        "/": 9,
        "~1": 10,
    }
    assert jp({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]) == {
        "foo": ["bar", ["abc", "def"]]
    }
    assert jp({"a": 1}, [{"op": "copy", "from": "/a", "path": "/b"}]) == {"a": 1, "b": 1}


def test_json_patch_failures_and_quirks() -> None:
    assert "Unexpected kind: frob" in jp_fails({}, [{"op": "frob", "path": "/a"}])
    assert "Unexpected kind: unknown" in jp_fails({}, [None])
    jp_fails({}, [{"op": "remove", "path": "/a"}])
    jp_fails({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 1}])
    jp_fails({"a": [1]}, [{"op": "add", "path": "/a/x", "value": 1}])
    jp_fails({"a": 1}, [{"op": "add", "value": 1}])
    jp_fails({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}])  # 1 and 1.0 differ
    # json-patch v4: replacing a missing object key adds it; copying a missing key writes
    # null; negative indexes count from the end; "-1" on add inserts before the end + 1.
    assert jp({}, [{"op": "replace", "path": "/a", "value": 1}]) == {"a": 1}
    assert jp({}, [{"op": "copy", "from": "/x", "path": "/y"}]) == {"y": None}
    assert jp({"a": [1, 2, 3]}, [{"op": "remove", "path": "/a/-1"}]) == {"a": [1, 2]}
    assert jp({"a": [1, 2]}, [{"op": "add", "path": "/a/-1", "value": 9}]) == {"a": [1, 2, 9]}
    # A missing key tests equal to null or to an absent value.
    assert jp({}, [{"op": "test", "path": "/x", "value": None}]) == {}
    assert jp({}, [{"op": "test", "path": "/x"}]) == {}
    assert jp({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}
    # The first segment of a path is not checked.
    assert jp({"a": 1}, [{"op": "add", "path": "x/b", "value": 2}]) == {"a": 1, "b": 2}


def test_json_patch_failed_op_leaves_document_untouched() -> None:
    doc = {"a": [1]}
    jp_fails(doc, [{"op": "add", "path": "/b", "value": 1}, {"op": "remove", "path": "/zz"}])
    assert doc == {"a": [1]}


def test_json_patch_copy_limit() -> None:
    big = "x" * (1024 * 1024)
    ops = [{"op": "copy", "from": "/a", "path": f"/b{i}"} for i in range(4)]
    assert "exceeding the limit 3145728" in jp_fails({"a": big}, ops)


# --------------------------------------------------------------------------- requests


def apply(
    body: bytes | str, ctype: str | None, *, obj: dict[str, Any] | None = None, fv: str = "Warn"
) -> p.PatchResult:
    o = obj or service()
    data = body.encode() if isinstance(body, str) else body
    return p.apply_patch(
        o, data, ctype, api_version=o["apiVersion"], kind=o["kind"], field_validation=fv
    )


def test_content_types() -> None:
    with pytest.raises(UnsupportedMediaTypeError) as e:
        apply("{}", "application/json")
    assert e.value.code == 415
    assert e.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml"
    )
    with pytest.raises(UnsupportedMediaTypeError):
        apply("{}", None)
    out = apply('{"spec":{"type":"NodePort"}}', "application/merge-patch+json; charset=utf-8")
    assert out.document["spec"]["type"] == "NodePort"
    with pytest.raises(ValueError, match="server-side apply"):
        apply("{}", p.APPLY_PATCH)


@pytest.mark.parametrize("ctype", [p.JSON_PATCH, p.MERGE_PATCH, p.STRATEGIC_MERGE_PATCH])
def test_invalid_json(ctype: str) -> None:
    for body in ("{", "", "NaN", '{"a":1} x'):
        with pytest.raises(BadRequestError) as e:
            apply(body, ctype)
        assert e.value.message == "invalid JSON patch"


def test_body_shapes() -> None:
    with pytest.raises(BadRequestError) as e:
        apply("[1]", p.STRATEGIC_MERGE_PATCH)
    assert e.value.message == (
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    )
    with pytest.raises(BadRequestError) as e:
        apply("[1]", p.MERGE_PATCH)
    assert e.value.message == (
        "error decoding patch: json: cannot unmarshal array into Go value of type "
        "map[string]interface {}"
    )
    # With fieldValidation=Ignore the array becomes the document, as MergePatch does.
    assert apply("[1]", p.MERGE_PATCH, fv="Ignore").document == [1]
    with pytest.raises(BadRequestError) as e:
        apply('{"op":"add"}', p.JSON_PATCH)
    assert e.value.message == (
        "error decoding patch: json: cannot unmarshal object into Go value of type "
        "[]handlers.jsonPatchOp"
    )
    with pytest.raises(BadRequestError) as e:
        apply('[{"op":1,"path":"/a"}]', p.JSON_PATCH)
    assert e.value.message == (
        "error decoding patch: json: cannot unmarshal number into Go struct field "
        "jsonPatchOp.op of type string"
    )
    with pytest.raises(BadRequestError) as e:
        apply('["x"]', p.JSON_PATCH, fv="Ignore")
    assert e.value.message == (
        "json: cannot unmarshal string into Go value of type jsonpatch.Operation"
    )
    assert apply("null", p.STRATEGIC_MERGE_PATCH).document == service()


def test_strict_errors_are_reported() -> None:
    out = apply('{"metadata":{"labels":{"a":"1","a":"2"}}}', p.STRATEGIC_MERGE_PATCH)
    assert out.strict_errors == ['duplicate field "metadata.labels.a"']
    assert out.document["metadata"]["labels"]["a"] == "2"
    out = apply('{"a":1,"a":2}', p.STRATEGIC_MERGE_PATCH, fv="Ignore")
    assert out.strict_errors == []
    out = apply('[{"op":"add","path":"/x","value":1,"valu":2}]', p.JSON_PATCH)
    assert out.strict_errors == ['json patch unknown field "[0].valu"']


def test_too_many_json_patch_operations() -> None:
    ops = [{"op": "test", "path": "/kind", "value": "Service"}] * 10001
    with pytest.raises(RequestEntityTooLargeError) as e:
        apply(json.dumps(ops), p.JSON_PATCH)
    assert e.value.code == 413
    assert e.value.message == (
        "Request entity too large: The allowed maximum operations in a JSON patch is "
        "10000, got 10001"
    )
    assert apply(json.dumps(ops[:10000]), p.JSON_PATCH).document == service()


def test_deeply_nested_patch_is_a_bad_request_not_a_crash() -> None:
    body = '{"a":' * 5000 + "1" + "}" * 5000
    for ctype in (p.JSON_PATCH, p.MERGE_PATCH, p.STRATEGIC_MERGE_PATCH):
        with pytest.raises(BadRequestError):
            apply(body, ctype)


def test_patch_decode_error_wording() -> None:
    err = p.patch_decode_error(
        p.MERGE_PATCH, {"a": 1}, None, ['unknown field "spec.foo"', 'duplicate field "a"']
    )
    assert err.code == 422
    assert err.message == (
        ' "" is invalid: patch: Invalid value: "{\\"a\\":1}": strict decoding error: '
        'unknown field "spec.foo", duplicate field "a"'
    )
    assert err.details == {
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": 'Invalid value: "{\\"a\\":1}": strict decoding error: '
                'unknown field "spec.foo", duplicate field "a"',
                "field": "patch",
            }
        ]
    }
    err = p.patch_decode_error(p.STRATEGIC_MERGE_PATCH, None, {"spec": {"x": 1}}, [], "bad")
    assert err.message == ' "" is invalid: patch: Invalid value: "map[spec:map[x:1]]": bad'


# --------------------------------------------------------------------------- properties

LABEL = st.text(alphabet="abcxyz", min_size=1, max_size=3)
SCALAR = st.one_of(st.none(), st.text(alphabet="abc", max_size=3), st.integers(0, 9))
JSONISH = st.recursive(SCALAR, lambda c: st.dictionaries(LABEL, c, max_size=3), max_leaves=8)


@settings(max_examples=fuzz_examples(200))
@given(
    labels=st.dictionaries(LABEL, st.text(max_size=3), max_size=4),
    patch_labels=st.dictionaries(LABEL, st.one_of(st.none(), st.text(max_size=3)), max_size=4),
    parent=st.dictionaries(
        st.sampled_from(["group", "resource", "namespace", "name"]),
        st.one_of(st.none(), st.text(max_size=3)),
        max_size=4,
    ),
)
def test_smp_without_lists_equals_json_merge_patch(
    labels: dict[str, str], patch_labels: dict[str, Any], parent: dict[str, Any]
) -> None:
    # SPEC-serve §3: on kinds without merge-keyed lists, an SMP without directives is a
    # JSON merge patch.
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": "10.0.0.1", "labels": labels},
        "spec": {"parentRef": {"resource": "services", "name": "a"}},
    }
    patch = {"metadata": {"labels": patch_labels}, "spec": {"parentRef": parent}}
    assert smp(obj, patch) == p.json_merge_patch(obj, patch)
