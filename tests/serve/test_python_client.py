"""The Python ``kubernetes`` client against the server: create, list, patch, watch (with
resume) and delete ServiceCIDRs and Services."""

from __future__ import annotations

from typing import Any

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, config, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402
from tests.serve.server_kit import Running, condition  # noqa: E402

from servicecidr import Cluster  # noqa: E402
from servicecidr.clock import SimulatedClock  # noqa: E402


def _apis(s: Running) -> tuple[Any, Any]:
    api_client = config.new_client_from_config(str(s.kubeconfig))
    return client.NetworkingV1Api(api_client), client.CoreV1Api(api_client)


def test_python_client_servicecidrs(serve: Any) -> None:
    c = Cluster("10.96.0.0/28", seed=1, clock=SimulatedClock())
    s: Running = serve(c)
    net, _ = _apis(s)
    # created without apiVersion/kind (the client's models leave them out)
    made = net.create_service_cidr(
        client.V1ServiceCIDR(
            metadata=client.V1ObjectMeta(name="py1"),
            spec=client.V1ServiceCIDRSpec(cidrs=["10.100.0.0/24"]),
        )
    )
    assert made.metadata.name == "py1" and made.spec.cidrs == ["10.100.0.0/24"]
    names = [x.metadata.name for x in net.list_service_cidr().items]
    assert names == ["kubernetes", "py1"]
    patched = net.patch_service_cidr("py1", {"metadata": {"labels": {"team": "net"}}})
    assert patched.metadata.labels == {"team": "net"}
    s.until("the controller", lambda c: condition(c, "ServiceCIDR", "py1").get("status") == "True")
    got = net.read_service_cidr("py1")
    assert got.status.conditions[0].type == "Ready"
    with pytest.raises(ApiException) as e:
        net.create_service_cidr(
            client.V1ServiceCIDR(
                metadata=client.V1ObjectMeta(name="py1"),
                spec=client.V1ServiceCIDRSpec(cidrs=["10.101.0.0/24"]),
            )
        )
    assert e.value.status == 409
    assert '"reason":"AlreadyExists"' in e.value.body
    net.delete_service_cidr("py1")
    s.advance("10s")
    with pytest.raises(ApiException) as e:
        net.read_service_cidr("py1")
    assert e.value.status == 404


def test_python_client_services_and_watch_resume(serve: Any) -> None:
    s: Running = serve(Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock()))
    _, core = _apis(s)
    start = core.list_namespaced_service("default")
    rv = start.metadata.resource_version
    assert [x.metadata.name for x in start.items] == ["kubernetes"]

    seen: list[tuple[str, str]] = []

    def watch_some(n: int, resource_version: str) -> str:
        w = watch.Watch()
        last = resource_version
        for ev in w.stream(
            core.list_namespaced_service,
            "default",
            resource_version=resource_version,
            timeout_seconds=30,
        ):
            seen.append((ev["type"], ev["object"].metadata.name))
            last = ev["object"].metadata.resource_version
            if len(seen) >= n:
                w.stop()
        return last

    for i in range(3):
        svc = client.V1Service(
            metadata=client.V1ObjectMeta(name=f"web-{i}"),
            spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)]),
        )
        made = core.create_namespaced_service("default", svc)
        assert made.spec.cluster_ip.startswith("10.96.0.")
    last = watch_some(2, rv)  # the first two creations after the list
    assert seen == [("ADDED", "web-0"), ("ADDED", "web-1")]
    # Resume from the last revision seen: the third creation, then a patch and a delete.
    core.patch_namespaced_service("web-0", "default", {"metadata": {"labels": {"a": "b"}}})
    core.delete_namespaced_service("web-1", "default")
    seen.clear()
    watch_some(3, last)
    assert seen == [("ADDED", "web-2"), ("MODIFIED", "web-0"), ("DELETED", "web-1")]
    names = [x.metadata.name for x in core.list_namespaced_service("default").items]
    assert names == ["kubernetes", "web-0", "web-2"]
    labelled = core.list_namespaced_service("default", label_selector="a=b").items
    assert [x.metadata.name for x in labelled] == ["web-0"]


def test_python_client_watch_from_the_start_lists_first(serve: Any) -> None:
    """A watch without a resourceVersion begins with an ADDED event per object."""
    s: Running = serve(Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock()))
    net, _ = _apis(s)
    w = watch.Watch()
    events = [
        (ev["type"], ev["object"].metadata.name)
        for ev in w.stream(net.list_ip_address, timeout_seconds=1)
    ]
    assert events == [("ADDED", "10.96.0.1")]
