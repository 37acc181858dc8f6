"""Every write, sync, truncate, rename and unlink the state directory makes, in one place.

The log, the snapshots, ``meta`` and repair reach the disk only through these functions,
so a test can make the disk fail (a full disk that takes a short write and then refuses
with ENOSPC, an fsync that reports EIO) at any step, without root or a special
filesystem: :func:`inject` installs a hook that sees each call first.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "FaultHook",
    "atomic_write",
    "fdatasync",
    "fsync",
    "fsync_dir",
    "ftruncate",
    "inject",
    "mkdir",
    "open_append",
    "replace",
    "unlink",
    "write_all",
]

#: ``hook(op, n)`` runs before each operation: ``op`` is ``write`` (``n``: the bytes
#: asked for), ``sync``, ``truncate``, ``create``, ``rename``, ``mkdir`` or ``unlink``
#: (``n`` = 0). It raises OSError to fail the call, or returns how many bytes a write
#: may take (fewer than ``n``: a short write, as a filing system that fills up does).
FaultHook = Callable[[str, int], int]

_hook: FaultHook | None = None


@contextlib.contextmanager
def inject(hook: FaultHook) -> Iterator[None]:
    """Run the block with ``hook`` seeing every file operation (tests only)."""
    global _hook
    prev, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = prev


def _check(op: str, n: int = 0) -> int:
    hook = _hook
    return n if hook is None else hook(op, n)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte (a short write continues where it stopped)."""
    view = memoryview(data)
    while view:
        allowed = _check("write", len(view))
        if allowed <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = os.write(fd, view[:allowed] if allowed < len(view) else view)
        view = view[n:]


def fdatasync(fd: int) -> None:
    """fdatasync(2)."""
    _check("sync")
    os.fdatasync(fd)


def fsync(fd: int) -> None:
    """fsync(2)."""
    _check("sync")
    os.fsync(fd)


def ftruncate(fd: int, size: int) -> None:
    """ftruncate(2)."""
    _check("truncate")
    os.ftruncate(fd, size)


def open_append(path: Path) -> int:
    """An fd appending to an existing file."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)


def _create(path: Path) -> int:
    _check("create")
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)


def replace(src: Path, dst: Path) -> None:
    """rename(2) over ``dst``."""
    _check("rename")
    os.replace(src, dst)


def unlink(path: Path) -> None:
    """unlink(2); a file already gone is fine."""
    _check("unlink")
    path.unlink(missing_ok=True)


def mkdir(path: Path) -> None:
    """mkdir(2), parents included; an existing directory is fine."""
    _check("mkdir")
    path.mkdir(parents=True, exist_ok=True)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, chunks: Iterator[bytes] | list[bytes]) -> int:
    """Write a file whole or not at all: temporary file, fsync, rename, fsync the
    directory. Returns the size written. On failure the temporary file is removed and
    ``path`` is as it was."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    size = 0
    try:
        fd = _create(tmp)
        try:
            for chunk in chunks:
                write_all(fd, chunk)
                size += len(chunk)
            fsync(fd)
        finally:
            os.close(fd)
        replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
    return size
