"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) as JSON.

client-go's typed clientsets send built-in kinds as protobuf since 1.31 (kubectl's
``create service clusterip`` among them, SPEC-serve §1.4), so the server must read them.
The wire format (``apimachinery/pkg/runtime/serializer/protobuf/protobuf.go``): the 4-byte
magic ``k8s\\0``, then a ``runtime.Unknown`` message {1 typeMeta {1 apiVersion, 2 kind},
2 raw, 3 contentEncoding, 4 contentType} whose ``raw`` holds the object's own message.

The result is the JSON kube-apiserver would write for the Go struct the bytes decode into:

* gogo-proto writes every non-pointer field, empty or not, so an empty string, a zero
  number, ``false``, an empty list or map and an empty struct mean "unset" and are left out
  where the Go field's JSON tag has ``omitempty`` (an empty ``clusterIP`` must still mean
  "allocate one"); a field without ``omitempty`` (``ServicePort.port``) is written as Go
  writes it, zero included;
* a pointer field is written only when set, so it is kept whenever present, zero or not
  (``allocateLoadBalancerNodePorts: false``, ``ipFamilyPolicy: ""``);
* ``IntOrString`` is a number or a string by its ``type``; its zero (``0`` or ``""``) is
  what ``SetDefaults_Service`` treats as unset, so it is left out;
* ``metav1.Time`` keeps whole seconds (``Time.Unmarshal`` drops the nanoseconds),
  ``MicroTime`` keeps microseconds; the zero time (year 1) is left out;
* a message field seen twice merges, a scalar seen twice keeps the last value, unknown
  fields are skipped, as the generated ``Unmarshal`` methods do;
* strings are not checked for UTF-8 (Go's ``string(bytes)``); invalid bytes become U+FFFD
  as Go's JSON encoder writes them.

Malformed input raises :class:`~servicecidr.errors.BadRequestError` worded as
kube-apiserver words it (``transformDecodeError`` in
``apiserver/pkg/endpoints/handlers/rest.go`` around the generated code's errors, e.g.
``Service in version "v1" cannot be handled as a Service: proto: wrong wireType = 0 for
field Name``). Kinds with a schema here: Service, Namespace and core/v1 Event (``v1``);
ServiceCIDR and IPAddress (``networking.k8s.io/v1`` and ``v1beta1``); Event
(``events.k8s.io/v1``); DeleteOptions (the body of a typed client's delete). The
admissionregistration kinds are not decoded (no client sends them as protobuf on the
paths this server is used for; they get a clear BadRequest).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.errors import BadRequestError

__all__ = ["MAGIC", "MEDIA_TYPE", "ProtobufError", "decode", "decode_message"]

MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
MAGIC: Final = b"k8s\x00"

# The scheme name kube-apiserver prints in "no kind registered" errors (the same text as
# servicecidr.api.decode's JSON path).
_SCHEME_NAME: Final = "pkg/api/legacyscheme/scheme.go:30"

# time.Time{}.Unix(): what gogo writes for a zero metav1.Time.
_ZERO_TIME_SECONDS: Final = -62135596800
_MIN_SECONDS: Final = int(_dt.datetime(1, 1, 1, tzinfo=_dt.UTC).timestamp())
_MAX_SECONDS: Final = int(_dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=_dt.UTC).timestamp())
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)

# Nesting deeper than any served kind has is refused before Python's stack is at risk.
_MAX_DEPTH: Final = 64


class ProtobufError(Exception):
    """A generated ``Unmarshal`` method's error (``proto: ...``, ``unexpected EOF``)."""


_UNEXPECTED_EOF: Final = "unexpected EOF"
_INVALID_LENGTH: Final = "proto: negative length found during unmarshaling"
_INT_OVERFLOW: Final = "proto: integer overflow"
_END_OF_GROUP: Final = "proto: unexpected end of group"


# --------------------------------------------------------------------------------------
# The schema: Go structs by their protobuf field numbers
# --------------------------------------------------------------------------------------
# Field kinds: "string", "bytes" (raw JSON, FieldsV1), "int32", "int64", "bool" (varints),
# "time", "microtime" (metav1.Time / MicroTime, a Timestamp message), "intorstring",
# "map" (map[string]string), or a message name from MESSAGES.


