"""Reading a state directory back: replaying the log, verifying it, repairing a torn tail.

Replay applies entries through the target's one apply (:class:`ReplayTarget`, the
engine): no controller runs, nothing random happens, so the state reached is the state
logged. Records go to the store in Rust (``_core.replay_into``), which reads, verifies and
applies them through the same ``Store.apply`` the live path uses, without building
Python objects; whatever it does not take (an older schema, damage, a record out of
sequence) it hands back, one record at a time, to the Python reader, which upcasts it or
words the error, and applies it through the target. After a record that wrote a
ServiceCIDR it returns, so that the target's indexes catch up before the next record.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from servicecidr._core import replay_into
from servicecidr.errors import InvalidInputError
from servicecidr.journal import fsio
from servicecidr.journal.records import Entry, Write
from servicecidr.journal.segments import (
    Buf,
    LogCorruptError,
    SegmentInfo,
    SegmentScan,
    StateError,
    TornTailError,
    list_segments,
    map_segment,
    resume_records,
    scan_segment,
    torn_message,
)
from servicecidr.journal.snapshots import SnapshotError, list_snapshots, read_snapshot
from servicecidr.store import Store, new_store

__all__ = [
    "Problem",
    "ReplayResult",
    "ReplayTarget",
    "VerifyReport",
    "iter_log",
    "repair_torn_tail",
    "replay_log",
    "verify_state",
]

Progress = Callable[[int], None]


class ReplayTarget(Protocol):
    """What replay applies entries to (the engine)."""

    @property
    def store(self) -> Store:
        """The object store the records go to."""
        ...

    def apply(self, writes: Sequence[Write]) -> None:
        """The one apply."""
        ...

    def upkeep(self, reshaped: Iterable[str], node_ports: Iterable[str]) -> None:
        """Bring the indexes up to the stored ServiceCIDRs and Services of these keys."""
        ...


@dataclass(slots=True)
class ReplayResult:
    """Where replay stopped and what it saw."""

    applied: int = 0
    last_seq: int = 0
    last_ts: float = 0.0
    max_ts: float = float("-inf")  # no entry applied yet
    #: the last segment's scan (None when the log has no segment)
    tail: SegmentScan | None = None
    #: True when replay stopped early (as_of), so the tail was not read to its end
    stopped: bool = False
    segments: list[SegmentInfo] = field(default_factory=list)


def replay_log(
    target: ReplayTarget,
    log_dir: Path,
    *,
    start_seq: int,
    stop_seq: int | None = None,
    stop_ts: float | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Apply every logged entry with ``start_seq <= seq`` (up to ``stop_seq`` and while
    ``ts <= stop_ts``) to ``target``; ``result.last_seq`` is the last one applied.

    A torn tail ends the replay with ``result.tail.torn_at`` set (the caller decides
    whether to refuse or repair); damage anywhere else raises :class:`LogCorruptError`.
    """
    segs = list_segments(log_dir)
    res = ReplayResult(last_seq=start_seq - 1, segments=segs)
    was_enabled = gc.isenabled()
    gc.disable()  # replay allocates many small containers and frees none of them
    try:
        expect: int | None = None
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            if not last and segs[i + 1].first_seq <= start_seq:
                continue  # every record in it is covered already
            if expect is None and seg.first_seq > start_seq:
                raise LogCorruptError(
                    f"{seg.path}: the log resumes at seq {seg.first_seq} but the state "
                    f"before it ends at seq {start_seq - 1}: segments are missing. Restore "
                    "them, or the snapshot that covered them.",
                    seg.path,
                    0,
                )
            data = map_segment(seg.path)
            scan, _ = scan_segment(seg, last=last, expect_first=expect, data=data)
            if last:
                res.tail = scan
            if _replay_segment(
                target, scan, data, last, res, start_seq, stop_seq, stop_ts, progress
            ):
                res.stopped = True
                return res
            expect = scan.last_seq + 1
        return res
    finally:
        if was_enabled:
            gc.enable()


_END, _NEEDS_PYTHON, _STOPPED, _BATCH, _RESHAPED = 0, 1, 2, 3, 4
_BATCH_EVENTS = 0x4000
_U64 = 1 << 64
#: Off: every record goes through the Python reader and the target's apply (the tests
#: compare both paths; the benchmark shows what reading in Rust gains).
FAST_REPLAY = True


