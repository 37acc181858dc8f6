"""pytest-benchmark suites for the simulation harness and the allocator baselines.

* ``test_simulate``: one run of each ``servicecidr simulate`` preset (the whole engine:
  Service creates and deletes, the operator, the controllers, the time series);
* ``test_allocation_churn``: release + allocate_next at a fill level for the baselines of
  ``bench/baselines.py`` (a Python set with the Kubernetes scan or with random probing,
  a pyroaring BitMap with the Kubernetes scan) and the Rust core, one call per address
  and batched; grouped by fill so ``pytest-benchmark`` compares them side by side.

With ``--benchmark-disable`` (the test command) every case runs once on a small scale:
a 10-minute simulation, a /22.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from typing import Any

import pytest

from baselines import BASELINES, roaring_available
from servicecidr._core import CidrAllocator
from servicecidr.sim import PRESETS, run

SEED = 11
FILLS = [0.5, 0.99]
CIDR, QUICK_CIDR = "10.0.0.0/16", "10.0.0.0/22"
IMPLS = ["python-set-scan", "python-set-probe", "pyroaring", "rust-single", "rust-batched"]


@pytest.fixture
def quick(request: pytest.FixtureRequest) -> bool:
    """True when timing is off: every case then runs once, small."""
    return bool(request.config.getoption("benchmark_disable"))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_simulate(benchmark: Any, quick: bool, name: str) -> None:
    model = PRESETS[name]
    if quick:
        model = model.with_changes(duration=600)
    benchmark.group = "simulate"
    result = benchmark.pedantic(
        run, args=(model,), kwargs={"seed": 1, "record_latency": False}, rounds=1, iterations=1
    )
    assert result.totals["simulated_s"] == model.duration
    assert result.totals["creates"] > 0


def _to_int(ip: str) -> int:
    return int.from_bytes(socket.inet_aton(ip), "big")


def _to_text(n: int) -> str:
    return socket.inet_ntoa(n.to_bytes(4, "big"))


@pytest.mark.parametrize("fill", FILLS, ids=[f"{f:.0%}" for f in FILLS])
@pytest.mark.parametrize("impl", IMPLS)
def test_allocation_churn(benchmark: Any, quick: bool, impl: str, fill: float) -> None:
    if impl == "pyroaring" and not roaring_available():
        pytest.skip("pyroaring is not installed (pip install pyroaring==1.2.0)")
    cidr = QUICK_CIDR if quick else CIDR
    batch = 50 if quick else 200
    rust = CidrAllocator(cidr, seed=SEED)
    held = [_to_int(ip) for ip in rust.allocate_next_many(int(rust.size * fill))]
    random.Random(SEED).shuffle(held)
    a: Any = rust
    if impl in BASELINES:
        a = BASELINES[impl](cidr, seed=SEED)
        a.load_ints(held)
    state = {"round": 0, "at": 0, "new": []}

    def setup() -> tuple[tuple[list[str]], dict[str, Any]]:
        if state["new"]:
            at = state["at"]
            held[at : at + batch] = [_to_int(ip) for ip in state["new"]]
        j = (state["round"] * batch) % (len(held) - batch + 1)
        state["round"] += 1
        state["at"] = j
        return ([_to_text(n) for n in held[j : j + batch]],), {}

    step: Callable[[list[str]], None]
    if impl == "rust-batched":

        def step(victims: list[str]) -> None:
            a.release_many(victims)
            state["new"] = a.allocate_next_many(len(victims))

    else:

        def step(victims: list[str]) -> None:
            release, allocate_next = a.release, a.allocate_next
            new = []
            for ip in victims:
                release(ip)
                new.append(allocate_next())
            state["new"] = new

    used = a.used
    benchmark.group = f"churn {cidr} at {fill:.0%} ({batch} addresses per round)"
    benchmark.pedantic(step, setup=setup, rounds=3 if fill > 0.9 else 10, iterations=1)
    setup()
    assert a.used == used, "the fill level must not drift"
    assert len(set(held)) == len(held), "no address is held twice"
