"""The engine (servicecidr.apiserver.Engine): one commit (record, then apply), one apply
(the store, then the Python indexes), write refusal, sinks, raw puts and kind resolution.

A failing recorder is a real FileRecorder whose OS write fails (a full disk), injected at
the lowest seam.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path
from typing import Any

import pytest

from servicecidr.apiserver import Engine, resolve_kind
from servicecidr.clock import SimulatedClock
from servicecidr.errors import (
    BadRequestError,
    NotFoundError,
    ReadOnlyError,
    StateError,
)
from servicecidr.journal.recorder import MemoryRecorder, Recorder
from servicecidr.journal.records import Entry
from servicecidr.journal.state import FileRecorder, Loaded, StateDir
from servicecidr.store import decode_object

Obj = dict[str, Any]
RANGE = ("10.96.0.0/28",)


def new_engine(recorder: Recorder | None = None, *, seed: int = 1) -> Engine:
    e = Engine(RANGE, ("IPv4",), seed, SimulatedClock(), recorder or MemoryRecorder())
    e.lifecycle = None  # no system-namespaces controller runs here: NamespaceLifecycle off
    e.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "kubernetes"},
            "spec": {"cidrs": list(RANGE)},
        },
        actor="test",
    )
    return e


def svc(name: str = "web", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def state(e: Engine) -> tuple[Any, ...]:
    """Everything a client, the allocators and the node-port index hold."""
    return (
        e.seq,
        e.store.revision,
        {k: e.store.items(k) for k in e.store.kinds()},
        e.store.changes_since(e.store.oldest_revision),
        {p: list(a) for p, a in e.meta.allocators()},
        dict(e.nodeports._owner),
        e.nodeports.holders(),
    )


# ------------------------------------------------------------------------------ commit


def test_commit_records_then_applies_one_entry_per_request() -> None:
    e = new_engine()
    e.clock.advance(7.5)  # type: ignore[attr-defined]
    before = e.seq
    obj, _ = e.create(svc(type="NodePort"), actor="someone")
    [entry] = list(e.recorder.read(before))
    assert (entry.seq, entry.ts, entry.verb, entry.actor) == (
        before + 1,
        e.clock.now(),
        "create",
        "someone",
    )
    assert (entry.kind, entry.namespace, entry.name) == ("Service", "default", "web")
    assert [(w.kind, w.key) for w in entry.writes] == [
        ("IPAddress", obj["spec"]["clusterIP"]),
        ("Service", "default/web"),
    ]
    # the entry carries the stored bytes; the store holds exactly them
    assert e.store.get("Service", "default/web") == entry.writes[-1].blob
    assert decode_object(entry.writes[-1].blob or b"") == obj
    assert e.store.revision == entry.writes[-1].rv


@pytest.fixture
def file_recorder(tmp_path: Path) -> Any:
    state_dir = StateDir.open(tmp_path / "state", read_only=False, new_meta={})
    rec = state_dir.open_recorder(
        Loaded(0, float("-inf"), None, None, 0),
        durability="fsync",
        group_ms=20.0,
        group_records=512,
        segment_bytes=64 << 20,
        refusal="closed",
    )
    yield rec
    state_dir.close(None)


def _disk_full(fd: int) -> Any:
    real = os.write

    def write(target: int, data: Any) -> int:
        if target == fd:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(target, data)

    return write


@pytest.mark.parametrize(
    "request_",
    [
        lambda e: e.create(svc("new", type="LoadBalancer", externalTrafficPolicy="Local")),
        lambda e: e.create(svc("new", clusterIP="10.96.0.9")),
        lambda e: e.delete("Service", "web", "default"),
        lambda e: e.update(
            {
                **e.get("Service", "web", "default"),
                "spec": {
                    **e.get("Service", "web", "default")["spec"],
                    "type": "ExternalName",
                    "externalName": "db.example.com",
                },
            }
        ),
        lambda e: e.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
        lambda e: e.put_raw({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "y"}}),
    ],
    ids=["create-allocating", "create-specific", "delete", "update-releasing", "simple", "raw"],
)
def test_a_recorder_that_fails_leaves_everything_as_before(
    file_recorder: FileRecorder, monkeypatch: pytest.MonkeyPatch, request_: Any
) -> None:
    e = new_engine(file_recorder)
    e.create(svc("web", type="NodePort"))
    before = state(e)
    assert file_recorder.writer is not None
    monkeypatch.setattr(os, "write", _disk_full(file_recorder.writer._fd))
    with pytest.raises(StateError, match="No space left on device"):
        request_(e)
    monkeypatch.undo()
    assert state(e) == before
    # the disk has room again: the same request goes through
    request_(e)
    assert e.seq == before[0] + 1


def test_the_engine_numbers_its_entries_after_its_recorders_last() -> None:
    recorder = MemoryRecorder()
    e = new_engine(recorder)
    recorder.append(Entry(recorder.last_seq + 1, 0.0, "store", "elsewhere", "Namespace", None, "n"))
    e.create(svc())
    assert e.seq == 3
    assert [x.seq for x in recorder.read()] == [1, 2, 3]


def test_a_failing_sink_does_not_undo_a_committed_change() -> None:
    e = new_engine()

    def full_disk(entry: Entry) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    e.add_sink(full_disk)
    with pytest.raises(Exception):  # noqa: B017 - whatever it raises, the change stands
        e.create(svc())
    e.remove_sink(full_disk)
    ip = e.get("Service", "web", "default")["spec"]["clusterIP"]
    assert e.store.contains("IPAddress", ip)
    assert ip in (e.meta.allocator_for(RANGE[0]) or ())


def test_refuse_writes_refuses_every_verb_and_gives_back_reservations() -> None:
    e = new_engine()
    e.create(svc("web"))
    before = state(e)
    e.refuse_writes("this state is read-only for the test")
    assert not e.writable
    for request in (
        lambda: e.create(svc("new", type="NodePort")),
        lambda: e.delete("Service", "web", "default"),
        lambda: e.put_raw({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
        lambda: e.update_status(e.get("Service", "web", "default")),
    ):
        with pytest.raises(ReadOnlyError, match="read-only for the test"):
            request()
        assert state(e) == before
    # reads and dry runs still answer
    assert e.get("Service", "web", "default")["metadata"]["name"] == "web"
    e.create(svc("dry"), dry_run=True)
    e.refuse_writes(None)
    assert e.writable
    e.create(svc("new"))


# ------------------------------------------------------------------------------ sinks


def test_sinks_see_each_entry_after_it_is_applied() -> None:
    e = new_engine()
    seen: list[tuple[str, ...]] = []

    def first(entry: Entry) -> None:
        # applied already: the store holds what the entry wrote
        assert all(e.store.contains(w.kind, w.key) == (w.op == 0) for w in entry.writes)
        seen.append(("first", entry.verb, entry.kind, entry.name))

    def second(entry: Entry) -> None:
        seen.append(("second", entry.verb, entry.kind, entry.name))

    e.add_sink(first)
    e.add_sink(second)
    assert e.sinks == (first, second)
    e.create(svc())
    e.create(svc("dry"), dry_run=True)  # no entry, no call
    with pytest.raises(BadRequestError):
        e.create({"kind": "Service"})
    e.remove_sink(first)
    e.delete("Service", "web", "default")
    assert seen == [
        ("first", "create", "Service", "web"),
        ("second", "create", "Service", "web"),
        ("second", "delete", "Service", "web"),
    ]


# ------------------------------------------------------------------------------ apply


def test_the_one_apply_reaches_the_same_state_as_the_live_path() -> None:
    """Replaying the journal through Engine.apply rebuilds the store, the allocators and
    the node ports the live requests built."""
    live = new_engine()
    live.create(svc("a", type="NodePort"))
    live.create(svc("b", clusterIP="10.96.0.3"))
    live.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "more"},
            "spec": {"cidrs": ["10.97.0.0/28"]},
        }
    )
    live.create(svc("c", clusterIP="10.97.0.4", type="LoadBalancer"))
    live.delete("Service", "a", "default")
    replayed = Engine(RANGE, ("IPv4",), 99, SimulatedClock(), MemoryRecorder())
    for entry in live.recorder.read():
        replayed.apply(entry.writes)
    assert state(replayed)[1:] == state(live)[1:]


def test_apply_keeps_the_python_indexes_in_step() -> None:
    e = Engine(RANGE, ("IPv4",), 1, SimulatedClock(), MemoryRecorder())
    sc = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": "kubernetes"},
        "spec": {"cidrs": list(RANGE)},
    }
    e.put_raw(sc)
    assert e.meta.is_ready(RANGE[0])
    e.put_raw(svc("np", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert e.nodeports.holders() == {"default/np": (30080,)}
    e.delete("Service", "np", "default")
    assert e.nodeports.holders() == {}
    e.delete("ServiceCIDR", "kubernetes")
    assert e.meta.allocators() == []


# ------------------------------------------------------------------------------ put_raw


def test_put_raw_stores_what_validation_would_refuse_with_system_metadata() -> None:
    e = new_engine()
    obj = e.put_raw(svc("web", clusterIP="10.200.0.1", ports=[{"port": 0}]), actor="etcd")
    meta = obj["metadata"]
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36 and meta["creationTimestamp"] == "2025-01-01T00:00:00Z"
    assert e.get("Service", "web", "default") == {
        **obj,
        "metadata": {**meta, "resourceVersion": str(e.store.revision)},
    }
    [entry] = list(e.recorder.read(e.seq - 1))
    assert (entry.verb, entry.actor) == ("store", "etcd")
    # nothing was allocated for it
    assert list(e.meta.allocator_for(RANGE[0]) or ()) == []


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}, "metadata.name is required"),
        ({"apiVersion": "v1", "kind": "Namespace"}, "metadata.name is required"),
        ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": 5}}, "metadata.name"),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": "x"},
            'Namespace in version "v1" cannot be handled as a Namespace: json: cannot unmarshal '
            "string into Go struct field Namespace.metadata of type v1.ObjectMeta",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": {1, 2}},
            "x: a value of type set is not a JSON value",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": 2**70},
            r"x: the integer 1180591620717411303424 is out of range \(Kubernetes carries int64\)",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": b"b"},
            "x: a value of type bytes .* is not a JSON value",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": math.nan},
            "x: nan is not a JSON number",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": math.inf},
            "x: inf is not a JSON number",
        ),
        (
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IPAddress",
                "metadata": {"name": "10.0.0.1", "creationTimestamp": "yesterday"},
            },
            'parsing time "yesterday"',
        ),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}, 'no kind "Pod"'),
    ],
    ids=[
        "no-name",
        "no-metadata",
        "name-not-a-string",
        "metadata-not-a-map",
        "a-set",
        "int-too-large",
        "bytes",
        "nan",
        "inf",
        "unreadable-timestamp",
        "unknown-kind",
    ],
)
def test_put_raw_refuses_what_cannot_be_stored(obj: Obj, match: str) -> None:
    e = new_engine()
    before = state(e)
    with pytest.raises(BadRequestError, match=match):
        e.put_raw(obj)
    assert state(e) == before


def test_put_raw_never_stores_a_namespaced_object_where_no_read_finds_it() -> None:
    e = new_engine()
    try:
        e.put_raw(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": ""}}
        )
    except BadRequestError:
        return
    assert e.store.keys("Service") == ["default/a"]
    assert e.get("Service", "a")["metadata"]["namespace"] == "default"


# ------------------------------------------------------------------------------ kinds


@pytest.mark.parametrize(
    ("obj", "error", "match"),
    [
        (
            [],
            BadRequestError,
            "an object must be a mapping with apiVersion, kind and metadata, not list",
        ),
        ({"apiVersion": "v1"}, BadRequestError, "Object 'Kind' is missing in the object"),
        ({"apiVersion": "v1", "kind": ""}, BadRequestError, "Object 'Kind' is missing"),
        (
            {"apiVersion": "v1", "kind": "Pod"},
            BadRequestError,
            'no kind "Pod" is registered; known kinds: Service',
        ),
        (
            {"apiVersion": "networking.k8s.io/v2", "kind": "ServiceCIDR"},
            BadRequestError,
            'no kind "ServiceCIDR" is registered for version "networking.k8s.io/v2"; served: '
            "networking.k8s.io/v1, networking.k8s.io/v1beta1",
        ),
        ({"kind": "Service"}, BadRequestError, 'registered for version "None"'),
    ],
    ids=["not-a-map", "no-kind", "empty-kind", "unknown-kind", "unknown-version", "no-version"],
)
def test_a_request_body_names_a_served_kind_and_version(
    obj: Any, error: type[Exception], match: str
) -> None:
    e = new_engine()
    before = state(e)
    for verb in (e.create, e.update, e.update_status):
        with pytest.raises(error, match=match):
            verb(obj)
    assert state(e) == before


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Service", "Service"),
        ("services", "Service"),
        ("svc", "Service"),
        ("service", "Service"),
        ("servicecidrs", "ServiceCIDR"),
        ("ip", "IPAddress"),
        ("ev", "Event"),
        ("ns", "Namespace"),
    ],
)
def test_kinds_resolve_from_their_names_plurals_and_short_names(name: str, kind: str) -> None:
    assert resolve_kind(name) == kind


@pytest.mark.parametrize("name", ["", "pods", "Pod"])
def test_an_unknown_kind_name_is_a_bad_request(name: str) -> None:
    e = new_engine()
    with pytest.raises(BadRequestError):
        e.delete(name, "x")
    with pytest.raises(BadRequestError):
        e.list(name)


def test_reads_by_key_and_by_namespace() -> None:
    e = new_engine()
    for ns in ("default", "prod", "prod-eu"):
        body = svc("web")
        body["metadata"]["namespace"] = ns
        e.create(body)
    assert e.get("svc", "web")["metadata"]["namespace"] == "default"
    assert [s["metadata"]["namespace"] for s in e.list("services", "prod")] == ["prod"]
    assert [s["metadata"]["namespace"] for s in e.list("Service")] == [
        "default",
        "prod-eu",
        "prod",
    ]  # key order, as etcd lists
    assert e.get("ServiceCIDR", "kubernetes", "ignored-for-cluster-scoped")["spec"][
        "cidrs"
    ] == list(RANGE)
    with pytest.raises(NotFoundError, match='services "web" not found'):
        e.get("Service", "web", "other")
    with pytest.raises(BadRequestError, match="a name is required"):
        e.get("Service", "")
    with pytest.raises(BadRequestError, match=r"metadata.name is required for this request"):
        e.update(svc(""))


def test_decisions_come_from_the_seeded_stream() -> None:
    a, b = new_engine(seed=5), new_engine(seed=5)
    assert [a.new_uid() for _ in range(3)] == [b.new_uid() for _ in range(3)]
    assert a.generate_name("web-") == b.generate_name("web-")
    assert new_engine(seed=6).new_uid() != new_engine(seed=5).new_uid()
    uid = a.new_uid()
    assert uid[14] == "4" and uid[19] in "89ab"  # a version-4 UUID
    assert len(a.generate_name("x" * 80)) == 63


@pytest.mark.parametrize(
    ("api_version", "json_kind"),
    [(5, "number"), (["v1"], "array"), ({"a": 1}, "object")],
)
def test_an_apiversion_that_is_not_a_string_is_refused_as_kube_apiserver_does(
    api_version: Any, json_kind: str
) -> None:
    e = new_engine()
    with pytest.raises(BadRequestError) as got:
        e.create({**svc(), "apiVersion": api_version}, actor="test")
    assert got.value.message == (
        "couldn't get version/kind; json parse error: json: cannot unmarshal "
        f"{json_kind} into Go struct field .apiVersion of type string"
    )


def test_an_apiversion_nested_deeper_than_repr_goes_is_refused() -> None:
    """Found by ./dev fuzz: the refusal formatted the value and raised RecursionError."""
    deep: Any = "v1"
    for _ in range(5000):
        deep = [deep]
    e = new_engine()
    before = state(e)
    with pytest.raises(BadRequestError, match="cannot unmarshal array"):
        e.create({**svc(), "apiVersion": deep}, actor="test")
    assert state(e) == before
