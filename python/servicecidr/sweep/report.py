"""The report of a sweep: the figures across cells, a ranking of the parameter sets, and
a drawing.

* percentiles (nearest rank: p5, p50, p90, p95, p99) with count, mean, min and max of
  every figure across the cells that ran without error;
* per parameter set (a "candidate": every cell of the same parameters, over seeds and,
  for what-if sweeps, histories): how often the range filled, failures, peak
  utilization, headroom (1 - the 95th percentile of the peak utilization of any
  ServiceCIDR), ranked safest first: fewest cells that met ``range is full``, then
  fewest failures, then most headroom;
* ``report.png``: the probability that the range is full within T (the share of cells
  whose first ``range is full`` came at or before T), one curve per value of
  ``report.by`` (or per candidate), and the failures per cell of each.

A what-if cell can meet ``range is full`` in records without a timestamp: it counts as
full, but has no time to put on a curve or compare with T.

Everything here is computed from the table without the wall time, so the report of the
same sweep is the same whatever engine ran it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from servicecidr.sim import percentile
from servicecidr.sim.workload import format_duration
from servicecidr.sweep.spec import SIMULATION, Sweep, param_text

__all__ = ["QUANTILES", "build_report", "format_report", "write_report"]

QUANTILES = (5, 50, 90, 95, 99)
_FIGURES = {
    SIMULATION: (
        "first_range_full_s",
        "range_full_failures",
        "failures",
        "service_cidrs_added",
        "peak_utilization_initial",
        "peak_utilization_max",
    ),
    "what-if": (
        "first_range_full_s",
        "failures",
        "service_cidrs_added",
        "peak_utilization_initial",
        "peak_utilization_max",
    ),
}
MAX_CURVES = 12


def _stats(values: Sequence[float]) -> dict[str, Any]:
    s = sorted(values)
    out: dict[str, Any] = {"count": len(s)}
    if not s:
        return out
    out["mean"] = round(sum(s) / len(s), 6)
    out["min"] = s[0]
    for q in QUANTILES:
        out[f"p{q}"] = percentile(s, q)
    out["max"] = s[-1]
    return out


def _short(key: str, value: Any) -> str:
    name = key.rsplit(".", 1)[-1]
    text = param_text(value)
    return f"{name}=/{text}" if name.endswith("prefix_length") else f"{name}={text}"


def _varying(sweep: Sweep, keys: Sequence[str]) -> list[str]:
    """The keys whose value differs between parameter sets (the others say nothing)."""
    out = []
    for k in keys:
        i = sweep.params.index(k)
        if len({param_text(v.params[i][1]) for v in sweep.variants}) > 1:
            out.append(k)
    return out


def _label(row: Mapping[str, Any], keys: Sequence[str], short: bool = False) -> str:
    if not keys:
        return "all cells"
    if short:
        return ", ".join(_short(k, row[k]) for k in keys)
    return ", ".join(f"{k}={param_text(row[k])}" for k in keys)


def _horizon(sweep: Sweep) -> float | None:
    if sweep.kind != SIMULATION or not sweep.variants:
        return None
    from servicecidr.clock import parse_duration

    return max(parse_duration(v.payload["model"]["duration"]) for v in sweep.variants) or None


def build_report(sweep: Sweep, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The report as a mapping (``report.json``) from the table's rows."""
    ok = [r for r in rows if not r.get("error")]
    errors = [r for r in rows if r.get("error")]
    figures = {
        f: _stats([float(r[f]) for r in ok if r.get(f) is not None]) for f in _FIGURES[sweep.kind]
    }
    filled = [r for r in ok if r.get("range_full")]
    keys = _varying(sweep, sweep.params)
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(_label(r, keys), []).append(r)
    within = list(sweep.within)
    candidates = []
    for label, members in groups.items():
        good = [r for r in members if not r.get("error")]
        full = [r for r in good if r.get("range_full")]
        peaks = sorted(float(r["peak_utilization_max"]) for r in good
                       if r.get("peak_utilization_max") is not None)  # fmt: skip
        fails = sorted(float(r["failures"] or 0) for r in good)
        times = sorted(float(r["first_range_full_s"]) for r in full
                       if r.get("first_range_full_s") is not None)  # fmt: skip
        p95 = percentile(peaks, 95) if peaks else None
        cand: dict[str, Any] = {
            "label": label,
            "params": {k: members[0][k] for k in sweep.params},
            "cells": len(members),
            "errors": len(members) - len(good),
            "range_full_cells": len(full),
            "range_full_fraction": round(len(full) / len(good), 6) if good else None,
            "first_range_full_s_p50": percentile(times, 50) if times else None,
            "failures_mean": round(sum(fails) / len(fails), 6) if fails else None,
            "failures_p95": percentile(fails, 95) if fails else None,
            "peak_utilization_p50": percentile(peaks, 50) if peaks else None,
            "peak_utilization_p95": p95,
            "headroom": round(1 - p95, 6) if p95 is not None else None,
        }
        if within:
            cand["range_full_within"] = {
                format_duration(t): round(sum(1 for x in times if x <= t) / len(good), 6)
                if good
                else None
                for t in within
            }
        candidates.append(cand)

    def rank_key(c: Mapping[str, Any]) -> tuple[Any, ...]:
        inf = float("inf")
        return (
            c["errors"] > 0,
            c["range_full_fraction"] if c["range_full_fraction"] is not None else inf,
            c["failures_mean"] if c["failures_mean"] is not None else inf,
            -(c["headroom"] if c["headroom"] is not None else -inf),
            c["label"],
        )

    ranking = sorted(candidates, key=rank_key)
    for i, c in enumerate(ranking, 1):
        c["rank"] = i
    out: dict[str, Any] = {
        "name": sweep.name,
        "kind": sweep.kind,
        "cells": len(rows),
        "ok": len(ok),
        "errors": len(errors),
        "errors_by_message": _count(r["error"].split("\n")[0] for r in errors),
        "range_full": {
            "cells": len(filled),
            "fraction": round(len(filled) / len(ok), 6) if ok else None,
        },
        "figures": figures,
        "ranking": ranking,
    }
    if sweep.kind != SIMULATION:
        out["histories"] = _histories(rows, keys, [c["label"] for c in ranking])
    return out


