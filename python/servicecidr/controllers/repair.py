"""kube-apiserver's IPAddress repair loop
(pkg/registry/core/service/ipallocator/controller/repairip.go).

Every Service ClusterIP must have its IPAddress (recreated when missing, mislabelled or
pointing elsewhere), and every allocator-managed IPAddress must belong to a Service that
lists it (leaked ones are deleted once 60 s old).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecidr.clock import parse_time
from servicecidr.controllers.event_recorder import record_event, warn_once
from servicecidr.controllers.netutil import cidr_contains_ip
from servicecidr.journal.records import decode_object
from servicecidr.registry.service import canonical_ip, ip_address_object
from servicecidr.registry.txn import Txn
from servicecidr.store import object_key

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster

__all__ = ["CONTROLLER_NAME", "repair"]

CONTROLLER_NAME = "ipallocator-repair-controller"
LEAK_GRACE = 60.0
FAMILY_LABEL = "ipaddress.kubernetes.io/ip-family"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"
MANAGED_BY = "ipallocator.k8s.io"


def _family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def _labels_ok(ipa: dict[str, Any]) -> bool:
    labels = ipa["metadata"].get("labels") or {}
    return (
        labels.get(FAMILY_LABEL) == _family(ipa["metadata"]["name"])
        and labels.get(MANAGED_BY_LABEL) == MANAGED_BY
    )


def _service(c: Cluster, ns: str, name: str) -> dict[str, Any] | None:
    blob = c._store.get("Service", object_key(True, ns, name))
    return decode_object(blob) if blob is not None else None


def _recreate(c: Cluster, ip: str, svc: dict[str, Any]) -> None:
    txn = Txn(c._store.revision)
    blob = c._store.get("IPAddress", ip)
    if blob is not None:
        txn.delete("IPAddress", ip, blob)
    meta = svc["metadata"]
    txn.put("IPAddress", ip, ip_address_object(c, ip, meta["namespace"], meta["name"]))
    c._commit("repair", CONTROLLER_NAME, "IPAddress", None, ip, txn, None)


def _delete_ip(c: Cluster, ip: str) -> None:
    blob = c._store.get("IPAddress", ip)
    if blob is None:
        return
    txn = Txn(c._store.revision)
    txn.delete("IPAddress", ip, blob)
    c._commit("repair", CONTROLLER_NAME, "IPAddress", None, ip, txn, None)


def _sync_service(c: Cluster, svc: dict[str, Any], all_cidrs: list[str]) -> bool:
    spec = svc.get("spec") or {}
    if spec.get("clusterIP") in (None, "", "None"):
        return False
    changed = False
    ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
    for raw in spec.get("clusterIPs") or []:
        ip = canonical_ip(raw)
        fam = _family(ip)
        if not any(cidr_contains_ip(cidr, ip) for cidr in all_cidrs):
            changed |= _warn(
                c,
                svc,
                "ClusterIPOutOfRange",
                "ClusterIPAllocation",
                f"Cluster IP [{fam}]: {ip} is not within any configured Service "
                "CIDR; please recreate service",
            )
            continue
        blob = c._store.get("IPAddress", ip)
        if blob is None:
            record_event(
                c,
                CONTROLLER_NAME,
                svc,
                "Warning",
                "ClusterIPNotAllocated",
                "ClusterIPAllocation",
                f"Cluster IP [{fam}]: {ip} is not allocated; repairing",
            )
            txn = Txn(c._store.revision)
            txn.put("IPAddress", ip, ip_address_object(c, ip, ns, name))
            c._commit("repair", CONTROLLER_NAME, "IPAddress", None, ip, txn, None)
            changed = True
            continue
        ipa = decode_object(blob)
        ref = (ipa.get("spec") or {}).get("parentRef") or {}
        if ref.get("group", "") != "" or ref.get("resource") != "services":
            record_event(
                c,
                CONTROLLER_NAME,
                svc,
                "Warning",
                "ClusterIPNotAllocated",
                "ClusterIPAllocation",
                f"the ClusterIP [{fam}]: {ip} for Service "
                f"{ns}/{name} has a wrong reference; repairing",
            )
            _recreate(c, ip, svc)
            changed = True
            continue
        if ref.get("namespace") != ns or ref.get("name") != name:
            other = _service(c, ref.get("namespace", ""), ref.get("name", ""))
            if other is None:
                record_event(
                    c,
                    CONTROLLER_NAME,
                    svc,
                    "Warning",
                    "ClusterIPNotAllocated",
                    "ClusterIPAllocation",
                    f"the ClusterIP [{fam}]: {ip} for Service "
                    f"{ns}/{name} has a wrong reference; repairing",
                )
                _recreate(c, ip, svc)
                changed = True
                continue
            if ip in [canonical_ip(x) for x in (other.get("spec") or {}).get("clusterIPs") or []]:
                changed |= _warn(
                    c,
                    svc,
                    "ClusterIPAlreadyAllocated",
                    "ClusterIPAllocation",
                    f"Cluster IP [{fam}]:{ip} was assigned to multiple services; "
                    "please recreate service",
                )
        if not _labels_ok(ipa):
            _recreate(c, ip, svc)
            changed = True
    return changed


def _warn(c: Cluster, obj: dict[str, Any], reason: str, action: str, note: str) -> bool:
    # Reports that change nothing are recorded once per object and message.
    return warn_once(c, CONTROLLER_NAME, obj, reason, note, action)


def _sync_ip_address(c: Cluster, ipa: dict[str, Any]) -> tuple[bool, float | None]:
    labels = ipa["metadata"].get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return False, None
    ip = ipa["metadata"]["name"]
    ref = (ipa.get("spec") or {}).get("parentRef") or {}
    if ref.get("group", "") != "" or ref.get("resource") != "services":
        ref_text = (
            f"&ParentReference{{Group:{ref.get('group', '')},Resource:{ref.get('resource', '')},"
            f"Namespace:{ref.get('namespace', '')},Name:{ref.get('name', '')},}}"
        )
        record_event(
            c,
            CONTROLLER_NAME,
            ipa,
            "Warning",
            "IPAddressNotAllocated",
            "IPAddressAllocation",
            f"IPAddress {ip} appears to have been modified, "
            f"not referencing a Service {ref_text}: cleaning up",
        )
        _delete_ip(c, ip)
        return True, None
    svc = _service(c, ref.get("namespace", ""), ref.get("name", ""))
    if svc is None:
        created = parse_time(ipa["metadata"].get("creationTimestamp") or "1970-01-01T00:00:00Z")
        if c._clock.now() - created > LEAK_GRACE:
            record_event(
                c,
                CONTROLLER_NAME,
                ipa,
                "Warning",
                "IPAddressNotAllocated",
                "IPAddressAllocation",
                f"IPAddress: {ip} for Service "
                f"{ref.get('namespace', '')}/{ref.get('name', '')} appears to have "
                "leaked: cleaning up",
            )
            _delete_ip(c, ip)
            return True, None
        return False, created + LEAK_GRACE + 0.001
    cips = [canonical_ip(x) for x in (svc.get("spec") or {}).get("clusterIPs") or []]
    if ip in cips:
        return False, None
    record_event(
        c,
        CONTROLLER_NAME,
        ipa,
        "Warning",
        "IPAddressWrongReference",
        "IPAddressAllocation",
        f"IPAddress: {ip} for Service "
        f"{svc['metadata']['namespace']}"
        f"/{svc['metadata']['name']} has a wrong reference; cleaning up",
    )
    _delete_ip(c, ip)
    return True, None


def repair(c: Cluster) -> tuple[bool, float | None]:
    """One pass: everything after start or a ServiceCIDR change (doRunOnce), otherwise only
    the Services and IPAddresses that changed since the last pass, and leak timers that
    came due (what the loop's informer queues would hold). Returns (wrote anything, next
    deadline)."""
    all_cidrs = [
        cidr
        for _, b in c._store.items("ServiceCIDR")
        for cidr in (decode_object(b).get("spec") or {}).get("cidrs") or []
    ]
    if c._repair_full:
        c._repair_full = False
        svc_keys = sorted(k for k, _ in c._store.items("Service"))
        ip_keys = sorted(k for k, _ in c._store.items("IPAddress"))
        c._repair_due.clear()
    else:
        now = c._clock.now()
        due = [ip for ip, t in c._repair_due.items() if t <= now]
        svc_keys = sorted(c._dirty_services)
        ip_keys = sorted(set(c._dirty_ips).union(due))
    c._dirty_services.clear()
    c._dirty_ips.clear()
    changed = False
    for key in svc_keys:
        blob = c._store.get("Service", key)
        if blob is not None:
            changed |= _sync_service(c, decode_object(blob), all_cidrs)
    for ip in ip_keys:
        c._repair_due.pop(ip, None)
        blob = c._store.get("IPAddress", ip)
        if blob is None:
            continue
        did, when = _sync_ip_address(c, decode_object(blob))
        changed |= did
        if when is not None:
            c._repair_due[ip] = when
    deadline = min(c._repair_due.values(), default=None)
    return changed, deadline
