"""What a registry strategy may use: the narrow request context.

A strategy reads the store, decides with the allocators, stamps metadata from the clock
and the uid source, asks admission, and returns an :class:`~servicecidr.registry.txn.Outcome`;
it never commits and never reaches the facade. The engine
(:class:`servicecidr.apiserver.Engine`) is the context of every live request; tests build
one from real parts.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from servicecidr.admission import Admitted
from servicecidr.allocation.meta import MetaAllocator
from servicecidr.allocation.nodeports import NodePortAllocator
from servicecidr.api.kinds import KindInfo
from servicecidr.api.memo import ValidationMemo
from servicecidr.store import Store

__all__ = ["RequestContext"]


class RequestContext(Protocol):
    """The parts of the API server a request flows through."""

    @property
    def store(self) -> Store:
        """The object store (read it; writes go in the transaction)."""
        ...

    @property
    def meta(self) -> MetaAllocator:
        """ClusterIP allocation across the ServiceCIDRs."""
        ...

    @property
    def nodeports(self) -> NodePortAllocator:
        """NodePort allocation."""
        ...

    @property
    def memo(self) -> ValidationMemo:
        """Validation of Service shapes seen before, remembered."""
        ...

    @property
    def rng(self) -> random.Random:
        """The random stream of decisions (allocation order, ports)."""
        ...

    @property
    def families(self) -> tuple[str, ...]:
        """The IP families the apiserver serves, primary first."""
        ...

    def new_uid(self) -> str:
        """A fresh metadata.uid."""
        ...

    def now(self) -> str:
        """The clock's time as RFC 3339 (seconds), for creationTimestamp and the like."""
        ...

    def generate_name(self, base: str) -> str:
        """``base`` plus five random characters (metadata.generateName)."""
        ...

    def mutate(
        self, actor: str, operation: str, info: KindInfo, obj: dict[str, Any] | None, name: str
    ) -> None:
        """Run the admission plugins kube-apiserver runs before the registry
        (NamespaceLifecycle): return, or raise the refusal."""
        ...

    def admit(
        self,
        actor: str,
        operation: str,
        info: KindInfo,
        obj: dict[str, Any] | None,
        old: dict[str, Any] | None,
        dry_run: bool,
        subresource: str | None = None,
        *,
        api_version: Any = None,
    ) -> Admitted:
        """Run validating admission for a request the client made through
        ``api_version`` (the body's, or a delete's; None: the version the objects are
        in, as the engine's own requests): the warnings and notes, or raise the denial."""
        ...
