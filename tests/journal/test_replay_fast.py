"""Replay in Rust (``_core.replay_into``) reaches exactly the state the Python reader and
the engine's apply reach, hands back what it does not take, and stops where it must. Also
the snapshot loader and the CRC32C binding it relies on."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journal.test_log import scidr, svc
from servicecidr import Cluster, SimulatedClock
from servicecidr._core import crc32c, load_snapshot_store, replay_into
from servicecidr.journal import recovery
from servicecidr.journal import segments as logmod
from servicecidr.journal.snapshots import SnapshotError, list_snapshots, read_snapshot
from servicecidr.store import decode_object, new_store


def busy_history(path: Path, *, snapshot_at: int | None = None) -> Cluster:
    """Every kind of write the fast path must take or hand back: ClusterIP and NodePort
    Services (created, updated to drop their node ports, deleted), ServiceCIDRs coming
    and going, dual-stack, a hand-written IPAddress, controller Events."""
    c = Cluster.open(
        path,
        service_cluster_ip_range=["10.0.0.0/24", "fd00::/120"],
        seed=3,
        clock=SimulatedClock(),
        durability="none",
    )
    rng = random.Random(5)
    live: list[str] = []
    for i in range(120):
        r = rng.random()
        if r < 0.45 or not live:
            name = f"s{i}"
            kind = rng.choice(["ClusterIP", "ClusterIP", "NodePort"])
            extra: dict[str, Any] = {"type": kind}
            if rng.random() < 0.3:
                extra["ipFamilyPolicy"] = "PreferDualStack"
            c.create(svc(name, **extra))
            live.append(name)
        elif r < 0.6:
            name = live[rng.randrange(len(live))]
            obj = c.get("Service", name)
            if obj["spec"].get("type") == "NodePort":
                obj["spec"]["type"] = "ClusterIP"
                for p in obj["spec"]["ports"]:
                    p.pop("nodePort", None)
                c.update(obj)
        elif r < 0.85:
            c.delete("Service", live.pop(rng.randrange(len(live))))
        elif r < 0.9:
            c.create(scidr(f"extra{i}", f"10.{i}.0.0/28"))
        elif r < 0.95:
            cidrs = [x["metadata"]["name"] for x in c.list("ServiceCIDR")]
            extra_cidrs = [n for n in cidrs if n.startswith("extra")]
            if extra_cidrs:
                c.delete("ServiceCIDR", rng.choice(extra_cidrs))
        else:
            c.reconcile(advance="30s")
        if snapshot_at is not None and i == snapshot_at:
            c.snapshot()
    c.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {"name": "10.0.0.200"},
            "spec": {
                "parentRef": {"group": "", "resource": "services", "namespace": "x", "name": "y"}
            },
        }
    )
    c.reconcile(advance="5m")
    return c


def opened(path: Path, *, fast: bool, **kw: Any) -> Cluster:
    saved = recovery.FAST_REPLAY
    recovery.FAST_REPLAY = fast
    try:
        return Cluster.open(path, read_only=True, **kw)
    finally:
        recovery.FAST_REPLAY = saved


def node_ports(c: Cluster) -> dict[str, tuple[int, ...]]:
    return c.engine.nodeports.holders()


@pytest.mark.parametrize("snapshot_at", [None, 60])
def test_both_readers_reach_the_live_state(tmp_path: Path, snapshot_at: int | None) -> None:
    c = busy_history(tmp_path / "s", snapshot_at=snapshot_at)
    digest, ports, seq = c.digest(), node_ports(c), c.seq
    c.close()
    for fast in (True, False):
        r = opened(tmp_path / "s", fast=fast)
        assert (r.digest(), node_ports(r), r.seq) == (digest, ports, seq), fast
        r.close()


def test_a_reopened_writer_decides_like_the_live_one(tmp_path: Path) -> None:
    """The allocators and node ports the fast path rebuilt are the ones the engine
    consults: the next decisions equal those of a Python-replayed twin."""
    busy_history(tmp_path / "s").close()
    twins = []
    for fast in (True, False):
        copy = tmp_path / f"copy-{fast}"
        shutil.copytree(tmp_path / "s", copy)
        saved = recovery.FAST_REPLAY
        recovery.FAST_REPLAY = fast
        try:
            w = Cluster.open(copy, durability="none")
        finally:
            recovery.FAST_REPLAY = saved
        for i in range(30):
            w.create(svc(f"after{i}", type="NodePort" if i % 3 else "ClusterIP"))
        twins.append(w.digest())
        w.close()
    assert twins[0] == twins[1]


@pytest.mark.parametrize("fast", [True, False])
def test_as_of_stops_at_the_same_point(tmp_path: Path, fast: bool) -> None:
    c = busy_history(tmp_path / "s")
    events = list(c.events())
    c.close()
    for seq in (1, 7, len(events) // 2, len(events) - 1):
        want = Cluster.replay(events[:seq], ["10.0.0.0/24", "fd00::/120"], seed=3).digest()
        r = opened(tmp_path / "s", fast=fast, as_of=seq)
        assert r.seq == seq
        assert r.digest() == want
        r.close()
    ts = events[len(events) // 3].ts
    n = sum(1 for e in events if e.ts <= ts)
    r = opened(tmp_path / "s", fast=fast, as_of=ts)
    assert r.seq == n
    r.close()


def test_progress_is_reported_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "_BATCH_EVENTS", 16)
    c = busy_history(tmp_path / "s")
    seq, digest = c.seq, c.digest()
    c.close()
    seen: list[int] = []
    from servicecidr.journal.recovery import replay_log

    r = Cluster(("10.0.0.0/24", "fd00::/120"), 3, SimulatedClock(), _start=False)
    res = replay_log(r.engine, tmp_path / "s" / "log", start_seq=1, progress=seen.append)
    assert res.applied == seq and res.last_seq == seq
    assert r.digest() == digest
    assert seen and seen == sorted(seen) and seen[-1] <= seq


def test_damage_is_reported_by_the_python_reader(tmp_path: Path) -> None:
    """The fast path stops before a bad record; the error is the Python reader's."""
    c = busy_history(tmp_path / "s")
    c.close()
    seg = sorted((tmp_path / "s" / "log").glob("*.log"))[0]
    data = bytearray(seg.read_bytes())
    mid = len(data) // 2
    data[mid] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(logmod.LogCorruptError, match="damaged record at byte"):
        Cluster.open(tmp_path / "s", read_only=True)


