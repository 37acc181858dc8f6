"""The engine's random stream: a ``random.Random`` whose generator lives in Rust.

Every decision the engine draws (uids, the MetaAllocator's order of ranges, node ports,
generated names) comes from one seeded stream, so a seed replays a history exactly. The
one-call Service create (:mod:`servicecidr.registry.service_fast`) draws from that stream
on every Service; asking a Python object for its bits cost more than the rest of the
draw. :class:`SeededRandom` keeps CPython's MT19937 state in ``_core.MersenneTwister``:
Python code calls ``getrandbits``/``random`` (and everything ``random.Random`` builds on
them: ``shuffle``, ``choice``, ``randrange``, ...) while Rust draws directly, and both
consume the one sequence ``random.Random`` itself would give for the same seed.
"""

from __future__ import annotations

import random
from typing import Any

from servicecidr._core import MersenneTwister

__all__ = ["SeededRandom", "core_of"]


class SeededRandom(random.Random):
    """``random.Random(seed)``, drawn in Rust: the same numbers for the same seed (and the
    same state), by every method. ``core`` is the generator the fast path draws from."""

    core: MersenneTwister

    def seed(self, a: Any = None, version: int = 2) -> None:
        """Seed as ``random.Random.seed`` does."""
        super().seed(a, version)
        self.core = MersenneTwister(super().getstate()[1])

    def getrandbits(self, k: int, /) -> int:
        """``k`` random bits as an int."""
        return self.core.getrandbits(k)

    def random(self) -> float:
        """A float in [0, 1)."""
        return self.core.random()

    def getstate(self) -> tuple[Any, ...]:
        """The state, as ``random.Random.getstate`` gives it."""
        # gauss_next: random.Random's own attribute (typeshed does not declare it)
        return (self.VERSION, self.core.getstate(), vars(self).get("gauss_next"))

    def setstate(self, state: tuple[Any, ...]) -> None:
        """Restore a state ``getstate`` gave (this class's or ``random.Random``'s)."""
        super().setstate(state)
        self.core = MersenneTwister(super().getstate()[1])


def core_of(rng: random.Random) -> Any:
    """What the fast path draws from: a :class:`SeededRandom`'s generator, or any other
    ``random.Random`` itself (drawn through its methods)."""
    return rng.core if isinstance(rng, SeededRandom) else rng
