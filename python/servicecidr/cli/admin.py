"""The state's own verbs: ``init``, ``reconcile``, and ``api-resources``."""

from __future__ import annotations

import argparse

from servicecidr.api.kinds import KINDS
from servicecidr.cli.common import IO, audit_log_path, opt, session
from servicecidr.cli.errors import CliError
from servicecidr.cli.printers import (
    parse_output,
    render_table,
)
from servicecidr.cli.state import (
    DEFAULT_RANGE,
    init_state,
    resolve_state_dir,
)
from servicecidr.clock import format_time
from servicecidr.clock import parse_duration as clock_parse_duration

__all__ = ["parse_duration", "run_api_resources", "run_init", "run_reconcile"]


def run_init(args: argparse.Namespace, io: IO) -> int:
    path = resolve_state_dir(opt(args, "state"))
    rng = str(opt(args, "service_cluster_ip_range", DEFAULT_RANGE))
    clock = str(opt(args, "clock", "wall"))
    state = init_state(path, rng, clock, opt(args, "seed"), audit_log=audit_log_path(args))
    state.close()
    io.out.write(
        f"servicecidr state initialized in {path} "
        f"(--service-cluster-ip-range {rng}, {clock} clock"
        + (f", seed {opt(args, 'seed')}" if opt(args, "seed") is not None else "")
        + ")\n"
    )
    return 0


def run_api_resources(args: argparse.Namespace, io: IO) -> int:
    spec = parse_output(opt(args, "output"))
    namespaced = opt(args, "namespaced")
    infos = sorted(KINDS.values(), key=lambda i: (i.group != "", i.group, i.resource))
    if namespaced is not None:
        infos = [i for i in infos if i.namespaced == (namespaced == "true")]
    if spec.format == "name":
        for i in infos:
            io.out.write(f"{i.resource}{'.' + i.group if i.group else ''}\n")
        return 0
    head = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if spec.format == "wide":
        head.append("VERBS")
    rows = [head]
    for i in infos:
        row = [
            i.resource,
            ",".join(i.short_names),
            i.api_version,
            str(i.namespaced).lower(),
            i.kind,
        ]
        if spec.format == "wide":
            verbs = "[get list watch]" if i.kind == "Event" else "[create delete get list update]"
            row.append(verbs)
        rows.append(row)
    io.out.write(render_table(rows))
    return 0


def parse_duration(text: str) -> float:
    """``5s``, ``10m``, ``2h30m``, ``17d`` or a bare number of seconds."""
    try:
        return clock_parse_duration(text)
    except ValueError as e:
        raise CliError(f"error: {e}") from e


def run_reconcile(args: argparse.Namespace, io: IO) -> int:
    advance = opt(args, "advance")
    seconds = parse_duration(str(advance)) if advance is not None else None
    with session(args) as state:
        c = state.cluster
        if seconds is not None:
            if not c.clock.simulated:
                raise CliError(
                    "error: --advance needs a state on a simulated clock (init --clock simulated)"
                )
            c.reconcile(advance=seconds)
            c.reconcile()
        clock = "simulated" if c.clock.simulated else "wall"
        io.out.write(f"reconciled at {format_time(c.clock.now())} ({clock} clock)\n")
    return 0
