"""Entry point: ``servicecidr <command> ...``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

EPILOG = """examples:
  servicecidr conformance ../shared/conformance
  servicecidr conformance scenario.yaml --restart-each-step
  servicecidr conformance ../shared/conformance -o json
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and shell completion)."""
    p = argparse.ArgumentParser(
        prog="servicecidr",
        description="Kubernetes Service ClusterIP allocation across ServiceCIDRs, "
        "as an event-sourced engine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    conf = sub.add_parser(
        "conformance",
        help="run conformance scenarios (files or folders)",
        description="Run conformance scenarios and print one line per scenario, then "
        "'N passed, N failed'. Exit status 1 when any failed.",
        epilog="examples:\n  servicecidr conformance ../shared/conformance\n"
        "  servicecidr conformance a.yaml b.yaml --restart-each-step",
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


def _conformance(args: argparse.Namespace) -> int:
    from servicecidr.conformance import run_paths

    results = run_paths(args.paths, restart_each_step=args.restart_each_step)
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    if args.output == "json":
        print(
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
        )
    else:
        for r in results:
            print(r.line())
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "conformance":
        return _conformance(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
