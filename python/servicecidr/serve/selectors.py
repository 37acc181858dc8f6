"""The ``labelSelector`` and ``fieldSelector`` of a list or watch, as kube-apiserver applies
them to each served resource.

Parsing is :mod:`servicecidr.api.selectors` (shared with the command line). What this
module adds is per kind: which fields a selector may name (the field label conversion
functions: kubernetes ``pkg/apis/core/v1/conversion.go`` for Services, Namespaces and
core Events, ``pkg/apis/events/v1`` for events.k8s.io Events,
``runtime.DefaultMetaV1FieldSelectorConversion`` for the rest) and the values an object
offers for them (the strategies' ``GetAttrs``/``SelectableFields``). An unsupported field
is a BadRequest worded as kube-apiserver words it (``field label not supported:
spec.foo``; ``"spec.foo" is not a known field selector: only "metadata.name",
"metadata.namespace"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.api.selectors import (
    FieldSelector,
    Selector,
    parse_field_selector,
    parse_label_selector,
)
from servicecidr.errors import BadRequestError

__all__ = ["ListFilter", "list_filter", "selectable_fields"]

Obj = dict[str, Any]

_META: Final = ("metadata.name", "metadata.namespace")

_CORE_EVENT_FIELDS: Final = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
)

# events.k8s.io/v1: its field names map onto the core Event's selectable fields.
_EVENTS_V1_MAPPING: Final = {
    "reason": "reason",
    "regarding.kind": "involvedObject.kind",
    "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name",
    "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "regarding.fieldPath": "involvedObject.fieldPath",
    "reportingController": "reportingComponent",
    "type": "type",
    "metadata.namespace": "metadata.namespace",
    "metadata.name": "metadata.name",
}


def _not_supported(label: str) -> BadRequestError:
    return BadRequestError(f"field label not supported: {label}")


def _allow(*labels: str) -> Callable[[str, str], tuple[str, str]]:
    def convert(label: str, value: str) -> tuple[str, str]:
        if label not in labels:
            raise _not_supported(label)
        return label, value

    return convert


def _default(label: str, value: str) -> tuple[str, str]:
    if label not in _META:
        raise BadRequestError(
            f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )
    return label, value


def _events_v1(label: str, value: str) -> tuple[str, str]:
    mapped = _EVENTS_V1_MAPPING.get(label)
    if mapped is None:
        raise _not_supported(label)
    return mapped, value


def _converter(group: str, kind: str) -> Callable[[str, str], tuple[str, str]]:
    if group == "":
        if kind == "Service":
            return _allow(*_META, "spec.clusterIP", "spec.type")
        if kind == "Namespace":
            return _allow("status.phase", "metadata.name")
        if kind == "Event":
            return _allow(*_CORE_EVENT_FIELDS)
    if group == "events.k8s.io" and kind == "Event":
        return _events_v1
    return _default


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _meta_fields(obj: Obj, namespaced: bool) -> dict[str, str]:
    """``generic.ObjectMetaFieldsSet``."""
    meta = obj.get("metadata") or {}
    out = {"metadata.name": _s(meta.get("name"))}
    if namespaced:
        out["metadata.namespace"] = _s(meta.get("namespace"))
    return out


def selectable_fields(kind: str, obj: Obj, *, namespaced: bool) -> dict[str, str]:
    """The field set an object offers to field selectors (core field names for Events,
    whichever API version holds them)."""
    fields = _meta_fields(obj, namespaced)
    if kind == "Service":
        spec = obj.get("spec") or {}
        fields["spec.clusterIP"] = _s(spec.get("clusterIP"))
        fields["spec.type"] = _s(spec.get("type"))
    elif kind == "Namespace":
        fields["status.phase"] = _s((obj.get("status") or {}).get("phase"))
    elif kind == "Event":
        core = "involvedObject" in obj
        ref = obj.get("involvedObject" if core else "regarding") or {}
        for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion"):
            fields[f"involvedObject.{key}"] = _s(ref.get(key))
        fields["involvedObject.fieldPath"] = _s(ref.get("fieldPath"))
        fields["reason"] = _s(obj.get("reason"))
        fields["type"] = _s(obj.get("type"))
        fields["reportingComponent"] = _s(
            obj.get("reportingComponent" if core else "reportingController")
        )
        source = obj.get("source" if core else "deprecatedSource") or {}
        fields["source"] = _s(source.get("component"))
    return fields


@dataclass(frozen=True)
class ListFilter:
    """The selectors of one list or watch request, ready to test objects."""

    kind: str
    namespaced: bool
    labels: Selector
    fields: FieldSelector

    @property
    def empty(self) -> bool:
        return self.labels.empty and self.fields.empty

    def matches(self, obj: Obj) -> bool:
        """Whether an object passes both selectors."""
        meta = obj.get("metadata") or {}
        labels = meta.get("labels")
        if not self.labels.matches(labels if isinstance(labels, dict) else None):
            return False
        if self.fields.empty:
            return True
        return self.fields.matches(selectable_fields(self.kind, obj, namespaced=self.namespaced))


def list_filter(
    group: str,
    kind: str,
    *,
    namespaced: bool,
    label_selector: str | None = None,
    field_selector: str | None = None,
) -> ListFilter:
    """Parse a request's selectors for a resource of ``group``/``kind``.

    Raises:
        BadRequestError: a selector that does not parse, or a field the kind cannot be
            selected on.
    """
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector).transform(_converter(group, kind))
    return ListFilter(kind, namespaced, labels, fields)
