"""Server-side apply and managedFields, as kube-apiserver keeps them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import fuzz_examples

from servicecidr.errors import ApiError, BadRequestError, ConflictError, InvalidError
from servicecidr.serve import apply as a
from servicecidr.serve import options
from servicecidr.serve.fieldpath import (
    freeze,
    path_string,
    set_from_fields_v1,
    set_to_fields_v1,
)
from servicecidr.serve.typed import TypedError, root_type, to_field_set, validate

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-01-01T00:01:00Z"
T2 = "2025-01-01T00:02:00Z"
NET = "networking.k8s.io/v1"


def cidr_cfg(*cidrs: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": NET,
        "kind": "ServiceCIDR",
        "metadata": {"name": "c1", **meta},
        "spec": {"cidrs": list(cidrs)},
    }


def svc_cfg(ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": ports, **spec},
    }


def do_apply(
    live: dict[str, Any] | None,
    cfg: dict[str, Any],
    manager: str = "mgr",
    *,
    force: bool = False,
    now: str = T0,
    subresource: str = "",
) -> a.ApplyResult:
    return a.apply(
        live,
        cfg,
        manager=manager,
        force=force,
        now=now,
        api_version=cfg["apiVersion"],
        kind=cfg["kind"],
        subresource=subresource,
    )


def managed(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """managedFields by manager name (and operation)."""
    return {f"{e['manager']}/{e['operation']}": e for e in obj["metadata"].get("managedFields", [])}


def stored(obj: dict[str, Any], uid: str = "u-1") -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["uid"] = uid
    return out


# --------------------------------------------------------------------------- field sets


def test_fields_v1_order_and_members() -> None:
    t = root_type("v1", "Service")
    assert t is not None
    obj = svc_cfg([{"port": 80, "targetPort": 8080}], selector={"app": "web"})
    obj["metadata"]["labels"] = {"b": "2", "a": "1"}
    fields = to_field_set(obj, t)
    doc = set_to_fields_v1(fields)
    # Fields sort before keys; "." only where a member also has children.
    assert json.dumps(doc["f:spec"]) == (
        '{"f:ports": {"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}": '
        '{".": {}, "f:port": {}, "f:targetPort": {}}}, "f:selector": {}}'
    )
    assert list(doc["f:metadata"]["f:labels"]) == ["f:a", "f:b"]
    assert set_from_fields_v1(doc) == fields


def test_fields_v1_parsing() -> None:
    doc = {
        "f:metadata": {"f:finalizers": {".": {}, 'v:"a"': {}}},
        "f:spec": {"f:ports": {'k:{"protocol":"TCP","port":80}': {".": {}, "f:port": {}}}},
        "x:unknown": {},
    }
    fields = set_from_fields_v1(doc)
    key = ("k", (("port", 80), ("protocol", "TCP")))
    assert fields == {
        (("f", "metadata"), ("f", "finalizers")),
        (("f", "metadata"), ("f", "finalizers"), ("v", "a")),
        (("f", "spec"), ("f", "ports"), key),
        (("f", "spec"), ("f", "ports"), key, ("f", "port")),
    }
    paths = sorted(path_string(p) for p in fields)
    assert '.spec.ports[port=80,protocol="TCP"].port' in paths
    assert '.metadata.finalizers[="a"]' in paths


def test_path_strings() -> None:
    assert path_string((("f", "spec"), ("f", "cidrs"))) == ".spec.cidrs"
    assert path_string((("f", "a"), ("i", 3))) == ".a[3]"
    assert path_string((("f", "a"), ("v", freeze(True)))) == ".a[=true]"
    assert path_string((("v", 1.5),)) == "[=1.5]"


def test_set_items_and_atomic_lists() -> None:
    t = root_type(NET, "ServiceCIDR")
    assert t is not None
    obj = cidr_cfg("10.0.0.0/24", finalizers=["x", "y"])
    assert set_to_fields_v1(to_field_set(obj, t)) == {
        "f:apiVersion": {},
        "f:kind": {},
        "f:metadata": {"f:finalizers": {'v:"x"': {}, 'v:"y"': {}}, "f:name": {}},
        "f:spec": {"f:cidrs": {}},
    }


def test_validation_errors_as_structured_merge_diff_words_them() -> None:
    t = root_type("v1", "Service")
    assert t is not None
    cases = [
        (svc_cfg([], foo=1), ".spec.foo: field not declared in schema"),
        (
            svc_cfg([{"port": "x"}]),
            '.spec.ports[port="x",protocol="TCP"].port: '
            "expected numeric (int or float), got string",
        ),
        (
            svc_cfg([{"port": 80}, {"port": 80}]),
            '.spec.ports: duplicate entries for key [port=80,protocol="TCP"]',
        ),
        (
            {**cidr_cfg("10.0.0.0/24"), "status": {"conditions": [{"status": "True"}]}},
            ".status.conditions: element 0: associative list with keys has an element that "
            'omits all key fields ["type"] (and doesn\'t have default values for any key fields)',
        ),
        (svc_cfg([], type=3), ".spec.type: expected string, got &value.valueUnstructured{Value:3}"),
        (
            svc_cfg([], publishNotReadyAddresses="yes"),
            ".spec.publishNotReadyAddresses: expected boolean, got &{yes}",
        ),
        (svc_cfg("x"), ".spec.ports: expected list, got &{x}"),  # type: ignore[arg-type]
    ]
    for obj, message in cases:
        ot = root_type(obj["apiVersion"], obj["kind"])
        assert ot is not None
        with pytest.raises(TypedError) as e:
            validate(obj, ot)
        assert str(e.value) == message
    bad = svc_cfg([], type=3, foo=1)  # fields after an undeclared one are not visited
    with pytest.raises(TypedError) as e:
        validate(bad, t)
    assert str(e.value) == (
        "errors:\n  .spec.type: expected string, got &value.valueUnstructured{Value:3}\n"
        "  .spec.foo: field not declared in schema"
    )


# --------------------------------------------------------------------------- apply


def test_apply_creates_and_owns_what_it_applied() -> None:
    r = do_apply(None, cidr_cfg("10.0.0.0/24", labels={"a": "1"}))
    assert r.changed
    assert r.object["spec"] == {"cidrs": ["10.0.0.0/24"]}
    assert r.object["metadata"]["managedFields"] == [
        {
            "manager": "mgr",
            "operation": "Apply",
            "apiVersion": NET,
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:cidrs": {}}},
        }
    ]


def test_reapplying_the_same_configuration_is_a_no_op() -> None:
    live = stored(do_apply(None, cidr_cfg("10.0.0.0/24")).object)
    r = do_apply(live, cidr_cfg("10.0.0.0/24"), now=T1)
    assert not r.changed
    assert r.object == live  # time not bumped either


def test_conflict_with_another_manager_and_force() -> None:
    live = stored(do_apply(None, cidr_cfg("10.0.0.0/24"), "kubectl-client-side-apply").object)
    # client-side apply records Update; make it so
    live["metadata"]["managedFields"][0]["operation"] = "Update"
    with pytest.raises(ConflictError) as e:
        do_apply(live, cidr_cfg("10.0.0.0/24", "10.1.0.0/24"), "helm")
    err = e.value
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
        "networking.k8s.io/v1: .spec.cidrs"
    )
    assert err.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-client-side-apply" using networking.k8s.io/v1',
                "field": ".spec.cidrs",
            }
        ]
    }
    r = do_apply(live, cidr_cfg("10.0.0.0/24", "10.1.0.0/24"), "helm", force=True)
    assert r.object["spec"]["cidrs"] == ["10.0.0.0/24", "10.1.0.0/24"]
    owners = managed(r.object)
    assert "kubectl-client-side-apply/Update" not in owners  # nothing left to own
    assert owners["helm/Apply"]["fieldsV1"] == {"f:spec": {"f:cidrs": {}}}


def test_same_value_is_shared_not_a_conflict() -> None:
    live = stored(do_apply(None, cidr_cfg("10.0.0.0/24"), "one").object)
    r = do_apply(live, cidr_cfg("10.0.0.0/24"), "two")
    owners = managed(r.object)
    assert owners["one/Apply"]["fieldsV1"] == owners["two/Apply"]["fieldsV1"]


def test_several_conflicts_are_grouped_by_manager() -> None:
    base = svc_cfg([{"port": 80, "targetPort": 80}], type="ClusterIP")
    live = stored(do_apply(None, base, "b-mgr").object)
    other = svc_cfg([], sessionAffinity="None")
    live = stored(do_apply(live, other, "a-mgr").object)
    cfg = svc_cfg([{"port": 80, "targetPort": 81}], type="NodePort", sessionAffinity="ClientIP")
    with pytest.raises(ConflictError) as e:
        do_apply(live, cfg, "c-mgr")
    assert e.value.message == (
        'Apply failed with 3 conflicts: conflicts with "a-mgr":\n- .spec.sessionAffinity\n'
        'conflicts with "b-mgr":\n- .spec.ports[port=80,protocol="TCP"].targetPort\n'
        "- .spec.type"
    )
    assert [c["field"] for c in e.value.details["causes"]] == [
        ".spec.sessionAffinity",
        '.spec.ports[port=80,protocol="TCP"].targetPort',
        ".spec.type",
    ]


def test_list_map_items_merge_by_port_and_defaulted_protocol() -> None:
    live = svc_cfg(
        [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
        ]
    )
    live = stored(do_apply(None, live, "creator").object)
    # Another manager adds a TCP 53 port and owns only it; protocol defaults to TCP.
    r = do_apply(live, svc_cfg([{"port": 53, "targetPort": 5353}]), "second")
    assert [(p["port"], p.get("protocol")) for p in r.object["spec"]["ports"]] == [
        (80, "TCP"),
        (53, "UDP"),
        (53, None),
    ]
    assert managed(r.object)["second/Apply"]["fieldsV1"] == {
        "f:spec": {
            "f:ports": {
                'k:{"port":53,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}}
            }
        }
    }


def test_fields_no_longer_applied_are_removed_unless_someone_else_owns_them() -> None:
    live = stored(do_apply(None, cidr_cfg("10.0.0.0/24", labels={"a": "1", "b": "2"})).object)
    # Another manager also sets label b (same value: shared).
    live = stored(do_apply(live, cidr_cfg("10.0.0.0/24", labels={"b": "2"}), "other").object)
    r = do_apply(live, cidr_cfg("10.0.0.0/24"), now=T1)
    assert r.object["metadata"]["labels"] == {"b": "2"}
    assert managed(r.object)["mgr/Apply"]["fieldsV1"] == {"f:spec": {"f:cidrs": {}}}
    assert managed(r.object)["mgr/Apply"]["time"] == T1


def test_set_items_merge_and_are_pruned() -> None:
    live = stored(do_apply(None, cidr_cfg("10.0.0.0/24", finalizers=["a", "b"])).object)
    live = stored(do_apply(live, cidr_cfg("10.0.0.0/24", finalizers=["c"]), "other").object)
    assert live["metadata"]["finalizers"] == ["a", "b", "c"]
    r = do_apply(live, cidr_cfg("10.0.0.0/24", finalizers=["b"]))
    assert r.object["metadata"]["finalizers"] == ["b", "c"]


def test_status_is_not_owned_through_the_main_resource() -> None:
    cfg = cidr_cfg("10.0.0.0/24")
    cfg["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    r = do_apply(None, cfg)
    assert managed(r.object)["mgr/Apply"]["fieldsV1"] == {"f:spec": {"f:cidrs": {}}}
    r2 = do_apply(stored(r.object), cfg, "ctl", subresource="status")
    ctl = r2.object["metadata"]["managedFields"][0]
    assert ctl["subresource"] == "status"
    assert ctl["fieldsV1"] == {
        "f:status": {
            "f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}}}
        }
    }


def test_first_apply_to_an_unmanaged_object_records_before_first_apply() -> None:
    live = {
        "apiVersion": NET,
        "kind": "ServiceCIDR",
        "metadata": {"name": "c1", "uid": "u", "labels": {"x": "1"}},
        "spec": {"cidrs": ["10.0.0.0/24"]},
    }
    r = do_apply(live, cidr_cfg("10.0.0.0/24", labels={"y": "2"}))
    owners = managed(r.object)
    assert set(owners) == {"mgr/Apply", "before-first-apply/Update"}
    assert owners["before-first-apply/Update"]["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:x": {}}},
        "f:spec": {"f:cidrs": {}},
    }
    assert r.object["metadata"]["labels"] == {"x": "1", "y": "2"}


def test_first_apply_conflicting_with_existing_fields() -> None:
    live = {
        "apiVersion": NET,
        "kind": "ServiceCIDR",
        "metadata": {"name": "c1", "uid": "u"},
        "spec": {"cidrs": ["10.0.0.0/24"]},
    }
    with pytest.raises(ConflictError) as e:
        do_apply(live, cidr_cfg("10.1.0.0/24"))
    assert e.value.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using '
        "networking.k8s.io/v1: .spec.cidrs"
    )


def last_applied(cfg: dict[str, Any]) -> str:
    return json.dumps(cfg, separators=(",", ":"), sort_keys=True) + "\n"


def test_kubectl_takes_over_what_client_side_apply_set() -> None:
    csa = cidr_cfg("10.0.0.0/24")
    csa["metadata"]["annotations"] = {
        a.LAST_APPLIED_ANNOTATION: last_applied(cidr_cfg("10.0.0.0/24"))
    }
    live = a.track_update(None, csa, manager="kubectl-client-side-apply", now=T0)
    live = stored(live)
    # kubectl apply --server-side of a changed config: the CSA-owned field it set with
    # the same value as last applied may be taken over without --force.
    r = do_apply(live, cidr_cfg("10.1.0.0/24"), "kubectl")
    assert r.object["spec"]["cidrs"] == ["10.1.0.0/24"]
    # ...and the last-applied annotation follows the applied configuration.
    assert r.object["metadata"]["annotations"][a.LAST_APPLIED_ANNOTATION] == (
        '{"apiVersion":"networking.k8s.io/v1","kind":"ServiceCIDR","metadata":{"name":"c1"},'
        '"spec":{"cidrs":["10.1.0.0/24"]}}\n'
    )
    # Another manager name gets the conflict.
    with pytest.raises(ConflictError):
        do_apply(live, cidr_cfg("10.1.0.0/24"), "helm")


def test_apply_errors() -> None:
    with pytest.raises(BadRequestError) as e:
        a.apply(
            None,
            cidr_cfg("10.0.0.0/24"),
            manager="m",
            force=False,
            now=T0,
            api_version="networking.k8s.io/v1beta1",
            kind="ServiceCIDR",
        )
    assert e.value.message == "invalid object type: networking.k8s.io/v1, Kind=ServiceCIDR"
    cfg = cidr_cfg("10.0.0.0/24")
    cfg["metadata"]["managedFields"] = []
    with pytest.raises(BadRequestError, match=r"metadata\.managedFields must be nil"):
        do_apply(None, cfg)
    cfg = svc_cfg([{"port": 80}], foo=1)
    with pytest.raises(ApiError) as err:
        do_apply(None, cfg)
    assert (err.value.code, err.value.reason) == (500, "Unknown")
    assert err.value.message == (
        "failed to create typed patch object (default/web; /v1, Kind=Service): "
        ".spec.foo: field not declared in schema"
    )
    live = stored(do_apply(None, cidr_cfg("10.0.0.0/24")).object)
    live["metadata"]["managedFields"][0]["operation"] = "Patch"
    with pytest.raises(ApiError) as err:
        do_apply(live, cidr_cfg("10.0.0.0/24"))
    assert (
        err.value.message
        == "failed to decode managed fields: operation must be `Apply` or `Update`"
    )


# --------------------------------------------------------------------------- updates


def test_create_tracks_every_field_of_the_request() -> None:
    svc = svc_cfg(
        [{"name": "80", "protocol": "TCP", "port": 80, "targetPort": 80}],
        selector={"app": "test-1"},
        type="ClusterIP",
    )
    svc["metadata"]["labels"] = {"app": "test-1"}
    out = a.track_update(None, svc, manager="kubectl-create", now=T0)
    assert out["metadata"]["managedFields"] == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:ports": {
                        ".": {},
                        'k:{"port":80,"protocol":"TCP"}': {
                            ".": {},
                            "f:name": {},
                            "f:port": {},
                            "f:protocol": {},
                            "f:targetPort": {},
                        },
                    },
                    "f:selector": {},
                    "f:type": {},
                },
            },
        }
    ]


def test_update_takes_ownership_of_what_it_changes() -> None:
    live = stored(
        a.track_update(None, cidr_cfg("10.0.0.0/24", labels={"a": "1"}), manager="first", now=T0)
    )
    new = copy.deepcopy(live)
    new["spec"]["cidrs"] = ["10.1.0.0/24"]
    del new["metadata"]["labels"]
    out = a.track_update(live, new, manager="second", now=T1)
    owners = managed(out)
    assert owners["second/Update"]["fieldsV1"] == {"f:spec": {"f:cidrs": {}}}
    assert owners["second/Update"]["time"] == T1
    # first lost cidrs (taken) and labels (removed): nothing left.
    assert "first/Update" not in owners


def test_update_that_changes_nothing_keeps_the_entries() -> None:
    live = stored(a.track_update(None, cidr_cfg("10.0.0.0/24"), manager="first", now=T0))
    assert a.track_update(live, copy.deepcopy(live), manager="second", now=T1) == live


def test_existing_objects_without_managed_fields_are_not_tracked() -> None:
    live = stored(cidr_cfg("10.0.0.0/24"))
    new = copy.deepcopy(live)
    new["spec"]["cidrs"] = ["10.1.0.0/24"]
    assert "managedFields" not in a.track_update(live, new, manager="m", now=T0)["metadata"]


def test_request_managed_fields_reset_and_replace() -> None:
    live = stored(a.track_update(None, cidr_cfg("10.0.0.0/24"), manager="first", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    assert "managedFields" not in a.track_update(live, new, manager="m", now=T1)["metadata"]
    new["metadata"]["managedFields"] = [
        {
            "manager": "custom",
            "operation": "Update",
            "apiVersion": NET,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:cidrs": {}}},
        }
    ]
    out = a.track_update(live, new, manager="m", now=T1)
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["custom"]


def test_status_update_manager_has_its_subresource() -> None:
    live = stored(a.track_update(None, cidr_cfg("10.0.0.0/24"), manager="first", now=T0))
    new = copy.deepcopy(live)
    new["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    out = a.track_update(live, new, manager="controller", now=T1, subresource="status")
    entry = managed(out)["controller/Update"]
    assert entry["subresource"] == "status"
    assert "f:status" in entry["fieldsV1"]


def test_update_managers_are_capped_at_ten() -> None:
    live = stored(a.track_update(None, cidr_cfg("10.0.0.0/24"), manager="m0", now=T0))
    for i in range(1, 12):
        new = copy.deepcopy(live)
        new["metadata"].setdefault("labels", {})[f"l{i}"] = "x"
        live = a.track_update(live, new, manager=f"m{i}", now=f"2025-01-01T00:00:{i:02d}Z")
    names = [e["manager"] for e in live["metadata"]["managedFields"]]
    assert len(names) == 10
    assert "ancient-changes" in names
    assert "m0" not in names and "m1" not in names and "m2" not in names


# --------------------------------------------------------------------------- bodies, options


def test_decode_apply_body() -> None:
    body = (
        b"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  annotations:\n    t: 2001-12-14\n"
    )
    doc = a.decode_apply_body(body)
    assert doc["metadata"]["annotations"]["t"] == "2001-12-14"
    assert a.decode_apply_body(b'{"kind":"Service","apiVersion":"v1"}') == {
        "kind": "Service",
        "apiVersion": "v1",
    }
    with pytest.raises(BadRequestError) as e:
        a.decode_apply_body(b"- 1\n- 2\n")
    assert e.value.message == (
        "error decoding patch: error unmarshaling JSON: while decoding JSON: json: cannot "
        "unmarshal array into Go value of type map[string]interface {}"
    )
    with pytest.raises(BadRequestError) as e:
        a.decode_apply_body(b"a: [1\n")
    assert e.value.message.startswith("error encoding patch: error converting YAML to JSON: yaml: ")
    assert a.decode_apply_body(b"") == {}
    # An empty body has no kind: the apply refuses it as kube-apiserver does.
    with pytest.raises(BadRequestError) as e:
        a.apply(None, {}, manager="m", force=False, now=T0, api_version=NET, kind="ServiceCIDR")
    assert e.value.message == "invalid object type: /, Kind="


def test_manager_or_user_agent() -> None:
    assert options.manager_or_user_agent("x", "kubectl/v1.37") == "x"
    assert options.manager_or_user_agent("", "kubectl/v1.37.1 (linux/amd64)") == "kubectl"
    assert (
        options.manager_or_user_agent("", "OpenAPI-Generator/37.0.2/python") == "OpenAPI-Generator"
    )
    assert options.manager_or_user_agent("", "a\x00b" + "c" * 300) == "ab" + "c" * 126


def test_validate_patch_options() -> None:
    with pytest.raises(InvalidError) as e:
        options.validate_patch_options("application/apply-patch+yaml", field_manager="", force=None)
    assert e.value.message == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
        "is required for apply patch"
    )
    with pytest.raises(InvalidError) as e:
        options.validate_patch_options(
            "application/merge-patch+json", field_manager="m", force=True
        )
    assert e.value.message == (
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
        "may not be specified for non-apply patch"
    )
    with pytest.raises(InvalidError) as e:
        options.validate_patch_options(
            "application/merge-patch+json", field_manager="a\tb", force=None, dry_run=["x"]
        )
    assert e.value.message == (
        'PatchOptions.meta.k8s.io "" is invalid: [fieldManager: Invalid value: "a\\tb": '
        "invalid character U+0009 (at position 1), dryRun: Unsupported value: "
        '["x"]: supported values: "All"]'
    )
    options.validate_patch_options("application/apply-patch+yaml", field_manager="m", force=True)


# --------------------------------------------------------------------------- properties

NAMES = st.text(alphabet="abc", min_size=1, max_size=2)
CIDR_CFGS = st.builds(
    lambda cidrs, labels, fins: cidr_cfg(*cidrs, labels=labels, finalizers=fins),
    st.lists(st.sampled_from(["10.0.0.0/24", "10.1.0.0/24", "fd00::/64"]), min_size=1, max_size=2),
    # Non-empty: an applied empty map is owned as a whole, and SSA then reports it as a
    # conflict once another manager's keys are pruned away (kube-apiserver does too).
    st.dictionaries(NAMES, NAMES, min_size=1, max_size=3),
    st.lists(NAMES, max_size=3, unique=True),
)


@settings(max_examples=fuzz_examples(100))
@given(st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3"]), CIDR_CFGS), min_size=1, max_size=4))
def test_forced_applies_keep_ownership_consistent(steps: list[tuple[str, dict[str, Any]]]) -> None:
    """After any sequence of forced applies: the last applier owns exactly what it
    applied, no two managers own a path with different... and re-applying is a no-op."""
    t = root_type(NET, "ServiceCIDR")
    assert t is not None
    live: dict[str, Any] | None = None
    for manager, cfg in steps:
        live = stored(do_apply(live, cfg, manager, force=True).object)
    assert live is not None
    manager, cfg = steps[-1]
    entry = managed(live)[f"{manager}/Apply"]
    applied = {p for p in to_field_set(cfg, t) if p[0][1] not in ("apiVersion", "kind")}
    applied -= {(("f", "metadata"), ("f", "name"))}
    assert set_from_fields_v1(entry["fieldsV1"]) == applied
    for label, value in cfg["metadata"]["labels"].items():
        assert live["metadata"]["labels"][label] == value
    assert not do_apply(live, cfg, manager).changed
