"""The append-only event log: segment files of CRC-framed msgpack records.

Layout of one segment (all integers little-endian; docs/FORMAT.md is the full reference)::

    header  (24 bytes)
      0   8  magic  b"SCIDRLOG"
      8   2  u16    format version (1)
      10  2  u16    flags (0; readers refuse unknown bits)
      12  8  u64    sequence number of the first record the segment holds
      20  4  u32    CRC32C of bytes 0..20
    records, back to back, until the end of the file
      0   4  u32    payload length (>= 1)
      4   4  u32    CRC32C of the payload
      8   n  payload: encode_entry(event), a msgpack array

Segments are named after the first sequence number they hold
(``log/0000000000000001.log``) and are created whole (temporary file, fsync, rename), so a
crash can only leave a torn *record* at the end of the last segment, never a torn header.

Reading tells a torn tail from corruption this way: at the first record that does not
check out (too short, length past the end, CRC mismatch), the rest of the file is searched
for any record that does. If one exists, a record in the middle is damaged and reading
stops with :class:`LogCorruptError`; if none does, the file is the last segment, and the
bytes left are what an interrupted append leaves (a partial header, a payload cut short,
zeros), they are a torn write (:class:`TornTailError`), which repair may cut off. A last
record whose full length is there but whose CRC fails was written whole and damaged
since: corruption. A record that passes its CRC but breaks the record layout
(:func:`~servicecidr.journal.records.decode_entry`) or the sequence is corruption wherever
it is; one whose objects the store refuses is found when it is applied (replay) or
verified (``log verify``).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from servicecidr._core import crc32c as _core_crc32c
from servicecidr._core import frame_entries
from servicecidr.errors import (
    InvalidInputError,
    LogCorruptError,
    ReadOnlyError,
    StateError,
    StateLockedError,
    TornTailError,
)
from servicecidr.journal import fsio
from servicecidr.journal.fsio import atomic_write, fsync_dir  # re-exported
from servicecidr.journal.records import Entry, decode_entry, frame_entry

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "LOG_MAGIC",
    "MAX_RECORD",
    "RECORD_HEADER_SIZE",
    "LogCorruptError",
    "ReadOnlyError",
    "SegmentInfo",
    "SegmentScan",
    "StateError",
    "StateLockedError",
    "TornTailError",
    "atomic_write",
    "crc32c",
    "crc32c_extend",
    "frame",
    "fsync_dir",
    "list_segments",
    "map_segment",
    "resume_records",
    "scan_segment",
    "segment_header",
    "segment_name",
]

LOG_MAGIC = b"SCIDRLOG"
#: Version of the segment and snapshot layouts (not of the event schema).
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sHHQ")
HEADER_SIZE = _HEADER.size + 4  # + CRC32C of the fields
_RECORD = struct.Struct("<II")
RECORD_HEADER_SIZE = _RECORD.size
#: A record longer than this is taken as damage, not as data (an event is a few KiB).
MAX_RECORD = 1 << 30
Buf = bytes | mmap.mmap
_POPULATE: int = getattr(mmap, "MAP_POPULATE", 0)


def map_readonly(fd: int) -> mmap.mmap:
    """A whole file mapped read-only, its pages faulted in with one call where the
    platform can (MAP_POPULATE): readers here touch every page, and one fault at a time
    costs more than the reading."""
    if _POPULATE:
        return mmap.mmap(fd, 0, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ)
    return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)


_SEGMENT_DIGITS = 16


# The state errors live in servicecidr.errors (one exception tree); re-exported here.


# ------------------------------------------------------------------------------ CRC32C


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


def _py_crc32c_extend(crc: int, data: bytes) -> int:
    """Reference CRC32C (Castagnoli, reflected, init/xorout 0xFFFFFFFF) in pure Python:
    slow, kept as the tests' oracle for the fast one."""
    table = _CRC_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


_CRC_TABLE = _crc32c_table()


def crc32c(data: Buf | memoryview) -> int:
    """CRC32C (Castagnoli) of ``data`` (hardware-accelerated, in _core)."""
    return _core_crc32c(data)


