"""The HTTP front: authentication, routing, body limits and timeouts, discovery, and the
hand-over to the REST verbs (:mod:`.api`) and watches (:mod:`.watch`).

Every handler runs on the event loop's thread and calls the engine synchronously, so
requests are applied one after another, each whole (the engine records, then applies).
A request body is read before anything is decided, within the 3 MiB limit (413) and the
request timeout (504); the client leaving cancels the handler only at such waits, never in
the middle of a write.

Besides the Kubernetes API, two paths serve a simulated clock (``servicecidr advance``):
``GET /servicecidr/clock`` and ``POST /servicecidr/advance?by=10s``, which lets that much
time pass, running the controllers on the way.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from servicecidr.clock import format_time
from servicecidr.cluster import Cluster
from servicecidr.errors import (
    ApiError,
    BadRequestError,
    InternalError,
    ServiceCIDRError,
    TimeoutExceededError,
)
from servicecidr.serve import discovery, negotiate, openapi
from servicecidr.serve.api import Api, Reply, Request, error_reply, warning_header
from servicecidr.serve.hub import Hub
from servicecidr.serve.options import list_options
from servicecidr.serve.routes import Discovery, NoResource, ResourcePath, route
from servicecidr.serve.status import (
    MAX_REQUEST_BODY_BYTES,
    NOT_FOUND_TEXT,
    method_not_allowed,
    request_entity_too_large,
    resource_not_found,
    unauthorized,
)
from servicecidr.serve.watch import WatchSettings, stream_watch

__all__ = ["ADVANCE_PATH", "CLOCK_PATH", "App"]

log = logging.getLogger("servicecidr.serve")

CLOCK_PATH: Final = "/servicecidr/clock"
ADVANCE_PATH: Final = "/servicecidr/advance"
_JSON: Final = "application/json"


def _wants_aggregated(accept: str | None) -> bool:
    """Whether ``Accept`` asks for aggregated discovery (apidiscovery.k8s.io/v2)."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if (
            media == "application/json"
            and opts.get("g") == "apidiscovery.k8s.io"
            and opts.get("v") == "v2"
            and opts.get("as") == "APIGroupDiscoveryList"
        ):
            return True
    return False


def _json_response(status: int, body: Any, content_type: str = _JSON) -> web.Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(status=status, body=data, headers={"Content-Type": content_type})


def _error_response(err: ApiError) -> web.Response:
    return _to_response(error_reply(err))


def _to_response(reply: Reply) -> web.Response:
    resp = web.Response(
        status=reply.status, body=reply.body, headers={"Content-Type": reply.content_type}
    )
    seen: set[str] = set()
    for w in reply.warnings:
        if w not in seen:  # the warning recorder drops duplicates
            seen.add(w)
            resp.headers.add("Warning", warning_header(w))
    return resp


