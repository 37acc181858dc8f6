"""Watch responses: newline-delimited JSON events, streamed (chunked) as changes happen.

What is sent, as kube-apiserver's watch cache and ``handlers/watch.go`` send it:

* with ``sendInitialEvents=true`` (also the default of a watch from "now" or "any",
  ``SetListOptionsDefaults``): an ``ADDED`` event per matching object, then, when the
  client allows bookmarks, the ``BOOKMARK`` annotated ``k8s.io/initial-events-end:
  "true"`` at the revision of that state, then every later change;
* from a resourceVersion N: every matching change after N (an ``ERROR`` event with the
  410 ``Expired`` Status, ``too old resource version: N (M)``, when the change feed no
  longer reaches back to N, and the stream ends);
* ``BOOKMARK`` events about every ``bookmark_interval`` seconds when allowed;
* Table events (``Accept: application/json;as=Table;...``), the column definitions in
  the first one only;
* the stream ends after ``timeoutSeconds`` (default: a random time between 30 and 60
  minutes, as kube-apiserver's ``--min-request-timeout`` of 1800 s gives), when the
  server stops, or when the client falls too far behind (it resumes from the last
  revision it saw).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from typing import Any, Final

from aiohttp import web

from servicecidr.errors import ApiError, BadRequestError, ExpiredError, TimeoutExceededError
from servicecidr.serve import negotiate
from servicecidr.serve.api import Api
from servicecidr.serve.convert import to_served
from servicecidr.serve.hub import Change, Hub, Watcher
from servicecidr.serve.options import ListOptions
from servicecidr.serve.routes import ResourcePath
from servicecidr.serve.status import expired

__all__ = ["INITIAL_EVENTS_END", "WatchSettings", "prepare_watch", "stream_watch"]

Obj = dict[str, Any]

INITIAL_EVENTS_END: Final = "k8s.io/initial-events-end"
_MIN_REQUEST_TIMEOUT: Final = 1800.0
_BATCH: Final = 256  # events per write


class WatchSettings:
    """Server-wide watch settings."""

    def __init__(self, bookmark_interval: float = 60.0) -> None:
        self.bookmark_interval = bookmark_interval


class _Start:
    """What a watch begins with, decided synchronously (one state of the store)."""

    def __init__(
        self,
        watcher: Watcher,
        initial: list[Obj],
        backlog: list[Change],
        bookmark_rv: int | None,
        error: Obj | None,
    ) -> None:
        self.watcher = watcher
        self.initial = initial
        self.backlog = backlog
        self.bookmark_rv = bookmark_rv
        self.error = error


def prepare_watch(api: Api, hub: Hub, rp: ResourcePath, opts: ListOptions) -> _Start:
    """Register a watcher and gather what it starts with, all between two commits.

    Raises ApiError for a request refused before any event (bad selectors, a
    resourceVersion the server has not reached)."""
    filt = api.filter(rp, opts)
    revision = api.cluster.revision
    initial: list[Obj] = []
    backlog: list[Change] = []
    error: Obj | None = None
    bookmark_rv: int | None = None
    rv = opts.resource_version
    start_rv = 0
    if rv not in ("", "0"):
        try:
            start_rv = int(rv)
            if start_rv < 0:
                raise ValueError
        except ValueError:
            raise api_bad_rv(rv) from None
        if start_rv > revision:
            raise TimeoutExceededError(
                f"Timeout: Too large resource version: {start_rv}, current: {revision}",
                details={"retryAfterSeconds": 1},
            )
    if opts.send_initial_events:
        initial, _, _ = api.list_objects(rp, ListOptions(), filt)
        if opts.allow_watch_bookmarks:
            bookmark_rv = revision
    elif rv not in ("", "0"):
        try:
            backlog = hub.backlog(rp.served.engine_kind, start_rv)
        except ExpiredError as e:
            error = expired(e.message)
    namespace = rp.namespace if rp.served.namespaced else None
    watcher = Watcher(rp.served, namespace, filt, revision)
    backlog = [c for c in backlog if watcher.matches(c)]
    if error is None:
        hub.register(watcher)
    return _Start(watcher, initial, backlog, bookmark_rv, error)


def api_bad_rv(rv: str) -> ApiError:
    """A resourceVersion that is not a revision."""
    return BadRequestError(f'invalid resource version "{rv}"')


class _Encoder:
    """Watch events as lines, JSON or Table."""

    def __init__(self, api: Api, rp: ResourcePath, out: negotiate.Output, opts: ListOptions):
        self.api = api
        self.rp = rp
        self.out = out
        self.opts = opts
        self.headers_sent = False

    def _table(self, obj: Obj) -> Obj:
        t = self.api.table_of([obj], self.rp, self.out, self.opts, headers=not self.headers_sent)
        self.headers_sent = True
        return t

    def event(self, type_: str, obj: Obj) -> bytes:
        body = self._table(obj) if self.out.table is not None else to_served(obj, self.rp.served)
        return _line({"type": type_, "object": body})

    def change(self, c: Change) -> bytes:
        if self.out.table is not None:
            return self.event(c.type, c.obj)
        return c.line(self.rp.served)

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        served = self.rp.served
        if self.out.table is not None:
            obj: Obj = {
                "kind": "Table",
                "apiVersion": f"meta.k8s.io/{self.out.table}",
                "metadata": {"resourceVersion": str(rv)},
                "columnDefinitions": None,
                "rows": [],
            }
        else:
            obj = {"kind": served.kind, "apiVersion": served.group_version, "metadata": meta}
        return _line({"type": "BOOKMARK", "object": obj})


def _line(event: Obj) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


async def stream_watch(
    request: web.Request,
    api: Api,
    hub: Hub,
    rp: ResourcePath,
    opts: ListOptions,
    out: negotiate.Output,
    settings: WatchSettings,
) -> web.StreamResponse:
    """Serve a watch until it times out, the client leaves or the server stops."""
    start = prepare_watch(api, hub, rp, opts)
    w = start.watcher
    try:
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": out.content_type, "Cache-Control": "no-cache, private"},
        )
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        enc = _Encoder(api, rp, out, opts)
        if start.error is not None:
            await resp.write(_line({"type": "ERROR", "object": start.error}))
            return resp
        pending = [enc.event("ADDED", o) for o in start.initial]
        if start.bookmark_rv is not None:
            pending.append(enc.bookmark(start.bookmark_rv, initial_end=True))
        pending.extend(enc.change(c) for c in start.backlog)
        for i in range(0, len(pending), _BATCH):
            await resp.write(b"".join(pending[i : i + _BATCH]))
        loop = asyncio.get_running_loop()
        timeout = float(opts.timeout_seconds or 0)
        if timeout <= 0:
            timeout = _MIN_REQUEST_TIMEOUT * (random.random() + 1.0)
        deadline = loop.time() + timeout
        interval = settings.bookmark_interval
        next_bookmark = loop.time() + interval if opts.allow_watch_bookmarks else None
        while True:
            while w.queue:
                batch = [enc.change(w.queue.popleft()) for _ in range(min(_BATCH, len(w.queue)))]
                await resp.write(b"".join(batch))
            if w.closed:
                if w.error is not None:
                    await resp.write(_line({"type": "ERROR", "object": w.error}))
                return resp
            now = loop.time()
            if now >= deadline:
                return resp
            if next_bookmark is not None and now >= next_bookmark:
                await resp.write(enc.bookmark(max(w.since, hub.cursor)))
                next_bookmark = now + interval
            wait = deadline - now
            if next_bookmark is not None:
                wait = min(wait, next_bookmark - now)
            w.wake.clear()
            if w.queue or w.closed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(w.wake.wait(), timeout=max(wait, 0.0))
    except (ConnectionResetError, ConnectionError):
        return web.StreamResponse()  # the client went away
    finally:
        hub.unregister(w)
