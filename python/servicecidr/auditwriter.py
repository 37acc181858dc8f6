"""The engine's own audit log: every API call as kube-apiserver would audit it.

``Cluster(audit_log=PATH)`` attaches an :class:`AuditWriter`. It appends one
``audit.k8s.io/v1`` Event per line (the log backend's JSON-lines format) at level
``RequestResponse`` and stage ``ResponseComplete``:

* one audit event per **storage write**, as kube-apiserver audits the writes its own
  loopback clients and the controllers make: a Service create is two audit events, the
  allocator's ``create ipaddresses/<ip>`` as user ``system:apiserver`` and then the
  user's ``create services`` (a nested request completes before the request around it,
  so the nested writes come first in the file);
* the controllers' writes with their identities: kube-controller-manager's ServiceCIDR
  controller as ``system:serviceaccount:kube-system:service-cidr-controller`` (a
  strategic-merge ``patch`` for the finalizer, a server-side-apply ``patch`` of
  ``servicecidrs/status``); the apiserver's default-ServiceCIDR controller, repair loop,
  allocator and start-up writes (the default ServiceCIDR, the ``default/kubernetes``
  Service and its IPAddress) as ``system:apiserver``;
* the calls made through the Cluster's request methods (create, update, update_status,
  apply, delete, store) with the request body as the client sent it (so an allocated
  ClusterIP is in ``responseObject`` only, a user-chosen one in ``requestObject`` too),
  and also the calls that failed (``responseStatus`` with ``status: Failure``, ``reason``
  and ``code``) and the dry-run ones (``?dryRun=All`` in ``requestURI``): kube-apiserver
  audits those as well;
* ``store`` writes (an etcd-level put that no real apiserver would audit) as the user
  ``system:servicecidr:storage`` with the annotation ``servicecidr.io/raw-storage-write``,
  so that the log holds every change of state.

Each event carries ``auditID``, ``requestURI``, ``verb``, ``user``, ``userAgent``,
``objectRef``, ``requestObject``, ``responseObject`` (for a delete: the last state, with
the resourceVersion of the deletion, as the etcd3 store returns it), ``responseStatus``,
and ``requestReceivedTimestamp``/``stageTimestamp`` from the engine's clock. The
annotation ``servicecidr.io/actor`` names the engine actor (``user``,
``service-cidr-controller``, ...), which the importer gives back to the events it records.

Importing such a log in observed mode (:mod:`servicecidr.importers`) into a fresh
``Cluster(range, seed, clock, _start=False)`` reproduces the state exactly (same
:meth:`~servicecidr.cluster.Cluster.digest`).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from servicecidr.api.kinds import KINDS, KindInfo, kind_info
from servicecidr.api.users import Identity, identity_of
from servicecidr.apiserver import Engine
from servicecidr.clock import Clock, format_micro_time
from servicecidr.errors import ApiError, ServiceCIDRError
from servicecidr.journal.records import OP_PUT, Entry, Write
from servicecidr.store import decode_object


class Audited(Protocol):
    """What an audit writer attaches to (a :class:`servicecidr.Cluster`): its engine, and
    the request methods it wraps to audit each call as the client made it."""

    @property
    def engine(self) -> Engine: ...

    @property
    def seed(self) -> int: ...

    @property
    def seq(self) -> int: ...

    @property
    def clock(self) -> Clock: ...

    def add_sink(self, sink: Callable[[Entry], None]) -> None: ...


__all__ = [
    "ACTOR_ANNOTATION",
    "RAW_WRITE_ANNOTATION",
    "AuditWriter",
    "request_uri",
]

ACTOR_ANNOTATION = "servicecidr.io/actor"
RAW_WRITE_ANNOTATION = "servicecidr.io/raw-storage-write"
_STORAGE = Identity("system:servicecidr:storage", ["system:authenticated"], "servicecidr-store")
_STATUS_MANAGERS = {
    "service-cidr-controller": "service-cidr-controller",
    "kubernetes-service-cidr-controller": "kubernetes-service-cidr-controller",
}
_SYSTEM_META = (
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_DELETE_OPTIONS = {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"}


def request_uri(
    info: KindInfo,
    namespace: str | None,
    name: str,
    *,
    collection: bool = False,
    subresource: str = "",
    query: str = "",
) -> str:
    """The path kube-apiserver serves an object under (``/api/v1/namespaces/NS/services/NAME``)."""
    base = f"/apis/{info.group}/{info.versions[0]}" if info.group else f"/api/{info.versions[0]}"
    if info.namespaced and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{info.resource}"
    if not collection:
        base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
    return base + (f"?{query}" if query else "")


@dataclass(slots=True)
class _Request:
    """A call in progress through one of the Cluster's request methods."""

    verb: str  # create, update, patch, delete
    subresource: str
    kind: str | None
    namespace: str | None
    name: str
    body: Any
    dry_run: bool
    raw: bool = False
    actor: str = "user"  # who made the request (the facade's verbs: the user)
    emitted: bool = False


