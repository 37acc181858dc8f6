"""Importing cluster history: audit logs, ``kubectl get`` dumps and watch streams.

Two modes:

* :func:`import_observed` applies what the cluster recorded to a Cluster (in memory, or
  opened from a state directory so the history lands in its durable event log) and checks
  each step against the model (:mod:`.observed`);
* :func:`import_what_if` replays the recorded requests through the engine's own decisions
  under other settings and reports what would have failed and when (:mod:`.whatif`).

Example::

    from servicecidr import Cluster
    from servicecidr.importers import import_observed, import_what_if

    c = Cluster("10.96.0.0/12")
    report = import_observed(c, "audit", ["/var/log/kubernetes/audit/"])
    print(report.to_text())

    report = import_what_if("audit", ["audit.log"], service_cluster_ip_range="10.96.0.0/24")
    report.first_range_full   # the record whose create would have met "range is full"

Inputs (:mod:`.sources`, :mod:`.auditlog`, :mod:`.dumps`): files, folders (recursive:
rotated logs), ``.gz`` (detected by content), ``-`` for stdin; JSON lines, concatenated
or pretty-printed JSON, YAML; audit Events (v1, v1beta1), EventList, GKE LogEntry, AKS and
CloudWatch envelopes; List and typed lists; watch events.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable, Sequence

from servicecidr.cluster import Cluster
from servicecidr.importers.inputs import UNUSABLE, ImportAborted, ReadStats, Record, Skip
from servicecidr.importers.observed import IPADDRESS_MODES, ObservedImporter
from servicecidr.importers.pipeline import FORMATS, read_records
from servicecidr.importers.report import ImportReport, state_summary
from servicecidr.importers.sources import Position
from servicecidr.importers.whatif import WhatIfReplay

__all__ = [
    "FORMATS",
    "IPADDRESS_MODES",
    "ImportAborted",
    "ImportReport",
    "Record",
    "Skip",
    "import_observed",
    "import_what_if",
    "read_records",
]

Paths = Iterable[str | os.PathLike[str]]
ProgressFn = Callable[[int, int], None]


def _skipper(report: ImportReport, strict: bool, *, reading: bool) -> Callable[[Skip], None]:
    """What to do with an unused input: count it (``reading``: it was never a record, so
    it counts as read too) and, with ``strict``, stop at an unusable one."""

    def on_skip(s: Skip) -> None:
        report.skip(s)
        if reading:
            report.read += 1
        if strict and s.reason in UNUSABLE:
            raise ImportAborted(
                f"{s.where()}: {s.reason}: {s.detail} (--strict stops at the first unusable input)",
                s,
            )

    return on_skip


def _run(
    fmt: str,
    paths: Paths,
    apply: Callable[[Record], None],
    on_skip: Callable[[Skip], None],
    report: ImportReport,
    *,
    until: float | None,
    reorder_window: int,
    progress: ProgressFn | None,
    fast: bool = False,
) -> None:
    pos = Position()
    stats = ReadStats()
    paths = list(paths)
    report.inputs.extend(os.fspath(p) for p in paths)
    n = 0
    # The parsed events are acyclic and die young, but the reorder window keeps a
    # thousand of them alive: the cyclic collector would trace them over and over
    # (a third of the time). Nothing here makes cycles, so it rests until the end.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rec in read_records(
            fmt,
            paths,
            on_skip=on_skip,
            pos=pos,
            stats=stats,
            until=until,
            reorder_window=reorder_window,
            fast=fast,
        ):
            apply(rec)
            n += 1
            if progress is not None and not n & 1023:
                progress(pos.done, pos.total)
    finally:
        if gc_was_enabled:
            gc.enable()
        report.files += stats.files
        report.reordered += stats.reordered
        report.late += stats.late
        report.ignored_files.extend(pos.ignored_files)
        report.stopped_at = stats.stopped_at or report.stopped_at
        if progress is not None:
            progress(pos.total, pos.total)


def import_observed(
    cluster: Cluster,
    fmt: str,
    paths: Paths,
    *,
    from_dump: Sequence[str | os.PathLike[str]] = (),
    strict: bool = False,
    until: float | None = None,
    ipaddresses: str = "auto",
    reorder_window: int = 1024,
    progress: ProgressFn | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Apply a recorded history to ``cluster`` (see :mod:`.observed`); returns the report.

    ``from_dump`` files are imported first (the state before a log that starts
    mid-life). ``strict`` raises :class:`ImportAborted` at the first unusable input;
    ``until`` (seconds since the epoch) ends the history there.
    """
    report = report if report is not None else ImportReport(mode="observed", format=fmt)
    report.in_memory = cluster.state_dir is None
    on_skip = _skipper(report, strict, reading=True)
    on_drop = _skipper(report, strict, reading=False)
    started = time.perf_counter()
    # The import is one call: its events are logged in large writes, all on disk (per
    # the durability mode) when it returns.
    try:
        with cluster.bulk():
            if from_dump:
                seeder = ObservedImporter(
                    cluster, report, fmt="dump", ipaddresses=ipaddresses, on_skip=on_drop
                )
                try:
                    _run(
                        "dump",
                        from_dump,
                        seeder.apply,
                        on_skip,
                        report,
                        until=None,
                        reorder_window=0,
                        progress=progress,
                    )
                finally:
                    seeder.finish()
            importer = ObservedImporter(
                cluster, report, fmt=fmt, ipaddresses=ipaddresses, on_skip=on_drop
            )
            try:
                _run(
                    fmt,
                    paths,
                    importer.apply,
                    on_skip,
                    report,
                    until=until,
                    reorder_window=reorder_window,
                    progress=progress,
                    fast=True,
                )
            finally:
                importer.finish()
    finally:
        report.elapsed = time.perf_counter() - started
        report.state, report.totals = state_summary(cluster)
    return report


def import_what_if(
    fmt: str,
    paths: Paths,
    *,
    service_cluster_ip_range: str | Iterable[str] | None,
    seed: int = 0,
    add_service_cidrs: Iterable[tuple[str, list[str]]] = (),
    remove_service_cidrs: Iterable[str] = (),
    from_dump: Sequence[str | os.PathLike[str]] = (),
    strict: bool = False,
    until: float | None = None,
    reorder_window: int = 1024,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Replay the recorded requests under other settings (see :mod:`.whatif`)."""
    report = ImportReport(mode="what-if", format=fmt)
    on_skip = _skipper(report, strict, reading=True)
    replay = WhatIfReplay(
        report,
        service_cluster_ip_range=service_cluster_ip_range,
        seed=seed,
        add_service_cidrs=add_service_cidrs,
        remove_service_cidrs=remove_service_cidrs,
        on_skip=_skipper(report, strict, reading=False),
    )
    started = time.perf_counter()
    try:
        if from_dump:
            _run(
                "dump",
                from_dump,
                replay.apply,
                on_skip,
                report,
                until=None,
                reorder_window=0,
                progress=progress,
            )
        _run(
            fmt,
            paths,
            replay.apply,
            on_skip,
            report,
            until=until,
            reorder_window=reorder_window,
            progress=progress,
        )
    finally:
        report.elapsed = time.perf_counter() - started
        replay.finish()
    return report