def _histories(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """Each history's headroom (1 - its peak utilization, the lowest over seeds) under
    each candidate, least headroom first: the clusters closest to a full range."""
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        h = table.setdefault(str(r["history"]), {"history": str(r["history"]), "candidates": {}})
        label = _label(r, keys)
        c = h["candidates"].setdefault(label, {"headroom": None, "range_full": False})
        if r.get("error"):
            c["error"] = True
            continue
        if r.get("range_full"):
            c["range_full"] = True
        if r.get("peak_utilization_max") is not None:
            room = round(1 - float(r["peak_utilization_max"]), 6)
            c["headroom"] = room if c["headroom"] is None else min(c["headroom"], room)
    for h in table.values():
        h["candidates"] = {k: h["candidates"][k] for k in labels if k in h["candidates"]}
        rooms = [c["headroom"] for c in h["candidates"].values() if c["headroom"] is not None]
        h["least_headroom"] = min(rooms) if rooms else None
    inf = float("inf")
    return sorted(
        table.values(),
        key=lambda h: (
            h["least_headroom"] if h["least_headroom"] is not None else inf,
            h["history"],
        ),
    )


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:10])


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "-"
    if kind == "pct":
        return f"{float(v):.1%}"
    if kind == "time":
        return format_duration(round(float(v)))
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}"
    return f"{int(v):,}" if isinstance(v, int | float) else str(v)


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "   ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                   for i, c in enumerate(r)).rstrip()
        for r in rows
    ]  # fmt: skip


