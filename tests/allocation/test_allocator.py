"""The Rust allocation core (``servicecidr._core``) against kube-apiserver's ipallocator.

The tables follow ``pkg/registry/core/service/ipallocator/ipallocator_test.go`` and
``bitmap_test.go`` (TestAllocateIPAllocator, Test_hostsPerNetwork, TestAllocateTiny,
TestAllocateSmall, TestAllocateReserved, TestForEach, TestSnapshot, the metrics tests),
each case keeping the reason Kubernetes gives for it.
"""

from __future__ import annotations

import copy
import ipaddress
import pickle
import threading

import pytest

from servicecidr._core import CidrAllocator, parse_cidr, parse_ip
from servicecidr.errors import (
    AllocationError,
    AlreadyAllocatedError,
    InvalidInputError,
    NotInRangeError,
    RangeFullError,
)

# --------------------------------------------------------------------------------------
# Range shape: size (hostsPerNetwork), KEP-3070 offset (calculateRangeOffset), ends
# --------------------------------------------------------------------------------------

TOP_65 = "2001:db8::7fff:ffff:ffff:ffff"
TOP_64 = "2001:db8::ffff:ffff:ffff:ffff"

RANGES = [
    # cidr, family, size, offset, first usable, last usable, why
    ("192.168.1.0/24", "IPv4", 254, 16, "192.168.1.1", "192.168.1.254", "network and broadcast"),
    ("192.168.1.0/25", "IPv4", 126, 16, "192.168.1.1", "192.168.1.126", "offset floor of 16"),
    ("192.168.1.0/27", "IPv4", 30, 16, "192.168.1.1", "192.168.1.30", "smallest banded IPv4"),
    ("10.96.0.0/28", "IPv4", 14, 0, "10.96.0.1", "10.96.0.14", "2^h <= 16: no bands"),
    ("192.168.1.240/30", "IPv4", 2, 0, "192.168.1.241", "192.168.1.242", "TestAllocateSmall"),
    ("192.168.1.0/31", "IPv4", 0, 0, None, None, "point-to-point: nothing usable"),
    ("192.168.1.0/32", "IPv4", 0, 0, None, None, "single host: nothing usable"),
    ("10.0.0.0/20", "IPv4", 4094, 256, "10.0.0.1", "10.0.15.254", "offset ceiling of 256"),
    ("10.0.0.0/21", "IPv4", 2046, 128, "10.0.0.1", "10.0.7.254", "offset 2^h/16"),
    ("10.0.0.0/15", "IPv4", 131070, 256, "10.0.0.1", "10.1.255.254", "bitmap_test IPv4 large"),
    ("10.0.0.0/12", "IPv4", 1048574, 256, "10.0.0.1", "10.15.255.254", "default-sized range"),
    ("0.0.0.0/1", "IPv4", 2**31 - 2, 256, "0.0.0.1", "127.255.255.254", "very large IPv4"),
    ("0.0.0.0/0", "IPv4", 2**32 - 2, 256, "0.0.0.1", "255.255.255.254", "full IPv4 range"),
    ("2001:db2::/112", "IPv6", 65535, 256, "2001:db2::1", "2001:db2::ffff", "all-ones usable"),
    ("2001:db8:1::/116", "IPv6", 4095, 256, "2001:db8:1::1", "2001:db8:1::fff", "ipallocator"),
    ("fd00::/120", "IPv6", 255, 16, "fd00::1", "fd00::ff", "IPv6 /120"),
    ("fd00::/124", "IPv6", 15, 0, "fd00::1", "fd00::f", "2^h <= 16: no bands"),
    ("2001:db8::/127", "IPv6", 1, 0, "2001:db8::1", "2001:db8::1", "small IPv6 cidr"),
    ("2001:db8::/128", "IPv6", 0, 0, None, None, "single IPv6 host"),
    ("2001:db8::/65", "IPv6", 2**63 - 1, 256, "2001:db8::1", TOP_65, "largest for int64"),
    ("2001:db8::/64", "IPv6", 2**64 - 1, 256, "2001:db8::1", TOP_64, "largest for uint64"),
]


