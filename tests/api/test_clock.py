"""servicecidr.clock: the timestamp texts every object carries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from servicecidr.clock import format_time

EARLIEST, LATEST = -62135596800, 253402300799  # 0001-01-01T00:00:00Z, 9999-12-31T23:59:59Z


def _whole(t: float) -> str:
    """The text as datetime formats the whole instant."""
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_format_time_is_the_whole_instant_formatted() -> None:
    # the date comes from a per-day cache and the time of day from arithmetic: the text
    # is the one datetime makes, on day boundaries, before 1970 and in any year
    rng = random.Random(5)
    values: list[float] = [0, -1, -0.5, 0.5, 59.9, 86399.9, 86400, -86400, -86401]
    values += [1735689600, EARLIEST, LATEST, 1e9 + 0.999]
    values += [rng.uniform(EARLIEST, LATEST) for _ in range(2000)]
    values += [rng.randrange(EARLIEST, LATEST + 1) for _ in range(2000)]
    for t in values:
        assert format_time(t) == _whole(t), t
    assert format_time(1735689600) == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize("t", [float("nan"), float("inf"), LATEST + 1, EARLIEST - 1])
def test_format_time_refuses_what_datetime_refuses(t: float) -> None:
    with pytest.raises((ValueError, OverflowError)) as got:
        format_time(t)
    with pytest.raises(got.type):
        _whole(t)
