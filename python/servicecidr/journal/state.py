"""State directories: a Cluster that keeps its history on disk.

A state directory holds::

    meta                 JSON: format version, flags, clock kind and time, created-at
    lock                 the writer's pid (the lock is flock() on the directory itself:
                         exclusive for the writer, shared by readers)
    log/<seq>.log        append-only event log segments (journal/segments.py)
    snapshots/<seq>.snap whole-state snapshots (journal/snapshots.py)

:meth:`Cluster.open` (through :class:`StateDir`) loads the newest valid snapshot,
replays the log after it, and, for a writer, appends every entry committed afterwards
*before* applying it: a write is acknowledged only once it is in the log, and one the log
cannot take (a full disk) fails with nothing applied (see :class:`FileRecorder`).
docs/FORMAT.md describes every file.

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
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from servicecidr.api.flags import parse_service_cluster_ip_range
from servicecidr.clock import Clock, format_micro_time, parse_time
from servicecidr.errors import InvalidInputError
from servicecidr.journal import fsio
from servicecidr.journal.recorder import Touched, check_next, record_then_apply
from servicecidr.journal.records import Entry
from servicecidr.journal.recovery import (
    Problem,
    ReplayTarget,
    VerifyReport,
    iter_log,
    repair_torn_tail,
    replay_log,
    verify_state,
)
from servicecidr.journal.segments import (
    DURABILITY_MODES,
    LogCorruptError,
    LogWriter,
    ReadOnlyError,
    SegmentInfo,
    SegmentScan,
    StateError,
    StateLockedError,
    TornTailError,
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
    "dir_status",
    "filter_entries",
    "lock_state",
    "parse_point",
    "read_meta",
    "reseed_stream",
    "unlock_state",
    "verify_dir",
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
    """The meta file of a state directory, checked (StateError names what is wrong)."""
    path = state_dir / META_NAME
    try:
        meta = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise StateError(
            f"{state_dir}: not a servicecidr state directory (no {META_NAME} file)"
        ) from None
    except (OSError, ValueError) as e:
        raise StateError(f"{path}: unreadable meta file: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise StateError(f"{path}: not a servicecidr meta file (no format {STATE_FORMAT!r})")
    version = meta.get("version")
    if type(version) is not int or version > STATE_VERSION:
        raise StateError(
            f"{path}: state format version {version!r} is newer than this "
            f"servicecidr reads ({STATE_VERSION}); upgrade servicecidr"
        )
    why = _meta_problem(meta)
    if why is not None:
        raise StateError(f"{path}: damaged meta file: {why}")
    return meta


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a meta file (docs/FORMAT.md), or None."""
    rng = meta.get("service_cluster_ip_range")
    if rng is not None:
        if not isinstance(rng, list) or not all(isinstance(x, str) for x in rng):
            return f"service_cluster_ip_range is not a list of CIDRs: {rng!r}"
        try:
            parse_service_cluster_ip_range(rng)
        except InvalidInputError as e:
            return str(e)
    seed = meta.get("seed")
    if seed is not None and type(seed) is not int:
        return f"seed is not an integer or null: {seed!r}"
    clock = meta.get("clock")
    if clock is not None:
        if not isinstance(clock, dict) or clock.get("kind") not in ("wall", "simulated"):
            return f"clock is not {{'kind': 'wall' | 'simulated', ...}}: {clock!r}"
        t = clock.get("time")
        if t is not None and (type(t) not in (int, float) or not math.isfinite(t)):
            return f"clock.time is not a finite number: {t!r}"
    created = meta.get("created")
    if created is not None and not isinstance(created, str):
        return f"created is not a string: {created!r}"
    return None


def _write_meta(state_dir: Path, meta: dict[str, Any]) -> None:
    try:
        fsio.atomic_write(state_dir / META_NAME, [json.dumps(meta, indent=2).encode() + b"\n"])
    except OSError as e:
        raise StateError(f"{state_dir / META_NAME}: cannot write the meta file: {e}") from e


# ------------------------------------------------------------------------------ lock


def lock_state(state_dir: Path, shared: bool) -> int:
    """Take the directory's lock (shared for readers); returns the fd for
    :func:`unlock_state`. StateLockedError when it is held incompatibly.

    The lock is ``flock(2)`` on the state directory itself, which no one can unlink or
    replace from under a writer (a lock *file* can be: a second writer would then lock
    a new file and both would append to one log). The writer's pid goes into the
    ``lock`` file, for the message a refused process prints.
    """
    try:
        fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise StateError(f"{state_dir}: no such state directory") from None
    except NotADirectoryError:
        raise StateError(f"{state_dir}: not a directory; a state directory is a folder") from None
    except OSError as e:
        raise StateError(f"{state_dir}: cannot open the state directory: {e}") from e
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StateError(f"{state_dir}: cannot lock the state directory: {e}") from e
        holder = _lock_holder(state_dir)
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
    return fd


