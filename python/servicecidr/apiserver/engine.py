"""The engine: kube-apiserver's Service-IP machinery, in a box.

One :class:`~servicecidr.store.Store`, the allocators, admission and a recorder. Every
verb runs a registry strategy, which decides (validation, allocation, admission) and
returns transactions; :meth:`Engine.commit` records each as one journal entry, then
applies it. :meth:`Engine.apply` is the Python half of the one apply: the store applies
the writes (and keeps the allocators marked), then the indexes that need Python's reading
of an object catch up (the MetaAllocator from ServiceCIDRs, node ports from Services).
Replay calls the same two.

The engine is the :class:`~servicecidr.registry.context.RequestContext` of every request,
the client the controllers write through, and what the facade
(:class:`servicecidr.Cluster`) wraps.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from servicecidr._core import ServiceFastDelete, ServiceFastPath, json_bound
from servicecidr.admission import Admitted, ValidatingAdmissionPolicyPlugin
from servicecidr.admission.lifecycle import NamespaceLifecycle
from servicecidr.admission.plugin import BINDING, NOTHING
from servicecidr.allocation.meta import MetaAllocator
from servicecidr.allocation.nodeports import NodePortAllocator, service_ports
from servicecidr.api import decode as api_decode
from servicecidr.api import storable as api_storable
from servicecidr.api.decode import FieldValidation
from servicecidr.api.kinds import KINDS, KindInfo, kind_info
from servicecidr.api.memo import ValidationMemo
from servicecidr.api.storable import is_text
from servicecidr.clock import Clock, format_time
from servicecidr.errors import (
    BadRequestError,
    NotFoundError,
    ReadOnlyError,
    ServiceCIDRError,
    StateError,
)
from servicecidr.journal.recorder import CountingRecorder, Recorder, StoreJournal
from servicecidr.journal.records import Entry, Write
from servicecidr.registry import generic
from servicecidr.registry import service as service_registry
from servicecidr.registry.namespace import NAMESPACES
from servicecidr.registry.service_fast import ServiceTemplates
from servicecidr.registry.simple import SimpleKind
from servicecidr.registry.strategies import STRATEGIES
from servicecidr.registry.txn import Outcome, Txn
from servicecidr.rng import SeededRandom, core_of
from servicecidr.store import Store, decode_object, new_store, object_key

__all__ = ["USER", "AdmissionHook", "Engine"]

# Every request body is checked for what JSON can carry: plain ones in Rust.
api_storable.use_quick_pass(json_bound)

Obj = dict[str, Any]
#: The actor of requests made by a user (the facade's verbs).
USER = "user"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


class AdmissionHook(Protocol):
    """What runs admission (:class:`ValidatingAdmissionPolicyPlugin`, or a test's own)."""

    def __call__(
        self,
        store: Store,
        actor: str,
        operation: str,
        info: KindInfo,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
        subresource: str | None = None,
        api_version: Any = None,
    ) -> Admitted: ...


class Engine:
    """The API server: objects, allocators, admission, and the one commit.

    Args:
        service_cluster_ip_range: the flag's CIDRs (canonical, primary first).
        families: the IP families served, primary first.
        seed: seed of every random choice.
        clock: where timestamps come from.
        recorder: where entries are recorded before they are applied (None: the store's
            own journal, an in-memory history sharing the stored objects).
        feed_capacity: how many changes the store's change feed keeps.
    """

    def __init__(
        self,
        service_cluster_ip_range: tuple[str, ...],
        families: tuple[str, ...],
        seed: int,
        clock: Clock,
        recorder: Recorder | None = None,
        *,
        feed_capacity: int = 100_000,
    ) -> None:
        self.service_cluster_ip_range = service_cluster_ip_range
        self.seed = seed
        self.clock = clock
        # The parts a request flows through (registry.context.RequestContext): plain
        # attributes, read on every request.
        #: the object store (keeping the journal itself when no recorder is given)
        self.store = new_store(feed_capacity=feed_capacity, journal=recorder is None)
        self._recorder: Recorder = recorder if recorder is not None else StoreJournal(self.store)
        #: ClusterIP allocation across the ServiceCIDRs
        self.meta = MetaAllocator(families, seed, self.store)
        #: NodePort allocation
        self.nodeports = NodePortAllocator()
        #: remembered validation of Service shapes
        self.memo = ValidationMemo()
        self.rng = SeededRandom(seed)
        #: the IP families served, primary first
        self.families = families
        self._admission: AdmissionHook | None = ValidatingAdmissionPolicyPlugin()
        self._lifecycle: NamespaceLifecycle | None = NamespaceLifecycle()
        self._sinks: list[Callable[[Entry], None]] = []
        self._refusal: str | None = None
        self._refusal_error: type[ServiceCIDRError] = ReadOnlyError
        self._time_cache: tuple[int, str] = (-1, "")
        # One call per common Service create (registry/service_fast.py): on whenever the
        # engine has nothing a create must do in Python (see _refresh_fast).
        self._templates = ServiceTemplates(self.store, format_time, self.upkeep)
        self._fast_creates = True
        self._fast: ServiceFastPath | None = None
        self._ready_generation = -1
        # One call per common Service delete (rust/python/src/fastdelete.rs), on under the
        # same conditions but NamespaceLifecycle's (a delete never consults it).
        self._deleter = ServiceFastDelete(self.store, decode_object, self.upkeep)
        self._fast_deletes = True
        self._fast_delete: ServiceFastDelete | None = None
        self._allocators_generation = -1
        self._refresh_fast()

    # ------------------------------------------------------------------ configuration

    @property
    def recorder(self) -> Recorder:
        """Where entries are recorded before they are applied."""
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._refresh_fast()

    @property
    def admission(self) -> AdmissionHook | None:
        """The admission hook: ValidatingAdmissionPolicies are enforced by default, as in
        kube-apiserver; None turns admission off."""
        return self._admission

    @admission.setter
    def admission(self, hook: AdmissionHook | None) -> None:
        self._admission = hook
        self._refresh_fast()

    @property
    def lifecycle(self) -> NamespaceLifecycle | None:
        """NamespaceLifecycle, on by default as in kube-apiserver (None turns it off)."""
        return self._lifecycle

    @lifecycle.setter
    def lifecycle(self, plugin: NamespaceLifecycle | None) -> None:
        self._lifecycle = plugin
        self._refresh_fast()

    @property
    def fast_creates(self) -> bool:
        """Whether common Service creates take the one-call fast path (on by default; it
        gives the same objects, entries, allocations and errors as the full path, which
        the differential tests hold it to). Off: every create takes the full path."""
        return self._fast_creates

    @fast_creates.setter
    def fast_creates(self, on: bool) -> None:
        self._fast_creates = bool(on)
        self._refresh_fast()

    @property
    def fast_created(self) -> int:
        """How many Services the fast path has created so far."""
        return self._templates.fast.created

    @property
    def fast_deletes(self) -> bool:
        """Whether common Service deletes take the one-call fast path (on by default; it
        gives the same objects, entries, releases and errors as the full path, which the
        differential tests hold it to). Off: every delete takes the full path."""
        return self._fast_deletes

    @fast_deletes.setter
    def fast_deletes(self, on: bool) -> None:
        self._fast_deletes = bool(on)
        self._refresh_fast()

    @property
    def fast_deleted(self) -> int:
        """How many Services the fast path has deleted so far."""
        return self._deleter.deleted

    def _refresh_fast(self) -> None:
        """Turn the fast paths on when nothing a create or a delete does needs Python: no
        sink wants the entry as an object, writes are accepted, admission is the policy
        plugin (whose bindings the fast paths check on each call) or none, and the
        recorder is one the store stands in for (its own journal, or a counter). A create
        also needs NamespaceLifecycle to be the stock one or none (no delete of a Service
        consults it)."""
        fast = self._templates.fast
        recorder = self._recorder
        # The fast path admits a create while its Namespace is stored as when the shape
        # was learned (what NamespaceLifecycle admitted then, it admits again).
        fast.set_lifecycle(self._lifecycle is not None)
        count: Callable[[float], None] | None = None
        if isinstance(recorder, StoreJournal) and recorder.store is self.store:
            records = True
        elif type(recorder) is CountingRecorder:
            records, count = True, recorder.count
        else:
            records = False
        common = (
            records
            and not self._sinks
            and self._refusal is None
            and (
                self._admission is None or type(self._admission) is ValidatingAdmissionPolicyPlugin
            )
        )
        creates = (
            common
            and self._fast_creates
            and (self._lifecycle is None or type(self._lifecycle) is NamespaceLifecycle)
        )
        if creates:
            fast.set_counting(count)
        self._fast = fast if creates else None
        deletes = common and self._fast_deletes
        if deletes:
            self._deleter.set_counting(count)
        self._fast_delete = self._deleter if deletes else None

    def _sync_ready(self) -> None:
        """Hand the create fast path the ready allocators again if the MetaAllocator
        changed since it last had them."""
        if self.meta.generation != self._ready_generation:
            self._templates.set_ready(self.meta.ready)
            self._ready_generation = self.meta.generation

    def _admits_everything(self) -> bool:
        """Whether admission says nothing to any request (no policy bound)."""
        hook = self._admission
        return hook is None or (
            type(hook) is ValidatingAdmissionPolicyPlugin and self.store.count(BINDING) == 0
        )

    # ------------------------------------------------------------------ request context

    def new_uid(self) -> str:
        """A version-4 UUID from the seeded stream (as ``uuid.UUID(int=..., version=4)``)."""
        h = "%032x" % (
            (self.rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48))
            | (0x4000 << 64)
            | (0x8000 << 48)
        )
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def now(self) -> str:
        """The clock's time as RFC 3339 at second precision."""
        second = int(self.clock.now())
        if self._time_cache[0] != second:
            self._time_cache = (second, format_time(second))
        return self._time_cache[1]

    def generate_name(self, base: str) -> str:
        """``base`` (cut to fit 63 characters) plus five random characters."""
        base = base[: 63 - 5]
        return base + "".join(self.rng.choice(_NAME_CHARS) for _ in range(5))

    def mutate(
        self, actor: str, operation: str, info: KindInfo, obj: Obj | None, name: str
    ) -> None:
        """The admission plugins that run before the registry: NamespaceLifecycle."""
        lifecycle = self.lifecycle
        if lifecycle is not None:
            lifecycle(self.store, operation, info, obj, name)

    def admit(
        self,
        actor: str,
        operation: str,
        info: KindInfo,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
        subresource: str | None = None,
        *,
        api_version: Any = None,
    ) -> Admitted:
        """Run the admission hook (when one is installed) for a request made through
        ``api_version`` (None: the version the objects are in)."""
        if self.admission is None:
            return NOTHING
        return self.admission(
            self.store, actor, operation, info, obj, old, dry_run, subresource, api_version
        )

    def reseed(self, stream: str) -> None:
        """New random streams for decisions and allocators, derived from the seed and
        ``stream`` (a restart does not resume its predecessor's sequence)."""
        self.rng = SeededRandom(f"{self.seed}/{stream}")
        self.meta.reseed(self.rng)

    @property
    def rng(self) -> random.Random:
        """The random stream of decisions (a :class:`~servicecidr.rng.SeededRandom`
        unless :meth:`set_rng` gave another ``random.Random``)."""
        return self._rng

    @rng.setter
    def rng(self, rng: random.Random) -> None:
        self._rng = rng
        # What the fast path draws from: the Rust generator itself when it has one.
        self._draws = core_of(rng)

    def set_rng(self, rng: random.Random) -> None:
        """Use ``rng`` for the decisions from now on."""
        self.rng = rng

    # ------------------------------------------------------------------ state

    @property
    def seq(self) -> int:
        """The seq of the last journal entry."""
        return self.recorder.last_seq

    def add_sink(self, sink: Callable[[Entry], None]) -> None:
        """Call ``sink(entry)`` after each entry is recorded and applied."""
        self._sinks.append(sink)
        self._refresh_fast()

    @property
    def sinks(self) -> tuple[Callable[[Entry], None], ...]:
        """The sinks, in the order they are called."""
        return tuple(self._sinks)

    def remove_sink(self, sink: Callable[[Entry], None]) -> None:
        """Stop calling ``sink``."""
        self._sinks.remove(sink)
        self._refresh_fast()

    def refuse_writes(
        self, reason: str | None, error: type[ServiceCIDRError] = ReadOnlyError
    ) -> None:
        """Refuse every later commit with ``error(reason)`` (None: accept again)."""
        self._refusal = reason
        self._refusal_error = error
        self._refresh_fast()

    @property
    def writable(self) -> bool:
        """Whether commits are accepted."""
        return self._refusal is None

    def commit(self, txn: Txn, actor: str = USER) -> Entry:
        """Record ``txn`` as one journal entry, then apply it; returns the entry.

        A recorder that refuses the entry (a full disk, a closed state) leaves everything
        as it was before the call.
        """
        entry = self._record_and_apply(txn, actor)
        self._notify(entry)
        return entry

    def _record_and_apply(self, txn: Txn, actor: str) -> Entry:
        """The entry of ``txn``, recorded and applied (or an exception, and nothing
        changed)."""
        if self._refusal is not None:
            raise self._refusal_error(self._refusal)
        entry = Entry(
            self.recorder.last_seq + 1,
            self.clock.now(),
            txn.verb,
            txn.actor or actor,
            txn.kind,
            txn.namespace,
            txn.name,
            txn.writes,
            txn.extra,
        )
        touched = self.recorder.record_and_apply(entry, self.store)
        if touched is not None:
            self.upkeep(*touched)
        return entry

    def _notify(self, entry: Entry) -> None:
        for sink in self._sinks:
            sink(entry)

    def apply(self, writes: Sequence[Write]) -> None:
        """The one apply (see the module doc): the store, then the Python indexes."""
        touched = self.store.apply(writes)
        if touched is not None:
            self.upkeep(*touched)

    def upkeep(self, reshaped: Iterable[str], node_ports: Iterable[str]) -> None:
        """Bring the MetaAllocator and the node-port index up to the stored objects of
        these keys (ServiceCIDRs, Services)."""
        for name in dict.fromkeys(reshaped):
            self.meta.sync_from_store(name)
        for key in dict.fromkeys(node_ports):
            blob = self.store.get("Service", key)
            spec = decode_object(blob).get("spec") if blob is not None else None
            self.nodeports.sync_service(key, service_ports(spec) if isinstance(spec, dict) else ())

    def restore_indexes(
        self, reshaped: Iterable[str], node_ports: Iterable[str], saved: dict[str, bytes]
    ) -> None:
        """After a snapshot's objects were loaded into the store: the MetaAllocator from
        these ServiceCIDRs, each allocator from its saved bitmap (or marked from the
        IPAddress objects when none is saved), and the node ports of these Services."""
        for name in dict.fromkeys(reshaped):
            self.meta.sync_from_store(name, attach=False)
        self.meta.restore_allocators(saved)
        self.upkeep((), node_ports)

    def allocator_snapshots(self) -> list[tuple[str, bytes]]:
        """(prefix, bitmap bytes) of every allocator, for a snapshot."""
        return [(p, a.snapshot()) for p, a in self.meta.allocators()]

    def run(self, outcome: Outcome, actor: str) -> tuple[Obj, list[str]]:
        """Commit what a strategy decided; raise its error after that, if it has one.

        If recording fails, the decision's reservations are given back and nothing
        changed; once recorded, an entry is applied whatever its sinks then do (a sink
        that raises fails the call, not the change)."""
        recorded: list[Entry] = []
        try:
            for txn in outcome.txns:
                if txn:
                    recorded.append(self._record_and_apply(txn, actor))
        except BaseException as e:
            if not recorded:
                for undo in outcome.undo:
                    undo()
            if isinstance(e, ServiceCIDRError):
                raise
            raise StateError(f"the change could not be recorded: {e}") from e
        for entry in recorded:
            self._notify(entry)
        if outcome.error is not None:
            raise outcome.error
        return outcome.obj, outcome.warnings

    # ------------------------------------------------------------------ verbs

    def create(
        self,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        actor: str = USER,
        field_validation: FieldValidation = "Warn",
        managed_fields: list[Obj] | None = None,
    ) -> tuple[Obj, list[str]]:
        """POST an object; returns it as stored and the warnings.

        ``field_validation`` treats unknown fields as the ``fieldValidation`` parameter
        does (``Strict``, ``Warn``, ``Ignore``); ``managed_fields`` are stored as the
        object's ``metadata.managedFields`` (a field manager's result; None: none)."""
        # The fast path knows the default request options only (its shapes were learned
        # under them).
        fast = self._fast if field_validation == "Warn" and managed_fields is None else None
        if fast is not None and not dry_run:
            self._sync_ready()
            got = fast.create(obj, namespace, actor, self._draws, self.clock)
            if got is not None:
                return got
        kind = self.kind_of(obj)
        opts = generic.WriteOptions(field_validation, managed_fields)
        if kind != "Service":
            out = self._simple(kind).create(self, obj, namespace, dry_run, actor, opts)
            return self.run(out, actor)
        out = service_registry.create(self, obj, namespace, dry_run, actor, opts)
        result = self.run(out, actor)
        if fast is not None and not dry_run and self._admits_everything():
            self._templates.learn(obj, namespace, out)
        return result

    def create_many(
        self,
        objs: Iterable[Obj],
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        actor: str = USER,
    ) -> list[Obj | ServiceCIDRError]:
        """:meth:`create` of each object in turn, with exactly the effects of that loop
        (the same entries, random draws and errors); returns, per object in order, the
        object as stored or the :class:`~servicecidr.errors.ServiceCIDRError` its create
        raised (the next one is still made). Runs of Services the fast path knows are
        created in one call into Rust."""
        items = objs if isinstance(objs, list) else list(objs)
        out: list[Obj | ServiceCIDRError] = []
        # Every object made here is kept (returned), none is garbage: the collector's
        # passes over the growing result would cost as much as the creates (measured:
        # half the time of a 20,000-Service batch).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._create_many(items, out, namespace, dry_run, actor)
        finally:
            if was_enabled:
                gc.enable()
        return out

    def _create_many(
        self,
        items: list[Obj],
        out: list[Obj | ServiceCIDRError],
        namespace: str | None,
        dry_run: bool,
        actor: str,
    ) -> None:
        i, n = 0, len(items)
        while i < n:
            fast = self._fast
            if fast is not None and not dry_run:
                self._sync_ready()
                # appends each Service it creates; stops at the first it must leave alone
                i = fast.create_many(items, i, namespace, actor, self._draws, self.clock, out)
                if i >= n:
                    break
            try:
                out.append(
                    self.create(items[i], namespace=namespace, dry_run=dry_run, actor=actor)[0]
                )
            except ServiceCIDRError as e:
                out.append(e)
            i += 1

    def delete_many(
        self,
        keys: Iterable[tuple[str, str, str | None]],
        *,
        dry_run: bool = False,
        actor: str = USER,
    ) -> list[Obj | ServiceCIDRError]:
        """:meth:`delete` of each ``(kind, name, namespace)`` in turn, with exactly the
        effects of that loop; returns, per key in order, the object as the delete returns
        it or the :class:`~servicecidr.errors.ServiceCIDRError` it raised."""
        items = keys if isinstance(keys, list) else list(keys)
        out: list[Obj | ServiceCIDRError] = []
        i, n = 0, len(items)
        while i < n:
            fast = self._fast_delete
            if fast is not None and not dry_run:
                self._sync_deleter(fast)
                # appends each Service it deletes; stops at the first it must leave alone
                i = fast.delete_many(items, i, actor, self.clock, out)
                if i >= n:
                    break
            kind, name, namespace = items[i]
            try:
                out.append(self.delete(kind, name, namespace, dry_run=dry_run, actor=actor)[0])
            except ServiceCIDRError as e:
                out.append(e)
            i += 1
        return out

    def _sync_deleter(self, fast: ServiceFastDelete) -> None:
        """Hand the fast delete the allocators (again, when they may have changed)."""
        if self.meta.generation != self._allocators_generation:
            fast.set_allocators([a for _, a in self.meta.allocators()])
            self._allocators_generation = self.meta.generation

    def update(
        self,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        actor: str = USER,
        field_validation: FieldValidation = "Warn",
        managed_fields: list[Obj] | None = None,
    ) -> tuple[Obj, list[str]]:
        """PUT an object (spec, labels, annotations, finalizers; status is kept).
        ``field_validation`` and ``managed_fields`` as for :meth:`create` (None keeps the
        stored object's managed fields)."""
        kind = self.kind_of(obj)
        need_name(obj, kind)
        opts = generic.WriteOptions(field_validation, managed_fields)
        if kind == "Service":
            out = service_registry.update(self, obj, namespace, dry_run, actor, opts)
        else:
            out = self._simple(kind).update(self, obj, namespace, dry_run, actor, opts)
        return self.run(out, actor)

    def update_status(
        self,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        actor: str = USER,
        field_validation: FieldValidation = "Warn",
        managed_fields: list[Obj] | None = None,
    ) -> tuple[Obj, list[str]]:
        """PUT to the status subresource (options as for :meth:`update`)."""
        kind = self.kind_of(obj)
        need_name(obj, kind)
        opts = generic.WriteOptions(field_validation, managed_fields)
        if kind == "Service":
            out = service_registry.update_status(self, obj, namespace, dry_run, actor, opts)
        else:
            out = self._simple(kind).update_status(self, obj, namespace, dry_run, actor, opts)
        return self.run(out, actor)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        dry_run: bool = False,
        actor: str = USER,
        api_version: str | None = None,
    ) -> tuple[Obj, list[str]]:
        """DELETE (through ``api_version``, None: the preferred one); returns the object
        (with deletionTimestamp when finalizers hold it)."""
        fast = self._fast_delete
        if fast is not None and kind == "Service" and not dry_run and api_version is None:
            self._sync_deleter(fast)
            got = fast.delete(name, namespace, actor, self.clock)
            if got is not None:
                return got, []
        kind = resolve_kind(kind)
        served_version(kind, api_version)
        if kind == "Service":
            out = service_registry.delete(self, name, namespace, dry_run, actor, api_version)
        else:
            out = self._simple(kind).delete(self, name, namespace, dry_run, actor, api_version)
        return self.run(out, actor)

    def finalize(
        self, obj: Obj, *, dry_run: bool = False, actor: str = USER
    ) -> tuple[Obj, list[str]]:
        """PUT a Namespace's ``/finalize`` subresource (its ``spec.finalizers``)."""
        kind = self.kind_of(obj)
        need_name(obj, kind)
        if kind != "Namespace":
            raise NotFoundError(f"the server could not find the requested resource ({kind})")
        return self.run(NAMESPACES.finalize(self, obj, dry_run, actor), actor)

    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> Obj:
        """Read one object (as ``api_version``, None: the preferred one); NotFoundError
        when absent."""
        info = KINDS[resolve_kind(kind)]
        served_version(info.kind, api_version)
        if not name:
            raise BadRequestError(f"a name is required to get a {info.kind}")
        ns = (namespace or "default") if info.namespaced else None
        obj = generic.get_existing(self.store, info, ns, name)[2]
        if api_version is not None:
            # Every served version of a kind has the same schema: a conversion renames.
            obj["apiVersion"] = api_version
        return obj

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Every object of a kind (in one namespace, or all), ordered by key."""
        info = KINDS[resolve_kind(kind)]
        if namespace is not None and not (isinstance(namespace, str) and is_text(namespace)):
            return []  # no object is stored in such a namespace
        prefix = f"{namespace}/" if (namespace and info.namespaced) else ""
        return [decode_object(b) for _, b in self.store.items(info.kind, prefix)]

    def put_raw(self, obj: Obj, actor: str = USER) -> Obj:
        """An etcd-level put: no validation, no admission, no allocation (to build the
        broken states repair and importers meet). The object must be storable."""
        kind = self.kind_of(obj)
        info = KINDS[kind]
        # Even etcd only ever holds what the apiserver encoded from its Go types: a stored
        # object decodes (field types, JSON values), or nothing is written.
        new, _ = api_decode.decode(obj, field_validation="Ignore")
        meta = new.setdefault("metadata", {})
        if not meta.get("name"):
            raise BadRequestError("store: metadata.name is required")
        if info.namespaced and not meta.get("namespace"):
            meta["namespace"] = "default"  # where every read looks for it
        meta.setdefault("uid", self.new_uid())
        meta.setdefault("creationTimestamp", self.now())
        if kind == "Service":
            # What any read of it returns (older objects lack the dual-stack fields).
            service_registry.default_on_read(new, self.families[0])
        key = object_key(info.namespaced, meta.get("namespace"), meta["name"])
        txn = Txn(self.store.revision, "store", kind, meta.get("namespace"), meta["name"])
        try:
            txn.put(kind, key, new)
        except (TypeError, ValueError, OverflowError) as e:
            raise BadRequestError(f"store: the object cannot be stored: {e}") from e
        self.commit(txn, actor)
        return new

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def kind_of(obj: Any) -> str:
        """The served kind a request body names (BadRequest when it names none)."""
        if not isinstance(obj, dict):
            raise BadRequestError(
                f"an object must be a mapping with apiVersion, kind and metadata, not "
                f"{type(obj).__name__}"
            )
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            raise BadRequestError("Object 'Kind' is missing in the object")
        if kind not in KINDS:
            raise BadRequestError(
                f'no kind "{kind}" is registered; known kinds: {", ".join(KINDS)}'
            )
        api_version = obj.get("apiVersion")
        if api_version is not None and not isinstance(api_version, str):
            # never formatted: it may nest deeper than repr can go
            api_decode.type_meta(obj)
        if api_version not in KINDS[kind].api_versions():
            raise BadRequestError(
                f'no kind "{kind}" is registered for version "{api_version}"; served: '
                f"{', '.join(KINDS[kind].api_versions())}"
            )
        return kind

    @staticmethod
    def _simple(kind: str) -> SimpleKind:
        strategy = STRATEGIES.get(kind)
        if strategy is None:
            raise NotFoundError(f"the server does not allow this method on {kind}")
        return strategy


def resolve_kind(kind: str) -> str:
    """The kind a name, plural or short name stands for (BadRequest when none)."""
    if not isinstance(kind, str) or not kind:
        raise BadRequestError("a kind is required")
    return kind_info(kind).kind


def served_version(kind: str, api_version: str | None) -> None:
    """BadRequest unless ``api_version`` (when given) is one the kind is served in."""
    if api_version is not None and api_version not in KINDS[kind].api_versions():
        raise BadRequestError(
            f'no kind "{kind}" is registered for version "{api_version}"; served: '
            f"{', '.join(KINDS[kind].api_versions())}"
        )


def need_name(obj: Obj, kind: str) -> None:
    """Updates need metadata.name."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise BadRequestError(f"{kind}: metadata.name is required for this request")
