"""Fuzz the state directory's readers with CRC-valid damage.

Log records and snapshot bodies are mutated — bytes flipped or spliced, values replaced
deep inside the event or inside the objects it carries — and framed again with their own
length and a matching CRC, so the damage gets past the checksums and meets the decoders.

The property, for every input: verifying and opening raise only errors of servicecidr's
tree (log damage with its file and offset), verify reports a problem exactly when opening
refuses, and what opens is what the damaged file says — the replay of its records through
the Python reader (the fast path agrees with it), or the snapshot's own contents.
"""

from __future__ import annotations

import math
import re
import shutil
import struct
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.conftest import fuzz_examples

from servicecidr import Cluster, SimulatedClock
from servicecidr.errors import LogCorruptError, ServiceCIDRError
from servicecidr.journal import recovery
from servicecidr.journal.records import decode_entry
from servicecidr.journal.segments import HEADER_SIZE, crc32c, list_segments
from servicecidr.journal.snapshots import SNAPSHOT_HEADER_SIZE, list_snapshots
from servicecidr.journal.state import verify_dir

RANGE = "10.0.0.0/24"


def _svc(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def _history(path: Path, snapshot: bool) -> None:
    """A small history touching every path of the readers: Services (the fast path),
    NodePorts and ServiceCIDRs (the Python reader), IPAddresses, deletes, updates."""
    with Cluster.open(
        path, service_cluster_ip_range=RANGE, seed=7, clock=SimulatedClock(), durability="none"
    ) as c:
        for i in range(4):
            c.create(_svc(f"s{i}"))
            c.clock.advance(1)
        c.create(_svc("np", type="NodePort"))
        c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": "extra"},
                "spec": {"cidrs": ["10.1.0.0/24"]},
            }
        )
        if snapshot:
            c.snapshot()
        c.delete("Service", "s1")
        svc = c.get("Service", "s2")
        svc["metadata"]["labels"]["tier"] = "web"
        c.update(svc)
        c.reconcile()


@pytest.fixture(scope="module")
def clean() -> Iterator[dict[str, Path]]:
    root = Path(tempfile.mkdtemp(prefix="fuzz-journal-"))
    out = {"log": root / "log-only", "snap": root / "with-snapshot"}
    _history(out["log"], snapshot=False)
    _history(out["snap"], snapshot=True)
    yield out
    shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------ mutations

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(0, 9)), inner, max_size=3),
    ),
    max_leaves=6,
)


def _near(draw: st.DrawFn, value: Any) -> Any:
    """A value close to ``value``: one character, one unit or one type away."""
    if isinstance(value, str) and value:
        i = draw(st.integers(0, len(value) - 1))
        return value[:i] + draw(st.characters(codec="utf-8")) + value[i + 1 :]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(st.sampled_from([value + 1, value - 1, -value, str(value), float(value)]))
    if isinstance(value, float):
        return draw(st.sampled_from([math.nan, math.inf, -value, int(value), str(value)]))
    return draw(_values)


def _bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """A few bytes flipped, set, inserted or deleted."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 3))
        pos = draw(st.integers(0, max(0, len(out) - 1)))
        if kind == 0 and out:
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == 1 and out:
            out[pos] = draw(st.integers(0, 255))
        elif kind == 2:
            out[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        else:
            del out[pos : pos + draw(st.integers(1, 4))]
    return bytes(out)


def _pick(draw: st.DrawFn, node: Any, depth: int = 0) -> Any:
    """Change one node of a decoded msgpack value, descending (mostly) into containers
    and into blobs that are msgpack themselves: replace it, nudge it, add or remove an
    entry, or change the bytes of a blob."""
    # the record and the snapshot body are containers whose own replacement tells little:
    # at the first two levels always go in
    how = draw(st.integers(0, 9)) if depth >= 2 else draw(st.integers(3, 9))
    if isinstance(node, bytes) and depth < 8:
        if how < 6:
            try:
                inner = msgpack.unpackb(node, raw=False, strict_map_key=False)
            except Exception:
                inner = None
            if isinstance(inner, (dict, list)):
                return msgpack.packb(_pick(draw, inner, depth + 1), use_bin_type=True)
        if how < 9:
            return _bytes(draw, node)
    if isinstance(node, list) and node and how > 0:
        i = draw(st.integers(0, len(node) - 1))
        if how == 1:
            return node[:i] + node[i + 1 :]
        if how == 2:
            return [*node[:i], draw(_values), *node[i:]]
        return [*node[:i], _pick(draw, node[i], depth + 1), *node[i + 1 :]]
    if isinstance(node, dict) and node and how > 0:
        key = draw(st.sampled_from(sorted(node, key=repr)))
        out = dict(node)
        if how == 1:
            del out[key]
        elif how == 2:
            out[draw(st.one_of(st.text(max_size=8), st.integers(0, 9)))] = draw(_values)
        else:
            out[key] = _pick(draw, node[key], depth + 1)
        return out
    if how < 5 and not isinstance(node, (list, dict)):
        return _near(draw, node)
    return draw(_values)


def _blobs(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the msgpack blobs (stored objects) of a decoded value are."""
    if isinstance(value, bytes) and value[:1] and 0x80 <= value[0] <= 0x8F | 0x50:
        return [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _blobs(v, (*path, i))]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _blobs(v, (*path, k))]
    return []