@dataclass(frozen=True, slots=True)
class _Field:
    number: int
    json: str
    go: str  # the Go field name, as the generated code names it in errors
    kind: str
    repeated: bool = False
    pointer: bool = False
    omitempty: bool = True


def _f(
    number: int,
    json_name: str,
    go: str,
    kind: str = "string",
    *,
    rep: bool = False,
    ptr: bool = False,
    omitempty: bool = True,
) -> _Field:
    return _Field(number, json_name, go, kind, rep, ptr, omitempty)


_SCALARS: Final = frozenset({"string", "bytes", "int32", "int64", "bool"})
_VARINTS: Final = frozenset({"int32", "int64", "bool"})
_LENGTH_DELIMITED: Final = frozenset({"string", "bytes", "time", "microtime", "intorstring", "map"})


def _fields(*fields: _Field) -> dict[int, _Field]:
    return {f.number: f for f in fields}


_OBJECT_META = _fields(
    _f(1, "name", "Name"),
    _f(2, "generateName", "GenerateName"),
    _f(3, "namespace", "Namespace"),
    _f(4, "selfLink", "SelfLink"),
    _f(5, "uid", "UID"),
    _f(6, "resourceVersion", "ResourceVersion"),
    _f(7, "generation", "Generation", "int64"),
    _f(8, "creationTimestamp", "CreationTimestamp", "time"),
    _f(9, "deletionTimestamp", "DeletionTimestamp", "time", ptr=True),
    _f(10, "deletionGracePeriodSeconds", "DeletionGracePeriodSeconds", "int64", ptr=True),
    _f(11, "labels", "Labels", "map"),
    _f(12, "annotations", "Annotations", "map"),
    _f(13, "ownerReferences", "OwnerReferences", "OwnerReference", rep=True),
    _f(14, "finalizers", "Finalizers", rep=True),
    _f(17, "managedFields", "ManagedFields", "ManagedFieldsEntry", rep=True),
)

_CONDITION = _fields(
    _f(1, "type", "Type", omitempty=False),
    _f(2, "status", "Status", omitempty=False),
    _f(3, "observedGeneration", "ObservedGeneration", "int64"),
    _f(4, "lastTransitionTime", "LastTransitionTime", "time", omitempty=False),
    _f(5, "reason", "Reason", omitempty=False),
    _f(6, "message", "Message", omitempty=False),
)

_OBJECT_REFERENCE = _fields(
    _f(1, "kind", "Kind"),
    _f(2, "namespace", "Namespace"),
    _f(3, "name", "Name"),
    _f(4, "uid", "UID"),
    _f(5, "apiVersion", "APIVersion"),
    _f(6, "resourceVersion", "ResourceVersion"),
    _f(7, "fieldPath", "FieldPath"),
)

_EVENT_SOURCE = _fields(_f(1, "component", "Component"), _f(2, "host", "Host"))

