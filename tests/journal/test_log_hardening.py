"""The state directory under hostile and clumsy conditions: a removed lock file, a full
disk, failing fsyncs, CRC-valid records and snapshots that do not decode, a damaged last
record, an interrupted init, a damaged meta file, folders that are files."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from journal.journal_faults import CLI_WITH_FAULT, DiskFull, Fail
from journal.test_log import RANGE, build, files, last_segment, record_offsets, svc
from servicecidr import Cluster, SimulatedClock
from servicecidr._core import MAX_OBJECT_DEPTH
from servicecidr.cli.main import main
from servicecidr.errors import (
    InvalidInputError,
    LogCorruptError,
    NotFoundError,
    SnapshotError,
    StateError,
    StateLockedError,
    TornTailError,
)
from servicecidr.journal import fsio, recovery
from servicecidr.journal.segments import crc32c, list_segments
from servicecidr.journal.snapshots import list_snapshots, read_snapshot
from servicecidr.journal.state import dir_status
from servicecidr.store import decode_object, new_store

TESTS = Path(__file__).resolve().parent


def opened(path: Path, **kw: Any) -> Cluster:
    kw.setdefault("durability", "fsync")
    return Cluster.open(path, service_cluster_ip_range=RANGE, seed=3, clock=SimulatedClock(), **kw)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------ the lock


def test_removing_the_lock_file_does_not_let_a_second_writer_in(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with opened(d) as c:
        c.create(svc("a"))
        (d / "lock").unlink()
        with pytest.raises(StateLockedError):
            Cluster.open(d)
        with pytest.raises(StateLockedError):
            Cluster.open(d, read_only=True)
        c.create(svc("b"))
    with Cluster.open(d, read_only=True) as r:
        assert {s["metadata"]["name"] for s in r.list("Service")} == {"kubernetes", "a", "b"}


def test_the_writer_records_its_pid_in_the_lock_file(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with opened(d):
        assert (d / "lock").read_text().strip() == str(os.getpid())
        with pytest.raises(StateLockedError, match=f"pid {os.getpid()}"):
            Cluster.open(d, read_only=True)


def test_a_lock_that_is_a_directory_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "st"
    build(d)
    (d / "lock").unlink()
    (d / "lock").mkdir()
    code, out, err = cli(capsys, "--state", str(d), "get", "svc", "s0")
    assert code == 0 and "s0" in out, err
    with Cluster.open(d) as c, pytest.raises(StateLockedError):
        Cluster.open(d)
        assert c.count("Service") == 6


def test_folders_that_are_files_are_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "st"
    build(d)
    shutil.rmtree(d / "log")
    (d / "log").write_text("not a folder")
    with pytest.raises(StateError, match="not a directory"):
        Cluster.open(d, read_only=True)
    for argv in (("get", "svc"), ("log", "verify"), ("log", "repair"), ("log", "show")):
        code, _, err = cli(capsys, "--state", str(d), *argv)
        assert code == 1 and "not a directory" in err, argv
    (d / "log").unlink()
    (d / "log").mkdir()
    shutil.rmtree(d / "snapshots")
    (d / "snapshots").write_text("not a folder either")
    code, _, err = cli(capsys, "--state", str(d), "get", "svc")
    assert code == 1 and "not a directory" in err


# ------------------------------------------------------------------------------ full disk


def test_a_write_the_log_cannot_store_is_not_applied(tmp_path: Path) -> None:
    """ENOSPC in the middle of a record: the call fails, memory is as before (the
    address it chose is free again), the segment ends at its last whole record, and
    once there is room the same create succeeds."""
    d = tmp_path / "st"
    c = opened(d)
    c.create(svc("a"))
    before, seq = c.digest(), c.seq
    seg = last_segment(d)
    size = seg.stat().st_size
    with fsio.inject(DiskFull(free=100)), pytest.raises(StateError, match="No space left"):
        c.create(svc("b"))
    assert c.digest() == before and c.seq == seq
    with pytest.raises(NotFoundError):
        c.get("Service", "b")
    assert seg.stat().st_size == size
    b = c.create(svc("b"))
    c.close()
    with Cluster.open(d, read_only=True) as r:
        assert r.get("Service", "b")["spec"]["clusterIP"] == b["spec"]["clusterIP"]
        assert [ev.seq for ev in r.iter_events()] == list(range(1, r.seq + 1))


def test_a_failed_write_never_reaches_a_snapshot(tmp_path: Path) -> None:
    d = tmp_path / "st"
    c = opened(d)
    c.create(svc("a"))
    with fsio.inject(DiskFull()), pytest.raises(StateError):
        c.create(svc("b"))
    c.snapshot()
    c.close()
    (snap,) = list_snapshots(d / "snapshots")
    store = new_store()
    read_snapshot(snap.path, into=store)
    assert store.contains("Service", "default/a") and not store.contains("Service", "default/b")
    with Cluster.open(d, read_only=True) as r, pytest.raises(NotFoundError):
        r.get("Service", "b")


def test_a_failed_create_gives_its_node_ports_back(tmp_path: Path) -> None:
    d = tmp_path / "st"
    c = opened(d)
    np = svc("np", type="NodePort")
    np["spec"]["ports"][0]["nodePort"] = 30080
    with fsio.inject(DiskFull()), pytest.raises(StateError):
        c.create(np)
    other = svc("other", type="NodePort")
    other["spec"]["ports"][0]["nodePort"] = 30080
    assert c.create(other)["spec"]["ports"][0]["nodePort"] == 30080
    c.close()


@pytest.mark.parametrize("mode", ["fsync", "group"])
def test_a_failed_fsync_stops_writes_until_reopened(tmp_path: Path, mode: str) -> None:
    """After a failed fsync what reached the disk is unknown: the record is cut off,
    the call fails, and every later write and snapshot is refused; reads go on."""
    d = tmp_path / "st"
    c = opened(d, durability=mode, group_records=1)
    c.create(svc("a"))
    before = c.digest()
    size = last_segment(d).stat().st_size
    with fsio.inject(Fail("sync", times=1)), pytest.raises(StateError, match="fsync failed"):
        c.create(svc("b"))
    assert c.digest() == before and last_segment(d).stat().st_size == size
    with pytest.raises(StateError, match="refused until the directory is opened again"):
        c.create(svc("c"))
    with pytest.raises(StateError, match="no snapshot"):
        c.snapshot()
    assert c.get("Service", "a")["metadata"]["name"] == "a"
    c.close()
    with opened(d) as again:
        assert again.digest() == before
        again.create(svc("c"))


def test_a_full_disk_at_rotation_keeps_the_record_and_the_segment(tmp_path: Path) -> None:
    """The record is written when the segment is full; creating the next segment fails:
    the call still succeeds (its record is in the log) and appends go on."""
    d = tmp_path / "st"
    c = opened(d, segment_bytes=4096)  # the start's writes fit; the 8 creates do not
    with fsio.inject(Fail("create")):
        for i in range(8):
            c.create(svc(f"s{i}"))
    assert len(list_segments(d / "log")) == 1
    c.create(svc("after"))  # the disk has room again: the log rotates
    live = c.digest()
    c.close()
    assert len(list_segments(d / "log")) == 2
    with Cluster.open(d, read_only=True) as r:
        assert r.digest() == live


def test_meta_that_cannot_be_written_on_close_is_a_warning(tmp_path: Path) -> None:
    d = tmp_path / "st"
    c = opened(d)
    c.create(svc("a"))
    c.clock.advance(30)
    with fsio.inject(Fail("create")), pytest.warns(RuntimeWarning, match="meta"):
        c.close()
    with Cluster.open(d, read_only=True) as r:
        assert r.get("Service", "a")


def test_an_init_on_a_full_disk_leaves_a_directory_that_opens_later(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with fsio.inject(DiskFull()), pytest.raises(StateError, match="No space left"):
        opened(d)
    assert dir_status(d) in ("missing", "unfinished")
    with fsio.inject(Fail("create", after=1)), pytest.raises(StateError):
        opened(d)  # meta written, the first segment not
    with opened(d) as c:
        c.create(svc("a"))
    with Cluster.open(d, read_only=True) as r:
        assert r.get("Service", "a")


def test_what_an_old_interrupted_init_left_is_created_afresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "st"
    for sub in ("log", "snapshots"):
        (d / sub).mkdir(parents=True)
    (d / "lock").write_text("123\n")
    (d / ".meta.tmp-123").write_text('{"format": "servic')
    code, _, err = cli(capsys, "--state", str(d), "log", "verify")
    assert code == 1 and "init that did not finish" in err
    code, _, err = cli(capsys, "--state", str(d), "init", "--service-cluster-ip-range", RANGE)
    assert code == 0, err
    code, out, err = cli(capsys, "--state", str(d), "get", "svc")
    assert code == 0 and "kubernetes" in out, err


def test_cli_on_a_full_disk(tmp_path: Path) -> None:
    """The command line, in a process of its own, on a disk that fills up: ``create``
    fails with an error line (not a traceback) and leaves nothing behind; ``get``,
    ``log verify`` and ``log repair`` then work; a create whose record fits but whose
    ``meta`` does not still succeeds."""
    d = tmp_path / "st"
    env = {**os.environ, "SERVICECIDR_STATE": str(d)}

    def run(hook: str, *argv: str) -> subprocess.CompletedProcess[str]:
        code = CLI_WITH_FAULT.format(tests=str(TESTS))
        return subprocess.run(
            [sys.executable, "-c", code, hook, *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    assert run("None", "init", "--clock", "simulated", "--seed", "1").returncode == 0
    assert run("None", "create", "service", "clusterip", "a", "--tcp", "80").returncode == 0
    p = run("DiskFull(300)", "create", "service", "clusterip", "b", "--tcp", "80")
    assert p.returncode == 1 and "No space left" in p.stderr and "Traceback" not in p.stderr
    p = run("DiskFull(0)", "get", "svc")
    names = [line.split()[0] for line in p.stdout.splitlines()[1:]]
    assert p.returncode == 0 and names == ["a", "kubernetes"], p.stdout + p.stderr
    p = run("None", "get", "svc", "b")
    assert p.returncode == 1 and "NotFound" in p.stderr
    p = run("None", "log", "verify")
    assert p.returncode == 0 and "0 problems" in p.stdout, p.stdout
    p = run("Fail('create')", "create", "service", "clusterip", "c", "--tcp", "80")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith(f"warning: {d / 'meta'}: cannot write the meta file"), p.stderr
    assert run("None", "get", "svc", "c").returncode == 0
    # a torn tail, and no room for the copy repair keeps: an error, nothing changed
    seg = last_segment(d)
    seg.write_bytes(seg.read_bytes()[:-5])
    before = files(d)
    p = run("Fail('create')", "log", "repair")
    assert p.returncode == 1 and "nothing was changed" in p.stderr and "Traceback" not in p.stderr
    assert files(d) == before
    p = run("None", "log", "repair")
    assert p.returncode == 0 and "cut" in p.stdout


def _userns_tmpfs_works() -> bool:
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs t /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _userns_tmpfs_works(), reason="needs unprivileged user namespaces")
def test_cli_on_a_real_full_filesystem(tmp_path: Path) -> None:
    """The same on a real 256 KiB tmpfs (mounted in a user namespace, no root needed)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sc = f"{sys.executable} -m servicecidr"
    script = f"""
set -u
mount -t tmpfs -o size=256k tmpfs {mnt}
export SERVICECIDR_STATE={mnt}/st
{sc} init --service-cluster-ip-range 10.96.0.0/28 --clock simulated --seed 1 >/dev/null
{sc} create service clusterip a --tcp 80 >/dev/null
# tmpfs allocates the log a page at a time: bring its end near a page boundary, so that
# the next record needs a page the full filesystem does not have
i=0
while [ $(( $(stat -c %s {mnt}/st/log/*.log) % 4096 )) -lt 3400 ] && [ $i -lt 8 ]; do
  i=$((i+1)); {sc} create service clusterip pad$i --tcp 80 >/dev/null
done
dd if=/dev/zero of={mnt}/fill bs=1k count=1000 2>/dev/null
echo "== create"; {sc} create service clusterip b --tcp 80; echo "rc=$?"
echo "== get"; {sc} get svc; echo "rc=$?"
echo "== verify"; {sc} log verify; echo "rc=$?"
rm {mnt}/fill
echo "== freed"; {sc} create service clusterip b --tcp 80; echo "rc=$?"
{sc} get svc b; echo "rc=$?"
"""
    p = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    parts = dict(
        (chunk.split("\n", 1)[0].strip(), chunk) for chunk in (p.stdout + p.stderr).split("== ")
    )
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert "rc=0" in parts["freed"], p.stdout + p.stderr
    assert "rc=0" in parts["verify"] and "0 problems" in parts["verify"], parts["verify"]
    assert "rc=0" in parts["get"] and "\nb " not in parts["get"], parts["get"]


