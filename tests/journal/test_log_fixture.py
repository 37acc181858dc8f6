"""A state directory written by log format 1 / event schema 1 opens, forever after.

``tests/data/log-v1`` was written by ``tests/data/make_log_v1.py`` and is never
regenerated: when the format or the event schema changes, the new code must still read it
(upcasting old events), and a new fixture is added beside it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from servicecidr import Cluster
from servicecidr.journal.segments import list_segments
from servicecidr.journal.snapshots import list_snapshots

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "log-v1"
# The digest printed by make_log_v1.py when it wrote the fixture. It changes only if
# Cluster.digest() itself changes (then check the contents below, and update it).
DIGEST = "bbb23aefe7cdea3450c5b932c5cc050e6a12a13bb44c6a802540979c75db8598"


def _files() -> dict[str, bytes]:
    return {str(p.relative_to(FIXTURE)): p.read_bytes() for p in FIXTURE.rglob("*") if p.is_file()}


def test_the_v1_fixture_opens_read_only_with_its_digest_and_contents() -> None:
    before = _files()
    assert [s.first_seq for s in list_segments(FIXTURE / "log")] == [1, 14]
    assert [s.seq for s in list_snapshots(FIXTURE / "snapshots")] == [13]
    with Cluster.open(FIXTURE, read_only=True) as c:
        assert c.digest() == DIGEST
        assert c.seq == 16
        assert c.service_cluster_ip_range == ("10.96.0.0/28",) and c.seed == 42
        assert c.clock.simulated and c.clock.now() == 1735689600.0 + 131
        ips = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s["spec"]["clusterIP"]
            for s in c.list("Service")
        }
        assert ips == {
            ("default", "kubernetes"): "10.96.0.1",
            ("default", "web"): "10.96.0.11",
            ("default", "pinned"): "10.97.0.3",
            ("prod", "api"): "10.96.0.4",
            ("prod", "cache"): "10.97.0.4",
        }
        extra = c.get("ServiceCIDR", "extra")
        assert extra["metadata"]["deletionTimestamp"]  # held by its finalizer
        events = list(c.iter_events())
        assert [e.seq for e in events] == list(range(1, 17))
        assert [(e.verb, e.kind, e.name) for e in events if e.actor == "user"] == [
            ("create", "Service", "web"),
            ("create", "Service", "db"),
            ("create", "Service", "api"),
            ("create", "ServiceCIDR", "extra"),
            ("create", "Service", "pinned"),
            ("delete", "Service", "db"),
            ("create", "Service", "cache"),
            ("delete", "ServiceCIDR", "extra"),
        ]
        replayed = Cluster.replay(events, c.service_cluster_ip_range, seed=c.seed)
        assert replayed.digest() == DIGEST
    with Cluster.open(FIXTURE, as_of=12) as past:
        assert past.count("Service") == 5  # kubernetes, web, db, api, pinned
    assert _files() == before, "reading the fixture must not change it"


def test_the_v1_fixture_can_be_written_to(tmp_path: Path) -> None:
    d = tmp_path / "copy"
    shutil.copytree(FIXTURE, d)
    with Cluster.open(d) as c:
        c.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "new"},
                "spec": {"ports": [{"port": 80}]},
            }
        )
        live = c.digest()
    with Cluster.open(d, read_only=True) as c:
        assert c.digest() == live
        # the fixture's 16 entries, the four system namespaces the restart creates (the
        # v1 log predates them) and the new Service
        assert c.seq == 21