def crc32c_extend(crc: int, data: Buf | memoryview) -> int:
    """CRC32C of the concatenation of what ``crc`` covers and ``data`` (no copy of a
    mapped file or a memoryview is made)."""
    return _core_crc32c(data, crc)


_fast_crc: Callable[[bytes], int] = _core_crc32c


# ------------------------------------------------------------------------------ records


def frame(payload: bytes) -> bytes:
    """One record as written: length, CRC32C, payload."""
    return _RECORD.pack(len(payload), _fast_crc(payload)) + payload


def segment_header(first_seq: int, flags: int = 0) -> bytes:
    """The 24-byte header of a segment whose first record has ``first_seq``."""
    head = _HEADER.pack(LOG_MAGIC, FORMAT_VERSION, flags, first_seq)
    return head + struct.pack("<I", crc32c(head))


def segment_name(first_seq: int) -> str:
    """File name of the segment starting at ``first_seq``."""
    return f"{first_seq:0{_SEGMENT_DIGITS}d}.log"


# ------------------------------------------------------------------------------ segments


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A segment file and the first sequence number its name promises."""

    path: Path
    first_seq: int


def list_segments(log_dir: Path) -> list[SegmentInfo]:
    """Segments of a log directory, oldest first (other files are ignored)."""
    out = []
    try:
        names = os.listdir(log_dir)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise StateError(f"{log_dir}: not a directory (the log of a state is a folder)") from None
    except OSError as e:
        raise StateError(f"{log_dir}: cannot list the log: {e}") from e
    for n in names:
        stem, dot, ext = n.partition(".")
        if dot and ext == "log" and stem.isdigit() and len(stem) == _SEGMENT_DIGITS:
            out.append(SegmentInfo(log_dir / n, int(stem)))
    out.sort(key=lambda s: s.first_seq)
    return out


def map_segment(path: Path) -> Buf:
    """The segment's bytes: mapped, not read, so a replay touches no fresh memory for
    the file (first-touch page faults cost more than the decoding on small VMs)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < HEADER_SIZE:
                return f.read()
            return map_readonly(f.fileno())
    except OSError as e:
        raise StateError(f"{path}: cannot read the log segment: {e}") from e


def read_header(path: Path, data: Buf) -> int:
    """Check a segment header; returns the first sequence number it names."""
    if len(data) < HEADER_SIZE:
        if data and not LOG_MAGIC.startswith(data[: len(LOG_MAGIC)]):
            raise LogCorruptError(_not_a_log(path, data), path, 0)
        raise LogCorruptError(
            f"{path}: truncated segment header ({len(data)} of {HEADER_SIZE} bytes); the "
            "file is damaged (segments are created whole, so a crash cannot do this). "
            "Restore it from a backup or move it away to open the rest.",
            path,
            len(data),
        )
    magic, version, flags, first_seq = _HEADER.unpack_from(data, 0)
    if magic != LOG_MAGIC:
        raise LogCorruptError(_not_a_log(path, data), path, 0)
    (crc,) = struct.unpack_from("<I", data, _HEADER.size)
    if crc != crc32c(data[: _HEADER.size]):
        raise LogCorruptError(
            f"{path}: segment header CRC mismatch at byte 0; the header is damaged. Restore "
            "the file from a backup.",
            path,
            0,
        )
    if version > FORMAT_VERSION:
        raise StateError(
            f"{path}: log format version {version} is newer than this servicecidr reads "
            f"({FORMAT_VERSION}); upgrade servicecidr"
        )
    if flags:
        raise StateError(f"{path}: unknown segment flags {flags:#06x}; upgrade servicecidr")
    return int(first_seq)


def _not_a_log(path: Path, data: Buf) -> str:
    return (
        f"{path}: not a servicecidr log segment (it starts with {bytes(data[:8])!r}, not "
        f"{LOG_MAGIC!r}); move the file out of the log directory"
    )


