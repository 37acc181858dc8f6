"""``Cluster.create_many`` and ``Cluster.delete_many`` against the loop of single calls
they stand for: the same results per item (objects byte for byte, the same errors), the
same journal entries and the same state, over random batches (hypothesis, derandomized in
the test command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from servicecidr import AlreadyExistsError, Cluster, NotFoundError, ServiceCIDRError, SimulatedClock
from servicecidr.journal.records import encode_entry
from servicecidr.store import encode_object

Obj = dict[str, Any]

NAMES = ["a", "b", "c", "d", "Bad_Name", "e" * 64]
NAMESPACES = ["default", "team", "ghost", None]
SPECS: list[Obj] = [
    {},
    {"ipFamilyPolicy": "PreferDualStack"},
    {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]},
    {"type": "ExternalName", "externalName": "db.example.com"},
    {"clusterIP": "None"},
    {"clusterIP": "10.96.0.3"},
    {"type": "NodePort"},
]


def service(name: str, namespace: str | None, spec: Obj) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"ports": [{"port": 80}], **spec},
    }


def other(i: int) -> Obj:
    if i == 0:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    if i == 1:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "more"},
            "spec": {"cidrs": ["10.97.0.0/29"]},
        }
    return {"kind": "Nothing"}  # not a kind served: the create's own error


objects = st.one_of(
    st.builds(
        service,
        st.sampled_from(NAMES).flatmap(lambda n: st.sampled_from([n, f"{n}-1", f"{n}-2"])),
        st.sampled_from(NAMESPACES),
        st.sampled_from(SPECS),
    ),
    st.builds(other, st.integers(0, 2)),
)
keys = st.tuples(
    st.sampled_from(["Service", "ServiceCIDR", "Namespace", "services"]),
    st.sampled_from(["a", "a-1", "b", "c-2", "more", "team", "nope"]),
    st.sampled_from(NAMESPACES),
)


def cluster() -> Cluster:
    # small ranges: batches run them full
    return Cluster("10.96.0.0/28,fd00::/124", seed=3, clock=SimulatedClock())


def result(r: Obj | ServiceCIDRError) -> Any:
    if isinstance(r, ServiceCIDRError):
        return (type(r).__name__, str(r), getattr(r, "details", None))
    return encode_object(r)


def state(c: Cluster) -> tuple[list[bytes], str]:
    return [encode_entry(e) for e in c.events()], c.digest()


def loop_create(c: Cluster, objs: list[Obj]) -> list[Any]:
    out: list[Any] = []
    for obj in objs:
        try:
            out.append(result(c.create(obj)))
        except ServiceCIDRError as e:
            out.append(result(e))
    return out


def loop_delete(c: Cluster, ks: list[tuple[str, str, str | None]]) -> list[Any]:
    out: list[Any] = []
    for kind, name, ns in ks:
        try:
            out.append(result(c.delete(kind, name, ns)))
        except ServiceCIDRError as e:
            out.append(result(e))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(objects, max_size=25), min_size=1, max_size=3), st.lists(keys, max_size=15)
)
def test_batches_equal_the_loop_of_single_calls(
    batches: list[list[Obj]], ks: list[tuple[str, str, str | None]]
) -> None:
    one, many = cluster(), cluster()
    for batch in batches:
        expected = loop_create(one, batch)
        got = [result(r) for r in many.create_many(batch)]
        assert got == expected
        one.clock.advance(1.5)  # type: ignore[attr-defined]
        many.clock.advance(1.5)  # type: ignore[attr-defined]
    assert loop_delete(one, ks) == [result(r) for r in many.delete_many(ks)]
    assert state(many) == state(one)


def test_the_fast_path_runs_inside_a_batch_and_errors_do_not_stop_it() -> None:
    c = cluster()
    objs = [service(f"s{i}", "default", {}) for i in range(6)]
    objs.insert(3, service("s1", "default", {}))  # taken
    objs.insert(5, service("x", "ghost", {}))  # no such namespace
    got = c.create_many(objs)
    assert [type(r).__name__ for r in got] == ["dict"] * 3 + [
        "AlreadyExistsError",
        "dict",
        "NotFoundError",
        "dict",
        "dict",
    ]
    assert isinstance(got[3], AlreadyExistsError)
    assert isinstance(got[5], NotFoundError)
    assert c.engine.fast_created >= 3
    assert isinstance(c.delete_many([("Service", "s0")])[0], dict)
    assert isinstance(c.delete_many([("Service", "s0", "default")])[0], NotFoundError)


def test_an_empty_batch_does_nothing() -> None:
    c = cluster()
    before = state(c)
    assert c.create_many([]) == []
    assert c.delete_many([]) == []
    assert c.create_many(iter(())) == []
    assert state(c) == before


def test_an_audit_log_sees_every_request_of_a_batch(tmp_path: Path) -> None:
    logs = []
    for batched in (False, True):
        log = tmp_path / f"audit-{batched}.log"
        c = Cluster("10.96.0.0/28", seed=3, clock=SimulatedClock(), audit_log=log)
        objs = [service(n, "default", {}) for n in ("a", "b", "a", "Bad_Name", "c")]
        ks: list[tuple[str, str, str | None]] = [("Service", "a", None), ("Service", "x", None)]
        if batched:
            c.create_many(objs)
            c.delete_many(ks)
        else:
            loop_create(c, objs)
            loop_delete(c, ks)
        c.close()
        logs.append(log.read_bytes())
    assert logs[0] == logs[1]
    assert logs[0].count(b'"verb":"create"') >= 5
