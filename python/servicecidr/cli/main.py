"""Entry point: ``servicecidr <command> ...``.

The kubectl verbs (``get``, ``describe``, ``create``, ``apply``, ``delete``, ...) live in
:mod:`servicecidr.cli.kubectl`; ``check``, ``demo`` and ``completion`` in their own
modules; ``conformance`` here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from servicecidr.cli import kubectl, parsers
from servicecidr.cli.common import IO, CliParser, UsageError

__all__ = ["build_parser", "main", "run"]

EPILOG = """examples:
  servicecidr demo                          # the "Extend Service IP Ranges" walkthrough
  servicecidr get servicecidr
  servicecidr create service clusterip test-1 --tcp 80
  servicecidr get ipaddress
  servicecidr --state ./lab init --service-cluster-ip-range 10.96.0.0/28 --clock simulated
  servicecidr check -o json
  servicecidr conformance ../shared/conformance
  servicecidr serve                         # the Kubernetes API, for kubectl

The state lives in --state DIR, else $SERVICECIDR_STATE, else ./.servicecidr; a command on
a missing state creates one with --service-cluster-ip-range 10.96.0.0/12 (kubeadm's).
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and shell completion)."""
    from servicecidr.cli import (
        check,
        completion,
        demo,
        import_cmd,
        log_cmd,
        serve_cmd,
        simulate,
        sweep_cmd,
    )
    from servicecidr.version import __version__

    p = CliParser(
        prog="servicecidr",
        description="Kubernetes Service ClusterIP allocation across ServiceCIDRs, "
        "as an event-sourced engine, with a kubectl-style command line over a local state.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--state",
        metavar="DIR",
        default=None,
        help="state directory (default: $SERVICECIDR_STATE, else ./.servicecidr)",
    )
    p.add_argument(
        "--audit-log",
        metavar="PATH",
        default=None,
        help="append every write to PATH as audit.k8s.io/v1 Events, as kube-apiserver's "
        "--audit-log-path does (default: $SERVICECIDR_AUDIT_LOG)",
    )
    p.add_argument("--version", action="version", version=f"servicecidr {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    parsers.add_parsers(sub)
    check.add_parser(sub)
    demo.add_parser(sub)
    completion.add_parser(sub)
    log_cmd.add_parser(sub)
    import_cmd.add_parser(sub)
    simulate.add_parser(sub)
    simulate.add_bench_parser(sub)
    serve_cmd.add_parser(sub)
    sweep_cmd.add_parser(sub)
    conf = sub.add_parser(
        "conformance",
        help="run conformance scenarios (files or folders)",
        description="Run conformance scenarios and print one line per scenario, then "
        "'N passed, N failed'. Exit status 1 when any failed.",
        epilog="examples:\n  servicecidr conformance ../shared/conformance\n"
        "  servicecidr conformance a.yaml b.yaml --restart-each-step\n"
        "  servicecidr conformance ../shared/conformance -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conf.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    conf.add_argument(
        "--restart-each-step",
        action="store_true",
        help="rebuild the cluster from its events after every step",
    )
    conf.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="output format (default text)",
    )
    return p


def _conformance(args: argparse.Namespace, io: IO) -> int:
    from servicecidr.conformance import run_paths

    results = run_paths(args.paths, restart_each_step=args.restart_each_step)
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    if args.output == "json":
        io.out.write(
            json.dumps(
                {
                    "passed": passed,
                    "failed": failed,
                    "scenarios": [
                        {
                            "name": r.name,
                            "path": r.path,
                            "passed": r.passed,
                            "step": r.step,
                            "message": r.message,
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        for r in results:
            io.out.write(r.line() + "\n")
        io.out.write(f"{passed} passed, {failed} failed\n")
    return 1 if failed else 0


def run(argv: Sequence[str] | None, io: IO) -> int:
    """Run the command line on the given streams; returns the exit status."""
    from servicecidr.cli import check, completion, demo

    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            # argparse stops filling a positional list at the first option; kubectl takes
            # `get svc -n kube-system kube-dns`, so words after options join the list.
            prog = f"{parser.prog} {args.command}" if args.command else parser.prog
            flags = [x for x in extras if x.startswith("-") and x != "-"]
            if flags:
                raise UsageError(f"unknown flag: {flags[0]}", prog)
            if not isinstance(getattr(args, "resources", None), list):
                raise UsageError(f"unexpected argument: {extras[0]}", prog)
            args.resources = [*args.resources, *extras]
    except UsageError as e:
        io.err.write(f"error: {e.message}\nSee '{e.prog} --help' for usage.\n")
        return 1
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    if args.command is None:
        parser.print_help(io.err)
        return 1
    if args.command in kubectl.COMMANDS:
        return kubectl.run_command(args.command, args, io)
    if args.command == "check":
        return check.run(args, io)
    if args.command == "demo":
        return demo.run(args, io, run)
    if args.command == "completion":
        return completion.run(args, io, parser)
    if args.command == "conformance":
        return _conformance(args, io)
    if args.command == "log":
        from servicecidr.cli import log_cmd

        return log_cmd.run(args, io)
    if args.command == "import":
        from servicecidr.cli import import_cmd

        return import_cmd.run(args, io)
    if args.command in ("serve", "advance"):
        from servicecidr.cli import serve_cmd

        return serve_cmd.run(args, io)
    if args.command in ("simulate", "bench"):
        from servicecidr.cli import simulate

        if args.command == "bench":
            return simulate.run_bench(args, io)
        return simulate.run(args, io)
    if args.command == "sweep":
        from servicecidr.cli import sweep_cmd

        return sweep_cmd.run(args, io)
    io.err.write(f"error: unknown command {args.command!r}\n")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        return run(argv, IO.std())
    except BrokenPipeError:
        # `servicecidr get ... | head`: the reader went away; that is not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