def _replay_segment(
    target: ReplayTarget,
    scan: SegmentScan,
    data: Buf,
    last: bool,
    res: ReplayResult,
    start_seq: int,
    stop_seq: int | None,
    stop_ts: float | None,
    progress: Progress | None,
) -> bool:
    """Replay one segment (in Rust first, the Python reader for what it hands back);
    returns True when the stop point was reached."""
    store = target.store
    # Rust counts in u64: a stop past every sequence number is no stop there (the caller
    # reports "past the end" after the replay).
    fast_stop = stop_seq if stop_seq is None or 0 <= stop_seq < _U64 else None
    if stop_seq is not None and stop_seq < 0:
        fast_stop = 0
    # After a record Rust handed back, the next ``slow`` go to the Python reader directly:
    # a log of records it never takes (an older schema) then costs one Rust call per 64
    # records, not one per record.
    slow = backoff = 0
    next_report = res.applied + _BATCH_EVENTS
    while True:
        if FAST_REPLAY and slow <= 0:
            p = replay_into(
                store,
                data,
                scan.good_end,
                scan.last_seq + 1,
                start_seq,
                fast_stop,
                stop_ts,
                _BATCH_EVENTS,
            )
            if p.records:
                scan.records += p.records
                scan.last_seq = p.last_seq
                scan.good_end = p.offset
            if p.reshaped or p.node_ports:
                try:
                    target.upkeep(p.reshaped, p.node_ports)
                except StateError:
                    raise
                except Exception as e:  # a ServiceCIDR the store took, meaning nothing
                    # (a status-4 return names the one record that wrote it)
                    raise LogCorruptError(
                        f"{scan.path}: record at byte {p.record_offset} (seq {p.last_seq}) is "
                        f"well-formed but cannot be applied ({e}); the log was written by "
                        "another tool or damaged",
                        scan.path,
                        p.record_offset,
                    ) from e
            if p.applied:
                res.applied += p.applied
                res.last_seq = p.last_seq - 1 if p.status == _STOPPED else p.last_seq
                res.last_ts = p.last_ts
                if p.max_ts > res.max_ts:
                    res.max_ts = p.max_ts
            if p.status == _STOPPED:
                return True
            if progress is not None and res.applied >= next_report:
                next_report = res.applied + _BATCH_EVENTS
                progress(res.applied)
            if p.status in (_BATCH, _RESHAPED):
                continue
            if p.status == _END:
                return False
            backoff = 1 if p.records else min(64, 2 * backoff or 1)
            slow = backoff
        slow -= 1
        # One record through the Python reader: it raises on damage, ends on a torn
        # tail (scan.torn_at) and upcasts older records.
        got = next(resume_records(scan, data, last), None)
        if got is None:
            return False
        ev = got[1]
        seq = ev.seq
        if seq < start_seq:
            continue
        if (stop_seq is not None and seq > stop_seq) or (stop_ts is not None and ev.ts > stop_ts):
            return True
        try:
            target.apply(ev.writes)
        except StateError:
            raise
        except Exception as e:  # the store refuses malformed writes, changing nothing
            raise LogCorruptError(
                f"{scan.path}: record at byte {got[0]} (seq {seq}) is well-formed but cannot "
                f"be applied ({e}); the log was written by another tool or damaged",
                scan.path,
                got[0],
            ) from e
        res.applied += 1
        res.last_seq = seq
        res.last_ts = ev.ts
        if ev.ts > res.max_ts:
            res.max_ts = ev.ts
        if progress is not None and res.applied >= next_report:
            next_report = res.applied + _BATCH_EVENTS
            progress(res.applied)


def iter_log(log_dir: Path, *, start_seq: int = 1, stop_seq: int | None = None) -> Iterator[Entry]:
    """Events of the log from ``start_seq`` to ``stop_seq`` (a torn tail just ends it)."""
    segs = list_segments(log_dir)
    expect: int | None = None
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if not last and segs[i + 1].first_seq <= start_seq:
            continue
        if stop_seq is not None and seg.first_seq > stop_seq:
            return
        scan, records = scan_segment(seg, last=last, expect_first=expect)
        for _, ev in records:
            if ev.seq < start_seq:
                continue
            if stop_seq is not None and ev.seq > stop_seq:
                return
            yield ev
        expect = scan.last_seq + 1


