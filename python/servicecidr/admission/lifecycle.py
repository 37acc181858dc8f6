"""The NamespaceLifecycle admission plugin (apiserver ``plugin/namespace/lifecycle``).

kube-apiserver runs it in the mutating phase, before the registry touches the request
(so before a Service's ClusterIPs are allocated or its fields validated):

* deleting one of the immortal namespaces (``default``, ``kube-system``,
  ``kube-public``) is ``Forbidden``: ``namespaces "default" is forbidden: this namespace
  may not be deleted``;
* requests about Namespaces themselves, cluster-scoped objects, updates and deletes pass;
* a create in a namespace that does not exist gets the namespace lookup's own
  ``NotFound`` (``namespaces "foo" not found``); in a namespace being terminated,
  ``Forbidden``: ``<resource> "<name>" is forbidden: unable to create new content in
  namespace foo because it is being terminated``, with the cause ``NamespaceTerminating``
  on ``metadata.namespace``.

The request's name is the object's name, or its ``generateName`` when the name is still
to be generated (``extractResourceName``).
"""

from __future__ import annotations

from typing import Any, Final

from servicecidr.api.field_errors import go_quote
from servicecidr.api.kinds import KINDS, KindInfo
from servicecidr.errors import ForbiddenError, NotFoundError
from servicecidr.store import Store, decode_object

__all__ = ["IMMORTAL_NAMESPACES", "NamespaceLifecycle", "namespace_phase"]

#: ``NewLifecycle(sets.New(NamespaceDefault, NamespaceSystem, NamespacePublic))``
IMMORTAL_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public"})
_NAMESPACES = KINDS["Namespace"]


def namespace_phase(ns: dict[str, Any]) -> str:
    """``status.phase`` of a stored Namespace ('' when it has none)."""
    status = ns.get("status")
    phase = status.get("phase") if isinstance(status, dict) else None
    return phase if isinstance(phase, str) else ""


def _forbidden(info: KindInfo, name: str, why: str, causes: list[dict[str, str]]) -> ForbiddenError:
    """``apierrors.NewForbidden(resource, name, err)``."""
    details: dict[str, Any] = {"name": name, "group": info.group, "kind": info.resource}
    if causes:
        details["causes"] = causes
    return ForbiddenError(
        f"{info.qualified_resource} {go_quote(name)} is forbidden: {why}", details=details
    )


class NamespaceLifecycle:
    """The plugin. It reads the Namespaces from the store; the phase of each is
    remembered by the stored bytes it was read from, so a create in a known namespace
    costs one lookup."""

    def __init__(self) -> None:
        self._phases: dict[str, tuple[bytes, str]] = {}

    def phase(self, store: Store, namespace: str) -> str | None:
        """The phase of the Namespace ``namespace`` (None: there is none)."""
        blob = store.get("Namespace", namespace)
        if blob is None:
            return None
        seen = self._phases.get(namespace)
        if seen is not None and seen[0] == blob:  # the same stored bytes: the same phase
            return seen[1]
        phase = namespace_phase(decode_object(blob))
        if len(self._phases) > 4096:
            self._phases.clear()
        self._phases[namespace] = (blob, phase)
        return phase

    def __call__(
        self, store: Store, operation: str, info: KindInfo, obj: dict[str, Any] | None, name: str
    ) -> None:
        """Admit (return) or refuse (raise) a request; ``obj`` is the request's object
        (for a create: with its namespace settled), ``name`` the request's name."""
        if info.kind == "Namespace":
            if operation == "DELETE" and name in IMMORTAL_NAMESPACES:
                raise _forbidden(_NAMESPACES, name, "this namespace may not be deleted", [])
            return
        if operation != "CREATE" or not info.namespaced or obj is None:
            return
        meta = obj.get("metadata")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        if not isinstance(namespace, str) or not namespace:
            return
        # the phase is remembered with the stored bytes it was read from (the hot path)
        blob = store.get("Namespace", namespace)
        seen = self._phases.get(namespace)
        phase = seen[1] if seen is not None and seen[0] == blob else self.phase(store, namespace)
        if phase is None:
            raise NotFoundError(
                f"{_NAMESPACES.resource} {go_quote(namespace)} not found",
                details={"name": namespace, "group": "", "kind": _NAMESPACES.resource},
            )
        if phase == "Terminating":
            raise _forbidden(
                info,
                name
                or str((meta if isinstance(meta, dict) else {}).get("generateName") or "Unknown"),
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )
