"""kube-apiserver's default-ServiceCIDR controller
(pkg/controlplane/controller/defaultservicecidr).

Keeps the ServiceCIDR ``kubernetes`` in line with ``--service-cluster-ip-range``: creates
it (again, once a deleted one is fully gone), upgrades it from single- to dual-stack when
the flags gained a secondary range with the same primary, and otherwise only reports.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Any

from servicecidr.clock import format_time
from servicecidr.controllers.conditions import get_condition, with_condition
from servicecidr.controllers.event_recorder import record_event, warn_once
from servicecidr.errors import ApiError
from servicecidr.journal.records import decode_object
from servicecidr.registry.simple import SIMPLE_KINDS

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster

__all__ = ["CONTROLLER_NAME", "DEFAULT_NAME", "sync_default_service_cidr"]

CONTROLLER_NAME = "kubernetes-service-cidr-controller"
DEFAULT_NAME = "kubernetes"
READY_MESSAGE = "Kubernetes default Service CIDR is ready"


def _ready(c: Cluster) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": format_time(c._clock.now()),
        "reason": "",
        "message": READY_MESSAGE,
    }


def sync_default_service_cidr(c: Cluster) -> bool:
    """One sync. Returns whether it wrote anything."""
    cidrs = list(c.service_cluster_ip_range)
    if not cidrs:
        return False
    strategy = SIMPLE_KINDS["ServiceCIDR"]
    blob = c._store.get("ServiceCIDR", DEFAULT_NAME)
    if blob is None:
        obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": DEFAULT_NAME},
            "spec": {"cidrs": cidrs},
        }
        try:
            created, _ = strategy.create(c, obj, None, False, actor=CONTROLLER_NAME)
        except ApiError:
            return False  # retried on the next sync (every 10 s in kube-apiserver)
        with_condition(created, _ready(c))
        # If the status write is refused, the status sync of the next pass retries it.
        with contextlib.suppress(ApiError):
            strategy.update_status(c, created, None, False, actor=CONTROLLER_NAME)
        return True
    sc = decode_object(blob)
    current = list((sc.get("spec") or {}).get("cidrs") or [])
    if len(cidrs) == 2 and len(current) == 1 and current[0] == cidrs[0]:
        upd = copy.deepcopy(sc)
        upd["spec"]["cidrs"] = cidrs
        try:
            strategy.update(c, upd, None, False, actor=CONTROLLER_NAME)
        except ApiError as e:
            record_event(
                c,
                CONTROLLER_NAME,
                sc,
                "Warning",
                "KubernetesDefaultServiceCIDRError",
                "KubernetesDefaultServiceCIDRError",
                f"The default ServiceCIDR can not be upgraded from {current[0]} to dual "
                f"stack {cidrs} : {e}",
            )
            return False
        return True
    if sc["metadata"].get("deletionTimestamp"):
        return False
    if current != cidrs:
        note = (
            f"The default ServiceCIDR {current} does not match the controller flag "
            f"configurations {','.join(cidrs)}"
        )
        return _warn_once(c, sc, "KubernetesDefaultServiceCIDRInconsistent", note)
    cond = get_condition(sc, "Ready")
    if cond is None or cond.get("status") == "Unknown":
        upd = copy.deepcopy(sc)
        with_condition(upd, _ready(c))
        try:
            strategy.update_status(c, upd, None, False, actor=CONTROLLER_NAME)
        except ApiError:
            return False
        return True
    if cond.get("status") == "False":
        return _warn_once(
            c,
            sc,
            str(cond.get("reason", "")),
            "Configuration matches, but " + str(cond.get("message", "")),
        )
    return False


def _warn_once(c: Cluster, sc: dict[str, Any], reason: str, note: str) -> bool:
    return warn_once(c, CONTROLLER_NAME, sc, reason, note)
