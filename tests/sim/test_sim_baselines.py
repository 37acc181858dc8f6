"""The benchmark baselines (bench/baselines.py) behave like the Rust allocator they are
measured against: same bands, same errors, every address once."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from baselines import (
    KubernetesScanAllocator,
    PythonSetAllocator,
    RoaringAllocator,
    range_offset,
    roaring_available,
)
from servicecidr._core import CidrAllocator
from servicecidr.errors import AlreadyAllocatedError, NotInRangeError, RangeFullError

IMPLS: list[Any] = [KubernetesScanAllocator, PythonSetAllocator]
if roaring_available():
    IMPLS.append(RoaringAllocator)


@pytest.mark.parametrize("cidr", ["10.0.0.0/28", "10.0.0.0/27", "10.0.0.0/24", "10.0.0.0/16"])
def test_range_offset_matches_the_core(cidr: str) -> None:
    assert range_offset(ipaddress.ip_network(cidr)) == CidrAllocator(cidr).range_offset


@pytest.mark.parametrize("impl", IMPLS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("cidr", ["10.0.0.0/28", "10.0.0.0/24"])
def test_fills_every_address_once_then_full(impl: Any, cidr: str) -> None:
    a = impl(cidr, seed=3)
    rust = CidrAllocator(cidr)
    got = [a.allocate_next() for _ in range(a.size)]
    assert a.size == rust.size == a.used
    assert len(set(got)) == a.size
    assert all(rust.contains(ip) for ip in got)
    with pytest.raises(RangeFullError):
        a.allocate_next()
    assert a.release(got[5]) and not a.release(got[5])
    assert a.allocate_next() == got[5]
    with pytest.raises(AlreadyAllocatedError):
        a.allocate(got[0])
    with pytest.raises(NotInRangeError):
        a.allocate("192.168.0.1")


@pytest.mark.parametrize(
    "impl", [c for c in IMPLS if c is not PythonSetAllocator], ids=lambda c: c.__name__
)
def test_kubernetes_scan_prefers_the_upper_band(impl: Any) -> None:
    cidr = "10.0.0.0/24"  # static band: the first 16 addresses
    a = impl(cidr, seed=1)
    first = [ipaddress.ip_address(a.allocate_next()) for _ in range(254 - 16)]
    assert min(first) >= ipaddress.ip_address("10.0.0.17")
    rest = {ipaddress.ip_address(a.allocate_next()) for _ in range(16)}
    assert rest == {ipaddress.ip_address(f"10.0.0.{i}") for i in range(1, 17)}


@pytest.mark.parametrize("impl", IMPLS, ids=lambda c: c.__name__)
def test_load_ints_and_churn(impl: Any) -> None:
    a = impl("10.0.0.0/22", seed=2)
    base = int(ipaddress.ip_address("10.0.0.1"))
    a.load_ints(range(base, base + 1000))
    assert a.used == 1000
    assert a.has("10.0.0.1") and not a.has("10.0.3.254")
    assert a.release_many(["10.0.0.1", "10.0.0.2", "10.0.3.254"]) == 2
    new = a.allocate_next_many(a.free)
    assert a.free == 0 and len(set(new)) == len(new)
