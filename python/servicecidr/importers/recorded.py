"""What the observed importer reads off a recorded object: its resourceVersion as an etcd
revision, its ClusterIPs, the Service an IPAddress points at, and the clock a Cluster reads
while the records are applied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecidr._core import parse_ip
from servicecidr.api.storable import INT64_MAX
from servicecidr.errors import ServiceCIDRError
from servicecidr.importers.inputs import Record
from servicecidr.registry.service import canonical_ip

if TYPE_CHECKING:
    from servicecidr.cluster import Cluster

__all__ = [
    "ImportClock",
    "Unusable",
    "cluster_ips_of",
    "entry_extra",
    "history_end",
    "is_ip",
    "parent_of",
    "revision_of",
    "rv_value",
]


def entry_extra(rec: Record) -> dict[str, Any]:
    """What an imported entry keeps of its record."""
    extra: dict[str, Any] = {"import": rec.verb, "at": f"{rec.source}:{rec.line}"}
    if rec.audit_id:
        extra["auditID"] = rec.audit_id
    return extra


class ImportClock:
    """The clock a Cluster reads while records are applied: the record's time."""

    simulated = True

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        """The time of the record being applied."""
        return self.t

    def advance(self, seconds: float) -> None:
        """Time moves with the records only."""
        self.t += max(0.0, seconds)


def cluster_ips_of(obj: dict[str, Any] | None) -> list[str]:
    """The canonical ClusterIPs a recorded Service holds (none for ExternalName)."""
    if not obj:
        return []
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("type") == "ExternalName":
        return []
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    if not isinstance(ips, list):  # an unchecked body (a Metadata-level join reads one)
        return []
    out = []
    for ip in ips:
        if isinstance(ip, str) and ip and ip != "None":
            out.append(canonical_ip(ip))
    return out


def is_ip(text: str) -> bool:
    """Whether ``text`` is an IP address (a recorded ClusterIP may be anything)."""
    try:
        parse_ip(text)
    except ServiceCIDRError:
        return False
    return True


def parent_of(ipa: dict[str, Any]) -> str | None:
    """The Service key an IPAddress points to, if it points to a Service."""
    ref = (ipa.get("spec") or {}).get("parentRef") or {}
    if not isinstance(ref, dict) or ref.get("resource") != "services" or ref.get("group", ""):
        return None
    return f"{ref.get('namespace') or 'default'}/{ref.get('name', '')}"


def history_end(c: Cluster) -> float:
    """The time of the last entry the Cluster has recorded (-inf for none)."""
    return c.engine.recorder.max_ts if c.seq else float("-inf")


class Unusable(Exception):
    """A record whose object cannot be stored: reported as ``invalid-object``."""


def revision_of(meta: dict[str, Any]) -> int | None:
    """The resourceVersion as an etcd revision; None when there is none. A number etcd
    cannot hold (negative, beyond int64) makes the record unusable."""
    rv = rv_value(meta)
    if rv is not None and not 0 <= rv <= INT64_MAX:
        raise Unusable(
            f"metadata.resourceVersion {str(meta.get('resourceVersion'))[:40]!r} is not an "
            "etcd revision (0 through 2^63-1)"
        )
    return rv


def rv_value(meta: dict[str, Any]) -> int | None:
    """metadata.resourceVersion as a number, whatever its size (None: none, or not one)."""
    rv = meta.get("resourceVersion")
    if isinstance(rv, int) and not isinstance(rv, bool):
        return rv
    if isinstance(rv, str) and rv.isdigit():
        return int(rv)
    return None
