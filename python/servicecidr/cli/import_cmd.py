"""``servicecidr import audit|dump|watch FILE...``: replay recorded cluster history.

* ``--mode observed`` (default) applies what the cluster recorded to the state directory
  (``--state``; created when missing, with ``--service-cluster-ip-range``, a simulated
  clock and ``--seed``): the history lands in the durable event log, so ``get``,
  ``describe`` and ``log show`` see it, and it can be opened at any point afterwards.
  ``--in-memory`` leaves the state alone and only reports.
* ``--mode what-if`` replays the recorded requests in memory under other settings
  (``--service-cluster-ip-range``, ``--add-servicecidr``, ``--remove-servicecidr``,
  ``--seed``) and reports what would have failed and when.

FILE may be a folder (read recursively: rotated logs), a ``.gz`` file, or ``-`` (stdin).
A progress bar goes to stderr on a terminal; the report goes to stdout (``-o json``).
Exit status 1 when ``--strict`` met an unusable input or the input cannot be read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Protocol, TextIO

from servicecidr.cli.state import add_state_flag, resolve_state_dir
from servicecidr.clock import SIMULATION_EPOCH, SimulatedClock, parse_time
from servicecidr.errors import ServiceCIDRError

__all__ = ["add_parser", "run"]

DEFAULT_RANGE = "10.96.0.0/12"

EPILOG = """examples:
  servicecidr import audit /var/log/kubernetes/audit/          # rotated files, .gz too
  servicecidr --state ./prod import audit audit.log --from-dump services.json
  servicecidr import dump services.json --service-cluster-ip-range 10.43.0.0/16
  kubectl get svc -A -w -o json --output-watch-events | servicecidr import watch -
  servicecidr import audit audit.log --mode what-if --service-cluster-ip-range 10.96.0.0/24
  servicecidr import audit audit.log --mode what-if --add-servicecidr extra=10.97.0.0/24 -o json
