"""Structural decoding of request bodies, as kube-apiserver's JSON decoder does it.

kube-apiserver decodes a request body with ``sigs.k8s.io/json`` (a case-sensitive fork of
``encoding/json``) into the versioned Go struct, then re-checks it strictly for unknown
fields. This module reproduces what a client observes:

* a value of the wrong JSON type is a ``BadRequest`` whose message is
  ``<Kind> in version "<version>" cannot be handled as a <Kind>: <json error>``
  (``transformDecodeError`` in ``apiserver/pkg/endpoints/handlers/rest.go``), where the json
  error is Go's ``UnmarshalTypeError`` text, e.g. ``json: cannot unmarshal string into Go
  struct field ServiceSpec.spec.ports of type []v1.ServicePort``. As in Go, the first type
  error in document order is reported, except that an error raised inside a custom
  unmarshaller (``IntOrString``, ``metav1.Time``) aborts at once and carries no field
  context (``json: cannot unmarshal bool into Go value of type int32``);
* a body JSON cannot carry (a map key that is no string, bytes, NaN, an integer beyond
  int64, a lone surrogate, nesting deeper than 100) is a ``BadRequest`` naming the field
  path, and a body over kube-apiserver's 3 MiB request limit a ``RequestEntityTooLarge``
  (:mod:`servicecidr.api.storable`), so whatever is stored reads back as it went in;
* unknown fields are strict-decoding errors (``unknown field "spec.foo"``, array indices
  included: ``unknown field "spec.ports[0].foo"``). With ``fieldValidation=Warn`` (the
  server default) they come back as warnings; ``Strict`` turns them into
  ``... cannot be handled as a Service: strict decoding error: unknown field "..."``;
  ``Ignore`` drops them silently.

The schema is one table (:data:`STRUCTS`) of Go structs and their JSON fields; every
struct, list, map and scalar of the served kinds is listed there.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from typing import Any, Final, Literal

from servicecidr.api import storable
from servicecidr.errors import BadRequestError, RequestEntityTooLargeError

__all__ = [
    "FIELD_VALIDATION_MODES",
    "PASSTHROUGH_KINDS",
    "ROOTS",
    "STRUCTS",
    "FieldValidation",
    "check",
    "check_body",
    "decode",
    "go_type",
    "type_meta",
]

FieldValidation = Literal["Ignore", "Warn", "Strict"]
FIELD_VALIDATION_MODES: Final = ("Ignore", "Warn", "Strict")

# --------------------------------------------------------------------------------------
# The schema table
# --------------------------------------------------------------------------------------
# Field types: "string", "int32", "int64", "bool", "Time" (metav1.Time),
# "IntOrString", "raw" (any JSON, e.g. FieldsV1), "map[string]string", "[]<type>", or a
# struct name from STRUCTS. Pointers are not marked: Go reports a pointer's element type.
# Each struct names the Go package its type lives in: "meta" (apimachinery meta/v1),
# "core" (k8s.io/api/core/v1), "net" (networking.k8s.io, v1 or v1beta1 per request) or
# "admissionregistration" (admissionregistration.k8s.io/v1).

_META: Final = "meta"
_CORE: Final = "core"
_NET: Final = "net"
_ADM: Final = "admissionregistration"

STRUCTS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    # apimachinery pkg/apis/meta/v1
    "ObjectMeta": (
        _META,
        {
            "name": "string",
            "generateName": "string",
            "namespace": "string",
            "selfLink": "string",
            "uid": "string",
            "resourceVersion": "string",
            "generation": "int64",
            "creationTimestamp": "Time",
            "deletionTimestamp": "Time",
            "deletionGracePeriodSeconds": "int64",
            "labels": "map[string]string",
            "annotations": "map[string]string",
            "ownerReferences": "[]OwnerReference",
            "finalizers": "[]string",
            "managedFields": "[]ManagedFieldsEntry",
        },
    ),
    "OwnerReference": (
        _META,
        {
            "apiVersion": "string",
            "kind": "string",
            "name": "string",
            "uid": "string",
            "controller": "bool",
            "blockOwnerDeletion": "bool",
        },
    ),
    "ManagedFieldsEntry": (
        _META,
        {
            "manager": "string",
            "operation": "string",
            "apiVersion": "string",
            "time": "Time",
            "fieldsType": "string",
            "fieldsV1": "raw",
            "subresource": "string",
        },
    ),
    "Condition": (
        _META,
        {
            "type": "string",
            "status": "string",
            "observedGeneration": "int64",
            "lastTransitionTime": "Time",
            "reason": "string",
            "message": "string",
        },
    ),
    # k8s.io/api/core/v1
    "Service": (
        _CORE,
        {
            "kind": "string",
            "apiVersion": "string",
            "metadata": "ObjectMeta",
            "spec": "ServiceSpec",
            "status": "ServiceStatus",
        },
    ),
    "ServiceSpec": (
        _CORE,
        {
            "ports": "[]ServicePort",
            "selector": "map[string]string",
            "clusterIP": "string",
            "clusterIPs": "[]string",
            "type": "string",
            "externalIPs": "[]string",
            "sessionAffinity": "string",
            "loadBalancerIP": "string",
            "loadBalancerSourceRanges": "[]string",
            "externalName": "string",
            "externalTrafficPolicy": "string",
            "healthCheckNodePort": "int32",
            "publishNotReadyAddresses": "bool",
            "sessionAffinityConfig": "SessionAffinityConfig",
            "ipFamilies": "[]string",
            "ipFamilyPolicy": "string",
            "allocateLoadBalancerNodePorts": "bool",
            "loadBalancerClass": "string",
            "internalTrafficPolicy": "string",
            "trafficDistribution": "string",
        },
    ),
    "ServicePort": (
        _CORE,
        {
            "name": "string",
            "protocol": "string",
            "appProtocol": "string",
            "port": "int32",
            "targetPort": "IntOrString",
            "nodePort": "int32",
        },
    ),
    "SessionAffinityConfig": (_CORE, {"clientIP": "ClientIPConfig"}),
    "ClientIPConfig": (_CORE, {"timeoutSeconds": "int32"}),
    "ServiceStatus": (
        _CORE,
        {"loadBalancer": "LoadBalancerStatus", "conditions": "[]Condition"},
    ),
    "LoadBalancerStatus": (_CORE, {"ingress": "[]LoadBalancerIngress"}),
    "LoadBalancerIngress": (
        _CORE,
        {"ip": "string", "hostname": "string", "ipMode": "string", "ports": "[]PortStatus"},
    ),
    "PortStatus": (_CORE, {"port": "int32", "protocol": "string", "error": "string"}),
    "Namespace": (
        _CORE,
        {
            "kind": "string",
            "apiVersion": "string",
            "metadata": "ObjectMeta",
            "spec": "NamespaceSpec",
            "status": "NamespaceStatus",
        },
    ),
    "NamespaceSpec": (_CORE, {"finalizers": "[]string"}),
    "NamespaceStatus": (
        _CORE,
        {"phase": "string", "conditions": "[]NamespaceCondition"},
    ),
    "NamespaceCondition": (
        _CORE,
        {
            "type": "string",
            "status": "string",
            "lastTransitionTime": "Time",
            "reason": "string",
            "message": "string",
        },
    ),
    # k8s.io/api/networking/v1 and v1beta1
    "ServiceCIDR": (
        _NET,
        {
            "kind": "string",
            "apiVersion": "string",
            "metadata": "ObjectMeta",
            "spec": "ServiceCIDRSpec",
            "status": "ServiceCIDRStatus",
        },
    ),
    "ServiceCIDRSpec": (_NET, {"cidrs": "[]string"}),
    "ServiceCIDRStatus": (_NET, {"conditions": "[]Condition"}),
    "IPAddress": (
        _NET,
        {
            "kind": "string",
            "apiVersion": "string",
            "metadata": "ObjectMeta",
            "spec": "IPAddressSpec",
        },
    ),
    "IPAddressSpec": (_NET, {"parentRef": "ParentReference"}),
    "ParentReference": (
        _NET,
        {"group": "string", "resource": "string", "namespace": "string", "name": "string"},
    ),
    # apimachinery pkg/apis/meta/v1 (selectors)
    "LabelSelector": (
        _META,
        {"matchLabels": "map[string]string", "matchExpressions": "[]LabelSelectorRequirement"},
    ),
    "LabelSelectorRequirement": (
        _META,
        {"key": "string", "operator": "string", "values": "[]string"},
    ),
    # k8s.io/api/admissionregistration/v1 (named string types are decoded as strings)
    "ValidatingAdmissionPolicy": (
        _ADM,
        {
            "kind": "string",
            "apiVersion": "string",
            "metadata": "ObjectMeta",
            "spec": "ValidatingAdmissionPolicySpec",
            "status": "ValidatingAdmissionPolicyStatus",
        },
    ),
    "ValidatingAdmissionPolicySpec": (
        _ADM,
        {
            "paramKind": "ParamKind",
            "matchConstraints": "MatchResources",
            "validations": "[]Validation",
            "failurePolicy": "string",
            "auditAnnotations": "[]AuditAnnotation",
            "matchConditions": "[]MatchCondition",
            "variables": "[]Variable",
        },
    ),
    "ParamKind": (_ADM, {"apiVersion": "string", "kind": "string"}),
    "MatchResources": (
        _ADM,
        {
            "namespaceSelector": "LabelSelector",
            "objectSelector": "LabelSelector",
            "resourceRules": "[]NamedRuleWithOperations",
            "excludeResourceRules": "[]NamedRuleWithOperations",
            "matchPolicy": "string",
        },
    ),
    "NamedRuleWithOperations": (
        _ADM,
        {
            "resourceNames": "[]string",
            "operations": "[]string",
            "apiGroups": "[]string",
            "apiVersions": "[]string",
            "resources": "[]string",
            "scope": "string",
        },
    ),
    "Validation": (
        _ADM,
        {
            "expression": "string",
            "message": "string",
            "reason": "string",
            "messageExpression": "string",
        },
    ),
    "AuditAnnotation": (_ADM, {"key": "string", "valueExpression": "string"}),
    "MatchCondition": (_ADM, {"name": "string", "expression": "string"}),
    "Variable": (_ADM, {"name": "string", "expression": "string"}),
    "ValidatingAdmissionPolicyStatus": (
        _ADM,
        {
            "observedGeneration": "int64",
            "typeChecking": "TypeChecking",
            "conditions": "[]Condition",
        },
    ),
    "TypeChecking": (_ADM, {"expressionWarnings": "[]ExpressionWarning"}),
    "ExpressionWarning": (_ADM, {"fieldRef": "string", "warning": "string"}),
    "ValidatingAdmissionPolicyBinding": (
        _ADM,
        {
            "kind": "string",
            "apiVersion": "string",
            "metadata": "ObjectMeta",
            "spec": "ValidatingAdmissionPolicyBindingSpec",
        },
    ),
    "ValidatingAdmissionPolicyBindingSpec": (
        _ADM,
        {
            "policyName": "string",
            "paramRef": "ParamRef",
            "matchResources": "MatchResources",
            "validationActions": "[]string",
        },
    ),
    "ParamRef": (
        _ADM,
        {
            "name": "string",
            "namespace": "string",
            "selector": "LabelSelector",
            "parameterNotFoundAction": "string",
        },
    ),
}

ROOTS: Final[dict[tuple[str, str], str]] = {
    ("v1", "Service"): "Service",
    ("v1", "Namespace"): "Namespace",
    ("networking.k8s.io/v1", "ServiceCIDR"): "ServiceCIDR",
    ("networking.k8s.io/v1beta1", "ServiceCIDR"): "ServiceCIDR",
    ("networking.k8s.io/v1", "IPAddress"): "IPAddress",
    ("networking.k8s.io/v1beta1", "IPAddress"): "IPAddress",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): "ValidatingAdmissionPolicy",
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
    ): "ValidatingAdmissionPolicyBinding",
}
"""(apiVersion, kind) pairs decoded against :data:`STRUCTS`."""

PASSTHROUGH_KINDS: Final[dict[str, frozenset[str]]] = {
    "Event": frozenset({"events.k8s.io/v1"}),
}
"""Other kinds the engine serves: deep-copied, only ``metadata`` decoded as ObjectMeta."""

_SCHEME_NAME: Final = "pkg/api/legacyscheme/scheme.go:30"

_INT_RANGES: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def go_type(t: str, version: str = "v1") -> str:
    """The Go type name Go's json errors print for a schema type (``[]v1.ServicePort``)."""
    if t.startswith("[]"):
        return "[]" + go_type(t[2:], version)
    if t in ("string", "int32", "int64", "bool", "map[string]string"):
        return t
    if t == "Time":
        return "v1.Time"
    if t == "IntOrString":
        return "intstr.IntOrString"
    if t == "raw":
        return "v1.FieldsV1"
    pkg, _ = STRUCTS[t]
    return f"{version if pkg == _NET else 'v1'}.{t}"


