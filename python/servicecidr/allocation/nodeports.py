"""NodePorts for NodePort and LoadBalancer Services (``--service-node-port-range``).

Mirrors ``pkg/registry/core/service/portallocator`` and the port half of
``pkg/registry/core/service/storage/alloc.go``: a KEP-3668 static band at the bottom of
the range, dynamic allocation from a random start in the upper band with wrap-around, then
the lower band. The range is a few thousand ports, so a Python structure is enough; which
ports are taken is derived from the stored Services, as Kubernetes' repair loop derives it.
"""

from __future__ import annotations

import random
from typing import Any

from servicecidr.api import field_errors as fe
from servicecidr.errors import InternalError

__all__ = ["NodePortAllocator", "PortAllocation", "allocate_node_ports", "update_node_ports"]

ERR_FULL = "range is full"
ERR_ALLOCATED = "provided port is already allocated"
PENDING = ""  # owner of a port reserved by a request that has not committed yet


def _range_offset(size: int) -> int:
    """calculateRangeOffset for ports: min(max(16, size/32), 128), 0 below 16 ports."""
    if size < 16:
        return 0
    return min(max(16, size // 32), 128)


class NodePortAllocator:
    """Which ports of the range are taken, and by which Service key."""

    def __init__(self, base: int = 30000, size: int = 2768) -> None:
        self.base: int = base
        self.size: int = size
        self.offset = _range_offset(size)
        self._owner: dict[int, str] = {}
        self._by_service: dict[str, tuple[int, ...]] = {}

    def range_text(self) -> str:
        """``30000-32767``, as PortRange.String() prints it."""
        return f"{self.base}-{self.base + self.size - 1}"

    # -- state derived from stored Services (apply path) --------------------------------

    def sync_service(self, key: str, ports: tuple[int, ...]) -> None:
        """The stored Service ``key`` now holds exactly ``ports``."""
        for p in self._by_service.pop(key, ()):
            if self._owner.get(p) == key:
                del self._owner[p]
        if ports:
            self._by_service[key] = ports
            for p in ports:
                self._owner[p] = key

    def holders(self) -> dict[str, tuple[int, ...]]:
        """Service key -> the node ports it holds (a copy)."""
        return dict(self._by_service)

    def tracks(self, key: str) -> bool:
        """Whether the Service ``key`` holds ports."""
        return key in self._by_service

    # -- decisions --------------------------------------------------------------------

    def in_range(self, port: int) -> bool:
        """Whether the port belongs to the range."""
        return self.base <= port < self.base + self.size

    def allocate(self, port: int) -> str | None:
        """Reserve a specific port; returns the error text, or None on success."""
        if not self.in_range(port):
            return (
                "provided port is not in the valid range. The range of valid ports is "
                f"{self.range_text()}"
            )
        if port in self._owner:
            return ERR_ALLOCATED
        self._owner[port] = PENDING
        return None

    def allocate_next(self, rng: random.Random) -> int | None:
        """A free port (random start in the upper band, then the lower band), or None."""
        for lo, hi in ((self.offset, self.size - 1), (0, self.offset - 1)):
            if hi < lo:
                continue
            start = lo + rng.randrange(hi - lo + 1)
            for i in (*range(start, hi + 1), *range(lo, start)):
                port: int = self.base + i
                if port not in self._owner:
                    self._owner[port] = PENDING
                    return port
        return None

    def release_pending(self, port: int) -> None:
        """Give back a reservation that did not commit."""
        if self._owner.get(port) == PENDING:
            del self._owner[port]


def service_ports(spec: dict[str, Any]) -> tuple[int, ...]:
    """Every node port a Service spec holds (nodePorts and healthCheckNodePort).

    Values that are not port numbers are left out: validation never stores them, and a
    log written elsewhere that holds them reserves nothing (rather than failing replay
    partway through a batch)."""
    raw = spec.get("ports")
    candidates = (
        [p.get("nodePort") for p in raw if isinstance(p, dict)] if isinstance(raw, list) else []
    )
    candidates.append(spec.get("healthCheckNodePort"))
    return tuple(sorted({p for p in candidates if type(p) is int and 0 < p < 65536}))


class PortAllocation:
    """Ports a request reserved (to give back if it fails)."""

    def __init__(self, alloc: NodePortAllocator) -> None:
        self._alloc = alloc
        self.reserved: list[int] = []

    def take(self, port: int) -> str | None:
        err = self._alloc.allocate(port)
        if err is None:
            self.reserved.append(port)
        return err

    def take_next(self, rng: random.Random) -> int | None:
        port = self._alloc.allocate_next(rng)
        if port is not None:
            self.reserved.append(port)
        return port

    def rollback(self) -> None:
        """Give back every reservation of this request."""
        for p in self.reserved:
            self._alloc.release_pending(p)
        self.reserved.clear()


def _should_allocate(spec: dict[str, Any]) -> bool:
    if spec.get("type") == "NodePort":
        return True
    if spec.get("type") == "LoadBalancer":
        return spec.get("allocateLoadBalancerNodePorts") is not False
    return False


def _needs_health_check(spec: dict[str, Any]) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _invalid(name: str, path: str, value: Any, err: str) -> Exception:
    return fe.to_invalid_error("Service", name, [fe.invalid(path, value, err)])


def allocate_node_ports(
    name: str,
    spec: dict[str, Any],
    old_ports: tuple[int, ...],
    txn: PortAllocation,
    rng: random.Random,
) -> None:
    """initNodePorts / updateNodePorts and the health-check port, for a create (no old
    ports) or an update (ports the old object held stay its own)."""
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        by_port: dict[int, int] = {}
        for i, sp in enumerate(spec.get("ports") or []):
            np = int(sp.get("nodePort") or 0)
            if np == 0 and not _should_allocate(spec):
                continue
            if np == 0:
                # Ports that share a port number share the node port (initNodePorts).
                got = by_port.get(int(sp.get("port") or 0))
                if got is None:
                    got = txn.take_next(rng)
                    if got is None:
                        raise InternalError(
                            f"Internal error occurred: failed to allocate a nodePort: {ERR_FULL}"
                        )
                sp["nodePort"] = got
            elif np not in old_ports and np not in txn.reserved:
                err = txn.take(np)
                if err is not None:
                    raise _invalid(name, f"spec.ports[{i}].nodePort", np, err)
            by_port.setdefault(int(sp.get("port") or 0), int(sp["nodePort"]))
    if _needs_health_check(spec):
        hc = int(spec.get("healthCheckNodePort") or 0)
        if hc == 0:
            got = txn.take_next(rng)
            if got is None:
                raise InternalError(
                    "Internal error occurred: failed to allocate a HealthCheck NodePort 0: "
                    f"{ERR_FULL}"
                )
            spec["healthCheckNodePort"] = got
        elif hc not in old_ports and hc not in txn.reserved:
            err = txn.take(hc)
            if err is not None:
                raise InternalError(
                    "Internal error occurred: failed to allocate requested HealthCheck "
                    f"NodePort {hc}: {err}"
                )


def update_node_ports(
    name: str,
    spec: dict[str, Any],
    old: dict[str, Any],
    txn: PortAllocation,
    rng: random.Random,
) -> None:
    """txnUpdateNodePorts: new ports are reserved; ports the stored object no longer
    holds are free once the update commits (the allocator follows stored Services)."""
    allocate_node_ports(name, spec, service_ports(old), txn, rng)
