"""The recorder contract (servicecidr.journal.recorder), one suite run against every recorder.

As in pyeventsourcing/eventsourcing's recorder tests, each behaviour is written once and
run against each implementation: :class:`StoreJournal` (the journal a Store keeps beside
its objects: an in-memory Cluster's history), :class:`MemoryRecorder` (entries in a list)
and :class:`FileRecorder` (a state directory's log segments, opened through
:class:`StateDir`, in two shapes: one segment with fsync durability, and a new segment
after every entry). :class:`CountingRecorder` keeps the sequencing half of the contract
and none of the history, and is run against that half.

The contract:

* ``append(entry)``: ``entry.seq`` is ``last_seq + 1``; when the call returns the entry is
  recorded; when it raises it is not, and the recorder (and its files) are unchanged;
* ``read(after, upto)``: the recorded entries with ``after < seq <= upto``, oldest first;
* ``last_seq`` (0: none), ``max_ts`` (the latest timestamp, -inf: none);
* ``record_and_apply(entry, store)``: the commit: record, then apply the writes to the
  store; when the store refuses the writes or the entry cannot be recorded, neither the
  recorder nor the store changes.
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock
from servicecidr.errors import (
    InvalidInputError,
    ReadOnlyError,
    StateError,
    TornTailError,
)
from servicecidr.journal.recorder import CountingRecorder, MemoryRecorder, Recorder, StoreJournal
from servicecidr.journal.records import OP_DELETE, OP_PUT, Entry, Write
from servicecidr.journal.state import FileRecorder, StateDir
from servicecidr.store import Store, encode_object, new_store

REFUSAL = "this test's state is open read-only"


# ------------------------------------------------------------------------------ entries


def entry(seq: int, ts: float | None = None, *, extra: dict[str, Any] | None = None) -> Entry:
    """A journal entry as the engine records it: a Namespace created at ``seq``."""
    name = f"ns-{seq}"
    obj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "resourceVersion": str(seq)},
    }
    return Entry(
        seq,
        1_735_689_600.0 + seq if ts is None else ts,
        "create",
        "user",
        "Namespace",
        None,
        name,
        [Write(OP_PUT, "Namespace", name, seq, encode_object(obj))],
        extra,
    )


def seqs(entries: Iterator[Entry]) -> list[int]:
    return [e.seq for e in entries]


# ------------------------------------------------------------------------------ subjects


def _engine() -> Engine:
    """What a state directory is loaded into."""
    return Engine((), ("IPv4", "IPv6"), 1, SimulatedClock(), MemoryRecorder())


class Subject:
    """A recorder under test, the store its commits apply to, and how to reopen it where
    it keeps its entries on disk."""

    durable = False
    durability = ""

    def __init__(self) -> None:
        self.store: Store = new_store()
        self.recorder: Recorder = self.fresh()

    def fresh(self) -> Recorder:
        raise NotImplementedError

    def reopen(self, *, read_only: bool = False) -> Recorder:
        pytest.skip("this recorder keeps nothing across a reopen")

    def files(self) -> dict[str, bytes]:
        return {}

    def close(self) -> None:
        pass


class MemorySubject(Subject):
    def fresh(self) -> Recorder:
        return MemoryRecorder()


class CountingSubject(Subject):
    def fresh(self) -> Recorder:
        return CountingRecorder()


class StoreJournalSubject(Subject):
    """The journal is the store's own: appending applies to it as well."""

    def fresh(self) -> Recorder:
        self.store = new_store(journal=True)
        return StoreJournal(self.store)


class FileSubject(Subject):
    """A FileRecorder of a state directory, opened as Cluster.open opens one."""

    durable = True

    def __init__(self, path: Path, durability: str, segment_bytes: int) -> None:
        self.path = path
        self.durability = durability
        self.segment_bytes = segment_bytes
        self.state: StateDir | None = None
        super().__init__()

    def fresh(self) -> Recorder:
        return self._open(read_only=False)

    def _open(self, *, read_only: bool) -> FileRecorder:
        state = StateDir.open(self.path, read_only=read_only, new_meta={})
        try:
            _, loaded = state.load(
                _engine, stop_seq=None, stop_ts=None, repair=False, progress=None
            )
            rec = state.open_recorder(
                loaded,
                durability=self.durability,
                group_ms=20.0,
                group_records=512,
                segment_bytes=self.segment_bytes,
                refusal=REFUSAL,
            )
        except BaseException:
            state.close(None)
            raise
        self.state = state
        return rec

    def reopen(self, *, read_only: bool = False) -> Recorder:
        self.close()
        self.recorder = self._open(read_only=read_only)
        return self.recorder

    def files(self) -> dict[str, bytes]:
        log = self.path / "log"
        return {p.name: p.read_bytes() for p in sorted(log.iterdir())}

    def close(self) -> None:
        if self.state is not None:
            self.state.close(None)
            self.state = None


