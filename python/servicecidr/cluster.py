"""The facade: a Kubernetes control plane's Service-IP machinery as one Python object.

Every mutating call *decides* (validation, admission, random allocation), records one
:class:`~servicecidr.events.model.Event` holding the writes it produced, and *applies* it.
Applying is deterministic and cannot fail, so a fresh Cluster fed the same events reaches
the same :meth:`Cluster.digest`.

Example::

    from servicecidr import Cluster
    c = Cluster(service_cluster_ip_range="10.96.0.0/28", seed=1)
    svc = c.create({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "web"},
                    "spec": {"ports": [{"port": 80}]}})
    svc["spec"]["clusterIP"]   # e.g. '10.96.0.7'
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import os
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from servicecidr._core import json_bound
from servicecidr.admission import ValidatingAdmissionPolicyPlugin
from servicecidr.allocation.meta import MetaAllocator
from servicecidr.allocation.nodeports import NodePortAllocator, service_ports
from servicecidr.api import decode as api_decode
from servicecidr.api import storable as api_storable
from servicecidr.api.kinds import KINDS, KindInfo, kind_info
from servicecidr.api.memo import ValidationMemo
from servicecidr.audit import AuditWriter
from servicecidr.clock import Clock, WallClock, format_time, parse_duration
from servicecidr.controllers.conditions import ready_state
from servicecidr.controllers.default_cidr import sync_default_service_cidr
from servicecidr.controllers.netutil import cidr_contains_ip
from servicecidr.controllers.repair import repair
from servicecidr.controllers.servicecidr import sync_service_cidrs
from servicecidr.errors import ApiError, BadRequestError, InvalidInputError, NotFoundError
from servicecidr.events.model import OP_PUT, Event, Write, decode_object
from servicecidr.registry import generic
from servicecidr.registry import service as service_registry
from servicecidr.registry.simple import SIMPLE_KINDS, SimpleKind
from servicecidr.registry.txn import Txn
from servicecidr.store import ObjectStore, object_key

__all__ = ["Cluster"]

# Every request body is checked for what JSON can carry: plain ones in Rust.
api_storable.use_quick_pass(json_bound)

Obj = dict[str, Any]
AdmissionHook = Callable[..., list[str]]
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
MAX_CONTROLLER_ROUNDS = 1000
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def _parse_range(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    raw = value.split(",") if isinstance(value, str) else value
    if isinstance(raw, Iterable):
        raw = list(raw)
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise InvalidInputError(
            f"--service-cluster-ip-range must be CIDRs as a string or a list of strings, "
            f"not {value!r}"
        )
    parts = [p for p in (p.strip() for p in raw) if p]
    if len(parts) > 2:
        raise InvalidInputError(
            f"--service-cluster-ip-range {','.join(parts)!r}: at most two CIDRs (one per family)"
        )
    out = []
    for p in parts:
        try:
            net = ipaddress.ip_network(p, strict=True)
        except ValueError as e:
            raise InvalidInputError(
                f"--service-cluster-ip-range: {p!r} is not a valid CIDR ({e})"
            ) from e
        out.append(str(net))
    if (
        len(out) == 2
        and ipaddress.ip_network(out[0]).version == ipaddress.ip_network(out[1]).version
    ):
        raise InvalidInputError(
            f"--service-cluster-ip-range {','.join(out)!r}: a dual-stack range needs one IPv4 "
            "and one IPv6 CIDR"
        )
    return tuple(out)


def _parent_key(blob: bytes) -> str:
    """Storage key of the Service an IPAddress blob points at ('' when none)."""
    ref = (decode_object(blob).get("spec") or {}).get("parentRef") or {}
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


class Cluster:
    """An in-memory cluster: objects, allocators, controllers and the event history.

    Args:
        service_cluster_ip_range: kube-apiserver's ``--service-cluster-ip-range``: one CIDR,
            or two comma-separated (dual-stack, primary first). It creates the default
            ServiceCIDR ``kubernetes`` and the Service ``default/kubernetes``. ``None``: no
            default objects, and both families may be served by ServiceCIDRs.
        seed: seed of every random choice (allocation, uids, generated names).
        clock: where timestamps come from; a wall clock by default.
        audit_log: also write every change as an audit.k8s.io/v1 Event to this file.
        keep_events: keep the event history in memory (``events()``, ``replay``); large
            simulations that never replay may turn it off.
    """

    def __init__(
        self,
        service_cluster_ip_range: str | Iterable[str] | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        *,
        audit_log: str | os.PathLike[str] | None = None,
        keep_events: bool = True,
        _start: bool = True,
    ) -> None:
        self.service_cluster_ip_range: tuple[str, ...] = _parse_range(service_cluster_ip_range)
        if self.service_cluster_ip_range:
            fams = ["IPv6" if ":" in c else "IPv4" for c in self.service_cluster_ip_range]
            self.families: tuple[str, ...] = tuple(fams)
        else:
            self.families = ("IPv4", "IPv6")
        # Without a seed the run is not meant to repeat: pick one (it is kept with a state
        # directory, so a reopened state stays reproducible from then on).
        try:
            self.seed = int(seed) if seed is not None else random.SystemRandom().randrange(1 << 63)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInputError(f"seed must be an integer, not {seed!r}") from None
        self._rng = random.Random(self.seed)
        self._clock: Clock = clock if clock is not None else WallClock()
        self._store = ObjectStore()
        self._meta = MetaAllocator(self.families, self.seed, lambda: self._store.keys("IPAddress"))
        self._events: list[Event] = []
        # Simulations that never replay can drop the history (it grows with every call).
        self._keep_events = keep_events
        self._seq = 0
        self._actor = "user"
        self._reported: set[tuple[Any, ...]] = set()
        self._sinks: list[Callable[[Event], None]] = []
        # ValidatingAdmissionPolicies are enforced by default, as in kube-apiserver.
        self.admission: AdmissionHook | None = ValidatingAdmissionPolicyPlugin()
        # (kind, namespace, name, extra) the admission hook left for the request's event.
        self._admission_extra: tuple[str, str | None, str, dict[str, Any]] | None = None
        self._persist: Any = None  # persist.PersistentState when opened from a directory
        self._write_guard: Callable[[Txn], None] | None = None  # persist: refuses writes
        # persist: stores each event before it is applied; when it raises, the event is
        # not applied (a write is acknowledged only once it is in the log)
        self._journal: Callable[[Event], None] | None = None
        self._memo = ValidationMemo()
        # What the repair loop must look at next (it runs a full pass at start and after
        # any ServiceCIDR change, then only on what changed, as its informers would).
        self._repair_full = True
        self._dirty_services: set[str] = set()
        self._dirty_ips: set[str] = set()
        self._repair_due: dict[str, float] = {}
        self._nodeports = NodePortAllocator()
        self._time_cache: tuple[int, str] = (-1, "")
        if audit_log is not None:  # one audit.k8s.io Event per write (servicecidr/audit.py)
            AuditWriter(self, audit_log)
        if _start:
            self.start()

    # ------------------------------------------------------------------ construction

    @classmethod
    def replay(
        cls,
        events: Iterable[Event],
        service_cluster_ip_range: str | Iterable[str] | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        *,
        start: bool = False,
    ) -> Cluster:
        """A Cluster rebuilt from events; with ``start=True`` the apiserver start logic runs
        afterwards for the given flags (a restart)."""
        c = cls(service_cluster_ip_range, seed, clock, _start=False)
        for ev in events:
            c._apply(ev)
            c._events.append(ev)
            c._seq = ev.seq
        if start:
            c.start()
        return c

    def start(self) -> None:
        """What kube-apiserver does when it starts: sync the default ServiceCIDR, then
        make sure the Service ``default/kubernetes`` holds the first address."""
        # A restarted apiserver does not resume its predecessor's random streams: draw new
        # ones from the seed and the length of the history, so reopening a state many
        # times neither repeats uids nor replays one allocation sequence.
        self._rng = random.Random(f"{self.seed}/{self._seq}")
        self._meta.reseed(self._rng)
        with self._acting("kube-apiserver"):
            sync_default_service_cidr(self)
            self._ensure_kubernetes_service()

    def _ensure_kubernetes_service(self) -> bool:
        """The apiserver's kubernetes-service controller: (re)create ``default/kubernetes``
        on the first address of the primary range. Returns whether it wrote anything."""
        if not self.service_cluster_ip_range:
            return False
        if self._store.contains("Service", object_key(True, "default", "kubernetes")):
            return False
        net = ipaddress.ip_network(self.service_cluster_ip_range[0])
        first = str(net.network_address + 1)
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": first,
                "ipFamilyPolicy": "SingleStack",
                "sessionAffinity": "None",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        }
        try:
            service_registry.create(self, svc, "default", False)
        except ApiError:
            # e.g. no ready ServiceCIDR holds the address yet; the controller retries on its
            # next sync, as kube-apiserver's does every 10 s.
            return False
        return True

    # ------------------------------------------------------------------ internals used by
    # the registries and controllers

    class _Acting:
        def __init__(self, c: Cluster, actor: str) -> None:
            self._c, self._actor, self._prev = c, actor, c._actor

        def __enter__(self) -> None:
            self._c._actor = self._actor

        def __exit__(self, *exc: object) -> None:
            self._c._actor = self._prev

    def _acting(self, actor: str) -> Cluster._Acting:
        return Cluster._Acting(self, actor)

    def _new_uid(self) -> str:
        # A version-4 UUID from the seeded stream (same as uuid.UUID(int=..., version=4)).
        h = "%032x" % (
            (self._rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48))
            | (0x4000 << 64)
            | (0x8000 << 48)
        )
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _now_str(self) -> str:
        second = int(self._clock.now())
        if self._time_cache[0] != second:
            self._time_cache = (second, format_time(second))
        return self._time_cache[1]

    def _generate_name(self, base: str) -> str:
        base = base[: 63 - 5]
        return base + "".join(self._rng.choice(_NAME_CHARS) for _ in range(5))

    def _decode(self, obj: Any) -> tuple[Obj, list[str]]:
        if not isinstance(obj, dict):
            raise BadRequestError(
                f"the request body must be an object (a mapping), not {type(obj).__name__}"
            )
        return api_decode.decode(obj)

    def _admit(
        self,
        operation: str,
        info: KindInfo,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
        subresource: str | None = None,
    ) -> list[str]:
        self._admission_extra = None
        if self.admission is None:
            return []
        return self.admission(self, operation, info, obj, old, dry_run, subresource)

    def _commit(
        self,
        verb: str,
        actor: str | None,
        kind: str,
        namespace: str | None,
        name: str,
        txn: Txn,
        extra: dict[str, Any] | None,
    ) -> Event:
        if self._write_guard is not None:  # read-only, as_of or closed (persist.py)
            self._write_guard(txn)
        pending = self._admission_extra
        if pending is not None:  # audit annotations and warnings of this request
            self._admission_extra = None
            if pending[:3] == (kind, namespace, name):
                extra = {**pending[3], **(extra or {})}
        ev = Event(
            self._seq + 1,
            self._clock.now(),
            verb,
            actor or self._actor,
            kind,
            namespace,
            name,
            txn.writes,
            extra,
        )
        if self._journal is not None:
            self._journal(ev)
        self._seq = ev.seq
        self._apply(ev)
        if self._keep_events:
            self._events.append(ev)
        for sink in self._sinks:
            sink(ev)
        return ev

    def _apply(self, ev: Event) -> None:
        self._apply_writes(ev.writes)

    def _apply_writes(self, writes: list[Write]) -> None:
        store, meta = self._store, self._meta
        # While a full repair pass is pending there is no need to remember what changed.
        track = not self._repair_full
        dirty_svcs, dirty_ips = self._dirty_services, self._dirty_ips
        for w in writes:
            kind = w.kind
            if w.op == OP_PUT:
                assert w.blob is not None
                new = store.put(kind, w.key, w.blob, w.rv)
                if kind == "IPAddress":
                    if new:
                        meta.mark(w.key)
                    if track:
                        dirty_ips.add(w.key)
                        if not new:
                            dirty_svcs.add(_parent_key(w.blob))
                elif kind == "Service":
                    if track:
                        dirty_svcs.add(w.key)
                    # Only Services that hold node ports need decoding here.
                    if b"odePort" in w.blob or self._nodeports.tracks(w.key):
                        spec = decode_object(w.blob).get("spec") or {}
                        self._nodeports.sync_service(w.key, service_ports(spec))
                elif kind == "ServiceCIDR":
                    obj = decode_object(w.blob)
                    # Which Service CIDRs exist decides ClusterIPOutOfRange for every
                    # Service: re-check everything when that set changes, not on status or
                    # finalizer writes.
                    if meta.sync_service_cidr(
                        w.key, (obj.get("spec") or {}).get("cidrs") or [], ready_state(obj)
                    ):
                        track = False
                        self._repair_full = True
            else:
                old = store.delete(kind, w.key, w.rv)
                if old is not None:
                    if kind == "IPAddress":
                        meta.unmark(w.key)
                        if track:
                            dirty_ips.add(w.key)
                            dirty_svcs.add(_parent_key(old))
                    elif kind == "Service":
                        if track:
                            dirty_svcs.add(w.key)
                        if self._nodeports.tracks(w.key):
                            self._nodeports.sync_service(w.key, ())
                    elif kind == "ServiceCIDR":
                        meta.sync_service_cidr(w.key, None, False)
                        track = False
                        self._repair_full = True

    def _ips_within(self, cidr: str) -> list[str]:
        alloc = self._meta.allocator_for(cidr)
        if alloc is not None:
            return list(alloc)
        return [ip for ip in self._store.keys("IPAddress") if cidr_contains_ip(cidr, ip)]

    # ------------------------------------------------------------------ public API

    @property
    def clock(self) -> Clock:
        """The clock every timestamp comes from."""
        return self._clock

    def add_sink(self, sink: Callable[[Event], None]) -> None:
        """Call ``sink(event)`` after each event is applied (the durable log plugs in here)."""
        self._sinks.append(sink)

    def events(self) -> list[Event]:
        """Every event recorded so far, oldest first."""
        return list(self._events)

    def create(self, obj: Obj, dry_run: bool = False) -> Obj:
        """POST an object (a dict shaped as kubectl shows it); returns it as stored."""
        return self.create_with_warnings(obj, dry_run)[0]

    def create_with_warnings(self, obj: Obj, dry_run: bool = False) -> tuple[Obj, list[str]]:
        """:meth:`create`, also returning the warnings the server sent."""
        kind = self._kind_of(obj)
        if kind == "Service":
            return service_registry.create(self, obj, None, dry_run)
        return self._simple(kind).create(self, obj, None, dry_run)

    def update(self, obj: Obj, dry_run: bool = False) -> Obj:
        """PUT an object (spec, labels, annotations, finalizers; status is kept)."""
        return self.update_with_warnings(obj, dry_run)[0]

    def update_with_warnings(self, obj: Obj, dry_run: bool = False) -> tuple[Obj, list[str]]:
        """:meth:`update`, also returning warnings."""
        kind = self._kind_of(obj)
        self._need_name(obj, kind)
        if kind == "Service":
            return service_registry.update(self, obj, None, dry_run)
        return self._simple(kind).update(self, obj, None, dry_run)

    def update_status(self, obj: Obj, dry_run: bool = False) -> Obj:
        """PUT to the status subresource."""
        return self.update_status_with_warnings(obj, dry_run)[0]

    def update_status_with_warnings(self, obj: Obj, dry_run: bool = False) -> tuple[Obj, list[str]]:
        """:meth:`update_status`, also returning warnings."""
        kind = self._kind_of(obj)
        self._need_name(obj, kind)
        if kind == "Service":
            return service_registry.update_status(self, obj, None, dry_run)
        return self._simple(kind).update_status(self, obj, None, dry_run)

    def apply(self, obj: Obj, dry_run: bool = False) -> Obj:
        """kubectl apply: create the object, or replace the spec (and the labels and
        annotations given) of the existing one."""
        return self.apply_with_warnings(obj, dry_run)[0]

    def apply_with_warnings(self, obj: Obj, dry_run: bool = False) -> tuple[Obj, list[str]]:
        """:meth:`apply`, also returning warnings."""
        kind = self._kind_of(obj)
        info = KINDS[kind]
        # What the request cannot carry is refused before anything below copies or reads it.
        api_decode.check_body(obj)
        self._need_name(obj, kind)
        meta = obj.get("metadata") or {}
        ns = (meta.get("namespace") or "default") if info.namespaced else None
        blob = self._store.get(kind, object_key(info.namespaced, ns, meta["name"]))
        if blob is None:
            return self.create_with_warnings(obj, dry_run)
        current = decode_object(blob)
        merged = copy.deepcopy(current)
        for k, v in obj.items():
            if k not in ("metadata", "status", "apiVersion", "kind"):
                merged[k] = copy.deepcopy(v)
        for k in ("labels", "annotations"):
            if k in meta:
                merged["metadata"][k] = copy.deepcopy(meta[k])
        merged["metadata"].pop("resourceVersion", None)
        spec = merged.get("spec")
        if kind == "Service" and isinstance(spec or {}, dict):
            # apply leaves fields it does not name to the server: allocated values stay.
            spec = merged["spec"] = spec or {}
            new_spec = obj.get("spec") or {}
            for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if f not in new_spec and f in (current.get("spec") or {}):
                    spec[f] = copy.deepcopy(current["spec"][f])
        return self.update_with_warnings(merged, dry_run)

    def delete(
        self, kind: str, name: str, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        """DELETE; returns the object (with deletionTimestamp when finalizers hold it)."""
        return self.delete_with_warnings(kind, name, namespace, dry_run)[0]

    def delete_with_warnings(
        self, kind: str, name: str, namespace: str | None = None, dry_run: bool = False
    ) -> tuple[Obj, list[str]]:
        """:meth:`delete`, also returning warnings."""
        kind = self._resolve(kind)
        if kind == "Service":
            return service_registry.delete(self, name, namespace, dry_run)
        return self._simple(kind).delete(self, name, namespace, dry_run)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """Read one object; NotFoundError when absent."""
        kind = self._resolve(kind)
        info = KINDS[kind]
        if not name:
            raise BadRequestError(f"a name is required to get a {kind}")
        ns = (namespace or "default") if info.namespaced else None
        blob = self._store.get(kind, object_key(info.namespaced, ns, name))
        if blob is None:
            raise generic.not_found(info, name)
        return decode_object(blob)

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Every object of a kind (in one namespace, or all), ordered by namespace and name."""
        kind = self._resolve(kind)
        info = KINDS[kind]
        prefix = f"{namespace}/" if (namespace and info.namespaced) else ""
        return [
            decode_object(b) for k, b in sorted(self._store.items(kind)) if k.startswith(prefix)
        ]

    def count(self, kind: str) -> int:
        """How many objects of a kind exist."""
        return self._store.count(self._resolve(kind))

    def store(self, obj: Obj) -> Obj:
        """Write an object straight to storage, as an etcd-level put: no validation, no
        admission, no allocation (to build the broken states repair and importers meet).
        The object must still decode as kube-apiserver decodes (field types, JSON values),
        as whatever etcd holds was encoded from the API types: it is stored decoded."""
        kind = self._kind_of(obj)
        info = KINDS[kind]
        # Even etcd only ever holds what the apiserver encoded from its Go types: a stored
        # object decodes (field types, JSON values), or nothing is written.
        new, _ = api_decode.decode(obj, field_validation="Ignore")
        meta = new.setdefault("metadata", {})
        if not meta.get("name"):
            raise BadRequestError("store: metadata.name is required")
        if info.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("uid", self._new_uid())
        meta.setdefault("creationTimestamp", self._now_str())
        key = object_key(info.namespaced, meta.get("namespace"), meta["name"])
        txn = Txn(self._store.revision)
        txn.put(kind, key, new)
        self._commit("store", None, kind, meta.get("namespace"), meta["name"], txn, None)
        return new

    def reconcile(self, advance: str | float | None = None) -> None:
        """Run the controllers until nothing changes.

        ``advance=None`` lets simulated time run as far as pending work needs (the 10 s
        ServiceCIDR grace, the 60 s leak grace); ``advance="5s"`` lets exactly that much
        time pass, running controllers on the way; ``"0s"`` runs them without moving time.
        On a wall clock only the present is reconciled.
        """
        clock = self._clock
        if advance is not None:
            try:
                seconds = parse_duration(advance)
            except ValueError as e:
                raise InvalidInputError(f"reconcile: {e}") from None
            if seconds < 0:
                raise InvalidInputError(f"reconcile: advance must not be negative ({advance})")
            until = clock.now() + seconds
            if not until <= _LATEST:  # (NaN too) a time no timestamp could show
                raise InvalidInputError(f"reconcile: advance {advance} goes past the year 9999")
            target: float | None = until
            if not clock.simulated:
                raise InvalidInputError("reconcile(advance=...) needs a simulated clock")
        else:
            target = None
        for _ in range(MAX_CONTROLLER_ROUNDS):
            deadline = self._run_controllers()
            if not clock.simulated:
                return
            if target is None:
                if deadline is None:
                    return
                clock.advance(max(0.0, deadline - clock.now()))
                continue
            if deadline is not None and deadline <= target:
                clock.advance(max(0.0, deadline - clock.now()))
                continue
            clock.advance(max(0.0, target - clock.now()))
            self._run_controllers()
            return
        raise RuntimeError("controllers did not settle; this is a bug in servicecidr")

    def _run_controllers(self) -> float | None:
        deadline: float | None = None
        for _ in range(MAX_CONTROLLER_ROUNDS):
            changed = False
            with self._acting("kube-apiserver"):
                changed |= sync_default_service_cidr(self)
                changed |= self._ensure_kubernetes_service()
            with self._acting("service-cidr-controller"):
                did, due = sync_service_cidrs(self)
            changed |= did
            with self._acting("ipallocator-repair-controller"):
                did2, due2 = repair(self)
            changed |= did2
            deadline = min((d for d in (due, due2) if d is not None), default=None)
            if not changed:
                return deadline
        raise RuntimeError("controllers did not settle; this is a bug in servicecidr")

    def digest(self) -> str:
        """A hash of every object (as get returns it) and every allocator's state."""
        h = hashlib.sha256()
        for kind in sorted(self._store.kinds()):
            for key, blob in sorted(self._store.items(kind)):
                h.update(f"{kind}\0{key}\0".encode())
                h.update(
                    json.dumps(decode_object(blob), sort_keys=True, separators=(",", ":")).encode()
                )
                h.update(b"\n")
        h.update(f"revision\0{self._store.revision}\n".encode())
        for prefix, alloc in self._meta.allocators():
            h.update(f"alloc\0{prefix}\0{self._meta.is_ready(prefix)}\0{alloc.used}\0".encode())
            for ip in alloc:
                h.update(ip.encode())
                h.update(b",")
            h.update(b"\n")
        return h.hexdigest()

    def allocators(self) -> Iterator[tuple[str, bool, int, int]]:
        """(prefix, ready, used, size) for every allocating prefix."""
        for prefix, alloc in self._meta.allocators():
            yield prefix, self._meta.is_ready(prefix), alloc.used, alloc.size

    # ------------------------------------------------------------------ helpers

    def _resolve(self, kind: str) -> str:
        if not isinstance(kind, str) or not kind:
            raise BadRequestError("a kind is required")
        return kind_info(kind).kind

    def _kind_of(self, obj: Any) -> str:
        if not isinstance(obj, dict):
            raise BadRequestError(
                f"an object must be a mapping with apiVersion, kind and metadata, not "
                f"{type(obj).__name__}"
            )
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            raise BadRequestError("Object 'Kind' is missing in the object")
        if kind not in KINDS or kind == "Event":
            raise BadRequestError(
                f'no kind "{kind}" is registered; known kinds: '
                f"{', '.join(k for k in KINDS if k != 'Event')}"
            )
        api_version = obj.get("apiVersion")
        if api_version not in KINDS[kind].api_versions():
            raise BadRequestError(
                f'no kind "{kind}" is registered for version "{api_version}"; served: '
                f"{', '.join(KINDS[kind].api_versions())}"
            )
        return kind

    @staticmethod
    def _need_name(obj: Obj, kind: str) -> None:
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise BadRequestError(f"{kind}: metadata.name is required for this request")

    def _simple(self, kind: str) -> SimpleKind:
        strategy = SIMPLE_KINDS.get(kind)
        if strategy is None:
            raise NotFoundError(f"the server does not allow this method on {kind}")
        return strategy

    # ------------------------------------------------------------------ durable state
    # (persist.py implements these; a Cluster built with Cluster(...) stays in memory)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        service_cluster_ip_range: str | Iterable[str] | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        durability: str = "fsync",
        read_only: bool = False,
        as_of: int | float | datetime | str | None = None,
        repair: bool = False,
        group_ms: float = 20.0,
        group_records: int = 512,
        segment_bytes: int = 64 << 20,
        audit_log: str | os.PathLike[str] | None = None,
    ) -> Cluster:
        """A Cluster kept in the state directory ``path`` (created when missing or empty).

        Opening takes the directory's lock (exclusive for a writer: a second writer gets
        StateLockedError; shared with ``read_only=True``), loads the newest valid snapshot,
        replays the log after it, and, for a writer, runs the apiserver start logic for the
        flags. Flags not given are the stored ones; flags given that differ are stored, as
        for a kube-apiserver restarted with them. A simulated clock continues from the
        stored time or the last event's, whichever is later.

        Every event committed afterwards is appended before the call returns, with
        ``durability``: ``"fsync"`` (on disk before the call returns), ``"group"``
        (fsync at most every ``group_ms`` ms or ``group_records`` events: a machine crash
        loses at most that window, a process crash nothing) or ``"none"`` (OS buffers
        only: a machine crash may lose any of it). See persist.py and docs/FORMAT.md.
        A write is acknowledged only once logged: when the log cannot take its event (a
        full disk) the call raises StateError and nothing of it is applied; after a
        failed fsync the Cluster also refuses writes and snapshots until reopened.

        ``as_of`` (a sequence number, or a time: float seconds, datetime, RFC 3339) opens
        the state as it was then, read-only. A torn record at the end of the log (a crash
        mid-write) makes opening fail with TornTailError naming the file and byte offset,
        unless ``repair=True``: the bad bytes are copied to ``<segment>.torn-<offset>`` and
        the segment truncated to its last whole record. Damage anywhere else is an error
        (LogCorruptError with the file and offset): a last record whose full length is
        there but fails its CRC, and a record that passes its CRC but does not decode —
        the event, or any object it carries, as the store would read it.

        ``audit_log`` appends every later write (the start logic's included) to that file
        as audit.k8s.io/v1 Events; a read-only or ``as_of`` open writes none.
        """
        from servicecidr.persist import open_cluster

        return open_cluster(
            cls,
            path,
            service_cluster_ip_range=service_cluster_ip_range,
            seed=seed,
            clock=clock,
            durability=durability,
            read_only=read_only,
            as_of=as_of,
            repair=repair,
            group_ms=group_ms,
            group_records=group_records,
            segment_bytes=segment_bytes,
            audit_log=audit_log,
        )

    def close(self) -> None:
        """Flush the log (per the durability mode), record the clock and release the
        directory; later mutating calls raise ReadOnlyError. In memory: nothing to do."""
        if self._persist is not None:
            self._persist.close(self)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self) -> str:
        """Write the whole state atomically to ``snapshots/<seq>.snap`` and start a new log
        segment (so :meth:`compact` can drop the old ones). Returns the file's path."""
        if self._persist is None:
            raise InvalidInputError(
                "snapshot needs a state directory: use Cluster.open(path) instead of Cluster()"
            )
        return str(self._persist.snapshot(self))

    def compact(self) -> tuple[str, ...]:
        """Delete the log segments (and older snapshots) the newest snapshot covers; returns
        the removed files. History before that snapshot is then gone (as_of included)."""
        if self._persist is None:
            raise InvalidInputError(
                "compact needs a state directory: use Cluster.open(path) instead of Cluster()"
            )
        return tuple(str(p) for p in self._persist.compact(self))

    def iter_events(
        self,
        kind: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        since: int | float | datetime | str | None = None,
        until: int | float | datetime | str | None = None,
    ) -> Iterator[Event]:
        """Events oldest first (read from the log when opened from a directory), filtered:
        ``kind``/``namespace``/``name`` as :meth:`Event.touches`; ``since``/``until`` are
        inclusive bounds, each a sequence number (int) or a time (float, datetime,
        RFC 3339)."""
        from servicecidr.persist import filter_events

        return filter_events(iter(self._events), kind, namespace, name, since, until)
