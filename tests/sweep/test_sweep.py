"""Sweeps on the local engine (a real process pool): the table holds what the harness
itself reports for each cell, a cell that raises is a row with its error, a sweep killed
with SIGKILL resumes with only the missing cells, a torn journal line is cut off, a
what-if sweep over the shared audit logs ranks three candidate ranges, and the command
line's help, JSON summary and refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED
from servicecidr.cli.main import run as cli_run
from servicecidr.errors import StateError
from servicecidr.sim import Simulation, model_from_dict, summary_dict
from servicecidr.sweep import (
    WORKER_DIED,
    LocalEngine,
    Progress,
    compare_tables,
    read_csv_rows,
    run_cell,
    run_sweep,
    simple_sweep,
    sweep_from_dict,
)

AUDIT = SHARED / "data" / "audit"


class _IO:
    def __init__(self) -> None:
        import io

        self.out = io.StringIO()
        self.err = io.StringIO()


def _cli(*argv: str) -> tuple[int, str, str]:
    io = _IO()
    code = cli_run(list(argv), io)  # type: ignore[arg-type]
    return code, io.out.getvalue(), io.err.getvalue()


def _rows(out: Path) -> list[dict[str, str]]:
    header, rows = read_csv_rows(out / "results.csv")
    return [dict(zip(header, r, strict=True)) for r in rows]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The seed preset with and without the operator, four seeds each, on two workers."""
    sweep = simple_sweep(preset_name="seed", seeds="1-4", sets=["operator.enabled=true,false"])
    out = tmp_path_factory.mktemp("small") / "out"
    seen: list[Progress] = []
    result = run_sweep(sweep, out, engine=LocalEngine(2), progress=seen.append)
    assert result.complete and result.ran == 8 and result.failed == 0
    # progress as cells finish: done counts up to the total, then nothing runs
    assert [p.done for p in seen] == [0, *range(1, 9), 8]
    assert seen[0].eta is None and seen[-1].eta == 0.0
    assert seen[-1].running == 0 and any(p.running == 2 for p in seen)
    assert all(p.total == 8 and p.failed == 0 for p in seen)
    return result, out


def test_each_row_is_what_the_harness_reports_for_its_cell(small: tuple[Any, Path]) -> None:
    result, out = small
    rows = _rows(out)
    assert [int(r["cell"]) for r in rows] == list(range(8))  # sorted by cell
    for r in rows:
        model = model_from_dict(result.sweep.task(result.sweep.cells[int(r["cell"])])["model"])
        assert model.operator.enabled is (r["operator.enabled"] == "true")
        sim = Simulation(model, int(r["seed"]), record_latency=False).run()
        s = summary_dict(sim)
        assert r["digest"] == s["digest"]
        assert int(r["failures"]) == s["totals"]["failures"]
        assert int(r["creates"]) == s["totals"]["creates"]
        assert int(r["service_cidrs_added"]) == len(sim.operator_actions)
        first = s["totals"]["first_range_full_s"]
        assert r["first_range_full_s"] == ("" if first is None else repr(first))
        assert r["range_full"] == ("true" if first is not None else "false")
        peaks = json.loads(r["peak_utilization"])
        assert peaks == {f"{sc['name']} {sc['cidr']}": sc["peak_utilization"]
                         for sc in s["service_cidrs"]}  # fmt: skip
        assert float(r["wall_s"]) > 0 and r["error"] == ""
    # the seed document: without the operator the /28 fills at the 14th Service (7 min in)
    off = [r for r in rows if r["operator.enabled"] == "false"]
    assert {r["first_range_full_s"] for r in off} == {"420.0"}
    on = [r for r in rows if r["operator.enabled"] == "true"]
    assert {r["peak_utilization"] for r in on} == {
        '{"kubernetes 10.96.0.0/28":1.0,"newcidr1 10.96.0.0/24":0.476378}'
    }


