"""The store holds the allocator's IPAddress objects compactly and gives every object back
as the bytes that were written: through get, items, the change feed, the journal, a
snapshot and a reopened state directory.

Two sides: every IPAddress the engine itself writes (single and dual stack, a user's own
IPAddress, a Service deleted) is compact and reads back byte for byte; and for arbitrary
IPAddress objects — the allocator's shape with any values, and that shape bent in every
way hypothesis finds — whatever the store takes reads back exactly.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicecidr import Cluster, SimulatedClock
from servicecidr._core import load_snapshot_store
from servicecidr.errors import InvalidInputError
from servicecidr.journal.records import OP_DELETE, OP_PUT
from servicecidr.store import Store, encode_object, new_store


def _service(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def _reads(store: Store, key: str) -> bytes | None:
    got = store.get("IPAddress", key)
    assert dict(store.items("IPAddress", key, limit=None)).get(key) == got
    return got


def _engine_writes(c: Cluster) -> dict[str, bytes]:
    """The last bytes the engine logged for each IPAddress still stored."""
    last: dict[str, bytes] = {}
    for e in c.events():
        for w in e.writes:
            if w.kind == "IPAddress" and w.op == OP_PUT and w.blob is not None:
                last[w.key] = w.blob
            elif w.kind == "IPAddress" and w.op == OP_DELETE:
                last.pop(w.key, None)
    return last


def test_every_ipaddress_the_engine_writes_is_compact_and_reads_back() -> None:
    c = Cluster(("10.96.0.0/16", "fd00::/108"), seed=3, clock=SimulatedClock())
    for i in range(20):
        c.create(_service(f"v4-{i}"))
    for i in range(10):
        c.create(_service(f"ds-{i}", ipFamilyPolicy="RequireDualStack"))
    c.create(_service("v6", ipFamilies=["IPv6"]))
    c.create(_service("fixed", clusterIP="10.96.7.7"))
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    c.create({**_service("other-ns"), "metadata": {"name": "x", "namespace": "team-a"}})
    c.delete("Service", "v4-3")
    c.reconcile()
    store = c.engine.store
    written = _engine_writes(c)
    objects, compact, _ = store.held("IPAddress")
    assert objects == len(written) == store.count("IPAddress") > 40
    assert compact == objects  # the allocator's shape, every one of them
    for key, blob in written.items():
        assert _reads(store, key) == blob
    # the journal (StoreJournal: entries share the stored objects) and the feed
    logged = [w.blob for e in c.events() for w in e.writes if w.kind == "IPAddress"]
    fed = [b for _, _, kind, _, b in store.changes_since(0) if kind == "IPAddress"]
    assert fed == logged


def test_a_users_ipaddress_is_kept_as_written() -> None:
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    c.create(_service("web"))
    c.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {"name": "10.96.0.200", "labels": {"team": "a"}},
            "spec": {
                "parentRef": {
                    "group": "",
                    "resource": "services",
                    "namespace": "default",
                    "name": "web",
                }
            },
        }
    )
    store = c.engine.store
    objects, compact, _ = store.held("IPAddress")
    assert (objects, compact) == (3, 2)  # kubernetes, web; the user's own is not compact
    for key, blob in _engine_writes(c).items():
        assert _reads(store, key) == blob


def test_a_state_directory_reads_back_the_same_bytes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Cluster.open(
        state, service_cluster_ip_range="10.96.0.0/20", seed=2, clock=SimulatedClock()
    ) as c:
        for i in range(30):
            c.create(_service(f"s{i}"))
        c.delete("Service", "s7")
        want = dict(c.engine.store.items("IPAddress"))
        c.snapshot()
        c.create(_service("after"))
        want_after = dict(c.engine.store.items("IPAddress"))
    with Cluster.open(state, read_only=True) as c:  # the snapshot, then the log
        assert dict(c.engine.store.items("IPAddress")) == want_after
        assert c.engine.store.held("IPAddress")[1] == len(want_after)
    for snap in (state / "snapshots").iterdir():
        snap.unlink()
    with Cluster.open(state, read_only=True) as c:  # the log alone
        assert dict(c.engine.store.items("IPAddress")) == want_after
    assert set(want) < set(want_after)


# ------------------------------------------------------------ arbitrary IPAddress objects

_UID_HEX = st.text("0123456789abcdef", min_size=32, max_size=32)
_UIDS = st.one_of(
    _UID_HEX.map(lambda h: f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"),
    _UID_HEX.map(lambda h: f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".upper()),
    st.text(max_size=40),
)
_TIMES = st.one_of(
    st.text(string.digits, min_size=14, max_size=14).map(
        lambda d: f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:]}Z"
    ),
    st.just("2025-01-01T00:00:00.5Z"),
    st.text(max_size=24),
)
_RVS = st.one_of(
    st.integers(0, 2**64 - 1).map(str),
    st.integers(2**64, 2**70).map(str),
    st.sampled_from(["", "007", "-1", "1e3"]),
)
_TEXT = st.text(max_size=40) | st.text(min_size=30, max_size=300)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), _TEXT)


def _allocator_shape(
    ip: str, uid: str, ts: str, family: str, rv: str, ns: str, name: str
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip,
            "uid": uid,
            "creationTimestamp": ts,
            "labels": {
                "ipaddress.kubernetes.io/ip-family": family,
                "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
            },
            "resourceVersion": rv,
        },
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": ns, "name": name}},
    }


@st.composite
def _ipaddress(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    ip = draw(st.ip_addresses().map(str) | st.text(min_size=1, max_size=50))
    obj = _allocator_shape(
        ip,
        draw(_UIDS),
        draw(_TIMES),
        draw(st.sampled_from(["IPv4", "IPv6", "IPv5"])),
        draw(_RVS),
        draw(_TEXT),
        draw(_TEXT),
    )
    # Bend the shape: drop, add, retype or reorder a field somewhere.
    for _ in range(draw(st.integers(0, 2))):
        # (an earlier bend may have dropped or retyped one of the nested maps)
        holders = [obj]
        for path in (("metadata",), ("metadata", "labels"), ("spec",), ("spec", "parentRef")):
            at: Any = obj
            for part in path:
                at = at.get(part) if isinstance(at, dict) else None
            if isinstance(at, dict):
                holders.append(at)
        holder = draw(st.sampled_from(holders))
        if not holder:
            continue
        field = draw(st.sampled_from(sorted(holder)))
        how = draw(st.sampled_from(["drop", "add", "retype", "to-end"]))
        if how == "drop" and field not in ("kind", "apiVersion", "metadata", "name"):
            del holder[field]
        elif how == "add":
            holder[draw(st.text(max_size=12))] = draw(_SCALAR)
        elif how == "retype" and field not in ("kind", "metadata", "name", "spec"):
            holder[field] = draw(_SCALAR)
        elif how == "to-end":
            holder[field] = holder.pop(field)
    return ip, obj


def _check_reads_back(store: Store, key: str, blob: bytes) -> None:
    assert _reads(store, key) == blob
    assert store.changes_since(0)[-1][4] == blob
    parts = store.journal_read(0)[-1]
    assert parts[7][-1][4] == blob
    # a snapshot's store section, loaded through the one apply
    body = msgpack.packb({"store": [["IPAddress", [key], [blob]]]}, use_bin_type=True)
    other = new_store()
    load_snapshot_store(other, body)
    assert other.get("IPAddress", key) == blob


@given(_ipaddress(), st.booleans())
def test_any_ipaddress_the_store_takes_reads_back_exactly(
    case: tuple[str, dict[str, Any]], delete: bool
) -> None:
    key, obj = case
    blob = encode_object(obj)
    store = new_store(journal=True)
    writes = [(OP_PUT, "IPAddress", key, 1, blob)]
    try:
        store.commit(1, 1.0, "create", "user", "IPAddress", None, key, writes, None)
    except InvalidInputError:
        return  # not an object servicecidr can read back: refused, nothing stored
    _check_reads_back(store, key, blob)
    if delete:
        store.commit(2, 2.0, "delete", "user", "IPAddress", None, key,
                     [(OP_DELETE, "IPAddress", key, 2, blob)], None)  # fmt: skip
        assert store.get("IPAddress", key) is None
        change = store.changes_since(1)[-1]
        assert (change[1], change[4]) == ("DELETED", blob)
        assert store.journal_read(1)[0][7][0][4] == blob


@given(
    st.ip_addresses().map(str),
    _UIDS,
    _TIMES,
    st.sampled_from(["IPv4", "IPv6"]),
    st.integers(0, 2**64 - 1),
    _TEXT,
    _TEXT,
)
def test_the_allocator_shape_with_any_values_reads_back_exactly(
    ip: str, uid: str, ts: str, family: str, rv: int, ns: str, name: str
) -> None:
    blob = encode_object(_allocator_shape(ip, uid, ts, family, str(rv), ns, name))
    store = new_store(journal=True)
    store.commit(1, 1.0, "create", "user", "IPAddress", None, ip,
                 [(OP_PUT, "IPAddress", ip, 1, blob)], None)  # fmt: skip
    _check_reads_back(store, ip, blob)


@pytest.mark.parametrize("bad", ["spec", "name"])
def test_an_object_the_rules_refuse_is_refused_in_either_form(bad: str) -> None:
    obj = _allocator_shape(
        "10.0.0.1", "0db4c037-83dc-44cb-ab91-6b3e50188cd3", "2025-01-01T00:00:00Z",
        "IPv4", "1", "default", "a",
    )  # fmt: skip
    if bad == "spec":
        obj["spec"] = ["not", "a", "map"]
    key = "10.0.0.2" if bad == "name" else "10.0.0.1"
    store = new_store()
    with pytest.raises(InvalidInputError, match="refused writes"):
        store.apply([(OP_PUT, "IPAddress", key, 1, encode_object(obj))])
    assert store.count("IPAddress") == 0
