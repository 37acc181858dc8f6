"""What kube-apiserver's generic registry does for every kind: metadata, preconditions,
graceful deletion with finalizers, and the standard error messages."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from servicecidr.api import decode as api_decode
from servicecidr.api.kinds import KindInfo
from servicecidr.api.storable import is_text
from servicecidr.errors import (
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    ConflictError,
    NotFoundError,
)
from servicecidr.registry.context import RequestContext
from servicecidr.registry.txn import Txn
from servicecidr.store import Store, decode_object, object_key

__all__ = [
    "DEFAULT_OPTIONS",
    "WriteOptions",
    "already_exists",
    "check_precondition",
    "decode_request",
    "fill_create_meta",
    "get_existing",
    "merge_update_meta",
    "not_found",
    "object_key_of",
    "request_name",
    "resource_version_on_create",
    "resource_version_set",
    "set_managed_fields",
    "stored_key",
    "strip_for_create",
]

_SYSTEM_FIELDS = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "resourceVersion",
    "generation",
    "managedFields",
    "selfLink",
)


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """What a front door asks of a write beyond its body.

    Attributes:
        field_validation: how unknown fields of the body are treated, as the
            ``fieldValidation`` query parameter: ``Strict`` (refused), ``Warn`` (a warning
            each) or ``Ignore``.
        managed_fields: the ``metadata.managedFields`` to store, computed by the caller's
            field manager (the HTTP server's server-side apply); None keeps what the
            stored object has (nothing on a create), ``[]`` removes them. Handed over:
            stored as given, not copied.
    """

    field_validation: api_decode.FieldValidation = "Warn"
    managed_fields: list[dict[str, Any]] | None = None


#: The facade's writes: warn about unknown fields, no field manager.
DEFAULT_OPTIONS = WriteOptions()


def not_found(info: KindInfo, name: str) -> NotFoundError:
    """``services "x" not found``."""
    return NotFoundError(
        f'{info.qualified_resource} "{name}" not found',
        details={"name": name, "group": info.group, "kind": info.resource},
    )


def already_exists(info: KindInfo, name: str) -> AlreadyExistsError:
    """``services "x" already exists``."""
    return AlreadyExistsError(
        f'{info.qualified_resource} "{name}" already exists',
        details={"name": name, "group": info.group, "kind": info.resource},
    )


def conflict(info: KindInfo, name: str) -> ConflictError:
    """The optimistic-concurrency failure of a stale resourceVersion."""
    return ConflictError(
        f'Operation cannot be fulfilled on {info.qualified_resource} "{name}": the object has '
        "been modified; please apply your changes to the latest version and try again",
        details={"name": name, "group": info.group, "kind": info.resource},
    )


def request_name(obj: dict[str, Any]) -> str:
    """metadata.name of a request body ('' when absent)."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


def resource_version_set(obj: dict[str, Any]) -> bool:
    """Whether a create names a resourceVersion etcd would refuse: one that parses as a
    nonzero unsigned 64-bit number (``APIObjectVersioner.ObjectResourceVersion``)."""
    meta = obj.get("metadata")
    rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
    if not isinstance(rv, str) or not rv.isascii() or not rv.isdigit():
        return False
    return 0 < int(rv) < 1 << 64


def resource_version_on_create() -> ApiError:
    """etcd3's ``ErrResourceVersionSetOnCreate``: not a Status error, so a client sees it
    as a 500 without a reason. A dry run never reaches etcd and is not refused."""
    return ApiError("resourceVersion should not be set on objects to be created")


def object_key_of(info: KindInfo, obj: dict[str, Any]) -> str:
    """Storage key of an object."""
    meta = obj["metadata"]
    return object_key(info.namespaced, meta.get("namespace"), meta.get("name", ""))


def strip_for_create(obj: dict[str, Any], info: KindInfo, default_namespace: str | None) -> None:
    """What a create request cannot set: system fields; the namespace defaults."""
    # Every served version of these kinds has the same schema; objects are kept (and
    # read back) in the preferred version, as kubectl get shows them.
    obj["apiVersion"] = info.api_version
    meta = obj.setdefault("metadata", {})
    for f in _SYSTEM_FIELDS:
        meta.pop(f, None)
    if info.namespaced and not meta.get("namespace"):
        meta["namespace"] = default_namespace or "default"


def decode_request(
    obj: Any, opts: WriteOptions = DEFAULT_OPTIONS
) -> tuple[dict[str, Any], list[str]]:
    """The request body decoded as kube-apiserver decodes JSON (a fresh object), and the
    warnings of decoding (unknown fields per ``opts.field_validation``)."""
    if not isinstance(obj, dict):
        raise BadRequestError(
            f"the request body must be an object (a mapping), not {type(obj).__name__}"
        )
    return api_decode.decode(obj, field_validation=opts.field_validation)


def set_managed_fields(obj: dict[str, Any], opts: WriteOptions) -> None:
    """Store the field manager's ``managedFields`` (when the request has a manager)."""
    if opts.managed_fields is None:
        return
    meta = obj.setdefault("metadata", {})
    if opts.managed_fields:
        # The caller hands them over (they are stored as given, and not copied).
        meta["managedFields"] = opts.managed_fields
    else:
        meta.pop("managedFields", None)


def fill_create_meta(ctx: RequestContext, obj: dict[str, Any]) -> None:
    """FillObjectMetaSystemFields and generateName, as the generic store does first."""
    meta = obj["metadata"]
    meta["uid"] = ctx.new_uid()
    meta["creationTimestamp"] = ctx.now()
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = ctx.generate_name(str(meta["generateName"]))


def stored_key(info: KindInfo, namespace: Any, name: Any) -> str | None:
    """The storage key a request names, or None when no object could be stored under
    it: a name or namespace that is not a string, or text that is not valid Unicode
    (every stored key is both)."""
    if not isinstance(name, str) or not (namespace is None or isinstance(namespace, str)):
        return None
    key = object_key(info.namespaced, namespace, name)
    return key if is_text(key) else None


def get_existing(
    store: Store, info: KindInfo, namespace: str | None, name: str
) -> tuple[str, bytes, dict[str, Any]]:
    """(key, blob, object) of a stored object; NotFound otherwise."""
    key = stored_key(info, namespace, name)
    blob = store.get(info.kind, key) if key is not None else None
    if key is None or blob is None:
        raise not_found(info, name)
    return key, blob, decode_object(blob)


def check_precondition(info: KindInfo, obj: dict[str, Any], old: dict[str, Any]) -> None:
    """A PUT naming a resourceVersion must name the current one."""
    rv = obj.get("metadata", {}).get("resourceVersion")
    if rv not in (None, "") and str(rv) != old["metadata"].get("resourceVersion"):
        raise conflict(info, old["metadata"]["name"])
    uid = obj.get("metadata", {}).get("uid")
    if uid not in (None, "") and uid != old["metadata"].get("uid"):
        raise ConflictError(
            f"Operation cannot be fulfilled on {info.qualified_resource} "
            f'"{old["metadata"]["name"]}": Precondition failed: UID in precondition: {uid}, '
            f"UID in object meta: {old['metadata'].get('uid')}"
        )


def merge_update_meta(obj: dict[str, Any], old: dict[str, Any]) -> None:
    """An update keeps the system fields of the stored object (and its apiVersion)."""
    obj["apiVersion"] = old.get("apiVersion", obj.get("apiVersion"))
    meta = obj.setdefault("metadata", {})
    old_meta = old["metadata"]
    for f in _SYSTEM_FIELDS:
        if f in old_meta:
            meta[f] = copy.deepcopy(old_meta[f])
        else:
            meta.pop(f, None)
    if "namespace" in old_meta:
        meta["namespace"] = old_meta["namespace"]


def finish_delete(
    ctx: RequestContext, info: KindInfo, key: str, blob: bytes, obj: dict[str, Any], txn: Txn
) -> tuple[dict[str, Any], bool]:
    """Graceful deletion: with finalizers the object only gets a deletionTimestamp.

    Returns (object, gone).
    """
    meta = obj["metadata"]
    if meta.get("finalizers"):
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = ctx.now()
            meta["deletionGracePeriodSeconds"] = 0
            txn.put(info.kind, key, obj)
        return obj, False
    txn.delete(info.kind, key, blob)
    return obj, True


def require_name(info: KindInfo, name: str) -> None:
    """Reads and deletes need a name."""
    if not name:
        raise BadRequestError(f"resource name may not be empty (kind {info.kind})")
