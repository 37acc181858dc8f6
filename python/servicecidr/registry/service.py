"""The Service registry: create, update and delete with ClusterIP allocation.

Order of a create, as kube-apiserver's generic store runs it for Services:
system metadata and generateName -> BeginCreate (IP families, ClusterIP allocation) ->
PrepareForCreate and validation -> admission -> storage (AlreadyExists). Any failure
after allocation (an error of any kind, up to the encoding of the event) gives the
addresses back, so a failed create leaks nothing — except the half-done dual-stack
allocation Kubernetes itself leaves to the repair loop.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from servicecidr._core import parse_ip
from servicecidr.allocation.families import (
    Allocation,
    allocate_cluster_ips,
    init_ip_family_fields,
    update_cluster_ips,
)
from servicecidr.allocation.nodeports import PortAllocation, allocate_node_ports, update_node_ports
from servicecidr.api import defaults, validation
from servicecidr.api import field_errors as fe
from servicecidr.api.kinds import KINDS
from servicecidr.errors import ApiError, InvalidInputError
from servicecidr.registry import generic
from servicecidr.registry.context import RequestContext
from servicecidr.registry.txn import Outcome, Txn
from servicecidr.store import decode_object, object_key

__all__ = [
    "IPALLOCATOR",
    "create",
    "default_on_read",
    "delete",
    "ip_address_object",
    "update",
    "update_status",
]

INFO = KINDS["Service"]
IPINFO = KINDS["IPAddress"]
FAMILY_LABEL = "ipaddress.kubernetes.io/ip-family"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"
MANAGED_BY = "ipallocator.k8s.io"
#: The actor of the allocator's own IPAddress writes (kube-apiserver's loopback client).
IPALLOCATOR = "ipallocator"


def canonical_ip(ip: str) -> str:
    """Canonical text of an address (the IPAddress name)."""
    try:
        return parse_ip(ip)[0]
    except InvalidInputError:
        return ip


def ip_address_object(ctx: RequestContext, ip: str, namespace: str, name: str) -> dict[str, Any]:
    """The IPAddress the allocator writes for a ClusterIP."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip,
            "uid": ctx.new_uid(),
            "creationTimestamp": ctx.now(),
            "labels": {
                FAMILY_LABEL: "IPv6" if ":" in ip else "IPv4",
                MANAGED_BY_LABEL: MANAGED_BY,
            },
        },
        "spec": {
            "parentRef": {
                "group": "",
                "resource": "services",
                "namespace": namespace,
                "name": name,
            },
        },
    }


def default_on_read(svc: dict[str, Any], primary_family: str) -> dict[str, Any]:
    """A stored Service as kube-apiserver reads it back (in place; returns it): the
    decoder's defaulting (``SetDefaults_Service``: ``ipMode: VIP`` and the rest), then
    ``defaultOnReadService`` (storage.go) for objects written before the fields existed:
    ``normalizeClusterIPs`` (``clusterIPs`` from ``clusterIP``), the IP families
    (headless: the primary family, or both and ``RequireDualStack`` without a selector;
    otherwise one per ClusterIP), and no ``internalTrafficPolicy`` on an ExternalName."""
    defaults.default_service(svc)
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        return svc
    cip = spec.get("clusterIP")
    if isinstance(cip, str) and cip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cip]
    if spec.get("type") == "ExternalName":
        spec.pop("internalTrafficPolicy", None)
        return svc
    if spec.get("ipFamilies"):
        return svc
    other = "IPv6" if primary_family == "IPv4" else "IPv4"
    if cip == "None":
        if not spec.get("selector"):
            spec["ipFamilyPolicy"] = "RequireDualStack"
            spec["ipFamilies"] = [primary_family, other]
        else:
            spec["ipFamilyPolicy"] = "SingleStack"
            spec["ipFamilies"] = [primary_family]
        return svc
    cips = [ip for ip in spec.get("clusterIPs") or [] if isinstance(ip, str)]
    if cips:
        spec["ipFamilies"] = ["IPv6" if ":" in ip else "IPv4" for ip in cips]
        if len(cips) == 1:
            spec["ipFamilyPolicy"] = "SingleStack"
        elif len(cips) == 2:
            spec["ipFamilyPolicy"] = "RequireDualStack"
    return svc


def _ip_requests(
    ctx: RequestContext, namespace: str, name: str, made: dict[str, dict[str, Any]]
) -> Callable[[str], None]:
    """The allocator's IPAddress create for each address it takes: a request of its own,
    admitted as the allocator's (the objects it makes are kept in ``made``)."""

    def request(ip: str) -> None:
        cip = canonical_ip(ip)
        obj = ip_address_object(ctx, cip, namespace, name)
        ctx.admit(IPALLOCATOR, "CREATE", IPINFO, obj, None, False)
        made[cip] = obj

    return request


