"""Snapshots: the whole state of a Cluster at one sequence number, in one file.

Layout (little-endian; docs/FORMAT.md is the full reference)::

    0   8  magic  b"SCIDRSNP"
    8   2  u16    format version (1)
    10  2  u16    flags (0)
    12  8  u64    seq: the last event the snapshot covers
    20  8  f64    max_ts: the latest event timestamp up to seq (for ``as_of`` by time)
    28  8  u64    body length L
    36  L         body: a msgpack map (see FORMAT.md)
    36+L 4 u32    CRC32C of bytes [0, 36+L)

The body holds every stored object as the store keeps it (key -> msgpack blob), the store
revision, and each allocator's state as :meth:`CidrAllocator.snapshot` bytes. Restoring the
allocator bitmaps (milliseconds for 10^6 addresses) beats re-marking them from the
IPAddress set (about 0.2 s for 10^6, measured in bench/log_table.py), so they are stored;
when the seed or the families changed since, they are rebuilt from the IPAddress set.

Files are written atomically (temporary file, fsync, rename, fsync of the folder), named
``snapshots/<seq, 16 digits>.snap``.
"""

from __future__ import annotations

import gc
import math
import mmap
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from servicecidr._core import read_snapshot_body
from servicecidr.api.kinds import KINDS
from servicecidr.controllers.conditions import ready_state
from servicecidr.errors import SnapshotError
from servicecidr.events.log import (
    FORMAT_VERSION,
    atomic_write,
    crc32c,
    crc32c_extend,
    map_readonly,
)
from servicecidr.events.model import RULES, decode_object

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster

__all__ = [
    "SNAPSHOT_MAGIC",
    "Snapshot",
    "SnapshotError",
    "SnapshotInfo",
    "list_snapshots",
    "load_snapshot",
    "read_snapshot",
    "restore_into",
    "snapshot_name",
    "write_snapshot",
]

SNAPSHOT_MAGIC = b"SCIDRSNP"
_HEAD = struct.Struct("<8sHHQdQ")
SNAPSHOT_HEADER_SIZE = _HEAD.size
# CRC32C of any message followed by its own CRC32C (little-endian) is this constant, so
# the whole file is verified with one call over the bytes as read (no copy of the body).
_CRC_RESIDUE = 0x48674BC7
_DIGITS = 16


