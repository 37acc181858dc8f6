"""Workload models: presets, the YAML schema, its errors, and the distributions."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest

from servicecidr.errors import InvalidInputError
from servicecidr.sim import (
    PRESETS,
    Lifetime,
    Model,
    load_model,
    model_from_dict,
    model_to_dict,
    model_to_yaml,
    preset,
    preset_names,
)
from servicecidr.sim.workload import format_duration, parse_rate

REQUIRED_PRESETS = {"seed-at-scale", "steady-churn", "burst", "dual-stack"}


def test_required_presets_exist() -> None:
    assert set(preset_names()) >= REQUIRED_PRESETS
    for name in preset_names():
        m = preset(name)
        assert m.name == name
        assert m.description


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_yaml(name: str, tmp_path: Path) -> None:
    m = preset(name)
    assert model_from_dict(model_to_dict(m)) == m
    f = tmp_path / "m.yaml"
    f.write_text(model_to_yaml(m))
    assert load_model(f) == m


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="seed-at-scale"):
        preset("nope")


MINIMAL = {"name": "m", "service_cluster_ip_range": "10.0.0.0/24", "duration": "1h"}


def test_minimal_model_defaults() -> None:
    m = model_from_dict(MINIMAL)
    assert m.duration == 3600
    assert m.streams == () and m.bursts == ()
    assert m.operator.enabled and m.operator.threshold == 0.9
    assert m.namespaces == 1


def test_full_model_from_yaml(tmp_path: Path) -> None:
    f = tmp_path / "model.yaml"
    f.write_text(
        """
name: custom
service_cluster_ip_range: [10.0.0.0/24, "fd00::/120"]
duration: 1h30m
sample_every: 30s
namespaces: 10
namespace_skew: 1.2
reconcile_every: 5m
streams:
  - name: web
    rate: 30/m
    lifetime: {distribution: lognormal, mean: 10m, sigma: 0.5}
    policy_mix: {SingleStack: 3, "RequireDualStack:IPv6": 1}
  - name: batch
    rate: 0.1
    arrival: constant
    start: 10m
    end: 20m
    lifetime: forever
bursts:
  - {name: deploy, at: 15m, count: 50, over: 10s, every: 30m}
operator:
  threshold: 0.8
  prefix_length: 25
  ipv6_prefix_length: 121
  cidrs: [10.1.0.0/24]
  delay: 1m
  check_every: 10s
"""
    )
    m = load_model(f)
    assert m.service_cluster_ip_range == "10.0.0.0/24,fd00::/120"
    assert m.duration == 5400 and m.sample_every == 30 and m.reconcile_every == 300
    web, batch = m.streams
    assert web.rate == 0.5 and web.lifetime == Lifetime("lognormal", 600, 0.5)
    assert dict(web.policy_mix) == {"SingleStack": 3.0, "RequireDualStack:IPv6": 1.0}
    assert batch.arrival == "constant" and (batch.start, batch.end) == (600, 1200)
    assert batch.lifetime.distribution == "forever"
    (b,) = m.bursts
    assert (b.at, b.count, b.over, b.every) == (900, 50, 10, 1800)
    assert b.lifetime == Lifetime("fixed", 600)
    op = m.operator
    assert (op.threshold, op.prefix_length, op.ipv6_prefix_length) == (0.8, 25, 121)
    assert op.cidrs == ("10.1.0.0/24",) and (op.delay, op.check_every) == (60, 10)
    assert model_from_dict(model_to_dict(m)) == m


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"duration": "soon"}, "duration"),
        ({"duration": 0}, "duration: must be positive"),
        ({"service_cluster_ip_range": "10.0.0.1/24"}, "service_cluster_ip_range"),
        ({"namespaces": 0}, "namespaces"),
        ({"streams": [{"name": "a"}]}, "name and rate are required"),
        ({"streams": [{"name": "a", "rate": "fast"}]}, r"streams\[0\].rate"),
        (
            {"streams": [{"name": "a", "rate": 1, "lifetime": {"distribution": "weibull"}}]},
            "unknown 'weibull'",
        ),
        ({"streams": [{"name": "a", "rate": 1, "policy_mix": {"Dual": 1}}]}, "unknown policy"),
        ({"streams": [{"name": "A_b", "rate": 1}]}, "lowercase"),
        (
            {"streams": [{"name": "a", "rate": 1}], "bursts": [{"name": "a", "at": 1, "count": 1}]},
            "names must be unique",
        ),
        ({"operator": {"threshold": 1.5}}, "operator.threshold"),
        ({"operator": {"cidrs": ["nope"]}}, "operator.cidrs"),
        ({"operator": {"ipv6_prefix_length": 48}}, "ipv6_prefix_length"),
        ({"operator": {"enabled": "yes"}}, "operator.enabled"),
    ],
)
def test_model_errors_name_the_field(patch: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        model_from_dict({**MINIMAL, **patch})


def test_load_model_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_model(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_model(bad)
    bad.write_text("- a list\n")
    with pytest.raises(InvalidInputError, match="expected a mapping"):
        load_model(bad)


def test_rates_and_durations() -> None:
    assert parse_rate("2/s") == 2 and parse_rate("30/m") == 0.5 and parse_rate("36/h") == 0.01
    assert parse_rate(3) == 3.0 and parse_rate("0.5") == 0.5
    for bad in ("x/s", "1/d", -1, True):
        with pytest.raises(ValueError):
            parse_rate(bad)
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0s"
    assert format_duration(0.5) == "0.5s"
    assert format_duration(3661) == "1h1m1s"


@pytest.mark.parametrize(
    ("lt", "mean"),
    [
        (Lifetime("exponential", 100.0), 100.0),
        (Lifetime("lognormal", 100.0, 1.0), 100.0),
        (Lifetime("fixed", 42.0), 42.0),
    ],
)
def test_lifetime_means(lt: Lifetime, mean: float) -> None:
    rng = random.Random(5)
    draws = [lt.sample(rng) for _ in range(40_000)]
    assert all(d is not None and d > 0 for d in draws)
    assert statistics.fmean(d for d in draws if d is not None) == pytest.approx(mean, rel=0.05)


def test_forever_never_ends() -> None:
    assert Lifetime("forever", 0).sample(random.Random(1)) is None


def test_with_changes() -> None:
    m = preset("seed-at-scale")
    short = m.with_changes(duration=60, operator=False)
    assert short.duration == 60 and not short.operator.enabled
    assert m.operator.enabled and m.duration != 60
    assert isinstance(short, Model)