@st.composite
def _mutated(draw: st.DrawFn, payload: bytes) -> bytes:
    """A mutation of a msgpack payload: a value changed inside one of the objects it
    carries, or anywhere in it, or bytes changed."""
    how = draw(st.integers(0, 5))
    if how == 0:
        return _bytes(draw, payload) or b"\xc0"
    rec = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    spots = _blobs(rec)
    if how < 3 or not spots:
        rec = _pick(draw, rec)
    else:
        *parents, last = draw(st.sampled_from(spots))
        node = rec
        for p in parents:
            node = node[p]
        node[last] = _pick(draw, node[last], 2)
    return msgpack.packb(rec, use_bin_type=True)  # type: ignore[no-any-return]


def _records(seg: bytes) -> list[tuple[int, bytes]]:
    out, off = [], HEADER_SIZE
    while off < len(seg):
        (length,) = struct.unpack_from("<I", seg, off)
        out.append((off, seg[off + 8 : off + 8 + length]))
        off += 8 + length
    return out


def _frame(payload: bytes) -> bytes:
    return struct.pack("<II", len(payload), crc32c(payload)) + payload


# ------------------------------------------------------------------------------ checks


def _opens(d: Path) -> None:
    Cluster.open(d, read_only=True).close()


def _open(d: Path, fast: bool) -> Cluster | ServiceCIDRError:
    old = recovery.FAST_REPLAY
    recovery.FAST_REPLAY = fast
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            c = Cluster.open(d, read_only=True)
        c.snapshot_warnings = [str(w.message) for w in caught]  # type: ignore[attr-defined]
        return c
    except ServiceCIDRError as e:  # anything else fails the test
        return e
    finally:
        recovery.FAST_REPLAY = old


def _readable(c: Cluster) -> None:
    """What ``get`` and ``check`` read: every object of every kind, decoded."""
    for kind in ("Service", "IPAddress", "ServiceCIDR"):
        for obj in c.list(kind):
            assert isinstance(obj["metadata"]["name"], str)


def _why(message: str) -> str:
    """The kind of reason in an error message (for the statistics)."""
    text = message.split("malformed snapshot body: ", 1)[-1]
    inner = re.search(r"\((.*)\)", text)
    if inner and ("passes its CRC" in text or "cannot be applied" in text):
        text = inner.group(1)
    return " ".join(w for w in text.split()[:5] if not any(ch.isdigit() for ch in w))


def _replayed(d: Path, c: Cluster) -> str:
    seg = list_segments(d / "log")[0].path.read_bytes()
    events = [decode_entry(p) for _, p in _records(seg)]
    return Cluster.replay(events, c.service_cluster_ip_range, seed=c.seed).digest()