@pytest.mark.parametrize(
    ("cidr", "family", "size", "offset", "first", "last", "why"),
    RANGES,
    ids=[r[0] for r in RANGES],
)
def test_range_shape(
    cidr: str,
    family: str,
    size: int,
    offset: int,
    first: str | None,
    last: str | None,
    why: str,
) -> None:
    a = CidrAllocator(cidr, seed=0)
    assert (a.cidr, a.ip_family, a.size, a.range_offset) == (cidr, family, size, offset), why
    assert (a.used, a.free, len(a)) == (0, size, 0)
    if first is None or last is None:
        return
    assert a.contains(first) and a.contains(last)
    lo, hi = ipaddress.ip_address(first), ipaddress.ip_address(last)
    assert not a.contains(str(lo - 1)), "the network address is never usable"
    net = ipaddress.ip_network(cidr)
    if hi + 1 in net:
        assert not a.contains(str(hi + 1)), "the IPv4 broadcast address is never usable"
    else:
        assert family == "IPv6" or hi == net.broadcast_address - 1


# --------------------------------------------------------------------------------------
# TestAllocateIPAllocator (and bitmap_test TestAllocate, same table)
# --------------------------------------------------------------------------------------

ALLOCATE_CASES = [
    pytest.param(
        "192.168.1.0/24",
        254,
        "192.168.1.5",
        [
            ("192.168.0.1", "not in 192.168.1.0/24"),
            ("192.168.1.0", "reserved (base address)"),
            ("192.168.1.255", "reserved (broadcast address)"),
            ("192.168.2.2", "not in 192.168.1.0/24"),
        ],
        "192.168.1.1",
        id="IPv4",
    ),
    pytest.param(
        "10.0.0.0/15",
        131070,
        "10.0.0.5",
        [
            ("10.0.0.0", "reserved (base address)"),
            ("10.1.255.255", "reserved (broadcast address)"),
            ("10.15.255.255", "not in range (upstream calls it the broadcast of a /12)"),
            ("10.255.255.2", "not in range"),
        ],
        "10.0.0.1",
        id="IPv4 large",
    ),
    pytest.param(
        "2001:db8:1::/116",
        4095,
        "2001:db8:1::5",
        [
            ("2001:db8::1", "not in 2001:db8:1::/116"),
            ("2001:db8:1::", "reserved (base address)"),
            ("2001:db8:1::1000", "just past the last address"),
            ("2001:db8:2::2", "not in 2001:db8:1::/116"),
            ("192.168.1.1", "another family"),
        ],
        "2001:db8:1::1",
        id="IPv6",
    ),
]


@pytest.mark.parametrize(
    ("cidr", "free", "released", "out_of_range", "already_allocated"), ALLOCATE_CASES
)
def test_allocate_whole_range(
    cidr: str,
    free: int,
    released: str,
    out_of_range: list[tuple[str, str]],
    already_allocated: str,
) -> None:
    a = CidrAllocator(cidr, seed=1)
    assert a.free == free
    found: set[str] = set()
    while a.free > 0:
        batch = a.allocate_next_many(min(a.free, 4096))
        assert found.isdisjoint(batch), "an address was handed out twice"
        found.update(batch)
    assert len(found) == free
    with pytest.raises(RangeFullError):
        a.allocate_next()

    assert released in found
    assert a.release(released)
    assert (a.free, a.used) == (1, free - 1)
    assert a.allocate_next() == released, "the only free address must be found"
    assert a.release(released)

    for ip, why in out_of_range:
        with pytest.raises(NotInRangeError) as info:
            a.allocate(ip)
        assert str(info.value) == (
            f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
        ), why
        assert (info.value.ip, info.value.valid_range) == (ip, cidr)
    with pytest.raises(AlreadyAllocatedError) as dup:
        a.allocate(already_allocated)
    assert str(dup.value) == "provided IP is already allocated"
    assert (a.free, a.used) == (1, free - 1)
    a.allocate(released)
    assert (a.free, a.used) == (0, free)


