"""The facade: a Kubernetes control plane's Service-IP machinery as one Python object.

A :class:`Cluster` wraps the engine (:class:`servicecidr.apiserver.Engine`: the store,
the allocators, admission, one commit), the controllers that run as its clients
(:class:`servicecidr.controllers.ControllerManager`), and, when opened from a directory,
the state on disk (:class:`servicecidr.journal.state.StateDir`). Every mutating call
*decides* (validation, admission, random allocation), records one journal entry holding
the writes it produced, and *applies* it. Applying is deterministic and cannot fail, so a
fresh Cluster fed the same entries reaches the same :meth:`Cluster.digest`.

Example::

    from servicecidr import Cluster
    c = Cluster(service_cluster_ip_range="10.96.0.0/28", seed=1)
    svc = c.create({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "web"},
                    "spec": {"ports": [{"port": 80}]}})
    svc["spec"]["clusterIP"]   # e.g. '10.96.0.7'
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import gc
import hashlib
import json
import os
import random
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from servicecidr.api import decode as api_decode
from servicecidr.api.decode import FieldValidation
from servicecidr.api.flags import parse_service_cluster_ip_range
from servicecidr.api.kinds import KINDS
from servicecidr.apiserver import USER, AdmissionHook, Engine, need_name, resolve_kind
from servicecidr.auditwriter import AuditWriter
from servicecidr.clock import Clock, SimulatedClock, WallClock
from servicecidr.consistency import Problem, Reporter, check
from servicecidr.controllers import ControllerManager
from servicecidr.errors import InvalidInputError, ServiceCIDRError, StateError
from servicecidr.journal.recorder import CountingRecorder, Recorder
from servicecidr.journal.records import Entry
from servicecidr.journal.state import (
    DURABILITY_MODES,
    FileRecorder,
    Loaded,
    StateDir,
    filter_entries,
    parse_point,
    reseed_stream,
)
from servicecidr.rng import SeededRandom
from servicecidr.store import decode_object, object_key

__all__ = ["Cluster", "parse_service_cluster_ip_range"]

Obj = dict[str, Any]

#: A load that leaves at least this many objects stored is a bulk load (see
#: :meth:`Cluster._settle`); below it the collector has little to walk anyway.
BULK_LOAD_OBJECTS = 50_000


@dataclass(frozen=True, slots=True)
class _Opening:
    """How :meth:`Cluster.open` asked for a state directory to be opened."""

    state: StateDir
    clock: Clock | None
    durability: str
    as_of: bool
    stop_seq: int | None
    stop_ts: float | None
    repair: bool
    group_ms: float
    group_records: int
    segment_bytes: int
    audit_log: str | os.PathLike[str] | None
    progress: Callable[[int], None] | None


class Cluster:
    """A cluster: objects, allocators, controllers and the history of every change.

    Args:
        service_cluster_ip_range: kube-apiserver's ``--service-cluster-ip-range``: one CIDR,
            or two comma-separated (dual-stack, primary first). It creates the default
            ServiceCIDR ``kubernetes`` and the Service ``default/kubernetes``. ``None``: no
            default objects, and both families may be served by ServiceCIDRs.
        seed: seed of every random choice (allocation, uids, generated names).
        clock: where timestamps come from; a wall clock by default.
        audit_log: also write every change as an audit.k8s.io/v1 Event to this file.
        keep_events: keep the history in memory (``events()``, ``replay``); large
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
        _opening: _Opening | None = None,
    ) -> None:
        self._state: StateDir | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if _opening is not None:
            meta = _opening.state.meta
            if service_cluster_ip_range is None:
                service_cluster_ip_range = meta.get("service_cluster_ip_range") or ()
            if seed is None:
                seed = meta.get("seed")
        self.service_cluster_ip_range: tuple[str, ...] = parse_service_cluster_ip_range(
            service_cluster_ip_range
        )
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
        # In memory, the store keeps the history itself (sharing the stored objects); an
        # opened state's history is its log, attached after loading.
        recorder: Recorder | None = None if keep_events and _opening is None else CountingRecorder()

        def make() -> Engine:
            return Engine(
                self.service_cluster_ip_range,
                self.families,
                self.seed,
                clock if clock is not None else WallClock(),
                recorder,
            )

        self._froze = False
        if _opening is None:
            self._engine = make()
        else:
            self._engine, loaded = self._load(_opening, make)
            self._settle()
        self._controllers = ControllerManager(self._engine)
        if _opening is not None:
            self._attach(_opening, loaded, seed)
            if not _opening.state.read_only:
                self.start()
            return
        if audit_log is not None:  # one audit.k8s.io Event per write (auditwriter.py)
            AuditWriter(self, audit_log)
        if _start:
            self.start()

    # ------------------------------------------------------------------ construction

    @classmethod
    def replay(
        cls,
        events: Iterable[Entry],
        service_cluster_ip_range: str | Iterable[str] | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        *,
        start: bool = False,
    ) -> Cluster:
        """A Cluster rebuilt from journal entries; with ``start=True`` the apiserver start
        logic runs afterwards for the given flags (a restart)."""
        c = cls(service_cluster_ip_range, seed, clock, _start=False)
        engine = c.engine
        for entry in events:
            touched = engine.recorder.record_and_apply(entry, engine.store)
            if touched is not None:
                engine.upkeep(*touched)
        c._settle()
        if start:
            c.start()
        return c

    def _settle(self) -> None:
        """After a bulk load: ``gc.freeze()``, so that what the load left alive (the
        allocators, interned keys, caches, everything the process held before) is no
        longer walked by every later full collection of a long run. :meth:`close` gives
        it back to the collector (``gc.unfreeze()``), so a closed Cluster's cycles are
        freed as before."""
        store = self._engine.store
        if store.count("Service") + store.count("IPAddress") >= BULK_LOAD_OBJECTS:
            gc.freeze()
            self._froze = True

    def start(self) -> None:
        """What kube-apiserver does when it starts: sync the default ServiceCIDR, then
        make sure the Service ``default/kubernetes`` holds the first address."""
        # A restarted apiserver does not resume its predecessor's random streams: draw new
        # ones from the seed and the length of the history, so reopening a state many
        # times neither repeats uids nor replays one allocation sequence.
        self._engine.reseed(str(self._engine.seq))
        self._controllers.start()

    # ------------------------------------------------------------------ parts

    @property
    def engine(self) -> Engine:
        """The engine: store, allocators, admission, commit (for front doors and tools
        that need more than the verbs, such as importers and the HTTP server)."""
        return self._engine

    @property
    def clock(self) -> Clock:
        """The clock every timestamp comes from."""
        return self._engine.clock

    @property
    def admission(self) -> AdmissionHook | None:
        """The admission hook (ValidatingAdmissionPolicies by default); None turns it off."""
        return self._engine.admission

    @admission.setter
    def admission(self, hook: AdmissionHook | None) -> None:
        self._engine.admission = hook

    @property
    def seq(self) -> int:
        """The sequence number of the last journal entry (0: none)."""
        return self._engine.seq

    @property
    def revision(self) -> int:
        """The store's revision: the largest resourceVersion written."""
        return self._engine.store.revision

    def add_sink(self, sink: Callable[[Entry], None]) -> None:
        """Call ``sink(entry)`` after each journal entry is recorded and applied."""
        self._engine.add_sink(sink)

    def events(self) -> list[Entry]:
        """Every journal entry recorded so far, oldest first (read from the log when
        opened from a directory; empty with ``keep_events=False``)."""
        return list(self._engine.recorder.read())

    def changes_since(
        self, revision: int, limit: int | None = None
    ) -> list[tuple[int, str, str, str, Obj]]:
        """The store's changes after ``revision``, oldest first: ``(resourceVersion,
        ADDED|MODIFIED|DELETED, kind, key, object)`` (a deletion carries the last state).
        ExpiredError (410) when the change feed no longer reaches back that far: list
        again, as a Kubernetes watch does."""
        return [
            (rv, type_, kind, key, decode_object(blob))
            for rv, type_, kind, key, blob in self._engine.store.changes_since(revision, limit)
        ]

    # ------------------------------------------------------------------ verbs

    def create(
        self, obj: Obj, dry_run: bool = False, *, field_validation: FieldValidation = "Warn"
    ) -> Obj:
        """POST an object (a dict shaped as kubectl shows it); returns it as stored.
        ``field_validation`` as for :meth:`create_with_warnings` (``Strict`` refuses an
        unknown field: ``strict decoding error: unknown field "spec.foo"``)."""
        # (through create_with_warnings, which an audit writer wraps to see each request)
        return self.create_with_warnings(obj, dry_run, field_validation=field_validation)[0]

    def create_many(
        self, objs: Iterable[Obj], dry_run: bool = False
    ) -> builtins.list[Obj | ServiceCIDRError]:
        """:meth:`create` of each object in turn, in one call: the same journal entries,
        random draws, objects and errors as that loop of single calls, and faster (runs
        of common Services are created in one call into Rust).

        Returns one item per object, in order: the object as stored, or the
        :class:`~servicecidr.ServiceCIDRError` (an :class:`~servicecidr.ApiError` such as
        ``AlreadyExistsError``) its create raised; an error does not stop the objects
        after it. Any other exception (a bug) propagates, with the objects before it
        created. Example::

            got = c.create_many([svc("a"), svc("a"), svc("b")])
            errors = [r for r in got if isinstance(r, ServiceCIDRError)]  # one: "a" exists
        """
        if "create_with_warnings" in vars(self):
            # The single call is wrapped (an audit writer records each request as the
            # client made it): the batch is that loop, so the wrapper sees every request.
            return [self._one(self.create_with_warnings, obj, dry_run) for obj in objs]
        return self._engine.create_many(objs, dry_run=dry_run)

    @staticmethod
    def _one(call: Callable[..., tuple[Obj, Any]], *args: Any) -> Obj | ServiceCIDRError:
        """One request of a batch: its object, or the error it raised."""
        try:
            return call(*args)[0]
        except ServiceCIDRError as e:
            return e

    def delete_many(
        self,
        keys: Iterable[tuple[str, str] | tuple[str, str, str | None]],
        dry_run: bool = False,
    ) -> builtins.list[Obj | ServiceCIDRError]:
        """:meth:`delete` of each ``(kind, name)`` or ``(kind, name, namespace)`` in turn,
        in one call, with the effects of that loop; returns one item per key, in order:
        the object as :meth:`delete` returns it, or the
        :class:`~servicecidr.ServiceCIDRError` it raised (the keys after it are still
        deleted)."""
        triples = ((k[0], k[1], k[2] if len(k) > 2 else None) for k in keys)
        if "delete_with_warnings" in vars(self):  # wrapped: see create_many
            return [self._one(self.delete_with_warnings, *t, dry_run) for t in triples]
        return self._engine.delete_many(triples, dry_run=dry_run)

    def create_with_warnings(
        self,
        obj: Obj,
        dry_run: bool = False,
        *,
        actor: str = USER,
        field_validation: FieldValidation = "Warn",
        managed_fields: builtins.list[Obj] | None = None,
    ) -> tuple[Obj, list[str]]:
        """:meth:`create`, also returning the warnings the server sent.

        ``actor`` names who makes the request (admission's ``request.userInfo`` and the
        audit log see its identity: :func:`servicecidr.api.users.identity_of`);
        ``field_validation`` is the ``fieldValidation`` parameter (``Strict``: unknown
        fields are refused; ``Warn``: a warning each; ``Ignore``); ``managed_fields`` are
        stored as ``metadata.managedFields`` (a field manager's result)."""
        return self._engine.create(
            obj,
            dry_run=dry_run,
            actor=actor,
            field_validation=field_validation,
            managed_fields=managed_fields,
        )

    def update(
        self, obj: Obj, dry_run: bool = False, *, field_validation: FieldValidation = "Warn"
    ) -> Obj:
        """PUT an object (spec, labels, annotations, finalizers; status is kept)."""
        return self.update_with_warnings(obj, dry_run, field_validation=field_validation)[0]

    def update_with_warnings(
        self,
        obj: Obj,
        dry_run: bool = False,
        *,
        actor: str = USER,
        field_validation: FieldValidation = "Warn",
        managed_fields: builtins.list[Obj] | None = None,
    ) -> tuple[Obj, list[str]]:
        """:meth:`update`, also returning warnings (options as :meth:`create_with_warnings`;
        ``managed_fields=None`` keeps the stored ones)."""
        return self._engine.update(
            obj,
            dry_run=dry_run,
            actor=actor,
            field_validation=field_validation,
            managed_fields=managed_fields,
        )

    def update_status(self, obj: Obj, dry_run: bool = False) -> Obj:
        """PUT to the status subresource."""
        return self.update_status_with_warnings(obj, dry_run)[0]

    def update_status_with_warnings(
        self,
        obj: Obj,
        dry_run: bool = False,
        *,
        actor: str = USER,
        field_validation: FieldValidation = "Warn",
        managed_fields: builtins.list[Obj] | None = None,
    ) -> tuple[Obj, list[str]]:
        """:meth:`update_status`, also returning warnings (options as
        :meth:`update_with_warnings`)."""
        return self._engine.update_status(
            obj,
            dry_run=dry_run,
            actor=actor,
            field_validation=field_validation,
            managed_fields=managed_fields,
        )

    def apply(
        self, obj: Obj, dry_run: bool = False, *, field_validation: FieldValidation = "Warn"
    ) -> Obj:
        """kubectl apply: create the object, or replace the spec (and the labels and
        annotations given) of the existing one."""
        return self.apply_with_warnings(obj, dry_run, field_validation=field_validation)[0]

    def apply_with_warnings(
        self, obj: Obj, dry_run: bool = False, *, field_validation: FieldValidation = "Warn"
    ) -> tuple[Obj, list[str]]:
        """:meth:`apply`, also returning warnings (``field_validation`` as for
        :meth:`create_with_warnings`)."""
        engine = self._engine
        kind = engine.kind_of(obj)
        info = KINDS[kind]
        # What the request cannot carry is refused before anything below copies or reads it.
        api_decode.check_body(obj)
        need_name(obj, kind)
        meta = obj.get("metadata") or {}
        ns = (meta.get("namespace") or "default") if info.namespaced else None
        blob = engine.store.get(kind, object_key(info.namespaced, ns, meta["name"]))
        if blob is None:
            return self.create_with_warnings(obj, dry_run, field_validation=field_validation)
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
        return self.update_with_warnings(merged, dry_run, field_validation=field_validation)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        dry_run: bool = False,
        *,
        api_version: str | None = None,
    ) -> Obj:
        """DELETE; returns the object (with deletionTimestamp when finalizers hold it).
        ``api_version`` is the version of the API the request goes through (admission
        sees a ``networking.k8s.io/v1beta1`` request as v1beta1); None: the preferred."""
        return self.delete_with_warnings(kind, name, namespace, dry_run, api_version=api_version)[0]

    def delete_with_warnings(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        dry_run: bool = False,
        *,
        actor: str = USER,
        api_version: str | None = None,
    ) -> tuple[Obj, list[str]]:
        """:meth:`delete`, also returning warnings (``actor`` as for
        :meth:`create_with_warnings`)."""
        return self._engine.delete(
            kind, name, namespace, dry_run=dry_run, actor=actor, api_version=api_version
        )

    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> Obj:
        """Read one object (in ``api_version``, None: the preferred one); NotFoundError when
        absent."""
        return self._engine.get(kind, name, namespace, api_version=api_version)

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Every object of a kind (in one namespace, or all), ordered by namespace and name."""
        return self._engine.list(kind, namespace)

    def count(self, kind: str) -> int:
        """How many objects of a kind exist."""
        return self._engine.store.count(resolve_kind(kind))

    def store(self, obj: Obj) -> Obj:
        """Write an object straight to storage, as an etcd-level put: no validation, no
        admission, no allocation (to build the broken states repair and importers meet).
        The object must still decode as kube-apiserver decodes (field types, JSON values),
        as whatever etcd holds was encoded from the API types: it is stored decoded."""
        return self._engine.put_raw(obj)

    def reconcile(self, advance: str | float | None = None) -> None:
        """Run the controllers until nothing changes.

        ``advance=None`` lets simulated time run as far as pending work needs (the 10 s
        ServiceCIDR grace, the 60 s leak grace); ``advance="5s"`` lets exactly that much
        time pass, running controllers on the way; ``"0s"`` runs them without moving time.
        On a wall clock only the present is reconciled.
        """
        self._controllers.reconcile(advance)

    # ------------------------------------------------------------------ reading

    def digest(self) -> str:
        """A hash of every object (as get returns it) and every allocator's state."""
        h = hashlib.sha256()
        store = self._engine.store
        meta = self._engine.meta
        for kind in sorted(store.kinds()):
            for key, blob in store.items(kind):
                h.update(f"{kind}\0{key}\0".encode())
                h.update(
                    json.dumps(decode_object(blob), sort_keys=True, separators=(",", ":")).encode()
                )
                h.update(b"\n")
        h.update(f"revision\0{store.revision}\n".encode())
        for prefix, alloc in meta.allocators():
            h.update(f"alloc\0{prefix}\0{meta.is_ready(prefix)}\0{alloc.used}\0".encode())
            for ip in alloc:
                h.update(ip.encode())
                h.update(b",")
            h.update(b"\n")
        return h.hexdigest()

    def allocators(self) -> Iterator[tuple[str, bool, int, int]]:
        """(prefix, ready, used, size) for every allocating prefix."""
        meta = self._engine.meta
        for prefix, alloc in meta.allocators():
            yield prefix, meta.is_ready(prefix), alloc.used, alloc.size

    def check(
        self, progress: Reporter | None = None
    ) -> tuple[builtins.list[Problem], dict[str, int]]:
        """The consistency report of the state as stored (see
        :mod:`servicecidr.consistency`): every problem found, and object counts."""
        return check(self._engine, progress)

    # ------------------------------------------------------------------ durable state

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
        progress: Callable[[int], None] | None = None,
    ) -> Cluster:
        """A Cluster kept in the state directory ``path`` (created when missing or empty).

        Opening takes the directory's lock (exclusive for a writer: a second writer gets
        StateLockedError; shared with ``read_only=True``), loads the newest valid snapshot,
        replays the log after it, and, for a writer, runs the apiserver start logic for the
        flags. Flags not given are the stored ones; flags given that differ are stored, as
        for a kube-apiserver restarted with them. A simulated clock continues from the
        stored time or the last entry's, whichever is later.

        Every entry committed afterwards is appended before the call returns, with
        ``durability``: ``"fsync"`` (on disk before the call returns), ``"group"``
        (fsync at most every ``group_ms`` ms or ``group_records`` entries: a machine crash
        loses at most that window, a process crash nothing) or ``"none"`` (OS buffers
        only: a machine crash may lose any of it). See journal/state.py and docs/FORMAT.md.
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
        if durability not in DURABILITY_MODES:
            raise InvalidInputError(
                f"durability {durability!r}: use one of {', '.join(DURABILITY_MODES)}"
            )
        stop_seq: int | None = None
        stop_ts: float | None = None
        if as_of is not None:
            read_only = True
            stop_seq, stop_ts = parse_point(as_of)
        if read_only and repair:
            raise InvalidInputError(
                "repair=True needs a writer: open without read_only/as_of, or run "
                "'servicecidr log repair'"
            )
        range_ = (
            parse_service_cluster_ip_range(service_cluster_ip_range)
            if service_cluster_ip_range is not None
            else None
        )
        state = StateDir.open(
            path,
            read_only=read_only,
            new_meta={
                "service_cluster_ip_range": list(range_ or ()),
                "seed": seed,
                "clock": (
                    {"kind": "simulated", "time": clock.now()}
                    if clock is not None and clock.simulated
                    else {"kind": "wall"}
                ),
            },
        )
        try:
            return cls(
                range_,
                seed,
                clock,
                _opening=_Opening(
                    state,
                    clock,
                    durability,
                    as_of is not None,
                    stop_seq,
                    stop_ts,
                    repair,
                    group_ms,
                    group_records,
                    segment_bytes,
                    None if read_only else audit_log,
                    progress,
                ),
            )
        except BaseException:
            state.close(None)
            raise

    def _load(self, o: _Opening, make: Callable[[], Engine]) -> tuple[Engine, Loaded]:
        """The engine of an opened state: its snapshot and log, its clock."""
        engine, loaded = o.state.load(
            make, stop_seq=o.stop_seq, stop_ts=o.stop_ts, repair=o.repair, progress=o.progress
        )
        stored_clock = o.state.meta.get("clock") or {"kind": "wall"}
        # A simulated clock continues from where the history left it: the time recorded
        # at the last close, or the last entry's time when the process died before closing.
        stored_time = float(stored_clock.get("time") or 0.0)
        snap = loaded.snapshot
        if o.as_of:
            if o.clock is None and stored_clock.get("kind") == "simulated":
                engine.clock = SimulatedClock(
                    loaded.max_ts if (loaded.applied or snap) else stored_time
                )
        else:
            if o.clock is None and stored_clock.get("kind") == "simulated":
                engine.clock = SimulatedClock(stored_time)
            if engine.clock.simulated:
                target = max(loaded.max_ts, stored_time, snap.clock if snap is not None else 0.0)
                if engine.clock.now() < target:
                    engine.clock.advance(target - engine.clock.now())
        if loaded.last_seq > 0:
            engine.set_rng(SeededRandom(reseed_stream(self.seed, loaded.last_seq)))
        return engine, loaded

    def _attach(self, o: _Opening, loaded: Loaded, seed: int | None) -> None:
        """Continue the log of an opened state (or refuse writes: read-only, as_of)."""
        state, engine = o.state, self._engine
        why = "as of a point in history" if o.as_of else "read-only"
        recorder = state.open_recorder(
            loaded,
            durability=o.durability,
            group_ms=o.group_ms,
            group_records=o.group_records,
            segment_bytes=o.segment_bytes,
            refusal=f"{state.path}: opened {why}; open it without read_only/as_of to change it",
        )
        recorder.on_broken = lambda why: engine.refuse_writes(why, StateError)
        engine.recorder = recorder
        self._state = state
        # A Cluster dropped without close() still releases its files and lock.
        self._finalizer = weakref.finalize(self, state.close, None)
        if state.read_only:
            engine.refuse_writes(recorder.refusal)
            return
        stored_clock = state.meta.get("clock") or {"kind": "wall"}
        kind = "simulated" if engine.clock.simulated else "wall"
        updates: dict[str, Any] = {
            # an apiserver restarted with other flags keeps them
            "service_cluster_ip_range": list(self.service_cluster_ip_range),
            "seed": seed if seed is not None else state.meta.get("seed"),
        }
        if stored_clock.get("kind") != kind:
            updates["clock"] = (
                {"kind": kind, "time": engine.clock.now()}
                if kind == "simulated"
                else {"kind": "wall"}
            )
        state.store_meta(updates)
        if o.audit_log is not None:
            # Attached after the replay, so history is not audited again as new writes.
            AuditWriter(self, o.audit_log)

    def close(self) -> None:
        """Flush the log (per the durability mode), record the clock and release the
        directory; later mutating calls raise ReadOnlyError. In memory: nothing to do
        (but see :meth:`_settle`)."""
        if self._froze:
            self._froze = False
            gc.unfreeze()
        state = self._state
        if state is None or state.lock_fd < 0:
            return
        self._engine.refuse_writes(
            f"{state.path}: this Cluster is closed; open the directory again to change it"
        )
        if self._finalizer is not None:
            self._finalizer.detach()
        state.close(self._engine.clock)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _need_state(self, what: str) -> StateDir:
        if self._state is None:
            raise InvalidInputError(
                f"{what} needs a state directory: use Cluster.open(path) instead of Cluster()"
            )
        return self._state

    def snapshot(self) -> str:
        """Write the whole state atomically to ``snapshots/<seq>.snap`` and start a new log
        segment (so :meth:`compact` can drop the old ones). Returns the file's path."""
        return str(self._need_state("snapshot").snapshot(self._engine))

    def compact(self) -> tuple[str, ...]:
        """Delete the log segments (and older snapshots) the newest snapshot covers; returns
        the removed files. History before that snapshot is then gone (as_of included)."""
        return tuple(str(p) for p in self._need_state("compact").compact())

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Within the block, journal entries are logged in large writes, all on disk when
        it ends (an import's thousands of entries: see docs/FORMAT.md for what a crash in
        the middle loses). In memory: nothing changes."""
        recorder = self._engine.recorder
        if isinstance(recorder, FileRecorder):
            with recorder.batch():
                yield
        else:
            yield

    def iter_events(
        self,
        kind: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        since: int | float | datetime | str | None = None,
        until: int | float | datetime | str | None = None,
    ) -> Iterator[Entry]:
        """Journal entries oldest first (read from the log when opened from a directory),
        filtered: ``kind``/``namespace``/``name`` as :meth:`Entry.touches`;
        ``since``/``until`` are inclusive bounds, each a sequence number (int) or a time
        (float, datetime, RFC 3339)."""
        return filter_entries(self._engine.recorder.read(), kind, namespace, name, since, until)

    @property
    def state_dir(self) -> str | None:
        """The state directory this Cluster was opened from (None: in memory)."""
        return str(self._state.path) if self._state is not None else None

    @property
    def writable(self) -> bool:
        """Whether changes are accepted (not read-only, not closed, the log not broken)."""
        return self._engine.writable
