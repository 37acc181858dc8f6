"""The one-call Service delete (rust/python/src/fastdelete.rs) against the full path:
the same requests, on engines made alike with the same seed, once with
``engine.fast_deletes`` on and once off, must give the same objects, warnings, errors,
journal entries and store, byte for byte.

Every kind of Service a delete meets is here (single- and dual-stack, headless,
ExternalName, node ports, finalizers, objects written straight to storage with
addresses no allocator holds or spelled oddly), deleted one by one and in batches,
between the changes that must send a delete back to the full path (dry run, another
API version or kind spelling, an admission policy bound, a sink, writes refused, a
terminating Namespace, names that are not text)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, ServiceCIDRError, SimulatedClock
from servicecidr.journal.records import decode_entry, encode_entry
from servicecidr.store import encode_object

Obj = dict[str, Any]
Step = Callable[[Cluster], Any]


def svc(name: str, namespace: str = "default", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def ns(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def create(obj: Obj) -> Step:
    return lambda c: c.create(copy.deepcopy(obj))


def delete(name: str, namespace: str | None = None, **kw: Any) -> Step:
    return lambda c: c.delete_with_warnings("Service", name, namespace, **kw)


def engine_delete(kind: Any, name: Any, namespace: Any = None, **kw: Any) -> Step:
    return lambda c: c.engine.delete(kind, name, namespace, **kw)


def delete_many(keys: list[Any], **kw: Any) -> Step:
    return lambda c: c.delete_many(keys, **kw)


def with_finalizer(name: str) -> Step:
    def step(c: Cluster) -> Any:
        obj = c.get("Service", name)
        obj["metadata"]["finalizers"] = ["example.com/hold"]
        return c.update(obj)

    return step


def without_finalizer(name: str) -> Step:
    def step(c: Cluster) -> Any:
        obj = c.get("Service", name)
        obj["metadata"]["finalizers"] = []
        return c.update(obj)

    return step


DENY_POLICY: Obj = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "keep"},
    "spec": {
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["DELETE"],
                    "resources": ["services"],
                }
            ]
        },
        "validations": [{"expression": "!oldObject.metadata.name.startsWith('keep-')"}],
    },
}
DENY_BINDING: Obj = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "keep"},
    "spec": {"policyName": "keep", "validationActions": ["Deny"]},
}
MORE: Obj = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "ServiceCIDR",
    "metadata": {"name": "more"},
    "spec": {"cidrs": ["10.97.0.0/28"]},
}


def raw(name: str, **spec: Any) -> Step:
    """A Service written straight to storage (no allocation, addresses as given)."""
    return lambda c: c.store(svc(name, **spec))


def address_of(c: Cluster, name: str) -> str:
    return str(c.get("Service", name)["spec"]["clusterIP"])


def sink_on(c: Cluster) -> None:
    c.add_sink(lambda entry: None)


def sink_off(c: Cluster) -> None:
    for sink in c.engine.sinks:
        c.engine.remove_sink(sink)


def steps() -> list[Step]:
    out: list[Step] = [create(ns("team")), create(ns("gone"))]
    out += [create(svc(f"a{i}")) for i in range(12)]
    out += [create(svc(f"t{i}", "team")) for i in range(6)]
    out += [create(svc(f"g{i}", "gone")) for i in range(3)]
    for j, policy in enumerate(("PreferDualStack", "RequireDualStack")):
        out += [create(svc(f"d{j}-{i}", ipFamilyPolicy=policy)) for i in range(3)]
    out += [create(svc(f"v6-{i}", ipFamilies=["IPv6"])) for i in range(2)]
    out += [create(svc(f"h{i}", clusterIP="None")) for i in range(3)]
    out += [
        create(svc(f"e{i}", type="ExternalName", externalName="db.example.com")) for i in range(3)
    ]
    out += [create(svc(f"np{i}", type="NodePort")) for i in range(2)]
    out += [create(svc(f"lb{i}", type="LoadBalancer")) for i in range(2)]
    out += [create(svc(f"keep-{i}")) for i in range(3)]
    out += [create(svc(f"f{i}")) for i in range(3)]
    out += [create(svc("ip1", clusterIP="10.96.0.5"))]
    # plain deletes: by namespace named, left out, or empty; then gone already
    out += [delete("a0"), delete("a1", "default"), delete("a2", ""), delete("a0")]
    out += [delete("t0", "team"), delete("t0"), delete("nope", "ghost")]
    # dual-stack, IPv6, headless, ExternalName, node ports, a chosen address
    out += [delete("d0-0"), delete("d1-0"), delete("v6-0"), delete("h0"), delete("e0")]
    out += [delete("np0"), delete("lb0"), delete("ip1")]
    # finalizers: the first delete marks, the second changes nothing, then it goes
    out += [with_finalizer("f0"), delete("f0"), delete("f0"), without_finalizer("f0")]
    out += [with_finalizer("f1"), without_finalizer("f1"), delete("f1")]
    # dry run, another API version, other spellings of the kind, names not text
    out += [delete("a3", dry_run=True), delete("a3", api_version="v1"), delete("a4")]
    out += [engine_delete("svc", "a5"), engine_delete("services", "a6")]
    out += [engine_delete("Service", ""), engine_delete("Service", None)]
    out += [engine_delete("Service", 7), engine_delete("Service", "a7", 3)]
    out += [engine_delete("Service", "a\udc80"), engine_delete("Service", "a7", "d\udc80")]
    out += [engine_delete("Service", "a7", actor="alice")]
    # batches, mixing kinds, misses and spellings
    out += [
        delete_many(
            [
                ("Service", "a8"),
                ("Service", "a8"),
                ("Service", "t1", "team"),
                ("svc", "a9"),
                ("Namespace", "nothere"),
                ("Service", "d0-1"),
                ("Service", "h1"),
                ["Service", "e1", None],
                ("Service", "a10"),
            ]
        ),
        delete_many([("Service", "t2", "team"), ("Service", "t3", "team")], dry_run=True),
    ]
    # an admission policy bound: every delete takes the full path; unbound again
    out += [create(DENY_POLICY), create(DENY_BINDING)]
    out += [delete("keep-0"), delete("d0-2"), delete_many([("Service", "keep-1")])]
    out += [lambda c: c.delete("ValidatingAdmissionPolicyBinding", "keep")]
    out += [delete("keep-1"), delete("keep-2")]
    # a sink that wants each entry: the full path; then gone again
    out += [sink_on, delete("t2", "team"), delete("v6-1"), sink_off, delete("t3", "team")]
    # writes refused
    out += [lambda c: c.engine.refuse_writes("read-only for a test"), delete("a11")]
    out += [lambda c: c.engine.refuse_writes(None), delete("a11")]
    # a second range; one of its Services deleted after the range is being deleted
    out += [create(MORE), lambda c: c.reconcile()]
    out += [create(svc(f"m{i}", ipFamilies=["IPv4"])) for i in range(4)]
    out += [delete("m0"), lambda c: c.delete("ServiceCIDR", "more"), delete("m1")]
    out += [delete("m2"), lambda c: c.reconcile(), delete("m3")]
    # objects written straight to storage: addresses that no IPAddress holds, spelled
    # oddly, twice, outside every range, not text; a type without a spec
    out += [raw("r0", clusterIP="10.96.0.50", clusterIPs=["10.96.0.50"]), delete("r0")]
    out += [raw("r1", clusterIPs=["10.96.0.051"]), delete("r1")]
    out += [raw("r2", clusterIPs=["10.96.0.3", "10.96.0.3"]), delete("r2")]
    # another Service's address, once and twice: the delete releases it (as Kubernetes)
    out += [lambda c: c.store(svc("r6", clusterIPs=[address_of(c, "np1")]))]
    out += [delete("r6"), lambda c: c.get("IPAddress", address_of(c, "np1"))]
    out += [lambda c: c.store(svc("r7", clusterIPs=[address_of(c, "lb1")] * 2)), delete("r7")]
    out += [raw("r3", clusterIPs=["192.168.0.1", "None", "fd00::99"]), delete("r3")]
    out += [raw("r4", clusterIPs=[]), delete("r4")]
    out += [lambda c: c.store({**svc("r5"), "spec": {}}), delete("r5")]
    # every kind of value a stored Service holds, returned as msgpack reads it back
    values = svc(
        "v0",
        publishNotReadyAddresses=True,
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10800}},
        ports=[{"port": 65535, "name": "x" * 40, "protocol": "UDP"}],
    )
    values["metadata"] |= {
        "labels": {"app": "x", "a" * 40: "b" * 63},
        "annotations": {"note": "ünïcode 😀 " * 300, "empty": ""},
    }
    out += [create(values), delete("v0")]
    # a namespace being deleted: its Services go through the namespace controller
    out += [lambda c: c.delete("Namespace", "gone"), delete("g0", "gone")]
    out += [lambda c: c.reconcile(), delete("g1", "gone")]
    return out


def outcome(result: Any) -> Any:
    """What a step returned, in bytes where it is an object."""
    if isinstance(result, tuple):
        return tuple(outcome(r) for r in result)
    if isinstance(result, dict):
        return encode_object(result)
    if isinstance(result, list):
        return [outcome(r) for r in result]
    if isinstance(result, ServiceCIDRError):
        return error(result)
    return result


def error(e: ServiceCIDRError) -> Any:
    return (
        type(e).__name__,
        str(e),
        getattr(e, "reason", None),
        getattr(e, "code", None),
        getattr(e, "details", None),
    )


def run(fast: bool, keep_events: bool = True) -> tuple[list[Any], list[bytes], str, int]:
    c = Cluster("10.96.0.0/26,fd00::/120", seed=7, clock=SimulatedClock(), keep_events=keep_events)
    c.engine.fast_deletes = fast
    results: list[Any] = []
    for step in steps():
        c.clock.advance(0.4)
        try:
            results.append(("ok", outcome(step(c))))
        except (ServiceCIDRError, TypeError) as e:
            results.append(error(e) if isinstance(e, ServiceCIDRError) else repr(e))
    entries = [encode_entry(e) for e in c.events()]
    return results, entries, c.digest(), c.engine.fast_deleted


@pytest.mark.parametrize("keep_events", [True, False], ids=["journal", "counting"])
def test_every_delete_gives_the_full_paths_objects_entries_and_errors(keep_events: bool) -> None:
    fast_results, fast_entries, fast_digest, fast_deleted = run(True, keep_events)
    full_results, full_entries, full_digest, full_deleted = run(False, keep_events)
    assert full_deleted == 0
    # the fast path took a good share of the deletes (else this test compares nothing)
    assert fast_deleted >= 25
    assert len(fast_results) == len(full_results)
    for i, (a, b) in enumerate(zip(fast_results, full_results, strict=True)):
        assert a == b, f"step {i}"
    kinds = {r[0] for r in full_results}
    assert {"ok", "NotFoundError", "BadRequestError", "InvalidError", "ReadOnlyError"} <= kinds
    assert fast_entries == full_entries
    assert fast_digest == full_digest
    if keep_events:
        # the releases happened: each fast delete of an addressed Service wrote its
        # IPAddress deletes in the same entry, after the Service's own
        writes = [[w.kind for w in decode_entry(e).writes] for e in fast_entries]
        assert ["Service", "IPAddress", "IPAddress"] in writes


def test_a_state_directory_replays_the_fast_deletes(tmp_path: Path) -> None:
    # the one apply: what the fast path recorded replays into the same state
    c = Cluster("10.96.0.0/26", seed=3, clock=SimulatedClock())
    for i in range(6):
        c.create(svc(f"s{i}"))
    got = c.delete_many([("Service", f"s{i}") for i in range(0, 6, 2)])
    assert all(isinstance(g, dict) for g in got)
    assert c.engine.fast_deleted == 3
    again = Cluster.replay(c.events(), "10.96.0.0/26", seed=3, clock=SimulatedClock())
    assert again.digest() == c.digest()
    assert sorted(ip["metadata"]["name"] for ip in c.list("IPAddress")) == sorted(
        s["spec"]["clusterIP"] for s in c.list("Service")
    )