def test_replay_returns_after_a_servicecidr_write(tmp_path: Path) -> None:
    """Directly: after a record that writes a ServiceCIDR, the indexes must catch up
    before the next record; replay_into stops right after it and names it."""
    c = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range="10.0.0.0/24",
        seed=1,
        clock=SimulatedClock(),
        durability="none",
    )
    c.close()
    seg = sorted((tmp_path / "s" / "log").glob("*.log"))[0]
    data = seg.read_bytes()
    store = new_store()
    p = replay_into(store, data, logmod.HEADER_SIZE, 1, 1, None, None, 1000)
    # the four system namespaces are applied in Rust; the default ServiceCIDR's create
    # (the fifth entry) is where it stops
    assert (p.status, p.records, p.applied, p.reshaped) == (4, 5, 5, ["kubernetes"])
    assert store.count("Namespace") == 4
    assert store.count("ServiceCIDR") == 1
    # a record out of sequence is left to the Python reader, before anything is applied
    p2 = replay_into(store, data, p.offset, 99, 1, None, None, 1000)
    assert (p2.status, p2.offset, p2.applied) == (1, p.offset, 0)


@given(st.binary(max_size=3000), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_crc32c_equals_the_reference(data: bytes, start: int) -> None:
    assert crc32c(data, start) == logmod._py_crc32c_extend(start, data)
    assert crc32c(memoryview(data)[1:], crc32c(data[:1])) == crc32c(data)


def test_snapshot_loader_equals_msgpack(tmp_path: Path) -> None:
    c = busy_history(tmp_path / "s")
    c.snapshot()
    info = list_snapshots(tmp_path / "s" / "snapshots")[-1]
    c.close()
    raw = info.path.read_bytes()
    body_bytes = raw[36:-4]
    want = msgpack.unpackb(body_bytes, raw=False)
    store = new_store()
    ranges, reshaped, _ports = load_snapshot_store(store, body_bytes)
    for kind, keys, blobs in want["store"]:
        assert store.items(kind) == sorted(zip(keys, blobs, strict=True))
    assert sorted(reshaped) == sorted(store.keys("ServiceCIDR"))
    rest = {k: msgpack.unpackb(body_bytes[a:b], raw=False) for k, (a, b) in ranges.items()}
    assert rest == {k: v for k, v in want.items() if k != "store"}


def _load_state(body: dict[str, Any]) -> tuple[Any, ...]:
    """What loading a snapshot body leaves: every object, the revision, the feed's
    reach, and the keys handed to Python (in order)."""
    store = new_store()
    _ranges, reshaped, ports = load_snapshot_store(store, msgpack.packb(body, use_bin_type=True))
    objects = {kind: store.items(kind) for kind in store.kinds()}
    rev = store.revision
    return objects, rev, store.oldest_revision, store.changes_since(rev), reshaped, ports


def test_a_store_out_of_key_order_or_in_pieces_loads_as_its_puts(tmp_path: Path) -> None:
    """Buckets are built in one pass when their keys come sorted (as written); a body
    from elsewhere (unsorted, a kind in several buckets, a key twice: the last counts)
    loads as the puts in its order, with the same objects and the same keys reported."""
    c = busy_history(tmp_path / "s")
    c.snapshot()
    info = list_snapshots(tmp_path / "s" / "snapshots")[-1]
    c.close()
    body = msgpack.unpackb(info.path.read_bytes()[36:-4], raw=False)
    objects, rev, oldest, feed, reshaped, ports = _load_state(body)
    assert (oldest, feed) == (rev, [])
    assert ports and reshaped

    def reorder(change: Any) -> dict[str, Any]:
        return {**body, "store": [change(kind, keys, blobs) for kind, keys, blobs in body["store"]]}

    reversed_ = _load_state(reorder(lambda k, ks, bs: [k, ks[::-1], bs[::-1]]))
    assert reversed_[:4] == (objects, rev, oldest, feed)
    assert (reversed_[4], reversed_[5]) == (reshaped[::-1], ports[::-1])
    pieces = []
    for kind, keys, blobs in body["store"]:
        half = len(keys) // 2
        pieces += [[kind, keys[half:], blobs[half:]], [kind, keys[:half], blobs[:half]]]
    split = _load_state({**body, "store": pieces})
    assert split[:4] == (objects, rev, oldest, feed)
    assert sorted(split[4]) == sorted(reshaped) and sorted(split[5]) == sorted(ports)
    kind, keys, blobs = body["store"][0]
    older = decode_object(blobs[0]) | {"extra": 1}
    twice = [[kind, [keys[0]], [msgpack.packb(older, use_bin_type=True)]], *body["store"]]
    assert _load_state({**body, "store": twice})[0] == objects


def test_the_store_is_read_whole_before_any_object_is_judged() -> None:
    """A bucket that is not [kind, [keys], [blobs]] is named before an object that
    breaks the rules in an earlier bucket (and the body around the store before both)."""
    good = {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "a", "namespace": "d"}}
    store = [
        ["Service", ["d/a", "d/b"], [msgpack.packb(good), b"\x01"]],
        ["Service", ["d/c"], ["not bytes"]],
    ]
    with pytest.raises(ValueError, match="a stored object is not bytes"):
        load_snapshot_store(new_store(), msgpack.packb({"store": store}, use_bin_type=True))
    with pytest.raises(ValueError, match="not a map"):
        load_snapshot_store(new_store(), msgpack.packb({"store": store[:1]}, use_bin_type=True))
    with pytest.raises(ValueError, match="trailing bytes"):
        load_snapshot_store(
            new_store(), msgpack.packb({"store": store}, use_bin_type=True) + b"\x00"
        )