def _memory(tmp_path: Path) -> Subject:
    return MemorySubject()


def _file_one_segment(tmp_path: Path) -> Subject:
    return FileSubject(tmp_path / "state", "fsync", 64 << 20)


def _file_segment_per_entry(tmp_path: Path) -> Subject:
    # segment_bytes=1: every entry closes its segment, so reads cross segment files
    return FileSubject(tmp_path / "state", "none", 1)


def _counting(tmp_path: Path) -> Subject:
    return CountingSubject()


def _store_journal(tmp_path: Path) -> Subject:
    return StoreJournalSubject()


HISTORY = {
    "store-journal": _store_journal,
    "memory": _memory,
    "file": _file_one_segment,
    "file-rotating": _file_segment_per_entry,
}
SEQUENCING = {**HISTORY, "counting": _counting}


def _subject(
    request: pytest.FixtureRequest, tmp_path: Path, table: dict[str, Callable[[Path], Subject]]
) -> Iterator[Subject]:
    subject = table[request.param](tmp_path)
    try:
        yield subject
    finally:
        subject.close()


@pytest.fixture(params=sorted(HISTORY))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    """A recorder that keeps its history (memory, file)."""
    yield from _subject(request, tmp_path, HISTORY)


@pytest.fixture(params=sorted(SEQUENCING))
def any_subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    """Any recorder, CountingRecorder included."""
    yield from _subject(request, tmp_path, SEQUENCING)


@pytest.fixture
def durable(subject: Subject) -> Subject:
    if not subject.durable:
        pytest.skip("an in-memory recorder has no files")
    return subject


def fill(rec: Recorder, n: int) -> list[Entry]:
    entries = [entry(seq) for seq in range(rec.last_seq + 1, rec.last_seq + 1 + n)]
    for e in entries:
        rec.append(e)
    return entries


# ------------------------------------------------------------------------------ sequencing


def test_a_new_recorder_is_empty(any_subject: Subject) -> None:
    rec = any_subject.recorder
    assert rec.last_seq == 0
    assert list(rec.read()) == []


@pytest.mark.parametrize("name", sorted(SEQUENCING))
def test_a_recorder_with_no_entries_has_no_max_ts(name: str, tmp_path: Path) -> None:
    subject = SEQUENCING[name](tmp_path)
    try:
        assert subject.recorder.max_ts == -math.inf
    finally:
        subject.close()


def test_each_append_moves_last_seq_and_max_ts(any_subject: Subject) -> None:
    rec = any_subject.recorder
    for seq in (1, 2, 3):
        rec.append(entry(seq, ts=100.0 * seq))
        assert (rec.last_seq, rec.max_ts) == (seq, 100.0 * seq)


@pytest.mark.parametrize("bad_seq", [0, 1, 2, 4, 10], ids=lambda s: f"seq{s}")
def test_an_entry_out_of_sequence_is_refused_and_changes_nothing(
    any_subject: Subject, bad_seq: int
) -> None:
    rec = any_subject.recorder
    fill(rec, 2)
    before = (rec.last_seq, rec.max_ts, list(rec.read()), any_subject.files())
    with pytest.raises(InvalidInputError, match="does not follow the journal's last entry 2"):
        rec.append(entry(bad_seq, ts=9e9))
    assert (rec.last_seq, rec.max_ts, list(rec.read()), any_subject.files()) == before
    rec.append(entry(3))  # and the right one still goes in
    assert rec.last_seq == 3


def test_max_ts_is_the_latest_timestamp_not_the_last(any_subject: Subject) -> None:
    # wall clocks step back; max_ts bounds what an as-of-time read may need
    rec = any_subject.recorder
    for seq, ts in ((1, 50.0), (2, 10.0), (3, 30.0)):
        rec.append(entry(seq, ts=ts))
    assert rec.last_seq == 3
    assert rec.max_ts == 50.0


# ------------------------------------------------------------------------------ the commit


def test_record_and_apply_records_the_entry_and_applies_its_writes(any_subject: Subject) -> None:
    rec, store = any_subject.recorder, any_subject.store
    fill(rec, 1)
    e = entry(2)
    assert rec.record_and_apply(e, store) is None  # a Namespace touches no index
    assert rec.last_seq == 2
    assert store.contains("Namespace", "ns-2")
    assert store.revision == 2
    if not isinstance(rec, CountingRecorder):
        assert list(rec.read(1)) == [e]


