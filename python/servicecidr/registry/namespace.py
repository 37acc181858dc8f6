"""The Namespace registry (``pkg/registry/core/namespace``: strategy.go, storage.go).

* create: ``SetDefaults_Namespace`` labels the namespace with
  ``kubernetes.io/metadata.name: <name>``; ``PrepareForCreate`` makes it ``Active`` and
  appends the ``kubernetes`` finalizer to ``spec.finalizers``; ``ValidateNamespace``;
  ``Canonicalize`` labels a generated name too.
* update keeps ``spec.finalizers`` and ``status`` (only the ``/finalize`` and ``/status``
  subresources change them); status updates keep ``spec``; a finalize update keeps
  ``status``, and removes the namespace once it is being deleted and no finalizer of
  either kind is left (``ShouldDeleteNamespaceDuringUpdate``).
* delete: the first delete only sets ``deletionTimestamp`` and the phase
  ``Terminating`` (the namespace controller then empties it and removes its
  ``kubernetes`` finalizer); later deletes change nothing while ``spec.finalizers`` is
  not empty; after that, the generic graceful deletion.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from servicecidr.api import validation
from servicecidr.api.kinds import KINDS
from servicecidr.registry import generic
from servicecidr.registry.context import RequestContext
from servicecidr.registry.simple import SimpleKind
from servicecidr.registry.txn import Outcome

__all__ = [
    "ACTIVE",
    "FINALIZER",
    "NAMESPACES",
    "NAME_LABEL",
    "TERMINATING",
    "NamespaceKind",
]

Obj = dict[str, Any]

#: ``v1.FinalizerKubernetes``: the namespace controller's token in ``spec.finalizers``.
FINALIZER: Final = "kubernetes"
#: ``v1.LabelMetadataName``
NAME_LABEL: Final = "kubernetes.io/metadata.name"
ACTIVE: Final = "Active"
TERMINATING: Final = "Terminating"


def _label(ns: Obj) -> None:
    """``SetDefaults_Namespace`` / ``Canonicalize``: the name label, whatever was sent."""
    meta = ns.setdefault("metadata", {})
    name = meta.get("name")
    if isinstance(name, str) and name:
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels[NAME_LABEL] = name


def _spec(ns: Obj) -> Obj:
    spec = ns.get("spec")
    if not isinstance(spec, dict):
        spec = ns["spec"] = {}
    return spec


class NamespaceKind(SimpleKind):
    """The Namespace strategy (see the module doc); ``finalize`` is the ``/finalize``
    subresource."""

    def create(
        self,
        ctx: RequestContext,
        obj: Obj,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
    ) -> Outcome:
        """POST a Namespace."""
        new, warnings = generic.decode_request(obj, opts)
        api_version = obj.get("apiVersion")
        rv_set = generic.resource_version_set(new)
        _label(new)
        generic.strip_for_create(new, self.info, None)
        ctx.mutate(actor, "CREATE", self.info, new, generic.request_name(new))
        generic.fill_create_meta(ctx, new)
        generic.set_managed_fields(new, opts)
        spec = _spec(new)
        finalizers = [f for f in spec.get("finalizers") or [] if isinstance(f, str)]
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        spec["finalizers"] = finalizers
        new.pop("status", None)
        new["status"] = {"phase": ACTIVE}
        name = new["metadata"].get("name", "")
        errs = self.validate(new)
        if errs:
            raise self._invalid(name, errs)
        _label(new)
        admitted = ctx.admit(
            actor, "CREATE", self.info, new, None, dry_run, api_version=api_version
        )
        warnings += admitted.warnings
        key = generic.object_key_of(self.info, new)
        if rv_set and not dry_run:
            raise generic.resource_version_on_create()
        if ctx.store.contains(self.info.kind, key):
            raise generic.already_exists(self.info, name)
        if dry_run:
            return Outcome(new, warnings)
        txn = self._txn(ctx, "create", None, name, admitted.extra)
        txn.put(self.info.kind, key, new)
        return Outcome(new, warnings, [txn])

    def update(
        self,
        ctx: RequestContext,
        obj: Obj,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
    ) -> Outcome:
        """PUT a Namespace: metadata only (``spec.finalizers`` and status are kept)."""
        new, warnings = generic.decode_request(obj, opts)
        api_version = obj.get("apiVersion")
        _label(new)
        name = generic.request_name(new)
        key, blob, old = generic.get_existing(ctx.store, self.info, None, name)
        generic.check_precondition(self.info, new, old)
        generic.merge_update_meta(new, old)
        generic.set_managed_fields(new, opts)
        _spec(new)["finalizers"] = copy.deepcopy(_spec(old).get("finalizers") or [])
        if not new["spec"]["finalizers"]:
            del new["spec"]["finalizers"]
        new["status"] = copy.deepcopy(old.get("status") or {})
        errs = self.validate_update(new, old)
        if errs:
            raise self._invalid(name, errs)
        return self._store_update(
            ctx, "update", new, old, key, blob, warnings, dry_run, actor, api_version
        )

    def update_status(
        self,
        ctx: RequestContext,
        obj: Obj,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
    ) -> Outcome:
        """PUT the ``/status`` subresource: the status changes, the spec is kept."""
        new, warnings = generic.decode_request(obj, opts)
        api_version = obj.get("apiVersion")
        name = generic.request_name(new)
        key, blob, old = generic.get_existing(ctx.store, self.info, None, name)
        generic.check_precondition(self.info, new, old)
        generic.merge_update_meta(new, old)
        generic.set_managed_fields(new, opts)
        if "spec" in old:
            new["spec"] = copy.deepcopy(old["spec"])
        else:
            new.pop("spec", None)
        new.setdefault("status", {})
        errs = self.validate_status_update(new, old)
        if errs:
            raise self._invalid(name, errs)
        return self._store_update(
            ctx,
            "updateStatus",
            new,
            old,
            key,
            blob,
            warnings,
            dry_run,
            actor,
            api_version,
            "status",
        )

    def finalize(self, ctx: RequestContext, obj: Obj, dry_run: bool, actor: str) -> Outcome:
        """PUT the ``/finalize`` subresource: ``spec.finalizers`` changes, the status is
        kept; a namespace being deleted goes once nothing holds it."""
        new, warnings = generic.decode_request(obj)
        api_version = obj.get("apiVersion")
        name = generic.request_name(new)
        key, blob, old = generic.get_existing(ctx.store, self.info, None, name)
        generic.check_precondition(self.info, new, old)
        generic.merge_update_meta(new, old)
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        errs = validation.validate_namespace_finalize_update(new, old)
        if errs:
            raise self._invalid(name, errs)
        return self._store_update(
            ctx, "finalize", new, old, key, blob, warnings, dry_run, actor, api_version, "finalize"
        )

    def _store_update(
        self,
        ctx: RequestContext,
        verb: str,
        new: Obj,
        old: Obj,
        key: str,
        blob: bytes,
        warnings: list[str],
        dry_run: bool,
        actor: str,
        api_version: Any,
        subresource: str | None = None,
    ) -> Outcome:
        name = new["metadata"]["name"]
        admitted = ctx.admit(
            actor, "UPDATE", self.info, new, old, dry_run, subresource, api_version=api_version
        )
        warnings += admitted.warnings
        if dry_run:
            return Outcome(new, warnings)
        txn = self._txn(ctx, verb, None, name, admitted.extra)
        gone = (
            old["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
            and not _spec(new).get("finalizers")
        )
        if gone:
            txn.delete(self.info.kind, key, blob)
        else:
            txn.put(self.info.kind, key, new)
        return Outcome(new, warnings, [txn])

    def delete(
        self,
        ctx: RequestContext,
        name: str,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        api_version: str | None = None,
    ) -> Outcome:
        """DELETE a Namespace: the first one starts termination (see the module doc)."""
        generic.require_name(self.info, name)
        ctx.mutate(actor, "DELETE", self.info, None, name)
        key, blob, old = generic.get_existing(ctx.store, self.info, None, name)
        admitted = ctx.admit(
            actor, "DELETE", self.info, None, old, dry_run, api_version=api_version
        )
        txn = self._txn(ctx, "delete", None, name, admitted.extra)
        meta = old["metadata"]
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = ctx.now()
            status = old.get("status")
            if not isinstance(status, dict):
                status = old["status"] = {}
            status["phase"] = TERMINATING
            txn.put(self.info.kind, key, old)
            obj = old
        elif _spec(old).get("finalizers"):
            obj = old
        else:
            obj, _gone = generic.finish_delete(ctx, self.info, key, blob, old, txn)
        return Outcome(obj, list(admitted.warnings), [txn] if txn and not dry_run else [])


NAMESPACES = NamespaceKind(
    KINDS["Namespace"],
    validation.validate_namespace,
    validation.validate_namespace_update,
    validation.validate_namespace_status_update,
    True,
)