@pytest.mark.parametrize(
    "body",
    [
        [1, 2, 3],  # not a map
        {"store": [["Service", ["a", "b"], [b"x"]]]},  # fewer blobs than keys
        {"store": [["Service", ["a"], ["not bytes"]]]},
        {"store": [["Service", [1], [b"x"]]]},
        {"store": 5},
    ],
)
def test_a_malformed_snapshot_body_is_named(tmp_path: Path, body: Any) -> None:
    with pytest.raises(ValueError, match="at body byte"):
        load_snapshot_store(new_store(), msgpack.packb(body, use_bin_type=True))


def test_a_stored_object_that_is_not_one_is_refused(tmp_path: Path) -> None:
    body = {"store": [["Service", ["default/a"], [b"\x01"]]]}
    with pytest.raises(ValueError, match="not a map"):
        load_snapshot_store(new_store(), msgpack.packb(body, use_bin_type=True))


def test_a_malformed_store_in_a_valid_file_is_a_snapshot_error(tmp_path: Path) -> None:
    c = busy_history(tmp_path / "s")
    c.snapshot()
    c.close()
    info = list_snapshots(tmp_path / "s" / "snapshots")[-1]
    raw = bytearray(info.path.read_bytes())
    body = msgpack.unpackb(bytes(raw[36:-4]), raw=False)
    body["store"][0][2] = body["store"][0][2][:-1]  # a blob short
    packed = msgpack.packb(body, use_bin_type=True)
    head = bytearray(raw[:36])
    head[28:36] = len(packed).to_bytes(8, "little")
    data = bytes(head) + packed
    data += crc32c(data).to_bytes(4, "little")
    info.path.write_bytes(data)
    with pytest.raises(SnapshotError, match="not as many blobs as keys"):
        read_snapshot(info.path)