def snapshot_name(seq: int) -> str:
    """File name of the snapshot covering ``seq``."""
    return f"{seq:0{_DIGITS}d}.snap"


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A snapshot file and what its name and header say (not yet verified)."""

    path: Path
    seq: int
    max_ts: float


def list_snapshots(snap_dir: Path) -> list[SnapshotInfo]:
    """Snapshots of a folder, oldest first; unreadable headers get ``max_ts = inf`` so
    time travel never picks them before they are verified."""
    out = []
    try:
        names = os.listdir(snap_dir)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise SnapshotError(
            f"{snap_dir}: not a directory (the snapshots of a state are a folder)"
        ) from None
    except OSError as e:
        raise SnapshotError(f"{snap_dir}: cannot list the snapshots: {e}") from e
    for n in names:
        stem, dot, ext = n.partition(".")
        if not (dot and ext == "snap" and stem.isdigit() and len(stem) == _DIGITS):
            continue
        path = snap_dir / n
        max_ts = float("inf")
        try:
            with open(path, "rb") as f:
                head = f.read(SNAPSHOT_HEADER_SIZE)
            if len(head) == SNAPSHOT_HEADER_SIZE and head[:8] == SNAPSHOT_MAGIC:
                max_ts = _HEAD.unpack(head)[4]
        except OSError:
            pass
        out.append(SnapshotInfo(path, int(stem), max_ts))
    out.sort(key=lambda s: s.seq)
    return out


@dataclass(slots=True)
class Snapshot:
    """A verified, decoded snapshot."""

    path: Path
    seq: int
    max_ts: float
    body: dict[str, Any]

    @property
    def clock(self) -> float:
        """The clock time when it was taken."""
        return float(self.body["clock"])

    @property
    def seed(self) -> int:
        """The effective seed of the cluster it was taken from."""
        return int(self.body["seed"])


def write_snapshot(c: Cluster, snap_dir: Path, *, max_ts: float) -> tuple[Path, int]:
    """Write the state of ``c`` (at ``c._seq``) atomically; returns (path, size)."""
    store = c._store
    buckets = []
    for kind in store.kinds():
        items = store.items(kind)
        if items:
            keys, blobs = zip(*items, strict=True)
            buckets.append([kind, list(keys), list(blobs)])
    body = {
        "seq": c._seq,
        "max_ts": max_ts,
        "clock": c.clock.now(),
        "revision": store.revision,
        "seed": c.seed,
        "families": list(c.families),
        "service_cluster_ip_range": list(c.service_cluster_ip_range),
        "store": buckets,
        "allocators": [[p, a.snapshot()] for p, a in c._meta.allocators()],
    }
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    head = _HEAD.pack(SNAPSHOT_MAGIC, FORMAT_VERSION, 0, c._seq, max_ts, len(packed))
    crc = crc32c_extend(crc32c(head), packed)
    snap_dir.mkdir(parents=True, exist_ok=True)
    path = snap_dir / snapshot_name(c._seq)
    size = atomic_write(path, [head, packed, struct.pack("<I", crc)])
    return path, size


def read_snapshot(path: Path) -> Snapshot:
    """Read and verify a snapshot; :class:`SnapshotError` names what is wrong."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < SNAPSHOT_HEADER_SIZE + 4:
                head = f.read()
                raise SnapshotError(
                    f"{path}: not a servicecidr snapshot (starts with {head[:8]!r}, size {size})"
                )
            # Mapped, not read: a copy of a GB-sized file into fresh memory costs more
            # than the CRC and the decoding together.
            data = map_readonly(f.fileno())
    except OSError as e:
        raise SnapshotError(f"{path}: cannot read the snapshot: {e}") from e
    try:
        return _decode_snapshot(path, data)
    finally:
        data.close()


def _decode_snapshot(path: Path, data: mmap.mmap) -> Snapshot:
    magic, version, flags, seq, max_ts, length = _HEAD.unpack_from(data, 0)
    if magic != SNAPSHOT_MAGIC:
        raise SnapshotError(
            f"{path}: not a servicecidr snapshot (starts with {magic!r}, not {SNAPSHOT_MAGIC!r})"
        )
    if version > FORMAT_VERSION or flags:
        raise SnapshotError(
            f"{path}: snapshot format version {version} flags {flags:#x} is newer than this "
            "servicecidr reads; upgrade servicecidr"
        )
    if SNAPSHOT_HEADER_SIZE + length + 4 != len(data):
        raise SnapshotError(
            f"{path}: truncated or padded snapshot ({len(data)} bytes, header says "
            f"{SNAPSHOT_HEADER_SIZE + length + 4})"
        )
    if crc32c(data) != _CRC_RESIDUE:
        raise SnapshotError(f"{path}: snapshot CRC mismatch; the file is damaged")
    view = memoryview(data)
    part = view[SNAPSHOT_HEADER_SIZE:-4]
    try:
        # The store (millions of pairs) goes straight into dicts, every object checked
        # as the log checks it; the rest is small.
        store, ranges = read_snapshot_body(part, RULES)
        body = {k: msgpack.unpackb(part[a:b], raw=False) for k, (a, b) in ranges.items()}
        body["store"] = store
    except Exception as e:  # msgpack raises several unrelated types
        raise SnapshotError(f"{path}: malformed snapshot body: {_at_file_offset(e)}") from e
    finally:
        part.release()
        view.release()
    why = _body_problem(body, seq, max_ts)
    if why is not None:
        raise SnapshotError(f"{path}: malformed snapshot body: {why}")
    if int(stem_seq(path)) != seq:
        raise SnapshotError(f"{path}: file name and header disagree (header seq {seq})")
    return Snapshot(path, int(seq), float(max_ts), body)


