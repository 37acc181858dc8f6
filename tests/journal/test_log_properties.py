"""Property: whatever a cluster does, the log and the snapshots give it back exactly.

For random command sequences (create and delete Services and ServiceCIDRs, reconcile with
time advancing, snapshots and restarts in between), three states share one digest: the
live cluster's, a fresh in-memory Cluster fed the logged events, and the state opened
from the directory (newest snapshot plus the log after it).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicecidr import Cluster, ServiceCIDRError, SimulatedClock

RANGE = "10.0.0.0/28"
CIDRS = ["10.0.1.0/29", "10.0.0.0/28", "10.0.2.0/30", "fd00::/120"]

command = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 7), st.sampled_from(["default", "prod"])),
    st.tuples(st.just("delete"), st.integers(0, 7), st.sampled_from(["default", "prod"])),
    st.tuples(st.just("create-cidr"), st.integers(0, 2), st.sampled_from(CIDRS)),
    st.tuples(st.just("delete-cidr"), st.sampled_from(["c0", "c1", "c2", "kubernetes"])),
    st.tuples(st.just("reconcile"), st.sampled_from([None, "0s", "5s", "11s", "90s"])),
    st.tuples(st.just("snapshot")),
    st.tuples(st.just("reopen")),
)


def _run(c: Cluster, cmd: tuple[Any, ...]) -> None:
    op = cmd[0]
    if op == "create":
        c.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"s{cmd[1]}", "namespace": cmd[2]},
                "spec": {"ports": [{"port": 80}]},
            }
        )
    elif op == "delete":
        c.delete("Service", f"s{cmd[1]}", cmd[2])
    elif op == "create-cidr":
        c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": f"c{cmd[1]}"},
                "spec": {"cidrs": [cmd[2]]},
            }
        )
    elif op == "delete-cidr":
        c.delete("ServiceCIDR", cmd[1])
    elif op == "reconcile":
        c.reconcile(advance=cmd[1])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(command, min_size=1, max_size=30), st.integers(0, 3))
def test_live_log_replay_and_snapshot_plus_tail_agree(
    commands: list[tuple[Any, ...]], seed: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "st"
        c = Cluster.open(
            d, service_cluster_ip_range=RANGE, seed=seed, clock=SimulatedClock(), durability="none"
        )
        try:
            for cmd in commands:
                if cmd[0] == "snapshot":
                    c.snapshot()
                elif cmd[0] == "reopen":
                    before = c.digest()
                    c.close()
                    with Cluster.open(d, read_only=True) as r:
                        assert r.digest() == before
                    # a restart runs the apiserver start logic, which may write
                    c = Cluster.open(d, durability="none")
                else:
                    with contextlib.suppress(ServiceCIDRError):  # refusals record nothing
                        _run(c, cmd)
            live = c.digest()
            live_seq = c.seq
        finally:
            c.close()
        with Cluster.open(d, read_only=True) as opened:
            assert opened.seq == live_seq
            assert opened.digest() == live, "snapshot + tail"
            events = list(opened.iter_events())
        assert [e.seq for e in events] == list(range(1, live_seq + 1))
        replayed = Cluster.replay(events, RANGE, seed=seed)
        assert replayed.digest() == live, "log replay"
        with Cluster.open(d, as_of=live_seq) as past:
            assert past.digest() == live
