"""Batched log writes (an import is one call): the records are the ones one-by-one
appends write, byte for byte, rotation still happens, readers see batched events, and
the Rust encoder equals ``frame(encode_entry(ev))``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecidr import Cluster, SimulatedClock
from servicecidr._core import frame_entries
from servicecidr.errors import InvalidInputError
from servicecidr.journal.records import OP_DELETE, OP_PUT, Entry, Write, encode_entry
from servicecidr.journal.recovery import iter_log
from servicecidr.journal.segments import frame


def svc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}]},
    }


def segments(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((path / "log").glob("*.log"))}


def run(path: Path, *, batch: bool, n: int = 60, segment_bytes: int = 64 << 20) -> str:
    c = Cluster.open(
        path,
        service_cluster_ip_range="10.0.0.0/24",
        seed=4,
        clock=SimulatedClock(),
        durability="none",
        segment_bytes=segment_bytes,
    )
    ctx = c.bulk() if batch else None
    if ctx is not None:
        ctx.__enter__()
    for i in range(n):
        c.create(svc(f"s{i}"))
        if i % 4 == 0:
            c.delete("Service", f"s{i}")
    if ctx is not None:
        ctx.__exit__(None, None, None)
    digest = c.digest()
    c.close()
    return digest


@pytest.mark.parametrize("segment_bytes", [64 << 20, 4096])
def test_a_batch_writes_the_same_bytes(tmp_path: Path, segment_bytes: int) -> None:
    one = run(tmp_path / "one", batch=False, segment_bytes=segment_bytes)
    many = run(tmp_path / "many", batch=True, segment_bytes=segment_bytes)
    assert one == many
    if segment_bytes == 64 << 20:
        assert segments(tmp_path / "one") == segments(tmp_path / "many")
    else:  # rotation points follow estimates in a batch; the records are the same
        events = [e for e in iter_log(tmp_path / "one" / "log")]
        assert [encode_entry(e) for e in iter_log(tmp_path / "many" / "log")] == [
            encode_entry(e) for e in events
        ]
        assert len(segments(tmp_path / "many")) > 1
    assert Cluster.open(tmp_path / "many", read_only=True).digest() == many


def test_readers_see_the_batched_events(tmp_path: Path) -> None:
    c = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range="10.0.0.0/24",
        seed=1,
        clock=SimulatedClock(),
        durability="fsync",
    )
    with c.bulk():
        c.create(svc("a"))
        seq = c.seq
        assert [e.seq for e in c.events()][-1] == seq
    c.close()


def test_an_import_into_a_state_directory_is_batched(tmp_path: Path) -> None:
    from servicecidr.importers import import_observed

    log = tmp_path / "audit.log"
    src = Cluster("10.0.0.0/24", seed=3, clock=SimulatedClock(), audit_log=log)
    for i in range(30):
        src.create(svc(f"s{i}"))
    src.close()
    c = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range="10.0.0.0/24",
        seed=3,
        clock=SimulatedClock(),
        durability="fsync",
    )
    report = import_observed(c, "audit", [log])
    digest = c.digest()
    c.close()
    assert report.used >= 60
    assert Cluster.open(tmp_path / "s", read_only=True).digest() == digest


# What an entry's extra may hold: JSON (the log refuses bytes and non-finite floats, which
# no reader would take back).
json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**40),
            st.floats(0, 2e9),
            st.text(max_size=300),
            st.one_of(st.none(), st.text(max_size=10)),
            st.lists(
                st.tuples(
                    st.sampled_from([OP_PUT, OP_DELETE]),
                    st.text(max_size=5),
                    st.text(max_size=70000) | st.text(max_size=10),
                    st.integers(0, 2**40),
                    st.one_of(st.none(), st.binary(max_size=70000)),
                ),
                max_size=17,
            ),
            st.one_of(st.none(), st.dictionaries(st.text(max_size=8), json_like, max_size=4)),
        ),
        max_size=4,
    )
)
@settings(max_examples=150, deadline=None)
def test_the_batch_encoder_equals_msgpack_python(events: list[Any]) -> None:
    evs = [
        Entry(seq, ts, "import", "user", "Service", ns, name, [Write(*w) for w in writes], extra)
        for seq, ts, name, ns, writes, extra in events
    ]
    by_msgpack_python = [
        frame(
            msgpack.packb(
                [1, e.seq, e.ts, e.verb, e.actor, e.kind, e.namespace, e.name,
                 [[w.op, w.kind, w.key, w.rv, w.blob] for w in e.writes], e.extra],
                use_bin_type=True,
            )
        )
        for e in evs
    ]  # fmt: skip
    assert frame_entries(evs) == b"".join(by_msgpack_python)
    assert frame_entries(evs) == b"".join(frame(encode_entry(e)) for e in evs)


def test_the_batch_encoder_refuses_what_it_does_not_know() -> None:
    ev = Entry(1, 0.0, "v", "a", "Service", None, "n", [], {"x": {1, 2}})
    with pytest.raises(TypeError):
        frame_entries([ev])


@pytest.mark.parametrize("extra", [{"x": b"\x00"}, {"x": math.inf}, {"x": [math.nan]}])
def test_the_encoders_refuse_an_extra_no_reader_takes(extra: dict[str, Any]) -> None:
    ev = Entry(1, 0.0, "v", "a", "Service", None, "n", [], extra)
    for encode in (lambda: frame_entries([ev]), lambda: encode_entry(ev)):
        with pytest.raises(InvalidInputError, match="extra"):
            encode()


def test_an_imported_history_reads_back_as_the_in_memory_one(tmp_path: Path) -> None:
    """The import's records, written in batches, read back as the very entries an
    in-memory import records."""
    from servicecidr.importers import import_observed

    log = tmp_path / "audit.log"
    src = Cluster("10.0.0.0/24", seed=5, clock=SimulatedClock(), audit_log=log)
    for i in range(25):
        src.create(svc(f"s{i}"))
        if i % 3 == 0:
            src.delete("Service", f"s{i}")
    src.close()
    mem = Cluster("10.0.0.0/24", seed=5, clock=SimulatedClock())
    import_observed(mem, "audit", [log])
    disk = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range="10.0.0.0/24",
        seed=5,
        clock=SimulatedClock(),
        durability="none",
    )
    import_observed(disk, "audit", [log])
    assert disk.digest() == mem.digest()
    disk.close()
    back = list(Cluster.open(tmp_path / "s", read_only=True).events())
    assert [encode_entry(e) for e in back] == [encode_entry(e) for e in mem.events()]


def test_a_failed_batch_write_stops_further_writes(tmp_path: Path) -> None:
    """A flush that fails outside an append (here: events() reading the history) leaves
    the in-memory state ahead of the log: the cluster then refuses every write and every
    snapshot, and the directory reopens at what is on disk."""
    import errno

    from servicecidr.errors import StateError
    from servicecidr.journal import fsio

    c = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range="10.0.0.0/24",
        seed=3,
        clock=SimulatedClock(),
        durability="fsync",
    )
    on_disk = c.seq

    def full(op: str, n: int) -> int:
        if op == "write":
            raise OSError(errno.ENOSPC, "No space left on device")
        return n

    with c.bulk():
        c.create(svc("a"))
        c.create(svc("b"))
        with fsio.inject(full), pytest.raises(StateError, match="No space left"):
            list(c.events())
        with pytest.raises(StateError, match="takes no more writes"):
            c.create(svc("c"))
        with pytest.raises(StateError, match="no snapshot"):
            c.snapshot()
    c.close()
    assert Cluster.open(tmp_path / "s", read_only=True).seq == on_disk