_SETTINGS = settings(
    max_examples=fuzz_examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(data=st.data())
def test_mutated_log_records(clean: dict[str, Path], data: st.DataObject) -> None:
    src = clean["log"]
    seg_path = list_segments(src / "log")[0].path
    seg = seg_path.read_bytes()
    records = _records(seg)
    i = data.draw(st.integers(0, len(records) - 1), label="record")
    keep = data.draw(st.integers(i + 1, len(records)), label="records kept")
    off, payload = records[i]
    new = data.draw(_mutated(payload), label="payload")
    end = records[keep][0] if keep < len(records) else len(seg)
    mutated = seg[:off] + _frame(new) + seg[off + 8 + len(payload) : end]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "st"
        shutil.copytree(src, d)
        (d / "log" / seg_path.name).write_bytes(mutated)
        rep = verify_dir(d, _opens)
        fast, slow = _open(d, True), _open(d, False)
        for got in (fast, slow):
            if isinstance(got, LogCorruptError):
                assert got.path == str(d / "log" / seg_path.name)
                assert got.offset == off, (got.offset, off, str(got))
        assert isinstance(fast, Cluster) == isinstance(slow, Cluster) == rep.ok, (
            rep.lines(),
            fast,
            slow,
        )
        if not rep.ok:
            assert any(p.offset == off for p in rep.problems), rep.lines()
            event(f"refused: {_why(str(fast))}")
            return
        event("opened")
        assert isinstance(fast, Cluster) and isinstance(slow, Cluster)
        assert fast.digest() == slow.digest() == _replayed(d, fast)
        _readable(fast)
        fast.close()
        slow.close()


def _snapshot_store(body: dict[str, Any]) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    for kind, keys, blobs in body["store"]:
        out[kind] = dict(zip(keys, blobs, strict=True))
    return out


@_SETTINGS
@given(data=st.data())
def test_mutated_snapshot_bodies(clean: dict[str, Path], data: st.DataObject) -> None:
    (info,) = list_snapshots(clean["snap"] / "snapshots")
    body = info.path.read_bytes()[SNAPSHOT_HEADER_SIZE:-4]
    event(_open_snapshot_body(clean, data.draw(_mutated(body), label="body")))


def test_a_servicecidr_the_indexes_cannot_read_skips_the_snapshot(
    clean: dict[str, Path],
) -> None:
    """Found by ./dev fuzz: a snapshot whose ServiceCIDR has ``spec.cidrs: false`` (any
    JSON passes the object rules) raised ValueError on open, and verify called it ok."""
    (info,) = list_snapshots(clean["snap"] / "snapshots")
    body = msgpack.unpackb(info.path.read_bytes()[SNAPSHOT_HEADER_SIZE:-4], raw=False)
    for kind, _keys, blobs in body["store"]:
        if kind == "ServiceCIDR":
            obj = msgpack.unpackb(blobs[0], raw=False)
            obj["spec"]["cidrs"] = False
            blobs[0] = msgpack.packb(obj)
    assert _open_snapshot_body(clean, msgpack.packb(body)) == (
        "skipped: ServiceCIDR extra: spec.cidrs is not"
    )


def _open_snapshot_body(clean: dict[str, Path], new: bytes) -> str:
    """Open the clean state with its snapshot's body replaced (CRC recomputed): a body
    verify calls damaged is skipped on open (the log is whole), any other is used as it
    is; what happened ("used", or "skipped: " and why)."""
    src = clean["snap"]
    (info,) = list_snapshots(src / "snapshots")
    raw = info.path.read_bytes()
    head = bytearray(raw[:SNAPSHOT_HEADER_SIZE])
    head[28:36] = len(new).to_bytes(8, "little")
    framed = bytes(head) + new
    framed += crc32c(framed).to_bytes(4, "little")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "st"
        shutil.copytree(src, d)
        (d / "snapshots" / info.path.name).write_bytes(framed)
        rep = verify_dir(d, _opens)
        c = _open(d, True)
        assert isinstance(c, Cluster), c  # the log is whole: a bad snapshot is skipped
        warned = any("falling back" in w for w in c.snapshot_warnings)  # type: ignore[attr-defined]
        assert rep.ok != warned, (rep.lines(), c.snapshot_warnings)  # type: ignore[attr-defined]
        what = f"skipped: {_why(rep.problems[0].message)}" if warned else "used"
        _readable(c)
        if warned:  # opened from the log alone: the clean state
            with Cluster.open(src, read_only=True) as whole:
                assert c.digest() == whole.digest()
        else:  # opened from the snapshot: exactly what it holds, then the log after it
            decoded = msgpack.unpackb(new, raw=False)
            assert isinstance(decoded["clock"], (int, float)) and math.isfinite(decoded["clock"])
            at_snap = Cluster.open(d, read_only=True, as_of=decoded["seq"])
            try:
                for kind, objs in _snapshot_store(decoded).items():
                    assert dict(at_snap.engine.store.items(kind)) == objs
            finally:
                at_snap.close()
        c.close()
    return what
