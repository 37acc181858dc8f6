"""Objects as a served version shows them.

The engine keeps each object in its kind's preferred version. Serving it under another
path is a conversion:

* ``networking.k8s.io/v1beta1`` ServiceCIDRs and IPAddresses have the v1 schema: only
  ``apiVersion`` changes;
* core ``v1`` Events are the engine's ``events.k8s.io/v1`` Events converted as kube-apiserver
  converts them (kubernetes ``pkg/apis/events/v1/conversion.go``
  ``Convert_v1_Event_To_core_Event``: ``regarding`` is ``involvedObject``, ``note`` is
  ``message``, ``reportingController`` is ``reportingComponent``, the ``deprecated*``
  fields lose their prefix), with the fields core/v1 always writes (``involvedObject``,
  the three timestamps, ``reportingComponent``, ``reportingInstance``) present.

A list's items carry no ``apiVersion``/``kind`` (kube-apiserver encodes typed list items
without their TypeMeta); single objects and watch events carry both.
"""

from __future__ import annotations

from typing import Any

from servicecidr.serve.discovery import ServedResource

__all__ = ["list_body", "to_served", "without_type_meta"]

Obj = dict[str, Any]

_CORE_EVENT_RENAMES = (
    ("regarding", "involvedObject"),
    ("reason", "reason"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("type", "type"),
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("action", "action"),
    ("related", "related"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
)
# Fields of core/v1 Event without omitempty: always written.
_CORE_EVENT_ALWAYS: dict[str, Any] = {
    "involvedObject": {},
    "source": {},
    "firstTimestamp": None,
    "lastTimestamp": None,
    "eventTime": None,
    "reportingComponent": "",
    "reportingInstance": "",
}


def _core_event(obj: Obj) -> Obj:
    out: Obj = {"kind": "Event", "apiVersion": "v1", "metadata": obj.get("metadata") or {}}
    for src, dst in _CORE_EVENT_RENAMES:
        if src in obj:
            value = obj[src]
            if src == "series" and isinstance(value, dict):
                value = {k: value[k] for k in ("count", "lastObservedTime") if k in value}
            out[dst] = value
    for key, zero in _CORE_EVENT_ALWAYS.items():
        out.setdefault(key, zero)
    return out


def to_served(obj: Obj, served: ServedResource) -> Obj:
    """The stored object ``obj`` as the group version of ``served`` shows it (a new
    top-level mapping sharing the values of ``obj``)."""
    if served.kind == "Event" and served.group == "":
        return _core_event(obj)
    # kube-apiserver writes TypeMeta first, then metadata, spec, status
    out: Obj = {"kind": obj.get("kind", served.kind), "apiVersion": served.group_version}
    for k, v in obj.items():
        if k not in out:
            out[k] = v
    return out


def without_type_meta(obj: Obj) -> Obj:
    """A list item: the object without ``apiVersion`` and ``kind``."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def list_body(
    served: ServedResource,
    items: list[Obj],
    *,
    resource_version: str,
    continue_token: str = "",
    remaining_item_count: int | None = None,
) -> Obj:
    """A ``<Kind>List`` of served objects."""
    meta: Obj = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    if remaining_item_count is not None:
        meta["remainingItemCount"] = remaining_item_count
    return {
        "kind": f"{served.kind}List",
        "apiVersion": served.group_version,
        "metadata": meta,
        "items": [without_type_meta(o) for o in items],
    }
