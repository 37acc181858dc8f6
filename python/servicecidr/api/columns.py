"""kube-apiserver's server-side printing columns of the served kinds: the column
definitions and the cells of each row (``pkg/printers/internalversion/printers.go``:
``AddHandlers``, ``printService``, ``printServiceCIDR``, ``printIPAddress``,
``printEvent``, ``printValidatingAdmissionPolicy``, ``printValidatingAdmissionPolicyBinding``,
``printNamespace``), with ``duration.HumanDuration`` ages.

Both front doors print from here: the HTTP server's ``Table`` responses
(:mod:`servicecidr.serve.tables`, always "wide", as kube-apiserver's ``TableConvertor``)
and the command line's tables (:mod:`servicecidr.cli.printers`, which upper-cases the
column names and shows the priority-1 columns only with ``-o wide``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.clock import parse_time

__all__ = [
    "COLUMNS",
    "Column",
    "cells",
    "event_times",
    "format_labels",
    "human_duration",
    "since",
]

Obj = dict[str, Any]


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``: ~2-3 significant figures."""
    s = int(seconds)  # Go truncates toward zero
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return f"{minutes}m" if sec == 0 else f"{minutes}m{sec}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = hours // 24 % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: Any, now: float) -> str:
    """``translateTimestampSince``: ``<unknown>`` for a missing time."""
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    try:
        return human_duration(now - parse_time(timestamp))
    except ValueError:
        return "<unknown>"


def format_labels(labels: Any) -> str:
    """``labels.FormatLabels``: ``a=b,c=d`` sorted, ``<none>`` when empty."""
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _svc_external_ip(svc: Obj, wide: bool) -> str:
    spec = svc.get("spec") or {}
    ext = list(spec.get("externalIPs") or [])
    typ = spec.get("type")
    if typ in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else "<none>"
    if typ == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = sorted({i.get("ip") or i.get("hostname") or "" for i in ingress} - {""})
        lb = ",".join(ips)
        if not wide and len(lb) > 16:
            lb = lb[:13] + "..."
        if ext:
            return ",".join([*(lb.split(",") if lb else []), *ext])
        return lb or "<pending>"
    if typ == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def _svc_ports(svc: Obj) -> str:
    """``makePortString``: ``port:nodePort/protocol`` only for a positive node port."""
    pieces = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        node_port = p.get("nodePort")
        if isinstance(node_port, int) and not isinstance(node_port, bool) and node_port > 0:
            pieces.append(f"{p.get('port')}:{p.get('nodePort')}/{p.get('protocol', 'TCP')}")
        else:
            pieces.append(f"{p.get('port')}/{p.get('protocol', 'TCP')}")
    return ",".join(pieces) or "<none>"


def _service_row(o: Obj, now: float, wide: bool) -> list[Any]:
    spec = o.get("spec") or {}
    cips = spec.get("clusterIPs") or []
    row = [
        _name(o),
        str(spec.get("type", "")),
        str(cips[0]) if cips else "<none>",
        _svc_external_ip(o, wide),
        _svc_ports(o),
        _age(o, now),
    ]
    if wide:
        row.append(format_labels(spec.get("selector")))
    return row


def _servicecidr_row(o: Obj, now: float, wide: bool) -> list[Any]:
    cidrs = (o.get("spec") or {}).get("cidrs") or []
    return [_name(o), ",".join(str(c) for c in cidrs), _age(o, now)]


def _ipaddress_row(o: Obj, now: float, wide: bool) -> list[Any]:
    ref = (o.get("spec") or {}).get("parentRef")
    parent = "<none>"
    if isinstance(ref, dict):
        gr = str(ref.get("resource", ""))
        if ref.get("group"):
            gr += "." + str(ref["group"])
        parent = gr.lower()
        if ref.get("namespace"):
            parent += "/" + str(ref["namespace"])
        parent += "/" + str(ref.get("name", ""))
    return [_name(o), parent]


def event_times(o: Obj, now: float) -> tuple[str, str, int]:
    """(last seen, first seen, count) of an event, as printEvent computes them."""
    first = since(o.get("eventTime") or o.get("deprecatedFirstTimestamp"), now)
    last = (
        since(o.get("deprecatedLastTimestamp"), now) if o.get("deprecatedLastTimestamp") else first
    )
    count = int(o.get("deprecatedCount") or 0)
    series = o.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    return last, first, count


