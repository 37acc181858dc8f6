"""Round trip: every conformance scenario, run with an audit log, imported in observed mode
into a fresh state created with the same flags, reaches the same digest() as the run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import servicecidr.conformance as conformance
from conftest import CONFORMANCE
from servicecidr import Cluster, SimulatedClock
from servicecidr.auditwriter import AuditWriter
from servicecidr.clock import SIMULATION_EPOCH, Clock
from servicecidr.importers import import_observed
from servicecidr.journal.records import Entry


class _Audited(Cluster):
    """The runner's Cluster with an audit log (a restart keeps writing to the same file)."""

    log: Path | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("_start", True):
            kwargs["audit_log"] = _Audited.log
        super().__init__(*args, **kwargs)

    @classmethod
    def replay(
        cls,
        events: Iterable[Entry],
        service_cluster_ip_range: str | Iterable[str] | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        *,
        start: bool = False,
    ) -> Cluster:
        c = Cluster.replay(events, service_cluster_ip_range, seed, clock, start=False)
        assert _Audited.log is not None
        AuditWriter(c, _Audited.log)  # attached after the replay, before the start logic
        if start:
            c.start()
        return c


def _cases() -> list[tuple[str, str, Any]]:
    out = []
    for path in sorted(CONFORMANCE.glob("*.yaml")):
        for _source, doc in conformance.load_scenarios(path):
            name = doc.get("scenario", "?") if isinstance(doc, dict) else "?"
            out.append((path.name, str(name), doc))
    return out


CASES = _cases()


@pytest.mark.parametrize(("file", "name", "doc"), CASES, ids=[f"{c[0]}::{c[1]}" for c in CASES])
def test_round_trip(
    file: str, name: str, doc: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Audited.log = tmp_path / "audit.log"
    monkeypatch.setattr(conformance, "Cluster", _Audited)
    states: list[Any] = []
    real_step = conformance._run_step

    def step(st: Any, s: Any) -> None:
        if not states:
            states.append(st)
        real_step(st, s)

    monkeypatch.setattr(conformance, "_run_step", step)
    result = conformance.run_scenario(doc, file)
    if not result.passed and not file.startswith("admission-"):
        pytest.fail(f"the scenario itself fails: {result.line()}")
    # (admission-* scenarios may stop early until admission is built: the state they
    # reached still has to round-trip)
    if not states:
        pytest.skip("the scenario ran no step")
    st = states[0]
    want = st.cluster.digest()
    fresh = Cluster(st.range_, st.seed, SimulatedClock(SIMULATION_EPOCH), _start=False)
    report = import_observed(fresh, "audit", [_Audited.log])
    assert fresh.digest() == want
    assert dict(report.divergence_counts) == {}
    assert report.unusable == 0
    # what was skipped is what changed nothing: failed and dry-run calls
    assert set(report.skipped) <= {"failed", "dry-run"}
    for kind in ("Service", "ServiceCIDR", "IPAddress"):
        assert fresh.list(kind) == st.cluster.list(kind)
