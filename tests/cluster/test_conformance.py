"""Every scenario of ../shared/conformance, once as written and once with a restart
(rebuild from the event log) after every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import CONFORMANCE
from servicecidr.apiserver import Engine
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


@pytest.mark.parametrize("fast", [True, False], ids=["fast-creates", "full-path"])
def test_scenarios_pass_through_either_service_create_path(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every engine the runner makes (restarts included) is set to one create path; the
    # fast path must then have taken part (the scenarios above run with it on, the
    # default, so this also shows they exercise it).
    engines: list[Engine] = []
    init = Engine.__init__

    def make(self: Engine, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.fast_creates = fast
        engines.append(self)

    monkeypatch.setattr(Engine, "__init__", make)
    failed = [r.line() for _, _, doc in CASES if not (r := run_scenario(doc)).passed]
    assert failed == []
    created = sum(e.fast_created for e in engines)
    assert (created > 0) if fast else (created == 0)