# --------------------------------------------------------------------------------------
# Small, tiny and reserved ranges
# --------------------------------------------------------------------------------------


def test_slash_28_hands_out_1_to_14_then_is_full() -> None:
    a = CidrAllocator("10.96.0.0/28")
    got = [a.allocate_next() for _ in range(14)]
    assert sorted(got, key=ipaddress.ip_address) == [f"10.96.0.{i}" for i in range(1, 15)]
    with pytest.raises(RangeFullError) as info:
        a.allocate_next()
    assert str(info.value) == "range is full"
    assert isinstance(info.value, AllocationError)


@pytest.mark.parametrize("cidr", ["192.168.1.0/32", "192.168.1.0/31", "2001:db8::/128"])
def test_tiny_ranges_are_always_full(cidr: str) -> None:
    """TestAllocateTiny: a /32 (and /31, /128) has no usable address."""
    a = CidrAllocator(cidr)
    assert a.free == 0
    with pytest.raises(RangeFullError):
        a.allocate_next()
    with pytest.raises(RangeFullError):
        a.allocate_next_many(1)
    assert a.allocate_next_many(0) == []


def test_small_range() -> None:
    """TestAllocateSmall: a /30 holds two addresses, then stays full."""
    a = CidrAllocator("192.168.1.240/30")
    assert a.free == 2
    found = {a.allocate_next(), a.allocate_next()}
    assert found == {"192.168.1.241", "192.168.1.242"}
    for ip in found:
        assert a.has(ip)
        with pytest.raises(AlreadyAllocatedError):
            a.allocate(ip)
    for _ in range(100):
        with pytest.raises(RangeFullError):
            a.allocate_next()
    assert a.free == 0


def test_reserved_lower_band() -> None:
    """TestAllocateReserved: dynamic allocation fills the upper band first; the lower
    (static) band stays free for specific requests until the upper band is full."""
    a = CidrAllocator("192.168.1.0/25", seed=3)
    offset = a.range_offset
    assert offset == 16
    dynamic = a.allocate_next_many(a.size - offset)
    assert {ipaddress.ip_address(ip) for ip in dynamic} == {
        ipaddress.ip_address(f"192.168.1.{i + 1}") for i in range(offset, a.size)
    }
    assert a.free == offset
    for i in range(offset):
        a.allocate(f"192.168.1.{i + 1}")
    assert a.free == 0
    assert a.release("192.168.1.10")
    assert a.allocate_next() == "192.168.1.10"
    assert a.free == 0


def test_bands_on_a_slash_24() -> None:
    a = CidrAllocator("192.168.0.0/24", seed=11)
    lower = {f"192.168.0.{i}" for i in range(1, 17)}
    first16 = [a.allocate_next() for _ in range(16)]
    assert lower.isdisjoint(first16), "the static band is used while the dynamic one has room"
    rest = a.allocate_next_many(254 - 16 - 16)
    assert lower.isdisjoint(rest)
    assert set(a.allocate_next_many(16)) == lower, "then the static band is used"
    with pytest.raises(RangeFullError):
        a.allocate_next()


def test_ipv6_shorter_than_64_is_refused() -> None:
    """NewIPAllocator refuses it; bitmap_test's 2001:db8:1::/48 case is legacy only."""
    with pytest.raises(InvalidInputError) as info:
        CidrAllocator("2001:db8:1::/48")
    assert str(info.value) == "shortest allowed prefix length for service CIDR is 64, got 48"
    assert parse_cidr("2001:db8:1::/48") == ("2001:db8:1::/48", "IPv6"), "valid as a CIDR"


def test_metrics_scenario_counts() -> None:
    """TestIPAllocatorClusterIPMetrics: 264 dynamic allocations in a /24 and an IPv6 /112."""
    v4 = CidrAllocator("10.0.0.0/24")
    v6 = CidrAllocator("2001:db8::/112")
    errors = 0
    for _ in range(264):
        try:
            v4.allocate_next()
        except RangeFullError:
            errors += 1
        v6.allocate_next()
    assert (v4.free, v4.used, errors) == (0, 254, 10)
    assert (v6.free, v6.used) == (65271, 264)


