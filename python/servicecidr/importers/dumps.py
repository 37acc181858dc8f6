"""``kubectl get -o json|yaml`` dumps and watch streams: documents -> :class:`Record`.

Dumps: a generic ``List`` (each item has its own kind and apiVersion, several types may be
mixed), a typed list (``ServiceList``; items may lack kind and apiVersion, which come
from the list), a single object, or multi-document YAML of any of these. Every object of
a modelled kind is a ``put`` of the object as it was; other kinds are ``not-modeled``.

Watch streams (``?watch=1`` JSON lines, or ``kubectl get -w -o json
--output-watch-events``): ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object":
...}``. ADDED and MODIFIED are puts, DELETED a delete, BOOKMARK ignored, ERROR reported
(e.g. 410 Gone). Bare objects (kubectl without ``--output-watch-events``) are puts: such a
stream cannot show deletions. The order key is the object's resourceVersion (watch order
is per resource type; etcd revisions order the types against each other).

What each reader accepts, one rule: a *recorded object* (one the API server returned: it
has a uid or a resourceVersion) is state, and both readers take it. A *manifest* (neither)
is a request someone could send: ``import dump`` sends it through the engine (the
observed importer creates it, validation and all), while a watch stream never carries
one, so ``import watch`` reports it as ``unknown-shape``. An audit event is for ``import
audit`` and a watch event for ``import watch``; the other reader reports them as
``unknown-shape`` too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from servicecidr.api.kinds import KINDS
from servicecidr.importers.inputs import Record, Skip

__all__ = ["dump_records", "is_manifest", "object_kind", "watch_records"]

_EVENT_VERSIONS = ("events.k8s.io/v1", "events.k8s.io/v1beta1")


def object_kind(kind: Any, api_version: Any) -> str | None:
    """The engine Kind of an object's kind/apiVersion, or None when not modelled."""
    if not isinstance(kind, str) or kind not in KINDS:
        return None
    if kind == "Event" and api_version not in _EVENT_VERSIONS:
        return None  # core/v1 Events are another type
    info = KINDS[kind]
    if isinstance(api_version, str) and api_version:
        group = api_version.rpartition("/")[0]
        if group != info.group:
            return None
    return kind


def is_manifest(obj: Any) -> bool:
    """An object no API server returned: no uid and no resourceVersion."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return isinstance(meta, dict) and not meta.get("uid") and not meta.get("resourceVersion")


_MANIFEST_IN_WATCH = (
    "a manifest (no uid or resourceVersion), not a watch event or a recorded object: "
    "use `import dump`"
)


def _is_list(doc: dict[str, Any]) -> bool:
    kind = doc.get("kind")
    return isinstance(doc.get("items"), list) and (
        kind is None or (isinstance(kind, str) and kind.endswith("List"))
    )


def _object_record(
    obj: Any, source: str, line: int, order: float, verb: str, list_kind: str | None = None
) -> Record | Skip:
    if not isinstance(obj, dict):
        return Skip(source, line, "unknown-shape", f"a list item that is a {type(obj).__name__}")
    kind = obj.get("kind") or list_kind
    api = obj.get("apiVersion")
    meta = obj.get("metadata")
    if not isinstance(kind, str) or not isinstance(meta, dict):
        return Skip(source, line, "unknown-shape", "an object without kind or metadata")
    engine_kind = object_kind(kind, api)
    if engine_kind is None:
        return Skip(source, line, "not-modeled", f"{kind} ({api or 'no apiVersion'})")
    info = KINDS[engine_kind]
    ns = (meta.get("namespace") or "default") if info.namespaced else None
    if "kind" not in obj:
        obj = {"kind": kind, **obj}
    return Record(
        source,
        line,
        order,
        None,
        verb,
        engine_kind,
        ns,
        str(meta.get("name") or ""),
        response=obj,
    )


def dump_records(doc: Any, source: str, line: int, position: int) -> Iterator[Record | Skip]:
    """The records of one dump document (a list or an object)."""
    if isinstance(doc, list):
        for item in doc:
            yield from dump_records(item, source, line, position)
        return
    if not isinstance(doc, dict):
        yield Skip(source, line, "unknown-shape", f"a {type(doc).__name__}, not an object")
        return
    if _is_list(doc):
        list_kind = doc.get("kind")
        item_kind = (
            list_kind[: -len("List")]
            if isinstance(list_kind, str) and list_kind not in ("List", "")
            else None
        )
        api = doc.get("apiVersion")
        for item in doc["items"]:
            if isinstance(item, dict) and item_kind and "apiVersion" not in item and api:
                item = {"apiVersion": api, **item}
            yield _object_record(item, source, line, float(position), "put", item_kind)
        return
    if doc.get("kind") == "Event" and ("auditID" in doc or "stage" in doc):
        yield Skip(source, line, "unknown-shape", "an audit event: use `import audit`")
        return
    if "type" in doc and "object" in doc:
        yield Skip(source, line, "unknown-shape", "a watch event: use `import watch`")
        return
    yield _object_record(doc, source, line, float(position), "put")


def _rv_order(obj: Any, fallback: float) -> float:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
    if isinstance(rv, str) and rv.isdigit() and len(rv) <= 19:
        return float(int(rv))
    return fallback  # none, or beyond an etcd revision (the importer refuses the object)


def watch_records(doc: Any, source: str, line: int, position: int) -> Iterator[Record | Skip]:
    """The records of one watch-stream document."""
    if isinstance(doc, list):
        for item in doc:
            yield from watch_records(item, source, line, position)
        return
    if not isinstance(doc, dict):
        yield Skip(source, line, "unknown-shape", f"a {type(doc).__name__}, not an object")
        return
    typ = doc.get("type")
    if isinstance(typ, str) and "object" in doc:
        obj = doc["object"]
        if typ == "BOOKMARK":
            yield Skip(source, line, "bookmark", str(_rv_order(obj, 0)))
            return
        if typ == "ERROR":
            detail = ""
            if isinstance(obj, dict):
                detail = f"{obj.get('code', '')} {obj.get('reason', '')} {obj.get('message', '')}"
            yield Skip(source, line, "watch-error", detail.strip())
            return
        if typ not in ("ADDED", "MODIFIED", "DELETED"):
            yield Skip(source, line, "unknown-shape", f"watch event type {typ!r}")
            return
        verb = "delete" if typ == "DELETED" else "put"
        yield _object_record(obj, source, line, _rv_order(obj, float(position)), verb)
        return
    if _is_list(doc):
        for rec in dump_records(doc, source, line, position):
            if isinstance(rec, Record):
                if is_manifest(rec.response):
                    yield Skip(source, line, "unknown-shape", _MANIFEST_IN_WATCH)
                    continue
                rec.order = _rv_order(rec.response, rec.order)
            yield rec
        return
    if isinstance(doc.get("kind"), str) and isinstance(doc.get("metadata"), dict):
        if is_manifest(doc):
            yield Skip(source, line, "unknown-shape", _MANIFEST_IN_WATCH)
            return
        yield _object_record(doc, source, line, _rv_order(doc, float(position)), "put")
        return
    yield Skip(source, line, "unknown-shape", "neither a watch event nor an object")
