"""The object store (servicecidr.store.Store, the Rust crate servicecidr-store) as Python
sees it: objects by kind and key in key order, the one apply, the revision, the change
feed, and the allocators it keeps marked from the IPAddress keys."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

import msgpack
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from servicecidr._core import CidrAllocator
from servicecidr.api.kinds import KINDS
from servicecidr.errors import ExpiredError, InvalidInputError
from servicecidr.journal.records import OP_DELETE, OP_PUT, Write
from servicecidr.store import Store, decode_object, encode_object

Obj = dict[str, Any]


def obj(name: str, **fields: Any) -> bytes:
    return encode_object({"metadata": {"name": name}, **fields})


def put(kind: str, key: str, rv: int, blob: bytes | None = None) -> tuple[Any, ...]:
    return (OP_PUT, kind, key, rv, obj(key) if blob is None else blob)


def delete(kind: str, key: str, rv: int) -> tuple[Any, ...]:
    return (OP_DELETE, kind, key, rv, None)


def state(store: Store) -> tuple[Any, ...]:
    """Everything a reader can see of a store."""
    return (
        store.revision,
        store.oldest_revision,
        {k: store.items(k) for k in store.kinds()},
        store.changes_since(store.oldest_revision),
    )


# ------------------------------------------------------------------------------ reading


def test_a_store_holds_the_kinds_it_was_built_with() -> None:
    s = Store(["Service", "IPAddress"])
    assert s.kinds() == ["Service", "IPAddress"]
    assert (len(s), s.revision, s.oldest_revision) == (0, 0, 0)
    assert s.get("Service", "default/a") is None
    assert not s.contains("Service", "default/a")
    assert s.count("IPAddress") == 0
    assert s.keys("Service") == []
    assert s.changes_since(0) == []


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s.get("Pod", "x"),
        lambda s: s.contains("Pod", "x"),
        lambda s: s.count("Pod"),
        lambda s: s.keys("Pod"),
        lambda s: s.items("Pod"),
    ],
    ids=["get", "contains", "count", "keys", "items"],
)
def test_reading_a_kind_the_store_does_not_hold_names_it(read: Any) -> None:
    with pytest.raises(ValueError, match='the store holds no kind "Pod"'):
        read(Store(["Service"]))


# Services in three namespaces; "default-x" sorts before "default/" ('-' < '/').
KEYS = ["default/b", "default/a", "default-x/z", "kube-system/dns", "default/c", "a/1"]

# (prefix, after, limit) -> keys, in key order
RANGES = [
    (
        ("", None, None),
        ["a/1", "default-x/z", "default/a", "default/b", "default/c", "kube-system/dns"],
    ),
    (("default/", None, None), ["default/a", "default/b", "default/c"]),
    (("default", None, None), ["default-x/z", "default/a", "default/b", "default/c"]),
    (("default/", "default/a", None), ["default/b", "default/c"]),
    (("default/", "default/b", 1), ["default/c"]),
    (("default/", "default/c", None), []),
    (("default/", "a/1", None), ["default/a", "default/b", "default/c"]),  # after before prefix
    (("default/", "zzz", None), []),
    (("", "default/b", 2), ["default/c", "kube-system/dns"]),
    (("", None, 0), []),
    (("", None, 2), ["a/1", "default-x/z"]),
    (("nothing/", None, None), []),
]


@pytest.mark.parametrize(("query", "expected"), RANGES, ids=lambda v: repr(v))
def test_keys_and_items_come_in_key_order_by_prefix_after_and_limit(
    query: tuple[str, str | None, int | None], expected: list[str]
) -> None:
    s = Store(["Service"])
    s.apply([put("Service", k, i + 1) for i, k in enumerate(KEYS)])
    prefix, after, limit = query
    assert s.keys("Service", prefix, after, limit) == expected
    items = s.items("Service", prefix=prefix, after=after, limit=limit)
    assert [k for k, _ in items] == expected
    assert all(decode_object(b) == {"metadata": {"name": k}} for k, b in items)


# ------------------------------------------------------------------------------ apply


def test_apply_takes_write_objects_and_tuples_and_stores_the_bytes_as_given() -> None:
    s = Store(["Service", "Namespace"])
    blob = obj("a", spec={"x": [1, 2.5, None, True, "y"]})
    assert (
        s.apply([Write(OP_PUT, "Service", "default/a", 1, blob), put("Namespace", "ns", 2)]) is None
    )
    assert s.get("Service", "default/a") == blob
    assert s.contains("Namespace", "ns")
    assert (len(s), s.count("Service"), s.revision) == (2, 1, 2)
    s.apply([Write(OP_DELETE, "Service", "default/a", 3, blob)])
    assert s.get("Service", "default/a") is None
    assert (len(s), s.revision) == (1, 3)


def test_the_revision_is_the_largest_resource_version_written() -> None:
    s = Store(["Service"])
    s.apply([put("Service", "default/a", 5)])
    s.apply([put("Service", "default/b", 3)])  # an import keeps the rv it recorded
    assert s.revision == 5
    s.apply([delete("Service", "default/nothing", 9)])  # changes nothing but the revision
    assert (s.revision, s.keys("Service")) == (9, ["default/a", "default/b"])
    s.raise_revision(7)
    assert s.revision == 9
    s.raise_revision(12)
    assert s.revision == 12


def _not_json(**value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


BAD_WRITES = [
    (put("Pod", "default/p", 2), 'the store holds no kind "Pod"'),
    ((OP_PUT, "Service", "default/x", 2, None), 'a put of "default/x" carries no object'),
    (
        (2, "Service", "default/x", 2, obj("x")),
        "write op 2 is neither put \\(0\\) nor delete \\(1\\)",
    ),
    (put("Service", "default/x", 2, b"\x01"), "not a JSON object in msgpack"),
    (put("Service", "default/x", 2, b""), "not a JSON object in msgpack"),
    (put("Service", "default/x", 2, msgpack.packb([1, 2])), "not a JSON object"),
    (put("Service", "default/x", 2, msgpack.packb({1: "a"})), "not a JSON object"),
    (put("Service", "default/x", 2, _not_json(a=b"bytes")), "not a JSON object"),
    (put("Service", "default/x", 2, _not_json(a=math.nan)), "not a JSON object"),
    (put("Service", "default/x", 2, _not_json(a=math.inf)), "not a JSON object"),
    (put("Service", "default/x", 2, obj("x") + b"\x00"), "not a JSON object"),
    (put("Service", "default/x", 2, obj("x")[:-1]), "not a JSON object"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_WRITES, ids=lambda v: repr(v)[:60])
def test_a_malformed_write_refuses_the_whole_apply(bad: tuple[Any, ...], message: str) -> None:
    s = Store(["Service", "IPAddress"], feed_capacity=10)
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc)
    s.apply([put("Service", "default/a", 1)])
    before = state(s)
    batch = [put("IPAddress", "10.0.0.5", 2), put("Service", "default/b", 2), bad]
    with pytest.raises(InvalidInputError, match="refused writes: .*" + message):
        s.apply(batch)
    assert state(s) == before
    assert list(alloc) == []


@pytest.mark.parametrize(
    "bad",
    [
        (OP_PUT, "Service", "default/x", 2),  # four parts
        (OP_PUT, "Service", "default/x", 2, "not bytes"),
        (OP_PUT, "Service", 7, 2, obj("x")),
        (OP_PUT, "Service", "default/x", -1, obj("x")),
        "not a write",
    ],
    ids=["short-tuple", "str-blob", "int-key", "negative-rv", "str"],
)
def test_a_write_of_the_wrong_shape_refuses_the_whole_apply(bad: Any) -> None:
    s = Store(["Service"])
    s.apply([put("Service", "default/a", 1)])
    before = state(s)
    with pytest.raises((TypeError, OverflowError, AttributeError)):
        s.apply([put("Service", "default/b", 2), bad])
    assert state(s) == before


# ------------------------------------------------------------------------------ change feed


def test_the_feed_tells_added_modified_deleted_with_the_objects() -> None:
    s = Store(["Service", "Namespace"])
    a1, a2 = obj("a", v=1), obj("a", v=2)
    s.apply([put("Service", "default/a", 1, a1), put("Namespace", "ns", 2)])
    s.apply([put("Service", "default/a", 3, a2)])
    s.apply([delete("Service", "default/a", 4), delete("Namespace", "gone", 5)])
    assert s.changes_since(0) == [
        (1, "ADDED", "Service", "default/a", a1),
        (2, "ADDED", "Namespace", "ns", obj("ns")),
        (3, "MODIFIED", "Service", "default/a", a2),
        (4, "DELETED", "Service", "default/a", a2),  # a deletion carries the last object
    ]
    assert [c[0] for c in s.changes_since(2)] == [3, 4]
    assert [c[0] for c in s.changes_since(1, limit=2)] == [2, 3]
    assert s.changes_since(0, limit=0) == []
    assert s.changes_since(5) == []  # the revision: nothing after it
    assert s.changes_since(99) == []


def test_a_bounded_feed_says_when_it_no_longer_reaches_back() -> None:
    s = Store(["Service"], feed_capacity=3)
    for rv in range(1, 6):
        s.apply([put("Service", "default/a", rv, obj("a", v=rv))])
    assert s.oldest_revision == 2
    assert [c[0] for c in s.changes_since(2)] == [3, 4, 5]
    for rv in (0, 1):
        with pytest.raises(ExpiredError) as err:
            s.changes_since(rv)
        # kube-apiserver's watch cache: errors.NewResourceExpired, 410 Gone
        assert err.value.message == f"too old resource version: {rv} (2)"
        assert (err.value.reason, err.value.code) == ("Expired", 410)
    s.truncate_feed()  # after a snapshot: what came before is history
    assert s.oldest_revision == 5
    assert s.changes_since(5) == []
    with pytest.raises(ExpiredError, match=r"too old resource version: 4 \(5\)"):
        s.changes_since(4)
    s.apply([put("Service", "default/b", 6)])
    assert [c[3] for c in s.changes_since(5)] == ["default/b"]


def test_a_feed_of_capacity_zero_only_answers_from_the_revision() -> None:
    s = Store(["Service"], feed_capacity=0)
    s.apply([put("Service", "default/a", 1), put("Service", "default/b", 2)])
    assert s.oldest_revision == 2
    assert s.changes_since(2) == []
    with pytest.raises(ExpiredError, match=r"too old resource version: 1 \(2\)"):
        s.changes_since(1)


# ------------------------------------------------------------------------------ allocators


def ip_address(name: str) -> bytes:
    return obj(name, spec={"parentRef": {"resource": "services", "name": "x"}})


def test_an_attached_allocator_is_marked_from_the_stored_ip_addresses() -> None:
    s = Store(["IPAddress", "Service"])
    s.apply(
        [
            put("IPAddress", ip, i + 1, ip_address(ip))
            for i, ip in enumerate(
                ["10.0.0.1", "10.0.0.0", "10.0.0.15", "10.0.1.1", "fd00::1", "not-an-ip"]
            )
        ]
    )
    # a Service key that looks like an address is no IPAddress
    s.apply([put("Service", "10.0.0.9", 7)])
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc)
    # network, broadcast, other ranges and families, and non-addresses are not marked
    assert list(alloc) == ["10.0.0.1"]
    s.apply([put("IPAddress", "10.0.0.2", 8, ip_address("10.0.0.2"))])
    assert list(alloc) == ["10.0.0.1", "10.0.0.2"]
    s.apply([put("IPAddress", "10.0.0.2", 9, ip_address("10.0.0.2"))])  # modified: no change
    s.apply([delete("IPAddress", "10.0.0.1", 10), delete("IPAddress", "10.0.0.7", 11)])
    assert list(alloc) == ["10.0.0.2"]
    s.detach_allocator(alloc)
    s.apply([put("IPAddress", "10.0.0.3", 12, ip_address("10.0.0.3"))])
    assert list(alloc) == ["10.0.0.2"]


def test_an_allocator_attached_without_marking_follows_only_later_changes() -> None:
    s = Store(["IPAddress"])
    s.apply([put("IPAddress", "10.0.0.1", 1, ip_address("10.0.0.1"))])
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc, mark_existing=False)
    assert list(alloc) == []
    s.apply([put("IPAddress", "10.0.0.2", 2, ip_address("10.0.0.2"))])
    assert list(alloc) == ["10.0.0.2"]


def test_overlapping_allocators_are_marked_by_one_write() -> None:
    s = Store(["IPAddress"])
    small, big = CidrAllocator("10.0.0.0/28", seed=1), CidrAllocator("10.0.0.0/24", seed=2)
    s.attach_allocator(small)
    s.attach_allocator(big)
    s.apply([put("IPAddress", ip, 1, ip_address(ip)) for ip in ("10.0.0.5", "10.0.0.200")])
    assert (list(small), list(big)) == (["10.0.0.5"], ["10.0.0.5", "10.0.0.200"])
    s.apply([delete("IPAddress", "10.0.0.5", 2)])
    assert (list(small), list(big)) == ([], ["10.0.0.200"])


def test_a_refused_apply_marks_nothing() -> None:
    s = Store(["IPAddress"])
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc)
    with pytest.raises(InvalidInputError):
        s.apply([put("IPAddress", "10.0.0.1", 1, ip_address("10.0.0.1")), put("Pod", "p", 2)])
    assert list(alloc) == []


# ------------------------------------------------------------------------------ reported keys

NODE_PORT_SVC = obj("np", spec={"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]})
HC_SVC = obj("hc", spec={"type": "LoadBalancer", "healthCheckNodePort": 31000, "ports": []})
PLAIN_SVC = obj("plain", spec={"ports": [{"port": 80}]})


@pytest.mark.parametrize(
    ("first", "then", "reported"),
    [
        ([], [put("Service", "default/plain", 2, PLAIN_SVC)], None),
        ([], [put("Service", "default/np", 2, NODE_PORT_SVC)], ([], ["default/np"])),
        ([], [put("Service", "default/hc", 2, HC_SVC)], ([], ["default/hc"])),
        # node ports dropped by an update, or gone with a delete: Python must forget them
        (
            [put("Service", "default/np", 1, NODE_PORT_SVC)],
            [put("Service", "default/np", 2, PLAIN_SVC)],
            ([], ["default/np"]),
        ),
        (
            [put("Service", "default/np", 1, NODE_PORT_SVC)],
            [delete("Service", "default/np", 2)],
            ([], ["default/np"]),
        ),
        ([], [delete("Service", "default/np", 2)], None),  # nothing there: no change
        ([], [put("ServiceCIDR", "kubernetes", 2)], (["kubernetes"], [])),
        (
            [put("ServiceCIDR", "kubernetes", 1)],
            [delete("ServiceCIDR", "kubernetes", 2), put("ServiceCIDR", "kubernetes", 3)],
            (["kubernetes", "kubernetes"], []),
        ),
        ([], [put("IPAddress", "10.0.0.1", 2, ip_address("10.0.0.1"))], None),
        (
            [],
            [put("ServiceCIDR", "b", 2), put("Service", "default/np", 3, NODE_PORT_SVC)],
            (["b"], ["default/np"]),
        ),
    ],
    ids=[
        "plain-service",
        "node-port",
        "health-check-node-port",
        "node-port-dropped",
        "node-port-service-deleted",
        "delete-of-nothing",
        "servicecidr",
        "servicecidr-recreated",
        "ipaddress",
        "both",
    ],
)
def test_apply_reports_the_keys_whose_python_indexes_must_catch_up(
    first: list[Any], then: list[Any], reported: Any
) -> None:
    s = Store(list(KINDS))
    s.apply(first)
    got = s.apply(then)
    assert (None if got is None else (list(got[0]), list(got[1]))) == reported


# ------------------------------------------------------------------------------ model


NET = ipaddress.ip_network("10.0.0.0/28")
IP_KEYS = ["10.0.0.1", "10.0.0.2", "10.0.0.14", "10.0.0.0", "10.0.0.15", "10.0.1.1", "fd00::1", "x"]
SVC_KEYS = ["default/a", "default/b", "default-x/a", "kube-system/a"]
OTHER_KEYS = ["a", "b", "kubernetes"]
BLOBS = {
    "plain": PLAIN_SVC,
    "node-port": NODE_PORT_SVC,
    "hc": HC_SVC,
    "empty": encode_object({}),
}
MODEL_KINDS = ["Service", "ServiceCIDR", "IPAddress", "Namespace"]
CAPACITY = 6


def _usable(key: str) -> bool:
    try:
        ip = ipaddress.ip_address(key)
    except ValueError:
        return False
    return ip in NET and ip not in (NET.network_address, NET.broadcast_address)


def _holds_node_ports(blob: bytes | None) -> bool:
    if blob is None:
        return False
    spec = decode_object(blob).get("spec") or {}
    return "healthCheckNodePort" in spec or any("nodePort" in p for p in spec.get("ports", []))


writes_st = st.one_of(
    st.tuples(st.just("Service"), st.sampled_from(SVC_KEYS)),
    st.tuples(st.sampled_from(["ServiceCIDR", "Namespace"]), st.sampled_from(OTHER_KEYS)),
    st.tuples(st.just("IPAddress"), st.sampled_from(IP_KEYS)),
).flatmap(
    lambda kk: st.tuples(
        st.sampled_from([OP_PUT, OP_PUT, OP_DELETE]),
        st.just(kk[0]),
        st.just(kk[1]),
        st.sampled_from(sorted(BLOBS)),
    )
)


class StoreMachine(RuleBasedStateMachine):
    """The store against a dict per kind, a list of changes, and a set of marked
    addresses: any sequence of applies (good, refused, with old resource versions),
    feed reads, truncations and attachments agrees with the model."""

    @initialize()
    def start(self) -> None:
        self.store = Store(MODEL_KINDS, feed_capacity=CAPACITY)
        self.alloc = CidrAllocator("10.0.0.0/28", seed=1)
        self.store.attach_allocator(self.alloc)
        self.late: CidrAllocator | None = None
        self.late_marked: set[str] = set()
        self.model: dict[str, dict[str, bytes]] = {k: {} for k in MODEL_KINDS}
        self.next_rv = 0
        self.revision = 0
        self.feed: list[tuple[int, str, str, str, bytes]] = []
        self.floor = 0

    def _apply_model(self, writes: list[tuple[Any, ...]]) -> Any:
        reshaped: list[str] = []
        node_ports: list[str] = []
        for op, kind, key, rv, blob in writes:
            self.revision = max(self.revision, rv)
            bucket = self.model[kind]
            old = bucket.get(key)
            if op == OP_PUT:
                bucket[key] = blob
                change = (
                    self.revision,
                    "MODIFIED" if old is not None else "ADDED",
                    kind,
                    key,
                    blob,
                )
                new = blob
            elif old is not None:
                del bucket[key]
                change = (self.revision, "DELETED", kind, key, old)
                new = None
            else:
                continue
            if kind == "ServiceCIDR":
                reshaped.append(key)
            if kind == "Service" and (_holds_node_ports(old) or _holds_node_ports(new)):
                node_ports.append(key)
            if kind == "IPAddress" and _usable(key) and self.late is not None:
                if old is None:
                    self.late_marked.add(key)
                elif new is None:
                    self.late_marked.discard(key)
            if len(self.feed) >= CAPACITY:
                self.floor = self.feed.pop(0)[0]
            self.feed.append(change)
        return (reshaped, node_ports) if reshaped or node_ports else None

    @rule(batch=st.lists(writes_st, min_size=1, max_size=4), old_rv=st.booleans())
    def apply(self, batch: list[tuple[int, str, str, str]], old_rv: bool) -> None:
        writes = []
        for op, kind, key, blob_name in batch:
            if old_rv and self.revision > 2:
                rv = self.revision - 2  # an import keeps the resourceVersion it recorded
            else:
                self.next_rv = max(self.next_rv, self.revision) + 1
                rv = self.next_rv
            writes.append((op, kind, key, rv, BLOBS[blob_name] if op == OP_PUT else None))
        expected = self._apply_model(writes)
        got = self.store.apply(writes)
        assert (None if got is None else (list(got[0]), list(got[1]))) == expected

    @rule(batch=st.lists(writes_st, max_size=3), where=st.integers(0, 3))
    def refused_apply(self, batch: list[tuple[int, str, str, str]], where: int) -> None:
        writes: list[tuple[Any, ...]] = [
            (op, kind, key, self.revision + 1, BLOBS[b]) for op, kind, key, b in batch
        ]
        writes.insert(min(where, len(writes)), (OP_PUT, "Pod", "x", 1, encode_object({})))
        with pytest.raises(InvalidInputError):
            self.store.apply(writes)

    @rule(rv=st.integers(0, 60), limit=st.none() | st.integers(0, 3))
    def read_feed(self, rv: int, limit: int | None) -> None:
        if rv < self.floor:
            with pytest.raises(
                ExpiredError, match=rf"too old resource version: {rv} \({self.floor}\)"
            ):
                self.store.changes_since(rv, limit)
            return
        want = [c for c in self.feed if c[0] > rv]
        assert self.store.changes_since(rv, limit) == (want if limit is None else want[:limit])

    @rule()
    def truncate_feed(self) -> None:
        self.store.truncate_feed()
        self.feed = []
        self.floor = self.revision

    @rule(rv=st.integers(0, 60))
    def raise_revision(self, rv: int) -> None:
        self.store.raise_revision(rv)
        self.revision = max(self.revision, rv)

    @precondition(lambda self: self.late is None)
    @rule()
    def attach_late(self) -> None:
        self.late = CidrAllocator("10.0.0.0/28", seed=2)
        self.store.attach_allocator(self.late, mark_existing=False)

    @invariant()
    def objects_agree(self) -> None:
        for kind in MODEL_KINDS:
            bucket = self.model[kind]
            assert self.store.items(kind) == sorted(bucket.items())
            assert self.store.count(kind) == len(bucket)
        assert len(self.store) == sum(len(b) for b in self.model.values())
        assert self.store.revision == self.revision
        assert self.store.oldest_revision == self.floor

    @invariant()
    def allocators_mirror_the_ip_address_keys(self) -> None:
        assert set(self.alloc) == {k for k in self.model["IPAddress"] if _usable(k)}
        if self.late is not None:
            assert set(self.late) == self.late_marked


StoreMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30)
TestStoreMachine = StoreMachine.TestCase
