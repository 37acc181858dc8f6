"""What the engine accepts is what it can store and read back: request bodies are refused
(with the field path) when JSON could not carry them or kube-apiserver would not take them,
and a refused or failed request leaves memory as it was."""

from __future__ import annotations

import math
from typing import Any

import pytest

from servicecidr import (
    BadRequestError,
    Cluster,
    InvalidError,
    InvalidInputError,
    RangeFullError,
    RequestEntityTooLargeError,
    ServiceCIDRError,
    SimulatedClock,
)
from servicecidr._core import CidrAllocator, parse_cidr, parse_ip
from servicecidr.api import storable


def svc(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def ns(name: str, spec: Any) -> dict[str, Any]:
    """An object of a kind whose body is kept as sent (only metadata has a schema): an
    events.k8s.io Event carrying ``spec``."""
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def new(range_: str = "10.96.0.0/29") -> Cluster:
    return Cluster(range_, seed=1, clock=SimulatedClock())


def replays(c: Cluster) -> bool:
    return Cluster.replay(c.events(), c.service_cluster_ip_range, c.seed).digest() == c.digest()


def test_a_lone_surrogate_is_refused_before_an_address_is_taken() -> None:
    """Five such creates once filled a /29 in memory: the address was chosen, then
    encoding the object failed."""
    c = new()
    before = c.digest()
    for _ in range(8):
        with pytest.raises(BadRequestError) as e:
            c.create(svc("a", namespace="a\ud800"))
    assert e.value.message == (
        'Service in version "v1" cannot be handled as a Service: metadata.namespace: '
        "\"a\\ud800\" is not valid Unicode text (a lone surrogate '\\ud800' cannot be "
        "encoded as UTF-8)"
    )
    assert c.digest() == before
    assert c.create(svc("ok"))["spec"]["clusterIP"].startswith("10.96.0.")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({1: 2}, "spec: the map key 1 (int) is not a string"),
        ({"a": b"\x00"}, "spec.a: a value of type bytes (a YAML !!binary value?) is not a JSON"),
        ({"a": [1, {"b": math.nan}]}, "spec.a[1].b: nan is not a JSON number"),
        ({"a": -math.inf}, "spec.a: -inf is not a JSON number"),
        ({"a": 2**63}, "spec.a: the integer 9223372036854775808 is out of range"),
        ({"a": {1, 2}}, "spec.a: a value of type set is not a JSON value"),
        ({"a": (1, 2)}, "spec.a: a value of type tuple is not a JSON value"),
        ({"k\udc00": 1}, 'spec: the map key "k\\udc00" is not valid Unicode text'),
    ],
)
def test_values_json_cannot_carry_are_refused_with_their_path(spec: Any, problem: str) -> None:
    c = new()
    before = c.digest()
    with pytest.raises(BadRequestError) as e:
        c.create(ns("x", spec))
    assert e.value.message.startswith(
        'Event in version "v1" cannot be handled as a Event: ' + problem
    )
    assert c.digest() == before


def test_what_is_stored_reads_back() -> None:
    """An object with `spec: {1: 2}` was once stored; then get, digest and replay failed."""
    c = new()
    c.create(ns("x", {"finalizers": ["kubernetes"], "n": -(2**63), "f": 0.5, "s": "é"}))
    got = c.get("Event", "x", "default")
    assert got["spec"] == {"finalizers": ["kubernetes"], "n": -(2**63), "f": 0.5, "s": "é"}
    assert replays(c)


def test_nesting_is_bounded() -> None:
    c = new()
    deep: Any = 1
    for _ in range(storable.MAX_DEPTH - 2):  # the Event and its spec are two levels
        deep = [deep]
    c.create(ns("ok", {"a": deep[0]}))
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(BadRequestError, match=r"spec\.a(\[0\])+: nested deeper than 100 levels"):
        c.create(ns("deep", {"a": deep}))
    with pytest.raises(BadRequestError, match="nested deeper than 100"):
        c.apply(ns("ok", {"a": deep}))
    with pytest.raises(BadRequestError, match="nested deeper than 100"):
        c.store(ns("deep", {"a": deep}))


