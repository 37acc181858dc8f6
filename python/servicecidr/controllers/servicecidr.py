"""kube-controller-manager's ServiceCIDR controller (pkg/controller/servicecidrs).

Live ServiceCIDRs get the protection finalizer and Ready=True. A ServiceCIDR being
deleted loses its finalizer only when no allocator-managed IPAddress would be orphaned,
and only once 10 s have passed since its deletionTimestamp, so that every apiserver has
stopped allocating from it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from servicecidr.api.conditions import get_condition, with_condition
from servicecidr.apiserver import Engine
from servicecidr.clock import format_time, parse_time
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.controllers.netutil import cidr_contains_cidr, cidr_contains_ip, family_of_cidr
from servicecidr.errors import ApiError
from servicecidr.store import Store, decode_object

__all__ = ["CONTROLLER_NAME", "FINALIZER", "can_delete", "orphaned_ips", "sync_service_cidrs"]

CONTROLLER_NAME = "service-cidr-controller"
FINALIZER = "networking.k8s.io/service-cidr-finalizer"
DELETION_GRACE = 10.0
READY_MESSAGE = "Kubernetes Service CIDR is ready"
TERMINATING_MESSAGE = (
    "There are still IPAddresses referencing the ServiceCIDR, please remove them or create a "
    "new ServiceCIDR"
)
FAMILY_LABEL = "ipaddress.kubernetes.io/ip-family"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"
MANAGED_BY = "ipallocator.k8s.io"


def _cidrs(obj: dict[str, Any]) -> list[str]:
    return [c for c in (obj.get("spec") or {}).get("cidrs") or [] if isinstance(c, str)]


def _ips_within(engine: Engine, cidr: str) -> list[str]:
    """The IPAddress keys inside ``cidr``: from its allocator's bitmap when the prefix has
    one (never a scan of every address), else by reading the keys."""
    alloc = engine.meta.allocator_for(cidr)
    if alloc is not None:
        return list(alloc)
    return [ip for ip in engine.store.keys("IPAddress") if cidr_contains_ip(cidr, ip)]


def orphaned_ips(engine: Engine, sc: dict[str, Any], others: list[dict[str, Any]]) -> Iterator[str]:
    """Allocator-managed IPAddresses that only ``sc`` holds (SPEC 5): those in a CIDR of
    ``sc`` that no other ServiceCIDR contains, with the matching family label, inside no
    CIDR of ``others`` (network and IPv4 broadcast addresses do not count)."""
    other_cidrs = [oc for o in others for oc in _cidrs(o)]
    for cidr in _cidrs(sc):
        if any(cidr_contains_cidr(oc, cidr) for oc in other_cidrs):
            continue
        family = family_of_cidr(cidr)
        for ip in _ips_within(engine, cidr):
            blob = engine.store.get("IPAddress", ip)
            if blob is None:
                continue
            labels = (decode_object(blob).get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or labels.get(FAMILY_LABEL) != family:
                continue
            if not any(cidr_contains_ip(oc, ip) for oc in other_cidrs):
                yield ip


def can_delete(engine: Engine, sc: dict[str, Any], all_scs: list[dict[str, Any]]) -> bool:
    """canDeleteCIDR: covered by another ServiceCIDR, or no managed IP would be orphaned."""
    name = sc["metadata"]["name"]
    others = [o for o in all_scs if o["metadata"]["name"] != name]
    return next(orphaned_ips(engine, sc, others), None) is None


def _all(store: Store) -> list[dict[str, Any]]:
    return [decode_object(b) for _, b in store.items("ServiceCIDR")]


def _ready_condition(engine: Engine, status: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "lastTransitionTime": format_time(engine.clock.now()),
        "reason": reason,
        "message": message,
    }


def sync_service_cidrs(engine: Engine, events: EventRecorder) -> tuple[bool, float | None]:
    """One pass over every ServiceCIDR. Returns (wrote anything, next deadline)."""
    changed = False
    deadline: float | None = None
    all_scs = _all(engine.store)
    for sc in all_scs:
        meta = sc["metadata"]
        finalizers: list[str] = list(meta.get("finalizers") or [])
        if not meta.get("deletionTimestamp"):
            if FINALIZER not in finalizers:
                upd = copy.deepcopy(sc)
                upd["metadata"]["finalizers"] = [*finalizers, FINALIZER]
                try:
                    sc, _ = engine.update(upd, actor=CONTROLLER_NAME)
                    changed = True
                except ApiError:
                    # kcm requeues the key with back-off; here the next reconcile retries.
                    continue
            cond = get_condition(sc, "Ready")
            if not (
                cond
                and cond.get("status") == "True"
                and not cond.get("reason")
                and cond.get("message") == READY_MESSAGE
            ):
                upd = copy.deepcopy(sc)
                with_condition(upd, _ready_condition(engine, "True", "", READY_MESSAGE))
                try:
                    engine.update_status(upd, actor=CONTROLLER_NAME)
                    changed = True
                except ApiError:
                    changed |= events.warn_once(
                        CONTROLLER_NAME,
                        sc,
                        "KubernetesServiceCIDRError",
                        "The ServiceCIDR Status can not be set to Ready=True",
                    )
            continue
        if FINALIZER not in finalizers:
            continue
        if not can_delete(engine, sc, all_scs):
            upd = copy.deepcopy(sc)
            if with_condition(
                upd, _ready_condition(engine, "False", "Terminating", TERMINATING_MESSAGE)
            ):
                try:
                    engine.update_status(upd, actor=CONTROLLER_NAME)
                    changed = True
                except ApiError:
                    continue  # retried on the next reconcile, as kcm's queue would
            continue
        due = parse_time(meta["deletionTimestamp"]) + DELETION_GRACE
        if engine.clock.now() < due:
            deadline = due if deadline is None else min(deadline, due)
            continue
        upd = copy.deepcopy(sc)
        upd["metadata"]["finalizers"] = [f for f in finalizers if f != FINALIZER]
        try:
            engine.update(upd, actor=CONTROLLER_NAME)
            changed = True
        except ApiError:
            continue
        all_scs = _all(engine.store)
    return changed, deadline
