"""``servicecidr check``: prints the consistency report of a state
(:mod:`servicecidr.consistency`), which finds:

* ``missing-ipaddress``: a Service ClusterIP with no IPAddress object;
* ``wrong-parent``: the IPAddress of a ClusterIP names another parent;
* ``duplicate-clusterip``: two Services hold the same address;
* ``orphan-ipaddress``: an IPAddress managed by the allocator whose parent Service is gone
  or no longer holds the address (the repair loop releases these after its grace);
* ``outside-servicecidrs``: an address in no ServiceCIDR at all;
* ``allocator-mismatch``: an allocator marks an address no IPAddress holds, or misses one
  an IPAddress holds.

Exit status 0 when consistent, 1 otherwise; ``-o json`` for machines.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from servicecidr.cli.common import IO, opt
from servicecidr.cli.errors import CliError
from servicecidr.cli.printers import render_table
from servicecidr.cli.progress import Progress
from servicecidr.cli.state import add_state_flag, open_state, resolve_state_dir

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register ``check``."""
    p = sub.add_parser(
        "check",
        help="report inconsistencies of a state (exit 1 when any)",
        description="Check a state: every ClusterIP has its IPAddress, every allocator-managed "
        "IPAddress has its Service, every address lies in some ServiceCIDR, and the "
        "allocators agree with the IPAddress objects. Reads only; exit status 1 when "
        "inconsistent.",
        epilog="examples:\n  servicecidr check\n  servicecidr --state ./lab check -o json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_state_flag(p)
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="report format")


def run(args: argparse.Namespace, io: IO) -> int:
    """``servicecidr check``."""
    try:
        state = open_state(resolve_state_dir(opt(args, "state")), create=False, read_only=True)
    except CliError as e:
        io.err.write(e.message + "\n")
        return e.code
    try:
        problems, counts = state.cluster.check(Progress(io.err))
    finally:
        state.close()
    if args.output == "json":
        io.out.write(
            json.dumps(
                {
                    "consistent": not problems,
                    "counts": counts,
                    "problems": [asdict(p) for p in problems],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        io.out.write(
            f"{counts['serviceCIDRs']} ServiceCIDRs, {counts['services']} Services, "
            f"{counts['ipAddresses']} IPAddresses, {counts['allocators']} allocators\n"
        )
        if problems:
            rows = [["PROBLEM", "OBJECT", "IP", "MESSAGE"]]
            rows += [[p.type, p.object, p.ip, p.message] for p in problems]
            io.out.write(render_table(rows))
        io.out.write(
            "consistent\n" if not problems else f"inconsistent: {len(problems)} problems\n"
        )
    return 1 if problems else 0
