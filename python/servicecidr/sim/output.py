"""Writing a run down: the deterministic files, the measured ones, and the summary table.

Deterministic (a function of model and seed only, byte for byte):

* ``timeseries.csv``: one row per sample: counters, per-family used/size/utilization,
  and ``used <prefix>`` / ``utilization <prefix>`` for every allocating prefix seen;
* ``summary.json``: per ServiceCIDR size and peaks, totals, operator actions, the first
  failures and the cluster's final ``digest()``;
* ``model.yaml``: the model as run;
* ``timeseries.png``: the time series drawn (needs matplotlib).

Measured with the wall clock, so different every run: ``latency.json`` (create and
delete percentiles overall and per sample window) and ``latency.png``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from servicecidr.clock import format_time
from servicecidr.sim.result import SimResult, summary_dict
from servicecidr.sim.workload import format_duration, model_to_yaml

__all__ = [
    "DETERMINISTIC_FILES",
    "format_summary",
    "summary_dict",
    "timeseries_csv",
    "write_outputs",
]

DETERMINISTIC_FILES = ("timeseries.csv", "summary.json", "model.yaml", "timeseries.png")


def _cell(v: float | None) -> str:
    if v is None:
        return ""
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.6f}"


def timeseries_csv(r: SimResult) -> str:
    """``timeseries.csv`` as text."""
    fixed = [
        "time_s",
        "services",
        "service_cidrs",
        "creates",
        "deletes",
        "failures",
        "range_full",
        "operator_adds",
    ]
    for fam in r.families:
        k = fam.lower()
        fixed += [f"{k}_used", f"{k}_size", f"{k}_utilization"]
    per_prefix = [c for p in r.prefixes for c in (f"used {p}", f"utilization {p}")]
    cols = fixed + per_prefix
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time", *cols])
    for s in r.samples:
        w.writerow([format_time(r.start + s["time_s"]), *(_cell(s.get(c)) for c in cols)])
    return buf.getvalue()


def _latency_json(r: SimResult) -> str:
    assert r.latency is not None
    ops = r.totals["creates"] + r.totals["deletes"] + r.totals["failures"]
    doc = {
        "note": "wall-clock measurements: they differ from run to run",
        "wall_seconds": r.wall_seconds,
        "operations_per_second": ops / r.wall_seconds if r.wall_seconds else None,
        **r.latency,
    }
    return json.dumps(doc, indent=1) + "\n"


def write_outputs(
    r: SimResult, out: str | Path, *, png: bool = True, latency: bool = True
) -> tuple[list[Path], str | None]:
    """Write the run's files into ``out`` (created when missing). Returns the paths
    written and, when a PNG was asked for but matplotlib is missing, the reason."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        p = d / name
        p.write_text(text, encoding="utf-8", newline="\n")
        written.append(p)

    put("timeseries.csv", timeseries_csv(r))
    put("summary.json", json.dumps(summary_dict(r), indent=1) + "\n")
    put("model.yaml", model_to_yaml(r.model))
    if latency and r.latency is not None:
        put("latency.json", _latency_json(r))
    note = None
    if png:
        from servicecidr.sim.plot import PlotUnavailableError, draw_latency, draw_timeseries

        try:
            draw_timeseries(r, d / "timeseries.png")
            written.append(d / "timeseries.png")
            if latency and r.latency is not None:
                draw_latency(r, d / "latency.png")
                written.append(d / "latency.png")
        except PlotUnavailableError as e:
            note = str(e)
    return written, note


# ------------------------------------------------------------------------- the text summary


def _t(seconds: float) -> str:
    return format_duration(int(seconds))


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
        ]
        out.append("   ".join(cells).rstrip())
    return out


def format_summary(r: SimResult, files: list[Path] | None = None) -> str:
    """The table ``servicecidr simulate`` prints at the end."""
    m, t = r.model, r.totals
    op = m.operator
    lines = [
        f"{m.name}, seed {r.seed}: {_t(t['simulated_s'])} simulated in {r.wall_seconds:.1f} s "
        f"(operator {'on, threshold ' + format(op.threshold, '.0%') if op.enabled else 'off'})",
        "",
    ]
    rows = [["SERVICECIDR", "CIDR", "ADDED", "READY", "SIZE", "PEAK USED", "PEAK UTIL", "USED"]]
    for sc in r.service_cidrs:
        rows.append(
            [
                sc["name"],
                sc["cidr"],
                _t(sc["added_s"]),
                str(sc["ready"] or "-"),
                f"{sc['size']:,}",
                f"{sc['peak_used']:,}",
                f"{sc['peak_utilization']:.1%}",
                f"{sc['final_used']:,}",
            ]
        )
    lines += _table(rows, {4, 5, 6, 7})
    lines.append("")
    lines.append(
        f"Services: {t['creates']:,} created, {t['deletes']:,} deleted, "
        f"{t['failures']:,} failed, {t['services_final']:,} at the end"
    )
    if t["failures"]:
        by = ", ".join(f"{k} {v:,}" for k, v in t["failures_by_reason"].items())
        lines.append(f"failures by reason: {by}")
    if t["first_range_full_s"] is None:
        lines.append('first "range is full": never')
    else:
        lines.append(
            f'first "range is full": after {_t(t["first_range_full_s"])} '
            f"({t['first_range_full']}), {t['range_full']:,} creates failed so"
        )
    acts = r.operator_actions
    if op.enabled:
        if acts:
            a = acts[0]
            lines.append(
                f"operator: {len(acts)} ServiceCIDR(s) added, the first ({a.name} {a.cidr}) "
                f"after {_t(a.time)} at {a.utilization:.1%} utilization"
            )
            errs = [x for x in acts if x.error]
            if errs:
                lines.append(f"operator: {len(errs)} refused, e.g. {errs[0].error}")
        else:
            lines.append("operator: never needed to add a ServiceCIDR")
    if r.latency is not None:
        parts = []
        for k in ("create", "delete", "failed_create"):
            s = r.latency[k]
            if s["count"]:
                label = k.replace("_", " ")
                parts.append(
                    f"{label} p50 {s['p50_us']:.0f} µs, p99 {s['p99_us']:.0f} µs ({s['count']:,})"
                )
        if parts:
            lines.append("latency (wall clock): " + "; ".join(parts))
    lines.append(f"digest: {r.digest}")
    if files:
        lines.append("files: " + " ".join(str(p) for p in files))
    return "\n".join(lines) + "\n"
