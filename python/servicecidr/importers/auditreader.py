"""kube-apiserver audit logs: documents -> :class:`Record` / :class:`Skip`.

Shapes recognised (an explicit dispatcher; anything else is ``unknown-shape``):

* an audit ``Event`` (``audit.k8s.io/v1`` or ``v1beta1``, or no apiVersion at all: keyed
  off ``kind: Event`` plus ``verb``/``stage``/``auditID``; the legacy top-level
  ``timestamp`` is a fallback time);
* an ``EventList`` (the webhook backend's batch): each item;
* a GKE / Cloud Logging ``LogEntry`` whose ``protoPayload`` is a
  ``google.cloud.audit.AuditLog`` (``methodName io.k8s.core.v1.services.create``,
  ``resourceName core/v1/namespaces/NS/services/NAME``, ``request``/``response``,
  gRPC ``status.code`` where 0 is OK, ``operation.id`` as auditID);
* an AKS / Azure Monitor record (``category: kube-audit[-admin]``) whose
  ``properties.log`` is the Event, as a JSON string or as an object;
* a CloudWatch Logs export (``logEvents[].message``) and line shippers' wrappers
  (``log``/``message``/``@message`` holding the Event as a JSON string);
* a detection-rule file whose ``Tests[].Log`` entries are events (Panther's rule YAML),
  each test log taken as one event;
* a JSON array of any of these.

The rules of SPEC-import 1.3: only ``ResponseComplete`` (a missing stage counts as
complete when a responseStatus is there), only write verbs, only 2xx, no ``dryRun=``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from servicecidr.api.storable import is_text
from servicecidr.auditwriter import ACTOR_ANNOTATION, RAW_WRITE_ANNOTATION
from servicecidr.importers.inputs import Record, Skip

__all__ = [
    "RESOURCES",
    "WRITE_VERBS",
    "event_record",
    "event_records",
    "parse_time",
    "resource_kind",
]

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

#: (apiGroup, resource) -> the engine's Kind
RESOURCES: dict[tuple[str, str], str] = {
    ("", "services"): "Service",
    ("networking.k8s.io", "servicecidrs"): "ServiceCIDR",
    ("networking.k8s.io", "ipaddresses"): "IPAddress",
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): "ValidatingAdmissionPolicy",
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ): "ValidatingAdmissionPolicyBinding",
    ("events.k8s.io", "events"): "Event",
    ("", "namespaces"): "Namespace",
}
_GROUP_OF_RESOURCE = {r: g for (g, r) in RESOURCES if r != "events"}
_SUBRESOURCES = frozenset({"", "status"})
# gRPC status code -> HTTP status (google.golang.org/grpc/codes vs k8s StatusReasons)
_GRPC_HTTP = {
    0: 200,
    1: 499,
    2: 500,
    3: 422,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 405,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}

_time_cache: dict[str, float] = {}
# The times Python's datetime (and RFC 3339's four-digit years) can show, in UTC.
_MIN_TIME = datetime(1, 1, 2, tzinfo=UTC).timestamp()
_MAX_TIME = datetime(9999, 12, 31, tzinfo=UTC).timestamp()


def parse_time(text: Any) -> float | None:
    """RFC 3339 (MicroTime or Time) -> seconds since the epoch; None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    got = _time_cache.get(text)
    if got is not None:
        return got
    s = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        t = datetime.fromisoformat(s).timestamp()
    except ValueError:
        return None
    if not _MIN_TIME <= t <= _MAX_TIME:
        return None  # a time no clock can show (a year beyond 9999 once in UTC)
    if len(_time_cache) > 4096:
        _time_cache.clear()
    _time_cache[text] = t
    return t


def resource_kind(group: str, resource: str) -> str | None:
    """The engine Kind for an API resource, or None."""
    return RESOURCES.get((group, resource))


