"""Audit logs in JSON lines, read by the Rust worker (``_core.AuditLineReader``).

The worker reads, parses and classifies lines on another core while the importer
applies what it already handed over. What it hands back per line:

* a **fast record**: a successful Service or IPAddress write whose responseObject is
  complete and surely decodes (:data:`READER_SCHEMA`) — the :class:`Record` fields as
  :func:`.auditlog.event_record` would set them, plus ``Record.fast``: the object
  normalised and encoded as the store keeps it, and the ClusterIPs or parentRef the
  observed checks read. The line stays in ``Record.text`` for the importer's rarer
  paths, which parse it again;
* a **skip** decided there (a read, another stage, an unmodelled resource, a failed or
  dry-run write), worded as :func:`.auditlog.event_record` words it;
* a **slow line**: everything else, handled here exactly as :mod:`.sources` and
  :mod:`.auditlog` handle any line (another shape, an envelope, a malformed line, a
  pretty-printed file).

``fast=False`` (what-if replays, which want every usable write as parsed bodies) turns
the fast records into slow lines; skips are still decided by the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from servicecidr._core import AuditLineReader
from servicecidr.api import decode, storable
from servicecidr.api.kinds import KINDS
from servicecidr.importers.auditreader import event_records
from servicecidr.importers.inputs import ReadStats, Record, Skip
from servicecidr.importers.sources import (
    BLANK,
    STREAM,
    Input,
    Position,
    json_line,
    json_stream_from,
)

__all__ = ["READER_SCHEMA", "audit_file_records"]

READER_SCHEMA: dict[str, Any] = {
    "structs": {name: dict(fields) for name, (_, fields) in decode.STRUCTS.items()},
    "roots": {
        kind: decode.ROOTS[(KINDS[kind].api_version, kind)] for kind in ("Service", "IPAddress")
    },
    "max_depth": storable.MAX_DEPTH,
    "max_bytes": storable.MAX_REQUEST_BYTES,
}
"""What the worker must know to prepare an object the importer stores as recorded: the
decoder's schema (a prepared object surely decodes; the importer checks every other one
itself) and the bounds of :mod:`servicecidr.api.storable`."""


def audit_file_records(
    inp: Input, pos: Position, stats: ReadStats, *, fast: bool
) -> Iterator[Record | Skip]:
    """The records and skips of one JSON-lines audit log file (plain or gzip)."""
    assert inp.path is not None
    name = inp.name
    base = pos.done
    try:
        reader = AuditLineReader(str(inp.path), fast=fast, source=name, schema=READER_SCHEMA)
    except OSError as e:
        yield Skip(name, 0, "unknown-shape", f"cannot read: {e}")
        return
    try:
        while (batch := reader.next_batch()) is not None:
            for item in batch:
                n = len(item)
                if n == 20:
                    stats.documents += 1
                    yield Record(*item)
                elif n == 4:
                    stats.documents += 1
                    yield Skip(*item)
                elif item[0] == 2:
                    lineno, line = item[1], item[2]
                    value = json_line(name, lineno, line)
                    if value is BLANK:
                        continue
                    if value is STREAM:
                        reader.close()
                        for doc in json_stream_from(inp, lineno, line):
                            if isinstance(doc, Skip):
                                yield doc
                            else:
                                stats.documents += 1
                                yield from event_records(doc[1], name, doc[0])
                        return
                    if type(value) is Skip:
                        yield value
                        continue
                    stats.documents += 1
                    yield from event_records(value, name, lineno)
                else:
                    yield Skip(name, 0, "malformed-json", f"read error: {item[2]}")
            pos.done = base + reader.bytes_read
    finally:
        reader.close()
        pos.done = base + inp.size
