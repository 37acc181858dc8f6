"""From input paths to one ordered stream of records.

* Each file is split into documents (:mod:`.sources`) and the documents into records
  (:mod:`.auditlog`, :mod:`.dumps`); what cannot be used goes to ``on_skip``.
* Audit logs are written in completion order, roughly but not exactly in
  ``stageTimestamp`` order (SPEC-import 1.4). Each file's records pass a bounded reorder
  window that emits them by (stageTimestamp, file order): 8 records at first, widened to
  ``reorder_window`` at the first record that arrives too late for it. A record that
  arrives after a later one was already emitted is counted as *late* and applied where
  it arrives; records moved by the window are counted as *reordered*. Nothing is
  reordered silently: both counts are in the report.
* Several files are merged by that key (HA apiservers write one log each; rotated files
  of one apiserver do not overlap, so merging them is concatenation). Watch streams are
  ordered and merged by resourceVersion; dumps are read in the order given.
* Duplicate ResponseComplete events (same auditID) are dropped, remembering the last
  ``dedup_window`` auditIDs (memory stays bounded on any log size).
* ``until``: the stream ends at the first record later than that time.
"""

from __future__ import annotations

import bisect
import heapq
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from servicecidr.importers.auditreader import event_record, event_records
from servicecidr.importers.auditreader_rust import audit_file_records
from servicecidr.importers.dumps import dump_records, watch_records
from servicecidr.importers.inputs import ReadStats, Record, Skip
from servicecidr.importers.sources import (
    Input,
    Position,
    expand_inputs,
    iter_documents,
    json_layout,
)

__all__ = ["FORMATS", "read_records"]

FORMATS = ("audit", "dump", "watch")
#: Off: audit logs are read by the Python reader alone (the tests compare the two).
USE_RUST_READER = True


def _file_records(
    fmt: str, inp: Input, pos: Position, stats: ReadStats, fast: bool
) -> Iterator[Record | Skip]:
    if fmt == "audit" and USE_RUST_READER and json_layout(inp):
        yield from audit_file_records(inp, pos, stats, fast=fast)
        return
    n = 0
    for item in iter_documents(inp, pos):
        if isinstance(item, Skip):
            yield item
            continue
        line, doc = item
        stats.documents += 1
        n += 1
        if fmt == "audit":
            if type(doc) is dict and doc.get("kind") == "Event":
                yield event_record(doc, inp.name, line)  # the common case, one call less
            else:
                yield from event_records(doc, inp.name, line)
        elif fmt == "dump":
            yield from dump_records(doc, inp.name, line, n)
        else:
            yield from watch_records(doc, inp.name, line, n)


def _reorder(
    items: Iterator[Record | Skip],
    window: int,
    stats: ReadStats,
    on_skip: Callable[[Skip], None],
) -> Iterator[Record]:
    """Records of one file by (order, file position), through a bounded window.

    Records wait in a sorted list (one in order is appended, an early one inserted where
    it belongs) and leave oldest first once more than the window wait. Holding parsed
    events costs (a thousand of them alive make allocation miss the cache: a third
    slower), so the window starts at 8 records, enough for the near-simultaneous
    completions of a busy apiserver, and widens to ``window`` at the first record that
    arrives too late for it.
    """
    buf: list[Record] = []
    head = 0  # buf[head:] is pending
    last_order = 0.0  # of the last record read (for records without a time)
    emitted = float("-inf")  # highest order emitted
    size = min(window, 8)  # the window: small until the first record it could not fix
    moved = 0
    for item in items:
        if type(item) is Skip:
            on_skip(item)
            continue
        assert isinstance(item, Record)
        if item.ts is None and item.order == 0.0:
            item.order = last_order
        order = item.order
        last_order = order
        if order < emitted:
            stats.late += 1
            size = window
        if len(buf) == head or order >= buf[-1].order:
            buf.append(item)
        else:
            bisect.insort_right(buf, item, lo=head, key=_order)
            moved += 1
        if len(buf) - head > size:
            rec = buf[head]
            head += 1
            if rec.order > emitted:
                emitted = rec.order
            if head >= 64:  # drop what left (or the list would keep it alive)
                del buf[:head]
                head = 0
            yield rec
    stats.reordered += moved
    yield from buf[head:]


def _order(r: Record) -> float:
    return r.order


def read_records(
    fmt: str,
    paths: Iterable[str | os.PathLike[str]],
    *,
    on_skip: Callable[[Skip], None],
    pos: Position | None = None,
    stats: ReadStats | None = None,
    until: float | None = None,
    reorder_window: int = 1024,
    dedup_window: int = 1 << 14,
    fast: bool = False,
) -> Iterator[Record]:
    """The records of the inputs, ordered (see the module doc). ``fast``: audit records
    may carry :attr:`Record.fast` (decided by the Rust reader) instead of their bodies;
    only a consumer that knows them (the observed importer) asks for them."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}: use one of {', '.join(FORMATS)}")
    pos = pos if pos is not None else Position()
    stats = stats if stats is not None else ReadStats()
    inputs = expand_inputs(paths, pos)
    stats.files = len(inputs)
    if fmt == "dump" or reorder_window <= 0:
        streams: list[Iterator[Record]] = [
            _passthrough(_file_records(fmt, inp, pos, stats, fast), on_skip) for inp in inputs
        ]
        merged: Iterator[Record] = (r for s in streams for r in s)
    else:
        streams = [
            _reorder(_file_records(fmt, inp, pos, stats, fast), reorder_window, stats, on_skip)
            for inp in inputs
        ]
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_order)
    # hashes, not the auditID strings: a small string kept alive pins the memory of the
    # whole parsed event it came from
    seen: set[int] = set()
    fifo: deque[int] = deque()
    for rec in merged:
        stats.records += 1
        if until is not None and rec.ts is not None and rec.ts > until:
            stats.stopped_at = rec.where()
            on_skip(Skip(rec.source, rec.line, "after-until", "and everything after it"))
            return
        aid = rec.audit_id
        if aid:
            h = hash(aid)
            if h in seen:
                stats.duplicates += 1
                on_skip(Skip(rec.source, rec.line, "duplicate", f"auditID {aid}"))
                continue
            seen.add(h)
            fifo.append(h)
            if len(fifo) > dedup_window:
                seen.discard(fifo.popleft())
        yield rec


def _passthrough(
    items: Iterator[Record | Skip], on_skip: Callable[[Skip], None]
) -> Iterator[Record]:
    for item in items:
        if isinstance(item, Skip):
            on_skip(item)
        else:
            yield item
