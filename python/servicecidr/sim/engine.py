"""The discrete-event loop that runs a :class:`~servicecidr.sim.workload.Model` against a Cluster.

Everything a run decides comes from random generators this object owns (one per stream
and burst, seeded from the run's seed and the stream's name, so adding a stream does not
change the others) and from the Cluster's own seed; time is a
:class:`~servicecidr.clock.SimulatedClock` the run owns. Nothing is global: any number of
simulations can live, and be stepped in turns, in one process.

Example::

    from servicecidr.sim import Simulation, preset
    sim = Simulation(preset("seed-at-scale").with_changes(duration=1800), seed=1)
    result = sim.run()
    result.totals["failures"], [a.cidr for a in result.operator_actions]
"""

from __future__ import annotations

import bisect
import heapq
import ipaddress
import random
import time
from array import array
from collections.abc import Callable
from itertools import accumulate
from time import perf_counter_ns
from typing import Any

from servicecidr._core import parse_cidr
from servicecidr.clock import SIMULATION_EPOCH, SimulatedClock, format_time
from servicecidr.cluster import Cluster
from servicecidr.errors import ApiError, InvalidInputError, ServiceCIDRError
from servicecidr.sim.result import (
    CidrStats,
    Failure,
    OperatorAction,
    SimResult,
    percentile,
)
from servicecidr.sim.workload import Lifetime, Model

__all__ = [
    "CidrStats",
    "Failure",
    "OperatorAction",
    "SimResult",
    "Simulation",
    "percentile",
    "run",
]

# Event kinds, in the order they run when they fall on the same instant.
_OP_ADD, _DELETE, _CREATE, _BURST, _RECONCILE, _CHECK, _SAMPLE = range(7)

Snapshot = list[tuple[str, bool, int, int]]


def _family(prefix: str) -> str:
    return "IPv6" if ":" in prefix else "IPv4"


class _Source:
    """A stream or a burst: its generator, namespace and policy draws, name counter."""

    def __init__(
        self,
        kind: str,
        name: str,
        seed: int,
        lifetime: Lifetime,
        mix: tuple[tuple[str, float], ...],
        namespaces: list[str],
        ns_cum: list[float] | None,
    ) -> None:
        self.name = name
        self.rng = random.Random(f"servicecidr.sim/{seed}/{kind}/{name}")
        self.lifetime = lifetime
        self.policies = [p for p, _ in mix]
        self.policy_cum = list(accumulate(w for _, w in mix))
        self.namespaces = namespaces
        self.ns_cum = ns_cum
        self.count = 0

    def next_service(self) -> tuple[str, str, str]:
        """(namespace, name, policy key) of the next Service."""
        rng = self.rng
        self.count += 1
        if len(self.namespaces) == 1:
            ns = self.namespaces[0]
        elif self.ns_cum is None:
            ns = self.namespaces[rng.randrange(len(self.namespaces))]
        else:
            x = rng.random() * self.ns_cum[-1]
            ns = self.namespaces[bisect.bisect_right(self.ns_cum, x)]
        if len(self.policies) == 1:
            policy = self.policies[0]
        else:
            x = rng.random() * self.policy_cum[-1]
            policy = self.policies[
                min(bisect.bisect_right(self.policy_cum, x), len(self.policies) - 1)
            ]
        return ns, f"{self.name}-{self.count}", policy