def event_records(doc: Any, source: str, line: int) -> Iterator[Record | Skip]:
    """The records of one parsed document (any recognised shape)."""
    if isinstance(doc, list):
        for item in doc:
            yield from event_records(item, source, line)
        return
    if not isinstance(doc, dict):
        yield Skip(source, line, "unknown-shape", f"a {type(doc).__name__}, not an object")
        return
    kind = doc.get("kind")
    if kind == "Event":
        yield event_record(doc, source, line)
        return
    if kind == "EventList":
        items = doc.get("items")
        if not isinstance(items, list):
            yield Skip(source, line, "unknown-shape", "EventList without items")
            return
        for item in items:
            if isinstance(item, dict) and item.get("kind", "Event") == "Event":
                yield event_record(item, source, line)
            else:
                yield Skip(source, line, "unknown-shape", "an EventList item that is no Event")
        return
    payload = doc.get("protoPayload")
    if isinstance(payload, dict):
        yield _from_gke(doc, payload, source, line)
        return
    props = doc.get("properties")
    if isinstance(props, dict) and "log" in props:
        yield from _wrapped(props["log"], source, line, "AKS properties.log")
        return
    log_events = doc.get("logEvents")
    if isinstance(log_events, list):
        for item in log_events:
            msg = item.get("message") if isinstance(item, dict) else None
            yield from _wrapped(msg, source, line, "CloudWatch logEvents[].message")
        return
    for key in ("log", "message", "@message"):
        if isinstance(doc.get(key), str) and doc[key].lstrip().startswith("{"):
            yield from _wrapped(doc[key], source, line, key)
            return
    tests = doc.get("Tests")
    if isinstance(tests, list) and any(isinstance(t, dict) and "Log" in t for t in tests):
        for t in tests:
            if isinstance(t, dict) and isinstance(t.get("Log"), dict):
                yield from event_records(t["Log"], source, line)
        return
    yield Skip(source, line, "unknown-shape", _describe(doc))


def _describe(doc: dict[str, Any]) -> str:
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind == "AdmissionReview":
        return f"an AdmissionReview ({api}), not an audit event"
    if kind is not None and not isinstance(kind, str):
        return f"kind is {kind!r}, not a string: a malformed event"
    if kind:
        return f"kind {kind!r} ({api or 'no apiVersion'}) is not an audit Event"
    keys = ", ".join(sorted(map(str, doc))[:6])
    return f"an object with keys {keys}: not an audit event"


def _wrapped(value: Any, source: str, line: int, where: str) -> Iterator[Record | Skip]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as e:
            yield Skip(source, line, "malformed-json", f"{where}: {e}")
            return
    if not isinstance(value, dict):
        yield Skip(source, line, "unknown-shape", f"{where} holds no event")
        return
    yield from event_records(value, source, line)


def _utf8(value: Any) -> Any:
    """``value``, with a text UTF-8 cannot carry (a lone surrogate, which Go's JSON
    encoder never writes: it writes U+FFFD) made storable: each lone surrogate becomes
    U+FFFD, so the entry that keeps it can be stored. Anything else as it is."""
    if not isinstance(value, str) or is_text(value):
        return value
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)


def event_record(ev: dict[str, Any], source: str, line: int) -> Record | Skip:
    """One audit Event (``kind: Event``) -> a Record, or a Skip saying why not."""
    verb = ev.get("verb")
    if not isinstance(verb, str) or not (
        "stage" in ev or "auditID" in ev or "objectRef" in ev or "requestURI" in ev
    ):
        if ev.get("apiVersion") in ("v1", "events.k8s.io/v1") or "involvedObject" in ev:
            return Skip(
                source, line, "unknown-shape", "a Kubernetes Event object, not an audit event"
            )
        return Skip(source, line, "unknown-shape", "kind Event without verb/stage/auditID")
    stage = ev.get("stage")
    status = ev.get("responseStatus")
    if stage is None:
        stage = "ResponseComplete" if isinstance(status, dict) else None
    if stage != "ResponseComplete":
        if stage == "Panic":
            return Skip(source, line, "panic", f"{verb} {_ref_text(ev)}")
        if verb not in WRITE_VERBS:
            return Skip(source, line, "read-only", verb)
        return Skip(source, line, "stage", str(stage))
    if verb not in WRITE_VERBS:
        code = status.get("code") if isinstance(status, dict) else None
        return Skip(source, line, "read-only", f"{verb} ({code})" if code else verb)
    ref = ev.get("objectRef")
    if not isinstance(ref, dict):
        return Skip(source, line, "non-resource", str(ev.get("requestURI") or verb))
    resource = ref.get("resource")
    group = ref.get("apiGroup")
    if group is None:
        group = _group_from(ev, ref, resource)
    sub = ref.get("subresource") or ""
    if not all(isinstance(x, str) for x in (resource or "", group or "", sub)):
        return Skip(source, line, "unknown-shape", "objectRef fields that are not strings")
    kind = RESOURCES.get((group or "", resource or ""))
    if kind is None or sub not in _SUBRESOURCES:
        what = f"{resource}/{sub}" if sub else str(resource)
        return Skip(source, line, "not-modeled", f"{what}.{group}" if group else what)
    if not isinstance(status, dict):
        return Skip(source, line, "no-status", f"{verb} {_ref_text(ev)}")
    code = status.get("code")
    if not isinstance(code, int):
        code = 200 if status.get("status") in (None, "Success") else 500
    if not 200 <= code < 300:
        reason = status.get("reason") or status.get("status") or ""
        return Skip(source, line, "failed", f"{code} {reason} {verb} {_ref_text(ev)}".strip())
    uri = ev.get("requestURI") or ""
    if isinstance(uri, str) and "dryRun=" in uri:
        return Skip(source, line, "dry-run", f"{verb} {_ref_text(ev)}")
    ann = ev.get("annotations")
    ann = ann if isinstance(ann, dict) else {}
    level = ev.get("level") or ""
    request = ev.get("requestObject")
    response = ev.get("responseObject")
    if ann.get("audit.k8s.io/truncated") == "true":
        request = response = None
        level = "Metadata"
    ts = parse_time(ev.get("stageTimestamp"))
    received = parse_time(ev.get("requestReceivedTimestamp"))
    if ts is None:
        ts = received if received is not None else parse_time(ev.get("timestamp"))
    user = ev.get("user")
    username = user.get("username", "") if isinstance(user, dict) else ""
    imp = ev.get("impersonatedUser")
    if isinstance(imp, dict) and imp.get("username"):
        username = imp["username"]
    username = _utf8(username)
    ns = ref.get("namespace") or None
    return Record(
        source,
        line,
        ts if ts is not None else 0.0,
        ts,
        verb,
        kind,
        ns,
        ref.get("name") or "",
        sub,
        code,
        username,
        _utf8(str(ann.get(ACTOR_ANNOTATION) or username)),
        _utf8(str(ev.get("auditID") or "")),
        level,
        request,
        response,
        received,
        ann.get(RAW_WRITE_ANNOTATION) == "true",
    )


