"""The state directory behind the command line.

Where: ``--state DIR``, else ``$SERVICECIDR_STATE``, else ``./.servicecidr``. A command
on a missing (or empty) directory creates a state with kubeadm's default range
``10.96.0.0/12`` on the wall clock; ``servicecidr init`` chooses the range, the clock and
the seed. The directory is the engine's (:meth:`Cluster.open`: ``meta``, ``log/``,
``snapshots/``); the command line adds nothing to it. A non-empty directory without a
``meta`` file is refused rather than turned into a state — unless all it holds is what an
``init`` interrupted by a crash or a full disk leaves, which is created afresh.

Time, per command (see :meth:`State.catch_up`):

* wall clock: the controllers catch up to the present (a ServiceCIDR deleted more than
  10 s ago without orphaned addresses is gone);
* simulated clock: one second passes (so AGE moves), then time runs until no controller
  work is pending (the 10 s ServiceCIDR grace, the repair loop's grace) — nothing is ever
  left half-done between two commands.

Each command opens the state with ``durability="group"`` and closes it before it exits;
closing syncs the log, so a command that returned is on disk.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from servicecidr.cli.errors import CliError
from servicecidr.clock import SIMULATION_EPOCH, Clock, SimulatedClock
from servicecidr.cluster import Cluster
from servicecidr.errors import ServiceCIDRError, StateError
from servicecidr.journal.state import dir_status

__all__ = [
    "DEFAULT_RANGE",
    "ENV_VAR",
    "State",
    "add_state_flag",
    "init_state",
    "open_state",
    "resolve_state_dir",
]

DEFAULT_RANGE = "10.96.0.0/12"
ENV_VAR = "SERVICECIDR_STATE"
DEFAULT_DIR = ".servicecidr"
META_FILE = "meta"


def add_state_flag(p: argparse.ArgumentParser) -> None:
    """``--state DIR`` on a subcommand too (kubectl accepts flags after the verb)."""
    p.add_argument(
        "--state",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="state directory (default: $SERVICECIDR_STATE, else ./.servicecidr)",
    )


def resolve_state_dir(arg: str | None) -> Path:
    """``--state``, then ``$SERVICECIDR_STATE``, then ``./.servicecidr``."""
    if arg:
        return Path(arg)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(DEFAULT_DIR)


def _dir_status(path: Path) -> str:
    """``missing`` (create it: nothing there, an empty folder, or what an interrupted
    ``init`` left) or ``state`` (open it); anything else is refused."""
    try:
        status = dir_status(path)
    except StateError as e:
        if path.exists() and not path.is_dir():
            raise CliError(
                f"error: {path} is not a servicecidr state directory (it is a file)"
            ) from e
        raise CliError(f"error: {e}") from e
    if status in ("missing", "unfinished"):
        return "missing"
    if status == "state":
        return "state"
    raise CliError(
        f"error: {path} is not a servicecidr state directory (no {META_FILE} file); "
        "use --state with a new or empty directory to create one"
    )


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """What the state directory warns about (a damaged snapshot skipped, a meta file a
    full disk kept from being written) as ``warning: ...`` lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, RuntimeWarning):
                    sys.stderr.write(f"warning: {w.message}\n")
                else:  # not ours: as Python would show it
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


class State:
    """An open state: the cluster and how to close it."""

    def __init__(self, path: Path, cluster: Cluster) -> None:
        self.path = path
        self.cluster = cluster

    def catch_up(self) -> None:
        """Let the controllers catch up to the clock before a command (see module doc)."""
        clock = self.cluster.clock
        if clock.simulated:
            clock.advance(1.0)
        self.cluster.reconcile()

    def close(self) -> None:
        """Sync the log, record the clock and release the directory."""
        try:
            with _warnings_as_lines():
                self.cluster.close()
        except ServiceCIDRError as e:
            raise CliError(f"error: {e}") from e

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(
    path: Path,
    *,
    service_cluster_ip_range: str | None = None,
    seed: int | None = None,
    clock: Clock | None = None,
    read_only: bool = False,
    audit_log: str | None = None,
) -> State:
    try:
        with _warnings_as_lines():
            c = Cluster.open(
                path,
                service_cluster_ip_range=service_cluster_ip_range,
                seed=seed,
                clock=clock,
                durability="group",
                read_only=read_only,
                audit_log=audit_log,
            )
    except ServiceCIDRError as e:
        raise CliError(f"error: {e}") from e
    return State(path, c)


def init_state(
    path: Path,
    service_cluster_ip_range: str = DEFAULT_RANGE,
    clock: str = "wall",
    seed: int | None = None,
    audit_log: str | None = None,
) -> State:
    """Create a new state (the directory must be missing or empty)."""
    if _dir_status(path) != "missing":
        raise CliError(f"error: a servicecidr state already exists in {path}")
    try:
        Cluster(service_cluster_ip_range or None, seed)  # check the flags before writing
    except ServiceCIDRError as e:
        raise CliError(f"error: {e}") from e
    return _open(
        path,
        service_cluster_ip_range=service_cluster_ip_range,
        seed=seed,
        clock=SimulatedClock(SIMULATION_EPOCH) if clock == "simulated" else None,
        audit_log=audit_log,
    )


def open_state(
    path: Path, *, create: bool = True, read_only: bool = False, audit_log: str | None = None
) -> State:
    """Open the state in ``path``; a missing one is created with the defaults.

    ``audit_log``: append every write of this command to that file as audit.k8s.io/v1
    Events (``--audit-log``), as a kube-apiserver with ``--audit-log-path`` would.
    """
    if _dir_status(path) == "missing":
        if not create or read_only:
            raise CliError(f"error: no servicecidr state in {path}")
        return init_state(path, audit_log=audit_log)
    return _open(path, read_only=read_only, audit_log=audit_log)
