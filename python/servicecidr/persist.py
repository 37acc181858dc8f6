"""State directories: a Cluster that keeps its history on disk.

A state directory holds::

    meta                 JSON: format version, flags, clock kind and time, created-at
    lock                 the writer's pid (the lock is flock() on the directory itself:
                         exclusive for the writer, shared by readers)
    log/<seq>.log        append-only event log segments (events/log.py)
    snapshots/<seq>.snap whole-state snapshots (events/snapshot.py)

:meth:`Cluster.open` (implemented by :func:`open_cluster`) loads the newest valid snapshot,
replays the log after it, and, for a writer, appends every event committed afterwards
*before* applying it: a write is acknowledged only once it is in the log, and one the log
cannot take (a full disk) fails with nothing applied (see :class:`PersistentState`).
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
import random
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servicecidr._core import parse_ip
from servicecidr.allocation.nodeports import service_ports
from servicecidr.clock import Clock, SimulatedClock, WallClock, format_micro_time, parse_time
from servicecidr.errors import InvalidInputError, ServiceCIDRError
from servicecidr.events import fsio
from servicecidr.events.log import (
    DURABILITY_MODES,
    LogCorruptError,
    LogWriter,
    ReadOnlyError,
    SegmentInfo,
    StateError,
    StateLockedError,
    TornTailError,
    atomic_write,
    list_segments,
    torn_message,
)
from servicecidr.events.model import (
    OP_PUT,
    Event,
    Write,
    check_payload,
    decode_object,
    encode_event,
)
from servicecidr.events.recovery import (
    Problem,
    VerifyReport,
    iter_log,
    repair_torn_tail,
    replay_log,
    verify_state,
)
from servicecidr.events.snapshot import (
    list_snapshots,
    load_snapshot,
    read_snapshot,
    write_snapshot,
)

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster
    from servicecidr.registry.txn import Txn

__all__ = [
    "STATE_FORMAT",
    "STATE_VERSION",
    "AsOf",
    "PersistentState",
    "dir_status",
    "filter_events",
    "lock_state",
    "open_cluster",
    "parse_point",
    "read_meta",
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
    from servicecidr.cluster import _parse_range

    rng = meta.get("service_cluster_ip_range")
    if rng is not None:
        if not isinstance(rng, list) or not all(isinstance(x, str) for x in rng):
            return f"service_cluster_ip_range is not a list of CIDRs: {rng!r}"
        try:
            _parse_range(rng)
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
        atomic_write(state_dir / META_NAME, [json.dumps(meta, indent=2).encode() + b"\n"])
    except OSError as e:
        raise StateError(f"{state_dir / META_NAME}: cannot write the meta file: {e}") from e


def _target(ev: Event) -> str:
    return f"{ev.namespace}/{ev.name}" if ev.namespace else ev.name


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


def _release(writer: LogWriter | None, lock_fd: int) -> None:
    if writer is not None:
        with contextlib.suppress(OSError, ServiceCIDRError):
            writer.close()
    unlock_state(lock_fd)


def unlock_state(fd: int) -> None:
    """Release a lock taken with :func:`lock_state`."""
    if fd >= 0:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ------------------------------------------------------------------------------ state


def _undo_decision(c: Cluster, writes: list[Write]) -> None:
    """Give back what a decision reserved before its event was committed — the addresses
    of IPAddress objects it would have created, the node ports of the Services it would
    have stored — when the event is refused or cannot be logged: memory is then as it
    was before the request."""
    for w in writes:
        if w.op != OP_PUT:
            continue
        if w.kind == "IPAddress" and not c._store.contains("IPAddress", w.key):
            try:
                canonical = parse_ip(w.key)[0]
            except InvalidInputError:
                continue  # not an address: it marked nothing
            # another spelling of the address, stored, holds the same bit
            if canonical == w.key or not c._store.contains("IPAddress", canonical):
                c._meta.unmark(w.key)
        elif w.kind == "Service" and w.blob is not None and b"odePort" in w.blob:
            with contextlib.suppress(Exception):  # a blob that does not decode reserved nothing
                spec = decode_object(w.blob).get("spec") or {}
                for port in service_ports(spec):
                    c._nodeports.release_pending(port)


def _refuse(
    c: Cluster, reason: str, error: type[ServiceCIDRError] = ReadOnlyError
) -> Callable[[Txn], None]:
    """A write guard for ``Cluster._commit``: undoes what the refused decision reserved
    and raises ``error(reason)``."""

    def guard(txn: Txn) -> None:
        _undo_decision(c, txn.writes)
        raise error(reason)

    return guard


class LogEvents(list[Event]):
    """Stands in for ``Cluster._events`` on an opened cluster: the log holds the events,
    so appends are dropped and iterating reads them back from disk (``Cluster.events()``
    then returns the history without keeping it in memory)."""

    def __init__(self, state: PersistentState, c: Cluster) -> None:
        super().__init__()
        self._state = state
        self._cluster = c

    def append(self, ev: Event, /) -> None:
        """The event is in the log already."""

    def __iter__(self) -> Iterator[Event]:
        return self._state.iter_events(self._cluster)

    def __len__(self) -> int:
        segs = list_segments(self._state.log_dir)
        first = segs[0].first_seq if segs else self._cluster._seq + 1
        return max(0, self._cluster._seq - first + 1)


class PersistentState:
    """What an opened Cluster keeps about its state directory (``Cluster._persist``).

    The rule for writes: **a write is acknowledged only once its event is in the log.**
    ``Cluster._commit`` hands each event to :meth:`journal` before applying it; when the
    log refuses it (an event its reader would not read back) or cannot store it (a full
    disk), the event is not applied, what the decision reserved is given back, and the
    call raises — memory is exactly as before the request, and the log holds nothing of
    it. When the log can no longer be trusted (an fsync failed, or a batch of a bulk
    operation was written only in part), the Cluster also stops taking writes, and
    refuses snapshots, until the directory is opened again; reads go on.
    """

    def __init__(
        self,
        state_dir: Path,
        lock_fd: int,
        meta: dict[str, Any],
        *,
        read_only: bool,
        writer: LogWriter | None,
        max_ts: float,
    ) -> None:
        self.dir = state_dir
        self.log_dir = state_dir / LOG_DIR
        self.snap_dir = state_dir / SNAP_DIR
        self.lock_fd = lock_fd
        self.meta = meta
        self.read_only = read_only
        self.writer = writer
        self.max_ts = max_ts
        self.closed = False
        self.finalizer: weakref.finalize[Any, Any] | None = None
        #: the function :meth:`sink` made (the importer checks it is the only sink)
        self.sink_fn: Callable[[Event], None] | None = None
        #: the seq of the last event :meth:`journal` logged (the sink skips it)
        self.logged = 0

    # -------------------------------------------------------------- appending

    def _stop_writes(self, c: Cluster, failure: StateError) -> None:
        """The log stopped (see LogWriter.failure): refuse every later write."""
        c._write_guard = _refuse(
            c,
            f"{failure} Writes are refused until the directory is opened again.",
            StateError,
        )

    def journal(self, c: Cluster) -> Callable[[Event], None]:
        """``Cluster._journal``: log each event before it is applied (see the class)."""
        writer = self.writer
        assert writer is not None

        def log(ev: Event) -> None:
            payload = encode_event(ev)
            why = check_payload(payload)
            if why is not None:
                _undo_decision(c, ev.writes)
                raise InvalidInputError(
                    f"{ev.verb} {ev.kind} {_target(ev)}: refused: the event would be "
                    f"stored as a record the log cannot read back ({why})"
                )
            try:
                writer.append(ev, payload)
            except StateError as e:
                _undo_decision(c, ev.writes)
                if writer.failure is not None:
                    self._stop_writes(c, writer.failure)
                raise StateError(
                    f"{ev.verb} {ev.kind} {_target(ev)}: not stored, nothing was changed: {e}"
                ) from e
            self.logged = ev.seq
            if ev.ts > self.max_ts:
                self.max_ts = ev.ts

        return log

    def sink(self, c: Cluster) -> Callable[[Event], None]:
        """A sink that appends each applied event :meth:`journal` has not logged (a bulk
        operation that applies and then hands the event to the sinks, in a batch)."""
        writer = self.writer
        assert writer is not None

        def append(ev: Event) -> None:
            if ev.seq <= self.logged:
                return
            try:
                writer.append(ev)
            except StateError as e:
                self._stop_writes(c, writer.failure or e)
                raise
            self.logged = ev.seq
            if ev.ts > self.max_ts:
                self.max_ts = ev.ts

        self.sink_fn = append
        return append

    def append_framed(self, c: Cluster, seq: int, ts: float, data: bytes) -> None:
        """What the sink does, for a record framed already, in a batch (the importer's
        hot path: no Event object is built for it)."""
        writer = self.writer
        assert writer is not None
        try:
            writer.append_framed(seq, data)
        except StateError as e:
            self._stop_writes(c, writer.failure or e)
            raise
        self.logged = seq
        if ts > self.max_ts:
            self.max_ts = ts

    # -------------------------------------------------------------- reading

    @contextlib.contextmanager
    def batch(self, c: Cluster) -> Iterator[None]:
        """Log the events of a bulk operation in large writes (see
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
                self.flush(c)
            finally:
                writer.end_batch()

    def flush(self, c: Cluster) -> None:
        """Write what a batch holds; a failure stops the cluster's writes (the batch's
        events are applied in memory, not all in the log)."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
        except StateError as e:
            self._stop_writes(c, writer.failure or e)
            raise

    def iter_events(self, c: Cluster) -> Iterator[Event]:
        """The logged events up to the cluster's current sequence number."""
        self.flush(c)  # what a batch holds is history too
        return iter_log(self.log_dir, stop_seq=c._seq)

    # -------------------------------------------------------------- lifecycle

    def close(self, c: Cluster) -> None:
        """Flush (per durability), record the clock, release the lock.

        Raises StateError when the log could not be flushed (everything is released all
        the same). Recording the clock is best effort: when ``meta`` cannot be written
        (a full disk) a warning says so, and a simulated clock reopens at the time of
        the last event instead."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.writer is not None:
                self.writer.close()
                clock = self.meta.get("clock") or {}
                if c.clock.simulated:
                    new = {"kind": "simulated", "time": c.clock.now()}
                    if new != clock:
                        self.meta["clock"] = new
                        try:
                            _write_meta(self.dir, self.meta)
                        except StateError as e:
                            _warn(f"{e}; the simulated clock reopens at the last event's time")
        finally:
            c._write_guard = _refuse(
                c, f"{self.dir}: this Cluster is closed; open the directory again to change it"
            )
            if self.finalizer is not None:
                self.finalizer.detach()
            unlock_state(self.lock_fd)
            self.lock_fd = -1

    def snapshot(self, c: Cluster) -> Path:
        """Write a snapshot of the current state and start a new log segment."""
        if self.read_only or self.writer is None or self.closed:
            raise ReadOnlyError(
                f"{self.dir}: snapshot needs the directory open for writing "
                "(not read_only, not as_of, not closed)"
            )
        if self.writer.failure is not None:
            # memory may hold events the log does not: a snapshot would make them durable
            raise StateError(f"no snapshot: {self.writer.failure}")
        # The log must be on disk up to the snapshot's seq before the snapshot claims it.
        self.flush(c)
        self.writer.sync()
        try:
            path, _ = write_snapshot(c, self.snap_dir, max_ts=self.max_ts)
        except OSError as e:
            raise StateError(f"{self.snap_dir}: cannot write a snapshot: {e}") from e
        with contextlib.suppress(OSError):
            # when no new segment can be made now, the log goes on in the current one
            self.writer.rotate(c._seq + 1)
        return path

    def compact(self, c: Cluster) -> list[Path]:
        """Drop the log segments and older snapshots the newest valid snapshot covers."""
        if self.read_only or self.writer is None or self.closed:
            raise ReadOnlyError(f"{self.dir}: compact needs the directory open for writing")
        return compact_dir(
            self.dir, current=self.writer.segment.path if self.writer.segment else None
        )


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


# ------------------------------------------------------------------------------ verify


def verify_dir(
    cls: type[Cluster],
    state_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Everything ``servicecidr log verify`` checks, without writing: the meta file,
    every record of every segment and every snapshot (:func:`verify_state`), and — when
    those hold — that the state opens (read-only, as ``get`` would: the newest snapshot
    and the log after it, applied)."""
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
            open_cluster(cls, state_dir, read_only=True).close()
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


def _reseed(seed: int, seq: int) -> int:
    # A reopened cluster must not hand out the uids and generated names it handed out
    # after its first start: the stream continues from a point derived from the history
    # length, the same whether or not a snapshot exists.
    h = hashlib.blake2b(f"reopen/{seed}/{seq}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


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


def open_cluster(
    cls: type[Cluster],
    path: str | os.PathLike[str],
    *,
    service_cluster_ip_range: str | Iterable[str] | None = None,
    seed: int | None = None,
    clock: Clock | None = None,
    durability: str = "fsync",
    read_only: bool = False,
    as_of: AsOf | None = None,
    repair: bool = False,
    group_ms: float = 20.0,
    group_records: int = 512,
    segment_bytes: int = 64 << 20,
    progress: Callable[[int], None] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
) -> Cluster:
    """Implementation of :meth:`Cluster.open` (see there)."""
    from servicecidr.cluster import _parse_range

    if durability not in DURABILITY_MODES:
        raise InvalidInputError(
            f"durability {durability!r}: use one of {', '.join(DURABILITY_MODES)}"
        )
    stop_seq: int | None = None
    stop_ts: float | None = None
    if as_of is not None:
        read_only = True
        stop_seq, stop_ts = parse_point(as_of)
    if read_only and repair:
        raise InvalidInputError(
            "repair=True needs a writer: open without read_only/as_of, or run "
            "'servicecidr log repair'"
        )
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
        raise StateError(
            f"{state_dir}: not a servicecidr state directory (no {META_NAME} file); "
            "use an empty or new folder to create one"
        )
    try:
        fsio.mkdir(state_dir)
    except OSError as e:
        raise StateError(f"{state_dir}: cannot create the state directory: {e}") from e
    lock_fd = lock_state(state_dir, shared=read_only)
    try:
        return _open_locked(
            cls,
            state_dir,
            lock_fd,
            _parse_range(service_cluster_ip_range)
            if service_cluster_ip_range is not None
            else None,
            seed,
            clock,
            durability,
            read_only,
            as_of,
            stop_seq,
            stop_ts,
            repair,
            group_ms,
            group_records,
            segment_bytes,
            progress,
            None if read_only or as_of is not None else audit_log,
        )
    except BaseException:
        unlock_state(lock_fd)
        raise


def _open_locked(
    cls: type[Cluster],
    state_dir: Path,
    lock_fd: int,
    range_: tuple[str, ...] | None,
    seed: int | None,
    clock: Clock | None,
    durability: str,
    read_only: bool,
    as_of: AsOf | None,
    stop_seq: int | None,
    stop_ts: float | None,
    repair: bool,
    group_ms: float,
    group_records: int,
    segment_bytes: int,
    progress: Callable[[int], None] | None,
    audit_log: str | os.PathLike[str] | None = None,
) -> Cluster:
    if not read_only and dir_status(state_dir) != "state":
        # a new state directory (we hold the lock, so no one else is creating it); the
        # meta file comes first, so that whatever an interrupted init leaves is either
        # an unfinished init (opened as new) or a state (opened as one)
        if dir_status(state_dir) == "other":
            raise StateError(
                f"{state_dir}: not a servicecidr state directory (no {META_NAME} file); "
                "use an empty or new folder to create one"
            )
        meta: dict[str, Any] = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "created": format_micro_time(time.time()),
            "service_cluster_ip_range": list(range_ or ()),
            "seed": seed,
            "clock": (
                {"kind": "simulated", "time": clock.now()}
                if clock is not None and clock.simulated
                else {"kind": "wall"}
            ),
        }
        _write_meta(state_dir, meta)
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
    stored_range = tuple(meta.get("service_cluster_ip_range") or ())
    eff_range = range_ if range_ is not None else stored_range
    eff_seed = seed if seed is not None else meta.get("seed")
    stored_clock = meta.get("clock") or {"kind": "wall"}

    def make() -> Cluster:
        return cls(eff_range, eff_seed, clock or WallClock(), _start=False)

    c, snap = load_snapshot(
        make, state_dir / SNAP_DIR, max_seq=stop_seq, max_ts=stop_ts, warn=_warn
    )
    start_seq = (snap.seq if snap is not None else 0) + 1
    segs = list_segments(state_dir / LOG_DIR)
    if snap is None and segs and segs[0].first_seq > 1:
        raise StateError(
            f"{state_dir}: the log starts at seq {segs[0].first_seq} and no valid snapshot "
            f"covers what came before"
            + (f" seq {stop_seq}" if stop_seq is not None else "")
            + (f" {format_micro_time(stop_ts)}" if stop_ts is not None else "")
            + " (compacted away, or the snapshot is damaged: see the warnings)"
        )
    res = replay_log(
        c,
        state_dir / LOG_DIR,
        start_seq=start_seq,
        stop_seq=stop_seq,
        stop_ts=stop_ts,
        progress=progress,
    )
    if stop_seq is not None and c._seq < stop_seq:
        raise StateError(
            f"{state_dir}: as_of seq {stop_seq} is past the end of the history (last seq {c._seq})"
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

    # A simulated clock continues from where the history left it: the time recorded at
    # the last close, or the last event's time when the process died before closing.
    stored_time = float(stored_clock.get("time") or 0.0)
    if as_of is not None:
        if clock is None and stored_clock.get("kind") == "simulated":
            c._clock = SimulatedClock(max_ts if (res.applied or snap) else stored_time)
    else:
        if clock is None and stored_clock.get("kind") == "simulated":
            c._clock = SimulatedClock(stored_time)
        if c.clock.simulated:
            target = max(max_ts, stored_time, snap.clock if snap is not None else 0.0)
            if c.clock.now() < target:
                c.clock.advance(target - c.clock.now())
    if eff_seed is not None and c._seq > 0:
        c._rng = random.Random(_reseed(int(eff_seed), c._seq))

    writer = None
    if not read_only:
        writer = LogWriter(
            state_dir / LOG_DIR,
            durability,
            group_ms=group_ms,
            group_records=group_records,
            segment_bytes=segment_bytes,
        )
        try:
            if tail is not None and tail.last_seq == c._seq:
                writer.start(
                    SegmentInfo(tail.path, tail.first_seq), tail.good_end, tail.records, c._seq + 1
                )
            else:
                # no log yet, or a snapshot ahead of the log (written with durability
                # "none" before a machine crash): continue in a new segment after it
                writer.start(None, 0, 0, c._seq + 1)
        except OSError as e:
            raise StateError(f"{state_dir / LOG_DIR}: cannot open the log for writing: {e}") from e
    state = PersistentState(
        state_dir, lock_fd, meta, read_only=read_only, writer=writer, max_ts=max_ts
    )
    c._persist = state
    c._events = LogEvents(state, c)
    # A Cluster dropped without close() still releases its files and lock.
    state.finalizer = weakref.finalize(c, _release, writer, lock_fd)
    if read_only:
        why = "as of a point in history" if as_of is not None else "read-only"
        c._write_guard = _refuse(
            c, f"{state_dir}: opened {why}; open it without read_only/as_of to change it"
        )
        return c
    try:
        c._journal = state.journal(c)
        c.add_sink(state.sink(c))
        changed = False
        for key, value in (
            ("service_cluster_ip_range", list(c.service_cluster_ip_range)),
            ("seed", eff_seed),
        ):
            if meta.get(key) != value:
                meta[key] = value  # an apiserver restarted with other flags keeps them
                changed = True
        kind = "simulated" if c.clock.simulated else "wall"
        if stored_clock.get("kind") != kind:
            meta["clock"] = (
                {"kind": kind, "time": c.clock.now()} if kind == "simulated" else {"kind": "wall"}
            )
            changed = True
        if changed:
            _write_meta(state_dir, meta)
        if audit_log is not None:
            # Attached after the replay, so history is not audited again as new writes.
            from servicecidr.audit import AuditWriter

            AuditWriter(c, audit_log)
        c.start()
    except BaseException:
        if writer is not None:
            with contextlib.suppress(ServiceCIDRError, OSError):
                writer.close()  # open_cluster releases the lock
        state.finalizer.detach()
        raise
    return c


def filter_events(
    events: Iterator[Event],
    kind: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    since: AsOf | None = None,
    until: AsOf | None = None,
) -> Iterator[Event]:
    """The events matching the filters of :meth:`Cluster.iter_events` (bounds inclusive)."""
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
