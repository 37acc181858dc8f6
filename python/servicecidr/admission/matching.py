"""Which requests a policy or a binding applies to (``plugin/policy/matching/matching.go``
with the webhook predicates ``rules``, ``namespace`` and ``object``).

A request matches :class:`Criteria` (a policy's ``matchConstraints`` or a binding's
``matchResources``) when its namespace's labels match ``namespaceSelector`` (never applied
to cluster-scoped objects other than Namespaces), the new or the old object's labels match
``objectSelector``, no ``excludeResourceRules`` rule matches, and a ``resourceRules`` rule
matches (a binding without rules matches whatever its policy does). Under
``matchPolicy: Equivalent`` a rule naming another version of the same resource matches
too; the request is then evaluated as that version (``request.kind`` is the matched kind).

The rule part depends only on the request's kind, version, operation, subresource and
whether it is namespaced, so it is computed once per such key and cached; only
``resourceNames`` and the selectors look at the request itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from servicecidr.api.kinds import KINDS

__all__ = ["GVK", "GVR", "Criteria", "Request", "Selector", "equivalents"]

GVR = tuple[str, str, str]  # group, version, resource
GVK = tuple[str, str, str]  # group, version, kind

Labels = Mapping[str, str]


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


class Selector:
    """A parsed ``metav1.LabelSelector`` (``LabelSelectorAsSelector``)."""

    __slots__ = ("empty", "exprs", "labels")

    def __init__(self, sel: Any) -> None:
        s = sel if isinstance(sel, dict) else {}
        ml = s.get("matchLabels")
        self.labels: tuple[tuple[str, str], ...] = tuple(
            (str(k), str(v)) for k, v in (ml.items() if isinstance(ml, dict) else ())
        )
        exprs = []
        for e in s.get("matchExpressions") or []:
            if isinstance(e, dict):
                exprs.append(
                    (
                        str(e.get("key", "")),
                        str(e.get("operator", "")),
                        frozenset(_strs(e.get("values"))),
                    )
                )
        self.exprs: tuple[tuple[str, str, frozenset[str]], ...] = tuple(exprs)
        self.empty = not self.labels and not self.exprs

    def matches(self, labels: Labels | None) -> bool:
        """Whether ``labels`` satisfy every requirement."""
        if self.empty:
            return True
        lab = labels or {}
        for k, v in self.labels:
            if lab.get(k) != v:
                return False
        for key, op, values in self.exprs:
            present = key in lab
            if op == "In":
                if not present or lab[key] not in values:
                    return False
            elif op == "NotIn":
                if present and lab[key] in values:
                    return False
            elif op == "Exists":
                if not present:
                    return False
            elif op == "DoesNotExist":
                if present:
                    return False
            else:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Request:
    """The attributes of an admission request the matchers look at."""

    group: str
    version: str
    kind: str
    resource: str
    subresource: str
    operation: str
    name: str
    namespace: str
    labels: Labels | None
    old_labels: Labels | None

    @property
    def static_key(self) -> tuple[str, str, str, str, str, bool]:
        """What the rule part of matching depends on."""
        return (
            self.group,
            self.version,
            self.resource,
            self.subresource,
            self.operation,
            bool(self.namespace),
        )


@dataclass(frozen=True, slots=True)
class _Rule:
    groups: tuple[str, ...]
    versions: tuple[str, ...]
    operations: tuple[str, ...]
    resources: tuple[tuple[str, str], ...]  # (resource, subresource)
    scope: str
    names: tuple[str, ...]

    @classmethod
    def parse(cls, r: Any) -> _Rule:
        d = r if isinstance(r, dict) else {}
        resources = []
        for res in _strs(d.get("resources")):
            name, _, sub = res.partition("/")
            resources.append((name, sub))
        scope = d.get("scope")
        return cls(
            _strs(d.get("apiGroups")),
            _strs(d.get("apiVersions")),
            _strs(d.get("operations")),
            tuple(resources),
            scope if isinstance(scope, str) else "*",
            _strs(d.get("resourceNames")),
        )

    def matches(
        self, group: str, version: str, resource: str, sub: str, op: str, namespaced: bool
    ) -> bool:
        """``rules.Matcher.Matches``: scope, operation, group, version, resource."""
        if self.scope == "Namespaced":
            if resource == "namespaces" or not namespaced:
                return False
        elif self.scope == "Cluster":
            if not (resource == "namespaces" or not namespaced):
                return False
        elif self.scope != "*":
            return False
        if "*" not in self.operations and op not in self.operations:
            return False
        if "*" not in self.groups and group not in self.groups:
            return False
        if "*" not in self.versions and version not in self.versions:
            return False
        for res, rsub in self.resources:
            if (res == "*" or res == resource) and (rsub == "*" or rsub == sub):
                return True
        return False


def equivalents(group: str, resource: str) -> list[tuple[str, str]]:
    """(version, kind) of every served version of the resource (the equivalent resource
    mapper: the engine serves each resource under one group)."""
    for info in KINDS.values():
        if info.group == group and info.resource == resource:
            return [(v, info.kind) for v in info.versions]
    return []


_Match = tuple[bool, GVR, GVK]
_NO_MATCH: _Match = (False, ("", "", ""), ("", "", ""))


@dataclass(slots=True)
class Criteria:
    """A parsed ``MatchResources``. Without ``resourceRules`` (a binding that does not
    narrow its policy) every resource matches."""

    namespace_selector: Selector
    object_selector: Selector
    rules: tuple[_Rule, ...]
    excludes: tuple[_Rule, ...]
    equivalent: bool
    _cache: dict[tuple[Any, ...], tuple[list[tuple[GVR, GVK, tuple[str, ...]]], bool]] = field(
        default_factory=dict
    )

    @classmethod
    def parse(cls, mr: Any) -> Criteria:
        m = mr if isinstance(mr, dict) else {}
        return cls(
            Selector(m.get("namespaceSelector")),
            Selector(m.get("objectSelector")),
            tuple(_Rule.parse(r) for r in m.get("resourceRules") or [] if isinstance(r, dict)),
            tuple(
                _Rule.parse(r) for r in m.get("excludeResourceRules") or [] if isinstance(r, dict)
            ),
            m.get("matchPolicy") == "Equivalent",
        )

    @property
    def static(self) -> bool:
        """Whether matching depends only on :attr:`Request.static_key`."""
        return (
            self.namespace_selector.empty
            and self.object_selector.empty
            and not any(r.names for r in self.rules + self.excludes)
        )

    def _candidates(
        self, rules: tuple[_Rule, ...], req: Request
    ) -> list[tuple[GVR, GVK, tuple[str, ...]]]:
        """The (gvr, gvk, resourceNames) of every rule matching the request, in the order
        ``matchesResourceRules`` tries them: the request's own resource, then, under
        Equivalent, the other versions."""
        out: list[tuple[GVR, GVK, tuple[str, ...]]] = []
        own_gvr = (req.group, req.version, req.resource)
        own_gvk = (req.group, req.version, req.kind)
        namespaced = bool(req.namespace)
        for r in rules:
            if r.matches(
                req.group, req.version, req.resource, req.subresource, req.operation, namespaced
            ):
                out.append((own_gvr, own_gvk, r.names))
        if self.equivalent:
            for r in rules:
                for version, kind in equivalents(req.group, req.resource):
                    if version == req.version:
                        continue
                    if r.matches(
                        req.group, version, req.resource, req.subresource, req.operation, namespaced
                    ):
                        out.append(
                            (
                                (req.group, version, req.resource),
                                (req.group, version, kind),
                                r.names,
                            )
                        )
        return out

    def _rules_match(self, rules: tuple[_Rule, ...], req: Request, kind: str) -> _Match:
        key = (kind, *req.static_key)
        entry = self._cache.get(key)
        if entry is None:
            cands = self._candidates(rules, req)
            entry = (cands, any(names for _, _, names in cands))
            if len(self._cache) < 4096:
                self._cache[key] = entry
        cands, _has_names = entry
        for gvr, gvk, names in cands:
            if not names or req.name in names:
                return True, gvr, gvk
        return _NO_MATCH

    def matches(self, req: Request, namespace_labels: Callable[[], Labels | None]) -> _Match:
        """``Matcher.Matches``: (matches, matched resource, matched kind)."""
        if (
            not self.namespace_selector.empty
            and (req.namespace or req.resource == "namespaces")
            and not self.namespace_selector.matches(namespace_labels())
        ):
            return _NO_MATCH
        if not self.object_selector.empty and not (
            (req.labels is not None and self.object_selector.matches(req.labels))
            or (req.old_labels is not None and self.object_selector.matches(req.old_labels))
        ):
            return _NO_MATCH
        if self.excludes and self._rules_match(self.excludes, req, "exclude")[0]:
            return _NO_MATCH
        if not self.rules:
            return (
                True,
                (req.group, req.version, req.resource),
                (req.group, req.version, req.kind),
            )
        return self._rules_match(self.rules, req, "include")
