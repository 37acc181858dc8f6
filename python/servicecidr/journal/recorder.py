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

:class:`MemoryRecorder` keeps entries in a list (an in-memory Cluster),
:class:`CountingRecorder` keeps none (simulations that never read their history), and
:class:`~servicecidr.journal.state.FileRecorder` writes the log segments of a state
directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from servicecidr.errors import InvalidInputError
from servicecidr.journal.records import Entry

__all__ = ["CountingRecorder", "MemoryRecorder", "Recorder", "check_next"]


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
