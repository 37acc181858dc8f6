"""Registries for kinds without allocation: ServiceCIDR, IPAddress and the plain kinds.

Each kind supplies its validators; the request flow is the generic store's:
metadata -> PrepareFor{Create,Update} -> validation -> admission -> storage.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from servicecidr.admission import validation as admission_validation
from servicecidr.api import field_errors as fe
from servicecidr.api import validation
from servicecidr.api.kinds import KINDS, KindInfo
from servicecidr.errors import ApiError
from servicecidr.registry import generic
from servicecidr.registry.context import RequestContext
from servicecidr.registry.txn import Outcome, Txn

__all__ = ["SIMPLE_KINDS", "SimpleKind"]

Obj = dict[str, Any]
Validator = Callable[[Obj], list[fe.FieldError]]
UpdateValidator = Callable[[Obj, Obj], list[fe.FieldError]]


def _no_errors(*_args: Obj) -> list[fe.FieldError]:
    return []


@dataclass(frozen=True)
class SimpleKind:
    """The strategy of one kind: validators, and whether it has a status subresource."""

    info: KindInfo
    validate: Validator
    validate_update: UpdateValidator
    validate_status_update: UpdateValidator
    has_status: bool

    def _invalid(self, name: str, errs: list[fe.FieldError]) -> ApiError:
        return fe.to_invalid_error(self.info.qualified_kind, name, errs)

    def _txn(
        self, ctx: RequestContext, verb: str, ns: str | None, name: str, extra: Obj | None
    ) -> Txn:
        return Txn(ctx.store.revision, verb, self.info.kind, ns, name, extra=extra)

    def create(
        self,
        ctx: RequestContext,
        obj: Obj,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
    ) -> Outcome:
        """POST."""
        new, warnings = generic.decode_request(obj, opts)
        api_version = obj.get("apiVersion")
        rv_set = generic.resource_version_set(new)
        generic.strip_for_create(new, self.info, namespace)
        ctx.mutate(actor, "CREATE", self.info, new, generic.request_name(new))
        generic.fill_create_meta(ctx, new)
        generic.set_managed_fields(new, opts)
        if self.has_status:
            new.pop("status", None)
        name = new["metadata"].get("name", "")
        errs = self.validate(new)
        if errs:
            raise self._invalid(name, errs)
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
        txn = self._txn(ctx, "create", new["metadata"].get("namespace"), name, admitted.extra)
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
        """PUT (spec and metadata; status is kept)."""
        new, warnings = generic.decode_request(obj, opts)
        meta = new.setdefault("metadata", {})
        name = meta.get("name", "")
        ns = (meta.get("namespace") or namespace or "default") if self.info.namespaced else None
        key, blob, old = generic.get_existing(ctx.store, self.info, ns, name)
        generic.check_precondition(self.info, new, old)
        generic.merge_update_meta(new, old)
        generic.set_managed_fields(new, opts)
        if self.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        errs = self.validate_update(new, old)
        if errs:
            raise self._invalid(name, errs)
        admitted = ctx.admit(
            actor, "UPDATE", self.info, new, old, dry_run, api_version=obj.get("apiVersion")
        )
        warnings += admitted.warnings
        if dry_run:
            return Outcome(new, warnings)
        txn = self._txn(ctx, "update", ns, name, admitted.extra)
        if old["metadata"].get("deletionTimestamp") and not meta.get("finalizers"):
            txn.delete(self.info.kind, key, blob)
        else:
            txn.put(self.info.kind, key, new)
        return Outcome(new, warnings, [txn])

    def update_status(
        self,
        ctx: RequestContext,
        obj: Obj,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        opts: generic.WriteOptions = generic.DEFAULT_OPTIONS,
    ) -> Outcome:
        """PUT to the status subresource: only status changes."""
        if not self.has_status:
            raise generic.not_found(self.info, generic.request_name(obj) + "/status")
        new, warnings = generic.decode_request(obj, opts)
        name = new.get("metadata", {}).get("name", "")
        ns = (new["metadata"].get("namespace") or namespace) if self.info.namespaced else None
        key, _blob, old = generic.get_existing(ctx.store, self.info, ns, name)
        generic.check_precondition(self.info, new, old)
        result = copy.deepcopy(old)
        result["status"] = new.get("status") or {}
        generic.set_managed_fields(result, opts)
        errs = self.validate_status_update(result, old)
        if errs:
            raise self._invalid(name, errs)
        admitted = ctx.admit(
            actor,
            "UPDATE",
            self.info,
            result,
            old,
            dry_run,
            "status",
            api_version=obj.get("apiVersion"),
        )
        warnings += admitted.warnings
        if dry_run:
            return Outcome(result, warnings)
        txn = self._txn(ctx, "updateStatus", ns, name, admitted.extra)
        txn.put(self.info.kind, key, result)
        return Outcome(result, warnings, [txn])

    def delete(
        self,
        ctx: RequestContext,
        name: str,
        namespace: str | None,
        dry_run: bool,
        actor: str,
        api_version: str | None = None,
    ) -> Outcome:
        """DELETE (made through ``api_version``, None: the preferred one); an object with
        finalizers only gets its deletionTimestamp."""
        generic.require_name(self.info, name)
        ns = (namespace or "default") if self.info.namespaced else None
        key, blob, old = generic.get_existing(ctx.store, self.info, ns, name)
        admitted = ctx.admit(
            actor, "DELETE", self.info, None, old, dry_run, api_version=api_version
        )
        txn = self._txn(ctx, "delete", ns, name, admitted.extra)
        obj, _gone = generic.finish_delete(ctx, self.info, key, blob, old, txn)
        return Outcome(obj, list(admitted.warnings), [txn] if txn and not dry_run else [])


def _meta_only(namespaced: bool) -> Validator:
    def check(obj: Obj) -> list[fe.FieldError]:
        return validation.validate_object_meta(
            obj.get("metadata", {}), namespaced=namespaced, name_fn=None
        )

    return check


def _meta_only_update(obj: Obj, old: Obj) -> list[fe.FieldError]:
    return validation.validate_object_meta_update(obj.get("metadata", {}), old["metadata"])


SIMPLE_KINDS: dict[str, SimpleKind] = {
    "ServiceCIDR": SimpleKind(
        KINDS["ServiceCIDR"],
        validation.validate_service_cidr,
        validation.validate_service_cidr_update,
        validation.validate_service_cidr_status_update,
        True,
    ),
    "IPAddress": SimpleKind(
        KINDS["IPAddress"],
        validation.validate_ip_address,
        validation.validate_ip_address_update,
        _no_errors,
        False,
    ),
    "ValidatingAdmissionPolicy": SimpleKind(
        KINDS["ValidatingAdmissionPolicy"],
        admission_validation.validate_policy,
        admission_validation.validate_policy_update,
        admission_validation.validate_policy_status_update,
        True,
    ),
    "ValidatingAdmissionPolicyBinding": SimpleKind(
        KINDS["ValidatingAdmissionPolicyBinding"],
        admission_validation.validate_binding,
        admission_validation.validate_binding_update,
        _no_errors,
        False,
    ),
    # events.k8s.io/v1 Events: what the controllers' event recorder writes.
    "Event": SimpleKind(KINDS["Event"], _meta_only(True), _meta_only_update, _no_errors, False),
}