class App:
    """The request handler of one server.

    Args:
        cluster: what is served.
        api: the REST verbs.
        hub: the watch fan-out.
        token: the bearer token every request must carry (None: no authentication, for
            loopback).
        on_advance: lets simulated time pass (``servicecidr advance``); None when the
            clock is the wall clock.
        request_timeout: seconds a request may take to arrive (body included).
        watch: watch settings.
    """

    def __init__(
        self,
        cluster: Cluster,
        api: Api,
        hub: Hub,
        *,
        token: str | None,
        on_advance: Callable[[str], None] | None,
        request_timeout: float,
        watch: WatchSettings,
        server_address: str,
    ) -> None:
        self.cluster = cluster
        self.api = api
        self.hub = hub
        self._token = token.encode() if token is not None else None
        self._on_advance = on_advance
        self._request_timeout = request_timeout
        self._watch = watch
        self.server_address = server_address
        #: requests served (for tests and the benchmark)
        self.requests = 0

    def application(self) -> web.Application:
        """The aiohttp application (one catch-all route: routing is kube-apiserver's)."""
        app = web.Application(client_max_size=MAX_REQUEST_BODY_BYTES + 1)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ------------------------------------------------------------------ entry

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one request."""
        self.requests += 1
        if self._token is not None and not self._authenticated(request):
            return _error_response(unauthorized())
        try:
            return await self._serve(request)
        except ApiError as e:
            return _error_response(e)
        except ServiceCIDRError as e:
            # The engine refused for a reason of its own (a read-only or broken log).
            return _error_response(InternalError(f"Internal error occurred: {e}"))
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as e:  # a bug: answer as kube-apiserver's panic handler would
            log.exception("%s %s failed", request.method, request.path)
            return _error_response(InternalError(f"Internal error occurred: {e!r}"))

    def _authenticated(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return False
        assert self._token is not None
        return hmac.compare_digest(value.strip().encode(), self._token)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in (CLOCK_PATH, ADVANCE_PATH):
            return await self._clock(request)
        target = route(path)
        if target is None:
            return web.Response(status=404, text=NOT_FOUND_TEXT, content_type="text/plain")
        if isinstance(target, NoResource):
            return _error_response(resource_not_found())
        if isinstance(target, Discovery):
            if request.method not in ("GET", "HEAD"):
                return _error_response(method_not_allowed())
            return self._discovery(target, request)
        return await self._resource(target, request)

    # ------------------------------------------------------------------ resources

    async def _resource(self, rp: ResourcePath, request: web.Request) -> web.StreamResponse:
        query = {k: request.query.getall(k) for k in request.query}
        is_watch = rp.watch_prefix or (
            request.method == "GET"
            and rp.subresource is None
            and "watch" in query
            and list_options(query).watch
        )
        if is_watch:
            if request.method != "GET" or "watch" not in rp.served.verbs:
                return _error_response(method_not_allowed())
            opts = list_options(query, force_watch=True)
            out = negotiate.output(request.headers.get("Accept"))
            if out.media != negotiate.JSON:
                out = negotiate.Output(negotiate.JSON, out.table)
            return await stream_watch(request, self.api, self.hub, rp, opts, out, self._watch)
        body = await self._read_body(request)
        req = Request(
            method=request.method,
            query=query,
            content_type=request.headers.get("Content-Type"),
            accept=request.headers.get("Accept"),
            user_agent=request.headers.get("User-Agent", ""),
            body=body,
        )
        return _to_response(self.api.handle(rp, req))

    async def _read_body(self, request: web.Request) -> bytes:
        """The body, within the size limit (413) and the request timeout (504)."""
        if request.method in ("GET", "HEAD") and not request.body_exists:
            return b""
        limit = MAX_REQUEST_BODY_BYTES
        if request.content_length is not None and request.content_length > limit:
            raise request_entity_too_large()

        async def read() -> bytes:
            data = bytearray()
            async for chunk in request.content.iter_chunked(1 << 16):
                data += chunk
                if len(data) > limit:
                    raise request_entity_too_large()
            return bytes(data)

        try:
            return await asyncio.wait_for(read(), timeout=self._request_timeout)
        except TimeoutError:
            raise TimeoutExceededError(
                "Timeout: request did not complete within requested timeout - context "
                "deadline exceeded"
            ) from None

    # ------------------------------------------------------------------ documents

    def _discovery(self, d: Discovery, request: web.Request) -> web.StreamResponse:
        accept = request.headers.get("Accept")
        what = d.what
        if what == "health":
            return web.Response(text="ok", content_type="text/plain")
        if what == "version":
            return _json_response(200, discovery.version_info())
        if what == "openapi-index":
            return _json_response(200, openapi.index())
        if what == "openapi":
            doc = openapi.document(d.path)
            if doc is None:
                return web.Response(status=404, text=NOT_FOUND_TEXT, content_type="text/plain")
            return _json_response(200, doc)
        if what == "openapi-v2":
            return web.Response(status=404, text=NOT_FOUND_TEXT, content_type="text/plain")
        if what in ("api", "apis"):
            if _wants_aggregated(accept):
                doc = discovery.aggregated_api() if what == "api" else discovery.aggregated_apis()
                return _json_response(200, doc, discovery.AGGREGATED_CONTENT_TYPE)
            if what == "api":
                return _json_response(200, discovery.api_versions(self.server_address))
            return _json_response(200, discovery.api_group_list())
        if what == "group":
            group = discovery.api_group(d.group)
            if group is None:
                return _error_response(resource_not_found())
            return _json_response(200, group)
        resources = discovery.api_resource_list(d.group, d.version)
        if resources is None:
            return _error_response(resource_not_found())
        return _json_response(200, resources)

    # ------------------------------------------------------------------ simulated time

    async def _clock(self, request: web.Request) -> web.StreamResponse:
        clock = self.cluster.clock
        if request.path == CLOCK_PATH:
            if request.method != "GET":
                return _error_response(method_not_allowed())
        else:
            if request.method != "POST":
                return _error_response(method_not_allowed())
            if self._on_advance is None:
                raise BadRequestError(
                    "this server runs on the wall clock; start it with --clock simulated to "
                    "advance time"
                )
            by = request.query.get("by", "")
            if not by:
                raise BadRequestError("advance: the query parameter 'by' (e.g. by=10s) is required")
            try:
                self._on_advance(by)
            except ApiError:
                raise
            except ServiceCIDRError as e:
                raise BadRequestError(str(e)) from None
        return _json_response(
            200,
            {
                "time": format_time(clock.now()),
                "simulated": clock.simulated,
                "resourceVersion": str(self.cluster.revision),
            },
        )