def repair_torn_tail(scan: SegmentScan) -> Path:
    """Keep a copy of the bytes after the last whole record in
    ``<segment>.torn-<offset>`` and truncate the segment there. Returns the copy's path.

    The copy is made (and fsynced) first: when that fails (a full disk), the segment is
    left as it was and StateError says so."""
    if scan.torn_at is None:
        raise ValueError("repair_torn_tail: the segment has no torn tail")
    off = scan.torn_at
    copy = scan.path.with_name(f"{scan.path.name}.torn-{off}")
    try:
        with open(scan.path, "rb") as src:
            src.seek(off)
            tail = src.read()
        fsio.atomic_write(copy, [tail])
    except OSError as e:
        raise StateError(
            f"{scan.path}: cannot keep a copy of the {scan.size - off} bytes after byte {off} "
            f"in {copy} ({e}); nothing was changed. Free some space and run it again."
        ) from e
    try:
        fd = os.open(scan.path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            fsio.ftruncate(fd, off)
            fsio.fsync(fd)
        finally:
            os.close(fd)
        fsio.fsync_dir(scan.path.parent)
    except OSError as e:
        raise StateError(
            f"{scan.path}: cannot truncate the segment at byte {off} ({e}); the bytes after "
            f"it are kept in {copy}"
        ) from e
    return copy


# ------------------------------------------------------------------------------ verify


@dataclass(slots=True)
class Problem:
    """One thing verify found wrong."""

    path: str
    offset: int | None
    message: str
    repairable: bool = False


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify_state` checked and found."""

    segments: list[tuple[str, int, int, int]] = field(default_factory=list)  # path, first,
    # last, records
    snapshots: list[tuple[str, int, bool]] = field(default_factory=list)  # path, seq, ok
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def lines(self) -> list[str]:
        """The report as text, one line each."""
        out = []
        for path, first, last, n in self.segments:
            seqs = f"seqs {first}..{last}" if n else f"empty, next seq {first}"
            out.append(f"segment  {path}: {seqs}, {n} records")
        for path, seq, ok in self.snapshots:
            out.append(f"snapshot {path}: seq {seq}, {'ok' if ok else 'DAMAGED'}")
        for p in self.problems:
            tag = "REPAIRABLE" if p.repairable else "PROBLEM"
            out.append(f"{tag}: {p.message}")
        out.append(
            f"{len(self.segments)} segments, {self.records} records, "
            f"{len(self.snapshots)} snapshots, {len(self.problems)} problems"
        )
        return out


def _check_objects(scratch: Store, path: Path, off: int, entry: Entry) -> None:
    """LogCorruptError when the store would refuse a write of the record at ``off``."""
    try:
        scratch.check(entry.writes)
    except (InvalidInputError, ValueError) as e:
        raise LogCorruptError(
            f"{path}: record at byte {off} (seq {entry.seq}) passes its CRC but cannot be "
            f"applied ({e}); the log was written by another tool or damaged",
            path,
            off,
        ) from e


def verify_state(
    state_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Check every record of every segment (framing, CRC, decoding, sequence, and every
    object it carries as the store would take it) and every snapshot (CRC, decoding) of a
    state directory; never writes."""
    rep = VerifyReport()
    scratch = new_store(feed_capacity=0)  # only its check: the rules every reader uses
    log_dir = state_dir / "log"
    segs = list_segments(log_dir)
    snaps = list_snapshots(state_dir / "snapshots")
    total = sum(s.path.stat().st_size for s in segs) + sum(s.path.stat().st_size for s in snaps)
    done = 0
    good_snaps: list[int] = []
    for info in snaps:
        try:
            read_snapshot(info.path)
            rep.snapshots.append((str(info.path), info.seq, True))
            good_snaps.append(info.seq)
        except SnapshotError as e:
            rep.snapshots.append((str(info.path), info.seq, False))
            rep.problems.append(Problem(str(info.path), None, str(e)))
        done += info.path.stat().st_size
        if progress is not None:
            progress(done, total)
    expect: int | None = None
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        try:
            gap_ok = (
                expect is not None
                and seg.first_seq > expect
                and any(s >= seg.first_seq - 1 for s in good_snaps)
            )
            scan, records = scan_segment(
                seg, last=last, expect_first=None if (expect is None or gap_ok) else expect
            )
            for off, entry in records:
                _check_objects(scratch, scan.path, off, entry)
            rep.records += scan.records
            rep.segments.append((str(seg.path), scan.first_seq, scan.last_seq, scan.records))
            if scan.torn_at is not None:
                rep.problems.append(
                    Problem(str(seg.path), scan.torn_at, torn_message(scan), repairable=True)
                )
            expect = scan.last_seq + 1
        except TornTailError as e:  # pragma: no cover - scan reports torn tails in the scan
            rep.problems.append(Problem(e.path, e.offset, str(e), repairable=True))
        except LogCorruptError as e:
            rep.problems.append(Problem(e.path, e.offset, str(e)))
            expect = None
        except StateError as e:
            rep.problems.append(Problem(str(seg.path), None, str(e)))
            expect = None
        done += seg.path.stat().st_size
        if progress is not None:
            progress(done, total)
    if segs and segs[0].first_seq > 1 and not any(s >= segs[0].first_seq - 1 for s in good_snaps):
        rep.problems.append(
            Problem(
                str(segs[0].path),
                None,
                f"the log starts at seq {segs[0].first_seq} and no valid snapshot covers "
                "what came before it",
            )
        )
    return rep
