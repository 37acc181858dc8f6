"""Server-side apply and field ownership: ``metadata.managedFields`` as kube-apiserver keeps
it.

Two entry points, for the two kinds of write:

* :func:`apply`: a PATCH with ``application/apply-patch+yaml`` (``kubectl apply
  --server-side``, Helm 4, Flux): merges the applied configuration into the live object,
  records the manager's ``Apply`` entry, removes the fields the manager stopped applying
  when nobody else owns them, and refuses to change fields other managers own unless
  ``force`` (then takes them over);
* :func:`track_update`: every other write (create, update, patch, status update) records
  an ``Update`` entry for its field manager, owning the fields it changed.

Sources followed: sigs.k8s.io/structured-merge-diff ``merge/update.go`` (``Updater.Apply``,
``Update``, ``prune``, ``addBackOwnedItems``, ``addBackDanglingItems``) and
``merge/conflict.go``; apimachinery ``pkg/util/managedfields/internal``: the
``FieldManager`` pipeline (``versioncheck``, ``lastappliedupdater``,
``lastappliedmanager``, ``skipnonapplied``, ``capmanagers``, ``buildmanagerinfo``,
``managedfieldsupdater``, ``stripmeta``, ``structuredmerge``), ``managedfields.go``
(identifiers, decoding, sorting) and ``conflict.go`` (the conflict Status); apiserver
``handlers/patch.go`` (``applyPatcher``) and ``handlers/create.go``
(``managerOrUserAgent``).

Implemented: field sets and FieldsV1 (``f:``/``k:``/``v:``/``i:``, ``.``), list-map keys
with their defaults (a Service port's protocol), sets, atomic lists/maps/structs, the
reset fields of the main resource and the ``status`` subresource, ownership transfer,
pruning of fields a manager no longer applies, conflicts with kube-apiserver's message and
causes, ``force``, the ``before-first-apply`` manager, the cap of ten ``Update`` managers
(``ancient-changes``), ``kubectl``'s takeover of fields from client-side apply and its
``last-applied-configuration`` upkeep, a no-op apply that changes nothing.

Left out: strict decoding of the apply body (kube-apiserver warns about, or with
``fieldValidation=Strict`` refuses, duplicate keys in it), conversion between versions
(ServiceCIDR and IPAddress ``v1`` and ``v1beta1`` are the same schema here, so a
manager's version is only a label), managers of versions the server no longer serves,
CBOR apply bodies, and schema-change reconciliation (``ReconcileFieldSetWithSchema``: the
schema never changes under a running server).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.api.field_errors import (
    go_json,
)
from servicecidr.clock import parse_time
from servicecidr.errors import ApiError, BadRequestError, ConflictError
from servicecidr.serve.fieldpath import (
    PATH_KEY,
    FieldSet,
    FieldsV1Error,
    Path,
    path_string,
    set_from_fields_v1,
    set_to_fields_v1,
)
from servicecidr.serve.schema import RESET_FIELDS, STATUS_RESET_FIELDS
from servicecidr.serve.typed import (
    ABSENT,
    TypedError,
    TypeRef,
    compare,
    ensure_named_fields_are_members,
    exclude,
    merge,
    remove_items,
    root_type,
    to_field_set,
    validate,
)
from servicecidr.yamldoc import YAMLDocError, load_document

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "MAX_UPDATE_MANAGERS",
    "ApplyResult",
    "apply",
    "create_managed_fields",
    "decode_apply_body",
    "track_update",
]

LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
MAX_UPDATE_MANAGERS: Final = 10  # DefaultMaxUpdateManagers
_BEFORE_FIRST_APPLY: Final = "before-first-apply"
_ANCIENT_CHANGES: Final = "ancient-changes"
_CURRENT_OPERATION: Final = "current-operation"

# stripMetaManager: paths no manager owns.
_STRIPPED: Final[frozenset[Path]] = frozenset(
    {
        (("f", "apiVersion"),),
        (("f", "kind"),),
        (("f", "metadata"),),
        *(
            (("f", "metadata"), ("f", name))
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)

# The zero value of each kind as Go's DefaultUnstructuredConverter writes it: the object a
# create (or the first apply) starts from. Non-pointer structs are present and empty.
_ZERO_META: Final = {"creationTimestamp": None}
_ZERO: Final[dict[str, dict[str, Any]]] = {
    "Service": {"metadata": _ZERO_META, "spec": {}, "status": {"loadBalancer": {}}},
    "ServiceCIDR": {"metadata": _ZERO_META, "spec": {}, "status": {}},
    "IPAddress": {"metadata": _ZERO_META, "spec": {}},
    "ValidatingAdmissionPolicy": {"metadata": _ZERO_META, "spec": {}, "status": {}},
    "ValidatingAdmissionPolicyBinding": {"metadata": _ZERO_META, "spec": {}},
    "Namespace": {"metadata": _ZERO_META, "spec": {}, "status": {}},
}


# --------------------------------------------------------------------------- managers


@dataclass
class _Entry:
    fields: FieldSet
    api_version: str
    applied: bool
    time: str | None = None


def _identifier(manager: str, operation: str, api_version: str, subresource: str) -> str:
    """``BuildManagerIdentifier``: the entry's JSON without time and fields (and without
    apiVersion for Apply)."""
    entry: dict[str, str] = {"manager": manager, "operation": operation}
    if operation == "Update" and api_version:
        entry["apiVersion"] = api_version
    if subresource:
        entry["subresource"] = subresource
    return go_json(entry)


def _decode(managed_fields: Any) -> dict[str, _Entry]:
    """``DecodeManagedFields``; raises ValueError naming what is wrong."""
    out: dict[str, _Entry] = {}
    if managed_fields is None:
        return out
    if not isinstance(managed_fields, list):
        raise ValueError("metadata.managedFields must be a list")
    for i, e in enumerate(managed_fields):
        if not isinstance(e, dict):
            raise ValueError(f"managed fields entry {i} is not an object")
        operation = e.get("operation")
        if operation not in ("Apply", "Update"):
            raise ValueError("operation must be `Apply` or `Update`")
        api_version = e.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError("apiVersion must not be empty")
        fields_type = e.get("fieldsType", "")
        if fields_type == "":
            raise ValueError(f"missing fieldsType in managed fields entry {i}")
        if fields_type != "FieldsV1":
            raise ValueError(f'invalid fieldsType "{fields_type}" in managed fields entry {i}')
        manager = e.get("manager", "")
        subresource = e.get("subresource", "")
        t = e.get("time")
        if not isinstance(manager, str) or not isinstance(subresource, str):
            raise ValueError(f"managed fields entry {i}: manager and subresource are strings")
        if t is not None and not isinstance(t, str):
            raise ValueError(f"managed fields entry {i}: time is a string")
        try:
            fields = set_from_fields_v1(e.get("fieldsV1") or {})
        except FieldsV1Error as err:
            raise ValueError(f"error decoding set: {err}") from None
        key = _identifier(manager, operation, api_version, subresource)
        out[key] = _Entry(fields, api_version, operation == "Apply", t)
    return out


def _seconds(t: str | None) -> int:
    if not t:
        return 0
    try:
        return int(parse_time(t))
    except ValueError:
        return 0


def _encode(managers: dict[str, _Entry]) -> list[dict[str, Any]] | None:
    """``encodeManagedFields``: entries sorted by operation, time, manager, apiVersion,
    subresource; None when no manager is left."""
    if not managers:
        return None
    entries = []
    for key, e in managers.items():
        ident = json.loads(key)
        entry: dict[str, Any] = {
            "manager": ident.get("manager", ""),
            "operation": "Apply" if e.applied else ident.get("operation", "Update"),
            "apiVersion": e.api_version,
        }
        if e.time:
            entry["time"] = e.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = set_to_fields_v1(e.fields)
        if ident.get("subresource"):
            entry["subresource"] = ident["subresource"]
        entries.append(entry)
    entries.sort(
        key=lambda x: (
            x["operation"],
            _seconds(x.get("time")),
            x["manager"],
            x["apiVersion"],
            x.get("subresource", ""),
        )
    )
    return entries


def _print_manager(key: str) -> str:
    """``printManager``: how a conflict names the other manager."""
    ident = json.loads(key)
    text = json.dumps(ident.get("manager", ""), ensure_ascii=False)
    if ident.get("subresource"):
        text += f" with subresource {json.dumps(ident['subresource'], ensure_ascii=False)}"
    if ident.get("operation") == "Update":
        text += f" using {ident.get('apiVersion', '')}"
    return text


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ApplyResult:
    """What an apply produced.

    Attributes:
        object: the object to store (the live object with the merged configuration and
            the new ``managedFields``), or the created object when there was none.
        changed: False when nothing changed, ``managedFields`` included (a write would
            store the same object).

    Strict decoding of the body (duplicate keys) is not checked (see the module
    docstring).
    """

    object: dict[str, Any]
    changed: bool


def _conflict_error(conflicts: list[tuple[str, Path]]) -> ConflictError:
    """``NewConflictError``: 409 Conflict, one cause per conflicting path."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_print_manager(m)}",
            "field": path_string(p),
        }
        for m, p in conflicts
    ]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {_print_manager(m)}: {path_string(p)}"
        )
    else:
        lines: list[str] = []
        for manager in sorted({m for m, _ in conflicts}):
            lines.append(f"conflicts with {_print_manager(manager)}:")
            lines.extend(f"- {path_string(p)}" for m, p in conflicts if m == manager)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ConflictError(message, details={"causes": causes})


