"""Recorders: where journal entries go before they are applied.

The engine records an entry, then applies it: a recorder that refuses an entry (a full
disk, a closed state) raises, and nothing of the request reaches memory. Every recorder
keeps one contract, tested once against each (tests/journal/test_recorder_contract.py):

* ``append(entry)``: the entry's ``seq`` is ``last_seq + 1``; when the call returns the
  entry is recorded (with the recorder's durability); when it raises, it is not, and the
  recorder is unchanged.
* ``read(after, upto)``: the recorded entries with ``after < seq <= upto`` (``upto=None``:
  to the end), oldest first.
* ``last_seq``: the seq of the last entry recorded (0 when none); ``max_ts``: the latest
  timestamp among the entries recorded (-inf when none).
* ``record_and_apply(entry, store)``: the commit: record the entry, then apply its writes
  to the store (the one apply); when the writes are refused or the entry cannot be
  recorded, nothing changes.

:class:`StoreJournal` keeps them in the store's own journal (an in-memory Cluster: the
entries share the stored objects), :class:`MemoryRecorder` in a list of Entry objects,
:class:`CountingRecorder` keeps none (simulations that never read their history), and
:class:`~servicecidr.journal.state.FileRecorder` writes the log segments of a state
directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from servicecidr.errors import InvalidInputError
from servicecidr.journal.records import Entry, entry_from_parts, pack_extra
from servicecidr.store import Store

__all__ = [
    "CountingRecorder",
    "MemoryRecorder",
    "Recorder",
    "StoreJournal",
    "Touched",
    "check_next",
    "record_then_apply",
]

#: What an apply tells the indexes (``Store.apply``): None, or the ServiceCIDR keys and
#: the Service keys with node ports it wrote.
Touched = tuple[list[str], list[str]] | None


class Recorder(Protocol):
    """Where journal entries are recorded (see the module doc for the contract)."""

    @property
    def last_seq(self) -> int:
        """The seq of the last entry recorded (0: none)."""
        ...

    @property
    def max_ts(self) -> float:
        """The latest timestamp recorded (-inf: none)."""
        ...

    def append(self, entry: Entry) -> None:
        """Record ``entry`` (its seq is ``last_seq + 1``), or raise and record nothing."""
        ...

    def read(self, after: int = 0, upto: int | None = None) -> Iterator[Entry]:
        """Entries with ``after < seq <= upto``, oldest first."""
        ...

    def record_and_apply(self, entry: Entry, store: Store) -> Touched:
        """Record ``entry``, then apply its writes to ``store``; nothing changes when
        either is refused."""
        ...


def record_then_apply(recorder: Recorder, entry: Entry, store: Store) -> Touched:
    """The commit of a recorder that keeps entries apart from the store: the writes are
    checked first (so a recorded entry is always one the store takes), then recorded,
    then applied."""
    store.check(entry.writes)
    recorder.append(entry)
    return store.apply(entry.writes, checked=True)


def check_next(recorder: Recorder, entry: Entry) -> None:
    """Refuse an entry out of sequence (the journal has no gaps and no repeats)."""
    if entry.seq != recorder.last_seq + 1:
        raise InvalidInputError(
            f"entry {entry.seq} does not follow the journal's last entry {recorder.last_seq}"
        )


class MemoryRecorder:
    """Entries in a list: an in-memory Cluster's history."""

    __slots__ = ("_entries", "_first", "_max_ts")

    def __init__(self, first_seq: int = 1) -> None:
        self._entries: list[Entry] = []
        # A Cluster rebuilt from a snapshot starts its list after the snapshot.
        self._first = first_seq
        self._max_ts = float("-inf")

    @property
    def last_seq(self) -> int:
        """The seq of the last entry recorded (0: none)."""
        return self._first - 1 + len(self._entries)

    @property
    def max_ts(self) -> float:
        """The latest timestamp recorded (-inf: none)."""
        return self._max_ts

    def append(self, entry: Entry) -> None:
        """Record ``entry``."""
        check_next(self, entry)
        self._entries.append(entry)
        if entry.ts > self._max_ts:
            self._max_ts = entry.ts

    def read(self, after: int = 0, upto: int | None = None) -> Iterator[Entry]:
        """Entries with ``after < seq <= upto``, oldest first."""
        start = max(0, after + 1 - self._first)
        stop = len(self._entries) if upto is None else max(0, upto + 1 - self._first)
        return iter(self._entries[start:stop])

    def record_and_apply(self, entry: Entry, store: Store) -> Touched:
        """Record ``entry``, then apply it."""
        return record_then_apply(self, entry, store)