def ipa(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": name},
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "x", "name": "y"}},
    }


def test_two_spellings_of_one_address_replay_alike(tmp_path: Path) -> None:
    """Cluster.store takes any key: fd00::5 and FD00::5 share one bit. The store's apply
    marks only a new IPAddress key, on both paths."""
    c = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range=["10.0.0.0/24", "fd00::/120"],
        seed=3,
        clock=SimulatedClock(),
        durability="none",
    )
    c.store(ipa("fd00::5"))
    c.store(ipa("FD00::5"))
    c.delete("IPAddress", "FD00::5")
    c.store(ipa("fd00::5"))  # an update: not marked again
    digest = c.digest()
    c.close()
    for fast in (True, False):
        assert opened(tmp_path / "s", fast=fast).digest() == digest, fast


@pytest.mark.parametrize(
    "extra",
    [
        msgpack.packb({1: 2}),  # a map key msgpack-python's strict_map_key refuses
        b"\x81\xa1k\xd4\xff\x00",  # {"k": a timestamp extension of the wrong size}
    ],
)
def test_a_record_msgpack_python_refuses_is_refused_by_both(tmp_path: Path, extra: bytes) -> None:
    c = Cluster.open(
        tmp_path / "s", service_cluster_ip_range="10.0.0.0/24", seed=3, clock=SimulatedClock()
    )
    seq = c.seq
    c.close()
    seg = sorted((tmp_path / "s" / "log").glob("*.log"))[-1]
    blob = msgpack.packb({"metadata": {"name": "10.0.0.9"}}, use_bin_type=True)
    payload = msgpack.packb(
        [1, seq + 1, 1.0, "store", "user", "IPAddress", None, "10.0.0.9",
         [[0, "IPAddress", "10.0.0.9", 999, blob]], None],
        use_bin_type=True,
    )[:-1] + extra  # the last byte was the nil of `extra`  # fmt: skip
    with open(seg, "ab") as f:
        f.write(logmod.frame(payload))
    for fast in (True, False):
        with pytest.raises(logmod.LogCorruptError, match="not a valid entry"):
            opened(tmp_path / "s", fast=fast)


def test_as_of_past_any_sequence_number(tmp_path: Path) -> None:
    Cluster.open(tmp_path / "s", service_cluster_ip_range="10.0.0.0/24", seed=1).close()
    for fast in (True, False):
        with pytest.raises(logmod.StateError, match="past the end of the history"):
            opened(tmp_path / "s", fast=fast, as_of=2**64)