def _service(ns: str, name: str, policy: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": 80, "protocol": "TCP"}]}
    pol, _, fam = policy.partition(":")
    spec["ipFamilyPolicy"] = pol
    if fam:
        if pol == "SingleStack":
            spec["ipFamilies"] = [fam]
        else:
            spec["ipFamilies"] = [fam, "IPv6" if fam == "IPv4" else "IPv4"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


class Simulation:
    """One run of a model: a Cluster, a simulated clock, an event queue.

    Args:
        model: the workload.
        seed: seeds the Cluster and every workload draw.
        record_latency: time every create and delete with the wall clock (kept apart
            from the deterministic results).
        start: the simulated time the run starts at (seconds since the Unix epoch).
    """

    def __init__(
        self,
        model: Model,
        seed: int = 1,
        *,
        record_latency: bool = True,
        start: float = SIMULATION_EPOCH,
    ) -> None:
        self.model = model
        self.seed = int(seed)
        self.start = float(start)
        self.clock = SimulatedClock(self.start)
        self.cluster = Cluster(
            model.service_cluster_ip_range, seed=self.seed, clock=self.clock, keep_events=False
        )
        self.record_latency = record_latency
        self.now = 0.0
        self.done = False
        self._queue: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        ns = (
            ["default"]
            if model.namespaces == 1
            else [f"ns-{i:04d}" for i in range(model.namespaces)]
        )
        # The workload's namespaces exist before it starts (NamespaceLifecycle refuses a
        # Service in a namespace that does not).
        missing = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            for name in ns
            if not self.cluster.engine.store.contains("Namespace", name)
        ]
        for made in self.cluster.create_many(missing):
            if isinstance(made, ServiceCIDRError):
                raise made
        ns_cum = (
            list(accumulate(1.0 / (k + 1) ** model.namespace_skew for k in range(len(ns))))
            if model.namespace_skew > 0 and len(ns) > 1
            else None
        )
        self._streams = [
            _Source("stream", s.name, self.seed, s.lifetime, s.policy_mix, ns, ns_cum)
            for s in model.streams
        ]
        self._bursts = [
            _Source("burst", b.name, self.seed, b.lifetime, b.policy_mix, ns, ns_cum)
            for b in model.bursts
        ]
        # counters and records
        self.creates = 0
        self.deletes = 0
        self.failures: list[Failure] = []
        self.failure_reasons: dict[str, int] = {}
        self.range_full = 0
        self.first_range_full: float | None = None
        self.operator_actions: list[OperatorAction] = []
        self.samples: list[dict[str, float]] = []
        self.cidrs: dict[str, CidrStats] = {}
        self._pending: set[str] = set()  # families with an operator add scheduled
        self._added = 0
        self._top_cache: dict[tuple[str, ...], frozenset[str]] = {}
        # The allocators as (prefix, ready, allocator, size), and per family the
        # allocators the operator's utilization counts: both change only when the
        # MetaAllocator's generation does, so they are read again only then (a snapshot
        # after every create would otherwise walk and sort them each time).
        self._meta = self.cluster.engine.meta
        self._rows_generation = -1
        self._rows: list[tuple[str, bool, Any, int]] = []
        self._usage: list[tuple[str, tuple[Any, ...], int]] = []
        self._nets: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
        ops = ("create", "delete", "failed_create")
        self._lat: dict[str, array[int]] = {k: array("q") for k in ops}
        self._window: dict[str, array[int]] = {k: array("q") for k in ops}
        self._lat_series: list[dict[str, float]] = []
        self._wall = 0.0
        self._schedule_initial()
        self._observe(self._snapshot(), 0.0)

    # ---------------------------------------------------------------- scheduling

    def _push(self, t: float, kind: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (t, kind, self._seq, payload))

    def _schedule_initial(self) -> None:
        m = self.model
        for i, s in enumerate(m.streams):
            self._schedule_arrival(i, s.start)
        for i, b in enumerate(m.bursts):
            self._push(b.at, _BURST, (i, 0))
        if m.reconcile_every is not None:
            self._push(m.reconcile_every, _RECONCILE, None)
        if m.operator.enabled and m.operator.check_every > 0:
            self._push(m.operator.check_every, _CHECK, None)
        self._push(0.0, _SAMPLE, 0)

    def _schedule_arrival(self, i: int, after: float) -> None:
        s, src = self.model.streams[i], self._streams[i]
        if s.rate <= 0:
            return
        gap = src.rng.expovariate(s.rate) if s.arrival == "poisson" else 1.0 / s.rate
        t = after + gap
        if (s.end is None or t <= s.end) and t <= self.model.duration:
            self._push(t, _CREATE, ("stream", i))

    # ---------------------------------------------------------------- running

    def run(self, progress: Callable[[float], None] | None = None) -> SimResult:
        """Run to the model's duration; ``progress(simulated seconds done)`` is called
        at every sample."""
        t0 = time.perf_counter()
        # step() in a loop, its lookups made once
        queue, duration, handle, pop = self._queue, self.model.duration, self._handle, heapq.heappop
        while not self.done:
            if not queue:
                self.done = True
                break
            t, kind, _, payload = pop(queue)
            if t > duration:
                self.done = True
                break
            handle(t, kind, payload, progress)
        self._wall += time.perf_counter() - t0
        return self.result()

    def step(self, progress: Callable[[float], None] | None = None) -> bool:
        """Process one event; False when the run is over."""
        if self.done:
            return False
        if not self._queue:
            self.done = True
            return False
        t, kind, _, payload = heapq.heappop(self._queue)
        if t > self.model.duration:
            self.done = True
            return False
        self._handle(t, kind, payload, progress)
        return True

    def _handle(
        self, t: float, kind: int, payload: Any, progress: Callable[[float], None] | None
    ) -> None:
        """Process the event of ``kind`` due at ``t``."""
        self.now = t
        target = self.start + t
        if target > self.clock.now():
            self.clock.set(target)
        if kind == _CREATE:
            self._create(payload)
        elif kind == _DELETE:
            self._delete(payload)
        elif kind == _SAMPLE:
            self._sample(payload)
            if progress is not None:
                progress(t)
        elif kind == _BURST:
            self._burst(payload)
        elif kind == _CHECK:
            self._check()
            self._push(t + self.model.operator.check_every, _CHECK, None)
        elif kind == _OP_ADD:
            self._operator_add(payload)
        elif kind == _RECONCILE:
            self.cluster.reconcile(advance="0s")
            assert self.model.reconcile_every is not None
            self._push(t + self.model.reconcile_every, _RECONCILE, None)

    def _burst(self, payload: tuple[int, int]) -> None:
        i, k = payload
        b = self.model.bursts[i]
        for j in range(b.count):
            t = self.now + (b.over * j / b.count if b.count else 0.0)
            if t <= self.model.duration:
                self._push(t, _CREATE, ("burst", i))
        if b.every is not None:
            nxt = b.at + b.every * (k + 1)
            if nxt <= self.model.duration:
                self._push(nxt, _BURST, (i, k + 1))

    def _create(self, payload: tuple[str, int]) -> None:
        origin, i = payload
        src = self._streams[i] if origin == "stream" else self._bursts[i]
        ns, name, policy = src.next_service()
        lifetime = src.lifetime.sample(src.rng)
        if origin == "stream":
            self._schedule_arrival(i, self.now)
        obj = _service(ns, name, policy)
        if self.record_latency:
            t0 = perf_counter_ns()
            try:
                self.cluster.create(obj)
            except ApiError as e:
                self._window["failed_create"].append(perf_counter_ns() - t0)
                self._failed(ns, name, e)
                return
            self._window["create"].append(perf_counter_ns() - t0)
        else:
            try:
                self.cluster.create(obj)
            except ApiError as e:
                self._failed(ns, name, e)
                return
        self.creates += 1
        if lifetime is not None and self.now + lifetime <= self.model.duration:
            self._push(self.now + lifetime, _DELETE, (ns, name))
        self._observe_now()
        op = self.model.operator
        if op.enabled and op.check_every == 0:
            self._check()

    def _failed(self, ns: str, name: str, e: ApiError) -> None:
        full = "range is full" in e.message
        reason = "RangeFull" if full else e.reason
        self.failures.append(Failure(self.now, ns, name, reason, e.message))
        self.failure_reasons[reason] = self.failure_reasons.get(reason, 0) + 1
        if full:
            self.range_full += 1
            if self.first_range_full is None:
                self.first_range_full = self.now
        op = self.model.operator
        if op.enabled and op.check_every == 0:
            self._check()

    def _delete(self, payload: tuple[str, str]) -> None:
        ns, name = payload
        if self.record_latency:
            t0 = perf_counter_ns()
            self.cluster.delete("Service", name, ns)
            self._window["delete"].append(perf_counter_ns() - t0)
        else:
            self.cluster.delete("Service", name, ns)
        self.deletes += 1

    # ---------------------------------------------------------------- utilization

    def _snapshot(self) -> Snapshot:
        """What ``Cluster.allocators()`` gives now: (prefix, ready, used, size)."""
        if self._meta.generation != self._rows_generation:
            self._read_allocators()
        return [(p, ready, alloc.used, size) for p, ready, alloc, size in self._rows]

    def _read_allocators(self) -> None:
        meta = self._meta
        self._rows = [(p, meta.is_ready(p), a, a.size) for p, a in meta.allocators()]
        top = self._top_level(tuple(p for p, ready, _, _ in self._rows if ready))
        self._usage = [
            (
                fam,
                tuple(a for p, _, a, _ in self._rows if p in top and _family(p) == fam),
                sum(size for p, _, _, size in self._rows if p in top and _family(p) == fam),
            )
            for fam in self.cluster.families
        ]
        self._rows_generation = meta.generation

    def _observe_now(self) -> None:
        """:meth:`_observe` of the allocators now, at the current time (after every
        create: no snapshot list is made)."""
        if self._meta.generation != self._rows_generation:
            self._read_allocators()
        t = self.now
        cidrs = self.cidrs
        for prefix, ready, alloc, size in self._rows:
            used = alloc.used
            st = cidrs.get(prefix)
            if st is None:
                st = cidrs[prefix] = CidrStats(prefix, _family(prefix), size, t)
            if used > st.peak_used:
                st.peak_used, st.peak_time = used, t
            st.final_used, st.ready = used, ready

    def _observe(self, snap: Snapshot, t: float) -> None:
        cidrs = self.cidrs
        for prefix, ready, used, size in snap:
            st = cidrs.get(prefix)
            if st is None:
                st = cidrs[prefix] = CidrStats(prefix, _family(prefix), size, t)
            if used > st.peak_used:
                st.peak_used, st.peak_time = used, t
            st.final_used, st.ready = used, ready

    def _net(self, prefix: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        net = self._nets.get(prefix)
        if net is None:
            net = self._nets[prefix] = ipaddress.ip_network(prefix)
        return net

    def _top_level(self, ready: tuple[str, ...]) -> frozenset[str]:
        """The ready prefixes not inside another ready prefix (so overlapping ranges,
        such as the seed's /28 inside its /24, are not counted twice)."""
        top = self._top_cache.get(ready)
        if top is None:
            nets = [self._net(p) for p in ready]
            top = frozenset(
                p
                for p, n in zip(ready, nets, strict=True)
                if not any(
                    o != n and o.version == n.version and n.subnet_of(o)  # type: ignore[arg-type]
                    for o in nets
                )
            )
            if len(self._top_cache) > 64:
                self._top_cache.clear()
            self._top_cache[ready] = top
        return top

    def family_usage(self, snap: Snapshot | None = None) -> dict[str, tuple[int, int]]:
        """family -> (used, size) over the ready, outermost prefixes."""
        snap = self._snapshot() if snap is None else snap
        top = self._top_level(tuple(p for p, ready, _, _ in snap if ready))
        out = {f: (0, 0) for f in self.cluster.families}
        for prefix, _, used, size in snap:
            if prefix in top:
                fam = _family(prefix)
                u, s = out.get(fam, (0, 0))
                out[fam] = (u + used, s + size)
        return out

    # ---------------------------------------------------------------- the operator

    def _usage_now(self) -> list[tuple[str, int, int]]:
        """:meth:`family_usage` of the state now, as (family, used, size) in the order of
        the Cluster's families."""
        if self._meta.generation != self._rows_generation:
            self._read_allocators()
        out = []
        for fam, allocs, size in self._usage:
            used = 0
            for a in allocs:
                used += a.used
            out.append((fam, used, size))
        return out

    def _check(self) -> None:
        op = self.model.operator
        for fam, used, size in self._usage_now():
            if fam in self._pending or self._added >= op.max_service_cidrs:
                continue
            util = used / size if size else 1.0
            if util >= op.threshold:
                self._pending.add(fam)
                if op.delay > 0:
                    self._push(self.now + op.delay, _OP_ADD, (fam, util))
                else:
                    self._operator_add((fam, util))

    def _next_cidr(self, fam: str) -> str | None:
        op = self.model.operator
        existing = [self._net(p) for p in self._all_prefixes() if _family(p) == fam]
        for c in op.cidrs:
            net = ipaddress.ip_network(c)
            if _family(str(net)) == fam and str(net) not in {str(n) for n in existing}:
                return str(net)
        if not existing:
            return None
        first = next(
            (self._net(c) for c in self.cluster.service_cluster_ip_range if _family(c) == fam),
            existing[0],
        )
        plen = op.ipv6_prefix_length if fam == "IPv6" else op.prefix_length
        plen = first.prefixlen if plen is None else plen
        size = 1 << (first.max_prefixlen - plen)
        end = max(int(n.broadcast_address) for n in existing) + 1
        start = -(-end // size) * size
        if start + size > 1 << first.max_prefixlen:
            return None
        return str(ipaddress.ip_network((start, plen)))

    def _all_prefixes(self) -> list[str]:
        out: list[str] = []
        for sc in self.cluster.list("ServiceCIDR"):
            for c in (sc.get("spec") or {}).get("cidrs") or []:
                try:
                    out.append(parse_cidr(c)[0])
                except InvalidInputError:
                    continue
        return out

    def _operator_add(self, payload: tuple[str, float]) -> None:
        fam, util = payload
        op = self.model.operator
        self._pending.discard(fam)
        cidr = self._next_cidr(fam)
        if cidr is None:
            return
        self._added += 1
        name = f"{op.name_prefix}{self._added}"
        error: str | None = None
        try:
            self.cluster.create(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "ServiceCIDR",
                    "metadata": {"name": name},
                    "spec": {"cidrs": [cidr]},
                }
            )
        except ApiError as e:
            error = e.message
        self.operator_actions.append(OperatorAction(self.now, name, cidr, fam, util, error))
        if error is None and op.reconcile:
            self.cluster.reconcile(advance="0s")
        self._observe(self._snapshot(), self.now)

    # ---------------------------------------------------------------- recording

    def _sample(self, k: int) -> None:
        snap = self._snapshot()
        self._observe(snap, self.now)
        row: dict[str, float] = {
            "time_s": self.now,
            "services": float(self.cluster.count("Service")),
            "service_cidrs": float(self.cluster.count("ServiceCIDR")),
            "creates": float(self.creates),
            "deletes": float(self.deletes),
            "failures": float(len(self.failures)),
            "range_full": float(self.range_full),
            "operator_adds": float(len(self.operator_actions)),
        }
        for fam, (used, size) in self.family_usage(snap).items():
            key = fam.lower()
            row[f"{key}_used"] = float(used)
            row[f"{key}_size"] = float(size)
            row[f"{key}_utilization"] = used / size if size else 0.0
        for prefix, _ready, used, size in snap:
            row[f"used {prefix}"] = float(used)
            row[f"utilization {prefix}"] = used / size if size else 0.0
        self.samples.append(row)
        if self.record_latency:
            lat: dict[str, float] = {"time_s": self.now}
            for op_kind, window in self._window.items():
                vals = sorted(window)
                lat[f"{op_kind}_count"] = float(len(vals))
                for q in (50, 99):
                    lat[f"{op_kind}_p{q}_us"] = percentile(vals, q) / 1000
                self._lat[op_kind].extend(window)
                self._window[op_kind] = array("q")
            self._lat_series.append(lat)
        nxt = (k + 1) * self.model.sample_every
        if nxt > self.model.duration and self.now < self.model.duration:
            nxt = self.model.duration
        if nxt <= self.model.duration:
            self._push(nxt, _SAMPLE, k + 1)

    def result(self) -> SimResult:
        """What the run recorded so far (call after :meth:`run`)."""
        prefixes = list(self.cidrs)
        service_cidrs = []
        added_at = {a.name: a.time for a in self.operator_actions if a.error is None}
        for sc in self.cluster.list("ServiceCIDR"):
            name = sc["metadata"]["name"]
            conds = (sc.get("status") or {}).get("conditions") or []
            ready = next((c.get("status") for c in conds if c.get("type") == "Ready"), None)
            for c in (sc.get("spec") or {}).get("cidrs") or []:
                prefix = parse_cidr(c)[0]
                st = self.cidrs.get(prefix)
                service_cidrs.append(
                    {
                        "name": name,
                        "cidr": prefix,
                        "added_s": added_at.get(name, 0.0),
                        "ready": ready,
                        "size": st.size if st else 0,
                        "peak_used": st.peak_used if st else 0,
                        "peak_utilization": (st.peak_used / st.size if st and st.size else 0.0),
                        "final_used": st.final_used if st else 0,
                    }
                )
        service_cidrs.sort(key=lambda sc: (sc["added_s"], sc["name"], sc["cidr"]))
        totals: dict[str, Any] = {
            "creates": self.creates,
            "deletes": self.deletes,
            "failures": len(self.failures),
            "failures_by_reason": dict(sorted(self.failure_reasons.items())),
            "range_full": self.range_full,
            "first_range_full_s": self.first_range_full,
            "first_range_full": (
                None
                if self.first_range_full is None
                else format_time(self.start + self.first_range_full)
            ),
            "services_final": self.cluster.count("Service"),
            "ip_addresses_final": self.cluster.count("IPAddress"),
            "events": len(self.cluster.events()),
            "simulated_s": self.now,
        }
        latency: dict[str, Any] | None = None
        if self.record_latency:
            latency = {"series": self._lat_series}
            for op_kind, vals in self._lat.items():
                s = sorted(vals)
                latency[op_kind] = {
                    "count": len(s),
                    **{f"p{q}_us": percentile(s, q) / 1000 for q in (50, 90, 99, 99.9)},
                    "max_us": (s[-1] / 1000) if s else 0.0,
                }
        return SimResult(
            model=self.model,
            seed=self.seed,
            start=self.start,
            samples=self.samples,
            prefixes=prefixes,
            cidrs=self.cidrs,
            service_cidrs=service_cidrs,
            operator_actions=self.operator_actions,
            failures=self.failures,
            totals=totals,
            digest=self.cluster.digest(),
            latency=latency,
            families=self.cluster.families,
            wall_seconds=self._wall,
        )


def run(
    model: Model,
    seed: int = 1,
    *,
    record_latency: bool = True,
    progress: Callable[[float], None] | None = None,
) -> SimResult:
    """Run ``model`` with ``seed`` and return its :class:`SimResult` (wall time included)."""
    return Simulation(model, seed, record_latency=record_latency).run(progress)