# --------------------------------------------------------------------------------------
# has / contains / release / iteration (TestForEach)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ips",
    [
        set(),
        {"192.168.1.1"},
        {"192.168.1.1", "192.168.1.254"},
        {"192.168.1.1", "192.168.1.128", "192.168.1.254"},
    ],
)
def test_for_each(ips: set[str]) -> None:
    a = CidrAllocator("192.168.1.0/24")
    for ip in ips:
        a.allocate(ip)
        assert a.has(ip) and ip in a
    assert list(a) == sorted(ips, key=ipaddress.ip_address), "address order"
    assert len(a) == len(ips)


def test_release_is_idempotent_and_ignores_foreign_addresses() -> None:
    a = CidrAllocator("10.0.0.0/24")
    a.allocate("10.0.0.9")
    assert a.release("10.0.0.9") is True
    assert a.release("10.0.0.9") is False
    assert a.release("10.0.0.0") is False, "network address: outside the range, no-op"
    assert a.release("10.9.9.9") is False
    assert a.release("fd00::1") is False
    assert a.used == 0


def test_has_and_contains() -> None:
    a = CidrAllocator("fd00:1:2:3::/64")
    top = "fd00:1:2:3:ffff:ffff:ffff:ffff"
    assert a.contains(top) and not a.has(top)
    a.allocate(top)
    assert a.has(top)
    assert a.has("FD00:1:2:3:FFFF:FFFF:FFFF:FFFF"), "non-canonical text names the same address"
    assert not a.contains("fd00:1:2:3::")
    assert not a.contains("10.0.0.1") and not a.has("10.0.0.1")
    assert list(a) == [top]


def test_contains_operator_never_raises() -> None:
    a = CidrAllocator("10.0.0.0/24")
    a.allocate("10.0.0.1")
    assert "10.0.0.1" in a
    assert "10.0.0.2" not in a
    assert "garbage" not in a
    assert 5 not in a
    with pytest.raises(InvalidInputError):
        a.has("garbage")


def test_iteration_is_a_snapshot_in_address_order() -> None:
    a = CidrAllocator("10.0.0.0/16", seed=2)
    a.allocate_next_many(500)
    it = iter(a)
    a.allocate_next_many(10)
    listed = list(it)
    assert len(listed) == 500
    assert listed == sorted(listed, key=ipaddress.ip_address)
    assert len(list(a)) == 510


