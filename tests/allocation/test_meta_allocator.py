"""The MetaAllocator on a real Store, table-driven in the style of Kubernetes'
pkg/registry/core/service/ipallocator/cidrallocator_test.go and ipallocator_test.go.

ServiceCIDRs and IPAddresses are written to the store through its one apply, and the
MetaAllocator catches up from the ServiceCIDR keys the apply reports, exactly as the
engine's apply does. An allocation is committed by writing its IPAddress (what the
Service registry puts in the same transaction), a release by deleting it.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

from servicecidr.allocation.meta import MetaAllocator
from servicecidr.errors import (
    AlreadyAllocatedError,
    MismatchedNetworkError,
    RangeFullError,
)
from servicecidr.journal.records import OP_DELETE, OP_PUT
from servicecidr.store import encode_object, new_store

READY_TRUE = [{"type": "Ready", "status": "True"}]


class Ranges:
    """A store, a MetaAllocator attached to it, and the writes a cluster would make."""

    def __init__(self, families: tuple[str, ...] = ("IPv4",), seed: int = 1) -> None:
        self.store = new_store()
        self.meta = MetaAllocator(families, seed, self.store)
        self.rng = random.Random(seed)

    def _apply(self, *writes: tuple[Any, ...]) -> None:
        rv = self.store.revision
        stamped = [
            (op, kind, key, rv + i + 1, blob) for i, (op, kind, key, blob) in enumerate(writes)
        ]
        touched = self.store.apply(stamped)
        if touched is not None:
            for name in dict.fromkeys(touched[0]):
                self.meta.sync_from_store(name)

    def service_cidr(
        self,
        name: str,
        *cidrs: str,
        conditions: list[dict[str, str]] | None = READY_TRUE,
        deleting: bool = False,
    ) -> None:
        meta: dict[str, Any] = {"name": name}
        if deleting:
            meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
            meta["finalizers"] = ["networking.k8s.io/service-cidr-finalizer"]
        sc: dict[str, Any] = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": meta,
            "spec": {"cidrs": list(cidrs)},
        }
        if conditions is not None:
            sc["status"] = {"conditions": conditions}
        self._apply((OP_PUT, "ServiceCIDR", name, encode_object(sc)))

    def delete_service_cidr(self, name: str) -> None:
        self._apply((OP_DELETE, "ServiceCIDR", name, None))

    def commit(self, ip: str) -> None:
        """The IPAddress of an allocation (what makes every other allocator see it)."""
        obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {"name": ip},
            "spec": {"parentRef": {"group": "", "resource": "services", "name": "s"}},
        }
        self._apply((OP_PUT, "IPAddress", ip, encode_object(obj)))

    def release(self, ip: str) -> None:
        assert self.meta.can_release(ip)
        self._apply((OP_DELETE, "IPAddress", ip, None))

    def allocate_next(self, family: str = "IPv4") -> str:
        ip, _ = self.meta.allocate_next(family, self.rng)
        self.commit(ip)
        return ip

    def allocate(self, ip: str) -> None:
        self.meta.allocate(ip)
        self.commit(ip)

    def fill(self, family: str = "IPv4") -> list[str]:
        """allocate_next until the ranges are full; every address is new."""
        got: list[str] = []
        while True:
            try:
                ip = self.allocate_next(family)
            except RangeFullError:
                break
            assert ip not in got, f"{ip} handed out twice"
            got.append(ip)
        return got

    def used(self) -> int:
        return self.store.count("IPAddress")


def in_net(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


# ----------------------------------------------------------------- cidrallocator_test.go


def test_nothing_allocates_before_a_service_cidr_exists() -> None:
    r = Ranges()
    with pytest.raises(RangeFullError, match=r"^range is full$"):
        r.meta.allocate_next("IPv4", r.rng)
    with pytest.raises(
        MismatchedNetworkError, match=r"^the provided network does not match the current range$"
    ):
        r.meta.allocate("10.0.0.1")
    assert r.meta.allocators() == []


def test_allocate_multiple() -> None:
    """TestCIDRAllocateMultiple: a second ServiceCIDR adds its addresses at once."""
    r = Ranges()
    r.service_cidr("test", "192.168.0.0/28")
    found = r.fill()
    assert len(found) == 14
    assert all(in_net(ip, "192.168.0.0/28") for ip in found)
    r.service_cidr("test2", "10.0.0.0/28")
    r.allocate("10.0.0.11")
    found += r.fill()
    assert len(set(found)) == 14 + 13
    assert r.used() == 28
    with pytest.raises(RangeFullError):
        r.meta.allocate_next("IPv4", r.rng)


def test_allocate_shadow() -> None:
    """TestCIDRAllocateShadow: a network address is only allocatable through a larger
    ServiceCIDR that holds it as a usable address."""
    r = Ranges()
    r.service_cidr("test", "192.168.1.0/24")
    with pytest.raises(MismatchedNetworkError):
        r.allocate("192.168.1.0")
    assert r.used() == 0
    r.service_cidr("test2", "192.168.0.0/16")
    r.allocate("192.168.1.0")
    assert r.used() == 1
    # the /24 never counts its network address as allocated; the /16 does
    assert list(r.meta.allocator_for("192.168.0.0/16") or ()) == ["192.168.1.0"]
    assert list(r.meta.allocator_for("192.168.1.0/24") or ()) == []


def test_allocate_grow_never_hands_out_an_address_twice() -> None:
    """TestCIDRAllocateGrow: an overlapping larger ServiceCIDR knows what the smaller one
    handed out (every allocator is marked from the one set of IPAddresses)."""
    r = Ranges()
    r.service_cidr("test", "192.168.0.0/28")
    found = r.fill()
    assert len(found) == 14
    r.service_cidr("test2", "192.168.0.0/24")
    found += r.fill()
    assert len(found) == len(set(found)) == 254


def test_allocate_shrink() -> None:
    """TestCIDRAllocateShrink: replace a /24 by a /28 once its addresses are released."""
    r = Ranges()
    r.service_cidr("test", "192.168.0.0/24")
    found = r.fill()
    assert len(found) == 254
    for ip in found:
        r.release(ip)
    assert r.used() == 0
    r.service_cidr("cidr2", "192.168.0.0/28")
    r.delete_service_cidr("test")
    assert r.meta.allocator_for("192.168.0.0/24") is None
    with pytest.raises(MismatchedNetworkError):
        r.meta.allocate("192.168.0.253")
    assert len(r.fill()) == 14


def test_allocate_ipv6() -> None:
    """TestCIDRAllocateIPv6: a /120 has 2^8 - 1 addresses (no broadcast in IPv6)."""
    r = Ranges(("IPv6",))
    r.service_cidr("test", "fd00:1:2:3::/120")
    found = r.fill("IPv6")
    assert len(found) == 255
    assert all(in_net(ip, "fd00:1:2:3::/120") for ip in found)
    assert "fd00:1:2:3::ff" in found  # the all-ones address is allocatable in IPv6
    for ip in found:
        r.release(ip)
    assert r.used() == 0


def test_a_dual_stack_service_cidr_serves_only_the_configured_families() -> None:
    """TestCIDRAllocateDualStack: an IPv6-only apiserver ignores the IPv4 range."""
    r = Ranges(("IPv6",))
    r.service_cidr("test", "192.168.0.0/24", "fd00:1:2:3::/120")
    assert r.meta.allocator_for("192.168.0.0/24") is None
    assert [p for p, _ in r.meta.allocators()] == ["fd00:1:2:3::/120"]
    with pytest.raises(MismatchedNetworkError):
        r.meta.allocate("192.168.0.1")
    with pytest.raises(RangeFullError):
        r.meta.allocate_next("IPv4", r.rng)
    assert in_net(r.allocate_next("IPv6"), "fd00:1:2:3::/120")


def test_a_dual_stack_apiserver_allocates_each_family_from_its_range() -> None:
    r = Ranges(("IPv4", "IPv6"))
    r.service_cidr("test", "192.168.0.0/24", "fd00:1:2:3::/120")
    assert in_net(r.allocate_next("IPv4"), "192.168.0.0/24")
    assert in_net(r.allocate_next("IPv6"), "fd00:1:2:3::/120")
    r.allocate("fd00:1:2:3::5")
    with pytest.raises(AlreadyAllocatedError):
        r.meta.allocate("fd00:1:2:3::5")


def test_allocate_next_skips_an_allocator_that_is_not_ready() -> None:
    """TestCIDRAllocateNextDontStopOnNot."""
    r = Ranges()
    r.service_cidr("test1", "192.168.0.0/24", conditions=[{"type": "Ready", "status": "False"}])
    r.service_cidr("test2", "192.168.1.0/24")
    for _ in range(200):
        assert in_net(r.allocate_next(), "192.168.1.0/24")


# ------------------------------------------------------------------------------ readiness


@pytest.mark.parametrize(
    ("conditions", "deleting", "ready"),
    [
        (None, False, True),  # no Ready condition: usable before kcm reconciles it
        (READY_TRUE, False, True),
        ([{"type": "Ready", "status": "False", "reason": "Terminating"}], False, False),
        ([{"type": "Ready", "status": "Unknown"}], False, False),
        ([{"type": "Other", "status": "False"}], False, True),
        (READY_TRUE, True, False),  # being deleted
        (None, True, False),
    ],
    ids=[
        "no-condition",
        "ready",
        "not-ready",
        "unknown",
        "other-condition",
        "deleting",
        "deleting-no-condition",
    ],
)
def test_an_allocator_is_ready_when_its_service_cidr_is_usable(
    conditions: list[dict[str, str]] | None, deleting: bool, ready: bool
) -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/24", conditions=conditions, deleting=deleting)
    assert r.meta.is_ready("10.0.0.0/24") is ready
    if ready:
        assert in_net(r.allocate_next(), "10.0.0.0/24")
        r.allocate("10.0.0.5")
    else:
        with pytest.raises(RangeFullError):
            r.meta.allocate_next("IPv4", r.rng)
        with pytest.raises(MismatchedNetworkError):
            r.meta.allocate("10.0.0.5")


def test_a_prefix_shared_by_service_cidrs_lives_as_long_as_one_of_them() -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/24")
    r.service_cidr("b", "10.0.0.0/24", conditions=[{"type": "Ready", "status": "False"}])
    alloc = r.meta.allocator_for("10.0.0.0/24")
    assert alloc is not None
    assert [p for p, _ in r.meta.allocators()] == ["10.0.0.0/24"]  # one allocator, shared
    assert r.meta.is_ready("10.0.0.0/24")  # one usable ServiceCIDR is enough
    r.allocate("10.0.0.7")
    r.delete_service_cidr("a")
    assert r.meta.allocator_for("10.0.0.0/24") is alloc
    assert not r.meta.is_ready("10.0.0.0/24")
    assert r.meta.can_release("10.0.0.7")  # release works through an allocator not ready
    r.delete_service_cidr("b")
    assert r.meta.allocator_for("10.0.0.0/24") is None
    assert not r.meta.can_release("10.0.0.7")
    # a dropped allocator no longer follows the store ...
    r.commit("10.0.0.8")
    assert list(alloc) == ["10.0.0.7"]
    # ... and a new one starts from the IPAddresses stored
    r.service_cidr("c", "10.0.0.0/24")
    fresh = r.meta.allocator_for("10.0.0.0/24")
    assert fresh is not None and fresh is not alloc
    assert list(fresh) == ["10.0.0.7", "10.0.0.8"]


def test_changing_a_service_cidr_moves_it_to_its_new_prefixes() -> None:
    r = Ranges(("IPv4", "IPv6"))
    assert r.meta.sync_service_cidr("a", ["10.0.0.0/24"], True)  # appeared
    assert not r.meta.sync_service_cidr("a", ["10.0.0.0/24"], False)  # readiness only
    assert not r.meta.is_ready("10.0.0.0/24")
    assert r.meta.sync_service_cidr("a", ["10.0.0.0/24", "fd00::/120"], True)  # upgraded
    assert r.meta.sync_service_cidr("a", ["10.1.0.0/24"], True)  # moved
    assert [p for p, _ in r.meta.allocators()] == ["10.1.0.0/24"]
    assert r.meta.sync_service_cidr("a", None, False)  # gone
    assert not r.meta.sync_service_cidr("a", None, False)  # still gone: nothing changed
    assert r.meta.allocators() == []


def test_what_a_raw_write_stored_but_cannot_allocate_is_ignored() -> None:
    r = Ranges()
    r.service_cidr("junk", "not-a-cidr", "10.0.0.1/24", "10.0.0.0/24")
    assert [p for p, _ in r.meta.allocators()] == ["10.0.0.0/24"]


# ------------------------------------------------------------------------------ ipallocator_test.go


@pytest.mark.parametrize(
    ("cidr", "family", "free", "released", "out_of_range", "already_allocated"),
    [
        (
            "192.168.1.0/24",
            "IPv4",
            254,
            "192.168.1.5",
            ["192.168.0.1", "192.168.1.0", "192.168.1.255", "192.168.2.2"],
            "192.168.1.1",
        ),
        (
            "2001:db8:1::/116",
            "IPv6",
            4095,
            "2001:db8:1::5",
            ["2001:db8::1", "2001:db8:1::", "2001:db8:2::2"],
            "2001:db8:1::1",
        ),
    ],
    ids=["IPv4", "IPv6"],
)
def test_allocate_ip_allocator(
    cidr: str,
    family: str,
    free: int,
    released: str,
    out_of_range: list[str],
    already_allocated: str,
) -> None:
    """TestAllocateIPAllocator, through the MetaAllocator: the meta allocator reports an
    address in no usable range as a mismatched network (not ErrNotInRange)."""
    r = Ranges((family,))
    r.service_cidr("test", cidr)
    alloc = r.meta.allocator_for(cidr)
    assert alloc is not None and (alloc.free, alloc.used) == (free, 0)
    found = r.fill(family)
    assert len(found) == free
    assert released in found
    r.release(released)
    assert (alloc.free, alloc.used) == (1, free - 1)
    assert r.allocate_next(family) == released  # the only free address
    r.release(released)
    for ip in out_of_range:
        with pytest.raises(MismatchedNetworkError):
            r.meta.allocate(ip)
    with pytest.raises(AlreadyAllocatedError, match=r"^provided IP is already allocated$"):
        r.meta.allocate(already_allocated)
    assert (alloc.free, alloc.used) == (1, free - 1)
    r.allocate(released)
    assert (alloc.free, alloc.used) == (0, free)


def test_allocate_reserved_ip_allocator() -> None:
    """TestAllocateReservedIPAllocator (KEP-3070): dynamic allocation fills the upper band
    first; the lower 16 addresses of a /25 stay for specific requests."""
    r = Ranges()
    r.service_cidr("test", "192.168.1.0/25")
    alloc = r.meta.allocator_for("192.168.1.0/25")
    assert alloc is not None and alloc.range_offset == 16
    dynamic = [r.allocate_next() for _ in range(alloc.size - 16)]
    assert sorted(dynamic, key=ipaddress.ip_address) == [f"192.168.1.{i}" for i in range(17, 127)]
    assert alloc.free == 16
    for i in range(1, 17):
        r.allocate(f"192.168.1.{i}")
    assert alloc.free == 0
    r.release("192.168.1.10")
    assert r.allocate_next() == "192.168.1.10"


@pytest.mark.parametrize(
    ("cidr", "size"),
    [("192.168.1.240/30", 2), ("192.168.1.0/31", 0), ("192.168.1.0/32", 0), ("fd00::/127", 1)],
)
def test_allocate_small_and_tiny(cidr: str, size: int) -> None:
    """TestAllocateSmallIPAllocator / TestAllocateTinyIPAllocator."""
    r = Ranges(("IPv4", "IPv6"))
    r.service_cidr("test", cidr)
    family = "IPv6" if ":" in cidr else "IPv4"
    found = r.fill(family)
    assert len(found) == size
    for ip in found:
        with pytest.raises(AlreadyAllocatedError):
            r.meta.allocate(ip)
    for _ in range(20):
        with pytest.raises(RangeFullError):
            r.meta.allocate_next(family, r.rng)


# ------------------------------------------------------------------------------ IPv6 sizes


def test_an_ipv6_slash_64_allocates() -> None:
    r = Ranges(("IPv6",))
    r.service_cidr("big", "fd00:10::/64")
    alloc = r.meta.allocator_for("fd00:10::/64")
    assert alloc is not None and alloc.size == 2**64 - 1
    ips = [r.allocate_next("IPv6") for _ in range(50)]
    assert len(set(ips)) == 50 and all(in_net(ip, "fd00:10::/64") for ip in ips)
    r.allocate("fd00:10::ffff:ffff:ffff:ffff")


@pytest.mark.parametrize("cidr", ["fd00:10::/63", "fd00:10::/48", "fd00::/8"])
def test_an_ipv6_prefix_shorter_than_64_is_stored_but_never_allocates(cidr: str) -> None:
    # NewIPAllocator: "shortest allowed prefix length for service CIDR is 64"
    r = Ranges(("IPv6",))
    r.service_cidr("big", cidr)
    assert r.store.contains("ServiceCIDR", "big")
    assert r.meta.allocator_for(cidr) is None
    assert not r.meta.is_ready(cidr)
    with pytest.raises(RangeFullError):
        r.meta.allocate_next("IPv6", r.rng)
    with pytest.raises(MismatchedNetworkError):
        r.meta.allocate("fd00:10::1")
    assert not r.meta.can_release("fd00:10::1")
    # beside a /64 inside it, only the /64 serves
    r.service_cidr("small", "fd00:10::/64")
    assert in_net(r.allocate_next("IPv6"), "fd00:10::/64")


def test_a_family_the_apiserver_is_not_configured_for_never_allocates() -> None:
    r = Ranges(("IPv4",))
    r.service_cidr("v6", "fd00::/120")
    assert r.meta.allocators() == []
    with pytest.raises(RangeFullError):
        r.meta.allocate_next("IPv6", r.rng)
    with pytest.raises(MismatchedNetworkError):
        r.meta.allocate("fd00::1")


# ------------------------------------------------------------------------------ overlaps


def test_overlapping_ranges_share_one_set_of_addresses() -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/28")
    r.service_cidr("b", "10.0.0.0/27")
    r.service_cidr("c", "10.0.0.16/28")
    found = r.fill()
    # the usable addresses of the union: 10.0.0.1 .. 10.0.0.30 (the /27's)
    assert sorted(found, key=ipaddress.ip_address) == [f"10.0.0.{i}" for i in range(1, 31)]
    for ip in ("10.0.0.5", "10.0.0.20", "10.0.0.16"):
        with pytest.raises(AlreadyAllocatedError):
            r.meta.allocate(ip)
    for prefix, alloc in r.meta.allocators():
        assert alloc.free == 0, prefix
    r.release("10.0.0.20")
    assert r.allocate_next() == "10.0.0.20"


# ------------------------------------------------------------------------------ dry runs


def test_a_dry_run_dynamic_allocation_returns_a_network_address_unchecked() -> None:
    # ipallocator.go allocateNextService: "Don't bother finding a free value"
    r = Ranges()
    with pytest.raises(RangeFullError):
        r.meta.dry_run_next("IPv4", r.rng)
    r.service_cidr("a", "10.0.0.0/30")
    r.fill()
    assert r.meta.dry_run_next("IPv4", r.rng) == "10.0.0.0"  # even when full
    r.service_cidr("b", "10.1.0.0/24")
    seen = {r.meta.dry_run_next("IPv4", r.rng) for _ in range(40)}
    assert seen == {"10.0.0.0", "10.1.0.0"}
    assert r.used() == 2
    assert list(r.meta.allocator_for("10.1.0.0/24") or ()) == []


def test_a_dry_run_specific_allocation_checks_the_range_and_marks_nothing() -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/24")
    r.service_cidr("t", "10.1.0.0/24", deleting=True)
    r.meta.check("10.0.0.9")
    for ip in ("10.0.0.0", "10.0.0.255", "10.2.0.1", "10.1.0.1"):
        with pytest.raises(MismatchedNetworkError):
            r.meta.check(ip)
    assert list(r.meta.allocator_for("10.0.0.0/24") or ()) == []


def test_a_dry_run_specific_allocation_does_not_check_whether_the_address_is_free() -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/24")
    r.allocate("10.0.0.9")
    r.meta.check("10.0.0.9")


# ------------------------------------------------------------------------------ release


@pytest.mark.parametrize(
    ("ip", "releasable"),
    [
        ("10.0.0.9", True),  # in a ready range
        ("10.1.0.9", True),  # in a terminating range only: release ignores readiness
        ("10.0.0.0", False),  # a network address is in no range
        ("10.1.0.255", False),  # nor a broadcast address
        ("10.9.0.1", False),
        ("fd00::1", False),
    ],
)
def test_release_goes_through_any_allocator_containing_the_address(
    ip: str, releasable: bool
) -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/24")
    r.service_cidr("t", "10.1.0.0/24", deleting=True)
    assert r.meta.can_release(ip) is releasable


# ----------------------------------------------------------------- determinism and restore


def _sequence(seed: int, rng_seed: int) -> list[str]:
    r = Ranges(seed=seed)
    r.rng = random.Random(rng_seed)
    r.service_cidr("a", "10.0.0.0/24")
    r.service_cidr("b", "10.1.0.0/24")
    return [r.allocate_next() for _ in range(20)]


def test_the_same_seeds_give_the_same_addresses() -> None:
    assert _sequence(1, 7) == _sequence(1, 7)
    assert _sequence(1, 7) != _sequence(2, 7)
    assert _sequence(1, 7) != _sequence(1, 8)


def test_reseeding_gives_each_allocator_a_new_stream() -> None:
    def run(reseed: int | None) -> list[str]:
        r = Ranges()
        r.service_cidr("a", "10.0.0.0/16")
        if reseed is not None:
            r.meta.reseed(random.Random(reseed))
        return [r.allocate_next() for _ in range(10)]

    assert run(5) == run(5)
    assert run(5) != run(None)


def test_restoring_allocators_from_snapshots_or_from_the_objects() -> None:
    r = Ranges()
    r.service_cidr("a", "10.0.0.0/24")
    r.service_cidr("b", "10.1.0.0/24")
    taken = [r.allocate_next(), r.allocate_next(), "10.1.0.5"]
    r.allocate("10.1.0.5")
    saved = {p: a.snapshot() for p, a in r.meta.allocators()}
    saved["10.1.0.0/24"] = b"damaged"
    r.meta.restore_allocators(saved)
    marked = sorted(ip for _, a in r.meta.allocators() for ip in a)
    assert marked == sorted(taken)
    # both stay attached to the store
    r.commit("10.0.0.77")
    r.commit("10.1.0.77")
    assert "10.0.0.77" in (r.meta.allocator_for("10.0.0.0/24") or ())
    assert "10.1.0.77" in (r.meta.allocator_for("10.1.0.0/24") or ())