class _Conflicts(Exception):
    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(conflicts)
        self.conflicts = conflicts


# --------------------------------------------------------------------------- the updater


def _update(
    old: Any,
    new: Any,
    version: str,
    managers: dict[str, _Entry],
    workflow: str,
    force: bool,
    t: TypeRef,
    reset: tuple[Path, ...],
) -> tuple[dict[str, _Entry], Any]:
    """``Updater.update``: other managers lose the fields that changed (a conflict unless
    ``force``) and the fields that were removed."""
    cmp = compare(old, new, t).filtered(reset)
    changed = cmp.modified | cmp.added
    conflicts: dict[str, FieldSet] = {}
    removed: dict[str, FieldSet] = {}
    for manager, entry in managers.items():
        if manager == workflow:
            continue
        hit = entry.fields & changed
        if hit:
            conflicts[manager] = hit
        if cmp.removed:
            removed[manager] = cmp.removed
    if not force and conflicts:
        raise _Conflicts(
            [(m, p) for m in sorted(conflicts) for p in sorted(conflicts[m], key=PATH_KEY)]
        )
    for manager, hit in conflicts.items():
        managers[manager].fields = managers[manager].fields - hit
    for manager, gone in removed.items():
        managers[manager].fields = managers[manager].fields - gone
    for manager in [m for m, e in managers.items() if not e.fields]:
        del managers[manager]
    return managers, cmp


