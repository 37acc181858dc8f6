"""The one-call Service create (registry/service_fast.py, rust/python/src/fastcreate.rs)
against the full path: the same requests, on engines made alike with the same seed, once
with ``engine.fast_creates`` on and once off, must give the same objects, warnings,
errors, journal entries and store, byte for byte.

Every shape variant of a Service create the tests know is here, each created often
enough that the fast path takes the later ones, between the changes that must send a
create back to the full path (a missing or terminating Namespace, a name taken or
invalid, a full range, an admission policy bound, a new ServiceCIDR, dry run, options
other than the defaults)."""

from __future__ import annotations

import copy
import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from servicecidr import Cluster, ServiceCIDRError, SimulatedClock
from servicecidr.journal.records import encode_entry
from servicecidr.store import encode_object

Obj = dict[str, Any]
Step = Callable[[Cluster], Any]


def svc(name: str, namespace: str | None = "default", **spec: Any) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"ports": [{"port": 80}], **spec},
    }


def ns(name: str, **labels: str) -> Obj:
    meta: Obj = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def create(obj: Obj, **kw: Any) -> Step:
    # a deep copy each time: neither path may keep or change the caller's dict
    return lambda c: c.create_with_warnings(copy.deepcopy(obj), **kw)


def engine_create(obj: Obj, namespace: str) -> Step:
    return lambda c: c.engine.create(copy.deepcopy(obj), namespace=namespace)


def many(make: Callable[[int], Obj], n: int, start: int = 0) -> list[Step]:
    return [create(make(i)) for i in range(start, start + n)]


DENY_POLICY: Obj = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "no-deny-names"},
    "spec": {
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": ["services"],
                }
            ]
        },
        "validations": [{"expression": "!object.metadata.name.startsWith('deny-')"}],
    },
}
DENY_BINDING: Obj = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "no-deny-names"},
    "spec": {"policyName": "no-deny-names", "validationActions": ["Deny"]},
}


def steps() -> list[Step]:
    out: list[Step] = []
    # the plain shape, in the default namespace, named there and left to default
    out += many(lambda i: svc(f"a{i}"), 6)
    out += many(lambda i: svc(f"n{i}", None), 4)
    # a name taken, invalid names (each the full validator's text)
    out += [create(svc("a1")), create(svc("a1", None))]
    for bad in ("Bad_Name", "1abc", "a" * 64, "a.b", "-a", "a-", ""):
        out += [create(svc(bad))]
    out += [create({**svc("x"), "metadata": {"namespace": "default"}})]
    out += [create({**svc("x"), "metadata": {"name": 7}})]
    # generateName (no name: the full path every time)
    gen = {**svc(""), "metadata": {"generateName": "gen-", "namespace": "default"}}
    out += [create(gen), create(gen)]
    # a namespace of its own: named in the body and by the request
    out += [lambda c: c.create(ns("team", tier="a"))]
    out += many(lambda i: svc(f"t{i}", "team"), 4)
    out += [engine_create(svc(f"p{i}", None), "team") for i in range(4)]
    # a namespace that does not exist
    out += many(lambda i: svc(f"g{i}", "ghost"), 3)
    out += [engine_create(svc("g9", None), "ghost")]
    # the namespace relabelled: its stored bytes change, creates in it go on
    out += [
        lambda c: c.update(
            {
                **c.get("Namespace", "team"),
                "metadata": {**c.get("Namespace", "team")["metadata"], "labels": {"tier": "b"}},
            }
        )
    ]
    out += many(lambda i: svc(f"t{i}", "team"), 3, start=10)
    # ExternalName, headless, explicit addresses
    out += many(lambda i: svc(f"e{i}", type="ExternalName", externalName="db.example.com"), 4)
    out += many(lambda i: svc(f"h{i}", clusterIP="None"), 4)
    out += [create(svc("ip1", clusterIP="10.96.0.5")), create(svc("ip2", clusterIP="10.96.0.5"))]
    out += [create(svc("ip3", clusterIPs=["10.96.0.6"]))]
    out += [create(svc("ip4", clusterIP="10.96.9.9"))]
    # dual-stack shapes
    for j, (policy, families) in enumerate(
        (
            ("PreferDualStack", None),
            ("RequireDualStack", ["IPv6", "IPv4"]),
            ("SingleStack", ["IPv6"]),
            ("PreferDualStack", ["IPv4", "IPv6"]),
        )
    ):
        extra: Obj = {"ipFamilyPolicy": policy}
        if families:
            extra["ipFamilies"] = families
        out += [create(svc(f"d{j}-{i}", **extra)) for i in range(3)]
    # node ports, labels, unknown fields (warnings), other request options
    out += many(lambda i: svc(f"np{i}", type="NodePort"), 3)
    out += many(
        lambda i: {**svc(f"l{i}"), "metadata": {"name": f"l{i}", "labels": {"app": "x"}}}, 3
    )
    out += many(lambda i: {**svc(f"u{i}"), "extra": 1}, 3)
    out += [create({**svc("u9"), "extra": 1}, field_validation="Strict")]
    out += [create({**svc("u8"), "extra": 1}, field_validation="Ignore")]
    out += [create(svc("act1"), actor="alice"), create(svc("act2"), actor="alice")]
    # dry run of a learned shape, and resourceVersion on create
    out += [create(svc("dry1"), dry_run=True), create(svc("dry2"), dry_run=True)]
    out += [create({**svc("rv"), "metadata": {"name": "rv", "resourceVersion": "5"}})]
    # an admission policy bound: every create takes the full path; unbound again
    out += [lambda c: c.create(DENY_POLICY), lambda c: c.create(DENY_BINDING)]
    out += many(lambda i: svc(f"a{i}"), 2, start=20)
    out += [create(svc("deny-1")), create(svc("deny-2"))]
    out += [lambda c: c.delete("ValidatingAdmissionPolicyBinding", "no-deny-names")]
    out += many(lambda i: svc(f"deny-{i}"), 2, start=3)
    # a second ServiceCIDR: the allocators are tried in a random order
    out += [
        lambda c: c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": "more"},
                "spec": {"cidrs": ["10.97.0.0/28"]},
            }
        ),
        lambda c: c.reconcile(),
    ]
    out += many(lambda i: svc(f"m{i}"), 6)
    # the IPv4 ranges fill up: the full path's own error, then room again after a delete
    out += many(lambda i: svc(f"f{i}", ipFamilies=["IPv4"]), 40)
    out += [lambda c: c.delete("Service", "f3"), lambda c: c.delete("Service", "a2")]
    out += many(lambda i: svc(f"f{i}", ipFamilies=["IPv4"]), 3, start=50)
    # the namespace terminating: a learned shape is refused as the full path refuses it
    out += [lambda c: c.delete("Namespace", "team")]
    out += many(lambda i: svc(f"t{i}", "team"), 3, start=20)
    out += [engine_create(svc("p9", None), "team")]
    return out