def test_the_request_size_limit_is_kube_apiservers() -> None:
    c = new()
    before = c.digest()
    big = "x" * (storable.MAX_REQUEST_BYTES - 200)
    c.create(ns("fits", {"a": big}))
    for body in (
        ns("big", {"a": big + "x" * 400}),
        ns("many", {"a": [None] * (storable.MAX_REQUEST_BYTES // 4)}),
        ns("escaped", {"a": "\x00" * (storable.MAX_REQUEST_BYTES // 5)}),
    ):
        with pytest.raises(RequestEntityTooLargeError) as e:
            c.create(body)
        assert (e.value.reason, e.value.code) == ("RequestEntityTooLarge", 413)
        assert e.value.message == "Request entity too large: limit is 3145728"
    # A shared value expands: the walk stops at the limit, it does not expand it all.
    bomb: Any = ["lol"] * 10
    for _ in range(8):
        bomb = [bomb] * 10
    with pytest.raises(RequestEntityTooLargeError):
        c.create(ns("bomb", {"a": bomb}))
    c.delete("Event", "fits", "default")
    assert c.count("Event") == 0
    assert c.digest() != before  # (the create and delete happened; nothing else)
    assert replays(c)


def test_a_time_that_cannot_be_read_back_is_refused() -> None:
    c = new()
    with pytest.raises(BadRequestError, match="year out of range"):
        c.store(svc("a", clusterIP="10.96.0.3") | {"status": {"conditions": [{
            "type": "x", "status": "True", "lastTransitionTime": "9999-12-31T23:59:59-23:59",
            "reason": "r", "message": "m"}]}})  # fmt: skip
    late = svc("b") | {"metadata": {"name": "b", "creationTimestamp": "0000-01-01T00:00:00Z"}}
    with pytest.raises(BadRequestError, match="year out of range"):
        c.create(late)


def test_store_refuses_what_would_break_the_state() -> None:
    """A malformed store() once applied half an event (358 mismatches with replay)."""
    c = new()
    before = c.digest()
    bad = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
         "metadata": {"name": "10.96.0.5"}, "spec": {"parentRef": "x"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
         "metadata": {"name": "10.96.0.5"}, "spec": 1.5},
        {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
         "metadata": {"name": "s"}, "spec": {"cidrs": "10.0.0.0/24"}},
        svc("a") | {"spec": {"ports": [{"port": 80, "nodePort": "x"}], "type": "NodePort"}},
        svc("a") | {"metadata": {"name": 5}},
    ]  # fmt: skip
    for obj in bad:
        with pytest.raises(BadRequestError):
            c.store(obj)
    assert c.digest() == before
    c.store(bad[0] | {"spec": {"parentRef": {"resource": "services", "name": "x"}}})
    c.reconcile()
    assert replays(c)


def test_apply_with_a_null_or_wrong_spec_is_an_error_line() -> None:
    c = new()
    c.create(svc("a"))
    before = c.digest()
    with pytest.raises(BadRequestError, match="cannot unmarshal array into Go struct field"):
        c.apply(svc("a") | {"spec": [1]})
    with pytest.raises(InvalidError, match=r"spec\.ports: Required value"):
        c.apply(svc("a") | {"spec": None})  # as kube-apiserver: the spec is gone
    with pytest.raises(BadRequestError):
        c.apply(svc("a") | {"metadata": {"name": ["a"]}})
    assert c.digest() == before


def test_an_exception_anywhere_in_a_create_gives_the_address_back() -> None:
    c = new()
    c.create(svc("a"))
    before = c.digest()
    free = next(c.allocators())[2]

    def broken(*_args: Any) -> list[str]:
        raise RuntimeError("a hook that fails")

    c.admission = broken
    for _ in range(10):
        with pytest.raises(RuntimeError):
            c.create(svc("b"))
        with pytest.raises(RuntimeError):
            c.update(
                c.get("Service", "a") | {"spec": {"ports": [{"port": 81}], "type": "NodePort"}}
            )
    assert c.digest() == before
    assert next(c.allocators())[2] == free
    c.admission = None
    c.create(svc("b"))


def test_allocate_next_many_refuses_what_no_list_could_hold() -> None:
    a = CidrAllocator("fd00::/64", seed=1)
    with pytest.raises(InvalidInputError, match="at most 16777216 per call"):
        a.allocate_next_many(2**31)
    with pytest.raises(RangeFullError):
        a.allocate_next_many(2**70)
    with pytest.raises(RangeFullError):
        CidrAllocator("10.0.0.0/24").allocate_next_many(2**31)
    assert a.used == 0
    assert len(a.allocate_next_many(1000)) == 1000


@pytest.mark.parametrize("text", ["a\ud800", "10.0.0.1\udfff", "\ud800/24"])
def test_parsing_a_lone_surrogate_is_an_invalid_input(text: str) -> None:
    for parse in (parse_ip, parse_cidr):
        with pytest.raises(InvalidInputError, match="must be a valid"):
            parse(text)
    a = CidrAllocator("10.0.0.0/24")
    for method in (a.allocate, a.release, a.has, a.contains):
        with pytest.raises(InvalidInputError):
            method(text)
    assert a.mark(text) is False and a.unmark(text) is False
    with pytest.raises(InvalidInputError):
        CidrAllocator(text)


def test_non_strings_are_invalid_inputs_too() -> None:
    bad: list[Any] = [None, 5, b"10.0.0.1", ["10.0.0.1"]]
    for value in bad:
        with pytest.raises(InvalidInputError, match="must be a string"):
            parse_ip(value)
        with pytest.raises(InvalidInputError, match="must be a string"):
            parse_cidr(value)
    with pytest.raises(ServiceCIDRError):
        CidrAllocator("10.0.0.0/24").allocate(5)  # type: ignore[arg-type]


def test_hostile_facade_arguments_are_invalid_inputs() -> None:
    bad_ranges: list[Any] = [5, [5], ["10.0.0.0/24", None], object()]
    for value in bad_ranges:
        with pytest.raises(InvalidInputError, match="service-cluster-ip-range"):
            Cluster(value, seed=1, clock=SimulatedClock())
    bad_seeds: list[Any] = [[1], math.nan, "x"]
    for seed in bad_seeds:
        with pytest.raises(InvalidInputError, match="seed must be an integer"):
            Cluster("10.0.0.0/24", seed=seed, clock=SimulatedClock())
    c = new()
    before = c.digest()
    for advance in ("", "1x", "1.2.3s"):
        with pytest.raises(InvalidInputError, match="reconcile: "):
            c.reconcile(advance)
    for huge in (2**70, 1e300, math.inf, math.nan):
        # once moved the simulated clock past what a timestamp shows: every later call failed
        with pytest.raises(InvalidInputError, match="past the year 9999"):
            c.reconcile(huge)
    assert c.digest() == before
    c.reconcile("1h")
    c.create(svc("later"))
