"""The Rust audit reader (``_core.AuditLineReader``, :mod:`servicecidr.importers.auditreader_rust`)
decides exactly as the Python reader, or hands the line over: the same records and skips
for every audit file in ../shared/data and for randomly damaged events, the same objects
(byte for byte) for what it prepares itself, the same import outcome."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SHARED
from servicecidr import Cluster, SimulatedClock
from servicecidr._core import AuditLineReader
from servicecidr.api import decode
from servicecidr.importers import import_observed, pipeline
from servicecidr.importers.auditreader import event_record
from servicecidr.importers.auditreader_rust import READER_SCHEMA, audit_file_records
from servicecidr.importers.inputs import Record, Skip
from servicecidr.importers.observed import ObservedImporter
from servicecidr.importers.pipeline import ReadStats, read_records
from servicecidr.importers.recorded import cluster_ips_of as _cluster_ips
from servicecidr.importers.recorded import parent_of as _parent
from servicecidr.importers.recorded import revision_of as _rv_int
from servicecidr.importers.report import ImportReport
from servicecidr.importers.sources import Input, Position
from servicecidr.store import decode_object, encode_object, object_key

AUDIT = SHARED / "data" / "audit"
FILES = (
    sorted(p for p in AUDIT.rglob("*") if p.is_file() and p.suffix != ".md")
    if AUDIT.is_dir()
    else []
)


def _read(paths: list[Path], *, rust: bool, fast: bool) -> list[Any]:
    saved = pipeline.USE_RUST_READER
    pipeline.USE_RUST_READER = rust
    out: list[Any] = []
    try:
        for rec in read_records("audit", paths, on_skip=out.append, fast=fast):
            out.append(rec)
    finally:
        pipeline.USE_RUST_READER = saved
    return out


def _plain(items: list[Any]) -> list[Any]:
    """Records without the reader's private payload, for comparison."""
    out = []
    for x in items:
        if isinstance(x, Record):
            x = copy.copy(x)
            x.fast = x.text = None
        out.append(x)
    return out


@pytest.mark.skipif(not FILES, reason=f"no shared data at {AUDIT}")
def test_same_records_and_skips_for_every_shared_audit_file() -> None:
    assert _read(FILES, rust=True, fast=False) == _read(FILES, rust=False, fast=False)


@pytest.mark.skipif(not FILES, reason=f"no shared data at {AUDIT}")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_import_outcome(path: Path) -> None:
    outcomes = []
    for rust in (True, False):
        saved = pipeline.USE_RUST_READER
        pipeline.USE_RUST_READER = rust
        try:
            c = Cluster("10.96.0.0/12", seed=1, clock=SimulatedClock())
            r = import_observed(c, "audit", [path])
        finally:
            pipeline.USE_RUST_READER = saved
        d = r.to_dict()
        d.pop("elapsedSeconds", None)
        d.pop("eventsPerSecond", None)
        outcomes.append((json.dumps(d, sort_keys=True, default=str), c.digest()))
    assert outcomes[0] == outcomes[1]


def _normalized(rec: Record) -> tuple[bytes, Any, Any]:
    """What the Python importer stores for a put, and the facts its checks read."""
    c = Cluster("10.96.0.0/12", seed=1, clock=SimulatedClock(), _start=False)
    imp = ObservedImporter(c, ImportReport())
    obj = copy.deepcopy(rec.response)
    ns = (rec.namespace or "default") if rec.kind == "Service" else None
    obj, _ = imp._normalize(obj, rec, ns, rec.name, None)
    imp.restore_clock()
    facts = tuple(_cluster_ips(obj)) if rec.kind == "Service" else _parent(obj)
    return encode_object(obj), facts, object_key(rec.kind == "Service", ns, rec.name)


def _check_fast(rec: Record) -> None:
    assert rec.text is not None and rec.fast is not None
    want = event_record(json.loads(rec.text), rec.source, rec.line)
    assert isinstance(want, Record)
    bare = copy.copy(want)
    bare.request = bare.response = None  # the payload stands for them (checked below)
    assert _plain([rec]) == [bare]
    if rec.fast[0] == 1:  # a delete: the revision _delete would take from the body
        body = want.response if isinstance(want.response, dict) else None
        if body is not None and body.get("kind") == "Status":
            body = None
        meta = body.get("metadata") if body is not None else None
        assert rec.fast[1] == (_rv_int(meta) if isinstance(meta, dict) else None)
    if rec.fast[0] == 0:
        _, rv, blob, ips, parent, managed = rec.fast
        want_blob, facts, _ = _normalized(want)
        assert blob == want_blob  # byte for byte, key order included
        assert decode_object(blob)["metadata"]["resourceVersion"] == str(rv)
        assert (ips if rec.kind == "Service" else parent) == facts
        labels = want.response["metadata"].get("labels") or {}
        assert managed == (
            isinstance(labels, dict)
            and labels.get("ipaddress.kubernetes.io/managed-by") == "ipallocator.k8s.io"
        )


