"""State directories: a Cluster that keeps its history on disk.

A state directory holds::

    meta                 JSON: format version, flags, clock kind and time, created-at
    lock                 flock()ed: exclusively by the writer, shared by readers
    log/<seq>.log        append-only event log segments (journal/segments.py)
    snapshots/<seq>.snap whole-state snapshots (journal/snapshots.py)

:meth:`Cluster.open` (through :class:`StateDir`) loads the newest valid snapshot,
replays the log after it, and, for a writer, appends every entry committed afterwards
before the call that committed it returns. docs/FORMAT.md describes every file.

Durability modes (``durability=``):

``fsync``
    Each event is written and fdatasync()ed before the call that made it returns: an
    acknowledged call survives a process crash and a machine crash.
``group``
    Each event reaches the kernel before the call returns (a process crash loses
    nothing); fdatasync runs when ``group_records`` events are pending or ``group_ms``
    has passed (a background thread covers idle periods) and on close. A machine crash
    loses at most the events of the last ``group_ms`` milliseconds (and never more than
    ``group_records`` events).
``none``
    Each event reaches the kernel before the call returns; nothing is fsynced (snapshots
    and the meta file still are). A process crash loses nothing; a machine crash can lose
    anything not yet written back by the OS. For simulations that value speed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from servicecidr.clock import Clock, format_micro_time, parse_time
from servicecidr.errors import InvalidInputError
from servicecidr.journal.recorder import Touched, check_next, record_then_apply
from servicecidr.journal.records import Entry
from servicecidr.journal.recovery import ReplayTarget, iter_log, repair_torn_tail, replay_log
from servicecidr.journal.segments import (
    DURABILITY_MODES,
    LogWriter,
    ReadOnlyError,
    SegmentInfo,
    SegmentScan,
    StateError,
    StateLockedError,
    TornTailError,
    atomic_write,
    fsync_dir,
    list_segments,
    torn_message,
)
from servicecidr.journal.snapshots import (
    Snapshot,
    SnapshotTarget,
    list_snapshots,
    load_snapshot,
    read_snapshot,
    write_snapshot,
)
from servicecidr.store import Store


class _Target(ReplayTarget, SnapshotTarget, Protocol):
    """What a state is loaded into (the engine)."""


T = TypeVar("T", bound=_Target)

__all__ = [
    "DURABILITY_MODES",
    "STATE_FORMAT",
    "STATE_VERSION",
    "AsOf",
    "FileRecorder",
    "Loaded",
    "StateDir",
    "compact_dir",
    "filter_entries",
    "lock_state",
    "parse_point",
    "read_meta",
    "reseed_stream",
    "unlock_state",
]

STATE_FORMAT = "servicecidr-state"
STATE_VERSION = 1
META_NAME = "meta"
LOCK_NAME = "lock"
LOG_DIR = "log"
SNAP_DIR = "snapshots"

#: A point in history: an int is a sequence number; a float, datetime or RFC 3339 string
#: is a time.
AsOf = int | float | datetime | str


def parse_point(value: AsOf) -> tuple[int | None, float | None]:
    """(seq, None) or (None, timestamp) for an ``as_of`` / ``since`` / ``until`` value."""
    if isinstance(value, bool):
        raise InvalidInputError(f"not a sequence number or time: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InvalidInputError(f"a sequence number is >= 0, not {value}")
        return value, None
    if isinstance(value, float):
        return None, value
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return None, dt.timestamp()
    if isinstance(value, str):
        try:
            return None, parse_time(value)
        except ValueError as e:
            raise InvalidInputError(str(e)) from e
    raise InvalidInputError(
        f"not a sequence number (int) or a time (float, datetime, RFC 3339): {value!r}"
    )


# ------------------------------------------------------------------------------ meta


def read_meta(state_dir: Path) -> dict[str, Any]:
    """The meta file of a state directory, checked."""
    path = state_dir / META_NAME
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise StateError(
            f"{state_dir}: not a servicecidr state directory (no {META_NAME} file)"
        ) from None
    except (OSError, ValueError) as e:
        raise StateError(f"{path}: unreadable meta file: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise StateError(f"{path}: not a servicecidr meta file (no format {STATE_FORMAT!r})")
    if not isinstance(meta.get("version"), int) or meta["version"] > STATE_VERSION:
        raise StateError(
            f"{path}: state format version {meta.get('version')} is newer than this "
            f"servicecidr reads ({STATE_VERSION}); upgrade servicecidr"
        )
    return meta


def _write_meta(state_dir: Path, meta: dict[str, Any]) -> None:
    atomic_write(state_dir / META_NAME, [json.dumps(meta, indent=2).encode() + b"\n"])


# ------------------------------------------------------------------------------ lock


def lock_state(state_dir: Path, shared: bool) -> int:
    """Take the directory's lock (shared for readers); returns the fd for
    :func:`unlock_state`. StateLockedError when it is held incompatibly."""
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(
            path, (os.O_RDONLY if shared else os.O_RDWR | os.O_CREAT) | os.O_CLOEXEC, 0o644
        )
    except FileNotFoundError:
        # a directory written before the lock existed, opened read-only: nothing to share
        return -1
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError as e:
        holder = ""
        with contextlib.suppress(OSError):
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
        os.close(fd)
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        if shared:
            who = f" (pid {holder})" if holder else ""
            raise StateLockedError(
                f"{state_dir}: a writer has this state directory open{who}; close it first "
                "(readers and a writer do not share a directory)"
            ) from None
        raise StateLockedError(
            f"{state_dir}: the state directory is open elsewhere (a writer, or readers); "
            "one writer at a time. Close the other Cluster, or open this one with "
            "read_only=True to read."
        ) from None
    if not shared:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def unlock_state(fd: int) -> None:
    """Release a lock taken with :func:`lock_state`."""
    if fd >= 0:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ------------------------------------------------------------------------------ recorder


class FileRecorder:
    """The log segments of a state directory, as a journal recorder
    (:mod:`servicecidr.journal.recorder`).

    With a writer, ``append`` writes the entry (with its durability) before returning;
    a failed write leaves the log as it was and raises StateError. Without one (opened
    read-only, as of a point, or closed) it refuses with ReadOnlyError. ``read`` reads the
    segments back.
    """

    def __init__(
        self,
        log_dir: Path,
        writer: LogWriter | None,
        last_seq: int,
        *,
        refusal: str = "this state is not open for writing",
        max_ts: float = float("-inf"),
    ) -> None:
        self.log_dir = log_dir
        self.writer = writer
        self.refusal = refusal
        self.max_ts = max_ts
        self._last = last_seq
        #: told when a batch could not be written (the entries are applied already)
        self.on_broken: Callable[[str], None] | None = None

    @property
    def last_seq(self) -> int:
        """The seq of the last entry recorded."""
        return self._last

    def append(self, entry: Entry) -> None:
        """Write ``entry`` to the log, or raise and write nothing."""
        check_next(self, entry)
        writer = self.writer
        if writer is None:
            raise ReadOnlyError(self.refusal)
        try:
            writer.append(entry)
        except BaseException as e:
            raise StateError(f"{writer.segment}: cannot append entry {entry.seq}: {e}") from e
        self._last = entry.seq
        if entry.ts > self.max_ts:
            self.max_ts = entry.ts

    def record_and_apply(self, entry: Entry, store: Store) -> Touched:
        """Log ``entry``, then apply it (its writes checked first: nothing is logged that
        the store would refuse)."""
        return record_then_apply(self, entry, store)

    def read(self, after: int = 0, upto: int | None = None) -> Iterator[Entry]:
        """The logged entries with ``after < seq <= upto`` (to the last one recorded)."""
        self.flush()  # what a batch holds is history too
        stop = self._last if upto is None else min(upto, self._last)
        return iter_log(self.log_dir, start_seq=after + 1, stop_seq=stop)

    def flush(self) -> None:
        """Write what a batch holds; a failure breaks the recorder (the entries it held
        are applied in memory already, so the state stops taking writes)."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
        except BaseException as e:
            message = (
                f"{self.log_dir.parent}: writing the log failed ({e}); the in-memory state "
                "is ahead of the log. Close this Cluster and open the directory again."
            )
            self.writer = None
            self.refusal = message
            if self.on_broken is not None:
                self.on_broken(message)
            raise StateError(f"{writer.segment}: cannot write the batched entries: {e}") from e

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Log the entries of a bulk operation in large writes (see
        :meth:`LogWriter.begin_batch`); they are all written when the block ends."""
        writer = self.writer
        if writer is None:
            yield
            return
        writer.begin_batch()
        try:
            yield
        finally:
            try:
                self.flush()
            finally:
                writer.end_batch()

    def close(self, refusal: str) -> None:
        """Flush and close the log; later appends are refused with ``refusal``."""
        writer, self.writer = self.writer, None
        self.refusal = refusal
        if writer is not None:
            writer.close()


# ------------------------------------------------------------------------------ state


@dataclass(slots=True)
class Loaded:
    """What :meth:`StateDir.load` found."""

    last_seq: int
    max_ts: float
    snapshot: Snapshot | None
    tail: SegmentScan | None
    applied: int


class StateDir:
    """An opened state directory: its lock held, its meta read."""

    def __init__(self, path: Path, lock_fd: int, meta: dict[str, Any], read_only: bool) -> None:
        self.path = path
        self.log_dir = path / LOG_DIR
        self.snap_dir = path / SNAP_DIR
        self.lock_fd = lock_fd
        self.meta = meta
        self.read_only = read_only
        self.recorder: FileRecorder | None = None

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, read_only: bool, new_meta: dict[str, Any]
    ) -> StateDir:
        """Lock the directory (shared for ``read_only``), creating it with ``new_meta``
        when it is missing or empty."""
        state_dir = Path(path)
        if state_dir.exists() and not state_dir.is_dir():
            raise StateError(f"{state_dir}: not a directory; a state directory is a folder")
        fresh = not state_dir.exists() or not any(state_dir.iterdir())
        if fresh and read_only:
            raise StateError(f"{state_dir}: no state directory here to open read-only")
        if not (state_dir / META_NAME).exists() and (
            read_only or (state_dir / LOG_DIR).exists() or (state_dir / SNAP_DIR).exists()
        ):
            # A log without its meta file is a damaged state, not a new one.
            raise StateError(
                f"{state_dir}: not a servicecidr state directory (no {META_NAME} file); "
                "use an empty or new folder to create one"
            )
        state_dir.mkdir(parents=True, exist_ok=True)
        lock_fd = lock_state(state_dir, shared=read_only)
        try:
            if not (state_dir / META_NAME).exists():
                # a new state directory (we hold the lock, so no one else is creating it)
                meta = {
                    "format": STATE_FORMAT,
                    "version": STATE_VERSION,
                    "created": format_micro_time(time.time()),
                    **new_meta,
                }
                (state_dir / LOG_DIR).mkdir(exist_ok=True)
                (state_dir / SNAP_DIR).mkdir(exist_ok=True)
                _write_meta(state_dir, meta)
            return cls(state_dir, lock_fd, read_meta(state_dir), read_only)
        except BaseException:
            unlock_state(lock_fd)
            raise

    def load(
        self,
        make: Callable[[], T],
        *,
        stop_seq: int | None,
        stop_ts: float | None,
        repair: bool,
        progress: Callable[[int], None] | None,
    ) -> tuple[T, Loaded]:
        """A target from ``make()`` holding the newest valid snapshot (at or before the
        stop point) and the log after it; a torn tail is refused, or cut with ``repair``."""
        target, snap = load_snapshot(
            make, self.snap_dir, max_seq=stop_seq, max_ts=stop_ts, warn=_warn
        )
        start_seq = (snap.seq if snap is not None else 0) + 1
        segs = list_segments(self.log_dir)
        if snap is None and segs and segs[0].first_seq > 1:
            raise StateError(
                f"{self.path}: the log starts at seq {segs[0].first_seq} and no valid snapshot "
                f"covers what came before"
                + (f" seq {stop_seq}" if stop_seq is not None else "")
                + (f" {format_micro_time(stop_ts)}" if stop_ts is not None else "")
                + " (compacted away, or the snapshot is damaged: see the warnings)"
            )
        res = replay_log(
            target,
            self.log_dir,
            start_seq=start_seq,
            stop_seq=stop_seq,
            stop_ts=stop_ts,
            progress=progress,
        )
        if stop_seq is not None and res.last_seq < stop_seq:
            raise StateError(
                f"{self.path}: as_of seq {stop_seq} is past the end of the history "
                f"(last seq {res.last_seq})"
            )
        tail = res.tail
        if tail is not None and tail.torn_at is not None and not res.stopped:
            if not repair:
                raise TornTailError(torn_message(tail), tail.path, tail.torn_at)
            copy = repair_torn_tail(tail)
            _warn(
                f"{tail.path}: cut a torn record at byte {tail.torn_at}; the "
                f"{tail.size - tail.torn_at} bytes after it are kept in {copy}"
            )
            tail.size = tail.torn_at
            tail.torn_at = None
        max_ts = max(res.max_ts, snap.max_ts if snap is not None else 0.0)
        return target, Loaded(res.last_seq, max_ts, snap, tail, res.applied)

    def open_recorder(
        self,
        loaded: Loaded,
        *,
        durability: str,
        group_ms: float,
        group_records: int,
        segment_bytes: int,
        refusal: str,
    ) -> FileRecorder:
        """The recorder that continues the log after ``loaded`` (a read-only one, which
        refuses with ``refusal``, when the directory was opened read-only)."""
        writer = None
        if not self.read_only:
            writer = LogWriter(
                self.log_dir,
                durability,
                group_ms=group_ms,
                group_records=group_records,
                segment_bytes=segment_bytes,
            )
            tail = loaded.tail
            if tail is not None and tail.last_seq == loaded.last_seq:
                writer.start(
                    SegmentInfo(tail.path, tail.first_seq),
                    tail.good_end,
                    tail.records,
                    loaded.last_seq + 1,
                )
            else:
                # no log yet, or a snapshot ahead of the log (written with durability
                # "none" before a machine crash): continue in a new segment after it
                writer.start(None, 0, 0, loaded.last_seq + 1)
        self.recorder = FileRecorder(
            self.log_dir, writer, loaded.last_seq, refusal=refusal, max_ts=loaded.max_ts
        )
        return self.recorder

    def store_meta(self, updates: dict[str, Any]) -> None:
        """Keep these meta values (flags an apiserver restarted with, the clock)."""
        if any(self.meta.get(k) != v for k, v in updates.items()):
            self.meta.update(updates)
            _write_meta(self.path, self.meta)

    def snapshot(self, target: SnapshotTarget) -> Path:
        """Write a snapshot of the current state and start a new log segment."""
        rec = self.recorder
        if self.read_only or rec is None or rec.writer is None:
            raise ReadOnlyError(
                f"{self.path}: snapshot needs the directory open for writing "
                "(not read_only, not as_of, not closed)"
            )
        # The log must be on disk up to the snapshot's seq before the snapshot claims it.
        rec.flush()
        writer = rec.writer
        if writer is None:
            raise ReadOnlyError(rec.refusal)
        writer.sync()
        path, _ = write_snapshot(target, self.snap_dir, seq=rec.last_seq, max_ts=rec.max_ts)
        writer.rotate(rec.last_seq + 1)
        return path

    def compact(self) -> list[Path]:
        """Drop the log segments and older snapshots the newest valid snapshot covers."""
        rec = self.recorder
        if self.read_only or rec is None or rec.writer is None:
            raise ReadOnlyError(f"{self.path}: compact needs the directory open for writing")
        segment = rec.writer.segment
        return compact_dir(self.path, current=segment.path if segment else None)

    def close(self, clock: Clock | None) -> None:
        """Flush and close the log, record the simulated clock's time, release the lock."""
        try:
            if self.recorder is not None:
                was_writer = self.recorder.writer is not None
                self.recorder.close(
                    f"{self.path}: this Cluster is closed; open the directory again to change it"
                )
                if was_writer and clock is not None and clock.simulated:
                    self.store_meta({"clock": {"kind": "simulated", "time": clock.now()}})
        finally:
            unlock_state(self.lock_fd)
            self.lock_fd = -1


