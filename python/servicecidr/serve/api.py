"""The REST verbs of the served resources, as kube-apiserver's handlers run them over the
engine: GET, LIST, POST, PUT, PATCH (strategic merge, JSON merge, JSON patch, server-side
apply) and DELETE, the ``status`` subresource, ``dryRun``, ``fieldValidation``,
``fieldManager`` and ``managedFields``, list options and paging.

Sources followed: apiserver ``endpoints/handlers`` (``get.go``, ``create.go``,
``update.go``, ``patch.go``, ``delete.go``, ``rest.go``: ``checkName``,
``transformDecodeError``), ``registry/generic/registry/store.go`` (``Delete`` and
``finalizeDelete``: an object held by finalizers comes back with its deletionTimestamp,
one deleted at once as a ``Status`` unless the store returns deleted objects, as the
Service store does; ``AllowCreateOnUpdate``), ``registry/rest/meta.go``
(``EnsureObjectNamespaceMatchesRequestNamespace``) and ``storage/continue.go`` (the
continue token). Every call runs on the server's event-loop thread, so a read and the
write it leads to (a PATCH, a DELETE with preconditions) see one state.

Reads are served from the current state: a list with ``resourceVersion`` N (not older
than) or ``0`` is the present; ``resourceVersionMatch=Exact`` is honoured only for the
current revision (older snapshots are not kept: 410 ``Expired``); the pages of a
paginated list show the objects as they are when each page is read, all labelled with
the first page's revision, so that a watch from that revision brings a client to the
present (kube-apiserver serves every page from one snapshot).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from servicecidr.api import decode as api_decode
from servicecidr.api.defaults import default_service
from servicecidr.cluster import Cluster
from servicecidr.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    ExpiredError,
    NotFoundError,
    TimeoutExceededError,
)
from servicecidr.serve import apply as ssa
from servicecidr.serve import negotiate, patch
from servicecidr.serve.convert import list_body, to_served
from servicecidr.serve.discovery import ServedResource
from servicecidr.serve.options import (
    DeleteOptions,
    ListOptions,
    WriteOptions,
    delete_options,
    list_options,
    manager_or_user_agent,
    write_options,
)
from servicecidr.serve.routes import ResourcePath
from servicecidr.serve.selectors import ListFilter, list_filter
from servicecidr.serve.status import method_not_allowed, status_body, success
from servicecidr.serve.tables import table
from servicecidr.store import decode_object, object_key

__all__ = ["Api", "Reply", "Request", "error_reply", "warning_header"]

Obj = dict[str, Any]
log = logging.getLogger("servicecidr.serve")

# Kinds whose store lets a PUT create a missing object (the strategies'
# AllowCreateOnUpdate: Services and Events).
_CREATE_ON_UPDATE: Final = frozenset({"Service", "Event"})
# Kinds whose store answers a DELETE with the deleted object (ReturnDeletedObject).
_RETURN_DELETED: Final = frozenset({"Service"})
_LIST_CHUNK: Final = 512


@dataclass(frozen=True, slots=True)
class Request:
    """What the HTTP layer hands over: the method, the query, the headers that matter and
    the body (read within the size limit)."""

    method: str
    query: Mapping[str, Sequence[str]]
    content_type: str | None = None
    accept: str | None = None
    user_agent: str = ""
    body: bytes = b""


@dataclass(slots=True)
class Reply:
    """A response: status, body, its media type and the warnings (``Warning`` headers)."""

    status: int
    body: bytes
    content_type: str = negotiate.JSON
    warnings: list[str] = field(default_factory=list)


def error_reply(err: ApiError) -> Reply:
    """An error as kube-apiserver sends it: a ``Status`` with the error's HTTP code."""
    body = json.dumps(status_body(err), separators=(",", ":"), ensure_ascii=False).encode()
    return Reply(err.code, body)


def warning_header(text: str) -> str:
    """A ``Warning`` header value as kube-apiserver writes it (``NewWarningHeader``: code
    299, agent ``-``, the text quoted with ``"`` and ``\\`` escaped)."""
    text = text.replace("\r", " ").replace("\n", " ")
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _loads(data: bytes) -> Any:
    return json.loads(data) if data.strip() else None


