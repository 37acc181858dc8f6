"""Fuzz the front doors with hostile values: the Python API's object decoding (create,
apply, update, update_status, store, delete), IP/CIDR parsing, and the command line's
manifest reading; and hold the quick (Rust) and careful (Python) passes of
``servicecidr.api.storable.check`` to the same verdicts.

The property, after every call: nothing but an error of servicecidr's tree
(``servicecidr.errors``) comes out, and the state is exactly a replay of its events (the
objects, the revision and every allocator). Budgets scale with ``fuzz_examples``.
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import fuzz_examples
from servicecidr import Cluster, ServiceCIDRError, SimulatedClock
from servicecidr._core import json_bound, parse_cidr, parse_ip
from servicecidr.api import storable
from servicecidr.cli.errors import CliError
from servicecidr.cli.manifests import parse_stream

# ------------------------------------------------------------------------------ values

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b", "10.0.0.1\ud800"])
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "a", "x" * 70, "None", "10.96.0.7", "fd00::7", "10.96.0.0/29", "é"]),
    SURROGATES,
)
HUGE = st.sampled_from([2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40, -(10**40)])
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**33), 2**33),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.binary(max_size=4),
)
KEY = st.one_of(
    TEXT,
    st.integers(-3, 3),
    st.sampled_from([None, True, 1.5, (1, 2), b"k"]),
)


def _deep(depth: int, leaf: Any, as_map: bool) -> Any:
    v = leaf
    for _ in range(depth):
        v = {"a": v} if as_map else [v]
    return v


DEEP = st.builds(
    _deep, st.sampled_from([40, 97, 98, 99, 100, 101, 300, 3000]), SCALAR, st.booleans()
)
VALUE = st.recursive(
    st.one_of(SCALAR, DEEP),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(KEY, inner, max_size=3),
        st.frozensets(st.integers(0, 3), max_size=2).map(set),
        st.lists(inner, max_size=2).map(tuple),
    ),
    max_leaves=8,
)

# ------------------------------------------------------------------------------ objects

BASES: list[dict[str, Any]] = [
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "selector": {"app": "web"},
            "type": "ClusterIP",
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "np", "namespace": "a"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": "extra"},
        "spec": {"cidrs": ["10.96.1.0/29"]},
    },
    {
        "apiVersion": "networking.k8s.io/v1beta1",
        "kind": "IPAddress",
        "metadata": {"name": "10.96.0.5"},
        "spec": {"parentRef": {"group": "", "resource": "services", "name": "web"}},
    },
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "spec": {}},
]
PATHS: list[tuple[Any, ...]] = [
    (),
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "labels"),
    ("metadata", "labels", "app"),
    ("metadata", "annotations"),
    ("metadata", "creationTimestamp"),
    ("metadata", "resourceVersion"),
    ("metadata", "finalizers"),
    ("metadata", "managedFields"),
    ("spec",),
    ("spec", "ports"),
    ("spec", "ports", 0, "port"),
    ("spec", "ports", 0, "targetPort"),
    ("spec", "ports", 0, "nodePort"),
    ("spec", "clusterIP"),
    ("spec", "clusterIPs"),
    ("spec", "type"),
    ("spec", "selector"),
    ("spec", "cidrs"),
    ("spec", "cidrs", 0),
    ("spec", "parentRef"),
    ("spec", "parentRef", "name"),
    ("spec", "extra"),
    ("status",),
    ("apiVersion",),
    ("kind",),
]
TIMES = st.sampled_from(
    ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "x"]
)


def _mutated(base: int, changes: list[tuple[tuple[Any, ...], Any]]) -> Any:
    obj: Any = copy.deepcopy(BASES[base])
    for path, value in changes:
        if not path:
            obj = value
            continue
        d = obj
        for k in path[:-1]:
            try:
                d = d[k]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(d, dict) or (isinstance(d, list) and isinstance(path[-1], int)):
                with contextlib.suppress(IndexError):
                    d[path[-1]] = value
    return obj


OBJECT = st.builds(
    _mutated,
    st.integers(0, len(BASES) - 1),
    st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(VALUE, TIMES)), max_size=3),
)
CALL = st.tuples(st.sampled_from(["create", "apply", "update", "update_status", "store"]), OBJECT)
DELETE = st.tuples(
    st.just("delete"),
    st.tuples(st.sampled_from(["Service", "ServiceCIDR", "IPAddress", "Namespace"]), KEY),
)


def _call(c: Cluster, verb: str, arg: Any) -> None:
    if verb == "delete":
        kind, name = arg
        c.delete(kind, name, "default")
    else:
        getattr(c, verb)(arg)


def _replays(c: Cluster) -> bool:
    again = Cluster.replay(c.events(), c.service_cluster_ip_range, c.seed)
    return again.digest() == c.digest()


@given(st.lists(st.one_of(CALL, DELETE), min_size=1, max_size=6))
@settings(max_examples=fuzz_examples(200), suppress_health_check=[HealthCheck.too_slow])
def test_api_calls_raise_only_the_tree_and_keep_memory_a_replay_of_the_log(
    calls: list[tuple[str, Any]],
) -> None:
    c = Cluster("10.96.0.0/29", seed=3, clock=SimulatedClock())
    for verb, arg in calls:
        before = c.digest()
        try:
            _call(c, verb, arg)
        except ServiceCIDRError:
            assert c.digest() == before, f"{verb} failed and changed the state"
        assert _replays(c), f"memory differs from a replay after {verb}"
    c.reconcile()  # the controllers read every stored object
    assert _replays(c)


# ------------------------------------------------------------------------------ storable


def _verdict(obj: Any) -> str:
    try:
        storable.check(obj)
    except storable.NotStorable as e:
        return f"refused: {e}"
    except storable.TooLarge:
        return "too large"
    return "ok"


BIG = st.builds(  # around the request limit, and the bound past which it is measured
    lambda k, item: {"a": [item] * k},
    st.sampled_from([1, 200, 520, 1040, 3200]),
    st.sampled_from(["x" * 1000, "\x00" * 1000, "é" * 1000, [None] * 250, [0.5] * 300]),
)


@given(st.one_of(VALUE, BIG, st.dictionaries(KEY, VALUE, max_size=4)))
@settings(max_examples=fuzz_examples(600))
def test_the_quick_and_the_careful_pass_agree(obj: Any) -> None:
    """``storable.check`` answers most bodies from a quick pass in Rust; for every value
    it gives the verdict the Python walker alone gives."""
    storable.use_quick_pass(json_bound)
    try:
        quick = _verdict(obj)
        storable.use_quick_pass(None)
        careful = _verdict(obj)
    finally:
        storable.use_quick_pass(json_bound)
    assert quick == careful


# ------------------------------------------------------------------------------ IP / CIDR

IP_TEXT = st.one_of(
    st.text(max_size=45),
    st.text(alphabet="0123456789abcdefABCDEF.:/%x\x00 \ud800", max_size=45),
    st.builds(
        lambda parts, sep, tail: sep.join(str(p) for p in parts) + tail,
        st.lists(st.integers(-1, 2**40), min_size=1, max_size=9),
        st.sampled_from([".", ":", "::", "/"]),
        st.sampled_from(["", "/24", "/64", "/129", "/-1", "/\ud800", "%eth0", "\udfff"]),
    ),
)


@given(st.one_of(IP_TEXT, SCALAR))
@settings(max_examples=fuzz_examples(1500))
def test_ip_and_cidr_parsing_raise_only_the_tree(text: Any) -> None:
    for parse in (parse_ip, parse_cidr):
        try:
            canonical, family = parse(text)
        except ServiceCIDRError:
            continue
        assert family in ("IPv4", "IPv6")
        assert parse(canonical) == (canonical, family)


# ------------------------------------------------------------------------------ manifests

FRAGMENT = st.sampled_from(
    [
        "apiVersion: v1\n",
        "kind: Namespace\n",
        "kind: Service\n",
        "metadata: {name: x}\n",
        "metadata:\n  name: y\n",
        "spec: {ports: [{port: 80}]}\n",
        "spec: &a [*a]\n",
        "spec: &b {k: *b}\n",
        "x: &c [1, 2]\ny: [*c, *c, *c]\n",
        "spec: {1: 2, true: 3, 1.5: 4}\n",
        "spec: {~: 1}\n",
        "spec: {? [a, b] : 1}\n",
        "spec: !!binary aGk=\n",
        "spec: !!binary '***'\n",
        "spec: !!int x\n",
        "spec: !!float y\n",
        "spec: !!set {a, b}\n",
        "spec: !!omap [a: 1]\n",
        "spec: !!timestamp 2001-12-14\n",
        "spec: !!python/object:os.system x\n",
        "spec: .nan\n",
        "spec: 123456789012345678901234567890\n",
        'spec: "\\ud800"\n',
        "spec: '\t'\n",
        "\tspec: x\n",
        "spec: [\n",
        "spec: {a: " + "[" * 150 + "]" * 150 + "}\n",
        "spec: " + "[" * 20000 + "\n",
        "spec:\n" + "".join(" " * i + "- \n" for i in range(1, 130)),
        "---\n",
        "--- !!str\n",
        "...\n",
        "%YAML 1.1\n",
        "<<: {a: 1}\n",
        "<<: [*a]\n",
        "- item\n",
        "kind: List\nitems: [{apiVersion: v1, kind: Namespace, metadata: {name: l}}]\n",
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "j"}}\n',
        '{"a": NaN}\n',
        "[" * 5000 + "\n",
    ]
)


@given(st.lists(st.one_of(FRAGMENT, st.text(max_size=20)), min_size=1, max_size=6))
@settings(max_examples=fuzz_examples(400))
def test_manifest_reading_raises_only_an_error_line(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        objs = parse_stream(text, "f.yaml")
    except CliError as e:
        assert e.message.startswith("error: ") and "\n" not in e.message.strip()
        return
    c = Cluster("10.96.0.0/29", seed=3, clock=SimulatedClock())
    for obj in objs:
        assert isinstance(obj, dict)
        with contextlib.suppress(ServiceCIDRError):
            c.create(obj)
    assert _replays(c)


def test_the_fuzz_values_include_what_json_cannot_carry() -> None:
    """The strategies above do reach the hostile values (a guard against a strategy that
    quietly stops producing them)."""
    assert math.isnan(float("nan"))  # (SCALAR draws nan, inf; HUGE beyond int64)
    found = {"surrogate": False, "bytes": False, "key": False}

    @given(VALUE)
    @settings(max_examples=300, database=None)
    def probe(v: Any) -> None:
        stack = [v]
        while stack:
            x = stack.pop()
            if isinstance(x, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in x):
                found["surrogate"] = True
            elif isinstance(x, bytes):
                found["bytes"] = True
            elif isinstance(x, dict):
                found["key"] |= any(not isinstance(k, str) for k in x)
                stack.extend(x.values())
            elif isinstance(x, list | tuple):
                stack.extend(x)

    probe()
    assert all(found.values()), found