# --------------------------------------------------------------------------------------
# Go error texts
# --------------------------------------------------------------------------------------


class _HardError(Exception):
    """An error that aborts decoding at once (from a custom UnmarshalJSON)."""


def _json_kind(value: Any) -> str:
    """The ``Value`` of an UnmarshalTypeError for a JSON literal of this Python value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _number_text(value: int | float) -> str:
    return json.dumps(value)


def _time_quote(s: str) -> str:
    """``time.quote``: ASCII kept (``"`` and ``\\`` escaped), other bytes as ``\\xNN``."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in ('"', "\\"):
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


_RFC3339: Final = "2006-01-02T15:04:05Z07:00"


def _getnum(s: str, fixed: bool) -> tuple[int, str] | None:
    if not s or not s[0].isascii() or not s[0].isdigit():
        return None
    if len(s) < 2 or not s[1].isascii() or not s[1].isdigit():
        if fixed:
            return None
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _days_in(month: int, year: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(value: str) -> _dt.datetime:
    """``time.Parse(time.RFC3339, value)``; raises ValueError with Go's ParseError text."""
    whole = value

    def cannot(rest: str, elem: str) -> ValueError:
        return ValueError(
            f"parsing time {_time_quote(whole)} as {_time_quote(_RFC3339)}: "
            f"cannot parse {_time_quote(rest)} as {_time_quote(elem)}"
        )

    def out_of_range(what: str) -> ValueError:
        return ValueError(f"parsing time {_time_quote(whole)}: {what} out of range")

    def literal(v: str, lit: str) -> str:
        if not v.startswith(lit):
            raise cannot(v, lit)
        return v[len(lit) :]

    v = value
    if len(v) < 4 or not v[:4].isascii() or not v[:4].isdigit():
        raise cannot(v, "2006")
    year, v = int(v[:4]), v[4:]
    v = literal(v, "-")
    got = _getnum(v, True)
    if got is None:
        raise cannot(v, "01")
    month, v = got
    if not 1 <= month <= 12:
        raise out_of_range("month")
    v = literal(v, "-")
    got = _getnum(v, True)
    if got is None:
        raise cannot(v, "02")
    day, v = got
    if day > 31:
        raise out_of_range("day")
    v = literal(v, "T")
    got = _getnum(v, False)
    if got is None:
        raise cannot(v, "15")
    hour, v = got
    if hour >= 24:
        raise out_of_range("hour")
    v = literal(v, ":")
    got = _getnum(v, True)
    if got is None:
        raise cannot(v, "04")
    minute, v = got
    if minute >= 60:
        raise out_of_range("minute")
    v = literal(v, ":")
    got = _getnum(v, True)
    if got is None:
        raise cannot(v, "05")
    second, v = got
    if second >= 60:
        raise out_of_range("second")
    micro = 0
    if len(v) >= 2 and v[0] in ".," and v[1].isascii() and v[1].isdigit():
        n = 2
        while n < len(v) and v[n].isascii() and v[n].isdigit():
            n += 1
        micro = int((v[1:n] + "000000")[:6])
        v = v[n:]
    hold = v
    if v.startswith("Z"):
        v = v[1:]
        offset = 0
    else:
        if len(v) < 6 or v[3] != ":":
            raise cannot(hold, "Z07:00")
        sign, hh, mm, v = v[0], v[1:3], v[4:6], v[6:]
        h = _getnum(hh, True)
        m = _getnum(mm, True)
        if h is None or m is None or sign not in "+-":
            raise cannot(hold, "Z07:00")
        if h[0] > 24:
            raise out_of_range("time zone offset hour")
        if m[0] > 60:
            raise out_of_range("time zone offset minute")
        offset = (h[0] * 60 + m[0]) * 60 * (-1 if sign == "-" else 1)
    if v:
        raise ValueError(f"parsing time {_time_quote(whole)}: extra text: {_time_quote(v)}")
    if day < 1 or day > _days_in(month, year):
        raise out_of_range("day")
    tz = _dt.timezone(_dt.timedelta(seconds=offset))
    try:
        t = _dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        t.astimezone(_dt.UTC)
    except (ValueError, OverflowError):
        # Go reads years 0000 and 10000 in UTC too, but writes a year 10000 that no RFC 3339
        # parser reads back: such a time could be stored and never decoded again.
        raise ValueError(
            f"parsing time {_time_quote(whole)}: year out of range (in UTC it must fall in "
            "0001 through 9999)"
        ) from None
    return t


def format_rfc3339(t: _dt.datetime) -> str:
    """``metav1.Time`` as JSON: UTC, whole seconds (``2025-01-01T00:00:00Z``)."""
    u = t.astimezone(_dt.UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


# --------------------------------------------------------------------------------------
# The walker
# --------------------------------------------------------------------------------------


class _Decoder:
    def __init__(self, version: str) -> None:
        self.version = version
        self.saved: str | None = None  # first UnmarshalTypeError, as Go's d.savedError
        self.unknown: list[str] = []

    def _type_error(self, value: str, struct: str, fields: list[str], t: str) -> None:
        if self.saved is None:
            self.saved = (
                f"json: cannot unmarshal {value} into Go struct field "
                f"{struct}.{'.'.join(fields)} of type {go_type(t, self.version)}"
            )

    def value(self, v: Any, t: str, struct: str, fields: list[str], spath: str) -> Any:
        """Decode ``v`` as type ``t``; returns the normalised value or None (dropped)."""
        if v is None:
            return None
        if t == "string":
            if isinstance(v, str):
                return v
            self._type_error(_json_kind(v), struct, fields, t)
            return None
        if t in _INT_RANGES:
            return self._int(v, t, struct, fields)
        if t == "bool":
            if isinstance(v, bool):
                return v
            self._type_error(_json_kind(v), struct, fields, t)
            return None
        if t == "IntOrString":
            return self._int_or_string(v)
        if t == "Time":
            return self._time(v)
        if t == "raw":
            return copy.deepcopy(v)
        if t == "map[string]string":
            if not isinstance(v, dict):
                self._type_error(_json_kind(v), struct, fields, t)
                return None
            out: dict[str, str] = {}
            for k, item in v.items():  # string keys: storable.check saw to that
                if item is None:
                    out[k] = ""
                elif isinstance(item, str):
                    out[k] = item
                else:
                    self._type_error(_json_kind(item), struct, fields, "string")
            # Every map field of these types is ``omitempty``: an empty one is not kept.
            return out or None
        if t.startswith("[]"):
            if not isinstance(v, list):
                self._type_error(_json_kind(v), struct, fields, t)
                return None
            elem = t[2:]
            items = []
            for i, item in enumerate(v):
                decoded = self.value(item, elem, struct, fields, f"{spath}[{i}]")
                items.append(decoded if decoded is not None else _zero(elem))
            # ... and so is every list field: ``finalizers: []`` reads back absent.
            return items or None
        return self.struct(v, t, struct, fields, spath)

    def struct(self, v: Any, t: str, struct: str, fields: list[str], spath: str) -> Any:
        if not isinstance(v, dict):
            self._type_error(_json_kind(v), struct, fields, t)
            return None
        _, schema = STRUCTS[t]
        out: dict[str, Any] = {}
        for key, item in v.items():
            ft = schema.get(key) if isinstance(key, str) else None
            child_spath = f"{spath}.{key}" if spath else str(key)
            if ft is None:
                self.unknown.append(f"unknown field {json.dumps(child_spath)}")
                continue
            decoded = self.value(item, ft, t, [*fields, key], child_spath)
            if decoded is not None:
                out[key] = decoded
        return out

    def _int(self, v: Any, t: str, struct: str, fields: list[str]) -> int | None:
        lo, hi = _INT_RANGES[t]
        if isinstance(v, bool) or not isinstance(v, int | float):
            self._type_error(_json_kind(v), struct, fields, t)
            return None
        if isinstance(v, float) or not lo <= v <= hi:
            self._type_error(f"number {_number_text(v)}", struct, fields, t)
            return None
        return v

    def _int_or_string(self, v: Any) -> int | str:
        # intstr.IntOrString.UnmarshalJSON calls encoding/json itself: its errors carry no
        # struct context and abort the decode.
        if isinstance(v, str):
            return v
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _HardError(f"json: cannot unmarshal {_json_kind(v)} into Go value of type int32")
        lo, hi = _INT_RANGES["int32"]
        if isinstance(v, float) or not lo <= v <= hi:
            raise _HardError(
                f"json: cannot unmarshal number {_number_text(v)} into Go value of type int32"
            )
        return v

    def _time(self, v: Any) -> str:
        if not isinstance(v, str):
            raise _HardError(f"json: cannot unmarshal {_json_kind(v)} into Go value of type string")
        try:
            return format_rfc3339(parse_rfc3339(v))
        except ValueError as e:
            raise _HardError(str(e)) from None


def _zero(t: str) -> Any:
    if t == "string":
        return ""
    if t in _INT_RANGES or t == "IntOrString":
        return 0
    if t == "bool":
        return False
    if t == "map[string]string":
        return {}
    if t.startswith("[]"):
        return []
    if t in STRUCTS:
        return {}
    return None


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def type_meta(obj: dict[str, Any]) -> tuple[str, str]:
    """A body's apiVersion and kind ("" when absent), or BadRequestError worded as
    kube-apiserver words a TypeMeta its decoder cannot read (``couldn't get
    version/kind; json parse error: ...``)."""

    def field(key: str) -> str:
        v = obj.get(key)
        if v is None or isinstance(v, str):
            return v or ""
        raise BadRequestError(
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{_json_kind(v)} into Go struct field .{key} of type string"
        )

    return field("apiVersion"), field("kind")


def _check_storable(obj: dict[str, Any], api_version: str, kind: str) -> None:
    """Refuse a body JSON cannot carry (naming the field) or one over the request limit."""
    try:
        storable.check(obj)
    except storable.TooLarge:
        raise RequestEntityTooLargeError(
            f"Request entity too large: limit is {storable.MAX_REQUEST_BYTES}"
        ) from None
    except storable.NotStorable as e:
        if kind and api_version and storable.is_text(kind) and storable.is_text(api_version):
            version = api_version.rpartition("/")[2]
            prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
        else:
            prefix = "the request body cannot be decoded: "
        raise BadRequestError(prefix + str(e)) from None


def check_body(obj: dict[str, Any]) -> None:
    """Raise what :func:`decode` raises for a body JSON cannot carry or one too large
    (nothing else is checked): for a caller that reads a body before decoding it."""
    api_version, kind = type_meta(obj)
    _check_storable(obj, api_version, kind)


def check(obj: dict[str, Any]) -> None:
    """Raise what :func:`decode` would raise for ``obj`` (unknown fields allowed): the
    importers' test of a recorded object before it is stored as it was recorded."""
    decode(obj, field_validation="Ignore")


def decode(
    obj: dict[str, Any], *, field_validation: FieldValidation = "Warn"
) -> tuple[dict[str, Any], list[str]]:
    """Decode a request body as kube-apiserver would for Service, ServiceCIDR and IPAddress.

    Returns a normalised deep copy (unknown fields and ``null`` values dropped, empty lists
    and maps dropped as Go's ``omitempty`` drops them when the object is stored, timestamps
    re-rendered as ``metav1.Time`` prints them) and the list of warnings (``unknown field
    "spec.foo"``, only with ``field_validation="Warn"``). Kinds in
    :data:`PASSTHROUGH_KINDS` are deep-copied with only their ``metadata`` decoded.

    Raises:
        RequestEntityTooLargeError: the body is over the 3 MiB request limit.
        BadRequestError: a value JSON cannot carry (:mod:`.storable`), missing
            ``apiVersion``/``kind`` (``Object 'Kind' is missing in
            '<json>'``), an unknown kind or version (``no kind "X" is registered for
            version "v" in scheme ...``), a value of the wrong JSON type, or unknown fields
            with ``field_validation="Strict"``.
    """
    if field_validation not in FIELD_VALIDATION_MODES:
        raise BadRequestError(
            f'fieldValidation parameter unsupported: "{field_validation}", '
            "must be one of Ignore, Warn, Strict"
        )
    api_version, kind = type_meta(obj)
    _check_storable(obj, api_version, kind)
    if not kind:
        raise BadRequestError(f"Object 'Kind' is missing in '{_compact(obj)}'")
    if not api_version:
        raise BadRequestError(f"Object 'apiVersion' is missing in '{_compact(obj)}'")
    root = ROOTS.get((api_version, kind))
    passthrough = root is None and api_version in PASSTHROUGH_KINDS.get(kind, ())
    if root is None and not passthrough:
        raise BadRequestError(
            f'no kind "{kind}" is registered for version "{api_version}" in scheme "{_SCHEME_NAME}"'
        )
    version = api_version.rpartition("/")[2]
    d = _Decoder(version)
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    try:
        if root is not None:
            out = d.struct(obj, root, root, [], "")
        else:
            # Only the metadata has a schema here (the engine reads it like any object's).
            out = {
                k: d.value(v, "ObjectMeta", kind, [k], k) if k == "metadata" else copy.deepcopy(v)
                for k, v in obj.items()
            }
            if out.get("metadata") is None:
                out.pop("metadata", None)
    except _HardError as e:
        raise BadRequestError(prefix + str(e)) from None
    if d.saved is not None:
        raise BadRequestError(prefix + d.saved)
    warnings: list[str] = []
    if d.unknown:
        if field_validation == "Strict":
            raise BadRequestError(prefix + "strict decoding error: " + ", ".join(d.unknown))
        if field_validation == "Warn":
            warnings = list(d.unknown)
    result: dict[str, Any] = out if isinstance(out, dict) else {}
    return result, warnings
