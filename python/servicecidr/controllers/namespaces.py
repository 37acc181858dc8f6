"""The Namespace controllers.

* kube-apiserver's system-namespaces controller
  (pkg/controlplane/controller/systemnamespaces): ``kube-system``, ``kube-public``,
  ``kube-node-lease`` and ``default`` exist; one that is missing is created again.
* kube-controller-manager's namespace controller
  (pkg/controller/namespace/deletion/namespaced_resources_deleter.go): a namespace being
  deleted is marked ``Terminating``, every object in it is deleted (through the API, as
  the controller's service account: admission sees those deletes), its status conditions
  say what is left (``NamespaceContentRemaining``, ``NamespaceFinalizersRemaining``, ...,
  status_condition_utils.go), and once nothing is left its ``kubernetes`` finalizer is
  removed through ``/finalize``, which deletes it. Objects held by finalizers make it wait;
  it looks again whenever the controllers run (kube-controller-manager requeues it after
  15 s, ``finalizerEstimateSeconds``; here the writes that release those objects are what
  wake it, so that a namespace held forever never keeps simulated time running).
"""

from __future__ import annotations

import copy
from typing import Any, Final

from servicecidr.api.kinds import KINDS
from servicecidr.apiserver import Engine
from servicecidr.clock import format_time
from servicecidr.errors import ApiError, NotFoundError
from servicecidr.registry.namespace import FINALIZER, TERMINATING
from servicecidr.store import decode_object

__all__ = [
    "CONTROLLER_NAME",
    "SYSTEM_NAMESPACES",
    "NamespaceController",
    "ensure_system_namespaces",
]

#: The actor of kube-controller-manager's namespace controller.
CONTROLLER_NAME: Final = "namespace-controller"
#: The actor of kube-apiserver's system-namespaces controller.
APISERVER: Final = "kube-apiserver"
#: The namespaces kube-apiserver keeps, in the order it creates them.
SYSTEM_NAMESPACES: Final = ("kube-system", "kube-public", "kube-node-lease", "default")
# status_condition_utils.go: the condition types in the order they are kept, and the
# reason and message of each when all is well.
_CONDITIONS: Final = (
    (
        "NamespaceDeletionDiscoveryFailure",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentRemoved", "All content successfully removed"),
)
_NAMESPACED = tuple(sorted((i for i in KINDS.values() if i.namespaced), key=lambda i: i.resource))


def ensure_system_namespaces(engine: Engine) -> bool:
    """Create the system namespaces that are missing; returns whether it wrote any."""
    wrote = False
    for name in SYSTEM_NAMESPACES:
        if engine.store.contains("Namespace", name):
            continue
        try:
            engine.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                actor=APISERVER,
            )
            wrote = True
        except ApiError:
            continue  # retried on its next sync, as the controller's minute loop would
    return wrote


