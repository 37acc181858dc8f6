"""Disk failures for the state-directory tests, through the fsio seam (no root needed)."""

from __future__ import annotations

import errno
import os


class DiskFull:
    """A disk with ``free`` bytes left: a write takes what still fits (a short write, as
    a filing system that fills up does), the next one fails with ENOSPC. ``ops`` other
    than writes always succeed (creating an empty file, renaming, syncing)."""

    def __init__(self, free: int = 0) -> None:
        self.free = free

    def __call__(self, op: str, n: int) -> int:
        if op != "write":
            return n
        if self.free <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        take = min(n, self.free)
        self.free -= take
        return take


class Fail:
    """``op`` (``write``, ``sync``, ``create``, ...) fails with ``err`` after the first
    ``after`` calls of it succeed, ``times`` times (None: for good)."""

    def __init__(
        self, op: str, err: int = errno.EIO, after: int = 0, times: int | None = None
    ) -> None:
        self.op, self.err, self.left, self.times = op, err, after, times

    def __call__(self, op: str, n: int) -> int:
        if op == self.op:
            if self.left > 0:
                self.left -= 1
            elif self.times is None or self.times > 0:
                if self.times is not None:
                    self.times -= 1
                raise OSError(self.err, os.strerror(self.err))
        return n


#: Python source that runs the command line with a hook installed: ``python -c
#: CLI_WITH_FAULT <hook expression> <argv...>`` (the hook from this module).
CLI_WITH_FAULT = """
import sys
sys.path.insert(0, {tests!r})
import journal_faults
from servicecidr.cli.main import main
from servicecidr.journal import fsio
hook = eval(sys.argv[1], vars(journal_faults))
with fsio.inject(hook):
    code = main(sys.argv[2:])
sys.exit(code)
"""
