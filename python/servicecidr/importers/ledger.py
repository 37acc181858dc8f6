"""The address ledger of an observed import: who holds which ClusterIP, checked write by write.

An observed replay (:mod:`.observed`) stores what the cluster recorded; this ledger follows
every Service and IPAddress write it stores and reports, naming the record at fault, what
Kubernetes' allocator would never have let happen:

* ``ip-reused``: an address given to a Service (or an IPAddress created or moved) while
  another Service holds it;
* ``ip-out-of-range``: a new address inside no ready ServiceCIDR;
* ``servicecidr-orphaned-ips``: a ServiceCIDR removed while addresses in it had no other
  ServiceCIDR;
* ``service-without-ipaddress`` and ``ipaddress-not-released``: a ClusterIP without its
  IPAddress, an IPAddress whose Service is gone (settled at the end: a nested release
  completes before the request around it).

When the import derives IPAddresses (``derive``), the ledger writes the allocator's
IPAddress for each ClusterIP that has none, and deletes it with its Service.

It keeps two indexes of the state, so that no check decodes a stored object: each
IPAddress's parent Service and each Service's ClusterIPs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servicecidr.apiserver import Engine
from servicecidr.controllers.servicecidr import orphaned_ips
from servicecidr.errors import InvalidInputError
from servicecidr.importers.inputs import Record
from servicecidr.importers.recorded import cluster_ips_of, is_ip, parent_of
from servicecidr.importers.report import ImportReport
from servicecidr.journal.records import OP_DELETE, OP_PUT, Write
from servicecidr.registry.service import ip_address_object
from servicecidr.store import decode_object, encode_object

__all__ = ["AddressLedger"]

#: ip -> (Service key, the record that left it so)
_Pending = dict[str, tuple[str, Record]]


class AddressLedger:
    """The checks of one observed import (see the module doc). ``next_rv`` gives the
    resourceVersion the next write would take without a recorded one."""

    def __init__(
        self,
        engine: Engine,
        report: ImportReport,
        *,
        derive: bool,
        next_rv: Callable[[], int],
    ) -> None:
        self._engine = engine
        self._r = report
        self._next_rv = next_rv
        #: whether missing IPAddresses are written by the import
        self.derive = derive
        #: IPAddress writes the input recorded
        self.recorded_ips = 0
        self._derived: set[str] = set()
        # a Service's ClusterIP without an IPAddress so far
        self._missing: _Pending = {}
        # the Service went, its IPAddress has not (yet)
        self._unreleased: _Pending = {}
        # the IPAddress went, the Service still lists it
        self._orphaned: _Pending = {}
        store = engine.store
        # IPAddress -> the Service key its parentRef names; Service key -> its ClusterIPs
        self._ipx: dict[str, str | None] = {
            k: parent_of(decode_object(b)) for k, b in store.items("IPAddress")
        }
        self._svcx: dict[str, tuple[str, ...]] = {
            k: tuple(cluster_ips_of(decode_object(b))) for k, b in store.items("Service")
        }
        self._ready: list[Any] | None = None

    # ------------------------------------------------------------------ the indexes

    def is_derived(self, ip: str) -> bool:
        """Whether the import itself wrote the IPAddress of ``ip``."""
        return ip in self._derived

    def forget(self, writes: list[Write]) -> None:
        """Keep the indexes true to writes about to be committed."""
        for w in writes:
            if w.kind == "ServiceCIDR":
                self._ready = None
            elif w.op != OP_PUT:
                if w.kind == "IPAddress":
                    self._ipx.pop(w.key, None)
                elif w.kind == "Service":
                    self._svcx.pop(w.key, None)

    def reindex(self, kind: str, key: str) -> None:
        """Refresh the indexes for an object the engine itself wrote (a manifest sent
        through it), and forget the ready ranges (it may have been a ServiceCIDR)."""
        self._ready = None
        blob = self._engine.store.get(kind, key)
        if kind == "Service":
            if blob is None:
                self._svcx.pop(key, None)
                return
            ips = tuple(cluster_ips_of(decode_object(blob)))
            self._svcx[key] = ips
            for ip in ips:
                self.reindex("IPAddress", ip)
        elif kind == "IPAddress":
            if blob is None:
                self._ipx.pop(key, None)
            else:
                self._ipx[key] = parent_of(decode_object(blob))

    def _in_ready_cidr(self, ip: str) -> bool | None:
        """Whether a ready ServiceCIDR holds ``ip``; None when there is no ServiceCIDR."""
        engine = self._engine
        if not engine.store.count("ServiceCIDR"):
            return None
        ready = self._ready
        if ready is None:
            meta = engine.meta
            ready = self._ready = [a for p, a in meta.allocators() if meta.is_ready(p)]
        try:
            for a in ready:
                if a.contains(ip):
                    return True
        except InvalidInputError:
            return False
        return False

    def _holder(self, ip: str) -> str | None:
        """The Service key an existing IPAddress for ``ip`` points to."""
        return self._ipx.get(ip)

    def _lists(self, svc_key: str, ip: str) -> bool:
        return ip in self._svcx.get(svc_key, ())

    # ------------------------------------------------------------------ writes

    def derive_ip(self, ip: str, ns: str, name: str, writes: list[Write]) -> None:
        """Add to ``writes`` the allocator's IPAddress of ``ip`` for Service ``ns/name``."""
        obj = ip_address_object(self._engine, ip, ns, name)
        rv = max(self._next_rv(), max((w.rv for w in writes), default=0)) + 1
        obj["metadata"]["resourceVersion"] = str(rv)
        writes.append(Write(OP_PUT, "IPAddress", ip, rv, encode_object(obj)))
        self._ipx[ip] = f"{ns}/{name}"
        self._derived.add(ip)
        self._missing.pop(ip, None)
        self._r.note("IPAddresses derived from Service ClusterIPs")

    def service_written(
        self,
        rec: Record,
        key: str,
        ips: tuple[str, ...],
        old_ips: tuple[str, ...],
        writes: list[Write],
    ) -> None:
        """A write of Service ``key`` listing ``ips`` (``old_ips`` before): check it, and
        add to ``writes`` what the import derives."""
        ns, _, name = key.partition("/")
        store = self._engine.store
        r = self._r
        for ip in ips:
            holder = self._holder(ip)
            fresh = ip not in old_ips
            if holder is not None and holder != key:
                if ip in self._derived and not self._lists(holder, ip):
                    pass  # a derived address of a Service that no longer holds it
                elif self._lists(holder, ip):
                    r.diverge(
                        "ip-reused",
                        f"{ip} given to Service {key} while Service {holder} holds it",
                        rec,
                    )
                    continue
            if fresh:
                missing = self._missing.get(ip)
                if missing is not None and missing[0] != key and self._lists(missing[0], ip):
                    r.diverge(
                        "ip-reused",
                        f"{ip} given to Service {key} while Service {missing[0]} holds it",
                        rec,
                    )
                if self._in_ready_cidr(ip) is False:
                    r.diverge(
                        "ip-out-of-range", f"{ip} of Service {key} is in no ready ServiceCIDR", rec
                    )
            if holder is None and store.get("IPAddress", ip) is None:
                if not is_ip(ip):
                    # no allocator ever gave it: there is no IPAddress to derive
                    r.note("ClusterIPs that are not IP addresses (no IPAddress)")
                elif self.derive:
                    self.derive_ip(ip, ns, name, writes)
                elif fresh or ip not in self._missing:
                    self._missing[ip] = (key, rec)
            orphan = self._orphaned.pop(ip, None)
            if (
                orphan is not None
                and orphan[0] == key
                and store.get("IPAddress", ip) is None
                and not self.derive
            ):
                r.diverge(
                    "service-without-ipaddress",
                    f"Service {key} still holds {ip}, whose IPAddress was deleted",
                    orphan[1],
                )
        for ip in old_ips:
            if ip in ips:
                continue
            self._orphaned.pop(ip, None)
            if self._missing.get(ip, ("",))[0] == key:
                self._missing.pop(ip, None)
            self._release(rec, key, ip, writes)
        self._svcx[key] = ips

    def _release(self, rec: Record, key: str, ip: str, writes: list[Write]) -> None:
        """The Service ``key`` no longer holds ``ip``."""
        if self._holder(ip) != key:
            return
        if ip in self._derived:
            blob = self._engine.store.get("IPAddress", ip)
            rv = max(self._next_rv(), max((w.rv for w in writes), default=0)) + 1
            writes.append(Write(OP_DELETE, "IPAddress", ip, rv, blob))
            self._derived.discard(ip)
        else:
            self._unreleased[ip] = (key, rec)

    def service_gone(self, rec: Record, key: str, writes: list[Write]) -> None:
        """Service ``key`` is deleted: release its addresses (into ``writes`` when derived)."""
        for ip in self._svcx.get(key, ()):
            self._orphaned.pop(ip, None)
            if self._missing.get(ip, ("",))[0] == key:
                self._missing.pop(ip, None)
            self._release(rec, key, ip, writes)

    def ipaddress_written(
        self, rec: Record, ip: str, parent: str | None, managed: bool, existed: bool
    ) -> None:
        """A write of the IPAddress ``ip`` naming ``parent`` (``managed``: by the
        allocator; ``existed``: it replaces a stored one)."""
        r = self._r
        self.recorded_ips += 1
        if not existed:
            if managed and self._in_ready_cidr(ip) is False:
                r.diverge("ip-out-of-range", f"IPAddress {ip} is in no ready ServiceCIDR", rec)
            missing = self._missing.get(ip)
            if missing is not None:
                holder = missing[0]
                if holder != parent and self._lists(holder, ip):
                    r.diverge(
                        "ip-reused",
                        f"IPAddress {ip} created for {parent} while Service {holder} holds it",
                        rec,
                    )
                else:
                    self._missing.pop(ip, None)
        else:
            old_parent = self._ipx.get(ip)
            if (
                old_parent is not None
                and old_parent != parent
                and ip not in self._derived
                and self._lists(old_parent, ip)
            ):
                r.diverge(
                    "ip-reused",
                    f"IPAddress {ip} moved from Service {old_parent} (which holds it) to {parent}",
                    rec,
                )
        self._derived.discard(ip)
        self._unreleased.pop(ip, None)
        self._ipx[ip] = parent

    def ipaddress_gone(self, rec: Record, ip: str) -> None:
        """The IPAddress ``ip`` is deleted."""
        self._derived.discard(ip)
        self._unreleased.pop(ip, None)
        parent = self._ipx.get(ip)
        if parent is not None and self._lists(parent, ip):
            # the Service's own delete or update usually follows (a nested release
            # completes before the request around it): settle at the end
            self._orphaned[ip] = (parent, rec)

    def servicecidr_gone(self, rec: Record, name: str, old: dict[str, Any]) -> None:
        """The ServiceCIDR ``name`` (``old``) is deleted."""
        store = self._engine.store
        others = [decode_object(b) for k, b in store.items("ServiceCIDR") if k != name]
        orphans = sorted(orphaned_ips(self._engine, old, others))
        if orphans:
            shown = ", ".join(orphans[:5]) + (
                f" and {len(orphans) - 5} more" if len(orphans) > 5 else ""
            )
            self._r.diverge(
                "servicecidr-orphaned-ips",
                f"ServiceCIDR {name} removed while {len(orphans)} address(es) in it had no "
                f"other ServiceCIDR: {shown}",
                rec,
            )

    # ------------------------------------------------------------------ the end

    def settle(self) -> _Pending:
        """End of input: report the addresses still orphaned or unreleased, and return
        the ClusterIPs still without an IPAddress (the importer derives them or reports
        them)."""
        store = self._engine.store
        r = self._r
        for ip, (svc, rec) in sorted(self._orphaned.items()):
            if store.get("IPAddress", ip) is None and self._lists(svc, ip):
                r.diverge(
                    "service-without-ipaddress",
                    f"Service {svc} still holds {ip}, whose IPAddress was deleted",
                    rec,
                )
        self._orphaned.clear()
        for ip, (svc, rec) in sorted(self._unreleased.items()):
            if self._holder(ip) == svc and store.get("Service", svc) is None:
                r.diverge(
                    "ipaddress-not-released",
                    f"IPAddress {ip} still points to Service {svc}, which is gone",
                    rec,
                )
        self._unreleased.clear()
        missing = {
            ip: v
            for ip, v in self._missing.items()
            if store.get("IPAddress", ip) is None and self._lists(v[0], ip)
        }
        self._missing.clear()
        return missing
