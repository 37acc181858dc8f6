"""The simulation engine: the seed's story at scale, determinism, independence, outputs."""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import json
import sys
from pathlib import Path

import pytest

from servicecidr.sim import (
    DETERMINISTIC_FILES,
    Burst,
    Lifetime,
    Model,
    Operator,
    SimResult,
    Simulation,
    Stream,
    format_summary,
    percentile,
    preset,
    run,
    timeseries_csv,
    write_outputs,
)

SHORT = 20 * 60.0  # 20 simulated minutes: the first /24 fills after about 8


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def seed_at_scale() -> SimResult:
    return run(preset("seed-at-scale").with_changes(duration=SHORT), seed=1)


@pytest.fixture(scope="module")
def seed_at_scale_no_operator() -> SimResult:
    return run(preset("seed-at-scale").with_changes(duration=SHORT, operator=False), seed=1)


def test_seed_at_scale_grows_past_the_first_24(seed_at_scale: SimResult) -> None:
    r = seed_at_scale
    totals = r.totals
    assert totals["failures"] == 0
    assert totals["first_range_full_s"] is None
    assert totals["services_final"] > 254
    actions = r.operator_actions
    assert [a.cidr for a in actions[:2]] == ["10.96.1.0/24", "10.96.2.0/24"]
    assert [a.name for a in actions[:2]] == ["newcidr1", "newcidr2"]
    assert all(a.utilization >= 0.9 and a.error is None for a in actions)
    rows = {sc["name"]: sc for sc in r.service_cidrs}
    assert rows["kubernetes"]["cidr"] == "10.96.0.0/24"
    assert rows["kubernetes"]["peak_utilization"] >= 0.9
    assert all(sc["ready"] == "True" for sc in rows.values())
    assert rows["newcidr1"]["added_s"] == actions[0].time


def test_without_the_operator_the_range_fills(seed_at_scale_no_operator: SimResult) -> None:
    r = seed_at_scale_no_operator
    totals = r.totals
    assert r.operator_actions == []
    assert totals["range_full"] > 0
    assert totals["failures_by_reason"] == {"RangeFull": totals["failures"]}
    assert 0 < totals["first_range_full_s"] < SHORT
    assert totals["first_range_full"].startswith("2025-01-01T00:")
    first = r.failures[0]
    assert first.time == totals["first_range_full_s"]
    assert first.message == (
        "Internal error occurred: failed to allocate a serviceIP: range is full"
    )
    text = format_summary(r)
    assert 'first "range is full": after' in text


def test_same_seed_same_files_byte_for_byte(tmp_path: Path) -> None:
    model = preset("seed-at-scale").with_changes(duration=15 * 60)
    hashes = []
    for i in range(2):
        files, note = write_outputs(run(model, seed=1), tmp_path / str(i))
        assert note is None, note
        names = {p.name for p in files}
        assert set(DETERMINISTIC_FILES) <= names
        hashes.append({n: _sha(tmp_path / str(i) / n) for n in DETERMINISTIC_FILES})
    assert hashes[0] == hashes[1]
    other = run(model, seed=2)
    assert timeseries_csv(other) != (tmp_path / "0" / "timeseries.csv").read_text()


def test_simulations_share_nothing() -> None:
    """Two runs stepped in turns in one process equal the same runs done alone."""
    a_model = preset("steady-churn").with_changes(duration=600)
    b_model = preset("dual-stack").with_changes(duration=600)
    alone = [timeseries_csv(run(a_model, seed=4)), timeseries_csv(run(b_model, seed=5))]
    a, b = Simulation(a_model, 4), Simulation(b_model, 5)
    busy = True
    while busy:
        busy = a.step() | b.step()
    assert a.cluster is not b.cluster and a.clock is not b.clock
    assert [timeseries_csv(a.result()), timeseries_csv(b.result())] == alone


def test_dual_stack_mix_grows_both_families() -> None:
    sim = Simulation(preset("dual-stack").with_changes(duration=30 * 60), seed=1)
    r = sim.run()
    fams = {a.family for a in r.operator_actions}
    assert fams == {"IPv4", "IPv6"}
    assert r.totals["failures"] == 0
    v6 = [a.cidr for a in r.operator_actions if a.family == "IPv6"]
    assert v6[0] == "fd00:10:96::100/120"
    policies = {}
    for svc in sim.cluster.list("Service"):
        spec = svc["spec"]
        policies.setdefault(spec["ipFamilyPolicy"], set()).add(tuple(spec["ipFamilies"]))
    assert ("IPv6", "IPv4") in policies["RequireDualStack"]
    assert ("IPv4", "IPv6") in policies["PreferDualStack"]
    assert {("IPv4",), ("IPv6",)} <= policies["SingleStack"]
    namespaces = {svc["metadata"]["namespace"] for svc in sim.cluster.list("Service")}
    assert len(namespaces) > 10


def test_burst_against_a_slow_operator() -> None:
    r = run(preset("burst").with_changes(duration=40 * 60), seed=1)
    # The first rollout (30 min) overruns the /23 before the operator (looks every
    # minute, acts 2 minutes later) adds a /24.
    assert r.totals["range_full"] > 0
    assert 30 * 60 <= r.totals["first_range_full_s"] < 31 * 60
    (action,) = r.operator_actions
    assert action.cidr == "10.96.2.0/24"
    assert 32 * 60 <= action.time <= 34 * 60
    last = r.samples[-1]
    assert last["ipv4_size"] == 510 + 254


def test_seed_preset_overlapping_24() -> None:
    """The document's story: a /28 fills, newcidr1 10.96.0.0/24 is added over it."""
    r = run(preset("seed"), seed=1)
    (action,) = r.operator_actions
    assert (action.name, action.cidr) == ("newcidr1", "10.96.0.0/24")
    assert r.totals["failures"] == 0
    # The /28 lies inside the /24: the family total counts its addresses once.
    last = r.samples[-1]
    assert last["ipv4_size"] == 254
    assert last["ipv4_used"] == r.totals["services_final"]


