"""What a simulation run yields: its result and the deterministic summary of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servicecidr.clock import format_time
from servicecidr.sim.workload import Model

__all__ = [
    "CidrStats",
    "Failure",
    "OperatorAction",
    "SimResult",
    "percentile",
    "summary_dict",
]

MAX_LISTED_FAILURES = 20


def percentile(sorted_values: list[int] | list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 100)) - 1))
    return float(sorted_values[k])


@dataclass(frozen=True)
class OperatorAction:
    """A ServiceCIDR the operator created (``error`` set when the create was refused)."""

    time: float
    name: str
    cidr: str
    family: str
    utilization: float
    error: str | None = None


@dataclass(frozen=True)
class Failure:
    """A Service create that failed."""

    time: float
    namespace: str
    name: str
    reason: str
    message: str


@dataclass
class CidrStats:
    """What a run saw of one allocating prefix."""

    prefix: str
    family: str
    size: int
    first_seen: float
    peak_used: int = 0
    peak_time: float = 0.0
    final_used: int = 0
    ready: bool = True


@dataclass
class SimResult:
    """The outcome of a run. Everything but ``latency`` and ``wall_seconds`` is a
    function of (model, seed): the deterministic files are written from it alone."""

    model: Model
    seed: int
    start: float
    samples: list[dict[str, float]]
    prefixes: list[str]
    cidrs: dict[str, CidrStats]
    service_cidrs: list[dict[str, Any]]
    operator_actions: list[OperatorAction]
    failures: list[Failure]
    totals: dict[str, Any]
    digest: str
    latency: dict[str, Any] | None = None
    wall_seconds: float = 0.0
    families: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The deterministic summary (``summary.json``)."""
        return summary_dict(self)


def _r(x: float) -> float:
    return round(x, 6)


def summary_dict(r: SimResult) -> dict[str, Any]:
    """The deterministic summary of a run."""
    m = r.model
    return {
        "model": m.name,
        "seed": r.seed,
        "start": format_time(r.start),
        "duration_s": _r(m.duration),
        "operator": {
            "enabled": m.operator.enabled,
            "threshold": m.operator.threshold,
            "actions": [
                {
                    "time_s": _r(a.time),
                    "time": format_time(r.start + a.time),
                    "name": a.name,
                    "cidr": a.cidr,
                    "family": a.family,
                    "utilization": _r(a.utilization),
                    **({"error": a.error} if a.error else {}),
                }
                for a in r.operator_actions
            ],
        },
        "service_cidrs": [
            {
                **sc,
                "added_s": _r(sc["added_s"]),
                "peak_utilization": _r(sc["peak_utilization"]),
            }
            for sc in r.service_cidrs
        ],
        "totals": {
            **r.totals,
            "first_range_full_s": (
                None
                if r.totals["first_range_full_s"] is None
                else _r(r.totals["first_range_full_s"])
            ),
            "simulated_s": _r(r.totals["simulated_s"]),
        },
        "peak_utilization": {
            fam: _r(max((s.get(f"{fam.lower()}_utilization", 0.0) for s in r.samples), default=0))
            for fam in r.families
        },
        "failures": [
            {
                "time_s": _r(f.time),
                "namespace": f.namespace,
                "name": f.name,
                "reason": f.reason,
                "message": f.message,
            }
            for f in r.failures[:MAX_LISTED_FAILURES]
        ],
        "digest": r.digest,
    }
