"""Which strategy handles each kind that has no allocation of its own (the Service
registry, :mod:`.service`, is separate)."""

from __future__ import annotations

from servicecidr.registry.namespace import NAMESPACES
from servicecidr.registry.simple import SIMPLE_KINDS, SimpleKind

__all__ = ["STRATEGIES"]

STRATEGIES: dict[str, SimpleKind] = {**SIMPLE_KINDS, "Namespace": NAMESPACES}