def _at_file_offset(e: Exception) -> str:
    """The Rust reader's "at body byte N", as an offset in the file."""
    text = str(e)
    head, sep, tail = text.rpartition(" at body byte ")
    if sep and tail.isdigit():
        return f"{head} at byte {SNAPSHOT_HEADER_SIZE + int(tail)}"
    return text


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _body_problem(body: dict[str, Any], seq: int, max_ts: float) -> str | None:
    """What is wrong with the fields of a decoded body (FORMAT.md), or None."""
    if body.get("seq") != seq or type(body.get("seq")) is not int:
        return "its seq does not match its header"
    for key in ("max_ts", "clock"):
        if not _is_number(body.get(key)):
            return f"{key} is not a finite number: {body.get(key)!r}"
    rev = body.get("revision")
    if type(rev) is not int or rev < 0:
        return f"revision is not a non-negative integer: {rev!r}"
    if type(body.get("seed")) is not int:
        return f"seed is not an integer: {body.get('seed')!r}"
    fams = body.get("families")
    if not isinstance(fams, list) or not fams or not all(f in ("IPv4", "IPv6") for f in fams):
        return f"families is not a list of IPv4/IPv6: {fams!r}"
    rng = body.get("service_cluster_ip_range")
    if not isinstance(rng, list) or not all(isinstance(x, str) for x in rng):
        return f"service_cluster_ip_range is not a list of strings: {rng!r}"
    allocs = body.get("allocators")
    if not isinstance(allocs, list) or not all(
        isinstance(a, list) and len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], bytes)
        for a in allocs
    ):
        return "allocators is not a list of [prefix, bytes]"
    if not isinstance(body.get("store"), list):
        return "it has no store"
    return None


def stem_seq(path: Path) -> str:
    """The sequence number a snapshot's file name promises."""
    return path.name.partition(".")[0]


def restore_into(c: Cluster, snap: Snapshot) -> None:
    """Load a snapshot into a fresh Cluster built with ``_start=False``.

    The store is filled directly (the blobs are final), the MetaAllocator's bookkeeping is
    rebuilt from the ServiceCIDR objects, and each allocator is restored from its bytes
    (or re-marked from the IPAddress set when the seed or families changed since).
    """
    body = snap.body
    store, meta = c._store, c._meta
    ips: dict[str, bytes] = {}
    was_enabled = gc.isenabled()
    gc.disable()  # millions of containers are created and none is garbage
    try:
        for kind, bucket in body["store"]:
            if kind not in KINDS:
                raise SnapshotError(f"{snap.path}: unknown kind {kind!r} in the snapshot")
            if kind == "IPAddress":
                ips = bucket  # installed after the allocators exist: see below
            else:
                store.load_bucket(kind, bucket)
        store.revision = int(body["revision"])
        # With no IPAddress stored yet, creating an allocator scans nothing.
        for name, blob in store.items("ServiceCIDR"):
            obj = decode_object(blob)
            meta.sync_service_cidr(
                name, (obj.get("spec") or {}).get("cidrs") or [], ready_state(obj)
            )
        store.load_bucket("IPAddress", ips)
        saved = {p: data for p, data in body["allocators"]} if snap.seed == c.seed else {}
        meta.restore_allocators(saved)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        # the objects passed RULES; what they mean (a ServiceCIDR's cidrs) may still not
        raise SnapshotError(f"{snap.path}: malformed snapshot body: {e!r}") from e
    finally:
        if was_enabled:
            gc.enable()
    c._seq = snap.seq


def load_snapshot(
    make: Callable[[], Cluster],
    snap_dir: Path,
    *,
    max_seq: int | None = None,
    max_ts: float | None = None,
    warn: Callable[[str], None],
) -> tuple[Cluster, Snapshot | None]:
    """A Cluster from ``make()`` loaded with the newest valid snapshot at or before
    ``max_seq`` / ``max_ts``; damaged snapshots are reported through ``warn`` and skipped
    (an older one, or none, is used instead)."""
    for info in reversed(list_snapshots(snap_dir)):
        if max_seq is not None and info.seq > max_seq:
            continue
        if max_ts is not None and info.max_ts > max_ts:
            continue
        try:
            snap = read_snapshot(info.path)
            c = make()
            restore_into(c, snap)
        except SnapshotError as e:
            warn(f"{e}; falling back to an older snapshot or to the log")
            continue
        return c, snap
    return make(), None
