"""The Go types of the served kinds, as the patch code of kube-apiserver sees them.

One table for the three consumers that need more than api.decode's JSON shapes:

* strategic merge patch (:mod:`.patch`) reads the ``patchStrategy``/``patchMergeKey``
  struct tags (:data:`PATCH_TAGS`);
* server-side apply (:mod:`.apply`) reads the structured-merge-diff markers
  (``+listType``, ``+listMapKey``, ``+mapType``, ``+structType``, key defaults):
  :data:`LIST_TYPES`, :data:`ATOMIC_MAPS`, :data:`ATOMIC_STRUCTS`, :data:`KEY_DEFAULTS`;
* both walk the struct fields of :data:`STRUCTS` from the root of a kind (:data:`ROOTS`).

The structs are :data:`servicecidr.api.decode.STRUCTS` (the engine's decoder) plus the
kinds it passes through undecoded (Namespace and the two Events). Facts from kubernetes/api
``core/v1/types.go``, ``networking/v1/types.go`` (and v1beta1),
``admissionregistration/v1/types.go``, ``events/v1/types.go`` and apimachinery
``pkg/apis/meta/v1/types.go``.
"""

from __future__ import annotations

from typing import Final

from servicecidr.api import decode as api_decode

__all__ = [
    "ATOMIC_MAPS",
    "ATOMIC_STRUCTS",
    "KEY_DEFAULTS",
    "LEAF_NAMES",
    "LIST_TYPES",
    "PACKAGES",
    "PATCH_TAGS",
    "RESET_FIELDS",
    "ROOTS",
    "STATUS_RESET_FIELDS",
    "STRUCTS",
    "type_kind",
    "type_name",
]

# Type names follow servicecidr.api.decode.STRUCTS: "string", "int32", "int64", "bool",
# "Time", "IntOrString", "raw", "map[string]string", "[]<type>" or a struct name.

_EXTRA_STRUCTS: Final[dict[str, dict[str, str]]] = {
    # k8s.io/api/core/v1 Namespace
    "Namespace": {
        "kind": "string",
        "apiVersion": "string",
        "metadata": "ObjectMeta",
        "spec": "NamespaceSpec",
        "status": "NamespaceStatus",
    },
    "NamespaceSpec": {"finalizers": "[]string"},
    "NamespaceStatus": {"phase": "string", "conditions": "[]NamespaceCondition"},
    "NamespaceCondition": {
        "type": "string",
        "status": "string",
        "lastTransitionTime": "Time",
        "reason": "string",
        "message": "string",
    },
    # k8s.io/api/core/v1 Event
    "core.Event": {
        "kind": "string",
        "apiVersion": "string",
        "metadata": "ObjectMeta",
        "involvedObject": "ObjectReference",
        "reason": "string",
        "message": "string",
        "source": "EventSource",
        "firstTimestamp": "Time",
        "lastTimestamp": "Time",
        "count": "int32",
        "type": "string",
        "eventTime": "Time",
        "series": "core.EventSeries",
        "action": "string",
        "related": "ObjectReference",
        "reportingComponent": "string",
        "reportingInstance": "string",
    },
    "core.EventSeries": {"count": "int32", "lastObservedTime": "Time"},
    "ObjectReference": {
        "kind": "string",
        "namespace": "string",
        "name": "string",
        "uid": "string",
        "apiVersion": "string",
        "resourceVersion": "string",
        "fieldPath": "string",
    },
    "EventSource": {"component": "string", "host": "string"},
    # k8s.io/api/events/v1 Event
    "events.Event": {
        "kind": "string",
        "apiVersion": "string",
        "metadata": "ObjectMeta",
        "eventTime": "Time",
        "series": "events.EventSeries",
        "reportingController": "string",
        "reportingInstance": "string",
        "action": "string",
        "reason": "string",
        "regarding": "ObjectReference",
        "related": "ObjectReference",
        "note": "string",
        "type": "string",
        "deprecatedSource": "EventSource",
        "deprecatedFirstTimestamp": "Time",
        "deprecatedLastTimestamp": "Time",
        "deprecatedCount": "int32",
    },
    "events.EventSeries": {"count": "int32", "lastObservedTime": "Time"},
}

STRUCTS: Final[dict[str, dict[str, str]]] = {
    **{name: fields for name, (_, fields) in api_decode.STRUCTS.items()},
    **_EXTRA_STRUCTS,
}

#: struct -> its Go package: "meta" (apimachinery meta/v1), "core" (core/v1), "net"
#: (networking.k8s.io, v1 or v1beta1 by request), "admissionregistration" (v1), "events"
#: (events.k8s.io/v1).
PACKAGES: Final[dict[str, str]] = {
    **{name: pkg for name, (pkg, _) in api_decode.STRUCTS.items()},
    **{name: "core" for name in _EXTRA_STRUCTS if not name.startswith("events.")},
    **{name: "events" for name in _EXTRA_STRUCTS if name.startswith("events.")},
}

