"""``servicecidr log verify|repair|snapshot|compact|show``: the event log of a state.

Each subcommand works on the state directory given by ``--state`` (else
``$SERVICECIDR_STATE``, else ``./.servicecidr``):

* ``verify``   checks the meta file, every record (framing, CRC32C, decoding of the event
  and of every object it carries, sequence) and every snapshot, then that the state
  opens; prints a report, exits 1 on any problem; never writes.
* ``repair``   cuts a torn record off the end of the log (keeping a copy of the bytes in
  ``<segment>.torn-<offset>``); refuses, writing nothing, when damage lies elsewhere.
  ``--force`` also gives up a damaged last record (whole, but failing its CRC).
* ``snapshot`` writes a snapshot of the current state (and starts a new log segment).
* ``compact``  deletes the log segments and older snapshots the newest snapshot covers.
* ``show``     prints events, one line each (``-o json``: JSON lines), filtered.

A progress bar goes to stderr when stderr is a terminal and the work takes over a second.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TextIO

from servicecidr.cli.progress import Progress
from servicecidr.cli.state import ENV_VAR, add_state_flag, resolve_state_dir
from servicecidr.clock import format_micro_time
from servicecidr.errors import ServiceCIDRError
from servicecidr.journal.records import OP_PUT, Entry
from servicecidr.journal.segments import StateError, list_segments, scan_segment
from servicecidr.store import decode_object

__all__ = ["add_parser", "run"]


EPILOG = """examples:
  servicecidr log verify
  servicecidr --state ./lab log show --kind Service --name web
  servicecidr log show --since 2025-01-01T00:00:10Z -o json
  servicecidr log show --since 100 --until 200      # sequence numbers
  servicecidr log repair
  servicecidr log repair --force                    # also give up a damaged last record
  servicecidr log snapshot && servicecidr log compact
