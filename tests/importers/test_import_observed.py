"""Observed replay: what is applied, what is adopted, and every divergence check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from importers.test_import_formats import _create_pair, _ipa, _lines, _svc, event
from servicecidr import Cluster, SimulatedClock
from servicecidr.importers import import_observed
from servicecidr.importers.report import ImportReport

T0 = "2025-03-01T10:00:00.000000Z"
T1 = "2025-03-01T10:00:01.000000Z"
T2 = "2025-03-01T10:00:02.000000Z"
T3 = "2025-03-01T10:00:30.000000Z"


def _run(
    tmp_path: Path, *events: Any, rng: str = "10.96.0.0/24", **kw: Any
) -> tuple[Cluster, ImportReport]:
    p = tmp_path / "audit.log"
    p.write_text(_lines(*events))
    c = Cluster(rng, seed=1, clock=SimulatedClock())
    return c, import_observed(c, "audit", [p], **kw)


def _checks(r: ImportReport) -> dict[str, int]:
    return dict(r.divergence_counts)


def _sc(name: str, cidrs: list[str], rv: int, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {
            "name": name,
            "uid": f"uid-sc-{name}",
            "resourceVersion": str(rv),
            "creationTimestamp": "2025-03-01T10:00:00Z",
            **meta,
        },
        "spec": {"cidrs": cidrs},
    }


def test_adopts_uid_timestamps_and_resource_versions(tmp_path: Path) -> None:
    c, r = _run(tmp_path, *_create_pair("web", "10.96.0.50", 1000, T1))
    svc = c.get("Service", "web")
    assert svc["metadata"]["uid"] == "uid-web"
    assert svc["metadata"]["resourceVersion"] == "1001"
    assert svc["metadata"]["creationTimestamp"] == "2025-03-01T10:00:00Z"
    assert c.engine.store.revision == 1001
    evs = [e for e in c.events() if e.verb == "import"]
    assert [(e.kind, e.actor, e.ts) for e in evs] == [
        ("IPAddress", "system:apiserver", 1740823201.0),
        ("Service", "alice", 1740823201.0),
    ]
    assert evs[1].extra == {
        "import": "create",
        "at": f"{tmp_path / 'audit.log'}:2",
        "auditID": f"id-create-web-{T1}",
    }
    assert (r.first_seq, r.last_seq, r.events_committed) == (evs[0].seq, evs[1].seq, 2)
    assert _checks(r) == {}
    # the Cluster keeps its own clock afterwards, moved to the end of the history
    assert c.clock.now() == 1740823201.0


def test_ip_reused_by_a_second_service(tmp_path: Path) -> None:
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("create", _svc("b", "10.96.0.50", 20), t=T1),
    ]
    _, r = _run(tmp_path, *evs)
    assert _checks(r) == {"ip-reused": 1}
    d = r.divergences[0]
    assert "10.96.0.50" in d.message and d.event["line"] == 3 and d.event["name"] == "b"


def test_ip_reused_through_ipaddress_write(tmp_path: Path) -> None:
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("update", _ipa("10.96.0.50", "b", 20), resource="ipaddresses", code=200, t=T1),
    ]
    _, r = _run(tmp_path, *evs)
    assert _checks(r) == {"ip-reused": 1}


def test_ip_out_of_range(tmp_path: Path) -> None:
    evs = _create_pair("a", "10.200.0.5", 10, T0)
    _, r = _run(tmp_path, *evs)
    assert _checks(r) == {"ip-out-of-range": 2}  # the IPAddress and the Service


def test_ip_in_a_terminating_servicecidr_is_out_of_range(tmp_path: Path) -> None:
    fin = {"finalizers": ["networking.k8s.io/service-cidr-finalizer"]}
    evs = [
        event("create", _sc("extra", ["10.97.0.0/24"], 5, **fin), resource="servicecidrs", t=T0),
        event(
            "delete",
            _sc("extra", ["10.97.0.0/24"], 6, deletionTimestamp="2025-03-01T10:00:01Z", **fin),
            resource="servicecidrs",
            code=200,
            t=T1,
        ),
        *_create_pair("a", "10.97.0.5", 10, T2),
    ]
    c, r = _run(tmp_path, *evs)
    assert c.get("ServiceCIDR", "extra")["metadata"]["deletionTimestamp"]  # Terminating
    assert _checks(r) == {"ip-out-of-range": 2}


def test_servicecidr_removed_with_orphaned_ips(tmp_path: Path) -> None:
    fin = {"finalizers": ["networking.k8s.io/service-cidr-finalizer"]}
    gone = _sc("extra", ["10.97.0.0/24"], 30, deletionTimestamp="2025-03-01T10:00:02Z")
    evs = [
        event("create", _sc("extra", ["10.97.0.0/24"], 5, **fin), resource="servicecidrs", t=T0),
        *_create_pair("a", "10.97.0.5", 10, T1),
        # the last finalizer removed (a patch by kcm): the object goes
        event("patch", gone, resource="servicecidrs", code=200, t=T3, user="kcm"),
    ]
    c, r = _run(tmp_path, *evs)
    assert not c.engine.store.contains("ServiceCIDR", "extra")
    assert _checks(r) == {"servicecidr-orphaned-ips": 1}
    assert "10.97.0.5" in r.divergences[0].message


def test_servicecidr_removed_when_covered_is_fine(tmp_path: Path) -> None:
    evs = [
        event("create", _sc("extra", ["10.96.0.0/25"], 5), resource="servicecidrs", t=T0),
        *_create_pair("a", "10.96.0.5", 10, T1),
        event(
            "delete", _sc("extra", ["10.96.0.0/25"], 30), resource="servicecidrs", code=200, t=T3
        ),
    ]
    _, r = _run(tmp_path, *evs)
    assert _checks(r) == {}  # the default ServiceCIDR 10.96.0.0/24 still holds 10.96.0.5


def test_service_without_ipaddress_when_ipaddresses_are_recorded(tmp_path: Path) -> None:
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("create", _svc("b", "10.96.0.51", 20), t=T1),
    ]
    c, r = _run(tmp_path, *evs)
    assert _checks(r) == {"service-without-ipaddress": 1}
    assert not c.engine.store.contains("IPAddress", "10.96.0.51")


def test_ipaddress_deleted_under_a_live_service(tmp_path: Path) -> None:
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("delete", _ipa("10.96.0.50", "a", 20), resource="ipaddresses", code=200, t=T1),
    ]
    _, r = _run(tmp_path, *evs)
    assert _checks(r) == {"service-without-ipaddress": 1}
    assert r.divergences[0].event["line"] == 3


def test_release_before_the_service_delete_is_fine(tmp_path: Path) -> None:
    # the allocator's delete of the IPAddress completes before the Service delete
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("delete", _ipa("10.96.0.50", "a", 20), resource="ipaddresses", code=200, t=T1),
        event("delete", _svc("a", "10.96.0.50", 21), code=200, t=T1),
    ]
    c, r = _run(tmp_path, *evs)
    assert _checks(r) == {}
    assert c.count("Service") == 1


def test_ipaddress_never_released(tmp_path: Path) -> None:
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("delete", _svc("a", "10.96.0.50", 21), code=200, t=T1),
    ]
    c, r = _run(tmp_path, *evs)
    assert _checks(r) == {"ipaddress-not-released": 1}
    assert c.engine.store.contains("IPAddress", "10.96.0.50")


def test_audit_log_without_ipaddress_writes_derives_them_at_the_end(tmp_path: Path) -> None:
    evs = [
        event("create", _svc("a", "10.96.0.50", 10), t=T0),
        event("create", _svc("b", "10.96.0.51", 11), t=T1),
        event("delete", _svc("b", "10.96.0.51", 12), code=200, t=T2),
    ]
    c, r = _run(tmp_path, *evs)
    assert _checks(r) == {}
    assert c.get("IPAddress", "10.96.0.50")["spec"]["parentRef"]["name"] == "a"
    assert not c.engine.store.contains("IPAddress", "10.96.0.51")
    assert r.notes["audit log without IPAddress writes: IPAddresses derived at the end"] == 1
    _, r2 = _run(tmp_path, *evs, ipaddresses="recorded")
    assert _checks(r2) == {"service-without-ipaddress": 1}
    c3, r3 = _run(tmp_path, *evs, ipaddresses="derived")
    assert _checks(r3) == {}
    assert (
        c3.get("IPAddress", "10.96.0.50")["metadata"]["creationTimestamp"] == "2025-03-01T10:00:00Z"
    )


def test_gap_and_out_of_order(tmp_path: Path) -> None:
    a1 = _svc("a", "10.96.0.50", 11)
    a2 = json.loads(json.dumps(a1))
    a2["metadata"]["resourceVersion"] = "15"
    a2["metadata"]["labels"] = {"v": "2"}
    stale = json.loads(json.dumps(a1))
    stale["metadata"]["resourceVersion"] = "12"
    stale["metadata"]["labels"] = {"v": "old"}
    req = {**a2, "metadata": {**a2["metadata"], "resourceVersion": "13"}}
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event(
            "create",
            a1 | {"metadata": {**a1["metadata"], "resourceVersion": "11"}},
            t=T0,
            aid="again",
        ),
        event("update", a2, code=200, t=T1, request=req),
        event("update", stale, code=200, t=T2, aid="stale"),
    ]
    c, r = _run(tmp_path, *evs, reorder_window=0)
    assert _checks(r) == {"gap": 1, "out-of-order": 1}
    # the repeated create carries the very same object: nothing to do
    assert dict(r.skipped) == {"unchanged": 1, "stale": 1}
    assert c.get("Service", "a")["metadata"]["labels"] == {"v": "2"}


def test_created_twice(tmp_path: Path) -> None:
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("create", _svc("a", "10.96.0.50", 30, uid="other"), t=T1, aid="again"),
    ]
    _, r = _run(tmp_path, *evs)
    assert _checks(r) == {"created-twice": 1}


def test_finalizers_delete_then_update_removes(tmp_path: Path) -> None:
    fin = ["service.kubernetes.io/load-balancer-cleanup"]
    base = _svc("lb", "10.96.0.70", 10)
    base["metadata"]["finalizers"] = fin
    deleting = json.loads(json.dumps(base))
    deleting["metadata"].update(resourceVersion="20", deletionTimestamp="2025-03-01T10:00:01Z")
    done = json.loads(json.dumps(deleting))
    done["metadata"].update(resourceVersion="25", finalizers=[])
    evs = [
        event("create", _ipa("10.96.0.70", "lb", 9), resource="ipaddresses", t=T0),
        event("create", base, t=T0),
        event("delete", deleting, code=200, t=T1),
        event("delete", _ipa("10.96.0.70", "lb", 24), resource="ipaddresses", code=200, t=T2),
        event("update", done, code=200, t=T2),
    ]
    c, r = _run(tmp_path, *evs)
    assert _checks(r) == {}
    assert not c.engine.store.contains("Service", "default/lb")
    assert c.engine.store.revision == 25


def test_deletecollection_with_a_list(tmp_path: Path) -> None:
    lst = {"kind": "ServiceList", "apiVersion": "v1", "items": [_svc("a", "10.96.0.50", 30)]}
    evs = [
        *_create_pair("a", "10.96.0.50", 10, T0),
        event("delete", _ipa("10.96.0.50", "a", 29), resource="ipaddresses", code=200, t=T1),
        event("deletecollection", lst, name="", code=200, t=T1),
    ]
    c, r = _run(tmp_path, *evs)
    assert (r.read, r.used) == (4, 4)
    assert not c.engine.store.contains("Service", "default/a")
    assert _checks(r) == {}


def test_dump_seeds_a_log_that_starts_mid_life(tmp_path: Path) -> None:
    dump = tmp_path / "svc.json"
    dump.write_text(
        json.dumps({"kind": "List", "apiVersion": "v1", "items": [_svc("old", "10.96.0.9", 5)]})
    )
    log = tmp_path / "audit.log"
    log.write_text(
        _lines(
            event("delete", _ipa("10.96.0.9", "old", 40), resource="ipaddresses", code=200, t=T1),
            event("delete", _svc("old", "10.96.0.9", 41), code=200, t=T1),
            *_create_pair("new", "10.96.0.9", 42, T2),
        )
    )
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock())
    r = import_observed(c, "audit", [log], from_dump=[dump])
    assert _checks(r) == {}
    assert r.read == 5 and r.used == 5
    assert c.get("IPAddress", "10.96.0.9")["spec"]["parentRef"]["name"] == "new"
    assert not c.engine.store.contains("Service", "default/old")


def test_history_lands_in_the_durable_log_and_time_travels(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(
        _lines(
            *_create_pair("a", "10.96.0.50", 1000, T0),
            *_create_pair("b", "10.96.0.51", 1010, T3),
        )
    )
    state = tmp_path / "state"
    clock = SimulatedClock()
    c = Cluster.open(state, service_cluster_ip_range="10.96.0.0/24", clock=clock, durability="none")
    r = import_observed(c, "audit", [log])
    assert not r.in_memory and r.used == 4
    c.close()
    back = Cluster.open(state, read_only=True)
    assert {s["metadata"]["name"] for s in back.list("Service", "default")} == {
        "kubernetes",
        "a",
        "b",
    }
    back.close()
    then = Cluster.open(state, as_of="2025-03-01T10:00:10Z")
    assert {s["metadata"]["name"] for s in then.list("Service", "default")} == {"kubernetes", "a"}
    then.close()


def test_metadata_level_ipaddresses_are_joined_to_their_service_by_time(tmp_path: Path) -> None:
    def meta_ip(ip: str, t: str) -> dict[str, Any]:
        return event(
            "create",
            None,
            resource="ipaddresses",
            name=ip,
            level="Metadata",
            t=t,
            user="system:apiserver",
        )

    def svc_create(name: str, received: str, t: str, level: str = "Request") -> dict[str, Any]:
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}]},
        }
        e = event(
            "create",
            None,
            name=name,
            level=level,
            t=t,
            request=body if level == "Request" else None,
        )
        e["requestReceivedTimestamp"] = received
        return e

    evs = [
        meta_ip("10.96.0.77", "2025-03-01T10:00:00.100000Z"),
        svc_create("a", "2025-03-01T10:00:00.050000Z", "2025-03-01T10:00:00.200000Z"),
        meta_ip("10.96.0.78", "2025-03-01T10:00:05.100000Z"),
        svc_create("b", "2025-03-01T10:00:05.000000Z", "2025-03-01T10:00:05.300000Z", "Metadata"),
        meta_ip("10.96.0.79", "2025-03-01T10:00:09.000000Z"),  # no Service around it
    ]
    c, r = _run(tmp_path, *evs)
    parents = {
        ip["metadata"]["name"]: ip["spec"]["parentRef"]["name"] for ip in c.list("IPAddress")
    }
    assert parents == {
        "10.96.0.1": "kubernetes",
        "10.96.0.77": "a",
        "10.96.0.78": "b",
        "10.96.0.79": "",
    }
    assert r.notes["IPAddresses rebuilt from Metadata-level events"] == 3
    assert r.notes["IPAddresses at Metadata level whose Service could not be joined"] == 1
    assert dict(r.skipped) == {"metadata-only": 1}  # Service b: a name and no body
    assert c.get("IPAddress", "10.96.0.77")["metadata"]["creationTimestamp"] == (
        "2025-03-01T10:00:00Z"
    )
    [sc] = r.state
    assert sc["ranges"][0]["used"] == 4


def test_history_older_than_the_state_is_placed_at_its_end(tmp_path: Path) -> None:
    evs = _create_pair("old", "10.96.0.50", 10, "2019-05-01T00:00:00.000000Z")
    c, r = _run(tmp_path, *evs)  # the state started on 2025-01-01
    assert r.notes["events older than the state's history, placed at its end"] == 2
    assert [e.ts for e in c.events()][-2:] == [1735689600.0, 1735689600.0]
    # the objects keep the times they recorded
    assert c.get("Service", "old")["metadata"]["creationTimestamp"] == "2025-03-01T10:00:00Z"
    assert r.first_ts == 1556668800.0
