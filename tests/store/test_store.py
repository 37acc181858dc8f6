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
from servicecidr.api.storable import MAX_DEPTH
from servicecidr.errors import ExpiredError, InvalidInputError
from servicecidr.journal.records import OP_DELETE, OP_PUT, Write
from servicecidr.store import Store, decode_object, encode_object, new_store, split_key

Obj = dict[str, Any]


def make(*kinds: str, feed_capacity: int = 100_000) -> Store:
    """A store holding these kinds (namespaced as servicecidr serves them)."""
    return Store([(k, KINDS[k].namespaced) for k in kinds], MAX_DEPTH, feed_capacity=feed_capacity)


def body(kind: str, key: str, **fields: Any) -> Obj:
    """An object the store takes under ``key``: its kind, an apiVersion, and the name
    (and namespace) the key spells."""
    ns, name = split_key(key) if KINDS[kind].namespaced else (None, key)
    meta: Obj = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    return {"apiVersion": KINDS[kind].api_version, "kind": kind, "metadata": meta, **fields}


def obj(kind: str, key: str, **fields: Any) -> bytes:
    return encode_object(body(kind, key, **fields))


def put(kind: str, key: str, rv: int, blob: bytes | None = None) -> tuple[Any, ...]:
    return (OP_PUT, kind, key, rv, obj(kind, key) if blob is None else blob)


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
    s = make("Service", "IPAddress")
    assert s.kinds() == ["Service", "IPAddress"]
    assert (len(s), s.revision, s.oldest_revision) == (0, 0, 0)
    assert s.get("Service", "default/a") is None
    assert not s.contains("Service", "default/a")
    assert s.count("IPAddress") == 0
    assert s.keys("Service") == []
    assert s.changes_since(0) == []
    assert new_store().kinds() == list(KINDS)


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
        read(make("Service"))


# Services in three namespaces; "default-x" sorts before "default/" ('-' < '/').
KEYS = ["default/b", "default/a", "default-x/z", "kube-system/dns", "default/c", "a/1"]
ALL = ["a/1", "default-x/z", "default/a", "default/b", "default/c", "kube-system/dns"]

