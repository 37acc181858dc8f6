"""Seeded workload simulations against :class:`~servicecidr.Cluster` on a simulated clock.

A :class:`Model` describes the workload (streams of Services with arrival and lifetime
distributions, bursts, namespaces, IP family policy mixes, and an operator who adds a
ServiceCIDR when utilization passes a threshold); :class:`Simulation` runs one against its
own Cluster and clock; :func:`write_outputs` writes the time series (CSV), a summary (JSON)
and a drawing (PNG, with matplotlib). The same model and seed give the same files, byte
for byte; wall-clock latencies go to separate files.

Example::

    from servicecidr.sim import preset, run, write_outputs, format_summary
    result = run(preset("seed-at-scale"), seed=1)
    files, _ = write_outputs(result, "out/seed-at-scale")
    print(format_summary(result, files))
"""

from servicecidr.sim.engine import (
    CidrStats,
    Failure,
    OperatorAction,
    SimResult,
    Simulation,
    percentile,
    run,
)
from servicecidr.sim.output import (
    DETERMINISTIC_FILES,
    format_summary,
    summary_dict,
    timeseries_csv,
    write_outputs,
)
from servicecidr.sim.presets import PRESETS, preset, preset_names
from servicecidr.sim.workload import (
    Burst,
    Lifetime,
    Model,
    Operator,
    Stream,
    load_model,
    model_from_dict,
    model_to_dict,
    model_to_yaml,
)

__all__ = [
    "DETERMINISTIC_FILES",
    "PRESETS",
    "Burst",
    "CidrStats",
    "Failure",
    "Lifetime",
    "Model",
    "Operator",
    "OperatorAction",
    "SimResult",
    "Simulation",
    "Stream",
    "format_summary",
    "load_model",
    "model_from_dict",
    "model_to_dict",
    "model_to_yaml",
    "percentile",
    "preset",
    "preset_names",
    "run",
    "summary_dict",
    "timeseries_csv",
    "write_outputs",
]
