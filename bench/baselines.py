"""Baselines the Rust allocator is measured against: what a user would write without it.

All keep the API and error classes of ``servicecidr._core.CidrAllocator`` for the calls
the benchmarks make (``allocate_next``, ``release``, ``allocate``, ``has``, the ``*_many``
forms, ``used``/``free``/``size``), take and return addresses as text converted with
:mod:`ipaddress`, and so run the very same workload.

* :class:`PythonSetAllocator`: a ``set`` of used integers, free addresses found by
  random probing. No KEP-3070 bands: that only makes it faster.
* :class:`KubernetesScanAllocator`: a ``set`` of used integers searched as Kubernetes
  does (``ipallocator.allocateNextService``): a random start in the upper (dynamic) band,
  a scan upward with wrap-around, then the same in the lower (static) band.
* :class:`RoaringAllocator`: the same scan over a pyroaring ``BitMap`` of *free*
  addresses, where "the first free address at or after x" is one ``next_set_bit``
  call (IPv4 only; needs ``pip install pyroaring==1.2.0``).

And for whole Service creates, :func:`minimal_service_loop`: a dict of Services and a set
of used addresses (``create_table.py`` measures the engine against it).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from typing import Any

from servicecidr.errors import AlreadyAllocatedError, NotInRangeError, RangeFullError

__all__ = [
    "BASELINES",
    "KubernetesScanAllocator",
    "PythonSetAllocator",
    "RoaringAllocator",
    "minimal_service_loop",
    "range_offset",
    "roaring_available",
]


def range_offset(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> int:
    """KEP-3070 ``calculateRangeOffset``: the size of the static (lower) band,
    min(max(16, 2^hostbits / 16), 256), or 0 for ranges of at most 16 addresses."""
    size = 1 << min(63, net.max_prefixlen - net.prefixlen)
    if size <= 16:
        return 0
    return min(max(16, size // 16), 256)


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


class KubernetesScanAllocator(PythonSetAllocator):
    """A set of used integers with the Kubernetes scan (see the module docstring); only
    the choice of the next address differs from :class:`PythonSetAllocator`."""

    def __init__(self, cidr: str, *, seed: int | None = None) -> None:
        super().__init__(cidr, seed=seed)
        net = ipaddress.ip_network(cidr)
        self._mid = self._first + min(range_offset(net), self.size)  # first dynamic address

    def _scan(self, lo: int, hi: int) -> int | None:
        """A free address in [lo, hi]: random start, upward, wrapping once."""
        if lo > hi:
            return None
        used = self._used
        start = self._rng.randint(lo, hi)
        for n in range(start, hi + 1):
            if n not in used:
                return n
        for n in range(lo, start):
            if n not in used:
                return n
        return None

    def allocate_next(self) -> str:
        if len(self._used) >= self.size:
            raise RangeFullError()
        n = self._scan(self._mid, self._last)
        if n is None:
            n = self._scan(self._first, self._mid - 1)
        if n is None:
            raise RangeFullError()
        self._used.add(n)
        return str(self._to_text(n))


def roaring_available() -> bool:
    """Whether pyroaring can be imported."""
    try:
        import pyroaring  # noqa: F401
    except ImportError:
        return False
    return True


class RoaringAllocator:
    """The Kubernetes scan over a pyroaring BitMap of free addresses (IPv4)."""

    def __init__(self, cidr: str, *, seed: int | None = None) -> None:
        from pyroaring import BitMap

        net = ipaddress.ip_network(cidr)
        if net.version != 4:
            raise ValueError("RoaringAllocator: pyroaring's BitMap holds 32-bit values (IPv4)")
        self.cidr = str(net)
        self._first = int(net.network_address) + 1
        self._last = int(net.broadcast_address) - 1
        self.size = max(0, self._last - self._first + 1)
        self._mid = self._first + min(range_offset(net), self.size)
        self._free = BitMap()
        if self.size:
            self._free.add_range(self._first, self._last + 1)
        self._n_free = self.size  # len(BitMap) walks every container: keep a count
        self._rng = random.Random(seed)
        self._to_text = ipaddress.ip_address
        self._bitmap = BitMap

    @property
    def used(self) -> int:
        return self.size - self._n_free

    @property
    def free(self) -> int:
        return self._n_free

    def load_ints(self, addresses: Iterable[int]) -> None:
        """Mark addresses, given as integers, allocated without checks (benchmark setup)."""
        self._free.difference_update(self._bitmap(addresses))
        self._n_free = len(self._free)

    def _scan(self, lo: int, hi: int) -> int | None:
        if lo > hi:
            return None
        free = self._free
        start = self._rng.randint(lo, hi)
        for at in (start, lo):
            try:
                n: int = free.next_set_bit(at)
            except ValueError:  # nothing free at or after `at`
                continue
            if n <= hi:
                return n
        return None

    def allocate_next(self) -> str:
        if not self._n_free:
            raise RangeFullError()
        n = self._scan(self._mid, self._last)
        if n is None:
            n = self._scan(self._first, self._mid - 1)
        if n is None:
            raise RangeFullError()
        self._free.remove(n)
        self._n_free -= 1
        return str(self._to_text(n))

    def allocate_next_many(self, n: int) -> list[str]:
        if n > self.free:
            raise RangeFullError()
        return [self.allocate_next() for _ in range(n)]

    def allocate(self, ip: str) -> None:
        n = int(ipaddress.ip_address(ip))
        if not self._first <= n <= self._last:
            raise NotInRangeError(ip, self.cidr)
        if n not in self._free:
            raise AlreadyAllocatedError()
        self._free.remove(n)
        self._n_free -= 1

    def release(self, ip: str) -> bool:
        n = int(ipaddress.ip_address(ip))
        if self._first <= n <= self._last and n not in self._free:
            self._free.add(n)
            self._n_free += 1
            return True
        return False

    def release_many(self, ips: Iterable[str]) -> int:
        return sum(self.release(ip) for ip in ips)

    def has(self, ip: str) -> bool:
        n = int(ipaddress.ip_address(ip))
        return self._first <= n <= self._last and n not in self._free


#: name -> class, the baselines a comparison runs (pyroaring's only when installed).
BASELINES: dict[str, type] = {
    "python-set-scan": KubernetesScanAllocator,
    "python-set-probe": PythonSetAllocator,
    "pyroaring": RoaringAllocator,
}


def minimal_service_loop(cidr: str, objs: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The minimal pure-Python loop a user would write instead of the engine (issue 16's
    baseline): a dict of Services by ``namespace/name`` and a set of used addresses, each
    Service given a free address by random probing and stored with it as text; no
    validation, no metadata, no log, no IPAddress objects. A name taken or a full range
    raises, as a user's loop would."""
    net = ipaddress.ip_network(cidr)
    first = int(net.network_address) + 1
    size = net.num_addresses - 2
    to_text = ipaddress.ip_address
    services: dict[str, dict[str, Any]] = {}
    used: set[int] = set()
    rng = random.Random(1)
    for obj in objs:
        meta = obj["metadata"]
        key = f"{meta.get('namespace', 'default')}/{meta['name']}"
        if key in services:
            raise KeyError(f"{key} exists")
        if len(used) >= size:
            raise RangeFullError("range is full")
        ip = first + rng.randrange(size)
        while ip in used:
            ip = first + rng.randrange(size)
        used.add(ip)
        services[key] = {**obj, "spec": {**obj["spec"], "clusterIP": str(to_text(ip))}}
    return services