ROOTS: Final[dict[tuple[str, str], str]] = {
    **api_decode.ROOTS,
    ("v1", "Namespace"): "Namespace",
    ("v1", "Event"): "core.Event",
    ("events.k8s.io/v1", "Event"): "events.Event",
}

#: (struct, json field) -> (patchStrategy values, patchMergeKey), from the Go struct tags
#: of k8s.io/api core/v1, networking/v1 and v1beta1, admissionregistration/v1 and
#: apimachinery meta/v1.
PATCH_TAGS: Final[dict[tuple[str, str], tuple[tuple[str, ...], str]]] = {
    ("ObjectMeta", "finalizers"): (("merge",), ""),
    ("ObjectMeta", "ownerReferences"): (("merge",), "uid"),
    ("ServiceSpec", "ports"): (("merge",), "port"),
    ("ServiceStatus", "conditions"): (("merge",), "type"),
    ("ServiceCIDRStatus", "conditions"): (("merge",), "type"),
    ("NamespaceStatus", "conditions"): (("merge",), "type"),
    ("ValidatingAdmissionPolicySpec", "matchConditions"): (("merge",), "name"),
    ("ValidatingAdmissionPolicySpec", "variables"): (("merge",), "name"),
}

# The Go kinds of the leaf type names (metav1.Time, IntOrString and FieldsV1 are structs).
_LEAF_KINDS: Final = {
    "string": "string",
    "int32": "int32",
    "int64": "int64",
    "bool": "bool",
    "Time": "struct",
    "IntOrString": "struct",
    "raw": "struct",
    "map[string]string": "map",
}
LEAF_NAMES: Final = {"Time": "Time", "IntOrString": "IntOrString", "raw": "FieldsV1"}


def type_kind(t: str) -> str:
    if t.startswith("[]"):
        return "slice"
    return _LEAF_KINDS.get(t, "struct")


def type_name(t: str) -> str:
    """``reflect.Type.Name()``: the struct's Go name."""
    return LEAF_NAMES.get(t, t.rpartition(".")[2])


#: (struct, list field) -> SMD list type: ("map", keys) for ``+listType=map`` with its
#: ``+listMapKey`` fields, ("set", ()) for ``+listType=set``. Every other list is atomic
#: (kube-openapi's schema conversion makes a list without ``+listType`` atomic).
LIST_TYPES: Final[dict[tuple[str, str], tuple[str, tuple[str, ...]]]] = {
    ("ObjectMeta", "ownerReferences"): ("map", ("uid",)),
    ("ObjectMeta", "finalizers"): ("set", ()),
    ("ServiceSpec", "ports"): ("map", ("port", "protocol")),
    ("ServiceStatus", "conditions"): ("map", ("type",)),
    ("ServiceCIDRStatus", "conditions"): ("map", ("type",)),
    ("NamespaceStatus", "conditions"): ("map", ("type",)),
    ("ValidatingAdmissionPolicySpec", "matchConditions"): ("map", ("name",)),
    ("ValidatingAdmissionPolicySpec", "variables"): ("map", ("name",)),
    ("ValidatingAdmissionPolicyStatus", "conditions"): ("map", ("type",)),
    ("ValidatingAdmissionPolicyBindingSpec", "validationActions"): ("set", ()),
}

#: (struct, map field) with ``+mapType=atomic``; other maps are granular.
ATOMIC_MAPS: Final[frozenset[tuple[str, str]]] = frozenset({("ServiceSpec", "selector")})

#: Structs marked ``+structType=atomic``: owned and replaced whole.
ATOMIC_STRUCTS: Final[frozenset[str]] = frozenset(
    {
        "OwnerReference",
        "LabelSelector",
        "ObjectReference",
        "ParamKind",
        "ParamRef",
        "MatchResources",
        "NamedRuleWithOperations",
        "Variable",
    }
)

#: (struct, field) -> the ``+default`` of a list-map key field (``listItemToPathElement``
#: uses it when an item omits the key).
KEY_DEFAULTS: Final[dict[tuple[str, str], object]] = {("ServicePort", "protocol"): "TCP"}

#: Kinds whose main resource resets ``status`` (``GetResetFields`` of their strategies):
#: a write there neither changes nor owns status fields. Their ``/status`` subresource
#: resets ``spec`` (:data:`STATUS_RESET_FIELDS`).
RESET_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "Service": ("status",),
    "ServiceCIDR": ("status",),
    "ValidatingAdmissionPolicy": ("status",),
    "Namespace": ("status",),
}
STATUS_RESET_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "Service": ("spec",),
    "ServiceCIDR": ("spec",),
    "ValidatingAdmissionPolicy": ("spec",),
    "Namespace": ("spec",),
}