"""


class _Streams(Protocol):
    out: TextIO
    err: TextIO


def add_parser(sub: Any) -> None:
    """Register ``import`` on the top-level subparsers."""
    p = sub.add_parser(
        "import",
        help="replay recorded history (audit logs, kubectl dumps, watch streams)",
        description="Replay what a real cluster recorded. observed: apply it to the state "
        "(and check every step against the model); what-if: replay the requests under "
        "other settings and report what would have failed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "format",
        choices=("audit", "dump", "watch"),
        help="audit: kube-apiserver audit events (JSON lines, EventList, GKE/AKS envelopes, "
        "YAML); dump: kubectl get -o json|yaml; watch: ADDED/MODIFIED/DELETED events",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="files or folders; - for stdin")
    add_state_flag(p)
    p.add_argument("--mode", choices=("observed", "what-if"), default="observed")
    p.add_argument(
        "--service-cluster-ip-range",
        metavar="CIDR[,CIDR]",
        default=None,
        help="observed: the range of a state created now (default: the recorded default "
        f"ServiceCIDR, else {DEFAULT_RANGE}); what-if: the range to replay under (default: "
        f"the recorded one, else the state's, else {DEFAULT_RANGE})",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of every random choice")
    p.add_argument(
        "--add-servicecidr",
        action="append",
        default=[],
        metavar="NAME=CIDR[,CIDR]",
        help="what-if: a ServiceCIDR present from the start (repeatable)",
    )
    p.add_argument(
        "--remove-servicecidr",
        action="append",
        default=[],
        metavar="NAME",
        help="what-if: do not replay the recorded ServiceCIDR NAME (repeatable)",
    )
    p.add_argument(
        "--from-dump",
        action="append",
        default=[],
        metavar="FILE",
        help="a kubectl dump imported first: the state before a log that starts mid-life",
    )
    p.add_argument("--until", metavar="TIME", help="stop at this RFC 3339 time")
    p.add_argument(
        "--strict", action="store_true", help="stop at the first unusable input (exit 1)"
    )
    p.add_argument(
        "--ipaddresses",
        choices=("auto", "recorded", "derived"),
        default="auto",
        help="observed: trust the recorded IPAddress writes, or derive IPAddresses from "
        "Service ClusterIPs (auto: derive for dumps and watch streams, and for audit logs "
        "that hold no IPAddress write)",
    )
    p.add_argument(
        "--in-memory",
        action="store_true",
        help="observed: do not touch the state directory; report only",
    )
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")


def _state_dir(args: argparse.Namespace) -> Path:
    return resolve_state_dir(getattr(args, "state", None))


def _has_state(path: Path) -> bool:
    return (path / "meta").is_file()


def _parse_cidr_arg(text: str) -> tuple[str, list[str]]:
    name, sep, cidrs = text.partition("=")
    if not sep or not name or not cidrs:
        raise ValueError(f"--add-servicecidr {text!r}: expected NAME=CIDR[,CIDR]")
    return name, [c.strip() for c in cidrs.split(",") if c.strip()]


def run(args: argparse.Namespace, io: _Streams) -> int:
    """Run ``import``; returns the exit status."""
    from servicecidr.cli.progress import Progress
    from servicecidr.importers import ImportAborted, import_observed, import_what_if

    try:
        until = parse_time(args.until) if args.until else None
        adds = [_parse_cidr_arg(a) for a in args.add_servicecidr]
    except ValueError as e:
        io.err.write(f"error: {e}\n")
        return 1
    bar = Progress(io.err)
    bar.start(1, f"importing {args.format}")

    def progress(done: int, total: int) -> None:
        bar.total = max(total, 1)
        bar.advance(done - bar.done)

    path = _state_dir(args)
    notice = ""
    try:
        if args.mode == "what-if":
            rng = args.service_cluster_ip_range or _recorded_range(args)
            if rng is None and _has_state(path):
                from servicecidr.journal.state import read_meta

                rng = ",".join(read_meta(path).get("service_cluster_ip_range") or ()) or None
            report = import_what_if(
                args.format,
                args.files,
                service_cluster_ip_range=rng or DEFAULT_RANGE,
                seed=args.seed or 0,
                add_service_cidrs=adds,
                remove_service_cidrs=args.remove_servicecidr,
                from_dump=args.from_dump,
                strict=args.strict,
                until=until,
                progress=progress,
            )
        else:
            if adds or args.remove_servicecidr:
                io.err.write("error: --add-servicecidr/--remove-servicecidr need --mode what-if\n")
                return 1
            cluster, notice = _open(path, args)
            try:
                report = import_observed(
                    cluster,
                    args.format,
                    args.files,
                    from_dump=args.from_dump,
                    strict=args.strict,
                    until=until,
                    ipaddresses=args.ipaddresses,
                    progress=progress,
                )
            finally:
                cluster.close()
    except ImportAborted as e:
        bar.finish()
        io.err.write(f"error: {e.message}\n")
        return 1
    except (ServiceCIDRError, OSError) as e:
        bar.finish()
        io.err.write(f"error: {e}\n")
        return 1
    bar.finish()
    if args.output == "json":
        io.out.write(report.to_json() + "\n")
    else:
        io.out.write(report.to_text())
        if notice:
            io.out.write(notice + "\n")
    return 0


def _open(path: Path, args: argparse.Namespace) -> tuple[Any, str]:
    """The Cluster to import into, and a line telling where the history went."""
    from servicecidr.cluster import Cluster

    rng = args.service_cluster_ip_range
    if args.in_memory:
        rng = rng or _recorded_range(args)
        if rng is None and _has_state(path):
            from servicecidr.journal.state import read_meta

            rng = ",".join(read_meta(path).get("service_cluster_ip_range") or ()) or None
        c = Cluster(rng or DEFAULT_RANGE, seed=args.seed, clock=SimulatedClock(SIMULATION_EPOCH))
        return c, "(in memory: the state directory was not changed)"
    if _has_state(path):
        c = Cluster.open(path, durability="group")
        if rng is not None and ",".join(c.service_cluster_ip_range) != rng:
            return c, (
                f"(imported into {path}; its range {','.join(c.service_cluster_ip_range)} was "
                f"kept, --service-cluster-ip-range applies to new states)"
            )
        return c, f"(imported into {path}: `servicecidr log show` lists the events)"
    how = "--service-cluster-ip-range"
    recorded, first = _prescan(args)
    if rng is None:
        rng = recorded
        how = "the recorded default ServiceCIDR" if rng else "the default"
    rng = rng or DEFAULT_RANGE
    c = Cluster.open(
        path,
        service_cluster_ip_range=rng,
        seed=args.seed,
        clock=SimulatedClock(first if first is not None else SIMULATION_EPOCH),
        durability="group",
    )
    return c, f"(new state {path} with range {rng} from {how}, simulated clock)"


def _recorded_range(args: argparse.Namespace) -> str | None:
    """The CIDRs of the default ServiceCIDR near the start of the input, if any."""
    return _prescan(args)[0]


def _prescan(args: argparse.Namespace, limit: int = 10000) -> tuple[str | None, float | None]:
    """(the CIDRs of the default ServiceCIDR ``kubernetes`` near the start of the input, the
    time of the first record): a history recorded from the cluster's birth creates the
    default ServiceCIDR first; a new state takes its range, and its clock starts where the
    history does (so the event log's time never runs backwards)."""
    from servicecidr.importers import ImportAborted, read_records

    files = [*args.from_dump, *args.files]
    if "-" in files:
        return None, None
    fmt_of = {f: "dump" for f in args.from_dump}
    first: float | None = None
    try:
        for f in files:
            records = read_records(fmt_of.get(f, args.format), [f], on_skip=lambda s: None)
            for n, rec in enumerate(records):
                if first is None and rec.ts is not None:
                    first = rec.ts
                if n >= limit:
                    break
                if rec.kind != "ServiceCIDR" or rec.name != "kubernetes" or rec.verb == "delete":
                    continue
                for body in (rec.response, rec.request):
                    spec = body.get("spec") if isinstance(body, dict) else None
                    cidrs = spec.get("cidrs") if isinstance(spec, dict) else None
                    if isinstance(cidrs, list) and cidrs and all(isinstance(x, str) for x in cidrs):
                        return ",".join(cidrs), first
    except (ImportAborted, OSError, ValueError):
        return None, first
    return None, first
