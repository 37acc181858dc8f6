"""metav1.Condition helpers, and what the allocators read of a stored ServiceCIDR."""

from __future__ import annotations

from typing import Any

__all__ = ["get_condition", "ready_state", "service_cidr_cidrs", "with_condition"]


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


def service_cidr_cidrs(name: str, obj: dict[str, Any]) -> list[str]:
    """The CIDRs a stored ServiceCIDR names (the strings of ``spec.cidrs``).

    Raises:
        ValueError: ``spec.cidrs`` is not a list. Validation never stores one; a log or a
            snapshot written by another tool, or damaged in a way its CRC cannot see,
            may hold it, and its reader reports it as damage.
    """
    spec = obj.get("spec")
    cidrs = spec.get("cidrs") if isinstance(spec, dict) else None
    if cidrs is not None and not isinstance(cidrs, list):
        raise ValueError(f"ServiceCIDR {name}: spec.cidrs is not a list: {cidrs!r}")
    return [c for c in cidrs or () if isinstance(c, str)]


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