def outcome(result: Any) -> Any:
    """What a step returned, in bytes where it is an object."""
    if isinstance(result, tuple):
        return tuple(outcome(r) for r in result)
    if isinstance(result, dict):
        return encode_object(result)
    if isinstance(result, list):
        return [outcome(r) for r in result]
    return result


def run(fast: bool) -> tuple[list[Any], list[bytes], str, int]:
    c = Cluster("10.96.0.0/26,fd00::/120", seed=7, clock=SimulatedClock())
    c.engine.fast_creates = fast
    results: list[Any] = []
    for step in steps():
        c.clock.advance(0.4)  # type: ignore[attr-defined]
        try:
            results.append(("ok", outcome(step(c))))
        except ServiceCIDRError as e:
            results.append(
                (
                    type(e).__name__,
                    str(e),
                    getattr(e, "reason", None),
                    getattr(e, "code", None),
                    getattr(e, "details", None),
                )
            )
    entries = [encode_entry(e) for e in c.events()]
    return results, entries, c.digest(), c.engine.fast_created


def test_every_shape_gives_the_full_paths_objects_entries_and_errors() -> None:
    fast_results, fast_entries, fast_digest, fast_created = run(True)
    full_results, full_entries, full_digest, full_created = run(False)
    assert full_created == 0
    # the fast path took a good share of the creates (else this test compares nothing)
    assert fast_created >= 40
    assert len(fast_results) == len(full_results)
    for i, (a, b) in enumerate(zip(fast_results, full_results, strict=True)):
        assert a == b, f"step {i}"
    kinds = {r[0] for r in full_results}
    assert {"ok", "AlreadyExistsError", "InvalidError", "NotFoundError", "ForbiddenError"} <= kinds
    assert "InternalError" in kinds  # range is full
    assert fast_entries == full_entries
    assert fast_digest == full_digest


@pytest.mark.parametrize("fast", [True, False])
def test_the_fast_path_leaves_the_callers_object_alone(fast: bool) -> None:
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    c.engine.fast_creates = fast
    for i in range(3):
        obj = svc(f"s{i}")
        before = copy.deepcopy(obj)
        got = c.create(obj)
        assert obj == before
        got["metadata"]["labels"] = {"changed": "yes"}  # the result is the caller's own
        got["spec"]["ports"].append({"port": 1})
        assert "labels" not in c.get("Service", f"s{i}")["metadata"]
        assert c.get("Service", f"s{i}")["spec"]["ports"] == [
            {"port": 80, "protocol": "TCP", "targetPort": 80}
        ]


def test_a_dropped_cluster_is_freed_by_the_collector() -> None:
    # the fast path holds the engine's upkeep: a cycle through Rust the collector must see
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    for i in range(3):
        c.create(svc(f"s{i}"))
    assert c.engine.fast_created > 0
    engine = weakref.ref(c.engine)
    del c
    gc.collect()
    assert engine() is None