class CountingRecorder:
    """Counts entries and keeps none: for simulations that never read their history
    (``Cluster(keep_events=False)``); ``read`` yields nothing."""

    __slots__ = ("_last", "_max_ts")

    def __init__(self, last_seq: int = 0) -> None:
        self._last = last_seq
        self._max_ts = float("-inf")

    @property
    def last_seq(self) -> int:
        """The seq of the last entry recorded (0: none)."""
        return self._last

    @property
    def max_ts(self) -> float:
        """The latest timestamp recorded (-inf: none)."""
        return self._max_ts

    def append(self, entry: Entry) -> None:
        """Count ``entry``."""
        check_next(self, entry)
        self._last = entry.seq
        if entry.ts > self._max_ts:
            self._max_ts = entry.ts

    def read(self, after: int = 0, upto: int | None = None) -> Iterator[Entry]:
        """Nothing: this recorder keeps no history."""
        return iter(())

    def count(self, ts: float) -> None:
        """Count one more entry, made at ``ts`` and applied to the store by the caller
        (the Service fast path, which makes no Entry object)."""
        self._last += 1
        if ts > self._max_ts:
            self._max_ts = ts

    def record_and_apply(self, entry: Entry, store: Store) -> Touched:
        """Count ``entry`` and apply it (counting cannot fail: the store's refusal, which
        changes nothing, is the only failure, and then nothing is counted)."""
        check_next(self, entry)
        touched = store.apply(entry.writes)
        self._last = entry.seq
        if entry.ts > self._max_ts:
            self._max_ts = entry.ts
        return touched


class StoreJournal:
    """The journal a Store keeps beside its objects (``Store(..., journal=True)``): each
    entry is recorded and applied in one step, and shares the objects it wrote with the
    store, so an in-memory history costs little more than the entries' metadata. Entry
    objects are made only when the history is read."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        if store.journal_last_seq is None:
            raise InvalidInputError("StoreJournal needs a store made with journal=True")
        self._store = store

    @property
    def store(self) -> Store:
        """The store whose journal this is."""
        return self._store

    @property
    def last_seq(self) -> int:
        """The seq of the last entry recorded (0: none)."""
        return self._store.journal_last_seq or 0

    @property
    def max_ts(self) -> float:
        """The latest timestamp recorded (-inf: none)."""
        ts = self._store.journal_max_ts
        return float("-inf") if ts is None else ts

    def append(self, entry: Entry) -> None:
        """Record ``entry`` and apply it to the store (the two are one step here)."""
        self.record_and_apply(entry, self._store)

    def read(self, after: int = 0, upto: int | None = None) -> Iterator[Entry]:
        """Entries with ``after < seq <= upto``, oldest first."""
        return (entry_from_parts(p) for p in self._store.journal_read(max(0, after), upto))

    def record_and_apply(self, entry: Entry, store: Store) -> Touched:
        """Record ``entry`` in the store's journal and apply it, in one step."""
        if store is not self._store:
            raise InvalidInputError("a StoreJournal records only into its own store")
        return store.commit(
            entry.seq,
            entry.ts,
            entry.verb,
            entry.actor,
            entry.kind,
            entry.namespace,
            entry.name,
            entry.writes,
            pack_extra(entry),
        )
