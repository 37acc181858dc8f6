"""The kubectl verbs over a local state: the table of commands and how failures are printed.

Every verb reads and checks its input (arguments, ``-f`` files, kinds) before it opens
the state, so bad input leaves the state untouched. Then it opens the state, lets the
controllers catch up (:meth:`State.catch_up`), does its work, and saves.

Messages, streams and exit codes are kubectl's: results on stdout, errors and warnings
(``Warning: ...``) on stderr, exit status 1 when anything failed.

One module per verb: :mod:`.get`, :mod:`.describe_cmd`, :mod:`.create`, :mod:`.apply`,
:mod:`.delete`, :mod:`.admin`; :mod:`.parsers` holds their arguments and :mod:`.common`
what they share."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from servicecidr.cli.admin import run_api_resources, run_init, run_reconcile
from servicecidr.cli.apply import run_apply
from servicecidr.cli.common import IO
from servicecidr.cli.create import run_create
from servicecidr.cli.delete import run_delete
from servicecidr.cli.describe_cmd import run_describe
from servicecidr.cli.errors import CliError, format_errors
from servicecidr.cli.get import run_get
from servicecidr.errors import ApiError, ServiceCIDRError

__all__ = ["COMMANDS", "run_command"]

COMMANDS: dict[str, Callable[[argparse.Namespace, IO], int]] = {
    "init": run_init,
    "get": run_get,
    "describe": run_describe,
    "create": run_create,
    "apply": run_apply,
    "delete": run_delete,
    "api-resources": run_api_resources,
    "reconcile": run_reconcile,
}


def run_command(name: str, args: argparse.Namespace, io: IO) -> int:
    """Run one of :data:`COMMANDS`, turning failures into kubectl-style messages."""
    try:
        return COMMANDS[name](args, io)
    except CliError as e:
        io.err.write(e.message.rstrip("\n") + "\n")
        return e.code
    except ApiError as e:
        io.err.write(format_errors([e]) + "\n")
        return 1
    except ServiceCIDRError as e:
        io.err.write(f"error: {e}\n")
        return 1