# ------------------------------------------------------------------------------ records


def _rewrite(seg: Path, index: int, change: Callable[[list[Any]], bytes | list[Any]]) -> int:
    """Replace record ``index`` of a segment by ``change(decoded record)`` (a new payload
    or record), framed with its own length and a matching CRC. Returns its offset."""
    data = seg.read_bytes()
    offs = record_offsets(seg)
    off = offs[index]
    (length,) = struct.unpack_from("<I", data, off)
    rec = msgpack.unpackb(data[off + 8 : off + 8 + length], raw=False)
    new = change(rec)
    payload = new if isinstance(new, bytes) else msgpack.packb(new, use_bin_type=True)
    framed = struct.pack("<II", len(payload), crc32c(payload)) + payload
    seg.write_bytes(data[:off] + framed + data[off + 8 + length :])
    return off


def _service_write(rec: list[Any]) -> list[Any]:
    (w,) = [w for w in rec[8] if w[1] == "Service"]
    return w  # type: ignore[no-any-return]


def _with_object(fn: Callable[[dict[str, Any]], Any]) -> Callable[[list[Any]], list[Any]]:
    def change(rec: list[Any]) -> list[Any]:
        w = _service_write(rec)
        obj = decode_object(w[4])
        fn(obj)
        w[4] = msgpack.packb(obj, use_bin_type=True)
        return rec

    return change


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def fn(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            obj = obj[p]
        obj[last] = value

    return fn


def _deep(n: int) -> Any:
    v: Any = "x"
    for _ in range(n):
        v = [v]
    return v


def _blob(raw: bytes) -> Callable[[list[Any]], list[Any]]:
    def change(rec: list[Any]) -> list[Any]:
        _service_write(rec)[4] = raw
        return rec

    return change


def _field(i: int, value: Any) -> Callable[[list[Any]], list[Any]]:
    def change(rec: list[Any]) -> list[Any]:
        rec[i] = value
        return rec

    return change


def _write_field(i: int, value: Any) -> Callable[[list[Any]], list[Any]]:
    def change(rec: list[Any]) -> list[Any]:
        _service_write(rec)[i] = value
        return rec

    return change


def _not_utf8(rec: list[Any]) -> bytes:
    w = _service_write(rec)
    obj = decode_object(w[4])
    obj["spec"]["sessionAffinity"] = "QZ"
    w[4] = msgpack.packb(obj, use_bin_type=True).replace(b"\xa2QZ", b"\xa2\xff\xfe")
    return msgpack.packb(rec, use_bin_type=True)  # type: ignore[no-any-return]


MALFORMED: dict[str, Callable[[list[Any]], bytes | list[Any]]] = {
    "blob not msgpack": _blob(b"\xc1\x00\x00"),
    "blob a list": _blob(msgpack.packb([1, 2])),
    "blob with trailing bytes": lambda rec: _blob(_service_write(rec)[4] + b"\x00")(rec),
    "no metadata": _with_object(lambda o: o.pop("metadata")),
    "name not the key's": _with_object(_set("metadata.name", "other")),
    "namespace not the key's": _with_object(_set("metadata.namespace", "elsewhere")),
    "name not a string": _with_object(_set("metadata.name", 7)),
    "kind not the write's": _with_object(_set("kind", "IPAddress")),
    "no apiVersion": _with_object(lambda o: o.pop("apiVersion")),
    "spec a number": _with_object(_set("spec", 1.5)),
    "status a list": _with_object(_set("status", [])),
    "bytes in the object": _with_object(_set("spec.sessionAffinity", b"\x00")),
    "an int map key": _with_object(lambda o: o["spec"].__setitem__(1, 2)),
    "NaN in the object": _with_object(_set("spec.x", math.nan)),
    "nested too deep": _with_object(_set("spec.x", _deep(MAX_OBJECT_DEPTH + 1))),
    "a string not UTF-8": _not_utf8,
    "a put without an object": _blob(None),  # type: ignore[arg-type]
    "an unknown kind": _write_field(1, "Pod"),
    "an unknown op": _write_field(0, 7),
    "rv a string": _write_field(3, "12"),
    "seq a string": lambda rec: _field(1, str(rec[1]))(rec),
    "seq a float": lambda rec: _field(1, float(rec[1]))(rec),
    "ts not finite": _field(2, math.inf),
    "verb not a string": _field(3, 5),
    "extra a list": _field(9, [1]),
    "extra with bytes": _field(9, {"a": b"\x00"}),
    "writes not a list": _field(8, {"a": 1}),
    "a write of 4 fields": lambda rec: [*rec[:8], [w[:4] for w in rec[8]], rec[9]],
    "eleven fields": lambda rec: [*rec, None],
    "not an array": lambda rec: msgpack.packb({"seq": rec[1]}),
}


def _a_service_record(seg: Path) -> int:
    """The index of a record whose event writes a Service (the fast path takes it)."""
    data = seg.read_bytes()
    for i, off in enumerate(record_offsets(seg)):
        (length,) = struct.unpack_from("<I", data, off)
        rec = msgpack.unpackb(data[off + 8 : off + 8 + length], raw=False)
        if rec[7] == "s2":
            return i
    raise AssertionError("no record for s2")


@pytest.mark.parametrize("last", [False, True], ids=["middle", "last"])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_crc_valid_record_that_does_not_decode_is_corruption(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    last: bool,
) -> None:
    d = tmp_path / "st"
    build(d, n=4 if last else 6)
    seg = last_segment(d)
    index = _a_service_record(seg)
    if last:  # make it the last record
        cut = record_offsets(seg)[index + 1]
        seg.write_bytes(seg.read_bytes()[:cut])
    off = _rewrite(seg, index, MALFORMED[name])
    before = files(d)
    code, out, _ = cli(capsys, "--state", str(d), "log", "verify")
    assert code == 1 and "PROBLEM" in out and f"{seg}: record at byte {off}" in out, out
    for fast in (True, False):
        monkeypatch.setattr(recovery, "FAST_REPLAY", fast)
        for kw in ({}, {"read_only": True}, {"repair": True}):
            with pytest.raises(LogCorruptError) as ei:
                Cluster.open(d, **kw)  # type: ignore[arg-type]
            assert not isinstance(ei.value, TornTailError)
            assert (ei.value.path, ei.value.offset) == (str(seg), off)
    code, _, err = cli(capsys, "--state", str(d), "get", "svc")
    assert code == 1 and f"record at byte {off}" in err
    code, _, err = cli(capsys, "--state", str(d), "log", "repair")
    assert code == 1 and "nothing was changed" in err
    assert files(d) == before


def test_the_writer_refuses_an_event_its_reader_would_refuse(tmp_path: Path) -> None:
    """The log takes no record it cannot read back, whatever reached the commit (the
    API refuses such objects first; this is the journal's own guard): the call fails,
    nothing is applied, nothing is written."""
    from servicecidr.registry.txn import Txn

    d = tmp_path / "st"
    c = opened(d)
    before, size = c.digest(), last_segment(d).stat().st_size
    for spec in ({"blob": b"\x00"}, {"n": math.nan}, {"deep": _deep(MAX_OBJECT_DEPTH + 1)}):
        txn = Txn(c.engine.store.revision, "create", "Service", "default", "x")
        obj = {**svc("x"), "spec": spec}
        obj["metadata"]["namespace"] = "default"
        txn.put("Service", "default/x", obj)
        with pytest.raises(InvalidInputError, match="cannot read back"):
            c.engine.commit(txn)
    assert c.digest() == before and last_segment(d).stat().st_size == size
    c.close()


# ------------------------------------------------------------------------------ snapshots


def _rewrite_snapshot(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    raw = path.read_bytes()
    body = msgpack.unpackb(raw[36:-4], raw=False)
    change(body)
    packed = msgpack.packb(body, use_bin_type=True)
    head = bytearray(raw[:36])
    head[28:36] = len(packed).to_bytes(8, "little")
    data = bytes(head) + packed
    path.write_bytes(data + crc32c(data).to_bytes(4, "little"))


def _service_blob(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
    def fn(body: dict[str, Any]) -> None:
        for kind, _keys, blobs in body["store"]:
            if kind == "Service":
                obj = decode_object(blobs[0])
                change(obj)
                blobs[0] = msgpack.packb(obj, use_bin_type=True)

    return fn


SNAPSHOT_MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "an object without metadata": _service_blob(lambda o: o.pop("metadata")),
    "an object with bytes": _service_blob(_set("spec.x", b"\x00")),
    "an object under another key": _service_blob(_set("metadata.name", "zz")),
    "clock a string": lambda b: b.__setitem__("clock", "noon"),
    "revision negative": lambda b: b.__setitem__("revision", -1),
    "seed missing": lambda b: b.pop("seed"),
    "families unknown": lambda b: b.__setitem__("families", ["IPv5"]),
    "allocators not pairs": lambda b: b.__setitem__("allocators", [[1]]),
    "an unknown kind": lambda b: b["store"].append(["Pod", [], []]),
    "the store a map": lambda b: b.__setitem__("store", {}),
}


@pytest.mark.parametrize("name", sorted(SNAPSHOT_MALFORMED))
def test_a_crc_valid_snapshot_that_does_not_decode_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    d = tmp_path / "st"
    with opened(d) as c:
        for i in range(4):
            c.create(svc(f"s{i}"))
        c.snapshot()
        live = c.digest()
    (info,) = list_snapshots(d / "snapshots")
    _rewrite_snapshot(info.path, SNAPSHOT_MALFORMED[name])
    with pytest.raises(SnapshotError, match=str(info.path)):
        read_snapshot(info.path)
    code, out, _ = cli(capsys, "--state", str(d), "log", "verify")
    assert code == 1 and "DAMAGED" in out
    with pytest.warns(RuntimeWarning, match="falling back"), Cluster.open(d) as c:
        assert c.digest() == live  # from the log, which is whole
    code, _, err = cli(capsys, "--state", str(d), "get", "svc")
    assert code == 0 and err.startswith(f"warning: {info.path}: malformed snapshot body"), err


def test_allocator_bytes_that_do_not_restore_are_rebuilt(tmp_path: Path) -> None:
    """Allocator states are derived data: garbage is rebuilt from the IPAddresses."""
    d = tmp_path / "st"
    with opened(d) as c:
        for i in range(4):
            c.create(svc(f"s{i}"))
        c.snapshot()
        live = c.digest()
    (info,) = list_snapshots(d / "snapshots")
    _rewrite_snapshot(info.path, lambda b: b["allocators"][0].__setitem__(1, b"junk"))
    with Cluster.open(d) as c:
        assert c.digest() == live
        c.create(svc("more"))  # and it allocates from what is taken


def test_a_malformed_snapshot_object_is_named_with_its_file_offset(tmp_path: Path) -> None:
    d = tmp_path / "st"
    with opened(d) as c:
        c.create(svc("a"))
        c.snapshot()
    (info,) = list_snapshots(d / "snapshots")
    _rewrite_snapshot(info.path, _service_blob(lambda o: o.pop("metadata")))
    with pytest.raises(SnapshotError) as ei:
        read_snapshot(info.path)
    msg = str(ei.value)
    at = int(msg.rsplit("at byte ", 1)[1].split()[0].rstrip(")"))
    raw = info.path.read_bytes()
    assert raw[at] in (0xC4, 0xC5, 0xC6)  # the bin holding the object
    assert "Service" in msg and "no metadata" in msg


# ------------------------------------------------------------------------------ torn or damaged


def test_a_damaged_last_record_is_corruption_not_a_torn_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flipped bit in the last whole record: written whole (and fsynced), damaged
    since. Opening refuses, repair=True and ``log repair`` refuse; ``--force`` cuts it."""
    d = tmp_path / "st"
    build(d, durability="fsync")
    seg = last_segment(d)
    last = record_offsets(seg)[-1]
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0x01
    seg.write_bytes(bytes(data))
    before = files(d)
    for kw in ({}, {"repair": True}, {"read_only": True}):
        with pytest.raises(LogCorruptError, match=f"last record, at byte {last}") as ei:
            Cluster.open(d, **kw)  # type: ignore[arg-type]
        assert not isinstance(ei.value, TornTailError)
    code, out, _ = cli(capsys, "--state", str(d), "log", "verify")
    assert code == 1 and "PROBLEM" in out and "REPAIRABLE" not in out
    code, _, err = cli(capsys, "--state", str(d), "log", "repair")
    assert code == 1 and "--force" in err
    assert files(d) == before
    code, out, _ = cli(capsys, "--state", str(d), "log", "repair", "--force")
    assert code == 0 and f"at byte {last}" in out
    assert (seg.parent / f"{seg.name}.torn-{last}").read_bytes() == bytes(data[last:])
    with Cluster.open(d) as c:
        assert c.count("Service") == 7  # the delete of s1 was given up


def test_zero_bytes_after_the_last_record_are_a_torn_tail(tmp_path: Path) -> None:
    """A machine crash can leave a file longer than its data: the end reads as zeros."""
    d = tmp_path / "st"
    live = build(d)
    seg = last_segment(d)
    seg.write_bytes(seg.read_bytes() + bytes(300))
    with pytest.raises(TornTailError):
        Cluster.open(d)
    with pytest.warns(RuntimeWarning, match="torn"), Cluster.open(d, repair=True) as c:
        assert c.digest() == live


# ------------------------------------------------------------------------------ meta


@pytest.mark.parametrize(
    "change",
    [
        {"seed": "x"},
        {"seed": 1.5},
        {"service_cluster_ip_range": "10.0.0.0/24"},
        {"service_cluster_ip_range": [5]},
        {"service_cluster_ip_range": ["10.0.0.1/24"]},
        {"clock": {"kind": "sundial"}},
        {"clock": {"kind": "simulated", "time": "noon"}},
        {"version": "1"},
    ],
    ids=lambda c: json.dumps(c),
)
def test_a_damaged_meta_file_is_reported_and_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any]
) -> None:
    d = tmp_path / "st"
    build(d)
    meta = json.loads((d / "meta").read_text())
    meta.update(change)
    (d / "meta").write_text(json.dumps(meta))
    code, out, _ = cli(capsys, "--state", str(d), "log", "verify")
    assert code == 1 and f"PROBLEM: {d / 'meta'}" in out, out
    for kw in ({}, {"read_only": True}):
        with pytest.raises(StateError, match="meta"):
            Cluster.open(d, **kw)  # type: ignore[arg-type]
    code, _, err = cli(capsys, "--state", str(d), "get", "svc")
    assert code == 1 and "meta" in err


def test_verify_says_what_open_would_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record every field of which is well-formed, whose ServiceCIDR cannot be applied
    (its cidrs are not a list): verify reports what opening reports, at the same byte."""
    d = tmp_path / "st"
    build(d)
    seg = last_segment(d)

    def bad_cidrs(rec: list[Any]) -> list[Any]:
        (w,) = [w for w in rec[8] if w[1] == "ServiceCIDR"]
        obj = decode_object(w[4])
        obj["spec"]["cidrs"] = 5
        w[4] = msgpack.packb(obj, use_bin_type=True)
        return rec

    # the default ServiceCIDR's create (after the system namespaces)
    data = seg.read_bytes()

    def writes_a_servicecidr(off: int) -> bool:
        (length,) = struct.unpack_from("<I", data, off)
        rec = msgpack.unpackb(data[off + 8 : off + 8 + length], raw=False)
        return any(w[1] == "ServiceCIDR" for w in rec[8])

    first = next(i for i, o in enumerate(record_offsets(seg)) if writes_a_servicecidr(o))
    off = _rewrite(seg, first, bad_cidrs)
    with pytest.raises(LogCorruptError, match="cannot be applied") as ei:
        Cluster.open(d, read_only=True)
    assert ei.value.offset == off
    code, out, _ = cli(capsys, "--state", str(d), "log", "verify")
    assert code == 1 and f"record at byte {off}" in out and "cannot be applied" in out


def test_what_the_api_lets_in_the_log_reads_back_and_no_deeper() -> None:
    """The read-side depth bound is the write side's (``api.storable``): around the
    bound, an object passes one exactly when it passes the other."""
    from servicecidr.api import storable
    from servicecidr.store import encode_object, new_store

    store = new_store()

    verdicts = []
    for n in range(MAX_OBJECT_DEPTH - 4, MAX_OBJECT_DEPTH + 2):
        obj = {**svc("deep"), "spec": {"x": _deep(n)}}
        obj["metadata"]["namespace"] = "default"
        try:
            storable.check(obj)
            writes = True
        except storable.NotStorable:
            writes = False
        try:
            store.check([(0, "Service", "default/deep", 1, encode_object(obj))])
            reads = True
        except InvalidInputError:
            reads = False
        verdicts.append((writes, reads))
    assert all(w == r for w, r in verdicts), verdicts
    assert (True, True) in verdicts and (False, False) in verdicts
    assert storable.MAX_DEPTH == MAX_OBJECT_DEPTH