@pytest.mark.skipif(not FILES, reason=f"no shared data at {AUDIT}")
def test_fast_records_equal_the_python_records() -> None:
    n = 0
    for item in _read(FILES, rust=True, fast=True):
        if isinstance(item, Record) and item.fast is not None:
            _check_fast(item)
            n += 1
    assert n > 0


def test_fast_records_of_an_engine_audit_log(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    c = Cluster("10.96.0.0/24", seed=2, clock=SimulatedClock(), audit_log=log)
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
    for i in range(20):
        c.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"s{i}", "namespace": "ns" if i % 2 else "default"},
                "spec": {"ports": [{"port": 80}], "ipFamilyPolicy": "SingleStack"},
            }
        )
        if i % 3 == 0:
            c.delete("Service", f"s{i}", "ns" if i % 2 else "default")
    c.close()
    items = _read([log], rust=True, fast=True)
    fast = [x for x in items if isinstance(x, Record) and x.fast is not None]
    assert len(fast) >= 40
    for rec in fast:
        _check_fast(rec)
    assert _plain(_read([log], rust=True, fast=False)) == _read([log], rust=False, fast=False)


# ---------------------------------------------------------------- damaged events

BASE: dict[str, Any] = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "RequestResponse",
    "auditID": "a-1",
    "stage": "ResponseComplete",
    "requestURI": "/api/v1/namespaces/default/services",
    "verb": "create",
    "user": {"username": "alice"},
    "impersonatedUser": {"username": "bob"},
    "objectRef": {
        "resource": "services",
        "namespace": "default",
        "name": "web",
        "apiVersion": "v1",
    },
    "responseStatus": {"metadata": {}, "code": 201, "reason": "Created"},
    "responseObject": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u-1",
            "resourceVersion": "17",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"app": "web"},
        },
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "type": "ClusterIP"},
    },
    "requestReceivedTimestamp": "2025-01-01T00:00:00.000001Z",
    "stageTimestamp": "2025-01-01T00:00:00.500000+01:00",
    "annotations": {"servicecidr.io/actor": "user"},
}

PATHS = [
    ("kind",),
    ("verb",),
    ("stage",),
    ("auditID",),
    ("level",),
    ("requestURI",),
    ("user",),
    ("user", "username"),
    ("impersonatedUser", "username"),
    ("objectRef",),
    ("objectRef", "resource"),
    ("objectRef", "apiGroup"),
    ("objectRef", "namespace"),
    ("objectRef", "name"),
    ("objectRef", "subresource"),
    ("objectRef", "apiVersion"),
    ("responseStatus",),
    ("responseStatus", "code"),
    ("responseStatus", "reason"),
    ("responseObject",),
    ("responseObject", "kind"),
    ("responseObject", "metadata"),
    ("responseObject", "metadata", "uid"),
    ("responseObject", "metadata", "resourceVersion"),
    ("responseObject", "metadata", "creationTimestamp"),
    ("responseObject", "metadata", "namespace"),
    ("responseObject", "metadata", "deletionTimestamp"),
    ("responseObject", "metadata", "finalizers"),
    ("responseObject", "spec"),
    ("responseObject", "spec", "clusterIP"),
    ("responseObject", "spec", "clusterIPs"),
    ("responseObject", "spec", "type"),
    ("responseObject", "spec", "parentRef"),
    ("responseObject", "spec", "parentRef", "name"),
    ("responseObject", "spec", "ports"),
    ("responseObject", "spec", "selector"),
    ("responseObject", "metadata", "labels"),
    ("responseObject", "metadata", "name"),
    ("responseObject", "metadata", "generation"),
    ("responseObject", "status"),
    ("responseObject", "extra"),
    ("stageTimestamp",),
    ("requestReceivedTimestamp",),
    ("annotations",),
    ("annotations", "servicecidr.io/actor"),
    ("annotations", "audit.k8s.io/truncated"),
    ("annotations", "servicecidr.io/raw-storage-write"),
]
MISSING = object()
NESTED: Any = [0]
for _ in range(250):
    NESTED = [NESTED]