# (prefix, after, limit) -> keys, in key order
RANGES = [
    (("", None, None), ALL),
    (("default/", None, None), ["default/a", "default/b", "default/c"]),
    (("default", None, None), ["default-x/z", "default/a", "default/b", "default/c"]),
    (("default/", "default/a", None), ["default/b", "default/c"]),
    (("default/", "default/b", 1), ["default/c"]),
    (("default/", "default/c", None), []),
    (("default/", "a/1", None), ["default/a", "default/b", "default/c"]),  # after < prefix
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
    s = make("Service")
    s.apply([put("Service", k, i + 1) for i, k in enumerate(KEYS)])
    prefix, after, limit = query
    assert s.keys("Service", prefix, after, limit) == expected
    items = s.items("Service", prefix=prefix, after=after, limit=limit)
    assert [k for k, _ in items] == expected
    assert all(decode_object(b) == body("Service", k) for k, b in items)


# ------------------------------------------------------------------------------ apply


def test_apply_takes_write_objects_and_tuples_and_stores_the_bytes_as_given() -> None:
    s = make("Service", "Namespace")
    blob = obj("Service", "default/a", spec={"x": [1, 2.5, None, True, "y"]})
    writes = [Write(OP_PUT, "Service", "default/a", 1, blob), put("Namespace", "ns", 2)]
    assert s.apply(writes) is None
    assert s.get("Service", "default/a") == blob
    assert s.contains("Namespace", "ns")
    assert (len(s), s.count("Service"), s.revision) == (2, 1, 2)
    s.apply([Write(OP_DELETE, "Service", "default/a", 3, blob)])
    assert s.get("Service", "default/a") is None
    assert (len(s), s.revision) == (1, 3)


def test_the_revision_is_the_largest_resource_version_written() -> None:
    s = make("Service")
    s.apply([put("Service", "default/a", 5)])
    s.apply([put("Service", "default/b", 3)])  # an import keeps the rv it recorded
    assert s.revision == 5
    s.apply([delete("Service", "default/nothing", 9)])  # changes nothing but the revision
    assert (s.revision, s.keys("Service")) == (9, ["default/a", "default/b"])
    s.raise_revision(7)
    assert s.revision == 9
    s.raise_revision(12)
    assert s.revision == 12


def _packed(kind: str, key: str, **fields: Any) -> bytes:
    """msgpack of what encode_object would refuse to make for the store, bytes included."""
    return msgpack.packb(body(kind, key, **fields), use_bin_type=True)  # type: ignore[no-any-return]


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


SVC = ("Service", "default/x")
OBJECT_RULE = "write 2 \\(Service default/x\\): "
BAD_WRITES = [
    ((OP_PUT, "Pod", "default/p", 2, obj(*SVC)), 'the store holds no kind "Pod"'),
    ((OP_PUT, *SVC, 2, None), 'a put of "default/x" carries no object'),
    ((2, *SVC, 2, obj(*SVC)), "write op 2 is neither put \\(0\\) nor delete \\(1\\)"),
    (put(*SVC, 2, b"\x01"), OBJECT_RULE + "the stored object is not a map"),
    (put(*SVC, 2, b""), OBJECT_RULE + "the stored object is not a map"),
    (put(*SVC, 2, msgpack.packb([1, 2])), OBJECT_RULE + "the stored object is not a map"),
    (put(*SVC, 2, msgpack.packb({1: "a"})), OBJECT_RULE + "an object key is not a string"),
    (put(*SVC, 2, _packed(*SVC, a=b"bytes")), OBJECT_RULE + "bytes .*not JSON"),
    (put(*SVC, 2, _packed(*SVC, a=math.nan)), OBJECT_RULE + "a float that is not finite"),
    (put(*SVC, 2, _packed(*SVC, a=math.inf)), OBJECT_RULE + "a float that is not finite"),
    (put(*SVC, 2, obj(*SVC) + b"\x00"), OBJECT_RULE + "trailing bytes"),
    (put(*SVC, 2, obj(*SVC)[:-1]), OBJECT_RULE),
    (put(*SVC, 2, obj("Service", "default/y")), 'metadata.name "y" does not match the key'),
    (put(*SVC, 2, obj("Service", "other/x")), 'metadata.namespace "other" does not match'),
    (put("Service", "x", 2, obj(*SVC)), 'metadata.namespace "default" does not match the key "x"'),
    (
        put(*SVC, 2, encode_object({**body(*SVC), "kind": "Pod"})),
        OBJECT_RULE + 'the object\'s kind is "Pod", not "Service"',
    ),
    (
        put(*SVC, 2, encode_object({k: v for k, v in body(*SVC).items() if k != "apiVersion"})),
        OBJECT_RULE + "the object has no apiVersion",
    ),
    (put(*SVC, 2, encode_object({"kind": "Service", "apiVersion": "v1"})), "has no metadata"),
    (put(*SVC, 2, obj(*SVC, spec=[1])), OBJECT_RULE + "spec is not a map"),
    (put(*SVC, 2, obj(*SVC, status="up")), OBJECT_RULE + "status is not a map"),
    (
        put(*SVC, 2, obj(*SVC, spec=_nested(MAX_DEPTH))),
        OBJECT_RULE + f"nested deeper than {MAX_DEPTH} levels",
    ),
]


@pytest.mark.parametrize(("bad", "message"), BAD_WRITES, ids=lambda v: repr(v)[:60])
def test_a_malformed_write_refuses_the_whole_apply(bad: tuple[Any, ...], message: str) -> None:
    s = make("Service", "IPAddress", feed_capacity=10)
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc)
    s.apply([put("Service", "default/a", 1)])
    before = state(s)
    batch = [
        put("IPAddress", "10.0.0.5", 2, ip_address("10.0.0.5")),
        put(*SVC[:1], "default/b", 2),
        bad,
    ]
    for call in (s.check, s.apply):
        with pytest.raises(InvalidInputError, match="refused writes: .*" + message):
            call(batch)
        assert state(s) == before
        assert list(alloc) == []


def test_check_takes_what_apply_takes_and_changes_nothing() -> None:
    s = make("Service")
    writes = [put(*SVC, 1, obj(*SVC, spec=_nested(MAX_DEPTH - 1)))]
    s.check(writes)
    assert (len(s), s.revision) == (0, 0)
    s.apply(writes, checked=True)
    assert s.contains(*SVC)