@dataclass(slots=True)
class SegmentScan:
    """What reading a segment found (filled in as :func:`scan_segment` iterates)."""

    path: Path
    first_seq: int
    size: int
    records: int = 0
    last_seq: int = 0
    #: offset just past the last whole record
    good_end: int = 0
    #: offset of a torn tail (only ever set on the last segment), else None
    torn_at: int | None = None
    torn_reason: str = ""


def _why_bad(data: Buf, off: int, end: int) -> str:
    """What is wrong with the record at ``off`` (the hot loop found something)."""
    if end - off < RECORD_HEADER_SIZE:
        return f"partial record header ({end - off} of {RECORD_HEADER_SIZE} bytes)"
    length, _ = _RECORD.unpack_from(data, off)
    if length == 0 or length > MAX_RECORD:
        return f"impossible record length {length}"
    stop = off + RECORD_HEADER_SIZE + length
    if stop > end:
        return f"partial payload ({end - off - RECORD_HEADER_SIZE} of {length} bytes)"
    return "CRC mismatch"


def _is_torn(data: Buf, off: int, end: int) -> bool:
    """Whether the bytes from ``off`` to the end can be what an interrupted append left.

    A record is written with one write(2), header and payload together, so a crash
    leaves a *prefix* of it: a partial header, or a header whose payload runs past the
    end of the file. Zero bytes to the end are the other trace of a crash (a file whose
    size reached the disk before its data did). A record whose full length is there but
    whose CRC does not match was written whole and damaged later: that is corruption.
    """
    if end - off < RECORD_HEADER_SIZE:
        return True
    length: int = _RECORD.unpack_from(data, off)[0]
    if length == 0:
        return bytes(data[off:end]).count(0) == end - off
    return length <= MAX_RECORD and off + RECORD_HEADER_SIZE + length > end


def _valid_record_after(data: Buf, start: int, min_seq: int) -> int | None:
    """Offset of any whole, CRC-valid event record with seq >= min_seq after ``start``."""
    end = len(data)
    unpack = _RECORD.unpack_from
    for off in range(start + 1, end - RECORD_HEADER_SIZE):
        length, crc = unpack(data, off)
        if length == 0 or off + RECORD_HEADER_SIZE + length > end:
            continue
        payload = data[off + RECORD_HEADER_SIZE : off + RECORD_HEADER_SIZE + length]
        if _fast_crc(payload) != crc:
            continue
        try:
            ev = decode_entry(payload)
        except InvalidInputError:
            continue
        if ev.seq >= min_seq:
            return off
    return None


def scan_segment(
    seg: SegmentInfo,
    *,
    last: bool,
    expect_first: int | None = None,
    data: Buf | None = None,
    cut_damaged: bool = False,
) -> tuple[SegmentScan, Iterator[tuple[int, Entry]]]:
    """Read a segment; returns its scan summary and an iterator of ``(offset, event)``.

    The summary is complete once the iterator is exhausted. Damage before the end raises
    :class:`LogCorruptError`; a torn record at the end of the last segment
    (``last=True``) ends the iteration and sets ``scan.torn_at``; a damaged one there
    raises too, unless ``cut_damaged`` (``log repair --force``) treats it as torn.
    """
    path = seg.path
    if data is None:
        data = map_segment(path)
    first = read_header(path, data)
    if first != seg.first_seq:
        raise LogCorruptError(
            f"{path}: the header says the segment starts at seq {first}, its name says "
            f"{seg.first_seq}; the file was renamed or damaged",
            path,
            0,
        )
    if expect_first is not None and first != expect_first:
        raise LogCorruptError(
            f"{path}: starts at seq {first}, but the log before it ends at seq "
            f"{expect_first - 1}: a segment is missing. Restore it from a backup.",
            path,
            0,
        )
    scan = SegmentScan(path, first, len(data), good_end=HEADER_SIZE, last_seq=first - 1)
    return scan, _records(scan, data, last, cut_damaged)


