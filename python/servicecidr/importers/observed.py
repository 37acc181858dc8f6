"""Observed replay: apply what the cluster recorded, and check every step against the model.

Each usable record becomes **one engine event** with verb ``import``: raw puts and deletes
(as :meth:`Cluster.store` writes them: no admission, no validation, no allocation) of the
objects exactly as recorded — uid, creationTimestamp, resourceVersion (the write's
revision, so the store's revision follows etcd's) and the ClusterIPs the cluster chose —
with the event's time set to the record's stageTimestamp and its actor to the recorded
user (the engine actor when the log came from servicecidr). The events go through
the engine's one commit like any other, so they land in the event log (durable when the
Cluster was opened from a state directory) and history can be opened at any point of
the imported timeline afterwards. ``extra`` keeps ``{"import": verb, "auditID", "at":
file:line}``.

What a record applies:

* create/update/patch with a ``responseObject``: put it (the authoritative post-state); an
  object with a deletionTimestamp and no finalizers left is removed instead (an update that
  removed the last finalizer);
* create/update at Request level: the request body, with uid and time filled in (a Service
  created that way has no known ClusterIP: counted in the notes);
* delete: remove the object, or put it when the response still has finalizers
  (Terminating); deletecollection: each item of the response List;
* dumps and watch events: put (or delete) the object; a dump item with no uid and no
  resourceVersion is a manifest, not state, and goes through the engine
  (``Cluster.apply``), which allocates its ClusterIP.

Objects are stored as kube-apiserver would read them back: decoded (unknown fields and
empty lists and maps dropped) and, for Services, defaulted on read (an object from an API
server before 1.20 gets its ``clusterIPs``, ``ipFamilies`` and ``ipFamilyPolicy``; see
:func:`servicecidr.registry.service.default_on_read`). A namespaced object whose namespace
the state does not hold and the input never wrote *adopts* it: an Active Namespace is
written first, and the report says so.

IPAddresses (``ipaddresses=``): ``recorded`` trusts the IPAddress writes of the input;
``derived`` writes the allocator's IPAddress for every Service ClusterIP that has none
(and deletes it with the Service); ``auto`` (the default) derives for dumps and watch
streams, and for audit logs trusts the recorded IPAddress writes, deriving the missing
ones at the end only when the log holds no IPAddress write at all (an older cluster or an
audit policy without ``ipaddresses``).

Checks (each divergence names the record that caused it): the addresses are followed by
:class:`~servicecidr.importers.ledger.AddressLedger` (an address handed out twice, outside
every ready ServiceCIDR, orphaned by a ServiceCIDR's removal, a Service without its
IPAddress, an IPAddress never released); this module checks the objects themselves: a
create of an existing object, an update based on a version the log never showed, a write
older than the stored object (not applied: counted as ``stale``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from servicecidr.api import decode as api_decode
from servicecidr.api.kinds import KINDS
from servicecidr.api.storable import is_text
from servicecidr.clock import format_time, parse_time
from servicecidr.errors import ApiError, InvalidInputError, ServiceCIDRError
from servicecidr.importers.auditreader import event_record
from servicecidr.importers.dumps import is_manifest
from servicecidr.importers.inputs import Record, Skip
from servicecidr.importers.ledger import AddressLedger
from servicecidr.importers.recorded import (
    ImportClock,
    Unusable,
    cluster_ips_of,
    entry_extra,
    history_end,
    parent_of,
    revision_of,
    rv_value,
)
from servicecidr.importers.report import ImportReport
from servicecidr.journal.records import OP_DELETE, OP_PUT, Write
from servicecidr.registry.namespace import ACTIVE, FINALIZER, NAME_LABEL
from servicecidr.registry.service import default_on_read, ip_address_object
from servicecidr.registry.txn import Txn
from servicecidr.store import decode_object, encode_object, object_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from servicecidr.cluster import Cluster

__all__ = ["IPADDRESS_MODES", "ImportClock", "ObservedImporter"]

IPADDRESS_MODES = ("auto", "recorded", "derived")
MANAGED_BY_LABEL = "ipaddress.kubernetes.io/managed-by"
FAMILY_LABEL = "ipaddress.kubernetes.io/ip-family"
MANAGED_BY = "ipallocator.k8s.io"
_EVENT_SUBJECTS = frozenset({"Service", "ServiceCIDR", "IPAddress"})


class ObservedImporter:
    """Applies records to a Cluster (see the module doc). Call :meth:`apply` per record
    (or :meth:`skip` for a Skip), then :meth:`finish`; the Cluster's clock is the records'
    time in between."""

    def __init__(
        self,
        cluster: Cluster,
        report: ImportReport,
        *,
        fmt: str = "audit",
        ipaddresses: str = "auto",
        strict: bool = False,
        on_skip: Callable[[Skip], None] | None = None,
    ) -> None:
        if ipaddresses not in IPADDRESS_MODES:
            raise InvalidInputError(
                f"ipaddresses={ipaddresses!r}: use one of {', '.join(IPADDRESS_MODES)}"
            )
        self.c = cluster
        self.r = report
        self.fmt = fmt
        self.mode = ipaddresses
        self.derive = ipaddresses == "derived" or (ipaddresses == "auto" and fmt != "audit")
        self._on_skip = on_skip if on_skip is not None else report.skip
        self._saved_clock = cluster.engine.clock
        self.clock = ImportClock(cluster.engine.clock.now())
        self._floor = history_end(cluster)
        cluster.engine.clock = self.clock
        #: who holds which address, checked write by write
        self.ledger = AddressLedger(
            cluster.engine, report, derive=self.derive, next_rv=self._next_rv
        )
        self._touched: set[tuple[str, str]] = set()
        self._first_seq: int | None = None
        # Namespaces known to exist, and those the input wrote itself (never adopted)
        self._namespaces: set[str] = set()
        self._written_namespaces: set[str] = set()
        # the newest time an imported object shows (the clock must not end before it)
        self._newest: float | None = None
        # Metadata-level IPAddress creates waiting for the Service create around them
        self._pending_ips: list[Record] = []
        self._last_window: tuple[float, float] | None = None

    # ------------------------------------------------------------------ driver API

    def skip(self, s: Skip) -> None:
        """An input that is not used."""
        self._on_skip(s)

    def apply(self, rec: Record) -> None:
        """Apply one record (or report why not: a record whose object cannot be stored is
        an ``invalid-object`` skip, and changes nothing)."""
        try:
            self._apply_record(rec)
        except Unusable as e:
            self.skip(Skip(rec.source, rec.line, "invalid-object", str(e)))

    def _apply_record(self, rec: Record) -> None:
        if rec.fast is not None:
            if not self._pending_ips and not self.derive and self._apply_fast(rec, rec.fast):
                return
            rec = self._parsed(rec)
            if rec.fast is not None:  # pragma: no cover - the reader never builds this
                raise AssertionError("a parsed record cannot be fast")
        self.r.read += 1
        if rec.ts is not None:
            if rec.ts != self.clock.t:
                self.clock.t = rec.ts
            self.r.saw_time(rec.ts)
        if self._pending_ips:
            self._join_pending(rec)
        if rec.verb == "deletecollection":
            self._deletecollection(rec)
            return
        info = KINDS[rec.kind]
        body = rec.response if isinstance(rec.response, dict) else None
        if body is not None and body.get("kind") == "Status":
            body = None
        name = rec.name
        ns = rec.namespace
        src = body or rec.request
        if isinstance(src, dict):
            meta = src.get("metadata")
            if isinstance(meta, dict):
                name = name or str(meta.get("name") or "")
                if info.namespaced and not ns:
                    ns = meta.get("namespace")
        ns = (ns or "default") if info.namespaced else None
        for what, v in (("name", name), ("namespace", ns)):
            if v is not None and not (isinstance(v, str) and is_text(v)):
                raise Unusable(f"{info.resource}: the {what} {v!r} is not a string")
        if not name:
            self.skip(Skip(rec.source, rec.line, "no-name", f"{rec.verb} {info.resource}"))
            return
        key = object_key(info.namespaced, ns, name)
        if rec.verb == "delete":
            meta = body.get("metadata") if body is not None else None
            if (
                body is not None
                and isinstance(meta, dict)
                and meta.get("deletionTimestamp")
                and meta.get("finalizers")
            ):
                self._put(rec, key, ns, name, body)  # Terminating: it stays
            else:
                self._delete(rec, key, ns, name, body)
            return
        if (
            body is None
            and rec.kind == "IPAddress"
            and rec.verb == "create"
            and not isinstance(rec.request, dict)
        ):
            # Metadata level: the name is the IP; the parent is joined by time
            self._pending_ips.append(rec)
            return
        obj = body
        if obj is None:
            obj = self._from_request(rec, key)
            if obj is None:
                return
        if self.fmt == "dump" and is_manifest(obj):
            self._through_engine(rec, obj)
            return
        meta = obj.get("metadata")
        if isinstance(meta, dict) and meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._delete(rec, key, ns, name, obj)  # the last finalizer went
            return
        self._put(rec, key, ns, name, obj)

    def _apply_fast(self, rec: Record, f: tuple[Any, ...]) -> bool:
        """A record the Rust reader prepared (see :mod:`.auditreader_rust`): a put of an object
        the state does not hold, or a delete of one it does — what :meth:`apply` does
        then, without the parsed bodies. False (nothing done) for any other case."""
        kind = rec.kind
        name = rec.name
        key = f"{rec.namespace}/{name}" if kind == "Service" else name
        old_blob = self.c.engine.store.get(kind, key)
        put = f[0] == 0
        if (old_blob is None) is not put:
            return False
        if put and kind == "Service" and not self._defaulted(f[2]):
            return False  # defaulted on read below (an API server before 1.20, ...)
        r = self.r
        r.read += 1
        ts = rec.ts
        assert ts is not None
        if ts != self.clock.t:
            self.clock.t = ts
        if r.last_ts is None or ts > r.last_ts or r.first_ts is None or ts < r.first_ts:
            r.saw_time(ts)
        if put:
            _, rv, blob, ips, parent, managed = f
            if kind == "Service" and rec.namespace is not None:
                self._adopt(rec, rec.namespace)
            if rec.verb != "create":
                r.note("objects first seen in an update (created before the log starts)")
            writes = [Write(OP_PUT, kind, key, rv, blob)]
            if kind == "Service":
                self.ledger.service_written(rec, key, ips, (), writes)
            else:
                self.ledger.ipaddress_written(rec, key, parent, managed, False)
            self._touched.add((kind, key))
        else:
            rv = f[1]
            if rv is None:
                rv = self._next_rv()
            assert old_blob is not None
            writes = [Write(OP_DELETE, kind, key, rv, old_blob)]
            if kind == "Service":
                self.ledger.service_gone(rec, key, writes)
            else:
                self.ledger.ipaddress_gone(rec, key)
            self._touched.discard((kind, key))
        self._commit(rec, kind, rec.namespace, name, writes)
        return True

    def _defaulted(self, blob: bytes) -> bool:
        """Whether a Service the Rust reader prepared (canonical: decoding gives it back)
        is also what reading it back gives: defaulting on read changes nothing."""
        obj = decode_object(blob)
        return encode_object(default_on_read(obj, self.c.engine.families[0])) == blob

    @staticmethod
    def _parsed(rec: Record) -> Record:
        """The record as the Python reader builds it, from the line it came from."""
        assert rec.text is not None
        got = event_record(json.loads(rec.text), rec.source, rec.line)
        if not isinstance(got, Record):  # pragma: no cover - the reader classified it
            raise AssertionError(f"{rec.where()}: the line is no longer a record")
        return got

    def finish(self) -> None:
        """End of input: settle what was pending, give the Cluster its clock back."""
        try:
            self._flush_pending(None)
            self._settle()
        finally:
            self.restore_clock()

    def restore_clock(self) -> None:
        """Give the Cluster its own clock back; a simulated one is moved to the last time
        the input shows (a record's, or an imported object's timestamp), so that nothing
        in the state is younger than the state's present."""
        c = self.c
        if c.engine.clock is self.clock:
            saved = self._saved_clock
            last = max((t for t in (self.r.last_ts, self._newest) if t is not None), default=None)
            if saved.simulated and last is not None and saved.now() < last:
                saved.advance(last - saved.now())
            c.engine.clock = saved

    # ------------------------------------------------------------------ Metadata-level IPs

    def _join_pending(self, rec: Record) -> None:
        """SPEC-import 1.3: at Metadata level an IPAddress create still names its IP; the
        allocator creates it inside the Service create, so its requestReceivedTimestamp
        falls in that create's [requestReceived, stage] window."""
        if rec.kind == "Service" and rec.verb == "create" and rec.ts is not None:
            start = rec.received if rec.received is not None else rec.ts
            ips = cluster_ips_of(rec.response if isinstance(rec.response, dict) else None)
            ambiguous = self._last_window is not None and self._last_window[1] >= start
            self._last_window = (start, rec.ts)
            joined = [
                p
                for p in self._pending_ips
                if p.name in ips
                or (
                    not ips
                    and start <= (p.received if p.received is not None else p.order) <= rec.ts
                )
            ]
            if joined:
                ns = rec.namespace or "default"
                name = rec.name or ""
                for p in joined:
                    self._pending_ips.remove(p)
                    self._metadata_ip(p, ns, name)
                    if ambiguous and not ips:
                        self.r.note("IPAddresses joined to one of overlapping Service creates")
        if rec.ts is not None:
            self._flush_pending(rec.ts - 10.0)

    def _flush_pending(self, before: float | None) -> None:
        """Give up waiting: the IPAddress is written with no known parent."""
        keep = []
        for p in self._pending_ips:
            if before is None or p.order < before:
                self._metadata_ip(p, "", "")
                self.r.note("IPAddresses at Metadata level whose Service could not be joined")
            else:
                keep.append(p)
        self._pending_ips = keep

    def _metadata_ip(self, p: Record, ns: str, name: str) -> None:
        saved = self.clock.t
        if p.ts is not None:
            self.clock.t = p.ts
        try:
            obj = ip_address_object(self.c.engine, p.name, ns, name)
            if p.user != "system:apiserver":
                obj["metadata"]["labels"].pop(MANAGED_BY_LABEL, None)
            self.r.note("IPAddresses rebuilt from Metadata-level events")
            self._put(p, p.name, None, p.name, obj)
        finally:
            self.clock.t = saved

    # ------------------------------------------------------------------ building objects

    def _from_request(self, rec: Record, key: str) -> dict[str, Any] | None:
        req = rec.request if isinstance(rec.request, dict) else None
        if rec.verb == "patch":
            reason = "patch-without-body" if rec.request is not None else "metadata-only"
            self.skip(Skip(rec.source, rec.line, reason, f"patch {rec.kind} {key}"))
            return None
        if req is None or not isinstance(req.get("metadata", {}), dict):
            self.skip(
                Skip(
                    rec.source,
                    rec.line,
                    "metadata-only",
                    f"{rec.verb} {rec.kind} {key} at level {rec.level or 'Metadata'}",
                )
            )
            return None
        old_blob = self.c.engine.store.get(rec.kind, key)
        if rec.subresource == "status":
            if old_blob is None:
                self.skip(Skip(rec.source, rec.line, "metadata-only", f"status of unknown {key}"))
                return None
            obj = decode_object(old_blob)
            obj["status"] = req.get("status") or {}
            obj["metadata"].pop("resourceVersion", None)
            return obj
        obj = dict(req)
        obj["metadata"] = dict(req.get("metadata") or {})
        if old_blob is not None and rec.verb == "update":
            old_meta = decode_object(old_blob).get("metadata") or {}
            for f in ("uid", "creationTimestamp"):
                if f in old_meta and not obj["metadata"].get(f):
                    obj["metadata"][f] = old_meta[f]
        obj["metadata"].pop("resourceVersion", None)
        if rec.kind == "Service" and not cluster_ips_of(obj):
            spec = obj.get("spec")
            spec = spec if isinstance(spec, dict) else {}
            if spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
                self.r.note("Services without their ClusterIP (Request level: IP unknown)")
        self.r.note("objects rebuilt from requestObject (Request level)")
        return obj

    def _through_engine(self, rec: Record, obj: dict[str, Any]) -> None:
        """A manifest is a request: sent through the engine as ``kubectl apply`` would.
        One that fails validation or decoding is an invalid object; one that names an
        existing object shows a missing delete; any other refusal is the request's."""
        c = self.c
        info = KINDS[rec.kind]
        if info.namespaced:
            meta = obj.get("metadata") or {}
            self._adopt(rec, str(meta.get("namespace") or "default"))
        before = c.seq
        body = dict(obj)
        body.pop("status", None)
        t = self.clock.t
        self.clock.t = max(t, self._floor)
        try:
            c.apply(body)
        except ApiError as e:
            if e.reason in ("Invalid", "BadRequest"):
                raise Unusable(e.message) from None
            self.r.note(f"manifests the engine refused ({e.reason})")
            self.r.diverge(
                "created-twice" if e.reason == "AlreadyExists" else "refused", str(e), rec
            )
            return
        except ServiceCIDRError as e:
            self.r.note("manifests the engine refused")
            self.r.diverge("refused", str(e), rec)
            return
        finally:
            self.clock.t = t
        self.r.note("manifests created through the engine (no recorded state: allocated)")
        self._floor = max(self._floor, self.clock.t)
        meta = obj.get("metadata") or {}
        info = KINDS[rec.kind]
        ns = (meta.get("namespace") or "default") if info.namespaced else None
        self.ledger.reindex(rec.kind, object_key(info.namespaced, ns, str(meta.get("name") or "")))
        self._committed(before)
        self.r.used += 1

    def _normalize(
        self,
        obj: dict[str, Any],
        rec: Record,
        ns: str | None,
        name: str,
        old: dict[str, Any] | None,
    ) -> tuple[dict[str, Any], int]:
        info = KINDS[rec.kind]
        obj["apiVersion"] = info.api_version
        obj["kind"] = info.kind
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        meta["name"] = name
        if info.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if not meta.get("uid"):
            old_meta = (old or {}).get("metadata") or {}
            meta["uid"] = old_meta.get("uid") or self.c.engine.new_uid()
        if not meta.get("creationTimestamp"):
            old_meta = (old or {}).get("metadata") or {}
            meta["creationTimestamp"] = old_meta.get("creationTimestamp") or format_time(
                self.clock.t
            )
        rv = revision_of(meta)
        if rv is None:
            rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        return obj, rv

    def _next_rv(self) -> int:
        return self.c.engine.store.revision + 1

    def _saw_object_time(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        for f in ("creationTimestamp", "deletionTimestamp"):
            stamp = meta.get(f)
            if isinstance(stamp, str):
                try:
                    t = parse_time(stamp)
                except ValueError:
                    continue
                if self._newest is None or t > self._newest:
                    self._newest = t

    def _adopt(self, rec: Record, namespace: str) -> None:
        """Write the Namespace an object is in when the state has none and the input
        never wrote it (a log that starts after the namespace was made)."""
        if namespace in self._namespaces:
            return
        store = self.c.engine.store
        if store.contains("Namespace", namespace) or namespace in self._written_namespaces:
            self._namespaces.add(namespace)
            return
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {NAME_LABEL: namespace},
                "uid": self.c.engine.new_uid(),
                "creationTimestamp": format_time(self.clock.t),
            },
            "spec": {"finalizers": [FINALIZER]},
            "status": {"phase": ACTIVE},
        }
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        writes = [Write(OP_PUT, "Namespace", namespace, rv, encode_object(obj))]
        self._commit(rec, "Namespace", None, namespace, writes)
        self.r.used -= 1  # the record that needed it is counted when it is applied
        self._namespaces.add(namespace)
        self.r.note("namespaces adopted (the input never shows their creation)")

    # ------------------------------------------------------------------ writes

    def _commit(
        self, rec: Record, kind: str, ns: str | None, name: str, writes: list[Write]
    ) -> None:
        c = self.c
        self.ledger.forget(writes)
        actor = rec.actor or rec.user or self.fmt
        txn = Txn(
            c.engine.store.revision, "import", kind, ns, name, actor=actor, extra=entry_extra(rec)
        )
        txn.writes.extend(writes)
        t = self.clock.t
        if t < self._floor:
            # older than the state's own history: the event log never runs backwards, so
            # the event is placed at its end (the objects keep their recorded times)
            self.clock.t = self._floor
            self.r.note("events older than the state's history, placed at its end")
        try:
            ev = c.engine.commit(txn)
        finally:
            self.clock.t = t
        self._committed_one(ev.seq, ev.ts)

    def _committed_one(self, seq: int, ts: float) -> None:
        """Count one event this importer committed (at ``seq``, time ``ts``)."""
        self._floor = ts
        r = self.r
        if self._first_seq is None:
            self._first_seq = seq
            if r.first_seq is None:
                r.first_seq = seq
        r.last_seq = seq
        r.events_committed += 1
        r.used += 1

    def _committed(self, before: int) -> None:
        c = self.c
        if c.seq > before:
            if self.r.first_seq is None:
                self.r.first_seq = before + 1
            self.r.last_seq = c.seq
            self.r.events_committed += c.seq - before

    def _put(self, rec: Record, key: str, ns: str | None, name: str, obj: dict[str, Any]) -> None:
        kind = rec.kind
        store = self.c.engine.store
        old_blob = store.get(kind, key)
        old = decode_object(old_blob) if old_blob is not None else None
        if kind == "Event" and not self._event_of_interest(obj):
            self.skip(Skip(rec.source, rec.line, "not-modeled", "an Event about another kind"))
            return
        obj, rv = self._normalize(obj, rec, ns, name, old)
        try:
            # stored as kube-apiserver would read it back: decoded from its Go types
            obj = api_decode.decode(obj, field_validation="Ignore")[0]
        except ApiError as e:
            raise Unusable(f"{kind} {key}: {e.message}") from None
        if kind == "Service":
            default_on_read(obj, self.c.engine.families[0])
        elif kind == "Namespace":
            self._written_namespaces.add(name)
        if ns is not None:
            self._adopt(rec, ns)
        self._saw_object_time(obj)
        blob = encode_object(obj)
        if old is not None:
            old_meta = old.get("metadata") or {}
            old_rv = rv_value(old_meta)
            same = old_meta.get("uid") == obj["metadata"].get("uid")
            if same and old_rv is not None and rv < old_rv:
                if (kind, key) in self._touched:
                    self.r.diverge(
                        "out-of-order",
                        f"{kind} {key} at resourceVersion {rv} after {old_rv}: not applied",
                        rec,
                    )
                self.skip(Skip(rec.source, rec.line, "stale", f"{kind} {key} rv {rv} < {old_rv}"))
                return
            if blob == old_blob:
                self.skip(Skip(rec.source, rec.line, "unchanged", f"{kind} {key} rv {rv}"))
                return
            if rec.verb == "create" and not rec.raw and (kind, key) in self._touched:
                if not (kind == "IPAddress" and self.ledger.is_derived(key)):
                    self.r.diverge("created-twice", f"create of existing {kind} {key}", rec)
            elif rec.verb in ("create", "put") and (kind, key) not in self._touched:
                self.r.note("objects that existed before the import, replaced by the record")
            req = rec.request if isinstance(rec.request, dict) else None
            req_meta = req.get("metadata") if req is not None else None
            if (
                rec.verb == "update"
                and isinstance(req_meta, dict)
                and old_rv is not None
                and rv_value(req_meta) not in (None, old_rv)
                and same
            ):
                self.r.diverge(
                    "gap",
                    f"update of {kind} {key} based on resourceVersion "
                    f"{req_meta.get('resourceVersion')}, the log last showed {old_rv}",
                    rec,
                )
        elif rec.verb in ("update", "patch"):
            self.r.note("objects first seen in an update (created before the log starts)")
        writes = [Write(OP_PUT, kind, key, rv, blob)]
        if kind == "Service":
            ips = tuple(cluster_ips_of(obj))
            self.ledger.service_written(rec, key, ips, tuple(cluster_ips_of(old)), writes)
        elif kind == "IPAddress":
            parent = parent_of(obj)
            labels = (obj.get("metadata") or {}).get("labels") or {}
            managed = isinstance(labels, dict) and labels.get(MANAGED_BY_LABEL) == MANAGED_BY
            self.ledger.ipaddress_written(rec, key, parent, managed, old is not None)
        self._touched.add((kind, key))
        self._commit(rec, kind, ns, name, writes)

    def _delete(
        self,
        rec: Record,
        key: str,
        ns: str | None,
        name: str,
        body: dict[str, Any] | None,
    ) -> None:
        kind = rec.kind
        store = self.c.engine.store
        if kind == "Namespace":
            self._written_namespaces.add(name)
            self._namespaces.discard(name)
        old_blob = store.get(kind, key)
        if old_blob is None:
            self.r.note("deletes of objects not in the state (created before the log starts)")
            self.skip(Skip(rec.source, rec.line, "unchanged", f"delete of absent {kind} {key}"))
            return
        rv = None
        if body is not None and isinstance(body.get("metadata"), dict):
            # the etcd3 store returns a deleted object with the deletion's revision; an
            # older one (or none) only ever lowers nothing: the store keeps the maximum
            rv = revision_of(body["metadata"])
        if rv is None:
            rv = self._next_rv()
        writes = [Write(OP_DELETE, kind, key, rv, old_blob)]
        if kind == "Service":
            self.ledger.service_gone(rec, key, writes)
        elif kind == "IPAddress":
            self.ledger.ipaddress_gone(rec, key)
        elif kind == "ServiceCIDR":
            self.ledger.servicecidr_gone(rec, key, decode_object(old_blob))
        self._touched.discard((kind, key))
        self._commit(rec, kind, ns, name, writes)

    def _deletecollection(self, rec: Record) -> None:
        body = rec.response if isinstance(rec.response, dict) else None
        items = body.get("items") if body is not None else None
        if not isinstance(items, list):
            self.skip(
                Skip(rec.source, rec.line, "metadata-only", "deletecollection without a List")
            )
            return
        for item in items:
            if not isinstance(item, dict):
                continue
            meta = item.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            sub = Record(
                rec.source,
                rec.line,
                rec.order,
                rec.ts,
                "delete",
                rec.kind,
                meta.get("namespace") or rec.namespace,
                str(meta.get("name") or ""),
                user=rec.user,
                actor=rec.actor,
                audit_id=rec.audit_id,
                response=item,
            )
            self.r.read -= 1  # the deletecollection record was counted once
            self.apply(sub)

    @staticmethod
    def _event_of_interest(obj: dict[str, Any]) -> bool:
        regarding = obj.get("regarding")
        return isinstance(regarding, dict) and regarding.get("kind") in _EVENT_SUBJECTS

    # ------------------------------------------------------------------ the end

    def _settle(self) -> None:
        missing = self.ledger.settle()
        if not missing:
            return
        if self.mode == "auto" and self.ledger.recorded_ips == 0:
            # The log holds no IPAddress write at all: an older cluster, or a policy that
            # leaves ipaddresses out. Write the allocator's IPAddresses now.
            for ip, (svc, rec) in sorted(missing.items()):
                ns, _, name = svc.partition("/")
                writes: list[Write] = []
                self.ledger.derive_ip(ip, ns, name, writes)
                self._commit(rec, "IPAddress", None, ip, writes)
                self.r.used -= 1
            self.r.note("audit log without IPAddress writes: IPAddresses derived at the end")
            return
        for ip, (svc, rec) in sorted(missing.items()):
            self.r.diverge(
                "service-without-ipaddress",
                f"Service {svc} holds {ip}, which has no IPAddress",
                rec,
            )
