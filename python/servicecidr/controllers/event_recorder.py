"""Event recording (events.k8s.io/v1), as client-go's event recorder does for controllers.

Events are API objects written through the engine like any other. Repeats of the same
event (same regarding object, type, reason and note) become a series on the first one,
which is how the recorder's aggregation keeps a hot loop from flooding storage.
"""

from __future__ import annotations

import hashlib
from typing import Any

from servicecidr.apiserver import Engine
from servicecidr.clock import format_micro_time
from servicecidr.errors import ApiError
from servicecidr.store import decode_object, object_key

__all__ = ["EventRecorder"]


class EventRecorder:
    """Writes Events about objects on behalf of the controllers."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # (reason, note, uid) of the warnings recorded once (see warn_once)
        self._reported: set[tuple[Any, ...]] = set()

    def record(
        self,
        controller: str,
        regarding: dict[str, Any],
        type_: str,
        reason: str,
        action: str,
        note: str,
    ) -> None:
        """Record (or add to the series of) one event about ``regarding``."""
        engine = self._engine
        meta = regarding.get("metadata", {})
        ns = meta.get("namespace") or "default"
        ident = "|".join((regarding.get("kind", ""), ns, meta.get("name", ""), type_, reason, note))
        suffix = hashlib.blake2b(ident.encode(), digest_size=8).hexdigest()
        name = f"{meta.get('name', '')}.{suffix}"
        now = format_micro_time(engine.clock.now())
        blob = engine.store.get("Event", object_key(True, ns, name))
        try:
            if blob is not None:
                ev = decode_object(blob)
                series = ev.setdefault("series", {"count": 1})
                series["count"] = int(series.get("count", 1)) + 1
                series["lastObservedTime"] = now
                engine.update(ev, actor=controller)
                return
            ref: dict[str, Any] = {
                "kind": regarding.get("kind", ""),
                "apiVersion": regarding.get("apiVersion", ""),
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            }
            if meta.get("namespace"):
                ref["namespace"] = meta["namespace"]
            engine.create(
                {
                    "apiVersion": "events.k8s.io/v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": ns},
                    "eventTime": now,
                    "reportingController": controller,
                    "reportingInstance": f"{controller}-servicecidr",
                    "action": action,
                    "reason": reason,
                    "regarding": ref,
                    "note": note,
                    "type": type_,
                },
                actor=controller,
            )
        except ApiError:
            # client-go's recorder drops an event the server refuses; so does this one.
            return

    def warn_once(
        self,
        controller: str,
        obj: dict[str, Any],
        reason: str,
        note: str,
        action: str = "",
    ) -> bool:
        """Record a Warning about ``obj`` once per (reason, note, object uid).

        Controllers re-emit such warnings on every resync and the recorder folds them into
        a series; recording only the first keeps reconcile-until-quiet terminating.
        Returns whether it recorded one.
        """
        key = (reason, note, (obj.get("metadata") or {}).get("uid"))
        if key in self._reported:
            return False
        self._reported.add(key)
        self.record(controller, obj, "Warning", reason, action or reason, note)
        return True
