"""Event recording (events.k8s.io/v1), as client-go's event recorder does for controllers.

Repeats of the same event (same regarding object, type, reason and note) become a series
on the first one, which is how the recorder's aggregation keeps a hot loop from flooding
storage.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from servicecidr.clock import format_micro_time
from servicecidr.journal.records import decode_object
from servicecidr.registry.txn import Txn
from servicecidr.store import object_key

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster

__all__ = ["record_event", "warn_once"]


def record_event(
    c: Cluster,
    controller: str,
    regarding: dict[str, Any],
    type_: str,
    reason: str,
    action: str,
    note: str,
) -> None:
    """Record (or add to the series of) one event about ``regarding``."""
    meta = regarding.get("metadata", {})
    ns = meta.get("namespace") or "default"
    ident = "|".join((regarding.get("kind", ""), ns, meta.get("name", ""), type_, reason, note))
    suffix = hashlib.blake2b(ident.encode(), digest_size=8).hexdigest()
    name = f"{meta.get('name', '')}.{suffix}"
    key = object_key(True, ns, name)
    now = format_micro_time(c._clock.now())
    txn = Txn(c._store.revision)
    blob = c._store.get("Event", key)
    if blob is not None:
        ev = decode_object(blob)
        series = ev.setdefault("series", {"count": 1})
        series["count"] = int(series.get("count", 1)) + 1
        series["lastObservedTime"] = now
    else:
        ref: dict[str, Any] = {
            "kind": regarding.get("kind", ""),
            "apiVersion": regarding.get("apiVersion", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if meta.get("namespace"):
            ref["namespace"] = meta["namespace"]
        ev = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": c._new_uid(),
                "creationTimestamp": c._now_str(),
            },
            "eventTime": now,
            "reportingController": controller,
            "reportingInstance": f"{controller}-servicecidr",
            "action": action,
            "reason": reason,
            "regarding": ref,
            "note": note,
            "type": type_,
        }
    txn.put("Event", key, ev)
    c._commit("create" if blob is None else "update", controller, "Event", ns, name, txn, None)


def warn_once(
    c: Cluster, controller: str, obj: dict[str, Any], reason: str, note: str, action: str = ""
) -> bool:
    """Record a Warning about ``obj`` once per (reason, note, object uid).

    Controllers re-emit such warnings on every resync and the recorder folds them into a
    series; recording only the first keeps reconcile-until-quiet terminating. Returns
    whether it recorded one.
    """
    key = (reason, note, (obj.get("metadata") or {}).get("uid"))
    if key in c._reported:
        return False
    c._reported.add(key)
    record_event(c, controller, obj, "Warning", reason, action or reason, note)
    return True
