"""``describe``, as ``k8s.io/kubectl/pkg/describe`` writes it.

ServiceCIDR, IPAddress, Service and Namespace have kubectl's dedicated describers; the other kinds
get the generic (unstructured) describer. Output goes through a Go tabwriter with
minwidth 0 and padding 2, flushed before the Events table as kubectl does.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from servicecidr.cli.printers import TabWriter, event_times, format_labels
from servicecidr.clock import parse_time

__all__ = ["describe_object"]

Obj = dict[str, Any]
_ACRONYMS = {"API", "URL", "UID", "OSB", "GUID"}


def _rfc1123z(ts: Any) -> str:
    if not isinstance(ts, str) or not ts:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    try:
        dt = datetime.fromtimestamp(parse_time(ts)).astimezone()
    except ValueError:
        return ts
    return dt.strftime("%a, %d %b %Y %H:%M:%S %z")


class _Writer:
    """kubectl's PrefixWriter over a tabwriter: two spaces per level."""

    def __init__(self) -> None:
        self.tw = TabWriter(0, 2)

    def write(self, level: int, text: str) -> None:
        self.tw.write("  " * level + text)

    def flush(self) -> None:
        self.tw.flush()

    def value(self) -> str:
        return self.tw.getvalue()


def _labels(w: _Writer, title: str, labels: Any) -> None:
    w.write(0, f"{title}:\t")
    if not isinstance(labels, dict) or not labels:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, "\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations(w: _Writer, annotations: Any) -> None:
    w.write(0, "Annotations:\t")
    keys = []
    if isinstance(annotations, dict):
        keys = sorted(
            k for k in annotations if k != "kubectl.kubernetes.io/last-applied-configuration"
        )
    if not keys:
        w.write(0, "<none>\n")
        return
    assert isinstance(annotations, dict)
    for i, key in enumerate(keys):
        if i:
            w.write(0, "\t")
        value = str(annotations[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > 140 or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                short = line if len(line) <= 138 else line[:138] + "..."
                w.write(0, f"\t  {short}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _events(w: _Writer, events: list[Obj] | None, now: float) -> None:
    if events is None:
        return
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")

    def last_time(e: Obj) -> float:
        series = e.get("series")
        ts = series.get("lastObservedTime") if isinstance(series, dict) else e.get("eventTime")
        try:
            return parse_time(str(ts))
        except ValueError:
            return 0.0

    for e in sorted(events, key=last_time):
        last, first, count = event_times(e, now)
        interval = f"{last} (x{count} over {first})" if count > 1 else first
        w.write(
            1,
            f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t"
            f"{e.get('reportingController', '')}\t{str(e.get('note', '')).strip()}\n",
        )


def _service_cidr(o: Obj, events: list[Obj] | None, now: float) -> str:
    w = _Writer()
    meta = o.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, meta.get("annotations"))
    w.write(0, f"CIDRs:\t{', '.join((o.get('spec') or {}).get('cidrs') or [])}\n")
    conditions = (o.get("status") or {}).get("conditions") or []
    if conditions:
        w.write(0, "Status:\n")
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(
                1,
                f"{c.get('type', '')}\t{c.get('status', '')}\t"
                f"{_rfc1123z(c.get('lastTransitionTime'))}\t{c.get('reason', '')}\t"
                f"{c.get('message', '')}\n",
            )
    _events(w, events, now)
    return w.value()


def _ip_address(o: Obj, events: list[Obj] | None, now: float) -> str:
    w = _Writer()
    meta = o.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, meta.get("annotations"))
    ref = (o.get("spec") or {}).get("parentRef")
    if isinstance(ref, dict):
        w.write(0, "Parent Reference:\n")
        for field in ("Group", "Resource", "Namespace", "Name"):
            w.write(1, f"{field}:\t{ref.get(field.lower(), '')}\n")
    _events(w, events, now)
    return w.value()


def _service(o: Obj, events: list[Obj] | None, now: float) -> str:
    w = _Writer()
    meta = o.get("metadata") or {}
    spec = o.get("spec") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, meta.get("annotations"))
    w.write(0, f"Selector:\t{_selector(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    families = spec.get("ipFamilies") or []
    w.write(0, f"IP Families:\t{','.join(families) if families else '<none>'}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    cips = spec.get("clusterIPs") or []
    w.write(0, f"IPs:\t{','.join(cips) if cips else '<none>'}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    ingress = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.write(0, f"LoadBalancer Ingress:\t{_ingress(ingress)}\n")
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        proto = p.get("protocol", "TCP")
        w.write(0, f"Port:\t{name}\t{p.get('port')}/{proto}\n")
        target = p.get("targetPort", p.get("port"))
        w.write(0, f"TargetPort:\t{target}/{proto}\n")
        if p.get("appProtocol") is not None:
            w.write(0, f"AppProtocol:\t{p['appProtocol']}\n")
        if p.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{p['nodePort']}/{proto}\n")
        w.write(0, "Endpoints:\t<none>\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', '')}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        w.write(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if spec.get("loadBalancerSourceRanges"):
        w.write(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    if spec.get("trafficDistribution"):
        w.write(0, f"Traffic Distribution:\t{spec['trafficDistribution']}\n")
    _events(w, events, now)
    return w.value()


def _ingress(ingress: list[Any]) -> str:
    """``buildIngressString``: each IP with its ``(ipMode)``, else its hostname."""
    parts = []
    for i in ingress:
        i = i if isinstance(i, dict) else {}
        if i.get("ip"):
            mode = i.get("ipMode")
            parts.append(f"{i['ip']} ({mode})" if mode is not None else str(i["ip"]))
        else:
            parts.append(str(i.get("hostname") or ""))
    return ", ".join(parts)


def _namespace(o: Obj, events: list[Obj] | None, now: float) -> str:
    """``describeNamespace`` (the server serves no resource quotas or limit ranges: kubectl
    shows neither section)."""
    w = _Writer()
    meta = o.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, meta.get("annotations"))
    status = o.get("status") or {}
    w.write(0, f"Status:\t{status.get('phase', '')}\n")
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(
                1,
                f"{c.get('type', '')}\t{c.get('status', '')}\t"
                f"{_rfc1123z(c.get('lastTransitionTime'))}\t{c.get('reason', '')}\t"
                f"{c.get('message', '')}\n",
            )
    return w.value()


def _selector(sel: Any) -> str:
    return format_labels(sel) if isinstance(sel, dict) and sel else "<none>"


def _smart_label(field: str) -> str:
    if any(not (c.isalpha() or c == "-") for c in field):
        return field
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|-+", field)
    out = []
    for p in parts:
        if p.upper() in _ACRONYMS:
            out.append(p.upper())
        else:
            out.append(p[:1].upper() + p[1:])
    return " ".join(out)


def _go_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    return str(v)


_GENERIC_SKIP = (
    ".metadata.managedFields",
    ".metadata.name",
    ".metadata.namespace",
    ".metadata.labels",
    ".metadata.annotations",
)


def _unstructured(w: _Writer, level: int, content: Obj, prefix: str) -> None:
    for field in sorted(content):
        value = content[field]
        expr = f"{prefix}.{field}"
        if expr in _GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{_smart_label(field)}:\n")
            _unstructured(w, level + 1, value, expr)
        elif isinstance(value, list):
            w.write(level, f"{_smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _unstructured(w, level + 1, child, expr)
                else:
                    w.write(level + 1, f"{_go_value(child)}\n")
        else:
            w.write(level, f"{_smart_label(field)}:\t{_go_value(value)}\n")


def _generic(o: Obj, events: list[Obj] | None, now: float) -> str:
    w = _Writer()
    meta = o.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, meta.get("annotations"))
    _unstructured(w, 0, o, "")
    _events(w, events, now)
    return w.value()


_DESCRIBERS = {
    "ServiceCIDR": _service_cidr,
    "IPAddress": _ip_address,
    "Service": _service,
    "Namespace": _namespace,
}


def events_for(obj: Obj, events: list[Obj]) -> list[Obj]:
    """The events about an object (by kind, name, namespace and uid)."""
    meta = obj.get("metadata") or {}
    out = []
    for e in events:
        ref = e.get("regarding") or {}
        if ref.get("kind") != obj.get("kind") or ref.get("name") != meta.get("name"):
            continue
        if meta.get("namespace") and ref.get("namespace", "") != meta.get("namespace"):
            continue
        if ref.get("uid") and meta.get("uid") and ref["uid"] != meta["uid"]:
            continue
        out.append(e)
    return out


def describe_object(obj: Obj, events: list[Obj] | None, now: float) -> str:
    """The text ``kubectl describe`` prints for one object (``events=None``: no Events
    section, as with ``--show-events=false``)."""
    fn = _DESCRIBERS.get(str(obj.get("kind", "")), _generic)
    return fn(obj, events, now)
