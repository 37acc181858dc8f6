"""Memoised validation for the hot path of large simulations.

Simulations create millions of Services that differ only in name and ClusterIPs. Full
validation is a pure function of the object, so the result for the *shape* of a Service
(everything but its name, its system metadata and its addresses) is remembered once the
full validator has accepted it; a later Service of the same shape then only needs the
checks that depend on what differs: the name (a DNS-1035 label) and each address (valid,
canonical, of the family at its index, not special). Whenever a fast check fails — or a
shape was never accepted — the full validator runs, so error messages are always its own.
"""

from __future__ import annotations

from typing import Any

import msgpack

from servicecidr._core import parse_ip
from servicecidr.api import validation
from servicecidr.api.field_errors import FieldError
from servicecidr.errors import InvalidInputError

__all__ = ["ValidationMemo"]

_VOLATILE_META = ("name", "uid", "creationTimestamp", "resourceVersion")
_VOLATILE_SPEC = ("clusterIP", "clusterIPs")


def _shape_key(svc: dict[str, Any]) -> bytes:
    meta: dict[str, Any] = svc.get("metadata") or {}
    spec: dict[str, Any] = svc.get("spec") or {}
    saved_meta = {k: meta.pop(k) for k in _VOLATILE_META if k in meta}
    saved_spec = {k: spec.pop(k) for k in _VOLATILE_SPEC if k in spec}
    try:
        cips = saved_spec.get("clusterIPs") or []
        shape = (
            ["None" if ip == "None" else "ip" for ip in cips],
            saved_spec.get("clusterIP") == (cips[0] if cips else None),
        )
        return msgpack.packb((svc, shape), use_bin_type=True)  # type: ignore[no-any-return]
    finally:
        meta.update(saved_meta)
        spec.update(saved_spec)


def _addresses_ok(spec: dict[str, Any]) -> bool:
    families = spec.get("ipFamilies") or []
    for i, ip in enumerate(spec.get("clusterIPs") or []):
        if ip == "None":
            continue
        try:
            canonical, family = parse_ip(ip)
        except InvalidInputError:
            return False
        if canonical != ip or i >= len(families) or families[i] != family:
            return False
        if _maybe_special(canonical, family):
            return False
    return True


def _maybe_special(ip: str, family: str) -> bool:
    """True for addresses ValidateNonSpecialIP may refuse (unspecified, loopback,
    link-local, link-local multicast), judged on canonical text; the full validator then
    decides and words the error."""
    if family == "IPv4":
        return ip == "0.0.0.0" or ip.startswith(("127.", "169.254.", "224.0.0."))
    head = ip.split(":", 1)[0]
    return (
        ip in ("::", "::1")
        or (len(head) == 4 and head[:3] in ("fe8", "fe9", "fea", "feb"))
        or (len(head) == 4 and head[:2] == "ff" and head[3] == "2")
    )


class ValidationMemo:
    """Per-cluster memo of accepted Service shapes (bounded; cleared when full)."""

    def __init__(self, max_shapes: int = 4096) -> None:
        self._ok: set[bytes] = set()
        self._related: dict[bytes, list[FieldError]] = {}
        self._max = max_shapes

    def validate_service(self, svc: dict[str, Any]) -> list[FieldError]:
        """``validation.validate_service(svc)`` for a create, memoised by shape."""
        key = _shape_key(svc)
        meta = svc.get("metadata") or {}
        if (
            key in self._ok
            and not validation.name_is_dns1035_label(str(meta.get("name", "")), False)
            and _addresses_ok(svc.get("spec") or {})
        ):
            return []
        errs = validation.validate_service(svc)
        if not errs:
            if len(self._ok) >= self._max:
                self._ok.clear()
            self._ok.add(key)
        return errs

    def cluster_ips_related_fields(self, svc: dict[str, Any]) -> list[FieldError]:
        """``validate_service_cluster_ips_related_fields`` on a create that names no
        address (the common case), memoised by spec; otherwise computed directly."""
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") or spec.get("clusterIPs"):
            return validation.validate_service_cluster_ips_related_fields(svc)
        key: bytes = msgpack.packb(spec, use_bin_type=True)
        errs = self._related.get(key)
        if errs is None:
            errs = validation.validate_service_cluster_ips_related_fields(svc)
            if len(self._related) >= self._max:
                self._related.clear()
            self._related[key] = errs
        return list(errs)
