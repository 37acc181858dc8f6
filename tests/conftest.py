"""Shared fixtures: where ../shared is, small builders, and the property-test profiles.

Property tests run with fixed seeds in the test command (profile ``ci``: derandomized,
so a run on any machine tries the same inputs). ``./dev fuzz`` loads ``explore``: fresh
random inputs and ``SERVICECIDR_FUZZ_SCALE`` times as many examples, for a person to run
for as long as they like. Fuzz tests scale their budgets with :func:`fuzz_examples`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SERVICECIDR_SHARED", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance"

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SERVICECIDR_HYPOTHESIS_PROFILE", "ci"))


def fuzz_examples(n: int) -> int:
    """An example budget for a fuzz test: ``n`` in the test command, scaled by
    ``SERVICECIDR_FUZZ_SCALE`` (``./dev fuzz`` raises it)."""
    return max(1, int(n * float(os.environ.get("SERVICECIDR_FUZZ_SCALE", "1"))))


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared folder not found at {SHARED}")
    return SHARED