def _put_ip_addresses(
    ctx: RequestContext,
    txn: Txn,
    ips: list[str],
    namespace: str,
    name: str,
    made: dict[str, dict[str, Any]] | None = None,
) -> None:
    for ip in ips:
        cip = canonical_ip(ip)
        obj = made.get(cip) if made is not None else None
        txn.put("IPAddress", cip, obj or ip_address_object(ctx, cip, namespace, name))


def _release(ctx: RequestContext, txn: Txn, ips: list[str], dry_run: bool = False) -> None:
    """The allocator's Release: an IPAddress delete of its own through admission, whose
    failure is ignored (ipallocator.go), leaving the IPAddress to the repair loop. A dry
    run releases nothing."""
    if dry_run:
        return
    for ip in ips:
        cip = canonical_ip(ip)
        blob = ctx.store.get("IPAddress", cip)
        if blob is not None and ctx.meta.can_release(cip):
            try:
                ctx.admit(IPALLOCATOR, "DELETE", IPINFO, None, decode_object(blob), False)
            except ApiError:
                continue
            txn.delete("IPAddress", cip, blob)


def _failed(
    ctx: RequestContext,
    error: ApiError,
    alloc: Allocation,
    namespace: str,
    name: str,
    made: dict[str, dict[str, Any]] | None = None,
) -> Outcome:
    """A request that failed in allocation: alloc.go keeps a family allocated when a later
    one fails, and its IPAddress stays (the repair loop removes it later)."""
    if not alloc.leaked:
        raise error
    txn = Txn(ctx.store.revision, "create", "IPAddress", None, alloc.leaked[0], actor=IPALLOCATOR)
    _put_ip_addresses(ctx, txn, alloc.leaked, namespace, name, made)
    return Outcome({}, [], [txn], error)


def create(
    ctx: RequestContext,
    obj: dict[str, Any],
    namespace: str | None,
    dry_run: bool,
    actor: str,
    opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
) -> Outcome:
    """POST a Service."""
    svc, warnings = generic.decode_request(obj, opts)
    api_version = obj.get("apiVersion")
    rv_set = generic.resource_version_set(svc)
    defaults.default_service(svc)
    generic.strip_for_create(svc, INFO, namespace)
    ctx.mutate(actor, "CREATE", INFO, svc, generic.request_name(svc))
    generic.fill_create_meta(ctx, svc)
    generic.set_managed_fields(svc, opts)
    svc.pop("status", None)
    meta = svc["metadata"]
    name, ns = meta.get("name", ""), meta["namespace"]
    spec = svc.setdefault("spec", {})
    _normalize_cluster_ips(spec, None)
    made: dict[str, dict[str, Any]] = {}
    alloc = Allocation(ip_request=None if dry_run else _ip_requests(ctx, ns, name, made))
    ports = PortAllocation(ctx.nodeports)
    try:
        init_ip_family_fields(ctx.families, name, spec, None, svc, ctx.memo)
        allocate_cluster_ips(ctx.meta, ctx.rng, name, spec, dry_run, alloc)
    except ApiError as e:
        alloc.rollback()
        if dry_run:
            raise
        return _failed(ctx, e, alloc, ns, name, made)
    except BaseException:
        alloc.rollback()
        raise
    # From here until the entry is recorded, any failure gives everything back: the
    # transaction (the IPAddresses and the Service, encoded) is built in full first.
    try:
        allocate_node_ports(name, spec, (), ports, ctx.rng)
        svc["status"] = {"loadBalancer": {}}
        errs = ctx.memo.validate_service(svc)
        if errs:
            raise fe.to_invalid_error(INFO.qualified_kind, name, errs)
        admitted = ctx.admit(actor, "CREATE", INFO, svc, None, dry_run, api_version=api_version)
        warnings += admitted.warnings
        key = object_key(True, ns, name)
        if rv_set and not dry_run:
            raise generic.resource_version_on_create()
        if ctx.store.contains("Service", key):
            raise generic.already_exists(INFO, name)
        if dry_run:
            return Outcome(svc, warnings)
        txn = Txn(ctx.store.revision, "create", "Service", ns, name, extra=admitted.extra)
        _put_ip_addresses(ctx, txn, alloc.allocated, ns, name, made)
        txn.put("Service", key, svc)
    except BaseException:
        alloc.rollback()
        ports.rollback()
        raise
    finally:
        if dry_run:
            alloc.rollback()
            ports.rollback()
    return Outcome(svc, warnings, [txn], undo=[alloc.rollback, ports.rollback])