def _structured_update(
    live: Any,
    new: Any,
    version: str,
    managers: dict[str, _Entry],
    manager: str,
    t: TypeRef,
    reset: tuple[Path, ...],
) -> dict[str, _Entry]:
    """``Updater.Update`` then ``stripMetaManager``."""
    managers, cmp = _update(live, new, version, managers, manager, True, t, reset)
    previous = managers.get(manager)
    fields = (previous.fields if previous else set()) - cmp.removed
    fields = exclude(fields | cmp.modified | cmp.added, reset) - _STRIPPED
    if fields:
        managers[manager] = _Entry(fields, version, False)
    else:
        managers.pop(manager, None)
    return managers


def _structured_apply(
    live: Any,
    config: Any,
    version: str,
    managers: dict[str, _Entry],
    manager: str,
    force: bool,
    t: TypeRef,
    reset: tuple[Path, ...],
) -> tuple[Any, dict[str, _Entry]]:
    """``Updater.Apply`` then ``stripMetaManager``: (the new object or ABSENT for a
    no-op, the managers)."""
    merged = merge(live, config, t)
    last = managers.get(manager)
    fields = exclude(to_field_set(config, t), reset)
    managers[manager] = _Entry(fields, version, True, last.time if last else None)
    merged = _prune(merged, managers, manager, last, t)
    managers, _ = _update(live, merged, version, managers, manager, force, t, reset)
    stripped = managers[manager].fields - _STRIPPED if manager in managers else set()
    if manager in managers:
        if stripped:
            managers[manager].fields = stripped
        else:
            del managers[manager]
    if _stored_form(merged) == _stored_form(live):
        return ABSENT, managers
    return _drop_nulls(merged), managers


