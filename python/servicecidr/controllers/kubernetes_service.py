"""kube-apiserver's kubernetes-service controller (pkg/controlplane/controller/kubernetesservice):
the Service ``default/kubernetes`` on the first address of the primary range, created
again whenever it is missing."""

from __future__ import annotations

import ipaddress

from servicecidr.apiserver import Engine
from servicecidr.errors import ApiError
from servicecidr.store import object_key

__all__ = ["CONTROLLER_NAME", "ensure_kubernetes_service"]

CONTROLLER_NAME = "kube-apiserver"


def ensure_kubernetes_service(engine: Engine) -> bool:
    """(Re)create ``default/kubernetes``; returns whether it wrote anything."""
    if not engine.service_cluster_ip_range:
        return False
    if engine.store.contains("Service", object_key(True, "default", "kubernetes")):
        return False
    net = ipaddress.ip_network(engine.service_cluster_ip_range[0])
    first = str(net.network_address + 1)
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": first,
            "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
        },
    }
    try:
        engine.create(svc, namespace="default", actor=CONTROLLER_NAME)
    except ApiError:
        # e.g. no ready ServiceCIDR holds the address yet; the controller retries on its
        # next sync, as kube-apiserver's does every 10 s.
        return False
    return True
