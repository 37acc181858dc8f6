"""Shared fixtures: where ../shared is, and small builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SERVICECIDR_SHARED", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance"


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared folder not found at {SHARED}")
    return SHARED