def test_streams_bursts_reconcile_and_namespaces() -> None:
    model = Model(
        name="mixed",
        service_cluster_ip_range="10.0.0.0/22",
        duration=1800,
        sample_every=60,
        namespaces=5,
        namespace_skew=2.0,
        reconcile_every=300,
        streams=(
            Stream("const", rate=0.1, arrival="constant", lifetime=Lifetime("fixed", 60)),
            Stream("late", rate=1.0, start=600, end=900, lifetime=Lifetime("forever", 0)),
        ),
        bursts=(Burst("b", at=120, count=10, over=9, every=600),),
        operator=Operator(enabled=False),
    )
    sim = Simulation(model, seed=3, record_latency=False)
    r = sim.run()
    assert r.latency is None
    # constant: one every 10 s from 10 s to 1800 s; bursts at 120, 720, 1320 s
    services = sim.cluster.list("Service")
    const = [s for s in services if s["metadata"]["name"].startswith("const-")]
    assert len(const) == 6  # alive for 60 s, one every 10 s
    bursts = [s for s in services if s["metadata"]["name"].startswith("b-")]
    assert len(bursts) == 10  # each lives 10 minutes: only the last burst's (1320 s) remain
    assert r.totals["creates"] == 180 + 30 + sum(
        1 for s in services if s["metadata"]["name"].startswith("late-")
    )
    counts: dict[str, int] = {}
    for s in services:
        counts[s["metadata"]["namespace"]] = counts.get(s["metadata"]["namespace"], 0) + 1
    assert counts.get("ns-0000", 0) >= max(v for k, v in counts.items() if k != "ns-0000")
    assert [s["time_s"] for s in r.samples] == [60.0 * k for k in range(31)]


def test_operator_delay_max_and_explicit_cidrs() -> None:
    model = Model(
        name="op",
        service_cluster_ip_range="10.0.0.0/28",
        duration=600,
        streams=(Stream("s", rate=1.0, arrival="constant", lifetime=Lifetime("forever", 0)),),
        operator=Operator(
            threshold=0.5,
            cidrs=("192.168.0.0/28",),
            prefix_length=28,
            max_service_cidrs=3,
            check_every=5,
            delay=5,
        ),
    )
    r = run(model, seed=1)
    assert [a.cidr for a in r.operator_actions] == [
        "192.168.0.0/28",
        "192.168.0.16/28",
        "192.168.0.32/28",
    ]
    assert r.totals["range_full"] > 0  # three /28s are not enough for 600 Services
    assert all(a.time % 5 == 0 for a in r.operator_actions)


def test_outputs(tmp_path: Path) -> None:
    r = run(preset("dual-stack").with_changes(duration=600), seed=2)
    files, note = write_outputs(r, tmp_path)
    assert note is None
    with (tmp_path / "timeseries.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["time"] == "2025-01-01T00:00:00Z"
    assert float(rows[-1]["time_s"]) == 600
    assert "utilization 10.96.0.0/24" in rows[0] and "ipv6_utilization" in rows[0]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == json.loads(json.dumps(r.summary()))
    assert summary["digest"] == r.digest
    lat = json.loads((tmp_path / "latency.json").read_text())
    assert lat["create"]["count"] == r.totals["creates"]
    assert (tmp_path / "timeseries.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "latency.png").exists()
    text = format_summary(r, files)
    assert "SERVICECIDR" in text and "PEAK UTIL" in text and "timeseries.png" in text


def test_png_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = run(preset("seed").with_changes(duration=120), seed=1, record_latency=False)
    files, note = write_outputs(r, tmp_path)
    assert note is not None and "pip install" in note and "matplotlib" in note
    assert {p.name for p in files} == {"timeseries.csv", "summary.json", "model.yaml"}


def test_percentile() -> None:
    assert percentile([], 50) == 0.0
    vals = list(range(1, 101))
    assert percentile(vals, 50) == 50 and percentile(vals, 99) == 99
    assert percentile(vals, 100) == 100 and percentile(vals, 0) == 1
    assert percentile([7], 99.9) == 7


def test_next_blocks_are_aligned_and_free() -> None:
    model = Model(
        name="align",
        service_cluster_ip_range="10.0.0.0/26",
        duration=300,
        streams=(Stream("s", rate=1.0, arrival="constant", lifetime=Lifetime("forever", 0)),),
        operator=Operator(threshold=0.9, prefix_length=24),
    )
    r = run(model, seed=1, record_latency=False)
    nets = [ipaddress.ip_network(a.cidr) for a in r.operator_actions]
    assert str(nets[0]) == "10.0.1.0/24"
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    buf = io.StringIO(timeseries_csv(r))
    assert buf.readline().startswith("time,time_s,services")


@pytest.mark.parametrize("name", ["dual-stack", "seed"])
def test_the_allocator_view_follows_the_cluster(name: str) -> None:
    # The run reads the allocators once per MetaAllocator generation, not after every
    # create: at every step (operator adds, ranges becoming ready, overlapping ranges)
    # what it reads must be what the Cluster reports now.
    sim = Simulation(preset(name).with_changes(duration=30 * 60), seed=1)
    steps = 0
    while sim.step():
        steps += 1
        assert sim._snapshot() == list(sim.cluster.allocators())
        usage = sim.family_usage(list(sim.cluster.allocators()))
        assert sim._usage_now() == [(f, *usage[f]) for f in sim.cluster.families]
    assert steps > 50 and len(sim.cluster.list("ServiceCIDR")) > 1
