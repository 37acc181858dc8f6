"""Every scenario of ../shared/conformance, once as written and once with a restart
(rebuild from the event log) after every step."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CONFORMANCE
from servicecidr.conformance import load_scenarios, run_scenario


def _cases() -> list[tuple[str, str, object]]:
    cases = []
    for path in sorted(CONFORMANCE.glob("*.yaml")):
        for source, doc in load_scenarios(path):
            name = doc.get("scenario", "?") if isinstance(doc, dict) else "?"
            cases.append((Path(source).name, str(name), doc))
    return cases


CASES = _cases()


@pytest.mark.parametrize("restart", [False, True], ids=["as-written", "restart-each-step"])
@pytest.mark.parametrize(("file", "name", "doc"), CASES, ids=[f"{c[0]}::{c[1]}" for c in CASES])
def test_scenario(file: str, name: str, doc: object, restart: bool) -> None:
    result = run_scenario(doc, file, restart_each_step=restart)
    assert result.passed, result.line()


def test_scenarios_exist() -> None:
    assert CASES, f"no conformance scenarios found under {CONFORMANCE}"