def _event_row(o: Obj, now: float, wide: bool) -> list[Any]:
    last, first, count = event_times(o, now)
    ref = o.get("regarding") or {}
    kind = str(ref.get("kind", "")).lower()
    target = f"{kind}/{ref['name']}" if ref.get("name") else kind
    message = str(o.get("note", "")).strip()
    if wide:
        return [
            last,
            str(o.get("type", "")),
            str(o.get("reason", "")),
            target,
            str(ref.get("fieldPath", "")),
            _event_source(o),
            message,
            first,
            count,
            _name(o),
        ]
    return [last, str(o.get("type", "")), str(o.get("reason", "")), target, message]


def _event_source(o: Obj) -> str:
    component = str(o.get("reportingController", ""))
    instance = str(o.get("reportingInstance", ""))
    return component if not instance else f"{component}, {instance}"


def _policy_row(o: Obj, now: float, wide: bool) -> list[Any]:
    spec = o.get("spec") or {}
    pk = spec.get("paramKind")
    param_kind = (
        f"{pk.get('apiVersion', '')}/{pk.get('kind', '')}" if isinstance(pk, dict) else "<unset>"
    )
    return [_name(o), len(spec.get("validations") or []), param_kind, _age(o, now)]


def _binding_row(o: Obj, now: float, wide: bool) -> list[Any]:
    spec = o.get("spec") or {}
    pr = spec.get("paramRef")
    param = "<unset>"
    if isinstance(pr, dict):
        if pr.get("name"):
            param = f"{pr['namespace']}/{pr['name']}" if pr.get("namespace") else f"*/{pr['name']}"
        elif isinstance(pr.get("selector"), dict):
            param = _selector_string(pr["selector"])
    return [_name(o), str(spec.get("policyName", "")), param, _age(o, now)]