def _refused_writes(seq: int) -> Entry:
    """An entry the store refuses: its second write stores an object under another name."""
    good = entry(seq)
    wrong = Write(OP_PUT, "Namespace", "elsewhere", seq, good.writes[0].blob)
    return Entry(seq, good.ts, "create", "user", "Namespace", None, "ns", [*good.writes, wrong])


@pytest.mark.parametrize(
    "bad",
    [
        lambda rec: _refused_writes(rec.last_seq + 1),
        lambda rec: entry(rec.last_seq + 2),  # out of sequence
        lambda rec: entry(rec.last_seq),
    ],
    ids=["refused-writes", "gap", "repeat"],
)
def test_a_refused_commit_changes_neither_the_recorder_nor_the_store(
    any_subject: Subject, bad: Callable[[Recorder], Entry]
) -> None:
    rec, store = any_subject.recorder, any_subject.store
    for seq in (1, 2):
        rec.record_and_apply(entry(seq), store)
    before = (
        rec.last_seq,
        rec.max_ts,
        list(rec.read()),
        any_subject.files(),
        store.revision,
        store.items("Namespace"),
    )
    with pytest.raises(InvalidInputError):
        rec.record_and_apply(bad(rec), store)
    after = (
        rec.last_seq,
        rec.max_ts,
        list(rec.read()),
        any_subject.files(),
        store.revision,
        store.items("Namespace"),
    )
    assert after == before


def test_a_store_journal_commits_only_into_its_own_store() -> None:
    store = new_store(journal=True)
    rec = StoreJournal(store)
    other = new_store()
    with pytest.raises(InvalidInputError, match="a StoreJournal records only into its own store"):
        rec.record_and_apply(entry(1), other)
    assert (rec.last_seq, len(store), len(other)) == (0, 0, 0)
    with pytest.raises(InvalidInputError, match="needs a store made with journal=True"):
        StoreJournal(other)


# ------------------------------------------------------------------------------ history


def test_entries_read_back_equal_and_in_order(subject: Subject) -> None:
    rec = subject.recorder
    # a deletion carries the object's last stored form
    deleted = Write(OP_DELETE, "Namespace", "ns-1", 3, entry(1).writes[0].blob)
    entries = [
        entry(1),
        entry(2, extra={"warnings": ["a warning"], "audit": {"k": "v"}}),
        Entry(3, 1_735_689_700.25, "delete", "a-controller", "Namespace", None, "ns-1", [deleted]),
        Entry(4, 1_735_689_701.0, "create", "user", "Service", "default", "web", [], None),
    ]
    for e in entries:
        rec.append(e)
    assert list(rec.read()) == entries


# (after, upto) -> the seqs read, from a recorder holding entries 1..5
READ_RANGES = [
    ((0, None), [1, 2, 3, 4, 5]),
    ((2, None), [3, 4, 5]),
    ((0, 3), [1, 2, 3]),
    ((2, 4), [3, 4]),
    ((4, 5), [5]),
    ((0, 0), []),
    ((3, 3), []),
    ((4, 2), []),
    ((5, None), []),
    ((7, None), []),
    ((0, 9), [1, 2, 3, 4, 5]),
    ((3, 99), [4, 5]),
]


@pytest.mark.parametrize(("bounds", "expected"), READ_RANGES, ids=lambda v: repr(v))
def test_read_returns_after_lt_seq_le_upto(
    subject: Subject, bounds: tuple[int, int | None], expected: list[int]
) -> None:
    rec = subject.recorder
    fill(rec, 5)
    after, upto = bounds
    assert seqs(rec.read(after, upto)) == expected


def test_reading_changes_nothing_and_can_be_repeated(subject: Subject) -> None:
    rec = subject.recorder
    fill(rec, 3)
    first = list(rec.read(1))
    assert list(rec.read(1)) == first
    assert rec.last_seq == 3
    rec.append(entry(4))
    assert seqs(rec.read(1)) == [2, 3, 4]