def format_report(report: Mapping[str, Any]) -> str:
    """The report as text (``report.txt``, and what ``servicecidr sweep`` prints)."""
    lines = [
        f"{report['name']} ({report['kind']}): {report['cells']:,} cells, "
        f"{report['ok']:,} ran, {report['errors']:,} failed"
    ]
    rf = report["range_full"]
    if rf["fraction"] is not None:
        lines.append(
            f'"range is full" in {rf["cells"]:,} of {report["ok"]:,} cells ({rf["fraction"]:.1%})'
        )
    for msg, n in report["errors_by_message"].items():
        lines.append(f"  error x{n}: {msg}")
    lines.append("")
    head = ["FIGURE", "N", "MEAN", "MIN", *[f"P{q}" for q in QUANTILES], "MAX"]
    table = [head]
    for name, st in report["figures"].items():
        kind = "pct" if name.startswith("peak_") else "time" if name.endswith("_s") else ""
        table.append(
            [name, _fmt(st["count"])]
            + [_fmt(st.get(k), kind) for k in ("mean", "min", *[f"p{q}" for q in QUANTILES], "max")]
        )
    lines += _table(table, set(range(1, len(head))))
    lines.append("")
    lines.append("ranking (fewest cells with range full, then fewest failures, most headroom):")
    head = ["RANK", "CANDIDATE", "CELLS", "ERR", "FULL", "FIRST FULL P50", "FAILURES",
            "PEAK P50", "PEAK P95", "HEADROOM"]  # fmt: skip
    within = report["ranking"][0].get("range_full_within", {}) if report["ranking"] else {}
    head += [f"FULL<={t}" for t in within]
    table = [head]
    for c in report["ranking"]:
        table.append(
            [
                str(c["rank"]),
                c["label"],
                _fmt(c["cells"]),
                _fmt(c["errors"]),
                _fmt(c["range_full_fraction"], "pct"),
                _fmt(c["first_range_full_s_p50"], "time"),
                _fmt(c["failures_mean"]),
                _fmt(c["peak_utilization_p50"], "pct"),
                _fmt(c["peak_utilization_p95"], "pct"),
                _fmt(c["headroom"], "pct"),
                *[_fmt(v, "pct") for v in c.get("range_full_within", {}).values()],
            ]
        )
    lines += ["  " + line for line in _table(table, set(range(2, len(head))))]
    hist = report.get("histories")
    if hist:
        labels = [c["label"] for c in report["ranking"]]
        lines.append("")
        lines.append("histories by headroom under each candidate (least first; FULL: range full):")
        table = [["HISTORY", *[f"#{c['rank']}" for c in report["ranking"]]]]
        for h in hist:
            cells = []
            for label in labels:
                c = h["candidates"].get(label)
                if c is None:
                    cells.append("-")
                elif c.get("error"):
                    cells.append("ERROR")
                else:
                    room = _fmt(c["headroom"], "pct")
                    cells.append(f"{room} FULL" if c["range_full"] else room)
            table.append([h["history"], *cells])
        lines += ["  " + line for line in _table(table, set(range(1, len(labels) + 1)))]
    return "\n".join(lines) + "\n"


def write_report(
    out: Path,
    sweep: Sweep,
    report: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    png: bool = True,
) -> tuple[list[Path], str | None]:
    """Write report.json, report.txt and (with matplotlib) report.png. Returns the files
    and, when the PNG could not be drawn, why."""
    files = [out / "report.json", out / "report.txt"]
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "report.txt").write_text(format_report(report), encoding="utf-8")
    if not png:
        return files, None
    from servicecidr.sim.plot import PlotUnavailableError

    try:
        _draw(out / "report.png", sweep, rows)
    except PlotUnavailableError as e:
        return files, str(e).replace("the CSV and JSON files were written", "the tables were")
    files.append(out / "report.png")
    return files, None


def _draw(path: Path, sweep: Sweep, rows: Sequence[Mapping[str, Any]]) -> None:
    from servicecidr.sim.plot import new_figure, plot_style, save_png

    by = [sweep.report_by] if sweep.report_by else _varying(sweep, sweep.params)
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if not r.get("error"):
            groups.setdefault(_label(r, by, short=True), []).append(r)
    names = list(groups)[:MAX_CURVES]
    times = [float(r["first_range_full_s"]) for g in names for r in groups[g]
             if r.get("first_range_full_s") is not None]  # fmt: skip
    horizon = _horizon(sweep) or (max(times) if times else 1.0)
    unit, unit_name = (3600.0, "h") if horizon > 3 * 3600 else (60.0, "min")
    if horizon <= 300:
        unit, unit_name = 1.0, "s"
    with plot_style():
        fig = new_figure(11, 4.5)
        ax1, ax2 = fig.subplots(1, 2)
        for g in names:
            members = groups[g]
            ts = sorted(float(r["first_range_full_s"]) for r in members
                        if r.get("first_range_full_s") is not None)  # fmt: skip
            xs = [0.0] + [t / unit for t in ts] + [horizon / unit]
            ys = [0.0] + [(i + 1) / len(members) for i in range(len(ts))]
            ys.append(ys[-1])
            ax1.step(xs, ys, where="post", label=f"{g} (n={len(members)})")
        ax1.set_xlim(0, horizon / unit)
        ax1.set_ylim(-0.02, 1.02)
        ax1.set_xlabel(f"time T ({unit_name})")
        ax1.set_ylabel("P(range is full within T)")
        ax1.set_title("probability that the range fills within T")
        ax1.grid(True, alpha=0.3)
        if names:
            ax1.legend(fontsize="small", loc="lower right")
        data = [[float(r.get("failures") or 0) for r in groups[g]] for g in names]
        if data:
            ax2.boxplot(data, orientation="horizontal", tick_labels=names)
            ax2.invert_yaxis()  # the legend's order, top down
        ax2.set_xlabel("failed requests per cell")
        ax2.set_title("failures per cell")
        ax2.grid(True, alpha=0.3)
        title = f"{sweep.name}: {len(rows)} cells"
        if len(groups) > MAX_CURVES:
            title += f" (first {MAX_CURVES} of {len(groups)} groups)"
        fig.suptitle(title)
        save_png(fig, path)
