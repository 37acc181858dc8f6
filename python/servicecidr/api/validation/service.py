"""Service validation (pkg/apis/core/validation: ValidateService, ValidateServiceUpdate,
ValidateServiceClusterIPsRelatedFields, upgrade/downgrade rules) and its warnings
(pkg/api/service/warnings.go)."""

from __future__ import annotations

from typing import Any, Final

from servicecidr.api.field_errors import (
    FIELD_IMMUTABLE_ERROR_MSG,
    FieldError,
    JSONString,
    Path,
    duplicate,
    forbidden,
    internal_error,
    invalid,
    not_supported,
    required,
)
from servicecidr.api.validation.common import (
    as_dict,
    as_int,
    as_list,
    as_str,
    as_str_map,
    as_strs,
    opt_str,
    raw_strs,
)
from servicecidr.api.validation.ips import (
    get_warnings_for_cidr,
    get_warnings_for_ip,
    is_valid_cidr_for_legacy_field,
    is_valid_ip_for_legacy_field,
    parse_ip_sloppy,
    to4,
)
from servicecidr.api.validation.meta import (
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from servicecidr.api.validation.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
)

__all__ = [
    "get_warnings_for_service",
    "validate_service",
    "validate_service_cluster_ips_related_fields",
    "validate_service_status_update",
    "validate_service_update",
]

# --------------------------------------------------------------------------------------
# Service (pkg/apis/core/validation)
# --------------------------------------------------------------------------------------

_SUPPORTED_PORT_PROTOCOLS: Final = ["SCTP", "TCP", "UDP"]
_SUPPORTED_SERVICE_TYPES: Final = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_SUPPORTED_SESSION_AFFINITY: Final = ["ClientIP", "None"]
_SUPPORTED_IP_FAMILIES: Final = ["IPv4", "IPv6"]
_SUPPORTED_IP_FAMILY_POLICIES: Final = ["PreferDualStack", "RequireDualStack", "SingleStack"]
_SUPPORTED_TRAFFIC_POLICIES: Final = ["Cluster", "Local"]
_SUPPORTED_TRAFFIC_DISTRIBUTION: Final = ["PreferClose", "PreferSameZone", "PreferSameNode"]
_MAX_CLIENT_IP_AFFINITY_SECONDS: Final = 86400
_ANNOTATION_TOPOLOGY_AWARE_HINTS: Final = "service.kubernetes.io/topology-aware-hints"
_ANNOTATION_TOPOLOGY_MODE: Final = "service.kubernetes.io/topology-mode"
_ANNOTATION_LB_SOURCE_RANGES: Final = "service.beta.kubernetes.io/load-balancer-source-ranges"


def _spec(svc: dict[str, Any]) -> dict[str, Any]:
    return as_dict(svc.get("spec"))


def _is_headless(spec: dict[str, Any]) -> bool:
    ips = as_strs(spec.get("clusterIPs"))
    return len(ips) == 1 and ips[0] == "None"


def _externally_accessible(spec: dict[str, Any]) -> bool:
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (
        t == "ClusterIP" and len(as_list(spec.get("externalIPs"))) > 0
    )


