"""The import report: what was read, used and skipped (by reason, with file and line),
every divergence with the event that caused it, the what-if outcome, and the final state
per ServiceCIDR."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from servicecidr.clock import format_micro_time
from servicecidr.importers.inputs import IGNORED, REASONS, SKIPPED, UNUSABLE, Record, Skip
from servicecidr.store import decode_object

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster

__all__ = ["CHECKS", "Divergence", "ImportReport", "state_summary"]

#: divergence check -> what it means
CHECKS: dict[str, str] = {
    "ip-reused": "an address handed out twice (held by two Services at once)",
    "ip-out-of-range": "an address allocated outside every ready ServiceCIDR",
    "servicecidr-orphaned-ips": "a ServiceCIDR removed while addresses in it had no other home",
    "service-without-ipaddress": "a Service holding a ClusterIP with no IPAddress object",
    "ipaddress-not-released": "a Service went away but its IPAddress was never deleted",
    "created-twice": "a create of an object that exists (the log misses a delete)",
    "gap": "an update based on a version the log never showed (a write is missing)",
    "refused": "a manifest the engine refused (the request it stands for would fail)",
    "out-of-order": "a write older than the stored object (resourceVersion went back)",
}


@dataclass
class Divergence:
    """One inconsistency, with the event that caused it."""

    check: str
    message: str
    event: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"check": self.check, "message": self.message, "event": self.event}

    def line(self) -> str:
        """One line of text."""
        ev = self.event
        where = f"{ev.get('file', '?')}:{ev.get('line', '?')}"
        aid = f" auditID {ev['auditID']}" if ev.get("auditID") else ""
        return f"{self.check}: {self.message} ({where}{aid})"


@dataclass
class ImportReport:
    """Everything an import found. ``to_dict()`` is the ``-o json`` form."""

    mode: str = "observed"
    format: str = "audit"
    inputs: list[str] = field(default_factory=list)
    max_examples: int = 20
    max_divergences: int = 10000
    read: int = 0
    used: int = 0
    events_committed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    divergences: list[Divergence] = field(default_factory=list)
    divergence_counts: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    reordered: int = 0
    late: int = 0
    files: int = 0
    ignored_files: list[str] = field(default_factory=list)
    stopped_at: str = ""
    first_ts: float | None = None
    last_ts: float | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    elapsed: float = 0.0
    in_memory: bool = True
    state: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    # what-if
    settings: dict[str, Any] = field(default_factory=dict)
    replayed: int = 0
    succeeded: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    failure_counts: Counter[str] = field(default_factory=Counter)
    first_range_full: dict[str, Any] | None = None
    peaks: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ------------------------------------------------------------------ recording

    def skip(self, s: Skip) -> None:
        """Count an unused input (and keep the first examples of each reason)."""
        self.skipped[s.reason] += 1
        ex = self.examples.setdefault(s.reason, [])
        if len(ex) < self.max_examples:
            ex.append({"file": s.source, "line": s.line, "detail": s.detail})

    def diverge(self, check: str, message: str, rec: Record) -> None:
        """Record an inconsistency caused by ``rec``."""
        self.divergence_counts[check] += 1
        if len(self.divergences) < self.max_divergences:
            self.divergences.append(Divergence(check, message, rec.ref()))

    def note(self, what: str, n: int = 1) -> None:
        """Count something worth telling that is not a divergence."""
        self.notes[what] += n

    def saw_time(self, ts: float | None) -> None:
        """Track the time span of the history."""
        if ts is None:
            return
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts

    # ------------------------------------------------------------------ output

    @property
    def unusable(self) -> int:
        """How many inputs could not be used."""
        return sum(n for r, n in self.skipped.items() if r in UNUSABLE)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``-o json``)."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "format": self.format,
            "inputs": self.inputs,
            "files": self.files,
            "read": self.read,
            "used": self.used,
            "eventsCommitted": self.events_committed,
            "skipped": {
                r: {
                    "count": n,
                    "class": "unusable"
                    if r in UNUSABLE
                    else "skipped"
                    if r in SKIPPED
                    else "ignored",
                    "why": REASONS.get(r, ""),
                    "examples": self.examples.get(r, []),
                }
                for r, n in sorted(self.skipped.items())
            },
            "unusable": self.unusable,
            "divergences": {
                "count": sum(self.divergence_counts.values()),
                "byCheck": dict(sorted(self.divergence_counts.items())),
                "items": [d.to_dict() for d in self.divergences],
            },
            "notes": dict(sorted(self.notes.items())),
            "reordered": self.reordered,
            "late": self.late,
            "timeRange": [
                format_micro_time(self.first_ts) if self.first_ts is not None else None,
                format_micro_time(self.last_ts) if self.last_ts is not None else None,
            ],
            "seqRange": [self.first_seq, self.last_seq],
            "elapsedSeconds": round(self.elapsed, 3),
            "eventsPerSecond": round(self.read / self.elapsed) if self.elapsed > 0 else None,
            "inMemory": self.in_memory,
            "state": {"serviceCIDRs": self.state, "totals": self.totals},
        }
        if self.ignored_files:
            out["ignoredFiles"] = self.ignored_files
        if self.stopped_at:
            out["stoppedAt"] = self.stopped_at
        if self.mode == "what-if":
            out["whatIf"] = {
                "settings": self.settings,
                "replayed": self.replayed,
                "succeeded": self.succeeded,
                "failed": sum(self.failure_counts.values()),
                "failuresByReason": dict(sorted(self.failure_counts.items())),
                "failures": self.failures,
                "firstRangeFull": self.first_range_full,
                "peakUtilization": self.peaks,
            }
        return out

    def to_json(self) -> str:
        """``to_dict`` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str)

    def to_text(self) -> str:
        """The human report."""
        lines: list[str] = []
        title = "what-if replay" if self.mode == "what-if" else "observed import"
        lines.append(f"{title} of {self.format}: {self.files} file(s)")
        rate = f" ({self.read / self.elapsed:,.0f}/s)" if self.elapsed > 0 else ""
        lines.append(f"  read         {self.read:>10,} events{rate}")
        lines.append(f"  used         {self.used:>10,}")
        skipped = sum(self.skipped.values())
        lines.append(f"  not used     {skipped:>10,}")
        for group, members in (("unusable", UNUSABLE), ("skipped", SKIPPED), ("ignored", IGNORED)):
            reasons = [(r, n) for r, n in sorted(self.skipped.items()) if r in members]
            for r, n in reasons:
                lines.append(f"    {group:<9} {r:<20} {n:>8,}  {REASONS.get(r, '')}")
                for ex in self.examples.get(r, [])[: 3 if group != "unusable" else 10]:
                    detail = f": {ex['detail']}" if ex.get("detail") else ""
                    lines.append(f"        {ex['file']}:{ex['line']}{detail}")
        if self.first_ts is not None and self.last_ts is not None:
            lines.append(
                f"  history      {format_micro_time(self.first_ts)} .. "
                f"{format_micro_time(self.last_ts)}"
            )
        if self.first_seq is not None:
            lines.append(f"  event log    seq {self.first_seq} .. {self.last_seq}")
        if self.reordered or self.late:
            # audit logs are ordered by stageTimestamp, watch streams by resourceVersion
            key = "resourceVersion" if self.format == "watch" else "stageTimestamp"
            lines.append(
                f"  order        {self.reordered:,} reordered by {key}, "
                f"{self.late:,} arrived too late to reorder (applied where they arrived)"
            )
        if self.stopped_at:
            lines.append(f"  stopped      at {self.stopped_at} (--until)")
        for what, n in sorted(self.notes.items()):
            lines.append(f"  note         {what}: {n:,}")
        total = sum(self.divergence_counts.values())
        lines.append(f"  divergences  {total:>10,}")
        for check, n in sorted(self.divergence_counts.items()):
            lines.append(f"    {check:<26} {n:>8,}  {CHECKS.get(check, '')}")
        for d in self.divergences[:50]:
            lines.append(f"    - {d.line()}")
        if len(self.divergences) > 50:
            lines.append(f"    ... {total - 50:,} more (-o json lists them)")
        if self.mode == "what-if":
            lines.append("what-if")
            for k, v in self.settings.items():
                lines.append(f"  {k:<26} {v}")
            failed = sum(self.failure_counts.values())
            lines.append(
                f"  requests replayed {self.replayed:,}: {self.succeeded:,} succeeded, "
                f"{failed:,} failed"
            )
            for reason, n in sorted(self.failure_counts.items()):
                lines.append(f"    {reason:<30} {n:>8,}")
            if self.first_range_full is not None:
                f = self.first_range_full
                ev = f["event"]
                obj = (
                    f"{ev['namespace']}/{ev.get('name')}" if ev.get("namespace") else ev.get("name")
                )
                lines.append(
                    f"  first 'range is full' at {ev.get('file')}:{ev.get('line')} "
                    f"({f.get('time') or 'no time'}): {ev.get('verb')} {ev.get('kind')} {obj}"
                )
            else:
                lines.append("  no 'range is full'")
            for prefix, p in sorted(self.peaks.items()):
                lines.append(
                    f"  peak {prefix:<22} {p['used']:>8,}/{p['size']:<8,} "
                    f"{p['utilization']:6.1%} at {p.get('time') or '?'} "
                    f"({', '.join(p.get('serviceCIDRs', [])) or 'no ServiceCIDR now'})"
                )
        lines.append("state")
        if not self.state:
            lines.append("  no ServiceCIDR")
        for sc in self.state:
            for r in sc["ranges"]:
                lines.append(
                    f"  {sc['name']:<20} {r['cidr']:<22} {sc['status']:<12} "
                    f"{r['used']:>8,}/{r['size']:<10,} {r['utilization']:6.1%}"
                )
        t = self.totals
        if t:
            lines.append(
                f"  {t.get('services', 0):,} Services, {t.get('ipaddresses', 0):,} IPAddresses, "
                f"{t.get('servicecidrs', 0):,} ServiceCIDRs"
            )
        return "\n".join(lines) + "\n"


