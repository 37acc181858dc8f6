"""Batched log writes (an import is one call): the records are the ones one-by-one
appends write, byte for byte, rotation still happens, readers see batched events, and
the Rust encoder equals ``frame(encode_event(ev))``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecidr import Cluster, SimulatedClock
from servicecidr._core import encode_log_records, frame_import_event
from servicecidr.events.log import frame
from servicecidr.events.model import OP_DELETE, OP_PUT, Event, Write, encode_event
from servicecidr.events.recovery import iter_log


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
    assert c._persist is not None
    ctx = c._persist.batch(c) if batch else None
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
        assert [encode_event(e) for e in iter_log(tmp_path / "many" / "log")] == [
            encode_event(e) for e in events
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
    assert c._persist is not None
    with c._persist.batch(c):
        c.create(svc("a"))
        seq = c._seq
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


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.binary(max_size=300),
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
def test_the_rust_encoder_equals_the_python_one(events: list[Any]) -> None:
    evs = [
        Event(seq, ts, "import", "user", "Service", ns, name, [Write(*w) for w in writes], extra)
        for seq, ts, name, ns, writes, extra in events
    ]
    assert encode_log_records(evs) == b"".join(frame(encode_event(e)) for e in evs)


def test_the_rust_encoder_refuses_what_it_does_not_know() -> None:
    ev = Event(1, 0.0, "v", "a", "Service", None, "n", [], {"x": {1, 2}})
    with pytest.raises(TypeError):
        encode_log_records([ev])


@given(
    st.integers(1, 2**40),
    st.floats(0, 2e9),
    st.text(max_size=40),
    st.sampled_from(["Service", "IPAddress"]),
    st.one_of(st.none(), st.text(max_size=20)),
    st.text(max_size=300),
    st.sampled_from([OP_PUT, OP_DELETE]),
    st.integers(0, 2**40),
    st.one_of(st.none(), st.binary(max_size=70000)),
    st.sampled_from(["create", "update", "patch", "delete"]),
    st.text(max_size=80),
    st.text(max_size=40),
)
@settings(max_examples=150, deadline=None)
def test_an_import_record_framed_in_rust_equals_the_python_one(
    seq: int,
    ts: float,
    actor: str,
    kind: str,
    ns: str | None,
    name: str,
    op: int,
    rv: int,
    blob: bytes | None,
    verb: str,
    at: str,
    audit_id: str,
) -> None:
    key = f"{ns}/{name}" if ns else name
    extra: dict[str, Any] = {"import": verb, "at": at}
    if audit_id:
        extra["auditID"] = audit_id
    ev = Event(seq, ts, "import", actor, kind, ns, name, [Write(op, kind, key, rv, blob)], extra)
    got = frame_import_event(seq, ts, actor, kind, ns, name, op, key, rv, blob, verb, at, audit_id)
    assert got == frame(encode_event(ev))
    assert encode_log_records([got, ev]) == got + frame(encode_event(ev))


def test_an_imported_history_reads_back_as_the_in_memory_one(tmp_path: Path) -> None:
    """The import's records framed in Rust (no Event built) read back as the very events
    an in-memory import records."""
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
    assert [encode_event(e) for e in back] == [encode_event(e) for e in mem.events()]


def test_a_failed_batch_write_stops_further_writes(tmp_path: Path) -> None:
    """A flush that fails outside an append (here: events() reading the history) leaves
    the in-memory state ahead of the log: the cluster then refuses every write and every
    snapshot, and the directory reopens at what is on disk."""
    import errno

    from servicecidr.errors import StateError
    from servicecidr.events import fsio

    c = Cluster.open(
        tmp_path / "s",
        service_cluster_ip_range="10.0.0.0/24",
        seed=3,
        clock=SimulatedClock(),
        durability="fsync",
    )
    assert c._persist is not None
    on_disk = c._seq

    def full(op: str, n: int) -> int:
        if op == "write":
            raise OSError(errno.ENOSPC, "No space left on device")
        return n

    with c._persist.batch(c):
        c.create(svc("a"))
        c.create(svc("b"))
        with fsio.inject(full), pytest.raises(StateError, match="No space left"):
            list(c.events())
        with pytest.raises(StateError, match="takes no more writes"):
            c.create(svc("c"))
        with pytest.raises(StateError, match="no snapshot"):
            c.snapshot()
    c.close()
    assert Cluster.open(tmp_path / "s", read_only=True)._seq == on_disk
