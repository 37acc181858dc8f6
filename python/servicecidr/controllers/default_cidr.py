"""kube-apiserver's default-ServiceCIDR controller
(pkg/controlplane/controller/defaultservicecidr).

Keeps the ServiceCIDR ``kubernetes`` in line with ``--service-cluster-ip-range``: creates
it (again, once a deleted one is fully gone), upgrades it from single- to dual-stack when
the flags gained a secondary range with the same primary, and otherwise only reports.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from servicecidr.api.conditions import get_condition, with_condition
from servicecidr.api.field_errors import go_list
from servicecidr.apiserver import Engine
from servicecidr.clock import format_time
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.errors import ApiError
from servicecidr.store import decode_object

__all__ = ["CONTROLLER_NAME", "DEFAULT_NAME", "sync_default_service_cidr"]

CONTROLLER_NAME = "kubernetes-service-cidr-controller"
DEFAULT_NAME = "kubernetes"
READY_MESSAGE = "Kubernetes default Service CIDR is ready"


def _ready(engine: Engine) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": format_time(engine.clock.now()),
        "reason": "",
        "message": READY_MESSAGE,
    }


def sync_default_service_cidr(engine: Engine, events: EventRecorder) -> bool:
    """One sync. Returns whether it wrote anything."""
    cidrs = list(engine.service_cluster_ip_range)
    if not cidrs:
        return False
    blob = engine.store.get("ServiceCIDR", DEFAULT_NAME)
    if blob is None:
        obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": DEFAULT_NAME},
            "spec": {"cidrs": cidrs},
        }
        try:
            created, _ = engine.create(obj, actor=CONTROLLER_NAME)
        except ApiError:
            return False  # retried on the next sync (every 10 s in kube-apiserver)
        with_condition(created, _ready(engine))
        # If the status write is refused, the status sync of the next pass retries it.
        with contextlib.suppress(ApiError):
            engine.update_status(created, actor=CONTROLLER_NAME)
        return True
    sc = decode_object(blob)
    current = list((sc.get("spec") or {}).get("cidrs") or [])
    if len(cidrs) == 2 and len(current) == 1 and current[0] == cidrs[0]:
        upd = copy.deepcopy(sc)
        upd["spec"]["cidrs"] = cidrs
        try:
            engine.update(upd, actor=CONTROLLER_NAME)
        except ApiError as e:
            events.record(
                CONTROLLER_NAME,
                sc,
                "Warning",
                "KubernetesDefaultServiceCIDRError",
                "KubernetesDefaultServiceCIDRError",
                f"The default ServiceCIDR can not be upgraded from {current[0]} to dual "
                f"stack {go_list(cidrs)} : {e}",
            )
            return False
        return True
    if sc["metadata"].get("deletionTimestamp"):
        return False
    if current != cidrs:
        note = (
            f"The default ServiceCIDR {go_list(current)} does not match the controller flag "
            f"configurations {go_list(cidrs)}"
        )
        return events.warn_once(
            CONTROLLER_NAME, sc, "KubernetesDefaultServiceCIDRInconsistent", note
        )
    cond = get_condition(sc, "Ready")
    if cond is None or cond.get("status") == "Unknown":
        upd = copy.deepcopy(sc)
        with_condition(upd, _ready(engine))
        try:
            engine.update_status(upd, actor=CONTROLLER_NAME)
        except ApiError:
            return False
        return True
    if cond.get("status") == "False":
        return events.warn_once(
            CONTROLLER_NAME,
            sc,
            str(cond.get("reason", "")),
            "Configuration matches, but " + str(cond.get("message", "")),
        )
    return False