def resume_records(scan: SegmentScan, data: Buf, last: bool) -> Iterator[tuple[int, Entry]]:
    """The records of a segment from where ``scan`` has got to (another reader, such as
    the replay fast path, may have moved it on): the iterator :func:`scan_segment` gives,
    continued."""
    return _records(scan, data, last)


def _records(
    scan: SegmentScan, data: Buf, last: bool, cut_damaged: bool = False
) -> Iterator[tuple[int, Entry]]:
    """Records from where ``scan`` has got to (its ``good_end`` and ``last_seq``);
    ``cut_damaged``: a damaged final record ends the iteration as a torn tail does."""
    path = scan.path
    end = len(data)
    off = scan.good_end
    expect = scan.last_seq + 1
    unpack = _RECORD.unpack_from
    crcf = _fast_crc
    decode = decode_entry
    while off < end:
        # The common case inline (this loop is the replay hot path); _why_bad explains
        # a failure.
        payload: bytes | None = None
        stop = off
        if end - off >= RECORD_HEADER_SIZE:
            length, crc = unpack(data, off)
            stop = off + RECORD_HEADER_SIZE + length
            if 0 < length <= MAX_RECORD and stop <= end:
                payload = data[off + RECORD_HEADER_SIZE : stop]
                if crcf(payload) != crc:
                    payload = None
        if payload is None:
            reason = _why_bad(data, off, end)
            later = _valid_record_after(data, off, expect)
            if later is None and last and (cut_damaged or _is_torn(data, off, end)):
                scan.torn_at = off
                scan.torn_reason = reason
                return
            if later is not None or not last:
                where = (
                    f"whole records follow at byte {later}"
                    if later is not None
                    else "it is not the last segment"
                )
                raise LogCorruptError(
                    f"{path}: damaged record at byte {off} ({reason}) and {where}: the log "
                    "is corrupt before its end. Nothing was changed; restore the file from "
                    "a backup (or, if a snapshot covers this point, drop the segment with "
                    "'servicecidr log compact').",
                    path,
                    off,
                )
            raise LogCorruptError(
                f"{path}: the last record, at byte {off}, is damaged ({reason}): its full "
                "length is there, so it was written whole (and acknowledged) and changed "
                "since — not a write a crash interrupted. Nothing was changed; restore the "
                "file from a backup, or give that record up with 'servicecidr log repair "
                "--force' (which keeps a copy of its bytes).",
                path,
                off,
            )
        try:
            ev = decode(payload)
        except InvalidInputError as e:
            raise LogCorruptError(
                f"{path}: record at byte {off} passes its CRC but is not a valid entry "
                f"({e}); the log was written by another tool or damaged",
                path,
                off,
            ) from e
        if ev.seq != expect:
            raise LogCorruptError(
                f"{path}: record at byte {off} has seq {ev.seq}, expected {expect}; the "
                "log is out of order or damaged",
                path,
                off,
            )
        scan.records += 1
        scan.last_seq = expect
        expect += 1
        scan.good_end = stop
        yield off, ev
        off = stop


def torn_message(scan: SegmentScan) -> str:
    """What to say about a torn tail, and what to do about it."""
    return (
        f"{scan.path}: torn record at byte {scan.torn_at} ({scan.torn_reason}): the last "
        f"write did not complete (a crash). {scan.size - (scan.torn_at or 0)} bytes follow "
        f"the last whole record (seq {scan.last_seq}). Open with repair=True or run "
        "'servicecidr log repair' to keep a copy of them and truncate the segment there."
    )


# ------------------------------------------------------------------------------ writing

#: fsync: every event is on disk before the call that made it returns.
#: group: every event reaches the OS before the call returns (a process crash loses
#: nothing); fsync runs at most every ``group_ms`` or ``group_records``, so a machine
#: crash loses at most that window. none: OS buffers only, never fsynced.
#: A bulk operation (an import) is one call: in a batch (``begin_batch``) its events reach
#: the OS in 1 MiB writes, with the mode's guarantee applied per write, and all of them
#: when the call returns; a crash inside the call loses a tail of it, never a part of a
#: record.
DURABILITY_MODES = ("fsync", "group", "none")
_BATCH_BYTES = 1 << 20
_EST_RECORD = 640  # a Service or IPAddress write, framed