NEAR_LIMIT: Any = [0]
for _ in range(96):
    NEAR_LIMIT = [NEAR_LIMIT]
VALUES = [
    MISSING,
    None,
    0,
    5,
    200,
    404,
    -3,
    1.5,
    True,
    "",
    "x",
    "None",
    "true",
    "Status",
    "Event",
    "get",
    "delete",
    "patch",
    "deletecollection",
    "status",
    "ipaddresses",
    "networking.k8s.io",
    "services",
    "RequestReceived",
    "Panic",
    "007",
    "2025-02-30T00:00:00Z",
    "2025-01-01T00:00:00.1234567Z",
    "10.096.0.1",
    "fd00::0:1",
    "/apis/networking.k8s.io/v1/ipaddresses?dryRun=All",
    [],
    ["10.96.0.11", "fd00::1"],
    {},
    {"resource": "services", "name": "web", "namespace": "x"},
    # found by review: Python keeps these where a narrower reading would not
    -5,
    "\u0661\u0662",  # digits beyond ASCII (str.isdigit)
    "99999999999999999999",
    "al\ud800",  # a lone high surrogate (simd-json would read NUL)
    "s\x1f",  # Python's strip() takes U+001C..U+001F too
    "\x1c",
    NESTED,  # deeper than the worker reads itself
    # shapes that once poisoned an imported state or aborted the import
    "1" * 40,  # a resourceVersion beyond int64
    10**39,
    2**63,
    "9223372036854775807",
    "9999-12-31T23:59:59-23:59",  # a year 10000 once in UTC
    "10000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    {"a": 1},  # a map of the wrong value type
    {"a": "b"},
    [{"port": 80, "targetPort": "http"}],
    [{"port": "80"}],
    [{"port": 80, "nodePort": 4294967296}],
    {"group": "", "resource": "services", "namespace": "default", "name": 5},
    NEAR_LIMIT,  # about as deep as a stored object may be
]


def _mutate(ev: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    d: Any = ev
    for k in path[:-1]:
        if not isinstance(d, dict) or not isinstance(d.get(k), dict):
            return
        d = d[k]
    if not isinstance(d, dict):
        return
    if value is MISSING:
        d.pop(path[-1], None)
    else:
        d[path[-1]] = copy.deepcopy(value)


def _event(verb: str, kind: str, changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    ev = copy.deepcopy(BASE)
    ev["verb"] = verb
    if kind == "IPAddress":
        ev["requestURI"] = "/apis/networking.k8s.io/v1/ipaddresses"
        ev["objectRef"] = {
            "resource": "ipaddresses",
            "name": "10.96.0.10",
            "apiGroup": "networking.k8s.io",
        }
        ev["responseObject"] = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {
                "name": "10.96.0.10",
                "uid": "u-2",
                "resourceVersion": "18",
                "creationTimestamp": "2025-01-01T00:00:00Z",
                "labels": {"ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"},
            },
            "spec": {
                "parentRef": {
                    "group": "",
                    "resource": "services",
                    "namespace": "default",
                    "name": "web",
                }
            },
        }
    for path, value in changes:
        _mutate(ev, path, value)
    return ev


EVENT = st.builds(
    _event,
    st.sampled_from(["create", "update", "patch", "delete"]),
    st.sampled_from(["Service", "IPAddress"]),
    st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(VALUES)), max_size=4),
)