def test_the_report_ranks_the_candidates(small: tuple[Any, Path]) -> None:
    result, out = small
    report = json.loads((out / "report.json").read_text())
    assert report == result.report
    assert [c["label"] for c in report["ranking"]] == [
        "operator.enabled=true",
        "operator.enabled=false",
    ]
    best, worst = report["ranking"]
    assert (best["range_full_fraction"], worst["range_full_fraction"]) == (0.0, 1.0)
    assert worst["first_range_full_s_p50"] == 420.0
    assert report["figures"]["failures"]["count"] == 8
    assert report["range_full"] == {"cells": 4, "fraction": 0.5}
    text = (out / "report.txt").read_text()
    assert "ranking" in text and "operator.enabled=true" in text
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Parquet holds the same table, typed
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed")
    t = pq.read_table(str(out / "results.parquet"))
    assert t.column("cell").to_pylist() == list(range(8))
    assert t.schema.field("operator.enabled").type == "bool"
    assert t.schema.field("first_range_full_s").type == "double"
    assert t.column("digest").to_pylist() == [r["digest"] for r in _rows(out)]


def test_a_rerun_of_a_finished_sweep_runs_nothing(small: tuple[Any, Path]) -> None:
    result, out = small
    before = (out / "cells.jsonl").read_bytes()
    again = run_sweep(result.sweep, out, engine=LocalEngine(2))
    assert (again.resumed, again.ran, again.done) == (8, 0, 8)
    assert (out / "cells.jsonl").read_bytes() == before
    # the sweep.yaml written beside the table is the same sweep
    code, text, err = _cli("sweep", str(out / "sweep.yaml"), "--out", str(out), "-o", "json")
    assert code == 0, err
    assert (json.loads(text)["resumed"], json.loads(text)["ran"]) == (8, 0)
    assert compare_tables(out, out) == []


def test_another_sweep_is_refused_in_the_same_directory(small: tuple[Any, Path]) -> None:
    _, out = small
    other = simple_sweep(preset_name="seed", seeds="1-2")
    with pytest.raises(StateError, match="holds another sweep"):
        run_sweep(other, out)
    code, _, err = _cli("sweep", "--preset", "seed", "--seeds", "1-2", "--out", str(out))
    assert code == 1 and "holds another sweep" in err and "--restart" in err