def _strip_system(obj: dict[str, Any], keep_rv: str | None = None) -> dict[str, Any]:
    """What a client sends for ``obj``: no system metadata (a copy; ``obj`` is kept)."""
    body = dict(obj)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta = body["metadata"] = dict(meta)
        for f in _SYSTEM_META:
            meta.pop(f, None)
        if keep_rv:
            meta["resourceVersion"] = keep_rv
    return body


class AuditWriter:
    """Appends an audit event for every write (and request) of a Cluster to a file.

    The file is opened in append mode (``.gz``: gzip members, flushed on :meth:`close`);
    plain files are flushed after every engine event, so what a call returned is in the
    file. Attach one with ``Cluster(audit_log=PATH)``; :meth:`of` finds it again.
    """

    def __init__(
        self, cluster: Audited, path: str | os.PathLike[str], *, capture_requests: bool = True
    ) -> None:
        self.path = Path(path)
        self._c = cluster
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        self._gz = self.path.suffix == ".gz"
        fh: Any = (
            gzip.GzipFile(self.path, "ab") if self._gz else open(self.path, "ab")  # noqa: SIM115
        )
        self._fh = fh
        self._finalizer = weakref.finalize(self, fh.close)
        salt = hashlib.blake2b(
            f"audit/{cluster.seed}/{cluster.seq}/{size}".encode(), digest_size=10
        ).hexdigest()
        self._id_prefix = f"{salt[:8]}-{salt[8:12]}-4{salt[13:16]}-a{salt[17:20]}-"
        self._count = 0
        self.events_written = 0
        # kind -> key -> resourceVersion of every stored object: whether a put creates or
        # updates, and the version a client's update names (the sink runs after apply).
        self._known: dict[str, dict[str, str]] = {}
        for kind in KINDS:
            self._known[kind] = {
                k: str(decode_object(b).get("metadata", {}).get("resourceVersion", ""))
                for k, b in cluster.engine.store.items(kind)
            }
        self._req: _Request | None = None
        cluster.add_sink(self._on_event)
        if capture_requests:
            self._wrap(cluster)

    # ------------------------------------------------------------------ public

    @staticmethod
    def of(cluster: Audited) -> AuditWriter | None:
        """The writer attached to a Cluster, if any."""
        for sink in cluster.engine.sinks:
            owner = getattr(sink, "__self__", None)
            if isinstance(owner, AuditWriter):
                return owner
        return None

    def flush(self) -> None:
        """Push buffered lines to the file."""
        if not self._fh.closed:
            self._fh.flush()

    def close(self) -> None:
        """Flush and close the file; later writes are dropped."""
        self._finalizer()

    # ------------------------------------------------------------------ capture

    def _wrap(self, c: Audited) -> None:
        def wrap(name: str, parse: Callable[..., _Request]) -> None:
            orig = getattr(c, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                if self._req is not None:  # nested (apply calls create or update)
                    return orig(*args, **kwargs)
                try:
                    req = parse(*args, **kwargs)
                except Exception:  # unparseable call: let the method report it
                    return orig(*args, **kwargs)
                self._req = req
                try:
                    result = orig(*args, **kwargs)
                except ApiError as e:
                    self._req = None
                    self._request_event(req, None, e)
                    raise
                finally:
                    self._req = None
                if not req.emitted:
                    obj = result[0] if isinstance(result, tuple) else result
                    self._request_event(req, obj if isinstance(obj, dict) else None, None)
                return result

            setattr(c, name, call)

        def body_req(verb: str, sub: str = "") -> Callable[..., _Request]:
            def parse(obj: Any, dry_run: bool = False, **options: Any) -> _Request:
                kind = None
                ns: str | None = None
                name = ""
                if isinstance(obj, dict):
                    try:
                        kind = kind_info(str(obj.get("kind") or "")).kind
                    except ServiceCIDRError:
                        kind = None
                    meta = obj.get("metadata")
                    if isinstance(meta, dict):
                        name = str(meta.get("name") or "")
                        ns = meta.get("namespace")
                    namespaced = kind is not None and KINDS[kind].namespaced
                    ns = (ns or "default") if namespaced else None
                v = verb
                if verb == "apply":
                    exists = (
                        kind is not None
                        and bool(name)
                        and c.engine.store.contains(
                            kind, f"{ns}/{name}" if KINDS[kind].namespaced else name
                        )
                    )
                    v = "patch" if exists else "create"
                # The body is written out before the call returns, and the engine never
                # changes the objects it is given: no copy needed.
                actor = str(options.get("actor", "user"))
                return _Request(
                    v, sub, kind, ns, name, obj, bool(dry_run), raw=verb == "store", actor=actor
                )

            return parse

        def delete_req(
            kind: str,
            name: str,
            namespace: str | None = None,
            dry_run: bool = False,
            *,
            actor: str = "user",
            **_options: Any,
        ) -> _Request:
            k = kind_info(kind).kind
            ns = (namespace or "default") if KINDS[k].namespaced else None
            return _Request(
                "delete", "", k, ns, name, dict(_DELETE_OPTIONS), bool(dry_run), actor=actor
            )

        wrap("create_with_warnings", body_req("create"))
        wrap("update_with_warnings", body_req("update"))
        wrap("update_status_with_warnings", body_req("update", "status"))
        wrap("apply_with_warnings", body_req("apply"))
        wrap("delete_with_warnings", delete_req)
        wrap("store", body_req("store"))

    # ------------------------------------------------------------------ events

    def _next_id(self) -> str:
        self._count += 1
        return f"{self._id_prefix}{self._count:012x}"

    def _emit(self, lines: list[bytes]) -> None:
        if self._fh.closed or not lines:
            return
        self._fh.write(b"".join(lines))
        if not self._gz:
            self._fh.flush()
        self.events_written += len(lines)

    def _on_event(self, ev: Entry) -> None:
        req = self._req
        main = -1
        if req is not None:
            req.emitted = True
            for i, w in enumerate(ev.writes):
                if w.kind == req.kind:
                    main = i
                    break
        # What each write found (computed in write order; emitted nested-first).
        prev: list[str | None] = []
        for w in ev.writes:
            known = self._known[w.kind]
            prev.append(known.get(w.key))
            if w.op == OP_PUT:
                known[w.key] = str(w.rv)
            else:
                known.pop(w.key, None)
        order = [i for i in range(len(ev.writes)) if i != main]
        if main >= 0:
            order.append(main)
        ts = format_micro_time(ev.ts)
        # audit annotations the request earned (ValidatingAdmissionPolicy auditAnnotations,
        # validation_failure) go on the request's own audit event, as kube-apiserver does
        extra_ann = (ev.extra or {}).get("annotations")
        if not isinstance(extra_ann, dict) or not extra_ann:
            extra_ann = None
        lines = []
        for i in order:
            w = ev.writes[i]
            if i == main and req is not None:
                lines.append(self._main_line(ev, w, prev[i], req, ts, extra_ann))
            else:
                loopback = req is not None and not req.raw
                lines.append(self._write_line(ev, w, prev[i], ts, loopback))
        self._emit(lines)

    def _response(self, w: Write) -> dict[str, Any]:
        assert w.blob is not None
        obj = decode_object(w.blob)
        if w.op != OP_PUT:
            # The etcd3 store returns a deleted object with the deletion's revision.
            obj.setdefault("metadata", {})["resourceVersion"] = str(w.rv)
        return obj

    def _main_line(
        self,
        ev: Entry,
        w: Write,
        prev: str | None,
        req: _Request,
        ts: str,
        extra_annotations: dict[str, Any] | None = None,
    ) -> bytes:
        info = KINDS[w.kind]
        ns, _, name = w.key.rpartition("/")
        resp = self._response(w)
        verb = req.verb
        code = 200
        query = ""
        annotations: dict[str, str] = {}
        if extra_annotations:
            annotations.update({str(k): str(v) for k, v in extra_annotations.items()})
        if req.raw:
            verb = "create" if prev is None and w.op == OP_PUT else "update"
            if w.op != OP_PUT:
                verb = "delete"
            annotations[RAW_WRITE_ANNOTATION] = "true"
            ident = _STORAGE
        else:
            ident = identity_of(ev.actor)
        if verb == "create":
            code = 201
        if w.op != OP_PUT and verb in ("update", "patch"):
            # an update that removed the last finalizer of an object being deleted
            resp.get("metadata", {}).pop("finalizers", None)
        if req.verb == "patch" and not req.raw:
            query = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
        return self._line(
            ident,
            ev.actor,
            verb,
            info,
            ns or None,
            name,
            req.subresource,
            code,
            req.body,
            resp,
            ts,
            query=query,
            prev_rv=prev,
            annotations=annotations,
        )

    def _write_line(self, ev: Entry, w: Write, prev: str | None, ts: str, loopback: bool) -> bytes:
        info = KINDS[w.kind]
        ns, _, name = w.key.rpartition("/")
        resp = self._response(w)
        actor = ev.actor
        annotations: dict[str, str] = {}
        sub = ""
        query = ""
        if loopback:
            actor = "ipallocator" if w.kind == "IPAddress" else actor
            ident = identity_of("kube-apiserver")
        elif ev.verb == "store":
            ident = _STORAGE
            annotations[RAW_WRITE_ANNOTATION] = "true"
        else:
            ident = identity_of(actor)
        if w.op != OP_PUT:
            verb = "delete"
            request: Any = dict(_DELETE_OPTIONS)
            if ev.verb in ("update", "updateStatus") and ev.kind == w.kind:
                # an update that removed the last finalizer: the object went with it
                verb = "patch" if actor in _STATUS_MANAGERS else "update"
                resp.get("metadata", {}).pop("finalizers", None)
                request = self._patch_body(w.kind, resp, "finalizers", prev)
            code = 200
        elif prev is None:
            verb, code = "create", 201
            request = _strip_system(resp)
            if "status" in request and w.kind not in ("Event",):
                request.pop("status", None)
        else:
            code = 200
            if ev.verb == "updateStatus" and actor in _STATUS_MANAGERS:
                verb, sub = "patch", "status"
                query = f"fieldManager={_STATUS_MANAGERS[actor]}&force=true"
                request = self._patch_body(w.kind, resp, "status", None)
            elif ev.verb == "updateStatus":
                verb, sub = "update", "status"
                request = _strip_system(resp, prev)
            elif actor == "service-cidr-controller":
                verb = "patch"
                request = self._patch_body(w.kind, resp, "finalizers", prev)
            elif w.kind == "Event" and ev.verb == "update":
                verb = "patch"
                request = {"series": resp.get("series")}
            else:
                verb = "update"
                request = _strip_system(resp, prev)
        return self._line(
            ident,
            actor,
            verb,
            info,
            ns or None,
            name,
            sub,
            code,
            request,
            resp,
            ts,
            query=query,
            prev_rv=prev,
            annotations=annotations,
        )

    @staticmethod
    def _patch_body(kind: str, obj: dict[str, Any], what: str, prev: str | None) -> dict[str, Any]:
        meta = obj.get("metadata", {})
        if what == "status":
            info = KINDS[kind]
            return {
                "kind": info.kind,
                "apiVersion": info.api_version,
                "metadata": {"name": meta.get("name")},
                "status": copy.deepcopy(obj.get("status", {})),
            }
        patch: dict[str, Any] = {"metadata": {"finalizers": list(meta.get("finalizers") or [])}}
        if prev:
            patch["metadata"]["resourceVersion"] = prev
        return patch

    def _request_event(
        self, req: _Request, result: dict[str, Any] | None, err: ApiError | None
    ) -> None:
        """A call that wrote nothing: failed, dry-run, or a no-op (a second delete)."""
        info = None if req.kind is None else KINDS[req.kind]
        name = req.name
        if result is not None and isinstance(result.get("metadata"), dict):
            name = str(result["metadata"].get("name") or name)
        verb = req.verb
        if req.raw:
            verb = "update"
        status: dict[str, Any]
        if err is not None:
            status = {
                "metadata": {},
                "status": "Failure",
                "message": err.message,
                "reason": err.reason,
                "code": err.code,
            }
        else:
            status = {"metadata": {}, "code": 201 if verb == "create" else 200}
        actor = req.actor
        ident = _STORAGE if req.raw else identity_of(actor)
        ts = format_micro_time(self._c.clock.now())
        if info is None:
            ev = {
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": "RequestResponse",
                "auditID": self._next_id(),
                "stage": "ResponseComplete",
                "requestURI": "/api/v1" + ("?dryRun=All" if req.dry_run else ""),
                "verb": verb,
                "user": {"username": ident[0], "groups": list(ident[1])},
                "sourceIPs": ["127.0.0.1"],
                "userAgent": ident[2],
                "responseStatus": status,
                "requestObject": req.body,
                "requestReceivedTimestamp": ts,
                "stageTimestamp": ts,
                "annotations": {
                    "authorization.k8s.io/decision": "allow",
                    "authorization.k8s.io/reason": "",
                    ACTOR_ANNOTATION: actor,
                },
            }
            self._emit([_dump(ev)])
            return
        line = self._line(
            ident,
            actor,
            verb,
            info,
            req.namespace,
            name,
            req.subresource,
            int(status["code"]),
            req.body,
            result,
            ts,
            query="dryRun=All" if req.dry_run else "",
            status=status,
        )
        self._emit([line])

    def _line(
        self,
        ident: tuple[str, list[str], str],
        actor: str,
        verb: str,
        info: KindInfo,
        namespace: str | None,
        name: str,
        subresource: str,
        code: int,
        request: Any,
        response: dict[str, Any] | None,
        ts: str,
        *,
        query: str = "",
        prev_rv: str | None = None,
        status: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> bytes:
        ref: dict[str, Any] = {"resource": info.resource}
        if info.namespaced and namespace:
            ref["namespace"] = namespace
        if name:
            ref["name"] = name
        meta = response.get("metadata") if isinstance(response, dict) else None
        if verb != "create" and isinstance(meta, dict) and meta.get("uid"):
            ref["uid"] = meta["uid"]
        if info.group:
            ref["apiGroup"] = info.group
        ref["apiVersion"] = info.versions[0]
        if prev_rv and verb != "create":
            ref["resourceVersion"] = prev_rv
        if subresource:
            ref["subresource"] = subresource
        ann = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
        if annotations:
            ann.update(annotations)
        ann[ACTOR_ANNOTATION] = actor
        ev: dict[str, Any] = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "RequestResponse",
            "auditID": self._next_id(),
            "stage": "ResponseComplete",
            "requestURI": request_uri(
                info,
                namespace,
                name,
                collection=verb == "create",
                subresource=subresource,
                query=query,
            ),
            "verb": verb,
            "user": {"username": ident[0], "groups": list(ident[1])},
            "sourceIPs": ["127.0.0.1"],
            "userAgent": ident[2],
            "objectRef": ref,
            "responseStatus": status if status is not None else {"metadata": {}, "code": code},
        }
        if request is not None:
            ev["requestObject"] = request
        if response is not None:
            ev["responseObject"] = response
        ev["requestReceivedTimestamp"] = ts
        ev["stageTimestamp"] = ts
        ev["annotations"] = ann
        return _dump(ev)


def _dump(ev: dict[str, Any]) -> bytes:
    return json.dumps(ev, separators=(",", ":"), default=str).encode() + b"\n"