# --------------------------------------------------------------------------------------
# Malformed input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("10.0.0.1/24", "must not have bits set beyond the prefix length"),
        ("abc", "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
        ("", "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
        ("192.168.0.1", "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
        ("10.0.0.0/33", "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
        ("::ffff:1.2.3.4", "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
        ("::ffff:10.0.0.0/104", "must not have an IPv4-mapped IPv6 address"),
        ("192.168.007.0/24", "must not have leading 0s in IP or prefix length"),
        ("10.0.0.0/024", "must not have leading 0s in IP or prefix length"),
        ("2001:db8::1/64", "must not have bits set beyond the prefix length"),
    ],
)
def test_malformed_cidr(text: str, detail: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        CidrAllocator(text)
    assert str(info.value) == f'invalid CIDR "{text}": {detail}'
    with pytest.raises(InvalidInputError):
        parse_cidr(text)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("abc", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ("10.0.0.1/24", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ("fe80::1%eth0", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ("", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ("1.2.3.4 ", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
        ("::ffff:1.2.3.4", "must not be an IPv4-mapped IPv6 address"),
        ("010.96.0.1", "must not have leading 0s"),
    ],
)
def test_malformed_ip(text: str, detail: str) -> None:
    a = CidrAllocator("10.96.0.0/12")
    for method in (a.allocate, a.release, a.has, a.contains, parse_ip):
        with pytest.raises(InvalidInputError) as info:
            method(text)
        assert str(info.value) == f'invalid IP address "{text}": {detail}'
        assert isinstance(info.value, ValueError)
    assert a.used == 0


def test_bad_argument_types() -> None:
    a = CidrAllocator("10.0.0.0/24")
    with pytest.raises(TypeError):
        CidrAllocator("10.0.0.0/24", seed="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.allocate_many("10.0.0.1")
    with pytest.raises(TypeError):
        a.allocate_many([1])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        a.allocate_next_many(-1)
    assert a.used == 0


@pytest.mark.parametrize(
    ("text", "canonical", "family"),
    [
        ("10.96.0.1", "10.96.0.1", "IPv4"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1", "IPv6"),
        ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1", "IPv6"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "IPv6"),
        ("2001:4860:4860:0::8888", "2001:4860:4860::8888", "IPv6"),
        ("::", "::", "IPv6"),
        ("0:0:0:0:0:0:0:1", "::1", "IPv6"),
        ("00fc::1", "fc::1", "IPv6"),
        ("::1.2.3.4", "::102:304", "IPv6"),
    ],
)
def test_parse_ip_canonical_form(text: str, canonical: str, family: str) -> None:
    assert parse_ip(text) == (canonical, family)
    assert str(ipaddress.ip_address(canonical)) == canonical, "agrees with RFC 5952"


@pytest.mark.parametrize(
    ("text", "canonical", "family"),
    [
        ("10.96.0.0/12", "10.96.0.0/12", "IPv4"),
        ("FD00:1234::/64", "fd00:1234::/64", "IPv6"),
        ("2001:db8:0:0::/64", "2001:db8::/64", "IPv6"),
        ("0.0.0.0/0", "0.0.0.0/0", "IPv4"),
    ],
)
def test_parse_cidr_canonical_form(text: str, canonical: str, family: str) -> None:
    assert parse_cidr(text) == (canonical, family)
    if text != canonical:
        assert CidrAllocator(text).cidr == canonical


# --------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------


def test_allocate_many_is_all_or_nothing() -> None:
    a = CidrAllocator("10.0.0.0/24")
    a.allocate("10.0.0.7")
    with pytest.raises(AlreadyAllocatedError) as info:
        a.allocate_many(["10.0.0.5", "10.0.0.6", "10.0.0.7"])
    assert info.value.ip == "10.0.0.7"  # type: ignore[attr-defined]
    assert info.value.__notes__ == ["item 2 of the batch: 10.0.0.7"]
    assert a.used == 1 and not a.has("10.0.0.5")
    with pytest.raises(NotInRangeError) as out:
        a.allocate_many(("10.0.0.5", "10.0.1.1"))
    assert out.value.ip == "10.0.1.1"
    with pytest.raises(AlreadyAllocatedError):
        a.allocate_many(["10.0.0.5", "10.0.0.5"])
    with pytest.raises(InvalidInputError) as bad:
        a.allocate_many(iter(["10.0.0.5", "nope"]))
    assert '"nope"' in str(bad.value)
    assert a.used == 1
    a.allocate_many(ip for ip in ["10.0.0.5", "10.0.0.6"])
    assert list(a) == ["10.0.0.5", "10.0.0.6", "10.0.0.7"]


def test_allocate_next_many_is_all_or_nothing() -> None:
    a = CidrAllocator("10.0.0.0/28")
    with pytest.raises(RangeFullError):
        a.allocate_next_many(15)
    with pytest.raises(RangeFullError):
        a.allocate_next_many(2**80)
    assert a.used == 0
    assert len(set(a.allocate_next_many(14))) == 14


def test_release_many_counts_what_was_freed() -> None:
    a = CidrAllocator("10.0.0.0/24")
    a.allocate_many(["10.0.0.1", "10.0.0.2"])
    assert a.release_many(["10.0.0.1", "10.0.0.1", "10.0.0.3", "10.1.0.0"]) == 1
    with pytest.raises(InvalidInputError):
        a.release_many(["10.0.0.2", "bad"])
    assert a.has("10.0.0.2"), "a malformed element leaves everything untouched"
    assert a.release_many(iter(["10.0.0.2"])) == 1


# --------------------------------------------------------------------------------------
# Determinism, snapshots, threads
# --------------------------------------------------------------------------------------


def test_same_seed_same_addresses() -> None:
    # Pinned: replays depend on the sequence a seed produces.
    a = CidrAllocator("10.0.0.0/24", seed=0)
    assert [a.allocate_next() for _ in range(3)] == ["10.0.0.160", "10.0.0.194", "10.0.0.41"]
    b = CidrAllocator("10.0.0.0/24", seed=0)
    assert b.allocate_next_many(3) == ["10.0.0.160", "10.0.0.194", "10.0.0.41"]
    assert CidrAllocator("fd00::/64", seed=0).allocate_next() == "fd00::99ec:5f36:cb75:f31a"
    # Seeds are taken modulo 2**64.
    negative = CidrAllocator("10.0.0.0/24", seed=-1)
    wrapped = CidrAllocator("10.0.0.0/24", seed=2**64 - 1)
    assert negative.allocate_next_many(5) == wrapped.allocate_next_many(5)


def test_snapshot_round_trip_continues_identically() -> None:
    a = CidrAllocator("192.168.1.0/24", seed=9)
    held = a.allocate_next_many(10)
    data = a.snapshot()
    b = CidrAllocator.restore("192.168.1.0/24", data)
    assert list(b) == list(a) == sorted(held, key=ipaddress.ip_address)
    assert (b.free, b.used) == (a.free, a.used)
    assert b.allocate_next_many(20) == a.allocate_next_many(20), "RNG state is restored"
    c = pickle.loads(pickle.dumps(a))
    assert c.snapshot() == a.snapshot()
    assert copy.deepcopy(a).allocate_next() == a.allocate_next()


def test_new_from_snapshot() -> None:
    """TestNewFromSnapshot: 128 allocations survive a snapshot."""
    a = CidrAllocator("192.168.0.0/24")
    held = a.allocate_next_many(128)
    b = CidrAllocator.restore("192.168.0.0/24", a.snapshot())
    assert (b.free, b.used) == (126, 128)
    assert all(b.has(ip) for ip in held)


def test_restore_refuses_another_range_and_damage() -> None:
    a = CidrAllocator("192.168.1.0/24", seed=1)
    a.allocate_next_many(10)
    data = a.snapshot()
    with pytest.raises(InvalidInputError) as other:
        CidrAllocator.restore("192.168.2.0/24", data)
    assert "192.168.1.0/24" in str(other.value) and "192.168.2.0/24" in str(other.value)
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(InvalidInputError, match="checksum"):
        CidrAllocator.restore("192.168.1.0/24", bytes(damaged))
    for junk in (b"", b"nonsense", data[:-1]):
        with pytest.raises(InvalidInputError):
            CidrAllocator.restore("192.168.1.0/24", junk)


def test_large_ipv6_snapshot_is_compact() -> None:
    a = CidrAllocator("fd00::/64", seed=4)
    a.allocate_next_many(1000)
    data = a.snapshot()
    assert len(data) < 12 * 1000
    assert list(CidrAllocator.restore("fd00::/64", data)) == list(a)


def test_many_threads_never_share_an_address() -> None:
    a = CidrAllocator("10.0.0.0/18", seed=5)
    results: list[list[str]] = [[] for _ in range(8)]

    def work(slot: list[str]) -> None:
        for _ in range(200):
            slot.append(a.allocate_next())
            slot.extend(a.allocate_next_many(3))

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [ip for r in results for ip in r]
    assert len(everything) == len(set(everything)) == a.used == 8 * 200 * 4


def test_repr() -> None:
    a = CidrAllocator("10.96.0.0/28")
    a.allocate_next()
    assert repr(a) == "<CidrAllocator 10.96.0.0/28 used=1 free=13 size=14>"