@given(st.lists(EVENT, min_size=1, max_size=4))
@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_damaged_events_are_decided_alike(tmp_path: Path, events: list[dict[str, Any]]) -> None:
    """Several to a file: the worker's parser, reused from line to line, keeps nothing
    of the line before."""
    path = tmp_path / "some.log"
    path.write_text("".join(json.dumps(ev) + "\n" for ev in events))
    reader = AuditLineReader(str(path), fast=True, schema=READER_SCHEMA)
    batch: list[Any] = []
    while (got := reader.next_batch()) is not None:
        batch.extend(got)
    reader.close()
    assert [item[1] for item in batch] == list(range(1, len(events) + 1))
    records = audit_file_records(
        Input(str(path), path, path.stat().st_size), Position(), ReadStats(), fast=True
    )
    fast = iter(x for x in records if isinstance(x, Record))
    for ev, item in zip(events, batch, strict=True):
        line = item[1]
        want = event_record(json.loads(json.dumps(ev)), "f", line)
        if len(item) == 4:  # a skip decided by the worker: Skip's arguments
            assert isinstance(want, Skip)
            assert (item[0], want.reason, want.detail) == (str(path), item[2], item[3])
        elif len(item) == 20:  # a fast record: Record's arguments
            assert isinstance(want, Record)
            got = next(r for r in fast if r.line == line)
            _check_fast(got)
        else:
            assert item[0] == 2  # slow: the Python reader decides


def test_a_delete_with_an_empty_body_imports_alike(tmp_path: Path) -> None:
    """`"responseObject": {}` on a delete once crashed the Python importer."""
    log = tmp_path / "audit.log"
    src = Cluster("10.96.0.0/24", seed=2, clock=SimulatedClock(), audit_log=log)
    src.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        }
    )
    src.close()
    ev = copy.deepcopy(BASE)
    ev.update(verb="delete", auditID="del-1", responseObject={}, responseStatus={"code": 200})
    ev["objectRef"] = {"resource": "services", "namespace": "default", "name": "web"}
    ev["stageTimestamp"] = "2030-01-01T00:00:00Z"
    with open(log, "a") as f:
        f.write(json.dumps(ev) + "\n")
    digests = []
    for rust in (True, False):
        saved = pipeline.USE_RUST_READER
        pipeline.USE_RUST_READER = rust
        try:
            c = Cluster("10.96.0.0/24", seed=2, clock=SimulatedClock())
            import_observed(c, "audit", [log])
        finally:
            pipeline.USE_RUST_READER = saved
        assert c.count("Service") == 1  # only default/kubernetes is left
        digests.append(c.digest())
    assert digests[0] == digests[1]


def _import_both(path: Path) -> list[tuple[str, str]]:
    """Import ``path`` with each reader: the report and digest, after checking that every
    stored object decodes and that the state is a replay of its events."""
    outcomes = []
    for rust in (True, False):
        saved = pipeline.USE_RUST_READER
        pipeline.USE_RUST_READER = rust
        try:
            c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
            r = import_observed(c, "audit", [path])
        finally:
            pipeline.USE_RUST_READER = saved
        for kind in ("Service", "IPAddress", "ServiceCIDR"):
            for obj in c.list(kind):
                decode.check(obj)
        replayed = Cluster.replay(c.events(), "10.96.0.0/24", 1)
        assert replayed.digest() == c.digest()
        d = r.to_dict()
        d.pop("elapsedSeconds", None)
        d.pop("eventsPerSecond", None)
        outcomes.append((json.dumps(d, sort_keys=True, default=str), c.digest()))
        c.reconcile()  # the controllers read every stored object
    return outcomes


@given(st.lists(EVENT, min_size=1, max_size=4))
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_damaged_events_import_alike(tmp_path: Path, events: list[dict[str, Any]]) -> None:
    """Whatever a line holds, both readers import it to the same state and report, and
    nothing stored fails to decode."""
    path = tmp_path / "some.log"
    path.write_text("".join(json.dumps(ev) + "\n" for ev in events))
    outcomes = _import_both(path)
    assert outcomes[0] == outcomes[1]


# Recorded objects that decode, but not to themselves, or that reading back defaults: the
# Rust reader must leave them to the Python one, which stores the decoded form. (The
# first two were found by `./dev fuzz`: the Rust reader stored them as recorded.)
DEFAULTED_SPEC = {
    "clusterIP": "10.96.0.10",
    "clusterIPs": ["10.96.0.10"],
    "type": "ClusterIP",
    "ipFamilies": ["IPv4"],
    "ipFamilyPolicy": "SingleStack",
    "sessionAffinity": "None",
    "internalTrafficPolicy": "Cluster",
    "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
}
CHANGED_BY_READING = [
    ("Service", ("responseObject", "metadata", "uid"), "u-1"),  # unchanged: the fast path
    ("IPAddress", ("responseObject", "spec"), None),
    ("IPAddress", ("responseObject", "metadata", "deletionTimestamp"), None),
    ("IPAddress", ("responseObject", "metadata", "labels"), {}),
    ("IPAddress", ("responseObject", "metadata", "finalizers"), []),
    (
        "IPAddress",
        ("responseObject", "metadata", "creationTimestamp"),
        "2025-01-01T01:00:00.5+01:00",
    ),
    ("IPAddress", ("responseObject", "spec", "unknownField"), 1),
    ("Service", ("responseObject", "spec", "type"), MISSING),
    ("Service", ("responseObject", "spec", "sessionAffinity"), MISSING),
    ("Service", ("responseObject", "spec", "ports"), [{"port": 80}]),
    ("Service", ("responseObject", "spec", "internalTrafficPolicy"), MISSING),
    ("Service", ("responseObject", "spec", "selector"), {}),
    ("Service", ("responseObject", "spec", "ipFamilies"), MISSING),
    ("Service", ("responseObject", "metadata", "labels"), {"a": None}),
]