def _group_from(ev: dict[str, Any], ref: dict[str, Any], resource: Any) -> str:
    """Old events may lack objectRef.apiGroup: the URI or apiVersion tells it."""
    uri = ev.get("requestURI") or ""
    if isinstance(uri, str) and uri.startswith("/apis/"):
        return uri.split("/")[2]
    if isinstance(uri, str) and uri.startswith("/api/"):
        return ""
    api = ref.get("apiVersion") or ""
    if isinstance(api, str) and "/" in api:
        return api.split("/")[0]
    return _GROUP_OF_RESOURCE.get(str(resource), "")


def _ref_text(ev: dict[str, Any]) -> str:
    ref = ev.get("objectRef")
    if not isinstance(ref, dict):
        return str(ev.get("requestURI") or "")
    res = str(ref.get("resource") or "?")
    if ref.get("subresource"):
        res += "/" + str(ref["subresource"])
    ns = ref.get("namespace")
    name = ref.get("name") or ""
    return f"{res} {ns}/{name}" if ns else f"{res} {name}".rstrip()


def _from_gke(entry: dict[str, Any], p: dict[str, Any], source: str, line: int) -> Record | Skip:
    """A Cloud Logging LogEntry (GKE) -> the audit Event it stands for."""
    method = p.get("methodName")
    rname = p.get("resourceName")
    if not isinstance(method, str) or not method.startswith("io.k8s."):
        return Skip(source, line, "unknown-shape", f"LogEntry with methodName {method!r}")
    verb = method.rsplit(".", 1)[-1]
    ref: dict[str, Any] = {}
    if isinstance(rname, str):
        parts = rname.split("/")
        if len(parts) >= 3:
            group = "" if parts[0] == "core" else parts[0]
            ref["apiGroup"] = group
            ref["apiVersion"] = parts[1]
            rest = parts[2:]
            if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) >= 3:
                ref["namespace"] = rest[1]
                rest = rest[2:]
            if rest:
                ref["resource"] = rest[0]
            if len(rest) >= 2:
                ref["name"] = rest[1]
            if len(rest) >= 3:
                ref["subresource"] = rest[2]
    code_raw = (p.get("status") or {}).get("code", 0) if isinstance(p.get("status"), dict) else 0
    code = _GRPC_HTTP.get(int(code_raw) if isinstance(code_raw, int) else 2, 500)
    if code == 200 and verb == "create":
        code = 201
    op = entry.get("operation")
    auth = p.get("authenticationInfo")
    ev: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "stage": "ResponseComplete",
        "auditID": (op.get("id") if isinstance(op, dict) else None) or entry.get("insertId"),
        "verb": verb,
        "objectRef": ref if ref else None,
        "responseStatus": {"code": code},
        "user": {"username": auth.get("principalEmail", "") if isinstance(auth, dict) else ""},
        "stageTimestamp": entry.get("timestamp"),
        "requestURI": "",
    }
    for src, dst in (("request", "requestObject"), ("response", "responseObject")):
        body = p.get(src)
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "@type"}
            ev[dst] = body
    ev["level"] = (
        "RequestResponse"
        if "responseObject" in ev
        else "Request"
        if "requestObject" in ev
        else "Metadata"
    )
    if ev["objectRef"] is None:
        del ev["objectRef"]
    return event_record(ev, source, line)