def _lock_holder(state_dir: Path) -> str:
    """The pid the writer recorded ("" when unknown)."""
    try:
        with open(state_dir / LOCK_NAME, "rb") as f:
            text = f.read(64).decode(errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def _record_holder(state_dir: Path) -> None:
    """Write the writer's pid into ``lock`` (informational: the lock is the directory's
    flock, so a ``lock`` that cannot be written, or is not a file, changes nothing)."""
    with contextlib.suppress(OSError):
        fd = os.open(
            state_dir / LOCK_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644
        )
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)


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

    The rule for writes: **a write is acknowledged only once its entry is in the log.**
    With a writer, ``append`` writes the entry (with its durability) before returning;
    when the log cannot store it (a full disk) it raises StateError and nothing of it
    is left in the log, so the engine applies nothing. When the log can no longer be
    trusted (an fsync failed, or a batch of a bulk operation was written only in part)
    the recorder is *broken*: it tells :attr:`on_broken`, and every later append and
    snapshot is refused until the directory is opened again; reads go on. Without a
    writer (opened read-only, as of a point, or closed) it refuses with ReadOnlyError.
    ``read`` reads the segments back.
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
        #: told (with the reason) when the log stops taking entries (see the class)
        self.on_broken: Callable[[str], None] | None = None

    @property
    def last_seq(self) -> int:
        """The seq of the last entry recorded."""
        return self._last

    def _broken(self, failure: StateError) -> None:
        """The log stopped (see LogWriter.failure): refuse every later write."""
        self.refusal = f"{failure} Writes are refused until the directory is opened again."
        if self.on_broken is not None:
            self.on_broken(self.refusal)

    def append(self, entry: Entry) -> None:
        """Write ``entry`` to the log, or raise and write nothing."""
        check_next(self, entry)
        writer = self.writer
        if writer is None:
            raise ReadOnlyError(self.refusal)
        try:
            writer.append(entry)
        except StateError as e:
            if writer.failure is not None:
                self._broken(writer.failure)
            target = f"{entry.namespace}/{entry.name}" if entry.namespace else entry.name
            raise StateError(
                f"{entry.verb} {entry.kind} {target}: not stored, nothing was changed: {e}"
            ) from e
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
        are applied in memory already, not all in the log)."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
        except StateError as e:
            self._broken(writer.failure or e)
            raise

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
        """Flush and close the log; later appends are refused with ``refusal``. Raises
        StateError when the log could not be flushed (the file is closed all the same)."""
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
        when it is missing, empty, or what an interrupted init left (:func:`dir_status`)."""
        state_dir = Path(path)
        status = dir_status(state_dir)
        if status != "state" and read_only:
            unfinished = " (an unfinished init: open it for writing to create it)"
            raise StateError(
                f"{state_dir}: no state directory here to open read-only"
                + (unfinished if status == "unfinished" else "")
            )
        if status == "other":
            # A log without its meta file is a damaged state, not a new one.
            raise StateError(_NOT_A_STATE.format(state_dir))
        try:
            fsio.mkdir(state_dir)
        except OSError as e:
            raise StateError(f"{state_dir}: cannot create the state directory: {e}") from e
        lock_fd = lock_state(state_dir, shared=read_only)
        try:
            if not read_only:
                status = dir_status(state_dir)
                if status == "other":
                    raise StateError(_NOT_A_STATE.format(state_dir))
                if status != "state":
                    # a new state directory (we hold the lock, so no one else is creating
                    # it); the meta file comes first, so that whatever an interrupted init
                    # leaves is either an unfinished init (opened as new) or a state
                    _write_meta(
                        state_dir,
                        {
                            "format": STATE_FORMAT,
                            "version": STATE_VERSION,
                            "created": format_micro_time(time.time()),
                            **new_meta,
                        },
                    )
            meta = read_meta(state_dir)
            if not read_only:
                for sub in (LOG_DIR, SNAP_DIR):
                    try:
                        fsio.mkdir(state_dir / sub)
                    except FileExistsError:
                        raise StateError(
                            f"{state_dir / sub}: not a directory (a state's {sub} is a folder)"
                        ) from None
                    except OSError as e:
                        raise StateError(f"{state_dir / sub}: cannot create the folder: {e}") from e
                _record_holder(state_dir)
            return cls(state_dir, lock_fd, meta, read_only)
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
        max_ts = max(res.max_ts, snap.max_ts if snap is not None else float("-inf"))
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
            try:
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
            except OSError as e:
                raise StateError(f"{self.log_dir}: cannot open the log for writing: {e}") from e
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
        writer = rec.writer if rec is not None else None
        if self.read_only or rec is None or writer is None:
            raise ReadOnlyError(
                f"{self.path}: snapshot needs the directory open for writing "
                "(not read_only, not as_of, not closed)"
            )
        if writer.failure is not None:
            # memory may hold entries the log does not: a snapshot would make them durable
            raise StateError(f"no snapshot: {writer.failure}")
        # The log must be on disk up to the snapshot's seq before the snapshot claims it.
        rec.flush()
        writer.sync()
        try:
            path, _ = write_snapshot(target, self.snap_dir, seq=rec.last_seq, max_ts=rec.max_ts)
        except OSError as e:
            raise StateError(f"{self.snap_dir}: cannot write a snapshot: {e}") from e
        with contextlib.suppress(OSError):
            # when no new segment can be made now, the log goes on in the current one
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
        """Flush and close the log, record the simulated clock's time, release the lock.

        Raises StateError when the log could not be flushed (everything is released all
        the same). Recording the clock is best effort: when ``meta`` cannot be written (a
        full disk) a warning says so, and a simulated clock reopens at the time of the
        last entry instead."""
        try:
            if self.recorder is not None:
                was_writer = self.recorder.writer is not None
                self.recorder.close(
                    f"{self.path}: this Cluster is closed; open the directory again to change it"
                )
                if was_writer and clock is not None and clock.simulated:
                    try:
                        self.store_meta({"clock": {"kind": "simulated", "time": clock.now()}})
                    except StateError as e:
                        _warn(f"{e}; the simulated clock reopens at the last event's time")
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
    doomed: list[Path] = []
    for i, seg in enumerate(segs[:-1]):
        if seg.path == current:
            break
        if segs[i + 1].first_seq <= newest.seq + 1:
            doomed.append(seg.path)
    doomed += [info.path for info in snaps if info.seq < newest.seq]
    try:
        for path in doomed:
            fsio.unlink(path)
            removed.append(path)
        if removed:
            fsio.fsync_dir(state_dir / LOG_DIR)
            fsio.fsync_dir(state_dir / SNAP_DIR)
    except OSError as e:
        raise StateError(
            f"{state_dir}: compaction stopped ({e}) after removing {len(removed)} files"
        ) from e
    return removed


# ------------------------------------------------------------------------------ status


_NOT_A_STATE = (
    "{}: not a servicecidr state directory (no meta file); use an empty or new folder to create one"
)


def dir_status(state_dir: Path) -> str:
    """What a path holds: ``state`` (a state directory: it has a meta file), ``missing``
    (nothing, or an empty folder: opening for writing creates a state), ``unfinished``
    (only what an ``init`` interrupted by a crash or a full disk leaves: a temporary meta
    file, ``lock``, log and snapshot folders without a segment or snapshot; opening for
    writing creates the state afresh) or ``other`` (files that are not a state's: refused).
    StateError when the path is a file or cannot be read."""
    try:
        if not state_dir.exists():
            return "missing"
        if not state_dir.is_dir():
            raise StateError(f"{state_dir}: not a directory; a state directory is a folder")
        if (state_dir / META_NAME).exists():
            return "state"
        names = os.listdir(state_dir)
    except OSError as e:
        raise StateError(f"{state_dir}: cannot read the directory: {e}") from e
    if not names:
        return "missing"
    return "unfinished" if all(_init_leftover(state_dir, n) for n in names) else "other"


def _init_leftover(state_dir: Path, name: str) -> bool:
    path = state_dir / name
    if name.startswith(f".{META_NAME}.tmp-") or (name == LOCK_NAME and path.is_file()):
        return True
    if name in (LOG_DIR, SNAP_DIR) and path.is_dir():
        # nothing but temporary files (a segment or snapshot being created)
        return all(n.startswith(".") for n in os.listdir(path))
    return False


# ------------------------------------------------------------------------------ verify


def verify_dir(
    state_dir: Path,
    open_read_only: Callable[[Path], None],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Everything ``servicecidr log verify`` checks, without writing: the meta file,
    every record of every segment and every snapshot (:func:`verify_state`), and — when
    those hold — that the state opens (``open_read_only(state_dir)`` opens and closes it
    read-only, as ``get`` would: the newest snapshot and the log after it, applied)."""
    rep = verify_state(state_dir, progress=progress)
    try:
        read_meta(state_dir)
    except StateError as e:
        rep.problems.insert(0, Problem(str(state_dir / META_NAME), None, str(e)))
    if rep.problems:
        return rep
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            open_read_only(state_dir)
        # a snapshot whose bytes check out but whose contents do not load (a ServiceCIDR
        # whose cidrs are not CIDRs): opening skipped it, so it is damaged
        for w in caught:
            text = str(w.message)
            for i, (path, seq, ok) in enumerate(rep.snapshots):
                if ok and text.startswith(f"{path}:"):
                    rep.snapshots[i] = (path, seq, False)
                    rep.problems.append(Problem(path, None, text))
    except LogCorruptError as e:
        rep.problems.append(Problem(e.path, e.offset, str(e)))
    except StateError as e:
        rep.problems.append(Problem(str(state_dir), None, f"the state does not open: {e}"))
    return rep


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
