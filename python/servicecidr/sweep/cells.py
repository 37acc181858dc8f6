"""Running one cell: the function every engine's workers call.

:func:`run_cell` takes a task (plain data from :meth:`Sweep.task
<servicecidr.sweep.spec.Sweep.task>`) and returns the cell's figures as a mapping of
plain values. It never raises for what the cell does: an exception inside the run comes
back as ``error`` (``Type: message``) with the traceback beside it, so one bad cell is a
row of the table, not the end of the sweep. Everything but ``wall_s`` (and the
traceback) is a function of the task alone, so any worker on any engine returns the same
row for the same task.

It uses only the public API of the simulation harness (:mod:`servicecidr.sim`) and of
history import (:func:`servicecidr.importers.import_what_if`).
"""

from __future__ import annotations

import ipaddress
import json
import time
import traceback
from collections.abc import Mapping
from typing import Any

__all__ = ["FIGURES", "run_cell"]

#: The figure columns of each kind of sweep, in table order (``wall_s`` and ``error``
#: close every row).
FIGURES: dict[str, tuple[str, ...]] = {
    "simulation": (
        "range_full",
        "first_range_full_s",
        "range_full_failures",
        "failures",
        "service_cidrs_added",
        "service_cidrs_final",
        "peak_utilization_initial",
        "peak_utilization_max",
        "peak_utilization",
        "creates",
        "deletes",
        "services_final",
        "digest",
    ),
    "what-if": (
        "range_full",
        "first_range_full_s",
        "first_range_full_at",
        "first_range_full_event",
        "failures",
        "service_cidrs_added",
        "service_cidrs_final",
        "peak_utilization_initial",
        "peak_utilization_max",
        "peak_utilization",
        "replayed",
        "succeeded",
        "services_final",
    ),
}


def _r(x: float) -> float:
    # The harness rounds its summary to 6 decimals; do the same for our own figures.
    return round(float(x), 6)


def _peaks_json(peaks: list[tuple[str, float]]) -> str:
    """``{"<ServiceCIDR> <cidr>": peak utilization}`` in the order given."""
    return json.dumps(dict(peaks), separators=(",", ":"))


def _initial_prefixes(rng: str | None) -> set[str]:
    out: set[str] = set()
    for part in (rng or "").split(","):
        part = part.strip()
        if part:
            try:
                out.add(str(ipaddress.ip_network(part, strict=False)))
            except ValueError:
                continue
    return out


def _simulation(task: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    from servicecidr.sim import Simulation, model_from_dict, summary_dict, timeseries_csv

    model = model_from_dict(task["model"])
    result = Simulation(model, int(task["seed"]), record_latency=False).run()
    s = summary_dict(result)
    t = s["totals"]
    initial = _initial_prefixes(model.service_cluster_ip_range)
    scs = s["service_cidrs"]
    peaks = [(f"{sc['name']} {sc['cidr']}", sc["peak_utilization"]) for sc in scs]
    init_peaks = [sc["peak_utilization"] for sc in scs if sc["cidr"] in initial]
    row = {
        "range_full": t["range_full"] > 0,
        "first_range_full_s": t["first_range_full_s"],
        "range_full_failures": t["range_full"],
        "failures": t["failures"],
        "service_cidrs_added": sum(1 for a in result.operator_actions if a.error is None),
        "service_cidrs_final": len({sc["name"] for sc in scs}),
        "peak_utilization_initial": max(init_peaks, default=None),
        "peak_utilization_max": max((p for _, p in peaks), default=None),
        "peak_utilization": _peaks_json(peaks),
        "creates": t["creates"],
        "deletes": t["deletes"],
        "services_final": t["services_final"],
        "digest": s["digest"],
    }
    return row, timeseries_csv(result) if task.get("timeseries") else None


def _what_if(task: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    from servicecidr.clock import parse_time
    from servicecidr.importers import import_what_if

    st = task["settings"]
    until = parse_time(st["until"]) if st.get("until") else None
    rng = st.get("service_cluster_ip_range")
    report = import_what_if(
        task["format"],
        task["paths"],
        service_cluster_ip_range=rng,
        seed=int(task["seed"]),
        add_service_cidrs=[(n, list(c)) for n, c in st.get("add_servicecidrs") or []],
        remove_service_cidrs=list(st.get("remove_servicecidrs") or []),
        from_dump=list(task.get("from_dump") or []),
        until=until,
    )
    frf = report.first_range_full
    first_at = frf.get("time") if frf else None
    ev = frf.get("event") or {} if frf else {}
    first_event = f"{ev.get('file')}:{ev.get('line')}" if ev else None
    first_s = None
    if first_at is not None and report.first_ts is not None:
        first_s = _r(parse_time(first_at) - report.first_ts)
    initial = _initial_prefixes(rng)
    peaks: list[tuple[str, float]] = []
    init_peaks: list[float] = []
    for prefix, p in sorted(report.peaks.items()):
        util = _r(p["utilization"])
        names = p.get("serviceCIDRs") or ["-"]
        peaks.extend((f"{n} {prefix}", util) for n in names)
        if prefix in initial:
            init_peaks.append(util)
    names = [sc["name"] for sc in report.state]
    row = {
        "range_full": frf is not None,
        "first_range_full_s": first_s,
        "first_range_full_at": first_at,
        "first_range_full_event": first_event,
        "failures": sum(report.failure_counts.values()),
        "service_cidrs_added": sum(1 for n in names if n != "kubernetes"),
        "service_cidrs_final": len(names),
        "peak_utilization_initial": max(init_peaks, default=None),
        "peak_utilization_max": max((p for _, p in peaks), default=None),
        "peak_utilization": _peaks_json(peaks),
        "replayed": report.replayed,
        "succeeded": report.succeeded,
        "services_final": report.totals.get("services", 0),
    }
    return row, None


def run_cell(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one cell; returns ``{"row": figures + wall_s + error, "traceback": str|None,
    "timeseries": csv text|None}``. Never raises for what the cell does."""
    kind = task.get("kind")
    t0 = time.perf_counter()
    tb: str | None = None
    series: str | None = None
    try:
        if kind == "simulation":
            row, series = _simulation(task)
        elif kind == "what-if":
            row, series = _what_if(task)
        else:
            raise ValueError(f"unknown kind of cell {kind!r}")
        error = None
    except Exception as e:  # a cell that raises is a row with its error
        row = {}
        message = getattr(e, "message", None) or str(e)
        error = f"{type(e).__name__}: {message}"
        tb = traceback.format_exc()
    figures = FIGURES.get(str(kind), ())
    out = {k: row.get(k) for k in figures}
    out["wall_s"] = round(time.perf_counter() - t0, 6)
    out["error"] = error
    return {"row": out, "traceback": tb, "timeseries": series}
