"""``servicecidr simulate`` (and the ``bench`` wiring)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from servicecidr.cli.common import IO
from servicecidr.cli.main import run as cli_run


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_run(list(argv), IO(out, err, io.StringIO()))
    return code, out.getvalue(), err.getvalue()


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_seed_at_scale_twice_same_bytes(tmp_path: Path) -> None:
    runs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        code, text, err = _cli(
            "simulate", "--preset", "seed-at-scale", "--seed", "1", "--duration", "15m",
            "--out", str(out),
        )  # fmt: skip
        assert code == 0, err
        assert err == ""  # no progress bar when stderr is not a terminal
        assert "newcidr1" in text and "10.96.1.0/24" in text
        assert 'first "range is full": never' in text
        assert "0 failed" in text
        runs.append({n: _sha(out / n) for n in ("timeseries.csv", "timeseries.png")})
    assert runs[0] == runs[1]


def test_no_operator_reports_range_full(tmp_path: Path) -> None:
    code, text, _ = _cli(
        "simulate", "--preset", "seed-at-scale", "--seed", "1", "--duration", "15m",
        "--no-operator", "--no-png", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    assert "operator off" in text
    assert 'first "range is full": after ' in text
    assert "(2025-01-01T00:" in text
    assert not (tmp_path / "timeseries.png").exists()


def test_json_summary(tmp_path: Path) -> None:
    code, text, _ = _cli(
        "simulate", "--preset", "burst", "--duration", "35m", "--out", str(tmp_path),
        "--no-png", "-o", "json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(text)
    assert doc["model"] == "burst" and doc["seed"] == 1
    assert doc["totals"]["first_range_full_s"] is not None
    assert doc["service_cidrs"][0]["name"] == "kubernetes"
    assert {"size", "peak_used", "peak_utilization"} <= set(doc["service_cidrs"][0])
    assert doc["latency"]["create"]["count"] == doc["totals"]["creates"]
    assert str(tmp_path / "timeseries.csv") in doc["files"]
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["digest"] == doc["digest"]


def test_model_file_and_show_model(tmp_path: Path) -> None:
    code, yaml_text, _ = _cli(
        "simulate", "--preset", "steady-churn", "--duration", "5m", "--show-model"
    )
    assert code == 0 and "duration: 5m" in yaml_text
    f = tmp_path / "m.yaml"
    f.write_text(yaml_text)
    a, b = tmp_path / "a", tmp_path / "b"
    assert _cli("simulate", "--model", str(f), "--out", str(a), "--no-png")[0] == 0
    assert _cli("simulate", "--preset", "steady-churn", "--duration", "5m", "--out", str(b),
                "--no-png")[0] == 0  # fmt: skip
    assert _sha(a / "timeseries.csv") == _sha(b / "timeseries.csv")
    assert _sha(a / "summary.json") == _sha(b / "summary.json")


def test_list_presets() -> None:
    code, text, _ = _cli("simulate", "--list-presets")
    assert code == 0
    for name in ("seed-at-scale", "steady-churn", "burst", "dual-stack"):
        assert f"{name}\n" in text


def test_errors(tmp_path: Path) -> None:
    code, _, err = _cli("simulate")
    assert code == 1 and "--preset NAME or --model FILE" in err
    code, _, err = _cli("simulate", "--preset", "nope")
    assert code == 1 and "unknown preset 'nope'" in err and "seed-at-scale" in err
    code, _, err = _cli("simulate", "--model", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read" in err
    code, _, err = _cli("simulate", "--preset", "burst", "--duration", "soon")
    assert code == 1 and "--duration" in err
    code, _, err = _cli("simulate", "--preset", "burst", "--model", "x.yaml")
    assert code == 1 and "not allowed with" in err


def test_help_lists_presets(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _cli("simulate", "--help")
    help_text = capsys.readouterr().out
    assert code == 0
    for name in ("seed-at-scale", "steady-churn", "burst", "dual-stack", "--no-operator"):
        assert name in help_text


def test_bench_finds_the_script() -> None:
    from servicecidr.cli.simulate import _bench_script

    script = _bench_script()
    assert script is not None and script.name == "run.py" and script.parent.name == "bench"
