"""The durable event log: format, recovery, snapshots, time travel, locking, CLI."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster, SimulatedClock
from servicecidr.clock import SIMULATION_EPOCH, format_time
from servicecidr.journal import records
from servicecidr.journal import segments as logmod
from servicecidr.journal.records import SCHEMA_VERSION, decode_entry, encode_entry
from servicecidr.journal.segments import (
    HEADER_SIZE,
    LogCorruptError,
    ReadOnlyError,
    StateError,
    StateLockedError,
    TornTailError,
    crc32c,
    list_segments,
)
from servicecidr.journal.snapshots import list_snapshots
from servicecidr.journal.state import read_meta

RANGE = "10.0.0.0/24"


def svc(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def scidr(name: str, *cidrs: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": list(cidrs)},
    }


def build(path: Path, n: int = 6, **kw: Any) -> str:
    """A small history; returns the live digest."""
    kw.setdefault("durability", "none")
    with Cluster.open(
        path, service_cluster_ip_range=RANGE, seed=3, clock=SimulatedClock(), **kw
    ) as c:
        for i in range(n):
            c.create(svc(f"s{i}"))
            c.clock.advance(1)
        c.delete("Service", "s1")
        return c.digest()


def files(path: Path) -> dict[str, bytes]:
    """Every file under a directory, with its bytes (to prove nothing was written)."""
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def replayed_digest(path: Path) -> str:
    with Cluster.open(path, read_only=True) as c:
        events = list(c.iter_events())
        return Cluster.replay(events, c.service_cluster_ip_range, seed=c.seed).digest()


def last_segment(path: Path) -> Path:
    return list_segments(path / "log")[-1].path


def record_offsets(seg: Path) -> list[int]:
    data = seg.read_bytes()
    off, out = HEADER_SIZE, []
    while off < len(data):
        out.append(off)
        (length,) = struct.unpack_from("<I", data, off)
        off += 8 + length
    return out


# ------------------------------------------------------------------------------ basics


def test_crc32c_matches_the_reference_vectors() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert logmod._py_crc32c_extend(0, b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    data = os.urandom(1000)
    assert crc32c(data) == logmod._py_crc32c_extend(0, data)
    assert logmod.crc32c_extend(crc32c(data[:300]), data[300:]) == crc32c(data)


def test_reopen_reaches_the_live_state_and_events(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=3, clock=SimulatedClock()) as c:
        for i in range(5):
            c.create(svc(f"s{i}"))
        c.delete("Service", "s2")
        live = c.digest()
        live_events = [encode_entry(e) for e in c.events()]
    assert sorted(os.listdir(d)) == ["lock", "log", "meta", "snapshots"]
    with Cluster.open(d) as c2:
        assert c2.digest() == live
        assert [encode_entry(e) for e in c2.events()] == live_events
        assert c2.service_cluster_ip_range == (RANGE,)
        assert c2.seed == 3
    assert replayed_digest(d) == live


def test_a_fresh_open_decides_like_an_in_memory_cluster(tmp_path: Path) -> None:
    mem = Cluster(RANGE, seed=9, clock=SimulatedClock())
    with Cluster.open(
        tmp_path / "st", service_cluster_ip_range=RANGE, seed=9, clock=SimulatedClock()
    ) as c:
        for x in (mem, c):
            for i in range(4):
                x.create(svc(f"a{i}"))
        assert c.digest() == mem.digest()


def test_reopening_continues_the_random_stream_instead_of_repeating_it(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=5, clock=SimulatedClock()) as c:
        first = c.create(svc("a"))["metadata"]["uid"]
    with Cluster.open(d) as c:
        second = c.create(svc("b"))["metadata"]["uid"]
    assert first != second


def test_the_codec_and_the_checked_python_reader_agree(tmp_path: Path) -> None:
    import msgpack

    c = Cluster(RANGE, seed=1, clock=SimulatedClock())
    for i in range(5):
        c.create(svc(f"s{i}"))
    c.delete("Service", "s0")
    c.reconcile()
    for ev in c.events():
        p = encode_entry(ev)
        # msgpack-python's packing of the same array is the codec's record, byte for byte
        rec = [
            SCHEMA_VERSION, ev.seq, ev.ts, ev.verb, ev.actor, ev.kind, ev.namespace,
            ev.name, [[w.op, w.kind, w.key, w.rv, w.blob] for w in ev.writes], ev.extra,
        ]  # fmt: skip
        assert p == msgpack.packb(rec, use_bin_type=True)
        assert decode_entry(p) == records.decode_checked(p) == ev


def test_an_older_schema_version_is_upcast_and_a_newer_one_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msgpack

    c = Cluster(RANGE, seed=1, clock=SimulatedClock())
    ev = c.events()[0]
    rec = msgpack.unpackb(encode_entry(ev), raw=False)
    # a pretend schema 0 that kept actor and verb in the other order
    old = [SCHEMA_VERSION - 1, rec[1], rec[2], rec[4], rec[3], *rec[5:]]

    def up(r: list[Any]) -> list[Any]:
        return [r[0] + 1, r[1], r[2], r[4], r[3], *r[5:]]

    monkeypatch.setitem(records.UPCASTS, SCHEMA_VERSION - 1, up)
    assert decode_entry(msgpack.packb(old, use_bin_type=True)) == ev
    newer = [SCHEMA_VERSION + 1, *rec[1:]]
    with pytest.raises(Exception, match="newer than this servicecidr"):
        decode_entry(msgpack.packb(newer, use_bin_type=True))


# ------------------------------------------------------------------------------ recovery


def test_a_torn_tail_at_every_byte_is_refused_then_repaired(tmp_path: Path) -> None:
    src = tmp_path / "src"
    build(src, n=3)
    seg = last_segment(src)
    data = seg.read_bytes()
    last = record_offsets(seg)[-1]
    for cut in range(last + 1, len(data)):
        d = tmp_path / f"cut{cut}"
        shutil.copytree(src, d)
        seg_d = last_segment(d)
        seg_d.write_bytes(data[:cut])
        before = files(d)
        with pytest.raises(TornTailError) as ei:
            Cluster.open(d)
        assert str(seg_d) in str(ei.value) and f"byte {last}" in str(ei.value)
        assert "repair=True" in str(ei.value)
        assert ei.value.offset == last
        assert files(d) == before, "a refused open must write nothing"
        with pytest.warns(RuntimeWarning, match="torn record"):
            c = Cluster.open(d, repair=True)
        with c:
            assert c.seq == len(record_offsets(seg)) - 1  # the torn record is gone
            expected = replayed_digest_inline(c)
            assert c.digest() == expected
        torn = seg_d.with_name(f"{seg_d.name}.torn-{last}")
        assert torn.read_bytes() == data[last:cut]
        shutil.rmtree(d)


def replayed_digest_inline(c: Cluster) -> str:
    return Cluster.replay(list(c.iter_events()), c.service_cluster_ip_range, seed=c.seed).digest()


@pytest.mark.parametrize("where", ["payload", "length", "crc"])
def test_a_flipped_byte_in_the_middle_is_corruption(tmp_path: Path, where: str) -> None:
    d = tmp_path / "st"
    build(d)
    seg = last_segment(d)
    data = bytearray(seg.read_bytes())
    off = record_offsets(seg)[3]
    data[off + {"length": 1, "crc": 5, "payload": 40}[where]] ^= 0x5A
    seg.write_bytes(bytes(data))
    before = files(d)
    for kw in ({}, {"repair": True}, {"read_only": True}):
        with pytest.raises(LogCorruptError) as ei:
            Cluster.open(d, **kw)  # type: ignore[arg-type]
        assert not isinstance(ei.value, TornTailError)
        assert str(seg) in str(ei.value) and f"byte {off}" in str(ei.value)
        assert files(d) == before


def test_a_truncated_header_is_an_error_and_nothing_is_written(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d)
    seg = last_segment(d)
    seg.write_bytes(seg.read_bytes()[:10])
    before = files(d)
    with pytest.raises(LogCorruptError, match=r"truncated segment header \(10 of 24 bytes\)") as ei:
        Cluster.open(d, repair=True)
    assert str(seg) in str(ei.value)
    assert files(d) == before


def test_a_file_that_is_not_a_log_is_an_error_and_nothing_is_written(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d)
    seg = last_segment(d)
    seg.write_text("hello, I am a shopping list\n" * 20)
    before = files(d)
    with pytest.raises(LogCorruptError, match="not a servicecidr log segment") as ei:
        Cluster.open(d)
    assert str(seg) in str(ei.value)
    assert files(d) == before


def test_damage_at_the_end_of_an_earlier_segment_is_corruption(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d, n=30, segment_bytes=4096)
    segs = list_segments(d / "log")
    assert len(segs) >= 3
    first = segs[0].path
    first.write_bytes(first.read_bytes()[:-5])
    with pytest.raises(LogCorruptError, match="not the last segment"):
        Cluster.open(d, repair=True)


def test_a_missing_middle_segment_is_corruption(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d, n=30, segment_bytes=4096)
    list_segments(d / "log")[1].path.unlink()
    with pytest.raises(LogCorruptError, match="segment is missing"):
        Cluster.open(d)


def test_other_paths_are_refused_without_writing(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StateError, match="not a directory"):
        Cluster.open(f)
    d = tmp_path / "notstate"
    (d / "log").mkdir(parents=True)
    (d / "log" / "0000000000000001.log").write_bytes(b"")
    with pytest.raises(StateError, match="no meta file"):
        Cluster.open(d)
    assert sorted(os.listdir(d)) == ["log"]
    (d / "log" / "0000000000000001.log").unlink()
    (d / "notes.txt").write_text("mine")
    with pytest.raises(StateError, match="no meta file"):
        Cluster.open(d)
    assert sorted(os.listdir(d)) == ["log", "notes.txt"]
    with pytest.raises(StateError, match="no state directory"):
        Cluster.open(tmp_path / "missing", read_only=True)


# ------------------------------------------------------------------------------ locking


def test_one_writer_at_a_time_and_readers_share(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d)
    with Cluster.open(d) as w:
        with pytest.raises(StateLockedError, match="read_only=True") as ei:
            Cluster.open(d)
        assert str(d) in str(ei.value)
        with pytest.raises(StateLockedError, match=f"pid {os.getpid()}"):
            Cluster.open(d, read_only=True)
        w.create(svc("more"))
    with Cluster.open(d, read_only=True) as r1, Cluster.open(d, read_only=True) as r2:
        assert r1.digest() == r2.digest()
        with pytest.raises(StateLockedError):
            Cluster.open(d)
    with Cluster.open(d) as w:
        assert w.count("Service") == 7


def test_read_only_refuses_writes_and_stays_consistent(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d)
    before = files(d)
    with Cluster.open(d, read_only=True) as c:
        digest = c.digest()
        with pytest.raises(ReadOnlyError, match="read-only"):
            c.create(svc("new"))
        with pytest.raises(ReadOnlyError):
            c.delete("Service", "s0")
        with pytest.raises(ReadOnlyError):
            c.snapshot()
        assert c.create(svc("dry"), dry_run=True)["metadata"]["name"] == "dry"
        assert c.digest() == digest, "a refused create must give its address back"
    assert files(d) == before


def test_a_closed_cluster_refuses_writes(tmp_path: Path) -> None:
    d = tmp_path / "st"
    c = Cluster.open(d, service_cluster_ip_range=RANGE)
    c.close()
    c.close()
    with pytest.raises(ReadOnlyError, match="closed"):
        c.create(svc("x"))
    with Cluster.open(d) as c2:  # the lock was released
        assert c2.count("Service") == 1


def test_a_cluster_dropped_without_close_releases_the_lock(tmp_path: Path) -> None:
    import gc

    d = tmp_path / "st"
    c = Cluster.open(d, service_cluster_ip_range=RANGE)
    del c
    gc.collect()
    Cluster.open(d).close()


# ------------------------------------------------------------------------------ flags, clock


def test_flags_are_stored_and_a_restart_with_other_flags_updates_them(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=4) as c:
        c.create(svc("a"))
    meta = read_meta(d)
    assert meta["service_cluster_ip_range"] == [RANGE] and meta["seed"] == 4
    with Cluster.open(d) as c:
        assert c.service_cluster_ip_range == (RANGE,) and c.seed == 4
    with Cluster.open(d, service_cluster_ip_range=f"{RANGE},fd00::/108") as c:
        assert c.get("ServiceCIDR", "kubernetes")["spec"]["cidrs"] == [RANGE, "fd00::/108"]
    assert read_meta(d)["service_cluster_ip_range"] == [RANGE, "fd00::/108"]
    with Cluster.open(d) as c:
        assert c.families == ("IPv4", "IPv6")


def test_a_simulated_clock_continues_where_the_history_left_it(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, clock=SimulatedClock()) as c:
        c.clock.advance(30)
        c.create(svc("a"))
        c.reconcile(advance="1h")  # time passes without events
        end = c.clock.now()
    assert read_meta(d)["clock"] == {"kind": "simulated", "time": end}
    # a crash: the process dies without close(), so the meta time is stale
    crash = (
        "import os, sys\n"
        "from servicecidr import Cluster\n"
        "c = Cluster.open(sys.argv[1])\n"
        "c.clock.advance(5)\n"
        "c.create({'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'b'},\n"
        "          'spec': {'ports': [{'port': 80}]}})\n"
        "print(c.clock.now(), flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", crash, str(d)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    died_at = float(out.stdout)
    assert died_at == end + 5
    with Cluster.open(d) as c:
        assert c.clock.now() == died_at
    with Cluster.open(d, clock=SimulatedClock()) as c:  # a caller's clock is moved forward
        assert c.clock.now() == died_at


def test_a_wall_clock_state_stays_on_the_wall_clock(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE) as c:
        assert not c.clock.simulated
    assert read_meta(d)["clock"] == {"kind": "wall"}
    with Cluster.open(d) as c:
        assert not c.clock.simulated


# ------------------------------------------------------------------------------ durability


@pytest.mark.parametrize("mode", ["fsync", "group", "none"])
def test_every_durability_mode_round_trips(tmp_path: Path, mode: str) -> None:
    d = tmp_path / mode
    live = build(d, n=20, durability=mode, group_ms=1, group_records=4)
    with Cluster.open(d, read_only=True) as c:
        assert c.digest() == live


def test_group_commit_syncs_within_its_window(tmp_path: Path) -> None:
    import time

    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, durability="group", group_ms=5) as c:
        w = c.engine.recorder.writer
        c.create(svc("a"))
        # The window is 5 ms; the minute only bounds a broken committer, so a busy
        # machine cannot fail this (no test asserts time).
        deadline = time.monotonic() + 60
        while w.pending and time.monotonic() < deadline:
            time.sleep(0.005)
        assert w.pending == 0


def test_an_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="durability 'sometimes'"):
        Cluster.open(tmp_path / "st", durability="sometimes")


# ------------------------------------------------------------------------------ snapshots


def test_snapshot_then_tail_reaches_the_live_state(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=2, clock=SimulatedClock()) as c:
        for i in range(5):
            c.create(svc(f"s{i}"))
        path = c.snapshot()
        assert Path(path).name == f"{c.seq:016d}.snap"
        c.delete("Service", "s0")
        c.create(scidr("extra", "10.1.0.0/24"))
        c.reconcile()
        c.create(svc("late"))
        live = c.digest()
    segs = list_segments(d / "log")
    assert len(segs) == 2 and segs[1].first_seq == int(Path(path).stem) + 1
    with Cluster.open(d, read_only=True) as c:
        assert c.digest() == live
    assert replayed_digest(d) == live


def test_a_damaged_snapshot_is_skipped_with_a_warning(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=2, clock=SimulatedClock()) as c:
        c.create(svc("a"))
        c.snapshot()
        c.create(svc("b"))
        newest = Path(c.snapshot())
        c.create(svc("c"))
        live = c.digest()
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 1
    newest.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="snapshot CRC mismatch"), Cluster.open(d) as c:
        assert c.digest() == live
    for s in list_snapshots(d / "snapshots"):
        s.path.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="not a servicecidr snapshot"), Cluster.open(d) as c:
        assert c.digest() == live


def test_a_snapshot_loaded_with_another_seed_rebuilds_its_allocators(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=2) as c:
        for i in range(5):
            c.create(svc(f"s{i}"))
        c.snapshot()
        live = c.digest()
    with Cluster.open(d, seed=99) as c:
        assert c.digest() == live


def test_compact_drops_covered_segments_and_older_snapshots(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=2, clock=SimulatedClock()) as c:
        for i in range(4):
            c.create(svc(f"s{i}"))
        c.snapshot()
        c.create(svc("x"))
        c.snapshot()
        c.create(svc("y"))
        live = c.digest()
        removed = sorted(Path(p).name for p in c.compact())
        assert [n.rpartition(".")[2] for n in removed] == ["log", "snap", "log"]
        assert c.compact() == ()
        assert c.count("Service") == 7
    segs = [s.path.name for s in list_segments(d / "log")]
    assert len(segs) == 1
    assert len(list_snapshots(d / "snapshots")) == 1
    with Cluster.open(d) as c:
        assert c.digest() == live
        assert [e.seq for e in c.events()] == [c.seq]  # only the tail is left
    with pytest.raises(StateError, match="no valid snapshot covers"):
        Cluster.open(d, as_of=2)


def test_in_memory_clusters_have_no_snapshot_or_compact() -> None:
    c = Cluster(RANGE)
    with pytest.raises(Exception, match=r"Cluster\.open"):
        c.snapshot()
    with pytest.raises(Exception, match=r"Cluster\.open"):
        c.compact()
    c.close()
    with c:
        pass
    # after the four system namespaces and the default ServiceCIDR (create, status)
    assert [e.seq for e in c.iter_events(kind="Service")] == [7]


# ------------------------------------------------------------------------------ time travel


def test_as_of_a_sequence_number_or_a_time(tmp_path: Path) -> None:
    d = tmp_path / "st"
    digests: dict[int, str] = {}
    times: dict[int, float] = {}
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=2, clock=SimulatedClock()) as c:
        for i in range(6):
            c.clock.advance(10)
            c.create(svc(f"s{i}"))
            digests[c.seq], times[c.seq] = c.digest(), c.clock.now()
            if i == 2:
                c.snapshot()
        last = c.seq
    for seq, digest in digests.items():
        with Cluster.open(d, as_of=seq) as c:
            assert c.digest() == digest
            assert c.seq == seq
            assert [e.seq for e in c.events()][-1] == seq
            with pytest.raises(ReadOnlyError, match="as of"):
                c.create(svc("nope"))
        t = times[seq]
        for point in (t, t + 5.0, format_time(t), datetime.fromtimestamp(t, UTC)):
            with Cluster.open(d, as_of=point) as c:
                assert c.digest() == digest, point
                assert c.clock.now() == t
    with pytest.raises(StateError, match="past the end"):
        Cluster.open(d, as_of=last + 1)
    with Cluster.open(d, as_of=0) as c:
        assert c.count("Service") == 0


def test_iter_events_filters(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with Cluster.open(d, service_cluster_ip_range=RANGE, seed=2, clock=SimulatedClock()) as c:
        # 1-4: the system namespaces; 5, 6: the default ServiceCIDR; 7: default/kubernetes
        c.create(svc("web"))  # 8
        c.clock.advance(10)
        c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})  # 9
        c.create(svc("web", ns="prod"))  # 10
        c.create(svc("db", ns="prod"))  # 11
        c.clock.advance(10)
        c.delete("Service", "web", "prod")  # 12
        t0 = SIMULATION_EPOCH
        assert [e.seq for e in c.iter_events(name="web")] == [8, 10, 12]
        assert [e.seq for e in c.iter_events(namespace="prod", name="web")] == [10, 12]
        assert [e.seq for e in c.iter_events(kind="ServiceCIDR")] == [5, 6]
        assert [e.seq for e in c.iter_events(kind="IPAddress", namespace="prod")] == []
        assert [e.seq for e in c.iter_events(since=t0 + 5, until=t0 + 10.0)] == [9, 10, 11]
        assert [e.seq for e in c.iter_events(since=5, until=6)] == [5, 6]
        assert [e.seq for e in c.iter_events(since=format_time(t0 + 20))] == [12]
        mem = Cluster.replay(c.events(), RANGE, seed=2)
        assert [e.seq for e in mem.iter_events(name="web")] == [8, 10, 12]
        assert len(c.events()) == 12


# ------------------------------------------------------------------------------ command line


def cli(*argv: str) -> tuple[int, str, str]:
    from servicecidr.cli import log_cmd
    from servicecidr.cli.main import build_parser

    class Streams:
        out = io.StringIO()
        err = io.StringIO()

    args = build_parser().parse_args(list(argv))
    rc = log_cmd.run(args, Streams)
    return rc, Streams.out.getvalue(), Streams.err.getvalue()


def test_cli_verify_show_snapshot_compact_repair(tmp_path: Path) -> None:
    d = tmp_path / "st"
    build(d)
    rc, out, _ = cli("--state", str(d), "log", "verify")
    assert rc == 0 and "0 problems" in out
    rc, out, _ = cli("--state", str(d), "log", "show", "--kind", "Service", "--name", "s1")
    assert rc == 0 and len(out.splitlines()) == 2 and "delete" in out.splitlines()[1]
    rc, out, _ = cli("--state", str(d), "log", "show", "-o", "json", "--since", "8", "--until", "8")
    import json

    (line,) = out.splitlines()
    ev = json.loads(line)
    assert ev["seq"] == 8 and ev["writes"][0]["object"]["kind"] == "IPAddress"
    rc, out, _ = cli("--state", str(d), "log", "snapshot")
    assert rc == 0 and ".snap" in out
    rc, out, _ = cli("--state", str(d), "log", "compact")
    assert rc == 0 and "removed" in out
    # a torn tail: verify says so (exit 1), repair cuts it, verify is happy again
    seg = last_segment(d)
    with Cluster.open(d) as c:
        c.create(svc("z"))
    seg = last_segment(d)
    seg.write_bytes(seg.read_bytes()[:-7])
    rc, out, _ = cli("--state", str(d), "log", "verify")
    assert rc == 1 and "REPAIRABLE" in out and "log repair" in out
    rc, out, _ = cli("--state", str(d), "log", "show")
    assert rc == 0
    rc, out, _ = cli("--state", str(d), "log", "repair")
    assert rc == 0 and "cut" in out and ".torn-" in out
    rc, out, _ = cli("--state", str(d), "log", "verify", "-o", "json")
    assert rc == 0 and json.loads(out)["ok"] is True
    # corruption in the middle: repair refuses and writes nothing
    with Cluster.open(d) as c:
        for name in ("m1", "m2", "m3"):
            c.create(svc(name))
    data = bytearray(seg.read_bytes())
    data[HEADER_SIZE + 30] ^= 1
    seg.write_bytes(bytes(data))
    before = files(d)
    rc, _, err = cli("--state", str(d), "log", "repair")
    assert rc == 1 and "nothing was changed" in err
    assert files(d) == before
    rc, _, err = cli("--state", str(tmp_path / "nothing"), "log", "verify")
    assert rc == 1 and "not a servicecidr state directory" in err


def test_cli_state_defaults_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "envstate"
    build(d)
    monkeypatch.setenv("SERVICECIDR_STATE", str(d))
    rc, out, _ = cli("log", "verify")
    assert rc == 0 and str(d) in out


def test_progress_shows_only_on_a_terminal_after_the_delay() -> None:
    from servicecidr.cli.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = io.StringIO()
    p = Progress(quiet, delay=0)
    p.start(10, "x")
    p.update(5)
    p.finish()
    assert quiet.getvalue() == ""
    tty = Tty()
    p = Progress(tty, delay=0)
    p.start(10, "work")
    p.update(5)
    p.finish()
    assert "work [" in tty.getvalue() and "50.0%" in tty.getvalue()
    tty2 = Tty()
    p = Progress(tty2, delay=60)
    p.start(10, "work")
    p.update(5)
    assert tty2.getvalue() == ""
    unknown = Tty()
    p = Progress(unknown, delay=0)
    p.start(0, "replaying")
    p.update(12345)
    assert "replaying 12,345" in unknown.getvalue()
