"""Fuzzing the server's building blocks with hostile input: protobuf bodies, patches of
every type and server-side apply configurations. The property: every call ends with a
result or an error of servicecidr's tree, never another exception."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import fuzz_examples
from tests.serve.pbenc import kubectl_create_service_clusterip, m, object_meta, unknown

from servicecidr.errors import ApiError, BadRequestError
from servicecidr.serve import apply as a
from servicecidr.serve import patch as p
from servicecidr.serve import protobuf

SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web"},
        "finalizers": ["a"],
    },
    "spec": {
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
        "clusterIP": "10.96.0.10",
        "type": "ClusterIP",
    },
}
CIDR: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "ServiceCIDR",
    "metadata": {"name": "c"},
    "spec": {"cidrs": ["10.0.0.0/24"]},
    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
}

KEYS = st.sampled_from(
    [
        "metadata",
        "spec",
        "status",
        "ports",
        "port",
        "protocol",
        "labels",
        "finalizers",
        "cidrs",
        "conditions",
        "type",
        "$patch",
        "$retainKeys",
        "$setElementOrder/ports",
        "$deleteFromPrimitiveList/finalizers",
        "x",
    ]
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 99),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "TCP", "a", "delete", "replace"]),
)
JSONISH = st.recursive(
    SCALAR,
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(KEYS, c, max_size=4)),
    max_leaves=12,
)


def service_body(spec: bytes) -> bytes:
    return unknown("v1", "Service", m(1, object_meta("x")) + m(2, spec))


@settings(max_examples=fuzz_examples(200))
@given(st.binary(max_size=200))
def test_random_protobuf_bodies(tail: bytes) -> None:
    for body in (b"k8s\x00" + tail, service_body(tail)):
        try:
            out = protobuf.decode(body, api_version="v1", kind="Service")
        except BadRequestError:
            continue
        json.dumps(out)  # always JSON


@settings(max_examples=fuzz_examples(150))
@given(st.data())
def test_mangled_kubectl_bodies(data: st.DataObject) -> None:
    body = bytearray(kubectl_create_service_clusterip("test-1", 80))
    cut = data.draw(st.integers(0, len(body)))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(BadRequestError):
        protobuf.decode(bytes(body[:cut]), api_version="v1", kind="Service")


@settings(max_examples=fuzz_examples(250))
@given(
    st.sampled_from([p.STRATEGIC_MERGE_PATCH, p.MERGE_PATCH]),
    st.dictionaries(KEYS, JSONISH, max_size=4),
    st.sampled_from([SERVICE, CIDR]),
)
def test_random_merge_patches(ctype: str, patch: dict[str, Any], obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    with contextlib.suppress(ApiError):
        out = p.apply_patch(
            obj, json.dumps(patch).encode(), ctype, api_version=obj["apiVersion"], kind=obj["kind"]
        )
        json.dumps(out.document)
    assert obj == before


OPS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "x"])},
    optional={
        "path": st.sampled_from(
            [
                "",
                "/",
                "/spec",
                "/spec/ports/0",
                "/spec/ports/-",
                "/a/b",
                "/spec/ports/-1",
                "/metadata/labels/app",
                "x",
                "/spec/~1",
            ]
        ),
        "from": st.sampled_from(["/spec/type", "/spec/ports/0", "/zz", "/metadata"]),
        "value": JSONISH,
    },
)


@settings(max_examples=fuzz_examples(250))
@given(st.lists(st.one_of(OPS, SCALAR), max_size=6))
def test_random_json_patches(ops: list[Any]) -> None:
    with contextlib.suppress(ApiError):
        p.apply_patch(
            SERVICE, json.dumps(ops).encode(), p.JSON_PATCH, api_version="v1", kind="Service"
        )


@settings(max_examples=fuzz_examples(150))
@given(
    st.dictionaries(KEYS, JSONISH, max_size=4),
    st.sampled_from(["m1", "m2", "kubectl"]),
    st.booleans(),
)
def test_random_apply_configurations(extra: dict[str, Any], manager: str, force: bool) -> None:
    live = a.apply(
        None,
        CIDR,
        manager="m1",
        force=False,
        now="2025-01-01T00:00:00Z",
        api_version=CIDR["apiVersion"],
        kind="ServiceCIDR",
    ).object
    cfg = {**copy.deepcopy(CIDR), **extra, "apiVersion": CIDR["apiVersion"], "kind": "ServiceCIDR"}
    with contextlib.suppress(ApiError):
        out = a.apply(
            live,
            cfg,
            manager=manager,
            force=force,
            now="2025-01-01T00:01:00Z",
            api_version=CIDR["apiVersion"],
            kind="ServiceCIDR",
        )
        json.dumps(out.object)
        a.track_update(live, out.object, manager="u", now="2025-01-01T00:02:00Z")
