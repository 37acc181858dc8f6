"""The allocator's batch calls with addresses as integers (``*_int``, ``*_into``) are the
text calls with another spelling: a differential property test runs one allocator
through the text API and a twin through the integer API, step for step, and compares
every result and error; then the edges of the integer forms (buffers, families,
refused values)."""

from __future__ import annotations

import ipaddress
from array import array
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicecidr._core import CidrAllocator
from servicecidr.errors import AlreadyAllocatedError, InvalidInputError, NotInRangeError

RANGES = ["10.0.0.0/28", "10.1.0.0/24", "192.168.0.0/22", "fd00::/120", "fd00:1::/64"]


def _value(text: str) -> int:
    return int(ipaddress.ip_address(text))


def _text(family: str, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if family == "IPv4" else ipaddress.IPv6Address(value))


def _outcome(call: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", call(*args))
    except Exception as e:  # the error itself is what is compared
        return (type(e).__name__, str(e))


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("next"), st.integers(0, 40)),
        st.tuples(st.just("release"), st.lists(st.integers(0, 300), max_size=30)),
        st.tuples(st.just("allocate"), st.lists(st.integers(0, 300), max_size=8)),
        st.tuples(st.just("into"), st.integers(0, 40)),
    ),
    max_size=25,
)


@given(st.sampled_from(RANGES), st.integers(0, 2**64 - 1), _STEPS)
def test_the_integer_calls_do_what_the_text_calls_do(
    cidr: str, seed: int, steps: list[tuple[str, Any]]
) -> None:
    text, ints = CidrAllocator(cidr, seed=seed), CidrAllocator(cidr, seed=seed)
    family = text.ip_family
    base = int(ipaddress.ip_network(cidr).network_address)
    for op, arg in steps:
        if op == "next":
            want = _outcome(text.allocate_next_many, arg)
            got = _outcome(ints.allocate_next_many_int, arg)
            if got[0] == "ok":
                got = ("ok", [_text(family, v) for v in got[1]])
        elif op == "into" and family == "IPv6":
            with pytest.raises(InvalidInputError, match="do not fit"):
                ints.allocate_next_many_into(array("Q", bytes(8 * arg)))
            continue
        elif op == "into":
            want = _outcome(text.allocate_next_many, arg)
            out = array("I", bytes(4 * arg))
            got = _outcome(ints.allocate_next_many_into, out)
            if got[0] == "ok":
                got = ("ok", [_text(family, v) for v in out])
        elif op == "release":
            addrs = [base + off for off in arg]
            want = _outcome(text.release_many, [_text(family, v) for v in addrs])
            # a buffer where the values fit one (IPv4), else a list
            given_ints = array("Q", addrs) if family == "IPv4" else addrs
            got = _outcome(ints.release_many_int, given_ints)
        else:
            addrs = [base + off for off in arg]
            want = _outcome(text.allocate_many, [_text(family, v) for v in addrs])
            got = _outcome(ints.allocate_many_int, addrs)
        assert got == want, (op, arg)
        assert list(ints) == list(text)


def test_values_are_the_addresses_of_the_family() -> None:
    a = CidrAllocator("10.0.0.0/30", seed=1)
    got = a.allocate_next_many_int(2)
    assert sorted(got) == [_value("10.0.0.1"), _value("10.0.0.2")]
    assert a.release_many_int(iter(got)) == 2  # any iterable
    v6 = CidrAllocator("fd00::/126", seed=1)
    got6 = v6.allocate_next_many_int(3)
    assert sorted(got6) == [_value(f"fd00::{i}") for i in (1, 2, 3)]
    assert v6.release_many_int(tuple(got6)) == 3
    # an IPv6 value given to an IPv4 range, and a value past the family
    with pytest.raises(InvalidInputError, match="not the value of an IPv4 address"):
        a.release_many_int([2**32])
    with pytest.raises(InvalidInputError, match="not the value of an IPv6 address"):
        v6.allocate_many_int([2**128])
    with pytest.raises(InvalidInputError):
        a.allocate_many_int([-1])


def test_refused_arguments_change_nothing() -> None:
    a = CidrAllocator("10.0.0.0/24", seed=1)
    a.allocate_many_int([_value("10.0.0.5")])
    for bad in (["10.0.0.1"], [True], [1.5], "10.0.0.1", 5, [_value("10.0.0.1"), None]):
        with pytest.raises(TypeError):
            a.release_many_int(bad)
    with pytest.raises(TypeError):
        a.allocate_many_int(array("d", [1.0]))  # a buffer of floats is no address list
    assert a.used == 1
    with pytest.raises(AlreadyAllocatedError) as info:
        a.allocate_many_int([_value("10.0.0.6"), _value("10.0.0.5")])
    assert "item 1 of the batch" in str(info.value.__notes__)
    with pytest.raises(NotInRangeError):
        a.allocate_many_int([_value("10.0.1.0")])
    assert list(a) == ["10.0.0.5"]


def test_into_fills_the_whole_buffer_or_nothing() -> None:
    a = CidrAllocator("10.0.0.0/28", seed=1)
    out = array("Q", bytes(8 * 10))
    a.allocate_next_many_into(out)
    assert a.used == 10 and sorted(out) == sorted(_value(ip) for ip in a)
    with pytest.raises(Exception, match="range is full"):
        a.allocate_next_many_into(array("L", bytes(8 * 5)))  # 4 left
    assert a.used == 10
    for bad in (bytes(8), array("q", [0]), array("H", [0]), memoryview(bytearray(8)).toreadonly()):
        with pytest.raises(TypeError):
            a.allocate_next_many_into(bad)
    assert a.used == 10
    a.allocate_next_many_into(array("I"))  # nothing asked, nothing reserved
    assert a.used == 10