def _normalize_cluster_ips(spec: dict[str, Any], old: dict[str, Any] | None) -> None:
    """normalizeClusterIPs: keep the singular and plural fields in step for old clients."""
    cip = spec.get("clusterIP") or ""
    cips = list(spec.get("clusterIPs") or [])
    if old is None:
        if cip and not cips:
            spec["clusterIPs"] = [cip]
        elif cips and not cip:
            # The conformance scenarios expect a create naming only clusterIPs to work (the
            # primary becomes clusterIP); see the closing note of the cluster-model issue.
            spec["clusterIP"] = cips[0]
        return
    old_cip = old.get("clusterIP") or ""
    old_cips = list(old.get("clusterIPs") or [])
    if old_cips and not cips and old_cip == cip:
        cips = old_cips
        spec["clusterIPs"] = list(old_cips)
    if old_cip != cip:
        if old_cip and not cip and cips == old_cips:
            spec.pop("clusterIPs", None)
            cips = []
        if cips == old_cips and cip:
            spec["clusterIPs"] = [cip]


def _needs_cluster_ip(spec: dict[str, Any]) -> bool:
    return spec.get("type") != "ExternalName"


def _needs_node_port(spec: dict[str, Any]) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


def _needs_hc_node_port(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _externally_accessible(spec: dict[str, Any]) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer") or (
        spec.get("type") == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def _drop_type_dependent_fields(svc: dict[str, Any], old: dict[str, Any]) -> None:
    """dropTypeDependentFields (strategy.go): on a type change, wipe what no longer
    applies, but only where the user left the old value in place."""
    spec, old_spec = svc["spec"], old.get("spec") or {}

    def same(field: str) -> bool:
        return bool(spec.get(field) == old_spec.get(field))

    if _needs_cluster_ip(old_spec) and not _needs_cluster_ip(spec):
        if same("clusterIPs"):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if same("ipFamilies"):
            spec.pop("ipFamilies", None)
        if same("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    old_node_ports = [p.get("nodePort") for p in old_spec.get("ports") or []]
    new_node_ports = [p.get("nodePort") for p in spec.get("ports") or []]
    dropped_np = _needs_node_port(old_spec) and not _needs_node_port(spec)
    if dropped_np and new_node_ports == old_node_ports:
        for p in spec.get("ports") or []:
            p.pop("nodePort", None)
    dropped_hc = _needs_hc_node_port(old_spec) and not _needs_hc_node_port(spec)
    if dropped_hc and same("healthCheckNodePort"):
        spec.pop("healthCheckNodePort", None)
    if old_spec.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not None and same(
            "allocateLoadBalancerNodePorts"
        ):
            spec.pop("allocateLoadBalancerNodePorts", None)
        if same("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    no_longer_external = _externally_accessible(old_spec) and not _externally_accessible(spec)
    if no_longer_external and same("externalTrafficPolicy"):
        spec.pop("externalTrafficPolicy", None)
    if spec.get("type") != "LoadBalancer":
        svc.setdefault("status", {})["loadBalancer"] = {}


def _patch_allocated_values(spec: dict[str, Any], old: dict[str, Any]) -> None:
    """patchAllocatedValues: an update that omits allocated values keeps them."""
    if spec.get("type") != "ExternalName" and old.get("type") != "ExternalName":
        if not spec.get("clusterIP") and old.get("clusterIP"):
            spec["clusterIP"] = old["clusterIP"]
        if not spec.get("clusterIPs") and old.get("clusterIPs"):
            spec["clusterIPs"] = list(old["clusterIPs"])
    if spec.get("type") in ("NodePort", "LoadBalancer") and old.get("type") in (
        "NodePort",
        "LoadBalancer",
    ):
        old_ports = {
            (p.get("port"), p.get("protocol")): p.get("nodePort") for p in old.get("ports") or []
        }
        for p in spec.get("ports") or []:
            if not p.get("nodePort"):
                np = old_ports.get((p.get("port"), p.get("protocol")))
                if np:
                    p["nodePort"] = np
    if spec.get("healthCheckNodePort") in (None, 0) and old.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = old["healthCheckNodePort"]


def update(
    ctx: RequestContext,
    obj: dict[str, Any],
    namespace: str | None,
    dry_run: bool,
    actor: str,
    opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
) -> Outcome:
    """PUT a Service."""
    svc, warnings = generic.decode_request(obj, opts)
    defaults.default_service(svc)
    meta = svc.setdefault("metadata", {})
    name = meta.get("name", "")
    ns = meta.get("namespace") or namespace or "default"
    key, blob, old = generic.get_existing(ctx.store, INFO, ns, name)
    generic.check_precondition(INFO, svc, old)
    generic.merge_update_meta(svc, old)
    generic.set_managed_fields(svc, opts)
    svc["status"] = copy.deepcopy(old.get("status", {"loadBalancer": {}}))
    spec = svc.setdefault("spec", {})
    old_spec = old.get("spec", {})
    _patch_allocated_values(spec, old_spec)
    _normalize_cluster_ips(spec, old_spec)
    made: dict[str, dict[str, Any]] = {}
    alloc = Allocation(ip_request=None if dry_run else _ip_requests(ctx, ns, name, made))
    ports = PortAllocation(ctx.nodeports)
    try:
        init_ip_family_fields(ctx.families, name, spec, old_spec, svc)
        update_cluster_ips(ctx.meta, ctx.rng, name, spec, old_spec, dry_run, alloc)
    except ApiError as e:
        alloc.rollback()
        if dry_run:
            raise
        return _failed(ctx, e, alloc, ns, name, made)
    except BaseException:
        alloc.rollback()
        raise
    try:  # as in create: the whole transaction is built before anything stays marked
        update_node_ports(name, spec, old_spec, ports, ctx.rng)
        _drop_type_dependent_fields(svc, old)
        errs = validation.validate_service_update(svc, old)
        if errs:
            raise fe.to_invalid_error(INFO.qualified_kind, name, errs)
        admitted = ctx.admit(
            actor, "UPDATE", INFO, svc, old, dry_run, api_version=obj.get("apiVersion")
        )
        warnings += admitted.warnings
        if dry_run:
            return Outcome(svc, warnings)
        txn = Txn(ctx.store.revision, "update", "Service", ns, name, extra=admitted.extra)
        _put_ip_addresses(ctx, txn, alloc.allocated, ns, name, made)
        gone = bool(old["metadata"].get("deletionTimestamp")) and not meta.get("finalizers")
        if gone:
            txn.delete("Service", key, blob)
            _release(ctx, txn, [ip for ip in old_spec.get("clusterIPs") or [] if ip != "None"])
        else:
            txn.put("Service", key, svc)
            _release(ctx, txn, alloc.to_release)
    except BaseException:
        alloc.rollback()
        ports.rollback()
        raise
    finally:
        if dry_run:
            alloc.rollback()
            ports.rollback()
    return Outcome(svc, warnings, [txn], undo=[alloc.rollback, ports.rollback])


def update_status(
    ctx: RequestContext,
    obj: dict[str, Any],
    namespace: str | None,
    dry_run: bool,
    actor: str,
    opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
) -> Outcome:
    """PUT the status subresource of a Service: only status changes (defaulted as the
    decoder defaults the whole body: a load balancer IP gets ``ipMode: VIP``)."""
    new, warnings = generic.decode_request(obj, opts)
    defaults.default_service(new)
    meta = new.get("metadata", {})
    name = meta.get("name", "")
    ns = meta.get("namespace") or namespace or "default"
    key, _blob, old = generic.get_existing(ctx.store, INFO, ns, name)
    generic.check_precondition(INFO, new, old)
    svc = copy.deepcopy(old)
    svc["status"] = new.get("status", {})
    generic.set_managed_fields(svc, opts)
    admitted = ctx.admit(
        actor, "UPDATE", INFO, svc, old, dry_run, "status", api_version=obj.get("apiVersion")
    )
    warnings += admitted.warnings
    if dry_run:
        return Outcome(svc, warnings)
    txn = Txn(ctx.store.revision, "updateStatus", "Service", ns, name, extra=admitted.extra)
    txn.put("Service", key, svc)
    return Outcome(svc, warnings, [txn])


def delete(
    ctx: RequestContext,
    name: str,
    namespace: str | None,
    dry_run: bool,
    actor: str,
    api_version: str | None = None,
) -> Outcome:
    """DELETE a Service; its ClusterIPs are released after the delete."""
    ns = namespace or "default"
    generic.require_name(INFO, name)
    key, blob, svc = generic.get_existing(ctx.store, INFO, ns, name)
    admitted = ctx.admit(actor, "DELETE", INFO, None, svc, dry_run, api_version=api_version)
    txn = Txn(ctx.store.revision, "delete", "Service", ns, name, extra=admitted.extra)
    svc, gone = generic.finish_delete(ctx, INFO, key, blob, svc, txn)
    if gone:
        spec = svc.get("spec", {})
        _release(ctx, txn, [ip for ip in spec.get("clusterIPs") or [] if ip != "None"], dry_run)
    return Outcome(svc, list(admitted.warnings), [txn] if txn and not dry_run else [])