def _prune(
    merged: Any, managers: dict[str, _Entry], manager: str, last: _Entry | None, t: TypeRef
) -> Any:
    """Remove what the manager applied last time and no longer applies, unless another
    manager owns it (``prune``, ``addBackOwnedItems``, ``addBackDanglingItems``)."""
    if last is None or not last.fields:
        return merged
    pruned = remove_items(merged, t, ensure_named_fields_are_members(last.fields, t))
    owned: FieldSet = set()
    for entry in managers.values():
        owned |= entry.fields
    merged_set = ensure_named_fields_are_members(to_field_set(merged, t), t)
    pruned_set = ensure_named_fields_are_members(_field_set(pruned, t), t)
    keep = pruned_set | ensure_named_fields_are_members(owned, t)
    pruned = remove_items(merged, t, merged_set - keep)
    pruned_set = ensure_named_fields_are_members(_field_set(pruned, t), t)
    last_set = ensure_named_fields_are_members(last.fields, t)
    result = remove_items(merged, t, (merged_set - pruned_set) & last_set)
    return {} if result is ABSENT else result


def _stored_form(value: Any) -> Any:
    """A value as it reads back once stored: a Go object drops nulls and (``omitempty``)
    empty lists and maps, so these do not make a write a change."""
    if isinstance(value, dict):
        out = {k: _stored_form(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_stored_form(v) for v in value]
    return value


def _drop_nulls(value: Any) -> Any:
    """Fields set to null are unset (TypedToObject into the Go struct)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _field_set(value: Any, t: TypeRef) -> FieldSet:
    return set() if value is ABSENT else to_field_set(value, t)


# --------------------------------------------------------------------------- pipeline


def _reset(kind: str, subresource: str) -> tuple[Path, ...]:
    names = (STATUS_RESET_FIELDS if subresource == "status" else RESET_FIELDS).get(kind, ())
    return tuple(((("f", n),)) for n in names)


def _type(api_version: str, kind: str) -> TypeRef:
    t = root_type(api_version, kind)
    if t is None:
        raise BadRequestError(f"invalid object type: {_gvk_string(api_version, kind)}")
    return t


def _gvk_string(api_version: str, kind: str) -> str:
    """``GroupVersionKind.String()``: ``networking.k8s.io/v1, Kind=ServiceCIDR``,
    ``/v1, Kind=Service``."""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


def _zero(kind: str, api_version: str) -> dict[str, Any]:
    base = copy.deepcopy(_ZERO.get(kind, {"metadata": _ZERO_META}))
    return {"kind": kind, "apiVersion": api_version, **base}


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return out


def _with_managed_fields(obj: dict[str, Any], managers: dict[str, _Entry]) -> dict[str, Any]:
    out = _without_managed_fields(obj)
    encoded = _encode(managers)
    if encoded is not None:
        meta = out.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta["managedFields"] = encoded
    return out


def _cap(managers: dict[str, _Entry]) -> None:
    """``capUpdateManagers``: fold the oldest Update managers into ``ancient-changes``."""
    updaters = [m for m, e in managers.items() if not e.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda m: (_seconds(managers[m].time), m))
    first_by_version: dict[str, str] = {}
    length = len(updaters)
    for manager in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            break
        entry = managers[manager]
        version = entry.api_version
        bucket = _identifier(_ANCIENT_CHANGES, "Update", version, "")
        first = first_by_version.get(version)
        if first is None:
            first_by_version[version] = manager
            continue
        if bucket not in managers:
            managers[bucket] = managers.pop(first)
        managers[bucket] = _Entry(
            entry.fields | managers[bucket].fields, entry.api_version, entry.applied, entry.time
        )
        del managers[manager]
        length -= 1


def _update_manager(
    live: Any,
    new: Any,
    managers: dict[str, _Entry],
    manager: str,
    *,
    api_version: str,
    subresource: str,
    now: str,
    t: TypeRef,
    reset: tuple[Path, ...],
) -> dict[str, _Entry]:
    """capManagers, buildManagerInfo, managedFieldsUpdater and stripMeta around an Update."""
    key = _identifier(manager or "unknown", "Update", api_version, subresource)
    managers = _structured_update(live, new, api_version, managers, _CURRENT_OPERATION, t, reset)
    current = managers.pop(_CURRENT_OPERATION, None)
    if current is not None:
        if key in managers:
            current.fields = current.fields | managers[key].fields
        current.time = now
        managers[key] = current
    _cap(managers)
    return managers


def track_update(
    live: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """The object ``new`` with the ``managedFields`` an Update by ``manager`` leaves
    (``FieldManager.UpdateNoErrors``).

    ``live`` is the stored object, or None for a create. ``new`` is the object about to be
    stored, as decoded and defaulted from the request (fields the server sets later, like
    an allocated ClusterIP, are not the manager's). ``now`` is the write's time (RFC 3339).
    ``subresource`` is ``"status"`` for a status update. Managed fields the request sets
    itself are used when valid and not empty (``[]`` resets them); otherwise the live
    object's. An existing object that has no managed fields is not tracked (as
    kube-apiserver, which only starts tracking on create or apply).
    """
    api_version = str(new.get("apiVersion", ""))
    kind = str(new.get("kind", ""))
    t = root_type(api_version, kind)
    if t is None:
        return _without_managed_fields(new)
    is_create = live is None
    base = _zero(kind, api_version) if live is None else live
    live_meta = base.get("metadata") if isinstance(base.get("metadata"), dict) else {}
    new_meta = new.get("metadata") if isinstance(new.get("metadata"), dict) else {}
    assert isinstance(live_meta, dict) and isinstance(new_meta, dict)
    if subresource:
        managers = _decode_or_empty(live_meta.get("managedFields"))
    elif _is_reset(new_meta.get("managedFields", ABSENT)):
        managers = {}
    else:
        managers = _decode_or_empty(new_meta.get("managedFields"))
        if not managers:
            managers = _decode_or_empty(live_meta.get("managedFields"))
    if not managers and not is_create:
        return _without_managed_fields(new)  # skipNonAppliedManager
    try:
        managers = _update_manager(
            _without_managed_fields(base),
            _without_managed_fields(new),
            managers,
            manager,
            api_version=api_version,
            subresource=subresource,
            now=now,
            t=t,
            reset=_reset(kind, subresource),
        )
    except ValueError:
        # UpdateNoErrors: keep the live object's managed fields on an internal failure.
        out = _without_managed_fields(new)
        if isinstance(live_meta.get("managedFields"), list):
            out.setdefault("metadata", {})["managedFields"] = copy.deepcopy(
                live_meta["managedFields"]
            )
        return out
    return _with_managed_fields(new, managers)


# A create's managed fields depend on which fields the object sets, not on the values
# of its scalars: objects of one shape (a thousand Services told apart by name and labels'
# values) share them, but for the time. Bounded; cleared when full.
_CREATE_CACHE: dict[tuple[str, str, str, str], str] = {}  # -> the entries' JSON
_CREATE_CACHE_SIZE: Final = 4096


def _shape(value: Any) -> Any:
    """What of an object its field set depends on: the keys of every map, and list items
    whole (their values are list-map keys and set members)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return value
    return None


def create_managed_fields(
    new: dict[str, Any], *, manager: str, now: str
) -> list[dict[str, Any]] | None:
    """The ``managedFields`` :func:`track_update` gives a create (``live`` None), without
    walking the schema for every object: remembered by the object's shape
    (:func:`_shape`), stamped with ``now``."""
    meta = new.get("metadata")
    if not isinstance(meta, dict) or meta.get("managedFields") is not None:
        return _entries(track_update(None, new, manager=manager, now=now))
    try:
        key = (
            manager,
            str(new.get("apiVersion", "")),
            str(new.get("kind", "")),
            json.dumps(_shape(new), sort_keys=True, separators=(",", ":")),
        )
    except (TypeError, ValueError):
        return _entries(track_update(None, new, manager=manager, now=now))
    text = _CREATE_CACHE.get(key)
    if text is None:
        if len(_CREATE_CACHE) >= _CREATE_CACHE_SIZE:
            _CREATE_CACHE.clear()
        text = json.dumps(_entries(track_update(None, new, manager=manager, now="")))
        _CREATE_CACHE[key] = text
    entries: list[dict[str, Any]] | None = json.loads(text)  # a fresh copy each time
    if entries is None or not now:
        return entries
    stamped = []
    for e in entries:
        entry = {k: v for k, v in e.items() if k not in ("fieldsType", "fieldsV1")}
        entry["time"] = now
        entry["fieldsType"] = e["fieldsType"]
        entry["fieldsV1"] = e["fieldsV1"]
        stamped.append(entry)
    return stamped


def _entries(obj: dict[str, Any]) -> list[dict[str, Any]] | None:
    meta = obj.get("metadata")
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    return entries if isinstance(entries, list) else None


def _is_reset(managed_fields: Any) -> bool:
    """``isResetManagedFields``: ``[]`` or ``[{}]``."""
    if managed_fields is ABSENT or managed_fields is None:
        return False
    return bool(managed_fields == [] or managed_fields == [{}])


def _decode_or_empty(managed_fields: Any) -> dict[str, _Entry]:
    try:
        return _decode(managed_fields)
    except ValueError:
        return {}


# --------------------------------------------------------------------------- apply


def decode_apply_body(body: bytes) -> dict[str, Any]:
    """An apply body (YAML or JSON) as an object, read as ``sigs.k8s.io/yaml`` reads it
    (:func:`servicecidr.yamldoc.load_document`). Raises BadRequestError worded as
    kube-apiserver's patch handler words it: ``error encoding patch: error converting
    YAML to JSON: yaml: line 1: ...`` for text that is not YAML
    (``validateAndTranscodePatch``), ``error decoding patch: error unmarshaling JSON:
    while decoding JSON: json: cannot unmarshal array into Go value of type
    map[string]interface {}`` for a document that is not an object."""
    text = body.decode("utf-8", errors="replace")
    try:
        doc = load_document(text)
    except YAMLDocError as e:
        raise BadRequestError(f"error encoding patch: error converting YAML to JSON: {e}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        kind = (
            "array"
            if isinstance(doc, list)
            else "string"
            if isinstance(doc, str)
            else "bool"
            if isinstance(doc, bool)
            else "number"
        )
        raise BadRequestError(
            "error decoding patch: error unmarshaling JSON: while decoding JSON: json: "
            f"cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    return doc


def apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    now: str,
    api_version: str,
    kind: str,
    subresource: str = "",
) -> ApplyResult:
    """Apply a configuration for ``manager`` (``FieldManager.Apply``).

    ``live`` is the stored object or None when the apply creates it; ``applied`` the
    decoded body (:func:`decode_apply_body`); ``api_version``/``kind`` the endpoint's
    version and kind; ``now`` the time of the write (RFC 3339).

    Raises:
        ConflictError: fields other managers own would change (without ``force``);
            409 with kube-apiserver's message and one ``FieldManagerConflict`` cause per
            field.
        BadRequestError: the body's kind or version is not the endpoint's, or it sets
            ``metadata.managedFields``.
        ApiError: the body does not fit the kind's schema (``failed to create typed patch
            object (...): .spec.foo: field not declared in schema``), or the live object's
            managed fields do not decode; a 500 as kube-apiserver sends them.
    """
    t = _type(api_version, kind)
    gvk = (str(applied.get("apiVersion", "")), str(applied.get("kind", "")))
    if gvk != (api_version, kind):
        raise BadRequestError(f"invalid object type: {_gvk_string(*gvk)}")
    # Creating starts from nothing: no field of an empty object is anyone's.
    base = {"apiVersion": api_version, "kind": kind} if live is None else live
    live_meta = base.get("metadata")
    try:
        managers = _decode(live_meta.get("managedFields") if isinstance(live_meta, dict) else None)
    except ValueError as e:
        raise ApiError(f"failed to decode managed fields: {e}") from None
    meta = applied.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise BadRequestError("metadata.managedFields must be nil")
    name = meta.get("name", "") if isinstance(meta, dict) else ""
    namespace = meta.get("namespace", "") if isinstance(meta, dict) else ""
    try:
        validate(applied, t)
    except TypedError as e:
        raise ApiError(
            f"failed to create typed patch object ({namespace}/{name}; "
            f"{_gvk_string(api_version, kind)}): {e}"
        ) from None
    reset = _reset(kind, subresource)
    live_obj = _without_managed_fields(base)
    if not managers:
        # skipNonAppliedManager: the fields already there belong to before-first-apply.
        managers = _update_manager(
            _zero(kind, api_version),
            live_obj,
            managers,
            _BEFORE_FIRST_APPLY,
            api_version=api_version,
            subresource=subresource,
            now=now,
            t=t,
            reset=reset,
        )
    key = _identifier(manager or "unknown", "Apply", "", subresource)
    try:
        new_obj, managers = _apply_with_takeover(
            live_obj, applied, managers, key, manager, force, api_version, t, reset
        )
    except _Conflicts as c:
        raise _conflict_error(c.conflicts) from None
    except ValueError as e:  # a duplicate key the validator let through, and the like
        raise ApiError(f"failed to merge config: {e}") from None
    if new_obj is not ABSENT:
        if key in managers:
            managers[key].time = now  # managedFieldsUpdater stamps a write that changed
        result = new_obj
    else:
        result = live_obj
    if manager == "kubectl" and _has_last_applied(result):
        result = _set_last_applied(result, applied)
    out = _with_managed_fields(result, managers)
    return ApplyResult(out, live is None or _stored_form(out) != _stored_form(live))


def _apply_with_takeover(
    live: Any,
    config: Any,
    managers: dict[str, _Entry],
    key: str,
    manager: str,
    force: bool,
    api_version: str,
    t: TypeRef,
    reset: tuple[Path, ...],
) -> tuple[Any, dict[str, _Entry]]:
    """``lastAppliedManager``: ``kubectl`` may take over the fields that client-side
    apply set with the same values."""
    try:
        return _structured_apply(
            live, config, api_version, copy.deepcopy(managers), key, force, t, reset
        )
    except _Conflicts as c:
        if manager != "kubectl":
            raise
        allowed = _allowed_from_last_applied(live, api_version, t)
        if allowed is None:
            raise
        rest = [(m, p) for m, p in c.conflicts if p not in allowed]
        if rest:
            raise _Conflicts(rest) from None
        return _structured_apply(
            live, config, api_version, copy.deepcopy(managers), key, True, t, reset
        )


def _allowed_from_last_applied(live: Any, api_version: str, t: TypeRef) -> FieldSet | None:
    meta = live.get("metadata") if isinstance(live, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    text = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        last = json.loads(text)
        if not isinstance(last, dict) or last.get("apiVersion") != api_version:
            return None
        validate(last, t)
        fields = to_field_set(last, t)
        cmp = compare(last, live, t)
    except (ValueError, TypedError):
        return None
    return fields - cmp.modified - cmp.added - cmp.removed


def _has_last_applied(obj: Any) -> bool:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(annotations, dict) and bool(annotations.get(LAST_APPLIED_ANNOTATION))


def _set_last_applied(obj: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """``lastAppliedUpdater``: the annotation becomes the applied configuration."""
    config = copy.deepcopy(applied)
    meta = config.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(LAST_APPLIED_ANNOTATION, None)
        if not meta["annotations"]:
            del meta["annotations"]
    out = copy.deepcopy(obj)
    out["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = _go_json_sorted(config) + "\n"
    return out


def _go_json_sorted(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{go_json(k)}:{_go_json_sorted(value[k])}" for k in sorted(value)) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_go_json_sorted(v) for v in value) + "]"
    return go_json(value)