class Api:
    """The verbs, over one Cluster, for requests made as ``actor``.

    ``on_write`` is called after every write that changed something (the server runs the
    controllers then).
    """

    def __init__(self, cluster: Cluster, actor: str, on_write: Callable[[], None]) -> None:
        self.cluster = cluster
        self.actor = actor
        self._on_write = on_write

    # ------------------------------------------------------------------ dispatch

    def handle(self, rp: ResourcePath, req: Request) -> Reply:
        """Serve one request on a resource path (watches excepted: see :mod:`.watch`)."""
        try:
            return self._dispatch(rp, req)
        except ApiError as e:
            return error_reply(e)
        except RecursionError:
            return error_reply(BadRequestError("the request body is nested too deeply"))

    def _dispatch(self, rp: ResourcePath, req: Request) -> Reply:
        served, m = rp.served, req.method
        verbs = served.verbs
        if rp.subresource == "status":
            if m == "GET":
                return self.get(rp, req)
            if m == "PUT":
                return self.update(rp, req)
            if m == "PATCH":
                return self.patch(rp, req)
            raise method_not_allowed()
        if rp.name is None:
            if m == "GET" and "list" in verbs:
                return self.list_collection(rp, req)
            if m == "POST" and "create" in verbs and (rp.namespace or not served.namespaced):
                return self.create(rp, req)
            if m == "DELETE" and "deletecollection" in verbs:
                if served.namespaced and rp.namespace is None:
                    raise method_not_allowed()
                return self.delete_collection(rp, req)
            raise method_not_allowed()
        if m == "GET" and "get" in verbs:
            return self.get(rp, req)
        if m == "PUT" and "update" in verbs:
            return self.update(rp, req)
        if m == "PATCH" and "patch" in verbs:
            return self.patch(rp, req)
        if m == "DELETE" and "delete" in verbs:
            return self.delete(rp, req)
        raise method_not_allowed()

    # ------------------------------------------------------------------ helpers

    def _now(self) -> float:
        return self.cluster.clock.now()

    def _ns(self, rp: ResourcePath) -> str | None:
        return rp.namespace if rp.served.namespaced else None

    def _key(self, rp: ResourcePath, name: str) -> str:
        return object_key(rp.served.namespaced, self._ns(rp), name)

    def _not_found(self, served: ServedResource, name: str) -> NotFoundError:
        return NotFoundError(
            f'{served.qualified_resource} "{name}" not found',
            details={"name": name, "group": served.group, "kind": served.resource},
        )

    def _stored(self, rp: ResourcePath, name: str) -> Obj | None:
        """The stored object a path names (None when absent)."""
        if rp.served.namespaced and not rp.namespace:
            return None
        blob = self.cluster.engine.store.get(rp.served.engine_kind, self._key(rp, name))
        return decode_object(blob) if blob is not None else None

    def _existing(self, rp: ResourcePath, name: str) -> Obj:
        obj = self._stored(rp, name)
        if obj is None:
            raise self._not_found(rp.served, name)
        return obj

    def _reply(
        self,
        status: int,
        obj: Obj,
        rp: ResourcePath,
        out: negotiate.Output,
        warnings: list[str] | None = None,
    ) -> Reply:
        """One object in the served version, or as a one-row Table."""
        if out.table is not None:
            body: Any = self.table_of([obj], rp, out, ListOptions())
        else:
            body = to_served(obj, rp.served)
        return Reply(status, negotiate.encode(body, out), out.content_type, warnings or [])

    def table_of(
        self,
        objs: list[Obj],
        rp: ResourcePath,
        out: negotiate.Output,
        opts: ListOptions,
        *,
        resource_version: str = "",
        continue_token: str = "",
        headers: bool = True,
    ) -> Obj:
        """Stored objects as the Table ``out`` asks for (``headers=False``: without the
        column definitions, as watch events after the first)."""
        assert out.table is not None
        t = table(
            rp.served.engine_kind,
            objs,
            now=self._now(),
            version=out.table,
            resource_version=resource_version,
            continue_token=continue_token,
            include_object=opts.include_object,
            no_headers=not headers,
        )
        if opts.include_object == "Object":
            for row, obj in zip(t["rows"], objs, strict=True):
                row["object"] = to_served(obj, rp.served)
        return t

    def _written(self, dry_run: bool) -> None:
        if not dry_run:
            self._on_write()

    # ------------------------------------------------------------------ reads

    def get(self, rp: ResourcePath, req: Request) -> Reply:
        """GET one object (or its status)."""
        out = negotiate.output(req.accept)
        assert rp.name is not None
        if out.table is not None:
            opts = list_options(req.query) if "includeObject" in req.query else ListOptions()
            obj = self._existing(rp, rp.name)
            body = self.table_of([obj], rp, out, opts)
            return Reply(200, negotiate.encode(body, out), out.content_type)
        return self._reply(200, self._existing(rp, rp.name), rp, out)

    def list_collection(self, rp: ResourcePath, req: Request) -> Reply:
        """LIST a collection with selectors, paging and resourceVersion semantics."""
        out = negotiate.output(req.accept)
        opts = list_options(req.query)
        filt = self.filter(rp, opts)
        items, rv, token = self.list_objects(rp, opts, filt)
        if out.table is not None:
            body = self.table_of(
                items, rp, out, opts, resource_version=str(rv), continue_token=token
            )
        else:
            body = list_body(
                rp.served,
                [to_served(o, rp.served) for o in items],
                resource_version=str(rv),
                continue_token=token,
            )
        return Reply(200, negotiate.encode(body, out), out.content_type)

    def filter(self, rp: ResourcePath, opts: ListOptions) -> ListFilter:
        """The request's selectors, with the name of a single-object path as
        ``metadata.name`` (``listOpts``)."""
        served = rp.served
        fields = opts.field_selector
        if rp.name is not None:
            name_term = f"metadata.name={rp.name}"
            if fields:
                sel = list_filter(
                    served.group, served.kind, namespaced=served.namespaced, field_selector=fields
                )
                terms = sel.fields.terms
                if not (
                    len(terms) == 1
                    and terms[0].field == "metadata.name"
                    and terms[0].op == "="
                    and terms[0].value == rp.name
                ):
                    raise BadRequestError(
                        "fieldSelector metadata.name doesn't match requested name"
                    )
            fields = name_term.replace("\\", "\\\\").replace(",", "\\,")
        return list_filter(
            served.group,
            served.kind,
            namespaced=served.namespaced,
            label_selector=opts.label_selector,
            field_selector=fields,
        )

    def list_objects(
        self, rp: ResourcePath, opts: ListOptions, filt: ListFilter
    ) -> tuple[list[Obj], int, str]:
        """(matching stored objects, the list's resourceVersion, continue token)."""
        store = self.cluster.engine.store
        kind = rp.served.engine_kind
        revision = store.revision
        prefix = f"{rp.namespace}/" if (rp.served.namespaced and rp.namespace) else ""
        after: str | None = None
        list_rv = revision
        pending: list[tuple[str, bytes]] = []
        if opts.continue_token:
            start, list_rv = _decode_continue(opts.continue_token, prefix)
            # The token names the first key to list (ours: the last key listed, then NUL).
            if start.endswith("\x00"):
                after = start[:-1]
            else:
                after = start
                blob = store.get(kind, start)
                if blob is not None:
                    pending.append((start, blob))
        else:
            _check_list_rv(opts, revision)
        limit = opts.limit if opts.limit > 0 else 0
        items: list[Obj] = []
        last_key: str | None = None
        more = False
        while True:
            batch = pending + store.items(kind, prefix, after, _LIST_CHUNK)
            pending = []
            for key, blob in batch:
                if limit and len(items) >= limit:
                    more = True
                    break
                last_key = key
                obj = decode_object(blob)
                if filt.empty or filt.matches(obj):
                    items.append(obj)
            if more or len(batch) < _LIST_CHUNK:
                break
            after = batch[-1][0]
        token = ""
        if more and last_key is not None:
            token = _encode_continue(last_key[len(prefix) :] + "\x00", list_rv)
        return items, list_rv, token

    # ------------------------------------------------------------------ writes

    def _manager(self, req: Request, wo: WriteOptions) -> str:
        return manager_or_user_agent(wo.field_manager, req.user_agent)

    def _body(self, rp: ResourcePath, req: Request, wo: WriteOptions) -> tuple[Obj, list[str]]:
        """A create or update body: decoded, typed from the URL, its strict-decoding
        problems (duplicate keys) as warnings, or an error with Strict."""
        served = rp.served
        body = negotiate.decode_body(
            req.body,
            req.content_type,
            api_version=served.group_version,
            kind=served.kind,
            check_duplicates=wo.field_validation != "Ignore",
        )
        obj = body.value
        if not isinstance(obj, dict):
            raise BadRequestError(
                f"the object provided is unrecognized (must be of type {served.kind}): "
                f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                f"{_json_kind(obj)} into Go value of type struct {{ APIVersion string "
                '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
            )
        if any(obj.get(k) is not None and not isinstance(obj[k], str) for k in _TYPE_META):
            # never formatted: a value may nest deeper than repr can go
            try:
                api_decode.type_meta(obj)
            except BadRequestError as e:
                raise BadRequestError(
                    f"the object provided is unrecognized (must be of type {served.kind}): "
                    f"{e.message}"
                ) from None
        # copyKindDefaults: what the body leaves out comes from the endpoint.
        if not obj.get("apiVersion"):
            obj["apiVersion"] = served.group_version
        if not obj.get("kind"):
            obj["kind"] = served.kind
        version = str(obj["apiVersion"])
        if version != served.group_version:
            raise BadRequestError(
                f"the API version in the data ({version}) does not match the expected API "
                f"version ({served.group_version})"
            )
        if obj["kind"] != served.kind:
            raise BadRequestError(
                f'{obj["kind"]} in version "{served.version}" cannot be handled as a '
                f'{served.kind}: no kind "{obj["kind"]}" is registered for version '
                f'"{version}"'
            )
        warnings: list[str] = []
        if body.duplicates:
            if wo.field_validation == "Strict":
                _, unknown = api_decode.decode(obj, field_validation="Warn")
                raise BadRequestError(
                    f'{served.kind} in version "{served.version}" cannot be handled as a '
                    f"{served.kind}: strict decoding error: "
                    + ", ".join([*body.duplicates, *unknown])
                )
            warnings = list(body.duplicates)
        return obj, warnings

    def _place(self, rp: ResourcePath, obj: Obj) -> None:
        """EnsureObjectNamespaceMatchesRequestNamespace."""
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            return  # the engine's decoder reports it
        ns = meta.get("namespace") or ""
        if not rp.served.namespaced:
            meta.pop("namespace", None)
        elif not ns:
            meta["namespace"] = rp.namespace
        elif ns != rp.namespace:
            raise BadRequestError(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )

    def _managed(
        self,
        live: Obj | None,
        new: Obj,
        rp: ResourcePath,
        manager: str,
        subresource: str = "",
    ) -> list[Obj]:
        """The managedFields an Update by ``manager`` leaves (``FieldManager.UpdateNoErrors``
        on the request as decoded and defaulted)."""
        try:
            decoded, _ = api_decode.decode(new, field_validation="Ignore")
        except ApiError:
            return []  # the engine's decoder refuses the body with its own words
        if decoded.get("kind") == "Service":
            default_service(decoded)
        now = self.cluster.engine.now()
        if live is None:
            entries = ssa.create_managed_fields(decoded, manager=manager, now=now)
            return entries or []
        tracked = ssa.track_update(
            to_served(live, rp.served), decoded, manager=manager, now=now, subresource=subresource
        )
        out = (tracked.get("metadata") or {}).get("managedFields")
        return out if isinstance(out, list) else []

    def create(self, rp: ResourcePath, req: Request) -> Reply:
        """POST to a collection."""
        out = negotiate.output(req.accept)
        wo = write_options(req.query, "CreateOptions")
        obj, warnings = self._body(rp, req, wo)
        self._place(rp, obj)
        managed = self._managed(None, obj, rp, self._manager(req, wo))
        created, more = self.cluster.create_with_warnings(
            obj,
            wo.dry_run,
            actor=self.actor,
            field_validation=_fv(wo),
            managed_fields=managed,
        )
        self._written(wo.dry_run)
        return self._reply(201, created, rp, out, warnings + more)

    def update(self, rp: ResourcePath, req: Request) -> Reply:
        """PUT an object (or its status)."""
        assert rp.name is not None
        out = negotiate.output(req.accept)
        wo = write_options(req.query, "UpdateOptions")
        obj, warnings = self._body(rp, req, wo)
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            name = meta.get("name")
            if name != rp.name:
                raise BadRequestError(
                    f"the name of the object ({name or ''}) does not match the name on the "
                    f"URL ({rp.name})"
                )
            ns = meta.get("namespace")
            if rp.namespace and ns and ns != rp.namespace:
                raise BadRequestError(
                    f"the namespace of the object ({ns}) does not match the namespace on the "
                    f"request ({rp.namespace})"
                )
        self._place(rp, obj)
        live = self._stored(rp, rp.name)
        manager = self._manager(req, wo)
        sub = rp.subresource or ""
        if live is None:
            if sub or rp.served.engine_kind not in _CREATE_ON_UPDATE:
                raise self._not_found(rp.served, rp.name)
            managed = self._managed(None, obj, rp, manager)
            created, more = self.cluster.create_with_warnings(
                obj,
                wo.dry_run,
                actor=self.actor,
                field_validation=_fv(wo),
                managed_fields=managed,
            )
            self._written(wo.dry_run)
            return self._reply(201, created, rp, out, warnings + more)
        managed = self._managed(live, obj, rp, manager, sub)
        verb = (
            self.cluster.update_status_with_warnings if sub else self.cluster.update_with_warnings
        )
        updated, more = verb(
            obj,
            wo.dry_run,
            actor=self.actor,
            field_validation=_fv(wo),
            managed_fields=managed,
        )
        self._written(wo.dry_run)
        return self._reply(200, updated, rp, out, warnings + more)

    def patch(self, rp: ResourcePath, req: Request) -> Reply:
        """PATCH an object (or its status): JSON patch, merge patch, strategic merge patch,
        or server-side apply."""
        assert rp.name is not None
        out = negotiate.output(req.accept)
        ptype = patch.patch_type(req.content_type)
        wo = write_options(req.query, "PatchOptions", ptype)
        served = rp.served
        sub = rp.subresource or ""
        live = self._stored(rp, rp.name)
        if ptype == patch.APPLY_PATCH:
            return self._apply(rp, req, wo, live, out)
        if live is None:
            raise self._not_found(served, rp.name)
        doc = copy.deepcopy(to_served(live, served))
        result = patch.apply_patch(
            doc,
            req.body,
            req.content_type,
            api_version=served.group_version,
            kind=served.kind,
            field_validation=wo.field_validation,
        )
        patched = result.document
        if not isinstance(patched, dict):
            raise patch.patch_decode_error(ptype, patched, _loads(req.body), [], "not an object")
        try:
            _, unknown = api_decode.decode(patched, field_validation="Warn")
        except BadRequestError as e:
            detail = e.message.split(": ", 1)[1] if ": " in e.message else e.message
            raise patch.patch_decode_error(ptype, patched, _loads(req.body), [], detail) from None
        problems = [*result.strict_errors, *unknown]
        warnings: list[str] = []
        if problems and wo.field_validation == "Strict":
            raise patch.patch_decode_error(ptype, patched, _loads(req.body), problems)
        if wo.field_validation == "Warn":
            warnings = problems
        managed = self._managed(live, patched, rp, self._manager(req, wo), sub)
        verb = (
            self.cluster.update_status_with_warnings if sub else self.cluster.update_with_warnings
        )
        updated, more = verb(
            patched,
            wo.dry_run,
            actor=self.actor,
            field_validation="Ignore",
            managed_fields=managed,
        )
        self._written(wo.dry_run)
        return self._reply(200, updated, rp, out, warnings + more)

    def _apply(
        self,
        rp: ResourcePath,
        req: Request,
        wo: WriteOptions,
        live: Obj | None,
        out: negotiate.Output,
    ) -> Reply:
        """Server-side apply: merge the configuration, track ownership, create or update."""
        assert rp.name is not None
        served = rp.served
        sub = rp.subresource or ""
        if live is None and sub:
            raise self._not_found(served, rp.name)
        applied = ssa.decode_apply_body(req.body)
        meta = applied.get("metadata")
        if isinstance(meta, dict):
            name = meta.get("name")
            if name not in (None, "", rp.name):
                raise BadRequestError(
                    f"the name of the object ({name}) does not match the name on the URL "
                    f"({rp.name})"
                )
        result = ssa.apply(
            copy.deepcopy(to_served(live, served)) if live is not None else None,
            applied,
            manager=wo.field_manager,
            force=bool(wo.force),
            now=self.cluster.engine.now(),
            api_version=served.group_version,
            kind=served.kind,
            subresource=sub,
        )
        if not result.changed and live is not None:
            return self._reply(200, live, rp, out)
        obj = result.object
        meta = obj.setdefault("metadata", {})
        meta["name"] = rp.name
        self._place(rp, obj)
        managed = meta.get("managedFields") or []
        if live is None:
            created, warnings = self.cluster.create_with_warnings(
                obj,
                wo.dry_run,
                actor=self.actor,
                field_validation="Ignore",
                managed_fields=managed,
            )
            self._written(wo.dry_run)
            return self._reply(201, created, rp, out, warnings)
        # The apply was computed on the live object: it is the precondition.
        meta["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
        verb = (
            self.cluster.update_status_with_warnings if sub else self.cluster.update_with_warnings
        )
        updated, warnings = verb(
            obj, wo.dry_run, actor=self.actor, field_validation="Ignore", managed_fields=managed
        )
        self._written(wo.dry_run)
        return self._reply(200, updated, rp, out, warnings)

    def delete(self, rp: ResourcePath, req: Request) -> Reply:
        """DELETE one object: preconditions, finalizers, the deleted object or a Status."""
        assert rp.name is not None
        out = negotiate.output(req.accept)
        opts = delete_options(req.query, _delete_body(req))
        obj, warnings, gone = self._delete_one(rp, rp.name, opts)
        if gone and rp.served.engine_kind not in _RETURN_DELETED:
            meta = obj.get("metadata") or {}
            body = success(
                {
                    "name": meta.get("name"),
                    "group": rp.served.group,
                    "kind": rp.served.resource,
                    "uid": meta.get("uid"),
                }
            )
            return Reply(200, negotiate.encode(body, out), out.media, warnings)
        return self._reply(200, obj, rp, out, warnings)

    def _delete_one(
        self, rp: ResourcePath, name: str, opts: DeleteOptions
    ) -> tuple[Obj, list[str], bool]:
        served = rp.served
        live = self._existing(rp, name)
        meta = live.get("metadata") or {}
        if opts.precondition_uid is not None and opts.precondition_uid != meta.get("uid"):
            raise ConflictError(
                f'Operation cannot be fulfilled on {served.qualified_resource} "{name}": '
                f"Precondition failed: UID in precondition: {opts.precondition_uid}, UID in "
                f"object meta: {meta.get('uid', '')}",
                details={"name": name, "group": served.group, "kind": served.resource},
            )
        rv = opts.precondition_resource_version
        if rv is not None and rv != meta.get("resourceVersion"):
            raise ConflictError(
                f'Operation cannot be fulfilled on {served.qualified_resource} "{name}": '
                f"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion "
                f"in object meta: {meta.get('resourceVersion', '')}",
                details={"name": name, "group": served.group, "kind": served.resource},
            )
        obj, warnings = self.cluster.delete_with_warnings(
            served.engine_kind, name, self._ns(rp), opts.dry_run, actor=self.actor
        )
        if opts.dry_run:
            gone = not (obj.get("metadata") or {}).get("finalizers")
        else:
            gone = self._stored(rp, name) is None
            self._written(False)
        return obj, warnings, gone

    def delete_collection(self, rp: ResourcePath, req: Request) -> Reply:
        """DELETE a collection (``deletecollection``): every object the selectors match;
        the answer is the list of what was deleted."""
        out = negotiate.output(req.accept, tables=False)
        opts = delete_options(req.query, _delete_body(req))
        lopts = list_options({k: v for k, v in req.query.items() if k != "dryRun"})
        filt = self.filter(rp, lopts)
        items, rv, _ = self.list_objects(rp, ListOptions(), filt)
        deleted: list[Obj] = []
        warnings: list[str] = []
        for obj in items:
            meta = obj.get("metadata") or {}
            sub = ResourcePath(rp.served, meta.get("namespace"), meta.get("name"))
            try:
                d, w, _gone = self._delete_one(sub, str(meta.get("name")), opts)
            except NotFoundError:
                continue  # gone meanwhile (a controller's write)
            deleted.append(d)
            warnings += w
        body = list_body(
            rp.served,
            [to_served(o, rp.served) for o in deleted],
            resource_version=str(self.cluster.revision if deleted else rv),
        )
        return Reply(200, negotiate.encode(body, out), out.media, warnings)


def _fv(wo: WriteOptions) -> api_decode.FieldValidation:
    fv = wo.field_validation
    if fv == "Strict":
        return "Strict"
    if fv == "Ignore":
        return "Ignore"
    return "Warn"


def _delete_body(req: Request) -> Any:
    if not req.body.strip():
        return None
    mt = negotiate.media_type(req.content_type)
    if mt == negotiate.YAML:
        body = negotiate.decode_body(
            req.body, req.content_type, api_version="v1", kind="DeleteOptions"
        )
        return body.value
    try:
        return json.loads(req.body)
    except ValueError as e:
        raise BadRequestError(f"error decoding DeleteOptions: {e}") from None


#: The TypeMeta fields a body names.
_TYPE_META = ("apiVersion", "kind")


def _json_kind(v: Any) -> str:
    if isinstance(v, list):
        return "array"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if v is None:
        return "null"
    return "string"


# --------------------------------------------------------------------------- paging


def _encode_continue(start: str, rv: int) -> str:
    """``EncodeContinue``: base64url (no padding) of ``{"v","rv","start"}``."""
    doc = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def _decode_continue(token: str, prefix: str) -> tuple[str, int]:
    """``DecodeContinue``: (the key to list from, the first page's revision), or the
    BadRequest kube-apiserver answers for a token it cannot read."""

    def bad(detail: str) -> BadRequestError:
        return BadRequestError(f"invalid continue token: {detail}")

    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError) as e:
        raise bad(f"continue key is not valid: {e}") from None
    if not isinstance(doc, dict):
        raise bad("continue key is not valid")
    if doc.get("v") != "meta.k8s.io/v1":
        raise bad(
            "continue key is not valid: server does not recognize this encoded version "
            f"{doc.get('v')}"
        )
    rv = doc.get("rv")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv == 0:
        raise bad(
            "continue key is not valid: incorrect encoded start resourceVersion (version "
            "meta.k8s.io/v1)"
        )
    start = doc.get("start")
    if not isinstance(start, str) or not start:
        raise bad("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")
    key = start if start.startswith("/") else "/" + start
    if _go_clean(key) != key:  # path.Clean keeps a token inside the list's prefix
        raise bad(f"continue key is not valid: {start}")
    return prefix + key[1:], rv


def _go_clean(path: str) -> str:
    """Go's ``path.Clean`` of an absolute path."""
    out = posixpath.normpath(path)
    return "/" + out.lstrip("/")


def _check_list_rv(opts: ListOptions, revision: int) -> None:
    """The resourceVersion of a list (no continue token): the present is at least as new
    as any version asked for; an exact older one is no longer held."""
    rv = opts.resource_version
    if rv in ("", "0"):
        return
    try:
        n = int(rv)
        if n < 0:
            raise ValueError
    except ValueError:
        raise BadRequestError(f'invalid resource version "{rv}"') from None
    if n > revision:
        raise TimeoutExceededError(
            f"Timeout: Too large resource version: {n}, current: {revision}",
            details={"retryAfterSeconds": 1},
        )
    if opts.resource_version_match == "Exact" and n != revision:
        raise ExpiredError(f"too old resource version: {n} ({revision})")
