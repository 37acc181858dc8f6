"""pytest-benchmark suite for the Rust allocator (``servicecidr._core``).

Release + allocate_next churn at several fill levels of a /16 and a /12, one call per
address and batched, beside the pure-Python baseline of ``bench/baselines.py``; and the
peak-RSS growth of a million ``allocate_next`` calls in an IPv6 /64 (measured and printed:
goals are never asserted, see ``goals.py``).

``pytest bench --benchmark-disable`` runs every case once, on small ranges, as a test;
``pytest bench/bench_allocator.py`` measures. ``bench/allocator_table.py`` prints the
same comparison as one table.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
from array import array
from collections.abc import Callable
from typing import Any

import pytest

from allocator_table import MEMORY_PROBE
from baselines import PythonSetAllocator
from servicecidr._core import CidrAllocator

FILLS = [0.0, 0.5, 0.9, 0.99, 0.999]
CIDRS = ["10.0.0.0/16", "10.0.0.0/12"]
QUICK_CIDR = "10.0.0.0/22"
SEED = 7


@pytest.fixture
def quick(request: pytest.FixtureRequest) -> bool:
    """True when timing is off: the suite then only checks that every case works."""
    return bool(request.config.getoption("benchmark_disable"))


def _to_int(ip: str) -> int:
    return int.from_bytes(socket.inet_aton(ip), "big")


def _to_text(n: int) -> str:
    return socket.inet_ntoa(n.to_bytes(4, "big"))


class Churn:
    """A range held at a fill level while batches of addresses are released and
    re-allocated. The harness keeps the allocated addresses as integers and hands each
    round's victims over as freshly built str objects (as a replay of decoded events
    would), in the untimed setup; see ``allocator_table.py`` for why."""

    def __init__(
        self, impl: CidrAllocator | PythonSetAllocator, held: array[int], batch: int
    ) -> None:
        self.impl = impl
        self.held = held
        self.batch = batch
        self.round = 0
        self._at = 0
        self._new: list[str] = []

    def setup(self) -> tuple[tuple[list[str]], dict[str, Any]]:
        # Book the previous round's addresses here, outside the timed call.
        if self._new:
            self.held[self._at : self._at + len(self._new)] = array("L", map(_to_int, self._new))
        j = (self.round * self.batch) % (len(self.held) - self.batch + 1)
        self.round += 1
        self._at = j
        return ([_to_text(n) for n in self.held[j : j + self.batch]],), {}

    def batched(self, victims: list[str]) -> None:
        self.impl.release_many(victims)
        self._new = self.impl.allocate_next_many(len(victims))

    def single(self, victims: list[str]) -> None:
        release, allocate_next = self.impl.release, self.impl.allocate_next
        new = []
        for ip in victims:
            release(ip)
            new.append(allocate_next())
        self._new = new


def _churn(cidr: str, fill: float, impl: str, batch: int) -> Churn:
    a = CidrAllocator(cidr, seed=SEED)
    held = array("L", map(_to_int, a.allocate_next_many(max(int(a.size * fill), batch))))
    random.Random(SEED).shuffle(held)
    if impl == "baseline":
        base = PythonSetAllocator(cidr, seed=SEED)
        base.load_ints(held)
        return Churn(base, held, batch)
    return Churn(a, held, batch)


@pytest.mark.parametrize("fill", FILLS, ids=[f"{f:.1%}" for f in FILLS])
@pytest.mark.parametrize("cidr", CIDRS)
@pytest.mark.parametrize("impl", ["rust-batched", "rust-single", "baseline"])
def test_churn(benchmark: Any, quick: bool, impl: str, cidr: str, fill: float) -> None:
    if quick:
        cidr = QUICK_CIDR
    batch = 100 if quick else 1000
    churn = _churn(cidr, fill, impl, batch)
    used = churn.impl.used
    step: Callable[[list[str]], None] = churn.batched if impl == "rust-batched" else churn.single
    slow = impl == "baseline" and fill >= 0.99
    benchmark.extra_info["ns_per_address_divisor"] = batch
    benchmark.pedantic(step, setup=churn.setup, rounds=3 if slow else 20, iterations=1)
    churn.setup()  # books the last round
    assert churn.impl.used == used, "the fill level must not drift"
    assert len(set(churn.held)) == len(churn.held), "no address is held twice"


@pytest.mark.parametrize("fill", FILLS, ids=[f"{f:.1%}" for f in FILLS])
@pytest.mark.parametrize("cidr", CIDRS)
@pytest.mark.parametrize("into", [False, True], ids=["rust-int", "rust-buffer"])
def test_churn_int(benchmark: Any, quick: bool, into: bool, cidr: str, fill: float) -> None:
    """The integer API: the victims are a slice of the held array (a buffer); the new
    addresses come back as ints, or are written over the victims (``into``)."""
    if quick:
        cidr = QUICK_CIDR
    batch = 100 if quick else 1000
    a = CidrAllocator(cidr, seed=SEED)
    held = array("Q", a.allocate_next_many_int(max(int(a.size * fill), batch)))
    random.Random(SEED).shuffle(held)
    view = memoryview(held)
    used, state = a.used, {"round": 0}

    def setup() -> tuple[tuple[memoryview], dict[str, Any]]:
        j = (state["round"] * batch) % (len(held) - batch + 1)
        state["round"] += 1
        return (view[j : j + batch],), {}

    def step(victims: memoryview) -> None:
        a.release_many_int(victims)
        if into:
            a.allocate_next_many_into(victims)
        else:
            victims[:] = array("Q", a.allocate_next_many_int(len(victims)))

    benchmark.extra_info["ns_per_address_divisor"] = batch
    benchmark.pedantic(step, setup=setup, rounds=20, iterations=1)
    assert a.used == used, "the fill level must not drift"
    assert sorted(held) == sorted(map(_to_int, a)), "the array holds what is allocated"


def test_ipv6_allocations_memory_probe(quick: bool) -> None:
    """The probe behind the memory goal (a million allocate_next calls in a /64 raise
    peak RSS by at most 100 MiB, ``goals.IPV6_RSS``) makes its calls and reports a
    figure; ``./dev bench`` prints the goal met or missed."""
    n = 100_000 if quick else 1_000_000
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    mib = float(out.stdout.strip())
    print(f"\n{n:,} allocate_next calls in fd00::/64: peak RSS +{mib:.1f} MiB")