@settings(max_examples=40)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("append"), st.integers(-1, 1)),
            st.tuples(st.just("read"), st.integers(-1, 8), st.none() | st.integers(0, 8)),
        ),
        max_size=20,
    )
)
def test_every_recorder_agrees_with_a_list(tmp_path_factory: Any, ops: list[Any]) -> None:
    """Any mix of appends (in or out of sequence) and reads: both recorders answer as a
    plain list of the accepted entries would."""
    path = tmp_path_factory.mktemp("state")
    subjects: list[Subject] = [
        StoreJournalSubject(),
        MemorySubject(),
        FileSubject(path, "none", 300),
    ]
    model: list[Entry] = []
    try:
        for op in ops:
            if op[0] == "append":
                e = entry(len(model) + 1 + op[1])
                for s in subjects:
                    if op[1] == 0:
                        s.recorder.append(e)
                    else:
                        with pytest.raises(InvalidInputError):
                            s.recorder.append(e)
                if op[1] == 0:
                    model.append(e)
            else:
                _, after, upto = op
                want = [e for e in model if e.seq > after and (upto is None or e.seq <= upto)]
                for s in subjects:
                    assert list(s.recorder.read(after, upto)) == want
            for s in subjects:
                assert s.recorder.last_seq == len(model)
    finally:
        for s in subjects:
            s.close()


# ------------------------------------------------------------------------------ on disk


def test_what_was_recorded_survives_a_reopen(durable: Subject) -> None:
    entries = [entry(1, ts=30.0), entry(2, ts=20.0), entry(3, ts=25.0, extra={"n": 1})]
    for e in entries:
        durable.recorder.append(e)
    rec = durable.reopen()
    assert list(rec.read()) == entries
    assert (rec.last_seq, rec.max_ts) == (3, 30.0)
    with pytest.raises(InvalidInputError, match="does not follow"):
        rec.append(entry(3))
    rec.append(entry(4, ts=40.0))
    rec = durable.reopen()
    assert seqs(rec.read()) == [1, 2, 3, 4]
    assert rec.max_ts == 40.0


def test_a_reopened_empty_recorder_is_empty(durable: Subject) -> None:
    rec = durable.reopen()
    assert rec.last_seq == 0
    assert list(rec.read()) == []


def test_a_reopened_empty_recorder_has_no_max_ts(durable: Subject) -> None:
    assert durable.reopen().max_ts == -math.inf


