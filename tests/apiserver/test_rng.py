"""The engine's random stream (servicecidr.rng.SeededRandom, drawn in Rust) against
CPython's own random.Random: the same numbers from the same seed or state, by every
method the engine and its users call, so a seed replays a history exactly."""

from __future__ import annotations

import copy
import pickle
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicecidr import Cluster, SimulatedClock
from servicecidr._core import MersenneTwister
from servicecidr.rng import SeededRandom, core_of

WIDTHS = (0, 1, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 1000)
SEEDS: list[Any] = [0, 1, 42, -7, 2**70 + 3, "1/replay-9", "", b"bytes", 3.5]

DRAWS: dict[str, Callable[[random.Random], Any]] = {
    "getrandbits": lambda r: [r.getrandbits(k) for k in WIDTHS],
    "random": lambda r: [r.random() for _ in range(20)],
    "shuffle": lambda r: [_shuffled(r, n) for n in (0, 1, 2, 3, 7, 100)],
    "choice": lambda r: "".join(r.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(50)),
    "randrange": lambda r: [r.randrange(n) for n in (1, 2, 3, 1000, 2**40, 2**70)],
    "sample": lambda r: r.sample(range(1000), 10),
    "gauss": lambda r: [r.gauss(0, 1) for _ in range(5)],
    "expovariate": lambda r: [r.expovariate(3.0) for _ in range(5)],
    "randbytes": lambda r: r.randbytes(33),
}  # fmt: skip


def _shuffled(r: random.Random, n: int) -> list[int]:
    x = list(range(n))
    r.shuffle(x)
    return x


@pytest.mark.parametrize("seed", SEEDS, ids=repr)
@pytest.mark.parametrize("draw", DRAWS)
def test_every_method_draws_what_random_random_draws(seed: Any, draw: str) -> None:
    want, got = random.Random(seed), SeededRandom(seed)
    for _ in range(3):  # and keeps doing so, past the first twist of the state
        assert DRAWS[draw](got) == DRAWS[draw](want)
        assert got.getstate() == want.getstate()


@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=700))
def test_the_state_round_trips_through_both(seed: int, skip: int) -> None:
    want = random.Random(seed)
    for _ in range(skip):
        want.getrandbits(32)
    got = SeededRandom()
    got.setstate(want.getstate())
    assert got.getstate() == want.getstate()
    assert got.getrandbits(128) == want.getrandbits(128)
    back = random.Random()
    back.setstate(got.getstate())
    assert back.random() == got.random()


def test_copies_and_pickles_keep_the_stream() -> None:
    r = SeededRandom(9)
    r.getrandbits(100)
    for twin in (copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert isinstance(twin, SeededRandom)
        assert twin.getrandbits(64) == copy.copy(r).getrandbits(64)


def test_bad_input_is_refused_as_random_random_refuses_it() -> None:
    with pytest.raises(ValueError, match="number of bits must be non-negative"):
        SeededRandom(1).getrandbits(-1)
    with pytest.raises(ValueError, match="wrong size"):
        MersenneTwister([1, 2, 3])
    with pytest.raises(ValueError, match="index 625 is past 624"):
        MersenneTwister([0] * 624 + [625])


def test_the_fast_path_draws_from_the_stream_python_sees() -> None:
    """Fast-path creates draw in Rust; a full-path create between them (or the engine's
    own Python draws) continues the same sequence: the same uids as a history made with
    every draw through random.Random's methods (the fast path's Python-call fallback)."""

    def svc(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                "spec": {"ports": [{"port": 80}], **spec}}  # fmt: skip

    def history(native: bool) -> list[str]:
        c = Cluster("10.0.0.0/16", seed=5, clock=SimulatedClock())
        engine = c.engine
        if not native:
            engine.set_rng(_plain_copy(c.engine.rng))
        for i in range(30):
            extra = {"clusterIP": f"10.0.9.{i}"} if i % 7 == 3 else {}
            c.create(svc(f"s{i}", **extra))
            if i % 10 == 5:
                c.delete("Service", f"s{i - 1}")
        assert engine.fast_created > 0
        return [s["metadata"]["uid"] + s["spec"]["clusterIP"] for s in c.list("Service")]

    assert history(native=True) == history(native=False)


def _plain_copy(r: random.Random) -> random.Random:
    plain = random.Random()
    plain.setstate(r.getstate())
    return plain


def test_core_of_names_what_rust_draws_from() -> None:
    seeded = SeededRandom(3)
    assert core_of(seeded) is seeded.core
    plain = random.Random(3)
    assert core_of(plain) is plain