"""


class _Streams(Protocol):
    out: TextIO
    err: TextIO


def state_dir(args: argparse.Namespace) -> Path:
    """``--state``, then ``$SERVICECIDR_STATE``, then ``./.servicecidr``."""
    return resolve_state_dir(getattr(args, "state", None))


def add_parser(sub: Any) -> None:
    """Register ``log`` and its subcommands on an argparse subparsers object."""
    p = sub.add_parser(
        "log",
        help="verify, repair, snapshot, compact or show the event log of a state",
        description="Work on the durable event log of a state directory. Exit status 1 "
        "when verify finds a problem or a command cannot do its work.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_state_flag(p)
    lsub = p.add_subparsers(dest="log_command", metavar="SUBCOMMAND")
    v = lsub.add_parser("verify", help="check every record and snapshot; exit 1 on problems")
    v.add_argument("-o", "--output", choices=("text", "json"), default="text")
    r = lsub.add_parser("repair", help="truncate a torn tail (a copy of the bytes is kept)")
    r.add_argument(
        "--force",
        action="store_true",
        help="also cut a damaged last record (written whole, since changed); its bytes "
        "are kept beside the segment",
    )
    lsub.add_parser("snapshot", help="write a snapshot of the current state")
    lsub.add_parser("compact", help="drop the segments the newest snapshot covers")
    s = lsub.add_parser("show", help="print events (one line each; -o json for JSON lines)")
    s.add_argument("--kind", help="only events about or writing this kind (e.g. Service)")
    s.add_argument("--namespace", "-n", help="only events touching this namespace")
    s.add_argument("--name", help="only events touching an object of this name")
    s.add_argument("--since", help="from this sequence number or RFC 3339 time (inclusive)")
    s.add_argument("--until", help="up to this sequence number or RFC 3339 time (inclusive)")
    s.add_argument("-o", "--output", choices=("text", "json"), default="text")


def run(args: argparse.Namespace, io: _Streams) -> int:
    """Run a ``log`` subcommand; returns the exit status."""
    cmd = getattr(args, "log_command", None)
    if cmd is None:
        io.err.write("error: log needs a subcommand: verify, repair, snapshot, compact, show\n")
        return 1
    path = state_dir(args)
    try:
        if not (path / "meta").is_file():
            from servicecidr.journal.state import dir_status

            if path.is_dir() and dir_status(path) == "unfinished":
                raise StateError(
                    f"{path}: an init that did not finish (no meta file, no history): run "
                    "'servicecidr init' (or any command) to create the state"
                )
            raise StateError(
                f"{path}: not a servicecidr state directory (no meta file); pass --state DIR "
                f"or set ${ENV_VAR}"
            )
        handler = {
            "verify": _verify,
            "repair": _repair,
            "snapshot": _snapshot,
            "compact": _compact,
            "show": _show,
        }[cmd]
        return handler(path, args, io)
    except ServiceCIDRError as e:
        io.err.write(f"error: {e}\n")
        return 1


# ------------------------------------------------------------------------------ commands


def _opens(path: Path) -> None:
    """Open the state read-only and close it again (what ``verify`` checks last)."""
    from servicecidr.cluster import Cluster

    Cluster.open(path, read_only=True).close()


def _verify(path: Path, args: argparse.Namespace, io: _Streams) -> int:
    from servicecidr.journal.state import lock_state, unlock_state, verify_dir

    fd = lock_state(path, shared=True)
    bar = Progress(io.err, delay=1.0)
    bar.start(0, "verifying")
    try:
        rep = verify_dir(path, _opens, progress=bar.update)
    finally:
        bar.finish()
        unlock_state(fd)
    if args.output == "json":
        io.out.write(
            json.dumps(
                {
                    "ok": rep.ok,
                    "records": rep.records,
                    "segments": [
                        {"path": p, "first": f, "last": last, "records": n}
                        for p, f, last, n in rep.segments
                    ],
                    "snapshots": [{"path": p, "seq": s, "ok": ok} for p, s, ok in rep.snapshots],
                    "problems": [
                        {
                            "path": x.path,
                            "offset": x.offset,
                            "message": x.message,
                            "repairable": x.repairable,
                        }
                        for x in rep.problems
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        for line in rep.lines():
            io.out.write(line + "\n")
        if any(p.repairable for p in rep.problems):
            io.out.write("run 'servicecidr log repair' to cut the torn tail\n")
    return 0 if rep.ok else 1


def _repair(path: Path, args: argparse.Namespace, io: _Streams) -> int:
    from servicecidr.journal.recovery import repair_torn_tail
    from servicecidr.journal.state import lock_state, unlock_state, verify_dir

    fd = lock_state(path, shared=False)
    try:
        # (the state is not opened: this process holds its lock for writing, and a
        # state that needs repair does not open anyway)
        rep = verify_dir(path, lambda _: None)
        segs = list_segments(path / "log")
        fatal = [p for p in rep.problems if not p.repairable]
        scan = None
        if segs and (args.force or not fatal):
            scan, records = scan_segment(segs[-1], last=True, cut_damaged=args.force)
            try:
                for _ in records:
                    pass
            except StateError:
                scan = None  # damage before the end: verify has said where
        if args.force and scan is not None and scan.torn_at is not None:
            # the damaged last record is what --force gives up
            fatal = [p for p in fatal if (p.path, p.offset) != (str(scan.path), scan.torn_at)]
        if fatal:
            for p in fatal:
                io.err.write(f"error: {p.message}\n")
            io.err.write("nothing was changed: repair only cuts a torn tail\n")
            return 1
        if scan is None or scan.torn_at is None:
            io.out.write(f"{path}: nothing to repair ({rep.records} records, all whole)\n")
            return 0
        copy = repair_torn_tail(scan)
        io.out.write(
            f"{scan.path}: cut {scan.size - scan.torn_at} bytes at byte {scan.torn_at} "
            f"({scan.torn_reason}); last whole record is seq {scan.last_seq}; the bytes are "
            f"kept in {copy}\n"
        )
        return 0
    finally:
        unlock_state(fd)


def _snapshot(path: Path, args: argparse.Namespace, io: _Streams) -> int:
    from servicecidr.cluster import Cluster

    bar = Progress(io.err, delay=1.0)
    bar.start(0, "replaying")
    t = time.perf_counter()
    try:
        c = Cluster.open(path, progress=bar.update)
    finally:
        bar.finish()
    try:
        snap = c.snapshot()
    finally:
        c.close()
    size = Path(snap).stat().st_size
    io.out.write(f"{snap}: seq {c.seq}, {size:,} bytes ({time.perf_counter() - t:.2f}s)\n")
    return 0


def _compact(path: Path, args: argparse.Namespace, io: _Streams) -> int:
    from servicecidr.journal.state import compact_dir, lock_state, unlock_state

    fd = lock_state(path, shared=False)
    try:
        removed = compact_dir(path)
    finally:
        unlock_state(fd)
    if not removed:
        io.out.write(
            f"{path}: nothing to drop (no valid snapshot covers a whole segment; "
            "'servicecidr log snapshot' writes one)\n"
        )
    for r in removed:
        io.out.write(f"removed {r}\n")
    return 0


def _point(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.strip().isdigit() else text


def _show(path: Path, args: argparse.Namespace, io: _Streams) -> int:
    from servicecidr.journal.state import filter_entries, lock_state, unlock_state

    fd = lock_state(path, shared=True)
    try:
        events = filter_entries(
            _read_all(path, io),
            args.kind,
            args.namespace,
            args.name,
            _point(args.since),
            _point(args.until),
        )
        for ev in events:
            if args.output == "json":
                io.out.write(json.dumps(event_json(ev), sort_keys=True) + "\n")
            else:
                io.out.write(event_line(ev) + "\n")
    finally:
        unlock_state(fd)
    return 0


def _read_all(path: Path, io: _Streams) -> Iterator[Entry]:
    segs = list_segments(path / "log")
    expect: int | None = None
    for i, seg in enumerate(segs):
        scan, records = scan_segment(seg, last=i == len(segs) - 1, expect_first=expect)
        for _, ev in records:
            yield ev
        if scan.torn_at is not None:
            io.err.write(
                f"warning: {scan.path}: torn record at byte {scan.torn_at}; showing the "
                "whole records before it ('servicecidr log repair' cuts it)\n"
            )
        expect = scan.last_seq + 1


def _short(w: Any) -> str:
    return f"{'put' if w.op == OP_PUT else 'delete'} {w.kind} {w.key}"


def event_line(ev: Entry) -> str:
    """One event as a line of text."""
    target = f"{ev.namespace}/{ev.name}" if ev.namespace else ev.name
    writes = ", ".join(_short(w) for w in ev.writes)
    return (
        f"{ev.seq:>8}  {format_micro_time(ev.ts)}  {ev.actor:<32} {ev.verb:<13} "
        f"{ev.kind} {target}  [{writes}]"
    )


def event_json(ev: Entry) -> dict[str, Any]:
    """One event as JSON: the record's fields, objects decoded."""
    return {
        "seq": ev.seq,
        "ts": ev.ts,
        "time": format_micro_time(ev.ts),
        "verb": ev.verb,
        "actor": ev.actor,
        "kind": ev.kind,
        "namespace": ev.namespace,
        "name": ev.name,
        "writes": [
            {
                "op": "put" if w.op == OP_PUT else "delete",
                "kind": w.kind,
                "key": w.key,
                "rv": w.rv,
                "object": decode_object(w.blob) if w.blob is not None else None,
            }
            for w in ev.writes
        ],
        "extra": ev.extra,
    }