@pytest.mark.parametrize(
    "bad",
    [
        (OP_PUT, "Service", "default/x", 2),  # four parts
        (OP_PUT, "Service", "default/x", 2, "not bytes"),
        (OP_PUT, "Service", 7, 2, obj(*SVC)),
        (OP_PUT, "Service", "default/x", -1, obj(*SVC)),
        "not a write",
    ],
    ids=["short-tuple", "str-blob", "int-key", "negative-rv", "str"],
)
def test_a_write_of_the_wrong_shape_refuses_the_whole_apply(bad: Any) -> None:
    s = make("Service")
    s.apply([put("Service", "default/a", 1)])
    before = state(s)
    with pytest.raises((TypeError, OverflowError, AttributeError)):
        s.apply([put("Service", "default/b", 2), bad])
    assert state(s) == before


# ------------------------------------------------------------------------------ change feed


def test_the_feed_tells_added_modified_deleted_with_the_objects() -> None:
    s = make("Service", "Namespace")
    a1, a2 = obj("Service", "default/a", spec={"v": 1}), obj("Service", "default/a", spec={"v": 2})
    s.apply([put("Service", "default/a", 1, a1), put("Namespace", "ns", 2)])
    s.apply([put("Service", "default/a", 3, a2)])
    s.apply([delete("Service", "default/a", 4), delete("Namespace", "gone", 5)])
    assert s.changes_since(0) == [
        (1, "ADDED", "Service", "default/a", a1),
        (2, "ADDED", "Namespace", "ns", obj("Namespace", "ns")),
        (3, "MODIFIED", "Service", "default/a", a2),
        (4, "DELETED", "Service", "default/a", a2),  # a deletion carries the last object
    ]
    assert [c[0] for c in s.changes_since(2)] == [3, 4]
    assert [c[0] for c in s.changes_since(1, limit=2)] == [2, 3]
    assert s.changes_since(0, limit=0) == []
    assert s.changes_since(5) == []  # the revision: nothing after it
    assert s.changes_since(99) == []


def test_a_bounded_feed_says_when_it_no_longer_reaches_back() -> None:
    s = make("Service", feed_capacity=3)
    for rv in range(1, 6):
        s.apply([put("Service", "default/a", rv, obj("Service", "default/a", spec={"v": rv}))])
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
    s = make("Service", feed_capacity=0)
    s.apply([put("Service", "default/a", 1), put("Service", "default/b", 2)])
    assert s.oldest_revision == 2
    assert s.changes_since(2) == []
    with pytest.raises(ExpiredError, match=r"too old resource version: 1 \(2\)"):
        s.changes_since(1)


# ------------------------------------------------------------------------------ allocators


def ip_address(name: str) -> bytes:
    return obj("IPAddress", name, spec={"parentRef": {"resource": "services", "name": "x"}})


def test_an_attached_allocator_is_marked_from_the_stored_ip_addresses() -> None:
    s = make("IPAddress", "Service")
    names = ["10.0.0.1", "10.0.0.0", "10.0.0.15", "10.0.1.1", "fd00::1", "not-an-ip"]
    s.apply([put("IPAddress", ip, i + 1, ip_address(ip)) for i, ip in enumerate(names)])
    # a Service whose name looks like an address is no IPAddress
    s.apply([put("Service", "default/10.0.0.9", 7)])
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
    s = make("IPAddress")
    s.apply([put("IPAddress", "10.0.0.1", 1, ip_address("10.0.0.1"))])
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc, mark_existing=False)
    assert list(alloc) == []
    s.apply([put("IPAddress", "10.0.0.2", 2, ip_address("10.0.0.2"))])
    assert list(alloc) == ["10.0.0.2"]


def test_overlapping_allocators_are_marked_by_one_write() -> None:
    s = make("IPAddress")
    small, big = CidrAllocator("10.0.0.0/28", seed=1), CidrAllocator("10.0.0.0/24", seed=2)
    s.attach_allocator(small)
    s.attach_allocator(big)
    s.apply([put("IPAddress", ip, 1, ip_address(ip)) for ip in ("10.0.0.5", "10.0.0.200")])
    assert (list(small), list(big)) == (["10.0.0.5"], ["10.0.0.5", "10.0.0.200"])
    s.apply([delete("IPAddress", "10.0.0.5", 2)])
    assert (list(small), list(big)) == ([], ["10.0.0.200"])