#: Every message the decoder knows, by the Go type name the generated code prints.
MESSAGES: Final[dict[str, dict[int, _Field]]] = {
    # apimachinery pkg/apis/meta/v1
    "ObjectMeta": _OBJECT_META,
    "OwnerReference": _fields(
        _f(1, "kind", "Kind", omitempty=False),
        _f(3, "name", "Name", omitempty=False),
        _f(4, "uid", "UID", omitempty=False),
        _f(5, "apiVersion", "APIVersion", omitempty=False),
        _f(6, "controller", "Controller", "bool", ptr=True),
        _f(7, "blockOwnerDeletion", "BlockOwnerDeletion", "bool", ptr=True),
    ),
    "ManagedFieldsEntry": _fields(
        _f(1, "manager", "Manager"),
        _f(2, "operation", "Operation"),
        _f(3, "apiVersion", "APIVersion"),
        _f(4, "time", "Time", "time", ptr=True),
        _f(6, "fieldsType", "FieldsType"),
        _f(7, "fieldsV1", "FieldsV1", "FieldsV1", ptr=True),
        _f(8, "subresource", "Subresource"),
    ),
    "FieldsV1": _fields(_f(1, "Raw", "Raw", "bytes")),
    "Condition": _CONDITION,
    "DeleteOptions": _fields(
        _f(1, "gracePeriodSeconds", "GracePeriodSeconds", "int64", ptr=True),
        _f(2, "preconditions", "Preconditions", "Preconditions", ptr=True),
        _f(3, "orphanDependents", "OrphanDependents", "bool", ptr=True),
        _f(4, "propagationPolicy", "PropagationPolicy", ptr=True),
        _f(5, "dryRun", "DryRun", rep=True),
        _f(
            6,
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "IgnoreStoreReadErrorWithClusterBreakingPotential",
            "bool",
            ptr=True,
        ),
    ),
    "Preconditions": _fields(
        _f(1, "uid", "UID", ptr=True),
        _f(2, "resourceVersion", "ResourceVersion", ptr=True),
    ),
    # k8s.io/api/core/v1
    "Service": _fields(
        _f(1, "metadata", "Metadata", "ObjectMeta"),
        _f(2, "spec", "Spec", "ServiceSpec"),
        _f(3, "status", "Status", "ServiceStatus"),
    ),
    "ServiceSpec": _fields(
        _f(1, "ports", "Ports", "ServicePort", rep=True),
        _f(2, "selector", "Selector", "map"),
        _f(3, "clusterIP", "ClusterIP"),
        _f(18, "clusterIPs", "ClusterIPs", rep=True),
        _f(4, "type", "Type"),
        _f(5, "externalIPs", "ExternalIPs", rep=True),
        _f(7, "sessionAffinity", "SessionAffinity"),
        _f(8, "loadBalancerIP", "LoadBalancerIP"),
        _f(9, "loadBalancerSourceRanges", "LoadBalancerSourceRanges", rep=True),
        _f(10, "externalName", "ExternalName"),
        _f(11, "externalTrafficPolicy", "ExternalTrafficPolicy"),
        _f(12, "healthCheckNodePort", "HealthCheckNodePort", "int32"),
        _f(13, "publishNotReadyAddresses", "PublishNotReadyAddresses", "bool"),
        _f(14, "sessionAffinityConfig", "SessionAffinityConfig", "SessionAffinityConfig", ptr=True),
        _f(19, "ipFamilies", "IPFamilies", rep=True),
        _f(17, "ipFamilyPolicy", "IPFamilyPolicy", ptr=True),
        _f(20, "allocateLoadBalancerNodePorts", "AllocateLoadBalancerNodePorts", "bool", ptr=True),
        _f(21, "loadBalancerClass", "LoadBalancerClass", ptr=True),
        _f(22, "internalTrafficPolicy", "InternalTrafficPolicy", ptr=True),
        _f(23, "trafficDistribution", "TrafficDistribution", ptr=True),
    ),
    "ServicePort": _fields(
        _f(1, "name", "Name"),
        _f(2, "protocol", "Protocol"),
        _f(6, "appProtocol", "AppProtocol", ptr=True),
        _f(3, "port", "Port", "int32", omitempty=False),
        _f(4, "targetPort", "TargetPort", "intorstring"),
        _f(5, "nodePort", "NodePort", "int32"),
    ),
    "SessionAffinityConfig": _fields(_f(1, "clientIP", "ClientIP", "ClientIPConfig", ptr=True)),
    "ClientIPConfig": _fields(_f(1, "timeoutSeconds", "TimeoutSeconds", "int32", ptr=True)),
    "ServiceStatus": _fields(
        _f(1, "loadBalancer", "LoadBalancer", "LoadBalancerStatus"),
        _f(2, "conditions", "Conditions", "Condition", rep=True),
    ),
    "LoadBalancerStatus": _fields(_f(1, "ingress", "Ingress", "LoadBalancerIngress", rep=True)),
    "LoadBalancerIngress": _fields(
        _f(1, "ip", "IP"),
        _f(2, "hostname", "Hostname"),
        _f(3, "ipMode", "IPMode", ptr=True),
        _f(4, "ports", "Ports", "PortStatus", rep=True),
    ),
    "PortStatus": _fields(
        _f(1, "port", "Port", "int32", omitempty=False),
        _f(2, "protocol", "Protocol", omitempty=False),
        _f(3, "error", "Error", ptr=True),
    ),
    "Namespace": _fields(
        _f(1, "metadata", "Metadata", "ObjectMeta"),
        _f(2, "spec", "Spec", "NamespaceSpec"),
        _f(3, "status", "Status", "NamespaceStatus"),
    ),
    "NamespaceSpec": _fields(_f(1, "finalizers", "Finalizers", rep=True)),
    "NamespaceStatus": _fields(
        _f(1, "phase", "Phase"),
        _f(2, "conditions", "Conditions", "NamespaceCondition", rep=True),
    ),
    "NamespaceCondition": _fields(
        _f(1, "type", "Type", omitempty=False),
        _f(2, "status", "Status", omitempty=False),
        _f(4, "lastTransitionTime", "LastTransitionTime", "time"),
        _f(5, "reason", "Reason"),
        _f(6, "message", "Message"),
    ),
    "ObjectReference": _OBJECT_REFERENCE,
    "EventSource": _EVENT_SOURCE,
    "Event": _fields(
        _f(1, "metadata", "Metadata", "ObjectMeta"),
        _f(2, "involvedObject", "InvolvedObject", "ObjectReference"),
        _f(3, "reason", "Reason"),
        _f(4, "message", "Message"),
        _f(5, "source", "Source", "EventSource"),
        _f(6, "firstTimestamp", "FirstTimestamp", "time"),
        _f(7, "lastTimestamp", "LastTimestamp", "time"),
        _f(8, "count", "Count", "int32"),
        _f(9, "type", "Type"),
        _f(10, "eventTime", "EventTime", "microtime"),
        _f(11, "series", "Series", "EventSeries", ptr=True),
        _f(12, "action", "Action"),
        _f(13, "related", "Related", "ObjectReference", ptr=True),
        _f(14, "reportingComponent", "ReportingController", omitempty=False),
        _f(15, "reportingInstance", "ReportingInstance", omitempty=False),
    ),
    "EventSeries": _fields(
        _f(1, "count", "Count", "int32"),
        _f(2, "lastObservedTime", "LastObservedTime", "microtime"),
    ),
    # k8s.io/api/networking/v1 and v1beta1 (same field numbers)
    "ServiceCIDR": _fields(
        _f(1, "metadata", "Metadata", "ObjectMeta"),
        _f(2, "spec", "Spec", "ServiceCIDRSpec"),
        _f(3, "status", "Status", "ServiceCIDRStatus"),
    ),
    "ServiceCIDRSpec": _fields(_f(1, "cidrs", "CIDRs", rep=True)),
    "ServiceCIDRStatus": _fields(_f(1, "conditions", "Conditions", "Condition", rep=True)),
    "IPAddress": _fields(
        _f(1, "metadata", "Metadata", "ObjectMeta"),
        _f(2, "spec", "Spec", "IPAddressSpec"),
    ),
    "IPAddressSpec": _fields(_f(1, "parentRef", "ParentRef", "ParentReference", ptr=True)),
    "ParentReference": _fields(
        _f(1, "group", "Group"),
        _f(2, "resource", "Resource"),
        _f(3, "namespace", "Namespace"),
        _f(4, "name", "Name"),
    ),
    # k8s.io/api/events/v1
    "events.Event": _fields(
        _f(1, "metadata", "Metadata", "ObjectMeta"),
        _f(2, "eventTime", "EventTime", "microtime", omitempty=False),
        _f(3, "series", "Series", "events.EventSeries", ptr=True),
        _f(4, "reportingController", "ReportingController"),
        _f(5, "reportingInstance", "ReportingInstance"),
        _f(6, "action", "Action"),
        _f(7, "reason", "Reason"),
        _f(8, "regarding", "Regarding", "ObjectReference"),
        _f(9, "related", "Related", "ObjectReference", ptr=True),
        _f(10, "note", "Note"),
        _f(11, "type", "Type"),
        _f(12, "deprecatedSource", "DeprecatedSource", "EventSource"),
        _f(13, "deprecatedFirstTimestamp", "DeprecatedFirstTimestamp", "time"),
        _f(14, "deprecatedLastTimestamp", "DeprecatedLastTimestamp", "time"),
        _f(15, "deprecatedCount", "DeprecatedCount", "int32"),
    ),
    "events.EventSeries": _fields(
        _f(1, "count", "Count", "int32", omitempty=False),
        _f(2, "lastObservedTime", "LastObservedTime", "microtime", omitempty=False),
    ),
    # k8s.io/apimachinery/pkg/runtime
    "TypeMeta": _fields(_f(1, "apiVersion", "APIVersion"), _f(2, "kind", "Kind")),
    "Unknown": _fields(
        _f(1, "typeMeta", "TypeMeta", "TypeMeta"),
        _f(2, "raw", "Raw", "bytes"),
        _f(3, "contentEncoding", "ContentEncoding"),
        _f(4, "contentType", "ContentType"),
    ),
    # intstr.IntOrString and meta/v1 Timestamp, decoded into their JSON forms below
    "IntOrString": _fields(
        _f(1, "type", "Type", "int64"),
        _f(2, "intVal", "IntVal", "int32"),
        _f(3, "strVal", "StrVal"),
    ),
    "Timestamp": _fields(_f(1, "seconds", "Seconds", "int64"), _f(2, "nanos", "Nanos", "int32")),
}