def _fail_on(fd: int, real: Callable[..., Any], err: int, *, partial: bool) -> Callable[..., Any]:
    """An OS call that fails with ``err`` on ``fd`` (after writing part of the data once,
    as a disk filling up mid-write does), and passes every other fd through."""
    state = {"wrote": False}

    def call(target: int, *args: Any) -> Any:
        if target != fd:
            return real(target, *args)
        if partial and not state["wrote"]:
            state["wrote"] = True
            data = bytes(args[0])
            return real(target, data[: max(1, len(data) // 2)])
        raise OSError(err, os.strerror(err))

    return call


@pytest.mark.parametrize(
    ("call", "err", "partial"),
    [
        ("write", errno.ENOSPC, True),  # the disk fills up half-way through the record
        ("write", errno.EIO, False),
    ],
    ids=["write-ENOSPC-partial", "write-EIO"],
)
def test_a_failed_write_leaves_the_recorder_and_its_files_as_before(
    durable: Subject, monkeypatch: pytest.MonkeyPatch, call: str, err: int, partial: bool
) -> None:
    rec = durable.recorder
    assert isinstance(rec, FileRecorder)
    fill(rec, 2)
    before = (rec.last_seq, rec.max_ts, list(rec.read()), durable.files())
    assert rec.writer is not None
    monkeypatch.setattr(os, call, _fail_on(rec.writer._fd, getattr(os, call), err, partial=partial))
    with pytest.raises(StateError, match="writing event 3 failed"):
        rec.append(entry(3, ts=9e9))
    monkeypatch.undo()
    assert (rec.last_seq, rec.max_ts, list(rec.read()), durable.files()) == before
    # the disk has room again: the same entry goes in, and the log reads back whole
    rec.append(entry(3))
    rec = durable.reopen()
    assert seqs(rec.read()) == [1, 2, 3]


def test_a_failed_sync_breaks_the_recorder_until_it_is_opened_again(
    durable: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed fsync the log cannot be trusted (what reached the disk is unknown):
    the write is not acknowledged, the recorder is broken (and says so), every later
    append is refused, and reopening finds the entry there or not, never half of it."""
    if durable.durability != "fsync":
        pytest.skip("only fsync durability syncs inside append")
    rec = durable.recorder
    assert isinstance(rec, FileRecorder)
    told: list[str] = []
    rec.on_broken = told.append
    fill(rec, 2)
    assert rec.writer is not None
    fd = rec.writer._fd
    monkeypatch.setattr(os, "fdatasync", _fail_on(fd, os.fdatasync, errno.EIO, partial=False))
    with pytest.raises(StateError, match="writing event 3 failed"):
        rec.append(entry(3))
    monkeypatch.undo()
    assert len(told) == 1 and "Writes are refused until the directory is opened again" in told[0]
    assert (rec.last_seq, seqs(rec.read())) == (2, [1, 2])
    with pytest.raises(StateError):
        rec.append(entry(3))
    rec = durable.reopen()
    assert seqs(rec.read()) in ([1, 2], [1, 2, 3])
    fill(rec, 1)
    assert seqs(durable.reopen().read())[-1] == rec.last_seq


def test_a_failed_rotation_after_the_record_leaves_the_recorder_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = FileSubject(tmp_path / "state", "none", 1)
    try:
        rec = subject.recorder
        assert isinstance(rec, FileRecorder)
        fill(rec, 2)
        assert rec.writer is not None
        fd = rec.writer._fd
        monkeypatch.setattr(os, "fdatasync", _fail_on(fd, os.fdatasync, errno.EIO, partial=False))
        try:
            rec.append(entry(3))
        except StateError:
            # refused: so it is not recorded, and the caller may append it again
            monkeypatch.undo()
            rec.append(entry(3))
        monkeypatch.undo()
        assert rec.last_seq == 3
        assert seqs(subject.reopen().read()) == [1, 2, 3]
    finally:
        subject.close()


def test_a_write_that_cannot_be_cut_back_breaks_the_writer(
    durable: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a record stays in the file when even the truncation fails: no later record
    may follow it, so every later append is refused, and the next open sees a torn tail."""
    rec = durable.recorder
    assert isinstance(rec, FileRecorder)
    fill(rec, 2)
    assert rec.writer is not None
    fd = rec.writer._fd
    told: list[str] = []
    rec.on_broken = told.append
    monkeypatch.setattr(os, "write", _fail_on(fd, os.write, errno.ENOSPC, partial=True))
    monkeypatch.setattr(os, "ftruncate", _fail_on(fd, os.ftruncate, errno.EIO, partial=False))
    with pytest.raises(StateError, match="writing event 3 failed"):
        rec.append(entry(3))
    monkeypatch.undo()
    assert len(told) == 1
    with pytest.raises(StateError, match="writing event 3 failed"):
        rec.append(entry(3))
    assert rec.last_seq == 2
    durable.close()
    with pytest.raises(TornTailError):
        durable.reopen()


def test_a_read_only_recorder_refuses_appends_and_still_reads(durable: Subject) -> None:
    fill(durable.recorder, 2)
    rec = durable.reopen(read_only=True)
    with pytest.raises(ReadOnlyError, match=REFUSAL):
        rec.append(entry(3))
    assert rec.last_seq == 2
    assert seqs(rec.read()) == [1, 2]


def test_a_closed_recorder_refuses_with_its_reason(durable: Subject) -> None:
    rec = durable.recorder
    assert isinstance(rec, FileRecorder)
    fill(rec, 1)
    files = durable.files()
    rec.close("closed by the test")
    with pytest.raises(ReadOnlyError, match="closed by the test"):
        rec.append(entry(2))
    assert (rec.last_seq, seqs(rec.read()), durable.files()) == (1, [1], files)


def test_a_batch_is_read_back_before_it_is_flushed(durable: Subject) -> None:
    """Entries of a bulk operation wait in the writer; reading them is reading history."""
    rec = durable.recorder
    assert isinstance(rec, FileRecorder)
    with rec.batch():
        fill(rec, 3)
        assert seqs(rec.read()) == [1, 2, 3]
    assert seqs(durable.reopen().read()) == [1, 2, 3]


# ------------------------------------------------------------------------------ per recorder


def test_a_memory_recorder_can_start_after_a_snapshot() -> None:
    rec = MemoryRecorder(first_seq=5)
    assert rec.last_seq == 4
    with pytest.raises(InvalidInputError):
        rec.append(entry(1))
    fill(rec, 3)
    assert seqs(rec.read()) == [5, 6, 7]
    assert seqs(rec.read(5, 6)) == [6]
    assert seqs(rec.read(0, 4)) == []


def test_a_counting_recorder_keeps_the_count_and_no_history() -> None:
    rec = CountingRecorder(last_seq=7)
    assert rec.last_seq == 7
    with pytest.raises(InvalidInputError, match="does not follow the journal's last entry 7"):
        rec.append(entry(7))
    rec.append(entry(8, ts=5.0))
    rec.append(entry(9, ts=3.0))
    assert (rec.last_seq, rec.max_ts) == (9, 5.0)
    for after, upto in ((0, None), (7, 9), (8, None)):
        assert list(rec.read(after, upto)) == []
