"""PNG drawings of a run, with matplotlib's Agg backend and no pyplot (so no global figure
state; several runs can draw in one process).

matplotlib is optional: it is imported only here, when a PNG is asked for, and
:class:`PlotUnavailableError` says what to install when it is missing. The PNGs are
deterministic: fixed size and dpi, default style, no timestamp or software name
embedded, so the same run draws the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from servicecidr.sim.result import SimResult

__all__ = [
    "INSTALL_HINT",
    "PlotUnavailableError",
    "draw_latency",
    "draw_timeseries",
    "new_figure",
    "plot_style",
    "save_png",
]

INSTALL_HINT = (
    "drawing PNGs needs matplotlib: pip install 'servicecidr[sim]' "
    "(or pip install matplotlib==3.11.2); the CSV and JSON files were written"
)
DPI = 100
MAX_LEGEND = 12


class PlotUnavailableError(RuntimeError):
    """matplotlib is not installed."""


@contextmanager
def plot_style() -> Iterator[None]:
    """matplotlib's default style for the duration (raises PlotUnavailableError)."""
    try:
        import matplotlib
        import matplotlib.style
    except ImportError as e:
        raise PlotUnavailableError(INSTALL_HINT) from e
    # The default style, whatever the user's matplotlibrc says, for identical bytes.
    with matplotlib.rc_context(), matplotlib.style.context("default"):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A Figure bound to an Agg canvas (call inside :func:`plot_style`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` as a PNG with no metadata that changes between runs."""
    fig.savefig(str(path), format="png", dpi=DPI, metadata={"Software": None})


def _time_axis(duration: float) -> tuple[float, str]:
    if duration > 3 * 3600:
        return 3600.0, "simulated time (h)"
    if duration > 300:
        return 60.0, "simulated time (min)"
    return 1.0, "simulated time (s)"


def draw_timeseries(r: SimResult, path: str | Path) -> None:
    """Utilization per ServiceCIDR, used addresses against capacity per family, and
    Services with cumulative failures, over simulated time."""
    with plot_style():
        _draw_timeseries(r, path)


def _draw_timeseries(r: SimResult, path: str | Path) -> None:
    scale, xlabel = _time_axis(r.model.duration)
    xs = [s["time_s"] / scale for s in r.samples]
    fig = new_figure(11, 10)
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    op = r.model.operator
    title = (
        f"{r.model.name}, seed {r.seed}: operator "
        f"{f'on (threshold {op.threshold:.0%})' if op.enabled else 'off'}"
    )
    fig.suptitle(title)

    # 1. utilization per prefix
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    for i, prefix in enumerate(r.prefixes):
        key = f"utilization {prefix}"
        pts = [(x, s[key] * 100) for x, s in zip(xs, r.samples, strict=True) if key in s]
        if not pts:
            continue
        label = prefix if i < MAX_LEGEND else None
        ax1.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            color=cmap(i % 20),
            linewidth=1.2,
            label=label,
        )
    for j, fam in enumerate(r.families):
        key = f"{fam.lower()}_utilization"
        ax1.plot(
            xs,
            [s.get(key, 0) * 100 for s in r.samples],
            color="black",
            linestyle=("-", "-.")[j % 2],
            linewidth=2,
            label=f"all {fam}",
        )
    if len(r.prefixes) > MAX_LEGEND:
        ax1.plot([], [], " ", label=f"... {len(r.prefixes) - MAX_LEGEND} more")
    if op.enabled:
        ax1.axhline(op.threshold * 100, color="grey", linestyle="--", linewidth=1)
    for a in r.operator_actions:
        ax1.axvline(a.time / scale, color="grey", linestyle=":", linewidth=0.6)
    ax1.set_ylabel("utilization (%)")
    ax1.set_ylim(0, 105)
    ax1.set_title(
        "utilization per ServiceCIDR"
        + (" (dotted: the operator adds one)" if r.operator_actions else ""),
        fontsize=10,
    )
    ax1.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    ax1.grid(True, alpha=0.3)

    # 2. used against capacity per family
    for j, fam in enumerate(r.families):
        k = fam.lower()
        color = ("tab:blue", "tab:orange")[j % 2]
        ax2.plot(xs, [s.get(f"{k}_used", 0) for s in r.samples], color=color, label=f"{fam} used")
        ax2.step(
            xs,
            [s.get(f"{k}_size", 0) for s in r.samples],
            where="post",
            color=color,
            linestyle="--",
            label=f"{fam} capacity",
        )
    ax2.set_ylabel("addresses")
    ax2.set_title("allocated ClusterIPs and capacity of the ready ServiceCIDRs", fontsize=10)
    ax2.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    ax2.grid(True, alpha=0.3)

    # 3. Services and failures
    ax3.plot(xs, [s["services"] for s in r.samples], color="tab:green", label="Services")
    ax3.set_ylabel("Services")
    ax3.grid(True, alpha=0.3)
    ax3b = ax3.twinx()
    ax3b.step(
        xs,
        [s["failures"] for s in r.samples],
        where="post",
        color="tab:red",
        label="failed creates (cumulative)",
    )
    ax3b.set_ylabel("failed creates", color="tab:red")
    ax3b.set_ylim(0, max(10.0, r.totals["failures"] * 1.05))
    ax3.set_ylim(bottom=0)
    first = r.totals["first_range_full_s"]
    if first is not None:
        ax3.axvline(first / scale, color="tab:red", linestyle=":", linewidth=1)
        ax3.annotate(
            '  first "range is full"',
            (first / scale, 0.95),
            xycoords=("data", "axes fraction"),
            color="tab:red",
            fontsize=8,
            va="top",
        )
    handles = ax3.get_legend_handles_labels()
    handles_b = ax3b.get_legend_handles_labels()
    ax3b.legend(
        handles[0] + handles_b[0],
        handles[1] + handles_b[1],
        loc="center left",
        bbox_to_anchor=(1.08, 0.5),
        fontsize=8,
        frameon=False,
    )
    ax3.set_title("Services and failed creates", fontsize=10)
    ax3.set_xlabel(xlabel)
    ax3.set_xlim(0, r.model.duration / scale)
    save_png(fig, path)


def draw_latency(r: SimResult, path: str | Path) -> None:
    """Create and delete latency (p50, p99 per sample window), wall clock."""
    if r.latency is None:
        return
    with plot_style():
        scale, xlabel = _time_axis(r.model.duration)
        series: list[dict[str, Any]] = r.latency["series"]
        fig = new_figure(11, 4)
        ax: Axes = fig.subplots()
        for op_kind, color in (("create", "tab:blue"), ("delete", "tab:orange")):
            pts = [s for s in series if s.get(f"{op_kind}_count")]
            xs = [s["time_s"] / scale for s in pts]
            ax.plot(xs, [s[f"{op_kind}_p50_us"] for s in pts], color=color, label=f"{op_kind} p50")
            ax.plot(
                xs,
                [s[f"{op_kind}_p99_us"] for s in pts],
                color=color,
                linestyle="--",
                label=f"{op_kind} p99",
            )
        ax.set_yscale("log")
        ax.set_ylabel("µs per operation (wall clock)")
        ax.set_xlabel(xlabel)
        ax.set_title(f"{r.model.name}, seed {r.seed}: operation latency per sample window")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3, which="both")
        save_png(fig, path)