def state_summary(c: Cluster) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per ServiceCIDR: its ranges with used/size (allocators are per prefix and shared by
    overlapping ServiceCIDRs), and totals."""
    allocs = {prefix: (ready, used, size) for prefix, ready, used, size in c.allocators()}
    out: list[dict[str, Any]] = []
    for _key, blob in c.engine.store.items("ServiceCIDR"):
        sc = decode_object(blob)
        meta = sc.get("metadata") or {}
        status = "Ready"
        if meta.get("deletionTimestamp"):
            status = "Terminating"
        else:
            for cond in (sc.get("status") or {}).get("conditions") or []:
                if isinstance(cond, dict) and cond.get("type") == "Ready":
                    status = "Ready" if cond.get("status") == "True" else "NotReady"
        ranges = []
        for cidr in (sc.get("spec") or {}).get("cidrs") or []:
            try:
                prefix = str(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                prefix = str(cidr)
            ready, used, size = allocs.get(prefix, (False, 0, 0))
            ranges.append(
                {
                    "cidr": str(cidr),
                    "used": used,
                    "size": size,
                    "utilization": (used / size) if size else 0.0,
                    "allocating": ready,
                }
            )
        out.append({"name": meta.get("name", ""), "status": status, "ranges": ranges})
    totals = {
        "services": c.count("Service"),
        "ipaddresses": c.count("IPAddress"),
        "servicecidrs": c.count("ServiceCIDR"),
    }
    return out, totals
