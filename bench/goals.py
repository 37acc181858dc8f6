"""The speed and memory goals the issues set, checked against one run's figures.

No test asserts time or speed (DESIGN.md rule 10): a busy machine would fail it. Each
goal is a line that ``./dev bench`` prints instead, ``PASS`` or ``MISS`` with the figure
measured in that run and its ratio to the goal; ``n/a`` when the run did not measure it
at the goal's size (``--quick``) or at all. This module is the one place the goals live;
the scripts that measure them import them from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Goal:
    """A bound on one figure: ``figure <= limit`` (``at_most``) or ``figure >= limit``."""

    label: str
    limit: float
    unit: str
    at_most: bool
    issue: int
    size: int | None = None  # the size the goal is stated at (Services, events, calls)

    def met(self, figure: float) -> bool:
        return figure <= self.limit if self.at_most else figure >= self.limit

    def line(self, figure: float | None, size: int | None = None, note: str = "") -> str:
        """``PASS``/``MISS``/``n/a``, the figure, the goal and the ratio of the two."""
        bound = f"{'<=' if self.at_most else '>='} {self.limit:,g} {self.unit}"
        head = f"{self.label} (#{self.issue}; goal {bound}"
        if self.size is not None:
            head += f" at {self.size:,}"
        head += ")"
        if figure is None:
            return f"n/a   {head}: not measured in this run" + (f" ({note})" if note else "")
        measured = f"{_num(figure)} {self.unit}"
        if self.size is not None and size is not None and size < self.size:
            return f"n/a   {head}: {measured} at {size:,} only (a full run measures it)"
        ratio = figure / self.limit if self.limit else float("inf")
        verdict = "PASS" if self.met(figure) else "MISS"
        return f"{verdict}  {head}: {measured}, {ratio:.2f}× the goal" + (
            f" ({note})" if note else ""
        )


def _num(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


ALLOC_NS = Goal(
    "allocator churn, /12 at 99.9%, batched", 100.0, "ns/address", at_most=True, issue=2
)
ALLOC_RATIO = Goal(
    "allocator churn, /12 at 99.9%: Python baseline / batched", 20.0, "×", at_most=False,
    issue=2,
)  # fmt: skip
IPV6_RSS = Goal(
    "allocate_next calls in fd00::/64: peak RSS growth", 100.0, "MiB", at_most=True, issue=2,
    size=1_000_000,
)  # fmt: skip
CREATES = Goal(
    "Service creates in memory, growing one Cluster", 20_000.0, "/s", at_most=False, issue=3,
    size=1_000_000,
)  # fmt: skip
BYTES_PER_SERVICE = Goal(
    "memory per Service (IPAddress and event included)", 2048.0, "bytes", at_most=True,
    issue=3, size=1_000_000,
)  # fmt: skip
REPLAY = Goal("replay of a log through Cluster.open", 300_000.0, "events/s", at_most=False, issue=4)
OPEN_SNAPSHOT = Goal(
    "Cluster.open of Services with a snapshot", 2.0, "s", at_most=True, issue=4,
    size=1_000_000,
)  # fmt: skip
POLICY_COST = Goal(
    "cost of the seed's containsCIDR policy per ServiceCIDR create", 10.0, "µs", at_most=True,
    issue=5,
)  # fmt: skip
IMPORT = Goal(
    "audit-log import (observed mode)", 100_000.0, "events/s", at_most=False, issue=7,
    size=1_000_000,
)  # fmt: skip

SERVE_CREATES = Goal(
    "Service creates over HTTP with keep-alive (servicecidr serve)", 5_000.0, "/s",
    at_most=False, issue=15,
)  # fmt: skip
SWEEP_LOCAL = Goal(
    "CPU-bound sweep on the local engine: time / serial time", 0.6, "×", at_most=True,
    issue=17,
)  # fmt: skip

# Issue 16: the engine against the minimal pure-Python loop a user would write (a dict of
# Services and a set of used addresses: baselines.minimal_service_loop), measured in the
# same run by create_table.py; and the steady-churn simulation.
CREATE_VS_LOOP = Goal(
    "Service create through Cluster.create / the minimal pure-Python loop", 1.0, "×",
    at_most=False, issue=16,
)  # fmt: skip
CREATE_MANY_VS_LOOP = Goal(
    "Cluster.create_many / the minimal pure-Python loop", 3.0, "×", at_most=False, issue=16
)
SIM_STEADY_CHURN = Goal(
    "simulate --preset steady-churn", 100_000.0, "operations/s", at_most=False, issue=16
)
# ... and the store, replay and the allocator's integer calls.
ALLOC_INT_NS = Goal(
    "allocator churn, /12 at 99.9%, batched through the integer API", 50.0, "ns/address",
    at_most=True, issue=16,
)  # fmt: skip
REPLAY_RATIO = Goal(
    "Cluster.open from the log alone / reading + CRC32C of the log's bytes", 0.8, "×",
    at_most=False, issue=16,
)  # fmt: skip
OPEN_SNAPSHOT_16 = Goal(
    "Cluster.open of Services with a snapshot", 0.5, "s", at_most=True, issue=16,
    size=1_000_000,
)  # fmt: skip
BYTES_PER_SERVICE_16 = Goal(
    "memory per Service (IPAddress and event included)", 1024.0, "bytes", at_most=True,
    issue=16, size=1_000_000,
)  # fmt: skip


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def report(out: Path) -> list[str]:
    """One line per goal from the figures the run wrote into ``out``."""
    lines: list[str] = []

    alloc = _load(out / "allocator_table.json") or {}
    lines.append(ALLOC_NS.line(alloc.get("batched_ns")))
    if alloc.get("batched_ns") and alloc.get("baseline_ns"):
        lines.append(ALLOC_RATIO.line(alloc["baseline_ns"] / alloc["batched_ns"]))
    else:
        lines.append(ALLOC_RATIO.line(None))
    lines.append(IPV6_RSS.line(alloc.get("ipv6_rss_mib"), alloc.get("ipv6_calls")))
    note = f"into a buffer: {alloc['buffer_ns']:.0f} ns" if alloc.get("buffer_ns") else ""
    lines.append(ALLOC_INT_NS.line(alloc.get("int_ns"), note=note))

    scale = _load(out / "scale.json") or {}
    rows = scale.get("engine") or []
    if rows:
        # The rate over the whole growth: each row gives the rate over the decade just
        # grown, so the time spent is the sum of each decade's size over its rate.
        spent, prev = 0.0, 0
        for r in rows:
            spent += (r["services"] - prev) / r["create_per_s_growing"]
            prev = r["services"]
        last = rows[-1]
        lines.append(CREATES.line(last["services"] / spent, last["services"]))
        lines.append(BYTES_PER_SERVICE.line(last["bytes_per_service"], last["services"]))
        lines.append(BYTES_PER_SERVICE_16.line(last["bytes_per_service"], last["services"]))
    else:
        lines += [CREATES.line(None), BYTES_PER_SERVICE.line(None), BYTES_PER_SERVICE_16.line(None)]

    log = _load(out / "log_table.json") or {}
    lines.append(REPLAY.line(log.get("replay_log_eps")))
    ratio, note = None, ""
    if log.get("replay_log_eps") and log.get("read_crc_eps"):
        ratio = log["replay_log_eps"] / log["read_crc_eps"]
        note = f"{log['replay_log_eps']:,.0f} vs {log['read_crc_eps']:,.0f} events/s"
    lines.append(REPLAY_RATIO.line(ratio, note=note))
    lines.append(OPEN_SNAPSHOT.line(log.get("open_snapshot_s"), log.get("open_services")))
    lines.append(OPEN_SNAPSHOT_16.line(log.get("open_snapshot_s"), log.get("open_services")))

    adm = _load(out / "bench_admission.json") or {}
    lines.append(POLICY_COST.line(adm.get("policy_cost_us"), note="median of paired rounds"))

    imp = _load(out / "import_table.json") or {}
    runs = imp.get("runs") or []
    full = runs[-1] if runs else None  # the whole log; the first run reads a fifth of it
    if full:
        lines.append(IMPORT.line(full["events"] / full["wall"], full["events"]))
    else:
        lines.append(IMPORT.line(None))

    creates = _load(out / "create_table.json") or {}
    base = creates.get("baseline_per_s")
    note = f"loop {base:,.0f}/s in this run" if base else ""
    lines.append(CREATE_VS_LOOP.line(creates.get("create_ratio"), note=note))
    lines.append(CREATE_MANY_VS_LOOP.line(creates.get("create_many_ratio"), note=note))
    sim = _load(out / "sim.json") or {}
    churn = [r for r in sim.get("rows") or [] if r.get("preset") == "steady-churn"]
    lines.append(SIM_STEADY_CHURN.line(churn[0]["operations_per_s"] if churn else None))

    serve = _load(out / "serve_table.json") or {}
    http, engine = serve.get("http") or {}, serve.get("engine") or {}
    note = ""
    if http and engine:
        note = (
            f"{http['creates_per_s'] / engine['creates_per_s']:.0%} of the engine's in-process "
            f"{engine['creates_per_s']:,.0f}/s; p99 {http['p99_ms']:.1f} ms"
        )
    lines.append(SERVE_CREATES.line(http.get("creates_per_s"), note=note))

    sweep = _load(out / "sweep_table.json") or {}
    note = ""
    floor = sweep.get("floor") or {}
    if floor.get("ratio") is not None:
        note = f"{sweep['cells']} cells; bare processes here reach {floor['ratio']:.2f}"
    lines.append(SWEEP_LOCAL.line(sweep.get("local_ratio"), note=note))
    return lines


if __name__ == "__main__":
    import sys

    here = Path(__file__).resolve().parent
    for line in report(Path(sys.argv[1]) if len(sys.argv) > 1 else here / "out"):
        print(line)