class _SyncFailed(Exception):
    """The bytes were written but fdatasync failed (what reached the disk is unknown)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class LogWriter:
    """Appends event records to the newest segment of a log directory.

    A record that cannot be written whole (a full disk, an I/O error) is cut off again:
    the segment is truncated back to the last whole record, and the append raises
    :class:`StateError`, so nothing of a failed write stays in the log. When the log can
    no longer be trusted — an fsync failed (the kernel may have dropped what it could not
    write), the cut itself failed, or a batch was partly written — the writer *stops*:
    :attr:`failure` is set and every later append raises, until the directory is opened
    again.

    Args:
        log_dir: the ``log`` folder of a state directory.
        durability: one of :data:`DURABILITY_MODES`.
        group_ms, group_records: the group-commit window.
        segment_bytes: a segment past this size is closed and a new one started.
    """

    def __init__(
        self,
        log_dir: Path,
        durability: str,
        *,
        group_ms: float = 20.0,
        group_records: int = 512,
        segment_bytes: int = 64 << 20,
    ) -> None:
        if durability not in DURABILITY_MODES:
            raise InvalidInputError(
                f"durability {durability!r}: use one of {', '.join(DURABILITY_MODES)}"
            )
        self.log_dir = log_dir
        self.durability = durability
        self.group_s = max(0.001, float(group_ms) / 1000.0)
        self.group_records = max(1, int(group_records))
        self.segment_bytes = int(segment_bytes)
        self.segment: SegmentInfo | None = None
        self._fd = -1
        # _end: the bytes of the segment that are whole records (the file's size);
        # _size: the same plus the estimated size of what a batch holds (for rotation)
        self._end = 0
        self._size = 0
        self._records = 0
        self._pending = 0
        self._last_sync = 0.0
        #: why the writer stopped taking records (None while it works)
        self.failure: StateError | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # batch mode (begin_batch .. end_batch): events wait here, encoded together and
        # written in large writes; the durability action runs per write, not per record
        self._batch: list[Entry | bytes] | None = None
        self._batch_bytes = 0

    # -------------------------------------------------------------- lifecycle

    def start(self, seg: SegmentInfo | None, size: int, records: int, next_seq: int) -> None:
        """Append to ``seg`` (``size`` bytes, ``records`` whole records), or, when None,
        to a new segment starting at ``next_seq``."""
        if seg is None:
            self._fd, self.segment = self._create(next_seq)
            self._end = self._size = HEADER_SIZE
            self._records = 0
        else:
            self._fd = fsio.open_append(seg.path)
            self.segment, self._end, self._size, self._records = seg, size, size, records
        self._last_sync = time.monotonic()
        if self.durability == "group":
            self._thread = threading.Thread(
                target=self._group_loop, name="servicecidr-group-commit", daemon=True
            )
            self._thread.start()

    def _create(self, first_seq: int) -> tuple[int, SegmentInfo]:
        fsio.mkdir(self.log_dir)
        seg = SegmentInfo(self.log_dir / segment_name(first_seq), first_seq)
        fsio.atomic_write(seg.path, [segment_header(first_seq)])
        return fsio.open_append(seg.path), seg

    def close(self) -> None:
        """Write what a batch holds, stop the group-commit thread, fsync (unless
        durability is ``none``), close. Raises StateError when that fails (the file is
        closed all the same)."""
        try:
            self.flush()
        finally:
            self._batch = None
            self._close_file()

    def _close_file(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._fd < 0:
                return
            try:
                if self.durability != "none" and self._pending and self.failure is None:
                    fsio.fdatasync(self._fd)
                    self._pending = 0
            except OSError as e:
                err = self._stopped_by(e, "could not sync the log on close")
                raise err from e
            finally:
                os.close(self._fd)
                self._fd = -1

    # -------------------------------------------------------------- failures

    def _where(self) -> str:
        return str(self.segment.path if self.segment is not None else self.log_dir)

    def _stopped_by(self, cause: BaseException, what: str) -> StateError:
        """Stop taking records (the first reason is kept); returns the reason."""
        if self.failure is None:
            self.failure = StateError(
                f"{self._where()}: {what} ({cause}); the log takes no more writes. Close "
                "the Cluster and open the directory again (it opens at the last whole "
                "record)."
            )
        return self.failure

    def _check_open(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _cut_back(self, end: int, cause: BaseException, synced: bool, what: str) -> StateError:
        """After a failed write: truncate the segment back to ``end`` (the last whole
        record), so that what the failed write left cannot be read back. Returns the
        error to raise; stops the writer when the log can no longer be trusted."""
        try:
            with self._lock:
                fsio.ftruncate(self._fd, end)
                if self.durability != "none" or synced:
                    fsio.fdatasync(self._fd)  # the cut must reach the disk before a retry
        except OSError as e:
            return self._stopped_by(
                e, f"{what} failed ({cause}) and cutting it off failed too; it may be in the log"
            )
        if synced:
            # fsync failed: what the kernel did with the pages it could not write is
            # unknown, so earlier records may not be on disk either.
            return self._stopped_by(cause, f"{what}: fsync failed")
        return StateError(
            f"{self._where()}: {what} failed ({cause}); nothing of it was kept (the segment "
            f"ends at its last whole record, byte {end})"
        )

    # -------------------------------------------------------------- appending

    def begin_batch(self) -> None:
        """Until :meth:`end_batch`, records are written in large writes (``flush``): a
        bulk operation (an import) is one call, and its records are on disk — with the
        durability mode's guarantee — when it returns, not after each record."""
        if self._batch is None:
            self._batch = []
            self._batch_bytes = 0

    def end_batch(self) -> None:
        """Write what the batch holds and leave batch mode."""
        try:
            self.flush()
        finally:
            self._batch = None

    def flush(self) -> None:
        """Write the records a batch holds (a no-op outside batch mode). A failure stops
        the writer: the batch's events are applied in memory but not (all) on disk."""
        batch = self._batch
        if not batch:
            return
        self._check_open()
        try:
            data = frame_entries(batch)
        except TypeError:  # a value the Rust packer does not take: msgpack-python's words
            data = b"".join(ev if isinstance(ev, bytes) else frame_entry(ev) for ev in batch)
        n = len(batch)
        batch.clear()
        self._size += len(data) - self._batch_bytes  # the estimate becomes the size
        self._batch_bytes = 0
        start = self._end
        try:
            self._write(data, n)
        except (OSError, _SyncFailed) as e:
            synced = isinstance(e, _SyncFailed)
            self._cut_back(start, e.cause if isinstance(e, _SyncFailed) else e, synced, "a batch")
            raise self._stopped_by(e, "writing a batch of records failed") from e
        self._end += len(data)

    def _write(self, data: bytes, records: int) -> None:
        """Write and sync per the durability mode: OSError when the write failed,
        _SyncFailed when the bytes were written but the sync failed."""
        if self.durability == "fsync":
            fsio.write_all(self._fd, data)
            try:
                fsio.fdatasync(self._fd)
            except OSError as e:
                raise _SyncFailed(e) from e
        elif self.durability == "group":
            with self._lock:
                fsio.write_all(self._fd, data)
                self._pending += records
                if (
                    self._pending >= self.group_records
                    or time.monotonic() - self._last_sync >= self.group_s
                ):
                    try:
                        self._sync_locked()
                    except OSError as e:
                        raise _SyncFailed(e) from e
        else:
            fsio.write_all(self._fd, data)

    def append_framed(self, seq: int, data: bytes) -> None:
        """Batch mode only: add a record framed already (``frame_import_event``)."""
        batch = self._batch
        if batch is None:
            raise StateError("append_framed outside a batch")
        self._check_open()
        batch.append(data)
        n = len(data)
        self._batch_bytes += n
        self._size += n
        self._records += 1
        if self._size >= self.segment_bytes:
            self.flush()
            self._rotate_soon(seq + 1)
        elif self._batch_bytes >= _BATCH_BYTES:
            self.flush()

    def append(self, ev: Entry) -> None:
        """Write one record; with ``fsync`` durability it is on disk when this returns.
        In batch mode the entry waits, and is encoded with the others of the batch when
        it is flushed.

        Raises StateError when the record was not written (nothing of it is left in the
        log) or the writer has stopped (:attr:`failure`)."""
        self._check_open()
        batch = self._batch
        if batch is not None:
            batch.append(ev)
            # a rough size until the flush knows it: it only decides when to write
            self._batch_bytes += _EST_RECORD
            self._size += _EST_RECORD
            self._records += 1
            if self._size >= self.segment_bytes:
                self.flush()
                self._rotate_soon(ev.seq + 1)
            elif self._batch_bytes >= _BATCH_BYTES:
                self.flush()
            return
        data = frame_entry(ev)
        start = self._end
        try:
            self._write(data, 1)
        except _SyncFailed as e:
            raise self._cut_back(start, e.cause, True, f"writing event {ev.seq}") from e.cause
        except OSError as e:
            raise self._cut_back(start, e, False, f"writing event {ev.seq}") from e
        self._end += len(data)
        self._size += len(data)
        self._records += 1
        if self._size >= self.segment_bytes:
            self._rotate_soon(ev.seq + 1)

    def _rotate_soon(self, next_seq: int) -> None:
        """Start a new segment after a full one; when that cannot be done now (a full
        disk), keep appending to this one and try again after the next record: the
        record just written is in the log, so its append must not fail."""
        # (a StateError here means the previous segment's fsync failed: the writer has
        # stopped, and the next append says so)
        with contextlib.suppress(OSError, StateError):
            self.rotate(next_seq)

    @property
    def pending(self) -> int:
        """Records written but not yet fsynced (``group`` durability)."""
        return self._pending

    def sync(self) -> None:
        """fsync what was appended so far (any durability mode); a failure stops the
        writer."""
        self.flush()
        self._check_open()
        with self._lock:
            if self._fd >= 0:
                try:
                    fsio.fdatasync(self._fd)
                except OSError as e:
                    raise self._stopped_by(e, "fsync failed") from e
                self._pending = 0
                self._last_sync = time.monotonic()

    def _sync_locked(self) -> None:
        fsio.fdatasync(self._fd)
        self._pending = 0
        self._last_sync = time.monotonic()

    def _group_loop(self) -> None:
        while not self._stop.wait(self.group_s):
            with self._lock:
                if self._pending and self._fd >= 0 and self.failure is None:
                    try:
                        self._sync_locked()
                    except OSError as e:  # the next append reports it
                        self._stopped_by(e, "the group commit's fsync failed")

    def rotate(self, next_seq: int) -> None:
        """Close the current segment (when it holds records) and start one at
        ``next_seq``: what a snapshot does so that compaction can drop whole files.

        The new segment is created before the current one is let go: when creating it
        fails (OSError), appends continue in the current one."""
        self.flush()
        self._check_open()
        empty = self._records == 0 and self.segment is not None
        if empty and self.segment is not None and self.segment.first_seq == next_seq:
            return
        fd, seg = self._create(next_seq)
        with self._lock:
            old_fd, old_seg = self._fd, self.segment
            self._fd, self.segment = fd, seg
            self._end = self._size = HEADER_SIZE
            self._records = 0
            self._last_sync = time.monotonic()
            try:
                # in every mode: only the last segment may end in a torn record
                if old_fd >= 0:
                    fsio.fdatasync(old_fd)
                self._pending = 0
            except OSError as e:
                raise self._stopped_by(e, "fsync of the previous segment failed") from e
            finally:
                if old_fd >= 0:
                    os.close(old_fd)
        if empty and old_seg is not None:
            # holds no record, and a segment after it must start where it does
            with contextlib.suppress(OSError):
                fsio.unlink(old_seg.path)