def _selector_string(sel: Obj) -> str:
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = str(e.get("operator", ""))
        key = str(e.get("key", ""))
        vals = ",".join(sorted(str(v) for v in e.get("values") or []))
        if op == "In":
            parts.append(f"{key} in ({vals})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({vals})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


def _namespace_row(o: Obj, now: float, wide: bool) -> list[Any]:
    phase = (o.get("status") or {}).get("phase") or "Active"
    return [_name(o), str(phase), _age(o, now)]


def _name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def _age(o: Obj, now: float) -> str:
    return since((o.get("metadata") or {}).get("creationTimestamp"), now)


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """``metav1.TableColumnDefinition``."""

    name: str
    type: str
    description: str
    format: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        """The JSON of the column definition (every field written, as Go writes it)."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


# The descriptions are the Go types' SwaggerDoc() strings the definitions cite.
_NAME_DOC: Final = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DOC: Final = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_NAME: Final = Column("Name", "string", _NAME_DOC, "name")
_AGE: Final = Column("Age", "string", _AGE_DOC)

#: Column definitions by kind, in kube-apiserver's order.
COLUMNS: Final[dict[str, tuple[Column, ...]]] = {
    "Service": (
        _NAME,
        Column(
            "Type",
            "string",
            "type determines how the Service is exposed. Defaults to ClusterIP. Valid options "
            'are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates '
            "a cluster-internal IP address for load-balancing to endpoints. Endpoints are "
            "determined by the selector or if that is not specified, by manual construction of "
            'an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual '
            "IP is allocated and the endpoints are published as a set of endpoints rather than "
            'a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node '
            'which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on '
            "NodePort and creates an external load-balancer (if supported in the current cloud) "
            'which routes to the same endpoints as the clusterIP. "ExternalName" aliases this '
            "service to the specified externalName. Several other fields do not apply to "
            "ExternalName services. More info: https://kubernetes.io/docs/concepts/"
            "services-networking/service/#publishing-services-service-types",
        ),
        Column(
            "Cluster-IP",
            "string",
            "clusterIP is the IP address of the service and is usually assigned randomly. If an "
            "address is specified manually, is in-range (as per system configuration), and is "
            "not in use, it will be allocated to the service; otherwise creation of the service "
            "will fail. This field may not be changed through updates unless the type field is "
            "also being changed to ExternalName (which requires this field to be blank) or the "
            "type field is being changed from ExternalName (in which case this field may "
            'optionally be specified, as describe above).  Valid values are "None", empty '
            'string (""), or a valid IP address. Setting this to "None" makes a "headless '
            'service" (no virtual IP), which is useful when direct endpoint connections are '
            "preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, "
            "and LoadBalancer. If this field is specified when creating a Service of type "
            "ExternalName, creation will fail. This field will be wiped when updating a Service "
            "to type ExternalName. More info: https://kubernetes.io/docs/concepts/"
            "services-networking/service/#virtual-ips-and-service-proxies",
        ),
        Column(
            "External-IP",
            "string",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also "
            "accept traffic for this service.  These IPs are not managed by Kubernetes.  The "
            "user is responsible for ensuring that traffic arrives at a node with this IP.  A "
            "common example is external load-balancers that are not part of the Kubernetes "
            "system.",
        ),
        Column(
            "Port(s)",
            "string",
            "The list of ports that are exposed by this service. More info: https://"
            "kubernetes.io/docs/concepts/services-networking/service/"
            "#virtual-ips-and-service-proxies",
        ),
        _AGE,
        Column(
            "Selector",
            "string",
            "Route service traffic to pods with label keys and values matching this selector. "
            "If empty or not present, the service is assumed to have an external process "
            "managing its endpoints, which Kubernetes will not modify. Only applies to types "
            "ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: "
            "https://kubernetes.io/docs/concepts/services-networking/service/",
            priority=1,
        ),
    ),
    "ServiceCIDR": (
        _NAME,
        Column(
            "CIDRs",
            "string",
            'cidrs defines the IP blocks in CIDR notation (e.g. "192.168.0.0/24" or '
            '"2001:db8::/64") from which to assign service cluster IPs. Max of two CIDRs is '
            "allowed, one of each IP family. This field is immutable.",
        ),
        _AGE,
    ),
    "IPAddress": (
        _NAME,
        Column(
            "ParentRef",
            "string",
            "parentRef references the resource that an IPAddress is attached to. An IPAddress "
            "must reference a parent object.",
        ),
    ),
    "Event": (
        Column(
            "Last Seen",
            "string",
            "The time at which the most recent occurrence of this event was recorded.",
        ),
        Column(
            "Type",
            "string",
            "Type of this event (Normal, Warning), new types could be added in the future",
        ),
        Column(
            "Reason",
            "string",
            "This should be a short, machine understandable string that gives the reason for "
            "the transition into the object's current status.",
        ),
        Column("Object", "string", "The object that this event is about."),
        Column(
            "Subobject",
            "string",
            "If referring to a piece of an object instead of an entire object, this string "
            "should contain a valid JSON/Go field access statement, such as "
            "desiredState.manifest.containers[2]. For example, if the object reference is to a "
            "container within a pod, this would take on a value like: "
            '"spec.containers{name}" (where "name" refers to the name of the container '
            "that triggered the event) or if no container name is specified "
            '"spec.containers[2]" (container with index 2 in this pod). This syntax is chosen '
            "only to have some well-defined way of referencing a part of an object.",
            priority=1,
        ),
        Column(
            "Source",
            "string",
            "The component reporting this event. Should be a short machine understandable string.",
            priority=1,
        ),
        Column(
            "Message", "string", "A human-readable description of the status of this operation."
        ),
        Column(
            "First Seen",
            "string",
            "The time at which the event was first recorded. (Time of server receipt is in "
            "TypeMeta.)",
            priority=1,
        ),
        Column("Count", "string", "The number of times this event has occurred.", priority=1),
        Column("Name", "string", _NAME_DOC, "name", priority=1),
    ),
    "ValidatingAdmissionPolicy": (
        _NAME,
        Column(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        ),
        Column(
            "ParamKind",
            "string",
            "ParamKind specifies the kind of resources used to parameterize this policy",
        ),
        _AGE,
    ),
    "ValidatingAdmissionPolicyBinding": (
        _NAME,
        Column(
            "PolicyName",
            "string",
            "PolicyName indicates the policy definition which the policy binding binded to",
        ),
        Column(
            "ParamRef",
            "string",
            "ParamRef indicates the param resource which sets the configration param",
        ),
        _AGE,
    ),
    "Namespace": (_NAME, Column("Status", "string", "The status of the namespace"), _AGE),
}

_ROWS: Final[dict[str, Callable[[Obj, float, bool], list[Any]]]] = {
    "Service": _service_row,
    "ServiceCIDR": _servicecidr_row,
    "IPAddress": _ipaddress_row,
    "Event": _event_row,
    "ValidatingAdmissionPolicy": _policy_row,
    "ValidatingAdmissionPolicyBinding": _binding_row,
    "Namespace": _namespace_row,
}


def cells(kind: str, obj: Obj, now: float, *, wide: bool = True) -> list[Any]:
    """The cells of an object's row: strings, and integers where kube-apiserver sends
    numbers (a policy's validation count, an event's count). ``wide`` adds the priority-1
    cells (the server always sends them)."""
    return _ROWS[kind](obj, now, wide)
