"""Running the controllers: what kube-controller-manager and kube-apiserver's own
controller loops do, on the engine's clock.

Each pass runs the system-namespaces controller, the default-ServiceCIDR controller, the
kubernetes-service controller, the ServiceCIDR controller, the namespace controller and
the repair loop, in that order, until none writes anything; a simulated clock then moves
to the next deadline any of them set (the 10 s ServiceCIDR grace, the 60 s leak grace).
"""

from __future__ import annotations

from datetime import UTC, datetime

from servicecidr.apiserver import Engine
from servicecidr.clock import parse_duration
from servicecidr.controllers.default_cidr import sync_default_service_cidr
from servicecidr.controllers.event_recorder import EventRecorder
from servicecidr.controllers.kubernetes_service import ensure_kubernetes_service
from servicecidr.controllers.namespaces import NamespaceController, ensure_system_namespaces
from servicecidr.controllers.repair import RepairController
from servicecidr.controllers.servicecidr import sync_service_cidrs
from servicecidr.errors import InvalidInputError

__all__ = ["MAX_CONTROLLER_ROUNDS", "ControllerManager"]

MAX_CONTROLLER_ROUNDS = 1000
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


class ControllerManager:
    """The controllers of one engine, and their state (the repair loop's cursor and
    timers, the warnings recorded once)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.events = EventRecorder(engine)
        self.repair = RepairController(engine, self.events)
        self.namespaces = NamespaceController(engine)

    def start(self) -> None:
        """What kube-apiserver does when it starts: create the system namespaces, sync
        the default ServiceCIDR, then make sure the Service ``default/kubernetes`` holds
        the first address."""
        ensure_system_namespaces(self._engine)
        sync_default_service_cidr(self._engine, self.events)
        ensure_kubernetes_service(self._engine)

    def run_until_quiet(self) -> float | None:
        """Run every controller until none writes anything; returns the next deadline."""
        engine = self._engine
        deadline: float | None = None
        for _ in range(MAX_CONTROLLER_ROUNDS):
            changed = ensure_system_namespaces(engine)
            changed |= sync_default_service_cidr(engine, self.events)
            changed |= ensure_kubernetes_service(engine)
            did, due = sync_service_cidrs(engine, self.events)
            changed |= did
            changed |= self.namespaces.sync()
            did2, due2 = self.repair.sync()
            changed |= did2
            deadline = min((d for d in (due, due2) if d is not None), default=None)
            if not changed:
                return deadline
        raise RuntimeError("controllers did not settle; this is a bug in servicecidr")

    def reconcile(self, advance: str | float | None = None) -> None:
        """Run the controllers until nothing changes (see :meth:`Cluster.reconcile`)."""
        clock = self._engine.clock
        if advance is not None:
            try:
                seconds = parse_duration(advance)
            except ValueError as e:
                raise InvalidInputError(f"reconcile: {e}") from None
            if seconds < 0:
                raise InvalidInputError(f"reconcile: advance must not be negative ({advance})")
            until = clock.now() + seconds
            if not until <= _LATEST:  # (NaN too) a time no timestamp could show
                raise InvalidInputError(f"reconcile: advance {advance} goes past the year 9999")
            target: float | None = until
            if not clock.simulated:
                raise InvalidInputError("reconcile(advance=...) needs a simulated clock")
        else:
            target = None
        for _ in range(MAX_CONTROLLER_ROUNDS):
            deadline = self.run_until_quiet()
            if not clock.simulated:
                return
            if target is None:
                if deadline is None:
                    return
                clock.advance(max(0.0, deadline - clock.now()))
                continue
            if deadline is not None and deadline <= target:
                clock.advance(max(0.0, deadline - clock.now()))
                continue
            clock.advance(max(0.0, target - clock.now()))
            self.run_until_quiet()
            return
        raise RuntimeError("controllers did not settle; this is a bug in servicecidr")