def test_a_refused_apply_marks_nothing() -> None:
    s = make("IPAddress")
    alloc = CidrAllocator("10.0.0.0/28", seed=1)
    s.attach_allocator(alloc)
    with pytest.raises(InvalidInputError):
        s.apply(
            [put("IPAddress", "10.0.0.1", 1, ip_address("10.0.0.1")), (OP_PUT, "Pod", "p", 2, b"")]
        )
    assert list(alloc) == []


# ------------------------------------------------------------------------------ reported keys


def service(key: str, **spec: Any) -> bytes:
    return obj("Service", key, spec=spec)


NODE_PORT = {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}
HEALTH_CHECK = {"type": "LoadBalancer", "healthCheckNodePort": 31000, "ports": []}
PLAIN = {"ports": [{"port": 80}]}


@pytest.mark.parametrize(
    ("first", "then", "reported"),
    [
        ([], [put("Service", "default/p", 2, service("default/p", **PLAIN))], None),
        (
            [],
            [put("Service", "default/np", 2, service("default/np", **NODE_PORT))],
            ([], ["default/np"]),
        ),
        (
            [],
            [put("Service", "default/hc", 2, service("default/hc", **HEALTH_CHECK))],
            ([], ["default/hc"]),
        ),
        # node ports dropped by an update, or gone with a delete: Python must forget them
        (
            [put("Service", "default/np", 1, service("default/np", **NODE_PORT))],
            [put("Service", "default/np", 2, service("default/np", **PLAIN))],
            ([], ["default/np"]),
        ),
        (
            [put("Service", "default/np", 1, service("default/np", **NODE_PORT))],
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
            [
                put("ServiceCIDR", "b", 2),
                put("Service", "default/np", 3, service("default/np", **NODE_PORT)),
            ],
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
    s = new_store()
    s.apply(first)
    got = s.apply(then)
    assert (None if got is None else (list(got[0]), list(got[1]))) == reported


# ------------------------------------------------------------------------------ model


NET = ipaddress.ip_network("10.0.0.0/28")
IP_KEYS = ["10.0.0.1", "10.0.0.2", "10.0.0.14", "10.0.0.0", "10.0.0.15", "10.0.1.1", "fd00::1", "x"]
SVC_KEYS = ["default/a", "default/b", "default-x/a", "kube-system/a"]
OTHER_KEYS = ["a", "b", "kubernetes"]
SPECS: dict[str, Obj] = {
    "plain": PLAIN,
    "node-port": NODE_PORT,
    "hc": HEALTH_CHECK,
    "empty": {},
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
        st.sampled_from(sorted(SPECS)),
    )
)


class StoreMachine(RuleBasedStateMachine):
    """The store against a dict per kind, a list of changes, and a set of marked
    addresses: any sequence of applies (good, refused, with old resource versions),
    feed reads, truncations and attachments agrees with the model."""

    @initialize()
    def start(self) -> None:
        self.store = make(*MODEL_KINDS, feed_capacity=CAPACITY)
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
                kind_of_change = "MODIFIED" if old is not None else "ADDED"
                change = (self.revision, kind_of_change, kind, key, blob)
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
        for op, kind, key, spec in batch:
            if old_rv and self.revision > 2:
                rv = self.revision - 2  # an import keeps the resourceVersion it recorded
            else:
                self.next_rv = max(self.next_rv, self.revision) + 1
                rv = self.next_rv
            blob = obj(kind, key, spec=SPECS[spec]) if op == OP_PUT else None
            writes.append((op, kind, key, rv, blob))
        expected = self._apply_model(writes)
        got = self.store.apply(writes)
        assert (None if got is None else (list(got[0]), list(got[1]))) == expected

    @rule(batch=st.lists(writes_st, max_size=3), where=st.integers(0, 3))
    def refused_apply(self, batch: list[tuple[int, str, str, str]], where: int) -> None:
        writes: list[tuple[Any, ...]] = [
            (op, kind, key, self.revision + 1, obj(kind, key, spec=SPECS[spec]))
            for op, kind, key, spec in batch
        ]
        writes.insert(min(where, len(writes)), (OP_PUT, "Pod", "x", 1, encode_object({})))
        with pytest.raises(InvalidInputError):
            self.store.apply(writes)

    @rule(rv=st.integers(0, 60), limit=st.none() | st.integers(0, 3))
    def read_feed(self, rv: int, limit: int | None) -> None:
        if rv < self.floor:
            expired = rf"too old resource version: {rv} \({self.floor}\)"
            with pytest.raises(ExpiredError, match=expired):
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
