"""Injected clocks: every timestamp the engine writes comes from one of these.

The wall clock serves the command line; the simulated clock serves scenarios, replays and
simulations, where time moves only when the caller moves it, so runs repeat exactly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol, runtime_checkable

__all__ = [
    "SIMULATION_EPOCH",
    "Clock",
    "SimulatedClock",
    "WallClock",
    "format_time",
    "parse_duration",
    "parse_time",
]

#: 2025-01-01T00:00:00Z, where conformance scenarios and simulations start.
SIMULATION_EPOCH = 1735689600.0


@runtime_checkable
class Clock(Protocol):
    """What the engine asks of a clock."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    @property
    def simulated(self) -> bool:
        """True when time moves only through :meth:`advance`."""
        ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (a simulated clock moves; a wall clock cannot)."""
        ...


class WallClock:
    """The machine's real time."""

    simulated = False

    def now(self) -> float:
        """Seconds since the Unix epoch, from the system clock."""
        return time.time()

    def advance(self, seconds: float) -> None:
        """A wall clock cannot be moved; asking it to is a programming error."""
        if seconds:
            raise ValueError("a wall clock cannot be advanced; use SimulatedClock")


class SimulatedClock:
    """A clock that starts at ``start`` and moves only when told to."""

    simulated = True

    def __init__(self, start: float = SIMULATION_EPOCH) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The current simulated time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move forward; time never runs backwards."""
        if seconds < 0:
            raise ValueError(f"cannot advance a clock by a negative duration ({seconds}s)")
        self._now += seconds

    def set(self, t: float) -> None:
        """Jump to ``t`` (not earlier than now)."""
        if t < self._now:
            raise ValueError("a simulated clock never runs backwards")
        self._now = float(t)


def format_time(t: float) -> str:
    """RFC 3339 at second precision, as metav1.Time serialises (``2025-01-01T00:00:00Z``)."""
    day, second = divmod(int(t), 86400)
    # Every create stamps one of these: the date is made once a day (by strftime, as the
    # whole text was), the time of day by arithmetic (UTC days have 86400 seconds).
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{_date(day)}T{hour:02d}:{minute:02d}:{second:02d}Z"


@lru_cache(maxsize=64)
def _date(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")


def format_micro_time(t: float) -> str:
    """RFC 3339 with microseconds, as metav1.MicroTime serialises."""
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> float:
    """Parse an RFC 3339 timestamp into seconds since the epoch."""
    s = text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError as e:
        raise ValueError(f"invalid timestamp {text!r}: expected RFC 3339") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Parse ``5s``, ``2m``, ``1h30m``, ``250ms``, ``17d`` or a bare number of seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip()
    if not s:
        raise ValueError("empty duration")
    total = 0.0
    num = ""
    i = 0
    matched = False
    while i < len(s):
        c = s[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = "ms" if s.startswith("ms", i) else c
        if unit not in _UNITS or not num:
            raise ValueError(f"invalid duration {text!r}: use a number with ms, s, m, h or d")
        total += float(num) * _UNITS[unit]
        num = ""
        matched = True
        i += len(unit)
    if num:
        if matched:
            raise ValueError(f"invalid duration {text!r}: missing unit after {num}")
        total += float(num)
    return total
