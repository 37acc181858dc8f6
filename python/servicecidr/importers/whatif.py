"""What-if replay: the recorded *requests* through the engine's own decisions, under other
settings, and what would have failed and when.

The replay runs a fresh in-memory :class:`~servicecidr.cluster.Cluster` on a simulated
clock that follows the records' times (controllers run as time passes, so ServiceCIDR
finalizers, the 10 s deletion grace and the repair loop behave as they would have).
Settings: ``service_cluster_ip_range`` (the default ServiceCIDR and ``default/kubernetes``),
``add_service_cidrs`` (extra ServiceCIDRs present from the start), ``remove_service_cidrs``
(recorded ServiceCIDRs whose creation is not replayed) and ``seed``.

What is replayed: the successful writes of users. The writes the engine makes itself
(the apiserver's IPAddress writes and default objects, kube-controller-manager's
finalizers and status, the repair loop, events) are skipped as ``controller-write``;
status writes too. A create sends the recorded requestObject (before allocation, so a
ClusterIP it names was the user's choice and is kept; an allocated one is not there);
without a requestObject the responseObject is sent with ``clusterIP``/``clusterIPs``/
``ipFamilies`` removed. Updates keep only the user-chosen ClusterIPs (the engine keeps the
allocated ones, as patchAllocatedValues does). A patch applies its responseObject
(``Cluster.apply``). Dumps and watch streams: each object is created (or updated) the same
way. The report lists every request that failed, the first ``range is full`` with the
record that met it, and the peak utilization of every prefix with its time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from servicecidr.api.kinds import KINDS
from servicecidr.clock import SimulatedClock, format_micro_time
from servicecidr.cluster import Cluster
from servicecidr.errors import ApiError, ServiceCIDRError
from servicecidr.importers.inputs import Record, Skip
from servicecidr.importers.report import ImportReport, state_summary
from servicecidr.store import object_key

__all__ = ["WhatIfReplay", "is_controller_user"]

_SYSTEM_META = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "selfLink",
)
_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies")
_CONTROLLER_USERS = frozenset(
    {
        "system:apiserver",
        "system:kube-controller-manager",
        "system:servicecidr:storage",
    }
)


def is_controller_user(user: str) -> bool:
    """Writes by the apiserver itself or by kube-system controllers."""
    return user in _CONTROLLER_USERS or user.startswith("system:serviceaccount:kube-system:")


def _strip_meta(obj: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(obj)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        for f in _SYSTEM_META:
            meta.pop(f, None)
    return body


class WhatIfReplay:
    """Replays requests into a fresh Cluster built with the given settings."""

    def __init__(
        self,
        report: ImportReport,
        *,
        service_cluster_ip_range: str | Iterable[str] | None,
        seed: int = 0,
        add_service_cidrs: Iterable[tuple[str, list[str]]] = (),
        remove_service_cidrs: Iterable[str] = (),
        max_failures: int = 1000,
        on_skip: Callable[[Skip], None] | None = None,
    ) -> None:
        self.r = report
        self._on_skip = on_skip if on_skip is not None else report.skip
        self.range = service_cluster_ip_range
        self.seed = seed
        self.add = list(add_service_cidrs)
        self.remove = set(remove_service_cidrs)
        self.max_failures = max_failures
        self.c: Cluster | None = None
        self.clock: SimulatedClock | None = None
        self._user_ips: dict[str, list[str]] = {}
        self._failed_keys: set[tuple[str, str]] = set()
        self._written_namespaces: set[str] = set()
        rng = (
            self.range
            if isinstance(self.range, str) or self.range is None
            else ",".join(self.range)
        )
        report.settings = {
            "service-cluster-ip-range": rng or "(none)",
            "seed": seed,
            "added ServiceCIDRs": ", ".join(f"{n}={','.join(c)}" for n, c in self.add) or "-",
            "removed ServiceCIDRs": ", ".join(sorted(self.remove)) or "-",
        }

    # ------------------------------------------------------------------ setup

    def _cluster(self, t: float | None) -> Cluster:
        if self.c is not None:
            return self.c
        self.clock = SimulatedClock(t) if t is not None else SimulatedClock()
        c = Cluster(self.range, seed=self.seed, clock=self.clock)
        for name, cidrs in self.add:
            c.create(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "ServiceCIDR",
                    "metadata": {"name": name},
                    "spec": {"cidrs": list(cidrs)},
                }
            )
        c.reconcile("0s")
        self.c = c
        self._sample(None)
        return c

    # ------------------------------------------------------------------ records

    def skip(self, s: Skip) -> None:
        """An input that is not used."""
        self._on_skip(s)

    def apply(self, rec: Record) -> None:
        """Replay one record's request."""
        self.r.read += 1
        self.r.saw_time(rec.ts)
        c = self._cluster(rec.ts)
        assert self.clock is not None
        if rec.ts is not None and rec.ts > self.clock.now():
            c.reconcile(rec.ts - self.clock.now())
        if rec.raw or is_controller_user(rec.user) or rec.kind == "Event":
            self.skip(Skip(rec.source, rec.line, "controller-write", f"{rec.verb} by {rec.user}"))
            return
        if rec.subresource:
            self.skip(Skip(rec.source, rec.line, "controller-write", f"{rec.verb} of status"))
            return
        if rec.kind == "ServiceCIDR" and rec.name in self.remove:
            self.r.note("recorded writes of removed ServiceCIDRs not replayed")
            return
        if rec.verb == "deletecollection":
            body = rec.response if isinstance(rec.response, dict) else None
            items = body.get("items") if body is not None else None
            if not isinstance(items, list):
                self.skip(
                    Skip(rec.source, rec.line, "metadata-only", "deletecollection without a List")
                )
                return
            for item in items:
                meta = item.get("metadata") if isinstance(item, dict) else None
                if isinstance(meta, dict) and meta.get("name"):
                    ns = meta.get("namespace") or rec.namespace
                    self._do(rec, "delete", None, str(meta["name"]), ns)
            return
        info = KINDS[rec.kind]
        ns = (rec.namespace or "default") if info.namespaced else None
        name = rec.name
        body = self._body(rec)
        if body is not None and not name:
            meta = body.get("metadata") or {}
            name = str(meta.get("name") or "")
            if info.namespaced and meta.get("namespace"):
                ns = meta["namespace"]
        if rec.verb == "delete":
            if not name:
                self.skip(Skip(rec.source, rec.line, "no-name", "delete without a name"))
                return
            self._do(rec, "delete", None, name, ns)
            return
        if body is None:
            reason = "patch-without-body" if rec.verb == "patch" else "metadata-only"
            self.skip(Skip(rec.source, rec.line, reason, f"{rec.verb} {rec.kind} {name}"))
            return
        if not name and not (body.get("metadata") or {}).get("generateName"):
            self.skip(Skip(rec.source, rec.line, "no-name", f"{rec.verb} {rec.kind}"))
            return
        verb = rec.verb
        if verb == "put":  # dumps and watch streams
            key = object_key(info.namespaced, ns, name)
            verb = "update" if c.engine.store.contains(rec.kind, key) else "create"
            if (
                verb == "create"
                and rec.kind in ("Service", "ServiceCIDR")
                and name == "kubernetes"
                and ns in (None, "default")
                and c.service_cluster_ip_range
            ):
                self.r.note("default objects in the input (the settings made their own)")
                return
        self._do(rec, verb, body, name, ns)

    def _body(self, rec: Record) -> dict[str, Any] | None:
        """What to send: the request as recorded, else the response without allocated values."""
        info = KINDS[rec.kind]
        from_request = isinstance(rec.request, dict) and rec.verb in ("create", "update")
        if from_request:
            body = _strip_meta(rec.request)
        elif isinstance(rec.response, dict) and rec.response.get("kind") != "Status":
            body = _strip_meta(rec.response)
            if rec.kind == "Service":
                spec = body.get("spec")
                if isinstance(spec, dict):
                    keep_none = spec.get("clusterIP") == "None"
                    for f in _ALLOCATED:
                        spec.pop(f, None)
                    if keep_none:
                        spec["clusterIP"] = "None"
                    for p in spec.get("ports") or []:
                        if isinstance(p, dict) and rec.verb != "patch":
                            p.pop("nodePort", None)
            body.pop("status", None)
        else:
            return None
        body["apiVersion"] = body.get("apiVersion") or info.api_version
        body["kind"] = info.kind
        meta = body.setdefault("metadata", {})
        if isinstance(meta, dict):
            if rec.name and not meta.get("name"):
                meta["name"] = rec.name
            if info.namespaced and rec.namespace and not meta.get("namespace"):
                meta["namespace"] = rec.namespace
        if rec.kind == "Service" and from_request and rec.verb == "update":
            spec = body.get("spec")
            key = object_key(True, rec.namespace or "default", rec.name)
            if isinstance(spec, dict) and key not in self._user_ips:
                for f in _ALLOCATED:
                    spec.pop(f, None)
        return body

    def _do(
        self, rec: Record, verb: str, body: dict[str, Any] | None, name: str, ns: str | None
    ) -> None:
        c = self.c
        assert c is not None
        self.r.replayed += 1
        key = object_key(KINDS[rec.kind].namespaced, ns, name)
        if rec.kind == "Namespace":
            self._written_namespaces.add(name)
        elif ns is not None and verb in ("create", "patch"):
            self._adopt(c, ns)
        try:
            if verb == "create":
                if rec.kind == "Service" and body is not None:
                    spec = body.get("spec") or {}
                    ips = spec.get("clusterIPs") or (
                        [spec["clusterIP"]] if spec.get("clusterIP") else []
                    )
                    if ips and ips != ["None"]:
                        self._user_ips[key] = list(ips)
                assert body is not None
                c.create(body)
            elif verb == "update":
                assert body is not None
                c.update(body)
            elif verb == "patch":
                assert body is not None
                c.apply(body)
            else:
                c.delete(rec.kind, name, ns)
                self._user_ips.pop(key, None)
        except ApiError as e:
            self._failure(rec, verb, key, e)
        except ServiceCIDRError as e:
            self._failure(rec, verb, key, e)
        else:
            self.r.succeeded += 1
            self.r.used += 1
            self._failed_keys.discard((rec.kind, key))
            if rec.kind == "ServiceCIDR":
                c.reconcile("0s")
        self._sample(rec)

    def _adopt(self, c: Cluster, namespace: str) -> None:
        """Create the namespace a request needs when the input never wrote it (the
        history began after it was made), as its owner once did."""
        if namespace in self._written_namespaces or c.engine.store.contains("Namespace", namespace):
            return
        try:
            c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        except ApiError:
            return  # the request then fails as it would (NotFound)
        self.r.note("namespaces adopted (the input never shows their creation)")

    def _failure(self, rec: Record, verb: str, key: str, e: ServiceCIDRError) -> None:
        reason = getattr(e, "reason", type(e).__name__)
        message = getattr(e, "message", str(e))
        cascade = (rec.kind, key) in self._failed_keys and reason == "NotFound"
        label = f"{reason} (its create failed earlier)" if cascade else str(reason)
        self.r.failure_counts[label] += 1
        if verb == "create":
            self._failed_keys.add((rec.kind, key))
        entry = {
            "event": rec.ref(),
            "request": verb,
            "reason": reason,
            "message": message,
            "time": format_micro_time(rec.ts) if rec.ts is not None else None,
        }
        if len(self.r.failures) < self.max_failures:
            self.r.failures.append(entry)
        if self.r.first_range_full is None and "range is full" in message:
            self.r.first_range_full = entry

    def _sample(self, rec: Record | None) -> None:
        c = self.c
        assert c is not None
        peaks = self.r.peaks
        for prefix, _ready, used, size in c.allocators():
            p = peaks.get(prefix)
            if p is None or used > p["used"]:
                peaks[prefix] = {
                    "used": used,
                    "size": size,
                    "utilization": used / size if size else 0.0,
                    # before any record: the replay's start (its clock's present)
                    "time": format_micro_time(
                        rec.ts if rec is not None and rec.ts else self._now()
                    ),
                    "event": rec.ref() if rec is not None else None,
                }

    def _now(self) -> float:
        assert self.clock is not None
        return self.clock.now()

    def finish(self) -> Cluster:
        """The replayed Cluster (created now if no record came)."""
        c = self._cluster(None)
        names: dict[str, list[str]] = {}
        for sc in c.list("ServiceCIDR"):
            for cidr in (sc.get("spec") or {}).get("cidrs") or []:
                names.setdefault(str(cidr), []).append(sc["metadata"]["name"])
        for prefix, p in self.r.peaks.items():
            p["serviceCIDRs"] = names.get(prefix, [])
        self.r.state, self.r.totals = state_summary(c)
        return c
