"""Pure-Python baselines the Rust allocator is measured against.

:class:`PythonSetAllocator` is what a user would write without the extension: the
allocated addresses as a ``set`` of integers, free addresses found by random probing,
text converted with :mod:`ipaddress`. It keeps the same API and error classes as
``servicecidr._core.CidrAllocator`` for the calls the benchmarks make, so the two run
the very same workload. It has no KEP-3070 bands: that only makes it faster.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable

from servicecidr.errors import AlreadyAllocatedError, NotInRangeError, RangeFullError


class PythonSetAllocator:
    """A set of used integer addresses with random probing."""

    def __init__(self, cidr: str, *, seed: int | None = None) -> None:
        net = ipaddress.ip_network(cidr)
        self.cidr = str(net)
        self._first = int(net.network_address) + 1
        self._last = int(net.broadcast_address) - (1 if net.version == 4 else 0)
        self.size = max(0, self._last - self._first + 1)
        self._used: set[int] = set()
        self._rng = random.Random(seed)
        self._to_text = ipaddress.ip_address

    @property
    def used(self) -> int:
        return len(self._used)

    @property
    def free(self) -> int:
        return self.size - len(self._used)

    def load(self, addresses: Iterable[str]) -> None:
        """Mark addresses allocated without any checks (benchmark setup)."""
        self._used.update(int(ipaddress.ip_address(ip)) for ip in addresses)

    def load_ints(self, addresses: Iterable[int]) -> None:
        """Mark addresses, given as integers, allocated without checks (benchmark setup)."""
        self._used.update(addresses)

    def allocate(self, ip: str) -> None:
        n = int(ipaddress.ip_address(ip))
        if not self._first <= n <= self._last:
            raise NotInRangeError(ip, self.cidr)
        if n in self._used:
            raise AlreadyAllocatedError()
        self._used.add(n)

    def allocate_next(self) -> str:
        if len(self._used) >= self.size:
            raise RangeFullError()
        randint, used = self._rng.randint, self._used
        while True:
            n = randint(self._first, self._last)
            if n not in used:
                used.add(n)
                return str(self._to_text(n))

    def allocate_next_many(self, n: int) -> list[str]:
        if n > self.free:
            raise RangeFullError()
        return [self.allocate_next() for _ in range(n)]

    def release(self, ip: str) -> bool:
        n = int(ipaddress.ip_address(ip))
        if n in self._used:
            self._used.remove(n)
            return True
        return False

    def release_many(self, ips: Iterable[str]) -> int:
        return sum(self.release(ip) for ip in ips)

    def has(self, ip: str) -> bool:
        return int(ipaddress.ip_address(ip)) in self._used