class NamespaceController:
    """The namespace controller: empties and finalizes namespaces being deleted."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def sync(self) -> bool:
        """One pass over the namespaces being deleted. Returns whether it wrote anything."""
        changed = False
        for _name, blob in self._engine.store.items("Namespace"):
            ns = decode_object(blob)
            if not ns.get("metadata", {}).get("deletionTimestamp"):
                continue
            try:
                changed |= self._delete(ns)
            except ApiError:
                continue  # the work queue retries it on the next pass
        return changed

    def _delete(self, ns: dict[str, Any]) -> bool:
        """``namespacedResourcesDeleter.Delete`` for one namespace."""
        engine = self._engine
        name = ns["metadata"]["name"]
        wrote = False
        if (ns.get("status") or {}).get("phase") != TERMINATING:
            upd = copy.deepcopy(ns)
            upd.setdefault("status", {})["phase"] = TERMINATING
            ns, _ = engine.update_status(upd, actor=CONTROLLER_NAME)
            wrote = True
        if not (ns.get("spec") or {}).get("finalizers"):
            return wrote  # finalized: only metadata.finalizers hold it now
        remaining, finalizers, failures, deleted = self._delete_content(name)
        wrote |= deleted
        wrote |= self._update_conditions(name, remaining, finalizers, failures)
        if failures or remaining:
            return wrote
        current = engine.get("Namespace", name)
        upd = copy.deepcopy(current)
        kept = sorted({f for f in upd.get("spec", {}).get("finalizers") or [] if f != FINALIZER})
        upd.setdefault("spec", {})["finalizers"] = kept
        try:
            engine.finalize(upd, actor=CONTROLLER_NAME)
        except NotFoundError:
            return wrote
        return True

    def _delete_content(
        self, namespace: str
    ) -> tuple[dict[str, int], dict[str, int], list[str], bool]:
        """Delete every object in the namespace, one by one. Returns what remains by
        resource and by finalizer, the delete errors, and whether anything was written."""
        engine = self._engine
        remaining: dict[str, int] = {}
        by_finalizer: dict[str, int] = {}
        failures: list[str] = []
        wrote = False
        for info in _NAMESPACED:
            for obj in engine.list(info.kind, namespace):
                meta = obj.get("metadata") or {}
                if meta.get("deletionTimestamp"):
                    continue  # already deleted: held by its finalizers
                try:
                    engine.delete(info.kind, meta.get("name", ""), namespace, actor=CONTROLLER_NAME)
                    wrote = True
                except NotFoundError:
                    continue
                except ApiError as e:
                    failures.append(e.message)
            left = engine.list(info.kind, namespace)
            if left:
                remaining[f"{info.resource}.{info.group}"] = len(left)
                for obj in left:
                    for f in (obj.get("metadata") or {}).get("finalizers") or []:
                        by_finalizer[f] = by_finalizer.get(f, 0) + 1
        return remaining, by_finalizer, failures, wrote

    def _update_conditions(
        self,
        name: str,
        remaining: dict[str, int],
        finalizers: dict[str, int],
        failures: list[str],
    ) -> bool:
        """``namespaceConditionUpdater``: the five conditions, written when one changed."""
        engine = self._engine
        now = format_time(engine.clock.now())
        bad: dict[str, tuple[str, str]] = {}
        if failures:
            bad["NamespaceDeletionContentFailure"] = (
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(failures)} remaining: "
                + ", ".join(sorted(failures)),
            )
        if remaining:
            shown = sorted(f"{r} has {n} resource instances" for r, n in remaining.items())
            bad["NamespaceContentRemaining"] = (
                "SomeResourcesRemain",
                "Some resources are remaining: " + ", ".join(shown),
            )
        if finalizers:
            shown = sorted(f"{f} in {n} resource instances" for f, n in finalizers.items())
            bad["NamespaceFinalizersRemaining"] = (
                "SomeFinalizerRemain",
                "Some finalizers are remaining: " + ", ".join(shown),
            )
        current = engine.get("Namespace", name)
        upd = copy.deepcopy(current)
        conditions: list[dict[str, Any]] = list(
            (upd.setdefault("status", {})).get("conditions") or []
        )
        changed = False
        for type_, ok_reason, ok_message in _CONDITIONS:
            status, (reason, message) = (
                ("True", bad[type_])
                if type_ in bad
                else (
                    "False",
                    (ok_reason, ok_message),
                )
            )
            old = next((c for c in conditions if c.get("type") == type_), None)
            if old is None:
                conditions.append(
                    {
                        "type": type_,
                        "status": status,
                        "lastTransitionTime": now,
                        "reason": reason,
                        "message": message,
                    }
                )
                changed = True
            elif (old.get("status"), old.get("reason"), old.get("message")) != (
                status,
                reason,
                message,
            ):
                if old.get("status") != status:
                    old["lastTransitionTime"] = now
                old.update({"status": status, "reason": reason, "message": message})
                changed = True
        if not changed:
            return False
        upd["status"]["conditions"] = conditions
        engine.update_status(upd, actor=CONTROLLER_NAME)
        return True
