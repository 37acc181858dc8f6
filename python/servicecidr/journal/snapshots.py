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
from typing import Any, Protocol, TypeVar

import msgpack

from servicecidr._core import load_snapshot_store
from servicecidr.api.conditions import service_cidr_cidrs
from servicecidr.clock import Clock
from servicecidr.errors import SnapshotError
from servicecidr.journal.segments import (
    FORMAT_VERSION,
    atomic_write,
    crc32c,
    crc32c_extend,
    map_readonly,
)
from servicecidr.store import Store, decode_object, new_store

__all__ = [
    "SNAPSHOT_MAGIC",
    "Snapshot",
    "SnapshotError",
    "SnapshotInfo",
    "SnapshotTarget",
    "list_snapshots",
    "load_snapshot",
    "read_snapshot",
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


class SnapshotTarget(Protocol):
    """What a snapshot is taken of and restored into (the engine)."""

    @property
    def store(self) -> Store:
        """The object store."""
        ...

    @property
    def seed(self) -> int:
        """The seed of every random choice."""
        ...

    @property
    def families(self) -> tuple[str, ...]:
        """The IP families served."""
        ...

    @property
    def service_cluster_ip_range(self) -> tuple[str, ...]:
        """The flag's CIDRs."""
        ...

    @property
    def clock(self) -> Clock:
        """Where time comes from."""
        ...

    def allocator_snapshots(self) -> list[tuple[str, bytes]]:
        """(prefix, bitmap bytes) of every allocator."""
        ...

    def restore_indexes(
        self, reshaped: list[str], node_ports: list[str], saved: dict[str, bytes]
    ) -> None:
        """Rebuild the indexes of a store just loaded: the MetaAllocator from these
        ServiceCIDRs, each allocator from its saved bitmap (or marked from the IPAddress
        objects), and the node ports of these Services."""
        ...


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
    #: the body's values but the store (loaded into a store by :func:`read_snapshot`)
    body: dict[str, Any]
    #: the ServiceCIDR keys and the Services with node ports among the objects loaded
    reshaped: list[str]
    node_ports: list[str]
    #: prefix -> the allocator's bitmap bytes
    allocators: dict[str, bytes]

    @property
    def clock(self) -> float:
        """The clock time when it was taken."""
        return float(self.body["clock"])

    @property
    def seed(self) -> int:
        """The effective seed of the cluster it was taken from."""
        return int(self.body["seed"])


def write_snapshot(
    target: SnapshotTarget, snap_dir: Path, *, seq: int, max_ts: float
) -> tuple[Path, int]:
    """Write the state of ``target`` (at ``seq``) atomically; returns (path, size).
    ``max_ts`` is -inf for a history with no entry yet: stored as 0.0 (no time is
    before it), since the format holds finite numbers only."""
    if not math.isfinite(max_ts):
        max_ts = 0.0
    store = target.store
    buckets = []
    for kind in store.kinds():
        items = store.items(kind)
        if items:
            keys, blobs = zip(*items, strict=True)
            buckets.append([kind, list(keys), list(blobs)])
    body = {
        "seq": seq,
        "max_ts": max_ts,
        "clock": target.clock.now(),
        "revision": store.revision,
        "seed": target.seed,
        "families": list(target.families),
        "service_cluster_ip_range": list(target.service_cluster_ip_range),
        "store": buckets,
        "allocators": [[p, data] for p, data in target.allocator_snapshots()],
    }
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    head = _HEAD.pack(SNAPSHOT_MAGIC, FORMAT_VERSION, 0, seq, max_ts, len(packed))
    crc = crc32c_extend(crc32c(head), packed)
    snap_dir.mkdir(parents=True, exist_ok=True)
    path = snap_dir / snapshot_name(seq)
    size = atomic_write(path, [head, packed, struct.pack("<I", crc)])
    return path, size


def read_snapshot(path: Path, into: Store | None = None) -> Snapshot:
    """Read and verify a snapshot, loading its objects into the empty store ``into`` (a
    scratch store when None: verifying reads every object too); :class:`SnapshotError`
    names what is wrong, and ``into`` must then be thrown away."""
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
        return _decode_snapshot(path, data, into if into is not None else new_store())
    finally:
        data.close()


def _decode_snapshot(path: Path, data: mmap.mmap, into: Store) -> Snapshot:
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
    was_enabled = gc.isenabled()
    gc.disable()  # millions of objects are created and none is garbage
    try:
        # The objects (millions) go through the store's apply in Rust; the rest is small.
        ranges, reshaped, node_ports = load_snapshot_store(into, part)
        body = {k: msgpack.unpackb(part[a:b], raw=False) for k, (a, b) in ranges.items()}
    except Exception as e:  # msgpack raises several unrelated types
        raise SnapshotError(f"{path}: malformed snapshot body: {_at_file_offset(e)}") from e
    finally:
        part.release()
        view.release()
        if was_enabled:
            gc.enable()
    why = _body_problem(body, seq, max_ts) or _index_problem(into, reshaped)
    if why is not None:
        raise SnapshotError(f"{path}: malformed snapshot body: {why}")
    if int(stem_seq(path)) != seq:
        raise SnapshotError(f"{path}: file name and header disagree (header seq {seq})")
    try:
        into.raise_revision(int(body["revision"]))
        allocators = {str(p): bytes(b) for p, b in body["allocators"]}
        int(body["seed"]), float(body["clock"])
    except (KeyError, TypeError, ValueError) as e:
        raise SnapshotError(f"{path}: malformed snapshot body: {e!r}") from e
    into.truncate_feed()
    return Snapshot(path, int(seq), float(max_ts), body, reshaped, node_ports, allocators)


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
    """What is wrong with the fields of a decoded body (FORMAT.md), or None (the store
    was read and checked object by object in Rust)."""
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
    return None


def _index_problem(store: Store, reshaped: list[str]) -> str | None:
    """Why the allocators could not be rebuilt from the ServiceCIDRs the store loaded (the
    object rules let any JSON through; the indexes need ``spec.cidrs`` to be a list)."""
    for name in reshaped:
        blob = store.get("ServiceCIDR", name)
        if blob is None:
            continue
        try:
            service_cidr_cidrs(name, decode_object(blob))
        except ValueError as e:
            return str(e)
    return None


def stem_seq(path: Path) -> str:
    """The sequence number a snapshot's file name promises."""
    return path.name.partition(".")[0]


T = TypeVar("T", bound=SnapshotTarget)


def load_snapshot(
    make: Callable[[], T],
    snap_dir: Path,
    *,
    max_seq: int | None = None,
    max_ts: float | None = None,
    warn: Callable[[str], None],
) -> tuple[T, Snapshot | None]:
    """A target from ``make()`` loaded with the newest valid snapshot at or before
    ``max_seq`` / ``max_ts``; damaged snapshots are reported through ``warn`` and skipped
    (an older one, or none, is used instead)."""
    for info in reversed(list_snapshots(snap_dir)):
        if max_seq is not None and info.seq > max_seq:
            continue
        if max_ts is not None and info.max_ts > max_ts:
            continue
        target = make()
        try:
            snap = read_snapshot(info.path, into=target.store)
            # The bitmaps are only good for the same seed (each allocator's random stream).
            saved = snap.allocators if snap.seed == target.seed else {}
            target.restore_indexes(snap.reshaped, snap.node_ports, saved)
        except SnapshotError as e:
            warn(f"{e}; falling back to an older snapshot or to the log")
            continue
        return target, snap
    return make(), None
