"""Property tests: the extension against a plain-Python model of one range.

The Rust crate has its own proptest suite; this one checks the same invariants through
the Python boundary (argument translation, error classes, batches, snapshots).
"""

from __future__ import annotations

import ipaddress

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from servicecidr._core import CidrAllocator
from servicecidr.errors import (
    AlreadyAllocatedError,
    InvalidInputError,
    NotInRangeError,
    RangeFullError,
)

CIDRS = ["10.0.0.0/28", "10.0.0.0/27", "10.0.0.0/24", "10.0.0.0/30", "fd00::/120", "fd00::/64"]


class AllocatorMachine(RuleBasedStateMachine):
    a: CidrAllocator
    net: ipaddress.IPv4Network | ipaddress.IPv6Network
    usable: tuple[int, int]
    held: set[str]

    @initialize(cidr=st.sampled_from(CIDRS), seed=st.integers(0, 2**64 - 1))
    def start(self, cidr: str, seed: int) -> None:
        self.a = CidrAllocator(cidr, seed=seed)
        self.net = ipaddress.ip_network(cidr)
        first = int(self.net.network_address) + 1
        last = int(self.net.broadcast_address) - (1 if self.net.version == 4 else 0)
        self.usable = (first, last)
        self.held = set()

    def _near(self, k: int) -> str:
        """An address around the range: a little below, inside, a little above."""
        base = int(self.net.network_address)
        span = min(self.a.size, 300) + 3
        return str(ipaddress.ip_address(base + k % span))

    def _usable(self, ip: str) -> bool:
        value = int(ipaddress.ip_address(ip))
        return self.usable[0] <= value <= self.usable[1]

    @rule()
    def allocate_next(self) -> None:
        if len(self.held) == self.a.size:
            try:
                self.a.allocate_next()
            except RangeFullError:
                return
            raise AssertionError("allocate_next succeeded on a full range")
        ip = self.a.allocate_next()
        assert self._usable(ip)
        assert ip not in self.held
        self.held.add(ip)

    @rule(n=st.integers(0, 20))
    def allocate_next_many(self, n: int) -> None:
        if n > self.a.size - len(self.held):
            try:
                self.a.allocate_next_many(n)
            except RangeFullError:
                return
            raise AssertionError("allocate_next_many overcommitted")
        got = self.a.allocate_next_many(n)
        assert len(set(got)) == n and self.held.isdisjoint(got)
        self.held.update(got)

    @rule(k=st.integers(0, 10_000))
    def allocate(self, k: int) -> None:
        ip = self._near(k)
        if not self._usable(ip):
            try:
                self.a.allocate(ip)
            except NotInRangeError:
                return
            raise AssertionError(f"{ip} allocated outside the usable range")
        if ip in self.held:
            try:
                self.a.allocate(ip)
            except AlreadyAllocatedError:
                return
            raise AssertionError(f"{ip} allocated twice")
        self.a.allocate(ip)
        self.held.add(ip)

    @rule(ks=st.lists(st.integers(0, 10_000), max_size=6))
    def allocate_many(self, ks: list[int]) -> None:
        ips = [self._near(k) for k in ks]
        ok = (
            all(self._usable(ip) for ip in ips)
            and self.held.isdisjoint(ips)
            and len(set(ips)) == len(ips)
        )
        before = list(self.a)
        try:
            self.a.allocate_many(ips)
        except (NotInRangeError, AlreadyAllocatedError):
            assert not ok
            assert list(self.a) == before, "a failed batch changed something"
            return
        assert ok
        self.held.update(ips)

    @rule(k=st.integers(0, 10_000))
    def release(self, k: int) -> None:
        ip = self._near(k)
        assert self.a.release(ip) == (ip in self.held)
        self.held.discard(ip)
        assert not self.a.release(ip)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def release_many(self, data: st.DataObject) -> None:
        some = data.draw(st.lists(st.sampled_from(sorted(self.held)), max_size=5))
        assert self.a.release_many(some) == len(set(some))
        self.held.difference_update(some)

    @rule(text=st.text(max_size=12))
    def garbage_is_refused_or_understood(self, text: str) -> None:
        try:
            canonical = str(ipaddress.ip_address(text))
        except ValueError:
            canonical = None
        try:
            has = self.a.has(text)
        except InvalidInputError:
            return
        # Python's ipaddress is laxer in places (e.g. it accepts IPv4-mapped IPv6), so
        # only check agreement when the extension accepted the text.
        assert canonical is not None
        assert has == (canonical in self.held)

    @rule()
    def snapshot_round_trip(self) -> None:
        b = CidrAllocator.restore(self.a.cidr, self.a.snapshot())
        assert list(b) == list(self.a)
        assert b.snapshot() == self.a.snapshot()

    @invariant()
    def counts_agree(self) -> None:
        assert self.a.used + self.a.free == self.a.size
        assert self.a.used == len(self.held) == len(self.a)
        assert list(self.a) == sorted(self.held, key=ipaddress.ip_address)


TestAllocatorMachine = AllocatorMachine.TestCase
TestAllocatorMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
