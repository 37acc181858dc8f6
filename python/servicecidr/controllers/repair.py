"""kube-apiserver's IPAddress repair loop
(pkg/registry/core/service/ipallocator/controller/repairip.go).

Every Service ClusterIP must have its IPAddress (recreated when missing, mislabelled or
pointing elsewhere), and every allocator-managed IPAddress must belong to a Service that
lists it (leaked ones are deleted once 60 s old).

As in repairip.go, the Service and IPAddress informers resync every repair interval
(kube-apiserver's ``Services.IPRepairInterval``, 3 minutes), which puts every object back
in the queues: a state the change-driven passes cannot see (a Service whose IPAddress
went away while it pointed at another Service) is repaired within an interval. A repair
the API refuses is retried, as its work queue requeues the key, up to ``maxRetries`` (15)
times.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from servicecidr._core import repair_quiet_run
from servicecidr.apiserver import Engine
from servicecidr.clock import parse_time
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.controllers.netutil import cidr_contains_ip, range_parts
from servicecidr.errors import ApiError, ExpiredError, NotFoundError
from servicecidr.registry.service import canonical_ip, ip_address_object
from servicecidr.store import Store, decode_object, object_key

__all__ = ["CONTROLLER_NAME", "RepairController"]

CONTROLLER_NAME = "ipallocator-repair-controller"
LEAK_GRACE = 60.0
#: Services.IPRepairInterval: the informers' resync period.
RESYNC_INTERVAL = 180.0
#: repairip.go's maxRetries for a key whose sync failed.
MAX_RETRIES = 15
FAMILY_LABEL = "ipaddress.kubernetes.io/ip-family"
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"
MANAGED_BY = "ipallocator.k8s.io"


def _family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def _labels_ok(ipa: dict[str, Any]) -> bool:
    labels = ipa["metadata"].get("labels") or {}
    return (
        labels.get(FAMILY_LABEL) == _family(ipa["metadata"]["name"])
        and labels.get(MANAGED_BY_LABEL) == MANAGED_BY
    )


class RepairController:
    """The repair loop. It follows the store's change feed as its informers would: a
    full pass at start, when a ServiceCIDR range went away (or the feed no longer reaches
    back to its last pass), otherwise only the Services and IPAddresses that changed
    since, and the leak timers that came due.

    A range added changes one thing only: an address outside every range before may be
    inside one now (the only check that reads the ranges, ClusterIPOutOfRange, skips the
    other checks of such an address). So when ranges were only added, the pass looks again
    at the Services it last found with an address out of range, beside what changed,
    which is what a full pass would find to do (a simulation's operator adds ranges
    often; a full pass each time cost a quarter of its run)."""

    #: Whether a pass skips, without decoding them, the objects its checks would certainly
    #: leave alone (``_core.repair_quiet_run``); off, every object is checked in Python
    #: (the differential tests compare the two).
    quiet_check = True

    def __init__(self, engine: Engine, events: EventRecorder) -> None:
        self._engine = engine
        self._events = events
        self._cursor: int | None = None  # the revision the last pass started at
        self._cidrs: list[str] | None = None  # the ServiceCIDR ranges it last saw
        self._due: dict[str, float] = {}  # leak timers: IPAddress -> time
        self._last_full: float | None = None  # when the last full pass (or resync) ran
        # Keys whose repair the API refused -> times requeued (the work queue's retries).
        self._retry_svcs: dict[str, int] = {}
        self._retry_ips: dict[str, int] = {}
        self._refused = False  # a write of the key being synced was refused
        # Services with an address outside every range when last synced.
        self._out_of_range: set[str] = set()

    # ------------------------------------------------------------------ writes

    def _service(self, ns: str, name: str) -> dict[str, Any] | None:
        blob = self._engine.store.get("Service", object_key(True, ns, name))
        return decode_object(blob) if blob is not None else None

    def _create_ip(self, ip: str, svc: dict[str, Any]) -> None:
        meta = svc["metadata"]
        obj = ip_address_object(self._engine, ip, meta["namespace"], meta["name"])
        try:
            self._engine.create(obj, actor=CONTROLLER_NAME)
        except ApiError:
            self._refused = True  # retried on a later pass, as the work queue would

    def _delete_ip(self, ip: str) -> None:
        try:
            self._engine.delete("IPAddress", ip, actor=CONTROLLER_NAME)
        except NotFoundError:
            pass  # gone already: what the delete wanted
        except ApiError:
            self._refused = True

    def _recreate(self, ip: str, svc: dict[str, Any]) -> None:
        if self._engine.store.contains("IPAddress", ip):
            self._delete_ip(ip)
        self._create_ip(ip, svc)

    def _record(self, obj: dict[str, Any], reason: str, action: str, note: str) -> None:
        self._events.record(CONTROLLER_NAME, obj, "Warning", reason, action, note)

    def _warn(self, obj: dict[str, Any], reason: str, action: str, note: str) -> bool:
        # Reports that change nothing are recorded once per object and message.
        return self._events.warn_once(CONTROLLER_NAME, obj, reason, note, action)

    # ------------------------------------------------------------------ checks

    def _sync_service(self, svc: dict[str, Any], all_cidrs: list[str]) -> bool:
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") in (None, "", "None"):
            return False
        changed = False
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        store = self._engine.store
        for raw in spec.get("clusterIPs") or []:
            ip = canonical_ip(raw)
            fam = _family(ip)
            if not any(cidr_contains_ip(cidr, ip) for cidr in all_cidrs):
                self._out_of_range.add(f"{ns}/{name}")
                changed |= self._warn(
                    svc,
                    "ClusterIPOutOfRange",
                    "ClusterIPAllocation",
                    f"Cluster IP [{fam}]: {ip} is not within any configured Service "
                    "CIDR; please recreate service",
                )
                continue
            blob = store.get("IPAddress", ip)
            if blob is None:
                self._record(
                    svc,
                    "ClusterIPNotAllocated",
                    "ClusterIPAllocation",
                    f"Cluster IP [{fam}]: {ip} is not allocated; repairing",
                )
                self._create_ip(ip, svc)
                changed = True
                continue
            ipa = decode_object(blob)
            ref = _parent_ref(ipa)
            if ref.get("group", "") != "" or ref.get("resource") != "services":
                self._record(
                    svc,
                    "ClusterIPNotAllocated",
                    "ClusterIPAllocation",
                    f"the ClusterIP [{fam}]: {ip} for Service "
                    f"{ns}/{name} has a wrong reference; repairing",
                )
                self._recreate(ip, svc)
                changed = True
                continue
            if ref.get("namespace") != ns or ref.get("name") != name:
                other = self._service(str(ref.get("namespace", "")), str(ref.get("name", "")))
                if other is None:
                    self._record(
                        svc,
                        "ClusterIPNotAllocated",
                        "ClusterIPAllocation",
                        f"the ClusterIP [{fam}]: {ip} for Service "
                        f"{ns}/{name} has a wrong reference; repairing",
                    )
                    self._recreate(ip, svc)
                    changed = True
                    continue
                other_ips = (other.get("spec") or {}).get("clusterIPs") or []
                if ip in [canonical_ip(x) for x in other_ips]:
                    changed |= self._warn(
                        svc,
                        "ClusterIPAlreadyAllocated",
                        "ClusterIPAllocation",
                        f"Cluster IP [{fam}]:{ip} was assigned to multiple services; "
                        "please recreate service",
                    )
            if not _labels_ok(ipa):
                self._recreate(ip, svc)
                changed = True
        return changed

    def _sync_ip_address(self, ipa: dict[str, Any]) -> tuple[bool, float | None]:
        labels = ipa["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
            return False, None
        ip = ipa["metadata"]["name"]
        ref = _parent_ref(ipa)
        if ref.get("group", "") != "" or ref.get("resource") != "services":
            ref_text = (
                f"&ParentReference{{Group:{ref.get('group', '')},"
                f"Resource:{ref.get('resource', '')},"
                f"Namespace:{ref.get('namespace', '')},Name:{ref.get('name', '')},}}"
            )
            self._record(
                ipa,
                "IPAddressNotAllocated",
                "IPAddressAllocation",
                f"IPAddress {ip} appears to have been modified, "
                f"not referencing a Service {ref_text}: cleaning up",
            )
            self._delete_ip(ip)
            return True, None
        svc = self._service(str(ref.get("namespace", "")), str(ref.get("name", "")))
        if svc is None:
            created = _created(ipa)
            if self._engine.clock.now() - created > LEAK_GRACE:
                self._record(
                    ipa,
                    "IPAddressNotAllocated",
                    "IPAddressAllocation",
                    f"IPAddress: {ip} for Service "
                    f"{ref.get('namespace', '')}/{ref.get('name', '')} appears to have "
                    "leaked: cleaning up",
                )
                self._delete_ip(ip)
                return True, None
            return False, created + LEAK_GRACE + 0.001
        cips = [canonical_ip(x) for x in (svc.get("spec") or {}).get("clusterIPs") or []]
        if ip in cips:
            return False, None
        self._record(
            ipa,
            "IPAddressWrongReference",
            "IPAddressAllocation",
            f"IPAddress: {ip} for Service "
            f"{svc['metadata']['namespace']}"
            f"/{svc['metadata']['name']} has a wrong reference; cleaning up",
        )
        self._delete_ip(ip)
        return True, None

    # ------------------------------------------------------------------ the pass

    def _what_changed(self, all_cidrs: list[str]) -> tuple[list[str], list[str]] | None:
        """(Service keys, IPAddress keys) changed since the last pass; None: everything
        must be looked at (first pass, ranges changed, or the feed lost track)."""
        store = self._engine.store
        if self._cursor is None or self._cidrs is None:
            return None
        if all_cidrs != self._cidrs and not set(self._cidrs) <= set(all_cidrs):
            return None  # a range went away: any address may be out of range now
        try:
            changes = store.changes_since(self._cursor)
        except ExpiredError:
            return None
        # Ranges only added: what was in range still is; what was not may be now.
        svcs: dict[str, None] = (
            dict.fromkeys(sorted(self._out_of_range)) if all_cidrs != self._cidrs else {}
        )
        ips: dict[str, None] = {}
        for _rv, type_, kind, key, blob in changes:
            if kind == "Service":
                svcs[key] = None
            elif kind == "IPAddress":
                ips[key] = None
                if type_ != "ADDED":
                    # A changed or removed IPAddress concerns the Service it pointed at.
                    ref = _parent_ref(decode_object(blob))
                    svcs[f"{ref.get('namespace', '')}/{ref.get('name', '')}"] = None
        return list(svcs), list(ips)

    def sync(self) -> tuple[bool, float | None]:
        """One pass. Returns (wrote anything, next deadline)."""
        store = self._engine.store
        now = self._engine.clock.now()
        all_cidrs = sorted(
            str(cidr)
            for _, b in store.items("ServiceCIDR")
            for cidr in (decode_object(b).get("spec") or {}).get("cidrs") or []
        )
        if self._last_full is not None and now - self._last_full >= RESYNC_INTERVAL:
            # The informers' resync: everything back in the queues (what changed since
            # the last pass, which reads and decodes the feed, is not needed then).
            changed_keys = None
        else:
            changed_keys = self._what_changed(all_cidrs)
        self._cursor = store.revision
        self._cidrs = all_cidrs
        if changed_keys is None:
            svc_keys = store.keys("Service")
            ip_keys = store.keys("IPAddress")
            self._due.clear()
            self._out_of_range.clear()
            self._last_full = now
        else:
            due = [ip for ip, t in self._due.items() if t <= now]
            svc_keys = sorted(set(changed_keys[0]).union(self._retry_svcs))
            ip_keys = sorted(set(changed_keys[1]).union(due, self._retry_ips))
        changed = False
        ranges = range_parts(all_cidrs)
        for key in self._checked(store, "Service", svc_keys, ranges):
            blob = store.get("Service", key)
            self._refused = False
            self._out_of_range.discard(key)  # (added back if it still is)
            if blob is not None:
                changed |= self._sync_service(decode_object(blob), all_cidrs)
            _requeue(self._retry_svcs, key, self._refused)
        for ip in self._checked(store, "IPAddress", ip_keys, ranges):
            self._due.pop(ip, None)
            blob = store.get("IPAddress", ip)
            self._refused = False
            if blob is not None:
                did, when = self._sync_ip_address(decode_object(blob))
                changed |= did
                if when is not None:
                    self._due[ip] = when
            _requeue(self._retry_ips, ip, self._refused)
        return changed, min(self._due.values(), default=None)

    def _checked(
        self, store: Store, kind: str, keys: list[str], ranges: list[tuple[int, int, int]]
    ) -> Iterator[str]:
        """The keys whose check must run, in order. Before each, Rust reads the store as
        it is then (an earlier repair may have changed it) and passes over the keys whose
        check would certainly do nothing: for those only the work queue's bookkeeping is
        done (the key leaves the retry queue; a Service is no longer out of range; an
        IPAddress's leak timer is dropped), as their check would."""
        i, n = 0, len(keys)
        while i < n:
            j = repair_quiet_run(store, kind, keys, i, ranges) if self.quiet_check else i
            if j > i:
                self._refused = False
                for key in keys[i:j]:
                    if kind == "Service":
                        self._out_of_range.discard(key)
                        self._retry_svcs.pop(key, None)
                    else:
                        self._due.pop(key, None)
                        self._retry_ips.pop(key, None)
            if j < n:
                yield keys[j]
            i = j + 1


def _requeue(retries: dict[str, int], key: str, refused: bool) -> None:
    """The work queue's handleErr: a failed key is requeued up to MAX_RETRIES times,
    then dropped (the next resync puts it back); a key that synced is forgotten."""
    if not refused:
        retries.pop(key, None)
        return
    n = retries.get(key, 0)
    if n < MAX_RETRIES:
        retries[key] = n + 1
    else:
        retries.pop(key, None)


def _parent_ref(ipa: dict[str, Any]) -> dict[str, Any]:
    spec = ipa.get("spec")
    ref = spec.get("parentRef") if isinstance(spec, dict) else None
    return ref if isinstance(ref, dict) else {}


def _created(ipa: dict[str, Any]) -> float:
    stamp = (ipa.get("metadata") or {}).get("creationTimestamp")
    try:
        return parse_time(stamp) if isinstance(stamp, str) else 0.0
    except ValueError:
        return 0.0
