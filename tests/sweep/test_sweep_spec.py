"""Sweep specs: seeds, --set, grids, random samples, the model keys a sweep may vary, and
the errors a user sees for a bad spec. Nothing runs here."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicecidr.errors import InvalidInputError
from servicecidr.sim import preset
from servicecidr.sweep import (
    columns,
    load_sweep,
    parse_seeds,
    parse_set,
    simple_sweep,
    sweep_from_dict,
)


def test_seeds_forms() -> None:
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds("1-3,7,10-11") == [1, 2, 3, 7, 10, 11]
    assert parse_seeds([4, 2]) == [4, 2]
    assert parse_seeds(9) == [9]
    assert parse_seeds({"start": 100, "count": 3}) == [100, 101, 102]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5-1", "ends before it starts"),
        ("1-3,2", "seed 2 is listed twice"),
        ("a-b", "expected N or N-M"),
        ("1,,2", "empty item"),
        ([1, "x"], "seeds[1]: expected a whole number"),
        ({"count": 0}, "count >= 1"),
        (True, "expected seeds"),
    ],
)
def test_bad_seeds_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match="sweep: seeds") as e:
        parse_seeds(value)
    assert message in str(e.value)


def test_set_values_are_yaml() -> None:
    assert parse_set("operator.threshold=0.8,0.9") == ("operator.threshold", [0.8, 0.9])
    assert parse_set("operator.enabled=false") == ("operator.enabled", [False])
    assert parse_set("duration=2h,30m") == ("duration", ["2h", "30m"])
    # a list is one value: a dual-stack range
    assert parse_set("service_cluster_ip_range=[10.96.0.0/24,fd00::/120],10.96.0.0/20") == (
        "service_cluster_ip_range",
        [["10.96.0.0/24", "fd00::/120"], "10.96.0.0/20"],
    )
    for bad in ("novalue", "=1", "k=", "k=1,,2"):
        with pytest.raises(InvalidInputError, match="--set"):
            parse_set(bad)


def test_grid_times_seeds_in_a_fixed_order() -> None:
    s = sweep_from_dict(
        {
            "base": {"preset": "seed"},
            "grid": {"operator.threshold": [0.5, 0.9], "operator.enabled": [True, False]},
            "seeds": "1-3",
        }
    )
    assert len(s.cells) == 12
    assert s.params == ("operator.threshold", "operator.enabled")
    ids = [s.identity(c) for c in s.cells]
    # parameter sets in grid order (the last key fastest), seeds innermost
    assert ids[0] == {"cell": 0, "operator.threshold": 0.5, "operator.enabled": True, "seed": 1}
    assert ids[3] == {"cell": 3, "operator.threshold": 0.5, "operator.enabled": False, "seed": 1}
    assert ids[11] == {"cell": 11, "operator.threshold": 0.9, "operator.enabled": False, "seed": 3}
    # each task carries its model with the parameters applied
    task = s.task(s.cells[3])
    assert task["model"]["operator"]["enabled"] is False
    assert task["model"]["operator"]["threshold"] == 0.5
    assert task["seed"] == 1


def test_model_keys_reach_streams_lifetimes_and_the_range_size() -> None:
    s = sweep_from_dict(
        {
            "base": {"preset": "seed-at-scale"},
            "set": {"duration": "30m", "streams.app.lifetime.mean": "1h"},
            "grid": {
                "service_cluster_ip_range.prefix_length": [20, 24],
                "streams.0.rate": ["1/s"],
            },
        }
    )
    models = [v.payload["model"] for v in s.variants]
    assert [m["service_cluster_ip_range"] for m in models] == ["10.96.0.0/20", "10.96.0.0/24"]
    assert all(m["duration"] == "30m" for m in models)
    assert all(m["streams"][0]["rate"] == "1/s" for m in models)
    assert all(m["streams"][0]["lifetime"]["mean"] == "1h" for m in models)
    # the base model is not changed
    assert preset("seed-at-scale").streams[0].rate == 0.5


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"operator.treshold": [0.9]}, "operator has no field 'treshold'"),
        ({"streams.web.rate": [1]}, "no stream 'web' (the model has: app)"),
        ({"operator.threshold": [1.5]}, "operator.threshold: must be in (0, 1]"),
        ({"duration.hours": [1]}, "duration is not a mapping"),
        ({"service_cluster_ip_range.ipv6_prefix_length": [64]}, "no IPv6"),
        ({"service_cluster_ip_range.prefix_length": [40]}, "40 is not an IPv4 prefix length"),
        ({"operator.threshold": []}, "grid.operator.threshold: no value"),
    ],
)
def test_a_bad_key_or_value_fails_the_sweep_before_it_runs(grid: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^sweep: ") as e:
        sweep_from_dict({"base": {"preset": "seed-at-scale"}, "grid": grid})
    assert message in str(e.value)


def test_random_samples_are_drawn_from_the_spec_alone() -> None:
    spec = {
        "base": {"preset": "seed"},
        "grid": {"operator.enabled": [True, False]},
        "samples": {
            "count": 5,
            "seed": 7,
            "params": {
                "operator.threshold": {"uniform": [0.5, 0.95]},
                "service_cluster_ip_range.prefix_length": {"int": [26, 28]},
                "operator.check_every": {"choice": ["0s", "30s"]},
                "streams.test.rate": {"loguniform": [0.01, 0.1]},
            },
        },
        "seeds": [1, 2],
    }
    a, b = sweep_from_dict(spec), sweep_from_dict(spec)
    assert len(a.cells) == 2 * 5 * 2
    assert [v.params for v in a.variants] == [v.params for v in b.variants]
    assert a.fingerprint == b.fingerprint
    draws = [dict(v.params) for v in a.variants]
    assert all(0.5 <= d["operator.threshold"] <= 0.95 for d in draws)
    assert all(d["service_cluster_ip_range.prefix_length"] in (26, 27, 28) for d in draws)
    assert len({d["operator.threshold"] for d in draws}) == 5  # five different draws
    other = sweep_from_dict({**spec, "samples": {**spec["samples"], "seed": 8}})
    assert other.fingerprint != a.fingerprint
    assert [v.params for v in other.variants] != [v.params for v in a.variants]


def test_samples_reject_bad_distributions() -> None:
    base = {"base": {"preset": "seed"}}
    for params, message in [
        ({"operator.threshold": {"normal": [0, 1]}}, "unknown distribution 'normal'"),
        ({"operator.threshold": {"uniform": [1, 0]}}, "low <= high"),
        ({"operator.prefix_length": {"int": [20.5, 24]}}, "whole numbers"),
        ({"operator.threshold": {"loguniform": [0, 1]}}, "low must be positive"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            sweep_from_dict({**base, "samples": {"count": 2, "params": params}})
    with pytest.raises(InvalidInputError, match="also in grid"):
        sweep_from_dict(
            {
                **base,
                "grid": {"operator.threshold": [0.9]},
                "samples": {"count": 2, "params": {"operator.threshold": {"uniform": [0, 1]}}},
            }
        )


def test_history_sweeps(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "base:\n"
        "  histories: ['*/', {name: both, paths: [a, b]}]\n"
        "set: {service_cluster_ip_range: 10.96.0.0/24}\n"
        "grid:\n"
        "  service_cluster_ip_range.prefix_length: [24, 28]\n"
        "  add_servicecidrs: [{}, {extra: 10.97.0.0/24}]\n"
    )
    s = load_sweep(spec)
    assert s.kind == "what-if"
    # a glob is one history per match; paths are taken from the spec's folder
    assert [h.name for h in s.histories] == [str(tmp_path / "a"), str(tmp_path / "b"), "both"]
    assert s.histories[2].paths == (str(tmp_path / "a"), str(tmp_path / "b"))
    assert len(s.cells) == 3 * 4 * 1
    task = s.task(s.cells[3])
    assert task["settings"]["service_cluster_ip_range"] == "10.96.0.0/28"
    assert task["settings"]["add_servicecidrs"] == [["extra", ["10.97.0.0/24"]]]
    assert task["seed"] == 0  # what-if replays use the import's default seed
    assert [n for n, _ in columns(s)][:4] == [
        "cell",
        "history",
        "service_cluster_ip_range.prefix_length",
        "add_servicecidrs",
    ]
    with pytest.raises(InvalidInputError, match="not a what-if setting"):
        sweep_from_dict({"base": {"histories": ["x"]}, "grid": {"operator.threshold": [1]}})
    with pytest.raises(InvalidInputError, match="kept for simulation sweeps only"):
        sweep_from_dict({"base": {"histories": ["x"]}, "timeseries": True})


def test_spec_shape_errors(tmp_path: Path) -> None:
    for spec, message in [
        ({}, "base: is required"),
        ({"base": {"preset": "seed", "model": "m.yaml"}}, "exactly one of"),
        ({"base": {"preset": "nope"}}, "unknown preset 'nope'"),
        ({"base": {"preset": "seed"}, "grids": {}}, "unknown field 'grids'"),
        ({"base": {"preset": "seed"}, "report": {"by": "x"}}, "not a parameter"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            sweep_from_dict(spec)
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: [unclosed\n")
    with pytest.raises(InvalidInputError, match="is not valid YAML"):
        load_sweep(bad)
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_sweep(tmp_path / "missing.yaml")


def test_simple_sweep_is_a_grid_of_every_set() -> None:
    s = simple_sweep(
        preset_name="seed",
        seeds="1-4",
        sets=["operator.threshold=0.5,0.9", "operator.enabled=true,false"],
    )
    assert len(s.cells) == 16
    assert s.name == "seed"
    with pytest.raises(InvalidInputError, match="given twice"):
        simple_sweep(preset_name="seed", sets=["operator.enabled=true", "operator.enabled=false"])
    with pytest.raises(InvalidInputError, match="exactly one of"):
        simple_sweep()


def test_the_fingerprint_follows_what_cells_run() -> None:
    a = sweep_from_dict({"base": {"preset": "seed"}, "seeds": "1-3"})
    # report settings do not change the cells; seeds do
    b = sweep_from_dict({"base": {"preset": "seed"}, "seeds": "1-3", "report": {"within": "1h"}})
    c = sweep_from_dict({"base": {"preset": "seed"}, "seeds": "1-4"})
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.cell_key(a.cells[0]) == c.cell_key(c.cells[0])
    assert a.cell_key(a.cells[0]) != a.cell_key(a.cells[1])


def test_a_yaml_timestamp_stays_the_text_it_was(tmp_path: Path) -> None:
    spec = tmp_path / "until.yaml"
    spec.write_text(
        "base: {histories: [x]}\ngrid: {until: [2018-10-26T00:00:00Z, 2018-10-27T12:00:00Z]}\n"
    )
    s = load_sweep(spec)
    assert [v.params for v in s.variants] == [
        (("until", "2018-10-26T00:00:00Z"),),
        (("until", "2018-10-27T12:00:00Z"),),
    ]
    assert s.task(s.cells[1])["settings"]["until"] == "2018-10-27T12:00:00Z"
    with pytest.raises(InvalidInputError, match="until: invalid timestamp"):
        sweep_from_dict({"base": {"histories": ["x"]}, "grid": {"until": ["yesterday"]}})
