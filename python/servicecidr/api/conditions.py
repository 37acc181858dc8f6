"""metav1.Condition helpers."""

from __future__ import annotations

from typing import Any

__all__ = ["get_condition", "ready_state", "with_condition"]


def get_condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    """The condition of a type, if present."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def ready_state(obj: dict[str, Any]) -> bool:
    """A ServiceCIDR the allocators may use: not being deleted, and Ready=True or no Ready
    condition at all (usable before kcm has reconciled it)."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return False
    cond = get_condition(obj, "Ready")
    return cond is None or cond.get("status") == "True"


def with_condition(obj: dict[str, Any], cond: dict[str, Any]) -> bool:
    """Set a condition (replacing the one of its type); False when nothing would change.

    lastTransitionTime moves only when the status changes, as meta.SetStatusCondition does.
    """
    status = obj.setdefault("status", {})
    conds: list[dict[str, Any]] = status.setdefault("conditions", [])
    for i, old in enumerate(conds):
        if old.get("type") == cond["type"]:
            if all(old.get(k) == cond.get(k) for k in ("status", "reason", "message")):
                return False
            if old.get("status") == cond.get("status") and old.get("lastTransitionTime"):
                cond = {**cond, "lastTransitionTime": old["lastTransitionTime"]}
            conds[i] = cond
            return True
    conds.append(cond)
    return True