#: (apiVersion, kind) -> the message of the object, for the kinds this server decodes.
ROOTS: Final[dict[tuple[str, str], str]] = {
    ("v1", "Service"): "Service",
    ("v1", "Namespace"): "Namespace",
    ("v1", "Event"): "Event",
    ("networking.k8s.io/v1", "ServiceCIDR"): "ServiceCIDR",
    ("networking.k8s.io/v1beta1", "ServiceCIDR"): "ServiceCIDR",
    ("networking.k8s.io/v1", "IPAddress"): "IPAddress",
    ("networking.k8s.io/v1beta1", "IPAddress"): "IPAddress",
    ("events.k8s.io/v1", "Event"): "events.Event",
    # A typed client's delete body; client-go tags it with the request's group-version.
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    ("v1", "DeleteOptions"): "DeleteOptions",
    ("networking.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    ("networking.k8s.io/v1beta1", "DeleteOptions"): "DeleteOptions",
    ("events.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    ("admissionregistration.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}


# --------------------------------------------------------------------------------------
# Wire reading
# --------------------------------------------------------------------------------------


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A base-128 varint as uint64, as the generated loops read it."""
    value = 0
    shift = 0
    while True:
        if shift >= 64:
            raise ProtobufError(_INT_OVERFLOW)
        if pos >= end:
            raise ProtobufError(_UNEXPECTED_EOF)
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def _signed(value: int, bits: int) -> int:
    """Go's int32(...) / int64(...) of the accumulated varint: the low bits, signed."""
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value


def _length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """The length prefix of a length-delimited field and where the field ends."""
    n, pos = _varint(data, pos, end)
    n = _signed(n, 64)  # int(stringLen) in Go
    if n < 0:
        raise ProtobufError(_INVALID_LENGTH)
    stop = pos + n
    if stop > end:
        raise ProtobufError(_UNEXPECTED_EOF)
    return pos, stop


def _skip(data: bytes, pos: int, end: int) -> int:
    """``skipGenerated``: step over one unknown field (groups included)."""
    depth = 0
    while pos < end:
        wire, pos = _varint(data, pos, end)
        wire_type = wire & 7
        if wire_type == 0:
            while True:
                if pos >= end:
                    raise ProtobufError(_UNEXPECTED_EOF)
                pos += 1
                if data[pos - 1] < 0x80:
                    break
        elif wire_type == 1:
            pos += 8
        elif wire_type == 2:
            n, pos = _varint(data, pos, end)
            n = _signed(n, 64)
            if n < 0:
                raise ProtobufError(_INVALID_LENGTH)
            pos += n
        elif wire_type == 3:
            depth += 1
        elif wire_type == 4:
            if depth == 0:
                raise ProtobufError(_END_OF_GROUP)
            depth -= 1
        elif wire_type == 5:
            pos += 4
        else:
            raise ProtobufError(f"proto: illegal wireType {wire_type}")
        if depth == 0:
            if pos > end:
                raise ProtobufError(_UNEXPECTED_EOF)
            return pos
    raise ProtobufError(_UNEXPECTED_EOF)


def _go_name(message: str) -> str:
    return message.rpartition(".")[2]


def _read(data: bytes, pos: int, end: int, message: str, state: dict[str, Any], depth: int) -> None:
    """Decode one message's fields into ``state`` (raw Go values by JSON name)."""
    if depth > _MAX_DEPTH:
        raise ProtobufError("proto: message nested too deeply")
    schema = MESSAGES[message]
    while pos < end:
        start = pos
        wire, pos = _varint(data, pos, end)
        number = wire >> 3
        wire_type = wire & 7
        if wire_type == 4:
            raise ProtobufError(f"proto: {_go_name(message)}: wiretype end group for non-group")
        if _signed(number, 32) <= 0:
            raise ProtobufError(
                f"proto: {_go_name(message)}: illegal tag {_signed(number, 32)} (wire type {wire})"
            )
        field = schema.get(number)
        if field is None:
            pos = _skip(data, start, end)
            continue
        want = 0 if field.kind in _VARINTS else 2
        if wire_type != want:
            raise ProtobufError(f"proto: wrong wireType = {wire_type} for field {field.go}")
        if want == 0:
            raw, pos = _varint(data, pos, end)
            value: Any = (
                raw != 0
                if field.kind == "bool"
                else _signed(raw, 32 if field.kind == "int32" else 64)
            )
            _store(state, field, value)
            continue
        body, pos = _length(data, pos, end)
        if field.kind == "string":
            _store(state, field, data[body:pos].decode("utf-8", errors="replace"))
        elif field.kind == "bytes":
            _store(state, field, bytes(data[body:pos]))
        elif field.kind == "map":
            key, val = _map_entry(data, body, pos)
            state.setdefault(field.json, {})[key] = val
        elif field.kind in ("time", "microtime", "intorstring"):
            inner = "IntOrString" if field.kind == "intorstring" else "Timestamp"
            # Time.Unmarshal replaces the value; IntOrString's generated Unmarshal sets
            # field by field on the existing struct, so a second occurrence merges.
            sub = {}
            if field.kind == "intorstring" and isinstance(state.get(field.json), dict):
                sub = state[field.json]
            _read(data, body, pos, inner, sub, depth + 1)
            sub["__kind__"] = field.kind
            # Time.Unmarshal: no bytes at all is the zero time (what gogo writes for it).
            sub["__empty__"] = pos == body
            _store(state, field, sub)
        else:
            if field.repeated:
                sub = {}
                _read(data, body, pos, field.kind, sub, depth + 1)
                state.setdefault(field.json, []).append(sub)
            else:
                # A message field seen twice merges into the first (gogo's Unmarshal on
                # the existing struct).
                existing = state.get(field.json)
                sub = existing if isinstance(existing, dict) else {}
                _read(data, body, pos, field.kind, sub, depth + 1)
                state[field.json] = sub


def _store(state: dict[str, Any], field: _Field, value: Any) -> None:
    if field.repeated:
        state.setdefault(field.json, []).append(value)
    else:
        state[field.json] = value


def _map_entry(data: bytes, pos: int, end: int) -> tuple[str, str]:
    """A map<string,string> entry {1 key, 2 value}; other fields are skipped."""
    key = value = ""
    while pos < end:
        start = pos
        wire, pos = _varint(data, pos, end)
        number = _signed(wire >> 3, 32)
        if number in (1, 2):
            body, pos = _length(data, pos, end)
            text = data[body:pos].decode("utf-8", errors="replace")
            if number == 1:
                key = text
            else:
                value = text
        else:
            pos = _skip(data, start, end)
    return key, value


# --------------------------------------------------------------------------------------
# Go values -> JSON
# --------------------------------------------------------------------------------------


def _format_time(seconds: int, micros: int | None) -> str | None:
    if seconds == _ZERO_TIME_SECONDS and not micros:
        return None
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        raise ProtobufError(f"Time.MarshalJSON: year outside of range [0,9999] (seconds {seconds})")
    t = _EPOCH + _dt.timedelta(seconds=seconds)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if micros is None:
        return text + "Z"
    return f"{text}.{micros:06d}Z"


def _special(value: dict[str, Any]) -> Any:
    kind = value["__kind__"]
    if kind == "intorstring":
        if value.get("type", 0) == 1:
            text = value.get("strVal", "")
            return text if text else None
        number = value.get("intVal", 0)
        return number if number else None
    if value.get("__empty__"):
        return None
    seconds = value.get("seconds", 0)
    if kind == "time":
        return _format_time(seconds, None)
    nanos = value.get("nanos", 0)
    # Duration(nanos).Truncate(time.Microsecond) rounds toward zero; time.Unix(s, n) then
    # normalises n into [0, 1e9).
    nanos = -(-nanos // 1000 * 1000) if nanos < 0 else nanos // 1000 * 1000
    seconds += nanos // 1_000_000_000
    micros = (nanos % 1_000_000_000) // 1000
    return _format_time(seconds, micros)


def _to_json(message: str, state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in MESSAGES[message].values():
        if field.json not in state:
            if not field.omitempty and not field.pointer and not field.repeated:
                zero = _zero(field.kind)
                if zero is not None:
                    out[field.json] = zero
            continue
        raw = state[field.json]
        value = _value(field, raw)
        if value is None:
            continue
        if field.pointer or not field.omitempty or value not in ("", 0, False, [], {}):
            out[field.json] = value
    return out


def _zero(kind: str) -> Any:
    if kind == "string":
        return ""
    if kind in ("int32", "int64"):
        return 0
    if kind == "bool":
        return False
    return None  # structs and times: Go writes {} or null, the same as absent


def _value(field: _Field, raw: Any) -> Any:
    if field.repeated:
        return [_element(field, item) for item in raw]
    return _element(field, raw)


def _element(field: _Field, raw: Any) -> Any:
    if field.kind in _SCALARS:
        return raw
    if field.kind == "map":
        return dict(raw)
    if field.kind in ("time", "microtime", "intorstring"):
        return _special(raw)
    if field.kind == "FieldsV1":
        return _fields_v1(raw)
    converted = _to_json(field.kind, raw)
    if not converted and not field.pointer:
        return None  # an empty non-pointer struct is the same as none
    return converted


def _fields_v1(state: dict[str, Any]) -> Any:
    raw = state.get("Raw", b"")
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtobufError(f"metadata.managedFields: invalid fieldsV1 JSON: {e}") from None


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------


def decode_message(message: str, data: bytes) -> dict[str, Any]:
    """Decode one message (no magic, no ``runtime.Unknown``) into its JSON form.

    Raises :class:`ProtobufError` with the generated code's wording for malformed bytes.
    """
    state: dict[str, Any] = {}
    _read(data, 0, len(data), message, state, 0)
    return _to_json(message, state)


def _summary(data: bytes) -> str:
    """``summarizeData(body, 30)``: hex of the first 30 bytes (JSON shown as text)."""
    if not data:
        return "<empty>"
    if data[:1] == b"{":
        text = data.decode("utf-8", errors="replace")
        return text[:30] + " ..." if len(data) > 30 else text
    return data[:30].hex() + " ..." if len(data) > 30 else data.hex()


def decode(body: bytes, *, api_version: str, kind: str) -> dict[str, Any]:
    """Decode a protobuf request body sent to an endpoint of ``api_version``/``kind``.

    The type the body declares (``runtime.Unknown.typeMeta``) wins; an empty kind or
    version is taken from the endpoint (``copyKindDefaults``). Returns the object as JSON
    with ``apiVersion`` and ``kind`` set; the caller checks them against the endpoint as
    for a JSON body.

    Raises:
        BadRequestError: the body is not a Kubernetes protobuf message, is truncated or
            malformed, or declares a kind this server cannot decode; worded as
            kube-apiserver's create and update handlers word it.
    """
    unrecognized = f"the object provided is unrecognized (must be of type {kind}): "
    if not body:
        raise BadRequestError(f"{unrecognized}empty data ({_summary(body)})")
    if not body.startswith(MAGIC):
        raise BadRequestError(
            f"{unrecognized}provided data does not appear to be a protobuf message, "
            f"expected prefix [107 56 115 0] ({_summary(body)})"
        )
    if len(body) == len(MAGIC):
        raise BadRequestError(f"{unrecognized}empty body ({_summary(body)})")
    unknown: dict[str, Any] = {}
    try:
        _read(body, len(MAGIC), len(body), "Unknown", unknown, 0)
    except ProtobufError as e:
        raise BadRequestError(f"{unrecognized}{e} ({_summary(body)})") from None
    type_meta = unknown.get("typeMeta") or {}
    got_version = str(type_meta.get("apiVersion", ""))
    got_kind = str(type_meta.get("kind", "")) or kind
    if not got_version:
        got_version = api_version
    version = got_version.rpartition("/")[2]
    prefix = f'{got_kind} in version "{version}" cannot be handled as a {kind}: '
    root = ROOTS.get((got_version, got_kind))
    if root is None:
        raise BadRequestError(
            f'{prefix}no kind "{got_kind}" is registered for version "{got_version}" '
            f'in scheme "{_SCHEME_NAME}"'
        )
    raw = unknown.get("raw", b"")
    try:
        obj = decode_message(root, raw)
    except ProtobufError as e:
        raise BadRequestError(prefix + str(e)) from None
    return {"apiVersion": got_version, "kind": got_kind, **obj}