def _needs_health_check(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _validate_port_num_or_name(value: Any, path: Path) -> list[FieldError]:
    if isinstance(value, str):
        return [invalid(path, value, m) for m in is_valid_port_name(value)]
    port = as_int(value)
    return [invalid(path, port, m) for m in is_valid_port_num(port)]


def _validate_service_port(
    sp: dict[str, Any], require_name: bool, all_names: set[str], path: Path
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = as_str(sp.get("name"))
    if require_name and not name:
        errs.append(required(path.child("name")))
    elif name:
        errs.extend(invalid(path.child("name"), name, m) for m in is_dns1123_label(name))
        if name in all_names:
            errs.append(duplicate(path.child("name"), name))
        else:
            all_names.add(name)
    port = as_int(sp.get("port"))
    errs.extend(invalid(path.child("port"), port, m) for m in is_valid_port_num(port))
    protocol = as_str(sp.get("protocol"))
    if not protocol:
        errs.append(required(path.child("protocol")))
    elif protocol not in _SUPPORTED_PORT_PROTOCOLS:
        errs.append(
            not_supported(path.child("protocol"), JSONString(protocol), _SUPPORTED_PORT_PROTOCOLS)
        )
    errs.extend(_validate_port_num_or_name(sp.get("targetPort"), path.child("targetPort")))
    app_protocol = sp.get("appProtocol")
    if isinstance(app_protocol, str):
        errs.extend(
            invalid(path.child("appProtocol"), app_protocol, m)
            for m in is_qualified_name(app_protocol)
        )
    return errs


def _validate_client_ip_affinity_config(cfg: Any, path: Path) -> list[FieldError]:
    detail = "when session affinity type is ClientIP"
    if not isinstance(cfg, dict):
        return [required(path, detail)]
    client = cfg.get("clientIP")
    if not isinstance(client, dict):
        return [required(path.child("clientIP"), detail)]
    timeout = client.get("timeoutSeconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        return [required(path.child("clientIP", "timeoutSeconds"), detail)]
    if timeout <= 0 or timeout > _MAX_CLIENT_IP_AFFINITY_SECONDS:
        return [
            invalid(
                path.child("clientIP", "timeoutSeconds"),
                timeout,
                f"must be greater than 0 and less than {_MAX_CLIENT_IP_AFFINITY_SECONDS}",
            )
        ]
    return []


def _validate_non_special_ip(ip: str, path: Path) -> list[FieldError]:
    """``ValidateNonSpecialIP``: no unspecified, loopback or link-local addresses."""
    b = parse_ip_sloppy(ip)
    if b is None:
        return [invalid(path, ip, "must be a valid IP address")]
    errs: list[FieldError] = []
    v4 = to4(b)
    if (v4 is not None and v4 == bytes(4)) or b == bytes(16):
        errs.append(invalid(path, ip, f"may not be unspecified ({ip})"))
    if (v4 is not None and v4[0] == 127) or b == bytes(15) + b"\x01":
        errs.append(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if (v4 is not None and v4[:2] == b"\xa9\xfe") or (
        v4 is None and b[0] == 0xFE and (b[1] & 0xC0) == 0x80
    ):
        errs.append(
            invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    if (v4 is not None and v4[:3] == b"\xe0\x00\x00") or (
        v4 is None and b[0] == 0xFF and (b[1] & 0x0F) == 0x02
    ):
        errs.append(
            invalid(
                path,
                ip,
                "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
            )
        )
    return errs


def _is_dual_stack_ips(ips: list[str]) -> bool | None:
    """``netutils.IsDualStackIPStrings``: None when an entry does not parse."""
    v4 = v6 = False
    for ip in ips:
        b = parse_ip_sloppy(ip)
        if b is None:
            return None
        if to4(b) is None:
            v6 = True
        else:
            v4 = True
    return v4 and v6


def _is_ipv6_string(ip: str) -> bool:
    b = parse_ip_sloppy(ip)
    return b is not None and to4(b) is None


def validate_service_cluster_ips_related_fields(
    svc: dict[str, Any], old: dict[str, Any] | None = None
) -> list[FieldError]:
    """``ValidateServiceClusterIPsRelatedFields``: ``clusterIP``/``clusterIPs`` in sync,
    ``ipFamilies`` values and uniqueness, ``ipFamilyPolicy`` value, each cluster IP valid
    (``None`` only alone), at most two, one per family, and each IP matching its family
    (``expected an IPv4 value as indicated by `ipFamilies[1]```). Skipped for ExternalName.

    Exported because the registry runs it before allocation (``initIPFamilyFields``).
    ``old`` (update) lets IPs the old object held pass the legacy IP check.
    """
    spec = _spec(as_dict(svc))
    if spec.get("type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    has_invalid = False
    spec_path = Path("spec")
    cips_path = spec_path.child("clusterIPs")
    fam_path = spec_path.child("ipFamilies")
    cluster_ip = as_str(spec.get("clusterIP"))
    cluster_ips = as_strs(spec.get("clusterIPs"))
    families = as_strs(spec.get("ipFamilies"))
    if cluster_ip:
        if not cluster_ips:
            errs.append(required(cips_path))
        elif cluster_ips[0] != cluster_ip:
            errs.append(invalid(cips_path, cluster_ips, "first value must match `clusterIP`"))
    elif cluster_ips:
        errs.append(
            invalid(cips_path, cluster_ips, "must be empty when `clusterIP` is not specified")
        )
    seen: set[str] = set()
    for i, fam in enumerate(families):
        if fam not in _SUPPORTED_IP_FAMILIES:
            errs.append(not_supported(fam_path.index(i), JSONString(fam), _SUPPORTED_IP_FAMILIES))
        if fam in seen:
            errs.append(duplicate(fam_path.index(i), JSONString(fam)))
        seen.add(fam)
    policy = spec.get("ipFamilyPolicy")
    if isinstance(policy, str) and policy not in _SUPPORTED_IP_FAMILY_POLICIES:
        errs.append(
            not_supported(
                spec_path.child("ipFamilyPolicy"), JSONString(policy), _SUPPORTED_IP_FAMILY_POLICIES
            )
        )
    old_ips = as_strs(_spec(as_dict(old)).get("clusterIPs")) if old is not None else []
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                has_invalid = True
                errs.append(
                    invalid(cips_path, cluster_ips, "'None' must be the first and only value")
                )
            continue
        ip_errs = is_valid_ip_for_legacy_field(cips_path.index(i), ip, valid_old_ips=old_ips)
        has_invalid = has_invalid or bool(ip_errs)
        errs.extend(ip_errs)
    if len(cluster_ips) > 2:
        errs.append(invalid(cips_path, cluster_ips, "may only hold up to 2 values"))
    if has_invalid:
        return errs
    if len(cluster_ips) > 1:
        dual = _is_dual_stack_ips(cluster_ips)
        if dual is None:
            errs.append(
                internal_error(cips_path, "failed to check for dual stack with error:ip is invalid")
            )
        elif not dual:
            errs.append(
                invalid(
                    cips_path, cluster_ips, "may specify no more than one IP for each IP family"
                )
            )
    if not _is_headless(spec) and cluster_ips and families:
        for i, ip in enumerate(cluster_ips):
            if i > len(families) - 1:
                break
            if families[i] == "IPv4" and _is_ipv6_string(ip):
                errs.append(
                    invalid(
                        cips_path.index(i),
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if families[i] == "IPv6" and not _is_ipv6_string(ip):
                errs.append(
                    invalid(
                        cips_path.index(i),
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def _validate_load_balancer_class(
    old_spec: dict[str, Any] | None, spec: dict[str, Any]
) -> list[FieldError]:
    errs: list[FieldError] = []
    path = Path("spec", "loadBalancerClass")
    lbc = opt_str(spec.get("loadBalancerClass"))
    is_lb = spec.get("type") == "LoadBalancer"
    if (
        old_spec is not None
        and old_spec.get("type") == "LoadBalancer"
        and is_lb
        and opt_str(old_spec.get("loadBalancerClass")) != lbc
    ):
        errs.append(
            invalid(path, None if lbc is None else JSONString(lbc), "may not change once set")
        )
    if is_lb:
        if lbc is not None:
            errs.extend(invalid(path, lbc, m) for m in is_qualified_name(lbc))
    elif lbc is not None:
        errs.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
    return errs


def _validate_external_traffic_policy(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    path = Path("spec")
    etp = as_str(spec.get("externalTrafficPolicy"))
    if not _externally_accessible(spec):
        if etp:
            errs.append(
                invalid(
                    path.child("externalTrafficPolicy"),
                    JSONString(etp),
                    "may only be set for externally-accessible services",
                )
            )
    elif not etp:
        errs.append(required(path.child("externalTrafficPolicy")))
    elif etp not in _SUPPORTED_TRAFFIC_POLICIES:
        errs.append(
            not_supported(
                path.child("externalTrafficPolicy"), JSONString(etp), _SUPPORTED_TRAFFIC_POLICIES
            )
        )
    hcnp = as_int(spec.get("healthCheckNodePort"))
    if not _needs_health_check(spec):
        if hcnp != 0:
            errs.append(
                invalid(
                    path.child("healthCheckNodePort"),
                    hcnp,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                    "is 'Local'",
                )
            )
    elif hcnp == 0:
        errs.append(required(path.child("healthCheckNodePort")))
    else:
        errs.extend(
            invalid(path.child("healthCheckNodePort"), hcnp, m) for m in is_valid_port_num(hcnp)
        )
    return errs


def _validate_internal_traffic_policy(spec: dict[str, Any]) -> list[FieldError]:
    path = Path("spec", "internalTrafficPolicy")
    itp = spec.get("internalTrafficPolicy")
    if not isinstance(itp, str):
        if spec.get("type") in ("NodePort", "LoadBalancer", "ClusterIP"):
            return [required(path)]
        return []
    if itp not in _SUPPORTED_TRAFFIC_POLICIES:
        return [not_supported(path, JSONString(itp), _SUPPORTED_TRAFFIC_POLICIES)]
    return []


def _validate_traffic_distribution(spec: dict[str, Any]) -> list[FieldError]:
    td = spec.get("trafficDistribution")
    if not isinstance(td, str) or td in _SUPPORTED_TRAFFIC_DISTRIBUTION:
        return []
    return [not_supported(Path("spec", "trafficDistribution"), td, _SUPPORTED_TRAFFIC_DISTRIBUTION)]


def _service_port_key_json(protocol: str, port: int) -> dict[str, Any]:
    # core.ServicePort{Protocol, Port} as json.Marshal prints the internal struct
    return {
        "Name": "",
        "Protocol": protocol,
        "AppProtocol": None,
        "Port": port,
        "TargetPort": 0,
        "NodePort": 0,
    }


def validate_service(svc: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """``ValidateService`` on a defaulted, allocated ``v1`` Service dict.

    In Go's order: metadata (namespaced, name a DNS-1035 label); the topology annotations;
    ``spec.ports`` required unless headless or ExternalName; per type (LoadBalancer and
    NodePort may not be headless; ExternalName forbids clusterIPs, ipFamilies and
    ipFamilyPolicy and requires a DNS-1123 ``externalName``); each port (name required when
    several, DNS label, unique; port 1-65535; protocol TCP/UDP/SCTP; targetPort number or
    IANA name; appProtocol a qualified name); selector labels; sessionAffinity and its
    config; :func:`validate_service_cluster_ips_related_fields`; externalIPs (valid, not
    special); type; nodePort forbidden for ClusterIP; duplicate nodePorts and
    (protocol, port) pairs; loadBalancerSourceRanges (field or annotation);
    allocateLoadBalancerNodePorts; loadBalancerClass; external and internal traffic
    policies and healthCheckNodePort; trafficDistribution.

    ``old`` is only used by :func:`validate_service_update` (IPs the old object held are
    accepted by the legacy IP checks).
    """
    o = as_dict(svc)
    meta = as_dict(o.get("metadata"))
    errs = validate_object_meta(meta, namespaced=True, name_fn=name_is_dns1035_label)
    annotations = as_str_map(meta.get("annotations"))
    if (
        _ANNOTATION_TOPOLOGY_MODE in annotations
        and _ANNOTATION_TOPOLOGY_AWARE_HINTS in annotations
        and annotations[_ANNOTATION_TOPOLOGY_MODE] != annotations[_ANNOTATION_TOPOLOGY_AWARE_HINTS]
    ):
        errs.append(
            invalid(
                Path("metadata", "annotations").key(_ANNOTATION_TOPOLOGY_MODE),
                annotations[_ANNOTATION_TOPOLOGY_MODE],
                f"must match annotations[{_ANNOTATION_TOPOLOGY_AWARE_HINTS}] when both are "
                "specified",
            )
        )
    spec = _spec(o)
    spec_path = Path("spec")
    svc_type = as_str(spec.get("type"))
    headless = _is_headless(spec)
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    cluster_ips = as_strs(spec.get("clusterIPs"))
    if not ports and not headless and svc_type != "ExternalName":
        errs.append(required(spec_path.child("ports")))
    if svc_type in ("LoadBalancer", "NodePort") and headless:
        errs.append(
            invalid(
                spec_path.child("clusterIPs").index(0),
                cluster_ips[0],
                f"may not be set to 'None' for {svc_type} services",
            )
        )
    elif svc_type == "ExternalName":
        if cluster_ips:
            errs.append(
                forbidden(spec_path.child("clusterIPs"), "may not be set for ExternalName services")
            )
        if as_list(spec.get("ipFamilies")):
            errs.append(
                forbidden(spec_path.child("ipFamilies"), "may not be set for ExternalName services")
            )
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(
                forbidden(
                    spec_path.child("ipFamilyPolicy"), "may not be set for ExternalName services"
                )
            )
        cname = as_str(spec.get("externalName"))
        if cname.endswith("."):
            cname = cname[:-1]
        if cname:
            errs.extend(
                invalid(spec_path.child("externalName"), cname, m)
                for m in is_dns1123_subdomain(cname)
            )
        else:
            errs.append(required(spec_path.child("externalName")))
    ports_path = spec_path.child("ports")
    names: set[str] = set()
    for i, sp in enumerate(ports):
        errs.extend(_validate_service_port(sp, len(ports) > 1, names, ports_path.index(i)))
    if isinstance(spec.get("selector"), dict):
        errs.extend(validate_labels(as_str_map(spec.get("selector")), spec_path.child("selector")))
    affinity = as_str(spec.get("sessionAffinity"))
    if not affinity:
        errs.append(required(spec_path.child("sessionAffinity")))
    elif affinity not in _SUPPORTED_SESSION_AFFINITY:
        errs.append(
            not_supported(
                spec_path.child("sessionAffinity"),
                JSONString(affinity),
                _SUPPORTED_SESSION_AFFINITY,
            )
        )
    if affinity == "ClientIP":
        errs.extend(
            _validate_client_ip_affinity_config(
                spec.get("sessionAffinityConfig"), spec_path.child("sessionAffinityConfig")
            )
        )
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(
            forbidden(
                spec_path.child("sessionAffinityConfig"),
                "must not be set when session affinity is None",
            )
        )
    errs.extend(validate_service_cluster_ips_related_fields(o, old))
    old_external = as_strs(_spec(as_dict(old)).get("externalIPs")) if old is not None else []
    for i, ip in enumerate(as_strs(spec.get("externalIPs"))):
        p = spec_path.child("externalIPs").index(i)
        ip_errs = is_valid_ip_for_legacy_field(p, ip, valid_old_ips=old_external)
        errs.extend(ip_errs if ip_errs else _validate_non_special_ip(ip, p))
    if not svc_type:
        errs.append(required(spec_path.child("type")))
    elif svc_type not in _SUPPORTED_SERVICE_TYPES:
        errs.append(
            not_supported(spec_path.child("type"), JSONString(svc_type), _SUPPORTED_SERVICE_TYPES)
        )
    if svc_type == "ClusterIP":
        for i, sp in enumerate(ports):
            if as_int(sp.get("nodePort")) != 0:
                errs.append(
                    forbidden(
                        ports_path.index(i).child("nodePort"),
                        "may not be used when `type` is 'ClusterIP'",
                    )
                )
    seen_node_ports: set[tuple[str, int]] = set()
    for i, sp in enumerate(ports):
        node_port = as_int(sp.get("nodePort"))
        if node_port == 0:
            continue
        key = (as_str(sp.get("protocol")), node_port)
        if key in seen_node_ports:
            errs.append(duplicate(ports_path.index(i).child("nodePort"), node_port))
        seen_node_ports.add(key)
    seen_ports: set[tuple[str, int]] = set()
    for i, sp in enumerate(ports):
        pkey = (as_str(sp.get("protocol")), as_int(sp.get("port")))
        if pkey in seen_ports:
            errs.append(duplicate(ports_path.index(i), _service_port_key_json(*pkey)))
        seen_ports.add(pkey)
    ranges = as_strs(spec.get("loadBalancerSourceRanges"))
    old_ranges = (
        as_strs(_spec(as_dict(old)).get("loadBalancerSourceRanges")) if old is not None else []
    )
    if ranges:
        rpath = spec_path.child("LoadBalancerSourceRanges")  # sic: capital L, as in Go
        if svc_type != "LoadBalancer":
            errs.append(forbidden(rpath, "may only be used when `type` is 'LoadBalancer'"))
        for idx, value in enumerate(ranges):
            errs.extend(
                is_valid_cidr_for_legacy_field(
                    rpath.index(idx), value.strip(), valid_old_cidrs=old_ranges
                )
            )
    elif _ANNOTATION_LB_SOURCE_RANGES in annotations:
        apath = Path("metadata", "annotations").key(_ANNOTATION_LB_SOURCE_RANGES)
        if svc_type != "LoadBalancer":
            errs.append(forbidden(apath, "may only be used when `type` is 'LoadBalancer'"))
        val = annotations[_ANNOTATION_LB_SOURCE_RANGES].strip()
        if val:
            for value in val.split(","):
                errs.extend(is_valid_cidr_for_legacy_field(apath, value.strip()))
    if spec.get("allocateLoadBalancerNodePorts") is not None and svc_type != "LoadBalancer":
        errs.append(
            forbidden(
                spec_path.child("allocateLoadBalancerNodePorts"),
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(required(Path("allocateLoadBalancerNodePorts")))  # sic: no "spec." in Go
    errs.extend(_validate_load_balancer_class(None, spec))
    errs.extend(_validate_external_traffic_policy(spec))
    errs.extend(_validate_internal_traffic_policy(spec))
    errs.extend(_validate_traffic_distribution(spec))
    return errs


def _policy_value(spec: dict[str, Any]) -> Any:
    p = spec.get("ipFamilyPolicy")
    return JSONString(p) if isinstance(p, str) else None


def _validate_upgrade_downgrade_cluster_ips(
    old_spec: dict[str, Any], spec: dict[str, Any]
) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName":
        return errs
    if _is_headless(old_spec) and _is_headless(spec):
        return errs
    old_ips, new_ips = as_strs(old_spec.get("clusterIPs")), as_strs(spec.get("clusterIPs"))
    bad = raw_strs(spec.get("clusterIPs"))
    path = Path("spec", "clusterIPs")
    if len(old_ips) == len(new_ips):
        for i, ip in enumerate(old_ips):
            if ip != new_ips[i]:
                errs.append(invalid(path.index(i), bad, "may not change once set"))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid(path.index(0), bad, "primary clusterIP can not be unset"))
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errs.append(invalid(path.index(0), bad, "may not change once set"))
        if len(new_ips) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    Path("spec", "ipFamilyPolicy"),
                    _policy_value(spec),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid(path.index(0), bad, "may not change once set"))
    return errs


def _validate_upgrade_downgrade_ip_families(
    old_spec: dict[str, Any], spec: dict[str, Any]
) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName":
        return errs
    old_headless, new_headless = _is_headless(old_spec), _is_headless(spec)
    if old_headless != new_headless or new_headless:
        return errs
    old_f, new_f = as_strs(old_spec.get("ipFamilies")), as_strs(spec.get("ipFamilies"))
    new_ips = as_strs(spec.get("clusterIPs"))
    bad_ips, bad_f = raw_strs(spec.get("clusterIPs")), raw_strs(spec.get("ipFamilies"))
    path0 = Path("spec", "ipFamilies").index(0)
    if len(old_f) == len(new_f):
        for i, fam in enumerate(old_f):
            if fam != new_f[i]:
                errs.append(invalid(path0, bad_f, "may not change once set"))
    elif len(old_f) > len(new_f):
        # Go tests len(ClusterIPs) here and reports ClusterIPs as the bad value (sic)
        if not new_ips:
            errs.append(invalid(path0, bad_f, "primary ipFamily can not be unset"))
        if new_f and new_f[0] != old_f[0]:
            errs.append(invalid(path0, bad_ips, "may not change once set"))
        if len(new_f) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    Path("spec", "ipFamilyPolicy"),
                    _policy_value(spec),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_f and new_f and new_f[0] != old_f[0]:
        errs.append(invalid(path0, bad_ips, "may not change once set"))
    return errs


def validate_service_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceUpdate``: metadata update rules; cluster IPs may be added
    (upgrade) or the secondary released (downgrade, needs ``ipFamilyPolicy: SingleStack``)
    but never changed (``spec.clusterIPs[i]: Invalid value: [...]: may not change once
    set``), except to, from or on ExternalName; the same for ipFamilies (headless Services
    may change them); ``loadBalancerClass`` fixed while LoadBalancer;
    ``healthCheckNodePort`` fixed while a health check is needed (``Forbidden: field is
    immutable``); then :func:`validate_service` on ``new``.

    The registry's own pre-checks (``initIPFamilyFields``: ``must be 'SingleStack' to
    release the secondary cluster IP``, ...) run before this and are not repeated here.
    """
    n, o = as_dict(new), as_dict(old)
    errs = validate_object_meta_update(as_dict(n.get("metadata")), as_dict(o.get("metadata")))
    spec, old_spec = _spec(n), _spec(o)
    errs.extend(_validate_upgrade_downgrade_cluster_ips(old_spec, spec))
    errs.extend(_validate_upgrade_downgrade_ip_families(old_spec, spec))
    errs.extend(_validate_load_balancer_class(old_spec, spec))
    if (
        _needs_health_check(old_spec)
        and _needs_health_check(spec)
        and as_int(spec.get("healthCheckNodePort")) != as_int(old_spec.get("healthCheckNodePort"))
    ):
        errs.append(forbidden(Path("spec", "healthCheckNodePort"), FIELD_IMMUTABLE_ERROR_MSG))
    errs.extend(validate_service(n, o))
    return errs


def validate_service_status_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateServiceStatusUpdate`` (metadata part only; load-balancer status ingress
    entries are checked minimally: each ``ip`` must parse)."""
    n, o = as_dict(new), as_dict(old)
    errs = validate_object_meta_update(as_dict(n.get("metadata")), as_dict(o.get("metadata")))
    ingress = as_list(as_dict(as_dict(n.get("status")).get("loadBalancer")).get("ingress"))
    base = Path("status", "loadBalancer", "ingress")
    for i, ing in enumerate(ingress):
        ip = as_str(as_dict(ing).get("ip"))
        if ip:
            errs.extend(is_valid_ip_for_legacy_field(base.index(i).child("ip"), ip))
    return errs


def get_warnings_for_service(svc: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """``GetWarningsForService``: non-standard IPs/CIDRs in clusterIPs, externalIPs,
    loadBalancerIP and loadBalancerSourceRanges; fields ignored for the Service's type."""
    del old
    spec = _spec(as_dict(svc))
    warnings: list[str] = []
    cluster_ips = as_strs(spec.get("clusterIPs"))
    if cluster_ips and cluster_ips[0] not in ("", "None"):
        for i, ip in enumerate(cluster_ips):
            warnings.extend(get_warnings_for_ip(Path("spec", "clusterIPs").index(i), ip))
    for i, ip in enumerate(as_strs(spec.get("externalIPs"))):
        warnings.extend(get_warnings_for_ip(Path("spec", "externalIPs").index(i), ip))
    lb_ip = as_str(spec.get("loadBalancerIP"))
    if lb_ip:
        warnings.extend(get_warnings_for_ip(Path("spec", "loadBalancerIP"), lb_ip))
    for i, cidr in enumerate(as_strs(spec.get("loadBalancerSourceRanges"))):
        warnings.extend(
            get_warnings_for_cidr(Path("spec", "loadBalancerSourceRanges").index(i), cidr)
        )
    svc_type = spec.get("type")
    if svc_type == "ExternalName" and as_strs(spec.get("externalIPs")):
        warnings.append('spec.externalIPs is ignored when spec.type is "ExternalName"')
    if svc_type != "ExternalName" and as_str(spec.get("externalName")):
        warnings.append('spec.externalName is ignored when spec.type is not "ExternalName"')
    return warnings
