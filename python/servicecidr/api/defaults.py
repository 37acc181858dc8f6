"""Defaulting, as the registered defaulters of kube-apiserver apply it on decode.

* :func:`default_service` is ``SetObjectDefaults_Service`` =
  ``SetDefaults_Service`` of ``pkg/apis/core/v1/defaults.go`` (Kubernetes 1.33-1.35).
  IP family fields (``ipFamilies``, ``ipFamilyPolicy``) and the ``clusterIP``/``clusterIPs``
  pair are *not* defaulted there: the Service registry does that (``initIPFamilyFields``,
  ``normalizeClusterIPs``).
* ServiceCIDR and IPAddress (``networking.k8s.io/v1`` and ``v1beta1``) have no defaulting
  functions; :func:`default_service_cidr` and :func:`default_ip_address` exist so callers
  can treat every kind alike.

All functions mutate the given dict in place and never raise on malformed input (values of
unexpected types are left alone for validation to report).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "DEFAULTERS",
    "DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS",
    "default_ip_address",
    "default_object",
    "default_service",
    "default_service_cidr",
    "externally_accessible",
]

DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS: Final = 10800
"""``v1.DefaultClientIPServiceAffinitySeconds`` (3 hours)."""


def _dict(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
    v = parent.get(key)
    return v if isinstance(v, dict) else None


def externally_accessible(spec: dict[str, Any]) -> bool:
    """``service.ExternallyAccessible``: LoadBalancer, NodePort, or ClusterIP with externalIPs."""
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (
        t == "ClusterIP"
        and isinstance(spec.get("externalIPs"), list)
        and len(spec["externalIPs"]) > 0
    )


def default_service(obj: dict[str, Any]) -> None:
    """``SetDefaults_Service`` on a ``v1`` Service dict, in place.

    In order: ``sessionAffinity`` ``None`` (and ``sessionAffinityConfig`` dropped for
    ``None``; for ``ClientIP`` a missing config or timeout becomes
    ``{clientIP: {timeoutSeconds: 10800}}``); ``type`` ``ClusterIP``; each port's
    ``protocol`` ``TCP`` and ``targetPort`` = ``port`` when absent, ``0`` or ``""``;
    ``externalTrafficPolicy`` ``Cluster`` when externally accessible;
    ``internalTrafficPolicy`` ``Cluster`` for ClusterIP/NodePort/LoadBalancer;
    ``allocateLoadBalancerNodePorts`` ``true`` and ``status.loadBalancer.ingress[].ipMode``
    ``VIP`` (for entries with an ``ip``) for LoadBalancer.
    """
    spec = _dict(obj, "spec")
    if spec is None:
        if "spec" in obj and obj["spec"] is not None:
            return
        spec = {}
        obj["spec"] = spec
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    if spec["sessionAffinity"] == "ClientIP":
        cfg = _dict(spec, "sessionAffinityConfig")
        client = _dict(cfg, "clientIP") if cfg is not None else None
        if client is None or client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS}
            }
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    ports = spec.get("ports")
    if isinstance(ports, list):
        for sp in ports:
            if not isinstance(sp, dict):
                continue
            if not sp.get("protocol"):
                sp["protocol"] = "TCP"
            tp = sp.get("targetPort")
            if tp is None or (tp in (0, "") and not isinstance(tp, bool)):
                port = sp.get("port")
                sp["targetPort"] = (
                    port if isinstance(port, int) and not isinstance(port, bool) else 0
                )
    if externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec.get("type") in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec.get("type") == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
        status = _dict(obj, "status")
        lb = _dict(status, "loadBalancer") if status is not None else None
        ingress = lb.get("ingress") if lb is not None else None
        if isinstance(ingress, list):
            for ing in ingress:
                if isinstance(ing, dict) and ing.get("ip") and ing.get("ipMode") is None:
                    ing["ipMode"] = "VIP"


def default_service_cidr(obj: dict[str, Any]) -> None:
    """ServiceCIDR has no defaulters (``networking/v1``, ``v1beta1``): a no-op."""
    del obj


def default_ip_address(obj: dict[str, Any]) -> None:
    """IPAddress has no defaulters (``networking/v1``, ``v1beta1``): a no-op."""
    del obj


DEFAULTERS: Final[dict[str, Callable[[dict[str, Any]], None]]] = {
    "Service": default_service,
    "ServiceCIDR": default_service_cidr,
    "IPAddress": default_ip_address,
}


def default_object(obj: dict[str, Any]) -> None:
    """Apply the defaulter for ``obj["kind"]`` (no-op for kinds without one)."""
    fn = DEFAULTERS.get(obj.get("kind", "") if isinstance(obj.get("kind"), str) else "")
    if fn is not None:
        fn(obj)