def test_a_directory_with_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StateError, match="not empty and holds no sweep"):
        run_sweep(simple_sweep(preset_name="seed"), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_cell_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    # One candidate names a CIDR with host bits set: the engine's own ServiceCIDR
    # validation refuses it in the cell, with Kubernetes' message.
    falco = str(AUDIT / "falco-k8s-audit")
    sweep = sweep_from_dict(
        {
            "base": {"histories": [falco, str(tmp_path / "no-such-history")]},
            "set": {"service_cluster_ip_range": "10.96.0.0/28"},
            "grid": {"add_servicecidrs": [{"extra": "10.97.0.0/24"}, {"bad": "10.97.0.1/24"}]},
        }
    )
    result = run_sweep(sweep, tmp_path / "out", engine=LocalEngine(2))
    assert result.complete and result.failed == 3
    rows = {int(r["cell"]): r for r in _rows(tmp_path / "out")}
    assert rows[0]["error"] == "" and rows[0]["service_cidrs_added"] == "1"
    assert rows[1]["error"].startswith('InvalidError: ServiceCIDR.networking.k8s.io "bad" is')
    assert "must not have bits set beyond the prefix length" in rows[1]["error"]
    assert rows[2]["error"].endswith("no-such-history: no such file or directory")
    tb = (tmp_path / "out" / "errors" / "cell-000001.txt").read_text()
    assert "Traceback" in tb and "InvalidError" in tb
    assert not (tmp_path / "out" / "errors" / "cell-000000.txt").exists()
    assert result.report["errors"] == 3
    # the command line says so in its exit status
    code, out, _ = _cli("sweep", str(tmp_path / "out" / "sweep.yaml"), "--out",
                        str(tmp_path / "out"), "-o", "json")  # fmt: skip
    assert code == 3 and json.loads(out)["failed"] == 3


def _pool_workers(parent: int | None = None) -> list[int]:
    """The pool workers (spawned interpreters running spawn_main) of ``parent`` (this
    process by default)."""
    me = str(parent or os.getpid())
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me and b"spawn_main" in cmd:
            pids.append(int(d.name))
    return pids


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _kill_workers_after(seconds: float) -> threading.Thread:
    def kill() -> None:
        time.sleep(seconds)
        for pid in _pool_workers():
            os.kill(pid, signal.SIGKILL)

    t = threading.Thread(target=kill)
    t.start()
    return t


def _task(model: str, seed: int, duration: str | None = None) -> dict[str, Any]:
    from servicecidr.sim import model_to_dict, preset

    m = preset(model)
    if duration is not None:
        from servicecidr.clock import parse_duration

        m = m.with_changes(duration=parse_duration(duration))
    return {"kind": "simulation", "model": model_to_dict(m), "seed": seed}


def test_a_cell_whose_worker_dies_twice_is_recorded_as_such() -> None:
    # The pool breaks under the first cell (and the one queued behind it); both run
    # again alone; the first one's worker is killed again: that cell is the one that
    # dies (as a cell that runs out of memory would), the sweep goes on without it.
    def kill_twice() -> None:
        seen: set[int] = set()
        time.sleep(0.3)
        for _ in range(2):
            while not (fresh := [p for p in _pool_workers() if p not in seen]):
                time.sleep(0.01)
            for pid in fresh:
                os.kill(pid, signal.SIGKILL)
            seen.update(fresh)

    with LocalEngine(1) as eng:
        killer = threading.Thread(target=kill_twice)
        killer.start()
        got = dict(eng.run([(0, _task("seed-at-scale", 1)), (1, _task("seed", 1))]))
        killer.join()
    assert got[0]["row"]["error"] == WORKER_DIED
    assert got[1]["row"]["error"] is None
    assert got[1]["row"] == {**run_cell(_task("seed", 1))["row"], "wall_s": got[1]["row"]["wall_s"]}


def test_cells_beside_a_killed_worker_run_again_and_are_not_lost() -> None:
    # Two workers, both busy when one is killed: the pool breaks under both cells;
    # they run again one at a time, and both succeed.
    tasks = [(i, _task("seed-at-scale", i + 1, "1h")) for i in range(2)]
    with LocalEngine(2) as eng:
        killer = _kill_workers_after(0.1)
        got = dict(eng.run(tasks))
        killer.join()
    assert sorted(got) == [0, 1]
    for i, task in tasks:
        assert got[i]["row"]["error"] is None
        assert got[i]["row"]["digest"] == run_cell(task)["row"]["digest"]


def test_a_worker_killed_while_idle_is_replaced() -> None:
    with LocalEngine(1) as eng:
        for pid in _pool_workers():  # the worker that answered the start-up probe
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        got = dict(eng.run([(0, _task("seed", 3))]))
    assert got[0]["row"]["error"] is None


def _journal_lines(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return data.split(b"\n")[:-1]  # complete lines only


def test_a_killed_sweep_resumes_with_only_the_missing_cells(tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "servicecidr", "sweep", "--preset", "seed-at-scale",
            "--duration", "10m", "--seeds", "1-24", "--workers", "2", "--no-png",
            "--out", str(out), "-o", "json"]  # fmt: skip
    journal = out / "cells.jsonl"
    deadline = time.monotonic() + 120

    def start_and_wait_for(lines: int) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        while len(_journal_lines(journal)) < lines and proc.poll() is None:
            assert time.monotonic() < deadline, "the sweep wrote no cell in 120 s"
            time.sleep(0.01)
        return proc

    log = (tmp_path / "stderr.log").open("w")
    # Ctrl-C first: the sweep stops, keeps what is done and says how to go on
    proc = start_and_wait_for(2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    assert "interrupted: rerun the same command" in (tmp_path / "stderr.log").read_text()
    interrupted = len(_journal_lines(journal))
    assert 2 <= interrupted < 24
    # then a kill nothing can catch
    proc = start_and_wait_for(interrupted + 3)
    workers = _pool_workers(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    assert proc.returncode == -signal.SIGKILL
    # its workers notice and exit (they would otherwise live on as orphans)
    assert workers
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in workers):
        assert time.monotonic() < deadline, "the killed sweep's workers live on"
        time.sleep(0.05)
    kept = _journal_lines(journal)
    assert len(kept) < 24, "killed partway"

    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert len(kept) >= interrupted + 3
    assert summary["resumed"] == len(kept)
    assert summary["ran"] == 24 - len(kept)
    assert summary["complete"] and summary["done"] == 24
    # the rows finished before the kill are kept as they were, not run again
    after = _journal_lines(journal)
    assert after[: len(kept)] == kept and len(after) == 24
    rows = _rows(out)
    assert [int(r["cell"]) for r in rows] == list(range(24))
    # and every row is its cell's: rerun a few, before and after the kill, here
    sweep = simple_sweep(preset_name="seed-at-scale", seeds="1-24", fixed={"duration": "10m"})
    first_kept = json.loads(kept[0])["cell"]
    later = next(int(r["cell"]) for r in rows if r["cell"] not in
                 {str(json.loads(x)["cell"]) for x in kept})  # fmt: skip
    for index in (first_kept, later):
        fresh = run_cell(sweep.task(sweep.cells[index]))["row"]
        assert rows[index]["digest"] == fresh["digest"]
        assert rows[index]["failures"] == str(fresh["failures"])


def test_a_torn_journal_line_is_cut_off_and_its_cell_runs_again(tmp_path: Path) -> None:
    sweep = simple_sweep(preset_name="seed", seeds="1-3", timeseries=True)
    out = tmp_path / "out"
    run_sweep(sweep, out, engine=LocalEngine(1), png=False)
    # the time series asked for, one file per cell, as `servicecidr simulate` writes it
    series = (out / "timeseries" / "cell-000002.csv").read_text()
    assert series.splitlines()[0].startswith("time,time_s,services,service_cidrs")
    journal = out / "cells.jsonl"
    lines = journal.read_bytes().split(b"\n")[:-1]
    by_cell = {json.loads(x)["cell"]: x for x in lines}
    # as if the process died while writing cell 2's line
    journal.write_bytes(by_cell[0] + b"\n" + by_cell[1] + b"\n" + by_cell[2][:25])
    again = run_sweep(sweep, out, engine=LocalEngine(1), png=False)
    assert (again.resumed, again.ran) == (2, 1)
    assert any("torn last line" in n for n in again.notes)
    assert len(journal.read_bytes().split(b"\n")[:-1]) == 3
    # a damaged line before the end is not guessed at
    journal.write_bytes(by_cell[0] + b"\n" + b"{oops\n" + by_cell[2] + b"\n")
    with pytest.raises(StateError, match=r"cells.jsonl:2: not a journal record"):
        run_sweep(sweep, out, engine=LocalEngine(1), png=False)


def test_without_pyarrow_the_csv_is_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = run_sweep(simple_sweep(preset_name="seed"), tmp_path, engine=LocalEngine(1))
    assert not (tmp_path / "results.parquet").exists()
    assert any("pip install 'servicecidr[parquet]'" in n for n in result.notes)
    assert len(_rows(tmp_path)) == 1


@pytest.mark.skipif(not AUDIT.is_dir(), reason=f"no shared audit data at {AUDIT}")
def test_what_if_over_the_shared_audit_logs_ranks_three_ranges(tmp_path: Path) -> None:
    histories = sorted(str(p) for p in AUDIT.iterdir() if p.is_dir())
    argv = ["sweep", *[x for h in histories for x in ("--history", h)],
            "--set", "service_cluster_ip_range=10.96.0.0/24,10.96.0.0/29,10.96.0.0/30",
            "--workers", "2", "--out", str(tmp_path / "out"), "-o", "json"]  # fmt: skip
    code, out, err = _cli(*argv)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["cells"] == summary["done"] == 3 * len(histories) == 15
    rows = _rows(tmp_path / "out")
    assert {r["history"] for r in rows} == set(histories)
    by = {(Path(r["history"]).name, r["service_cluster_ip_range"]): r for r in rows}
    # falco: three Services created (one kept by a delete in between) and the default
    # kubernetes Service; a /30 has two addresses, so the third create fails
    falco30 = by[("falco-k8s-audit", "10.96.0.0/30")]
    assert falco30["range_full"] == "true" and falco30["peak_utilization_max"] == "1.0"
    assert falco30["first_range_full_at"].startswith("2018-10-2")
    assert falco30["first_range_full_event"].startswith(str(AUDIT / "falco-k8s-audit"))
    # panther's partial events have no timestamps: full, but at no known time
    panther30 = by[("panther-analysis", "10.96.0.0/30")]
    assert panther30["range_full"] == "true" and panther30["first_range_full_s"] == ""
    assert by[("falco-k8s-audit", "10.96.0.0/24")]["range_full"] == "false"
    ranking = summary["report"]["ranking"]
    assert [c["label"] for c in ranking] == [
        "service_cluster_ip_range=10.96.0.0/24",
        "service_cluster_ip_range=10.96.0.0/29",
        "service_cluster_ip_range=10.96.0.0/30",
    ]
    assert ranking[2]["range_full_cells"] == 2
    assert ranking[0]["headroom"] > ranking[1]["headroom"] > ranking[2]["headroom"]
    # and the histories, least headroom first: the two that fill a /30 lead
    hist = summary["report"]["histories"]
    assert [Path(h["history"]).name for h in hist[:2]] == ["falco-k8s-audit", "panther-analysis"]
    assert hist[0]["candidates"]["service_cluster_ip_range=10.96.0.0/30"] == {
        "headroom": 0.0,
        "range_full": True,
    }
    assert "histories by headroom" in (tmp_path / "out" / "report.txt").read_text()


def test_help_has_examples_and_dry_run_counts_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = _cli("sweep", "--help")
    out = capsys.readouterr().out  # argparse prints help itself
    assert code == 0
    for text in ("examples:", "--engine ray --address", "--seeds 1-200", "Exit status"):
        assert text in out
    code, out, _ = _cli("sweep", "--preset", "seed-at-scale", "--seeds", "1-200", "--set",
                        "operator.enabled=true,false", "--dry-run", "-o", "json")  # fmt: skip
    doc = json.loads(out)
    assert (
        code == 0
        and doc["cells"] == 400
        and doc["columns"][:3]
        == [
            "cell",
            "operator.enabled",
            "seed",
        ]
    )
    code, _, err = _cli("sweep", "--preset", "seed", "--set", "operator.nope=1")
    assert code == 1 and "operator has no field 'nope'" in err
    code, _, err = _cli("sweep", "--preset", "seed", "--address", "x:1", "--out", str(tmp_path))
    assert code == 1 and "--address is for --engine ray" in err


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        from servicecidr.errors import StateLockedError

        with pytest.raises(StateLockedError, match="another sweep is writing"):
            run_sweep(simple_sweep(preset_name="seed"), out)


def test_run_cell_never_raises() -> None:
    got = run_cell({"kind": "mystery"})
    assert got["row"]["error"] == "ValueError: unknown kind of cell 'mystery'"
    assert os.environ.get("SERVICECIDR_NEVER_SET") is None