@pytest.mark.parametrize(("kind", "path", "value"), CHANGED_BY_READING)
def test_objects_reading_changes_import_alike(
    tmp_path: Path, kind: str, path: tuple[str, ...], value: Any
) -> None:
    log = tmp_path / "some.log"
    # a Service as kube-apiserver 1.20+ returns it (the Rust reader prepares such), bent
    full = [(("responseObject", "spec"), DEFAULTED_SPEC)] if kind == "Service" else []
    log.write_text(json.dumps(_event("create", kind, [*full, (path, value)])) + "\n")
    rust, python = _import_both(log)
    assert rust == python


POISON = [
    ("IPAddress", ("responseObject", "spec", "parentRef"), "x", "IPAddressSpec.spec.parentRef"),
    ("IPAddress", ("responseObject", "spec"), 1.5, "IPAddress.spec of type"),
    ("Service", ("responseObject", "spec"), 1.5, "Service.spec of type"),
    ("Service", ("responseObject", "metadata", "resourceVersion"), "1" * 40, "etcd revision"),
    ("Service", ("responseObject", "metadata", "resourceVersion"), 10**39, "etcd revision"),
    ("Service", ("responseObject", "spec", "ports"), [{"port": "80"}], "ServicePort.spec.ports"),
    (
        "Service",
        ("responseObject", "metadata", "creationTimestamp"),
        "9999-12-31T23:59:59-23:59",
        "year out of range",
    ),
]


@pytest.mark.parametrize(("kind", "path", "value", "why"), POISON, ids=range(len(POISON)))
def test_a_malformed_object_is_reported_never_stored(
    tmp_path: Path, kind: str, path: tuple[str, ...], value: Any, why: str
) -> None:
    """An IPAddress whose parentRef is a string once imported with exit 0, and then get,
    check, delete and reconcile all raised AttributeError; other shapes aborted the import."""
    log = tmp_path / "audit.log"
    # a Service as kube-apiserver 1.20+ returns it (the Rust reader prepares such), bent
    full = [(("responseObject", "spec"), DEFAULTED_SPEC)] if kind == "Service" else []
    log.write_text(json.dumps(_event("create", kind, [*full, (path, value)])) + "\n")
    for rust in (True, False):
        saved = pipeline.USE_RUST_READER
        pipeline.USE_RUST_READER = rust
        try:
            c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
            before = c.digest()
            r = import_observed(c, "audit", [log])
        finally:
            pipeline.USE_RUST_READER = saved
        got = r.to_dict()["skipped"]["invalid-object"]
        assert got["count"] == 1
        [example] = got["examples"]
        assert (example["file"], example["line"]) == (str(log), 1)
        assert why in example["detail"]
        assert c.digest() == before
        c.reconcile()
        assert [o["metadata"]["name"] for o in c.list("IPAddress")] == ["10.96.0.1"]


def test_a_record_time_no_clock_can_show_is_not_its_time(tmp_path: Path) -> None:
    """A stageTimestamp past year 9999 in UTC once aborted the import (and a state that
    took it failed every later command)."""
    log = tmp_path / "audit.log"
    ev = _event("create", "Service", [(("stageTimestamp",), "9999-12-31T23:59:59-23:59")])
    log.write_text(json.dumps(ev) + "\n")
    outcomes = _import_both(log)
    assert outcomes[0] == outcomes[1]
    # requestReceivedTimestamp stands in for it
    assert json.loads(outcomes[0][0])["timeRange"][0] == "2025-01-01T00:00:00.000001Z"