def compact_dir(state_dir: Path, *, current: Path | None = None) -> list[Path]:
    """Remove what the newest valid snapshot makes redundant; returns the removed files.

    Only segments all of whose records the snapshot covers go (never the last segment),
    and older snapshots. The snapshot is verified (CRC) first.
    """
    snaps = list_snapshots(state_dir / SNAP_DIR)
    newest = None
    for info in reversed(snaps):
        try:
            read_snapshot(info.path)
        except StateError:
            continue
        newest = info
        break
    if newest is None:
        return []
    removed: list[Path] = []
    segs = list_segments(state_dir / LOG_DIR)
    for i, seg in enumerate(segs[:-1]):
        if seg.path == current:
            break
        if segs[i + 1].first_seq <= newest.seq + 1:
            seg.path.unlink()
            removed.append(seg.path)
    for info in snaps:
        if info.seq < newest.seq:
            info.path.unlink()
            removed.append(info.path)
    if removed:
        fsync_dir(state_dir / LOG_DIR)
        fsync_dir(state_dir / SNAP_DIR)
    return removed


# ------------------------------------------------------------------------------ open


def reseed_stream(seed: int, seq: int) -> int:
    """The seed of a reopened state's decisions: a reopened cluster must not hand out the
    uids and generated names it handed out after its first start, so the stream continues
    from a point derived from the history length (the same whether or not a snapshot
    exists)."""
    h = hashlib.blake2b(f"reopen/{seed}/{seq}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def filter_entries(
    events: Iterator[Entry],
    kind: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    since: AsOf | None = None,
    until: AsOf | None = None,
) -> Iterator[Entry]:
    """The entries matching the filters of :meth:`Cluster.iter_events` (bounds inclusive)."""
    lo_seq, lo_ts = parse_point(since) if since is not None else (None, None)
    hi_seq, hi_ts = parse_point(until) if until is not None else (None, None)
    by_object = kind is not None or namespace is not None or name is not None
    for ev in events:
        if lo_seq is not None and ev.seq < lo_seq:
            continue
        if hi_seq is not None and ev.seq > hi_seq:
            return
        if lo_ts is not None and ev.ts < lo_ts:
            continue
        if hi_ts is not None and ev.ts > hi_ts:
            continue  # wall clocks may step back: keep reading
        if by_object and not ev.touches(kind, namespace, name):
            continue
        yield ev
