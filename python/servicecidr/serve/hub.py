"""The watch fan-out: one reader of the store's change feed, every watcher fed from it.

kube-apiserver's watch cache reads etcd's watch once per resource and dispatches each
event to every watcher whose selectors match, in revision order; a watcher too slow to
keep up is closed and resumes from the last revision it saw. :class:`Hub` does the same
over the store's change feed (``Store.changes_since``): after each commit (the engine calls its
sinks) it schedules one pump on the event loop, which reads the changes since its cursor
and appends each to the queue of every matching :class:`Watcher`. All of it runs on the
loop's thread, as every engine call of the server does, so a watcher registered between
two commits sees exactly the changes after its starting revision.

Decoded objects are shared between watchers and never changed; each change keeps the
encoded lines it was sent as (:meth:`Change.line`), so a hundred watchers of one version
cost one encoding.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from servicecidr.cluster import Cluster
from servicecidr.errors import ExpiredError
from servicecidr.journal.records import Entry
from servicecidr.serve.convert import to_served
from servicecidr.serve.discovery import ServedResource
from servicecidr.serve.selectors import ListFilter
from servicecidr.serve.status import expired
from servicecidr.store import decode_object

__all__ = ["MAX_PENDING", "Change", "Hub", "Watcher"]

Obj = dict[str, Any]

#: Events a watcher may have queued before it is closed as too slow.
MAX_PENDING: Final = 20_000
#: Changes read from the feed per step (so one burst does not hold the loop).
_CHUNK: Final = 2_000


def _decoded(type_: str, rv: int, blob: bytes) -> Obj:
    """A change's object; a deletion's carries the revision of the deletion, as a watch
    event of kube-apiserver does."""
    obj = decode_object(blob)
    if type_ == "DELETED":
        meta = obj.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta["resourceVersion"] = str(rv)
    return obj


@dataclass(slots=True)
class Change:
    """One change of the feed: ``(rv, ADDED|MODIFIED|DELETED, kind, key, object)``;
    a deletion's object is the last state, with the deletion's resourceVersion."""

    rv: int
    type: str
    kind: str
    key: str
    obj: Obj
    lines: dict[str, bytes] = field(default_factory=dict)

    def line(self, served: ServedResource) -> bytes:
        """The watch event as JSON (one line) for a watch of ``served``."""
        gv = served.group_version
        out = self.lines.get(gv)
        if out is None:
            event = {"type": self.type, "object": to_served(self.obj, served)}
            out = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
            self.lines[gv] = out
        return out


@dataclass(eq=False)
class Watcher:
    """One watch: its resource, namespace and selectors, and the changes queued for it.

    ``since``: changes at or before this revision are not for it (it was given the state
    up to there). ``closed`` with ``reason`` when it ended on the server's side.
    """

    served: ServedResource
    namespace: str | None
    filter: ListFilter
    since: int
    queue: deque[Change] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    error: Obj | None = None  # an ERROR event to send before closing

    def matches(self, change: Change) -> bool:
        """Whether a change is in this watch's namespace and selectors."""
        if self.namespace is not None:
            ns = (change.obj.get("metadata") or {}).get("namespace")
            if ns != self.namespace:
                return False
        return self.filter.empty or self.filter.matches(change.obj)

    def offer(self, change: Change) -> None:
        """Queue a change (closing the watch when it is too far behind)."""
        if self.closed or change.rv <= self.since or not self.matches(change):
            return
        if len(self.queue) >= MAX_PENDING:
            self.close()
            return
        self.queue.append(change)
        self.wake.set()

    def close(self, error: Obj | None = None) -> None:
        """End the watch (with an ERROR event first, when given)."""
        if not self.closed:
            self.closed = True
            self.error = error
            self.wake.set()


class Hub:
    """The reader of the change feed and the watchers it feeds (see the module doc)."""

    def __init__(self, cluster: Cluster, loop: asyncio.AbstractEventLoop) -> None:
        self._cluster = cluster
        self._loop = loop
        self._watchers: dict[str, set[Watcher]] = {}
        self._scheduled = False
        self.cursor = cluster.revision
        #: how many changes were dispatched (for the benchmark and tests)
        self.dispatched = 0
        self._listeners: list[Callable[[], None]] = []
        cluster.add_sink(self._on_entry)

    # ------------------------------------------------------------------ feed

    def _on_entry(self, _entry: Entry) -> None:
        self.notify()

    def notify(self) -> None:
        """Something was committed: pump on the loop's next turn."""
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.pump)

    def add_listener(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` after every pump that dispatched changes."""
        self._listeners.append(fn)

    def pump(self) -> None:
        """Dispatch every change after the cursor, oldest first (decoding only the
        changes of kinds someone watches)."""
        self._scheduled = False
        store = self._cluster.engine.store
        moved = False
        while True:
            if not any(self._watchers.values()):
                # Nobody to feed: a watch that starts later reads its backlog itself.
                self.cursor = max(self.cursor, store.revision)
                break
            try:
                batch = store.changes_since(self.cursor, _CHUNK)
            except ExpiredError as e:
                # The feed moved on past the cursor (not expected while the loop keeps
                # up): every watcher must start over, as a watch cache reset forces.
                for group in self._watchers.values():
                    for w in list(group):
                        w.close(expired(e.message))
                self.cursor = store.revision
                return
            if not batch:
                break
            for rv, type_, kind, key, blob in batch:
                feeding = self._watchers.get(kind)
                if feeding:
                    change = Change(rv, type_, kind, key, _decoded(type_, rv, blob))
                    for w in list(feeding):
                        w.offer(change)
                self.cursor = rv
                self.dispatched += 1
            moved = True
            if len(batch) < _CHUNK:
                break
        if moved:
            for fn in self._listeners:
                fn()

    # ------------------------------------------------------------------ watchers

    def register(self, w: Watcher) -> None:
        """Start feeding ``w`` (changes after ``w.since``)."""
        self._watchers.setdefault(w.served.engine_kind, set()).add(w)

    def unregister(self, w: Watcher) -> None:
        """Stop feeding ``w``."""
        watchers = self._watchers.get(w.served.engine_kind)
        if watchers is not None:
            watchers.discard(w)

    def backlog(self, kind: str, since: int) -> list[Change]:
        """The changes of ``kind`` after revision ``since`` up to the present (for a
        watch that resumes); ExpiredError when the feed no longer reaches back."""
        store = self._cluster.engine.store
        out: list[Change] = []
        cursor = since
        while True:
            batch = store.changes_since(cursor, _CHUNK)
            for rv, type_, k, key, blob in batch:
                cursor = rv
                if k == kind:
                    out.append(Change(rv, type_, k, key, _decoded(type_, rv, blob)))
            if len(batch) < _CHUNK:
                return out

    @property
    def watchers(self) -> int:
        """How many watches are open."""
        return sum(len(w) for w in self._watchers.values())

    def close_all(self) -> None:
        """End every watch (the server is stopping)."""
        for watchers in self._watchers.values():
            for w in list(watchers):
                w.close()
