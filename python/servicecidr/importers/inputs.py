"""What the readers hand to the replay engines: one :class:`Record` per usable write, one
:class:`Skip` per input line or event that is not used, with the reason.

Reasons fall in three groups:

* **unusable** (:data:`UNUSABLE`): the input is broken or too thin to reconstruct the write
  — malformed JSON/YAML, an unknown shape, a write to a modelled resource at Metadata level
  (or truncated) with no body, a patch without its responseObject, a Panic stage, a create
  without a name, an object that does not decode (never stored). ``strict=True`` stops at
  the first of these.
* **skipped** by rule (:data:`SKIPPED`): a write that changed nothing — a non-2xx
  response, a dry run, a duplicate ResponseComplete, a write older than the stored object.
* **ignored** (:data:`IGNORED`): input that is not about the modelled state — reads
  (get/list/watch), other stages, non-resource requests, other resources, watch bookmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "IGNORED",
    "REASONS",
    "SKIPPED",
    "UNUSABLE",
    "ImportAborted",
    "ReadStats",
    "Record",
    "Skip",
]

#: reason -> one-line description (the report prints these)
REASONS: dict[str, str] = {
    # unusable
    "malformed-json": "not valid JSON",
    "malformed-yaml": "not valid YAML",
    "unknown-shape": "not an audit event, list, watch event or known envelope",
    "metadata-only": "a write at Metadata level (or truncated): no body to rebuild the object",
    "patch-without-body": "a patch without responseObject: the patch cannot be applied alone",
    "panic": "stage Panic: the outcome of the request is unknown",
    "no-name": "a write that names no object (generateName without a response)",
    "no-status": "a completed request without responseStatus",
    "invalid-object": "an object kube-apiserver could not have decoded (a field of the "
    "wrong type, a value JSON cannot carry, a resourceVersion beyond int64): not stored",
    # skipped by rule
    "failed": "the request failed (non-2xx): nothing changed",
    "dry-run": "a dry-run request (dryRun= in requestURI): nothing was kept",
    "duplicate": "a second ResponseComplete of the same auditID",
    "stale": "older than the stored object (resourceVersion went back): not applied",
    "after-until": "after --until",
    "watch-error": "a watch ERROR event (e.g. 410 Gone)",
    # ignored
    "stage": "not the ResponseComplete stage",
    "read-only": "a read (get, list, watch) or another verb that changes nothing",
    "non-resource": "a non-resource request (no objectRef)",
    "not-modeled": "a resource servicecidr does not model",
    "bookmark": "a watch BOOKMARK",
    "controller-write": "a write the engine's own controllers make in what-if mode",
    "unchanged": "the object is stored already in exactly this version",
}

UNUSABLE = frozenset(
    {
        "malformed-json",
        "malformed-yaml",
        "unknown-shape",
        "metadata-only",
        "patch-without-body",
        "panic",
        "no-name",
        "no-status",
        "invalid-object",
    }
)
SKIPPED = frozenset({"failed", "dry-run", "duplicate", "stale", "after-until", "watch-error"})
IGNORED = frozenset(REASONS) - UNUSABLE - SKIPPED


@dataclass(slots=True)
class Record:
    """One write the input recorded (an audit event, a dump item, a watch event).

    ``verb`` is the audit verb (``create``, ``update``, ``patch``, ``delete``,
    ``deletecollection``) or ``put`` for a dump item or a watch ADDED/MODIFIED (``delete``
    for a watch DELETED). ``request``/``response`` are the bodies the input carried
    (``response`` is the whole object for dumps and watch events). ``order`` is the sort
    key (the stage timestamp; the resourceVersion for watch streams; the position for
    dumps) and ``ts`` the time, when known.
    """

    source: str
    line: int
    order: float
    ts: float | None
    verb: str
    kind: str
    namespace: str | None
    name: str
    subresource: str = ""
    code: int = 200
    user: str = ""
    actor: str = ""
    audit_id: str = ""
    level: str = ""
    request: Any = None
    response: Any = None
    received: float | None = None
    raw: bool = False
    #: from the Rust reader (:mod:`.auditreader_rust`): what applying needs, decided already —
    #: ``(0, rv, blob, cluster_ips, parent, managed)`` for a put of the normalised,
    #: encoded object, ``(1, rv or None)`` for a delete — and the line it came from, for
    #: the cases the importer still wants the parsed event (``request``/``response``
    #: are None then)
    fast: tuple[Any, ...] | None = None
    text: bytes | None = None

    def where(self) -> str:
        """``file:line``."""
        return f"{self.source}:{self.line}"

    def ref(self) -> dict[str, Any]:
        """The event, as reports cite it."""
        out: dict[str, Any] = {
            "file": self.source,
            "line": self.line,
            "verb": self.verb,
            "kind": self.kind,
            "name": self.name,
        }
        if self.namespace:
            out["namespace"] = self.namespace
        if self.audit_id:
            out["auditID"] = self.audit_id
        if self.user:
            out["user"] = self.user
        if self.ts is not None:
            out["ts"] = self.ts
        return out


@dataclass(slots=True)
class Skip:
    """An input line or event that is not used, and why."""

    source: str
    line: int
    reason: str
    detail: str = ""

    def where(self) -> str:
        """``file:line``."""
        return f"{self.source}:{self.line}"


class ImportAborted(Exception):
    """``strict=True`` met an unusable input (or the input cannot be read at all)."""

    def __init__(self, message: str, skip: Skip | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.skip = skip


@dataclass
class ReadStats:
    """What reading saw, besides the records and skips."""

    files: int = 0
    documents: int = 0
    records: int = 0
    reordered: int = 0
    late: int = 0
    duplicates: int = 0
    stopped_at: str = ""
