"""Query parameters and DeleteOptions, decoded and validated as kube-apiserver does.

Decoding follows apimachinery's parameter codec (``runtime/conversion.go``): a boolean is
false only when absent, ``0`` or ``false`` (any case), true otherwise; integers parse as
``strconv.ParseInt`` (an error is a 400 with Go's text); the first of repeated values
counts, except ``dryRun``, which is a list. Validation is apimachinery's
``ValidateListOptions`` (with the WatchList defaults of ``SetListOptionsDefaults``),
``ValidateCreateOptions``, ``ValidateUpdateOptions``, ``ValidatePatchOptions`` and
``ValidateDeleteOptions``, each failing as ``<Kind>Options.meta.k8s.io "" is invalid``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from servicecidr.api.field_errors import (
    FieldError,
    forbidden,
    invalid,
    not_supported,
    required,
    to_invalid_error,
    too_long,
)
from servicecidr.api.validation.meta import FIELD_MANAGER_MAX_LENGTH
from servicecidr.errors import BadRequestError
from servicecidr.serve.gojson import go_type

__all__ = [
    "DeleteOptions",
    "ListOptions",
    "WriteOptions",
    "delete_options",
    "list_options",
    "manager_or_user_agent",
    "validate_patch_options",
    "write_options",
]

Query = Mapping[str, Sequence[str]]

_NOT_OLDER_THAN: Final = "NotOlderThan"
_EXACT: Final = "Exact"
_PROPAGATION: Final = ("Foreground", "Background", "Orphan")


def _first(q: Query, name: str) -> str | None:
    values = q.get(name)
    return values[0] if values else None


def _bool(q: Query, name: str) -> bool | None:
    v = _first(q, name)
    if v is None:
        return None
    return not (v == "0" or v.lower() == "false")


def _int(q: Query, name: str) -> int | None:
    v = _first(q, name)
    if v is None:
        return None
    text = v[1:] if v[:1] in "+-" else v
    if not text.isascii() or not text.isdigit():
        raise BadRequestError(f"strconv.ParseInt: parsing {json.dumps(v)}: invalid syntax")
    n = int(v)
    if not -(1 << 63) <= n < (1 << 63):
        raise BadRequestError(f"strconv.ParseInt: parsing {json.dumps(v)}: value out of range")
    return n


@dataclass(frozen=True, slots=True)
class ListOptions:
    """A list or watch request's options (``metainternalversion.ListOptions``)."""

    label_selector: str = ""
    field_selector: str = ""
    watch: bool = False
    allow_watch_bookmarks: bool = False
    resource_version: str = ""
    resource_version_match: str = ""
    timeout_seconds: int | None = None
    limit: int = 0
    continue_token: str = ""
    send_initial_events: bool | None = None
    include_object: str = ""

    @property
    def watch_list(self) -> bool:
        """A watch-list request: initial events, then the end-of-initial-events bookmark
        (``isListWatchRequest``)."""
        return bool(self.send_initial_events) and self.allow_watch_bookmarks


def list_options(q: Query, *, force_watch: bool = False) -> ListOptions:
    """Decode, default and validate a list or watch request's query."""
    watch = force_watch or bool(_bool(q, "watch"))
    opts = ListOptions(
        label_selector=_first(q, "labelSelector") or "",
        field_selector=_first(q, "fieldSelector") or "",
        watch=watch,
        allow_watch_bookmarks=bool(_bool(q, "allowWatchBookmarks")),
        resource_version=_first(q, "resourceVersion") or "",
        resource_version_match=_first(q, "resourceVersionMatch") or "",
        timeout_seconds=_int(q, "timeoutSeconds"),
        limit=_int(q, "limit") or 0,
        continue_token=_first(q, "continue") or "",
        send_initial_events=_bool(q, "sendInitialEvents"),
        include_object=_first(q, "includeObject") or "",
    )
    # SetListOptionsDefaults (WatchList on): a watch from "now" or "any" sends the
    # current objects first, as the legacy synthetic ADDED events did.
    if (
        opts.watch
        and opts.send_initial_events is None
        and not opts.resource_version_match
        and opts.resource_version in ("", "0")
    ):
        opts = ListOptions(
            **{
                **{f: getattr(opts, f) for f in ListOptions.__dataclass_fields__},
                "send_initial_events": True,
                "resource_version_match": _NOT_OLDER_THAN,
            }
        )
    errs = _validate_watch(opts) if opts.watch else _validate_list(opts)
    if errs:
        raise to_invalid_error("ListOptions.meta.k8s.io", "", errs)
    return opts


def _validate_list(o: ListOptions) -> list[FieldError]:
    errs: list[FieldError] = []
    match = o.resource_version_match
    if match:
        if not o.resource_version:
            errs.append(
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if o.continue_token:
            errs.append(
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            )
        if match not in (_EXACT, _NOT_OLDER_THAN):
            errs.append(not_supported("resourceVersionMatch", match, [_EXACT, _NOT_OLDER_THAN, ""]))
        if match == _EXACT and o.resource_version == "0":
            errs.append(
                forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if o.send_initial_events is not None:
        errs.append(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    return errs


def _validate_watch(o: ListOptions) -> list[FieldError]:
    errs: list[FieldError] = []
    match = o.resource_version_match
    if o.send_initial_events is not None and match != _NOT_OLDER_THAN:
        errs.append(
            forbidden(
                "resourceVersionMatch",
                f"sendInitialEvents requires setting resourceVersionMatch to {_NOT_OLDER_THAN}",
            )
        )
    if match:
        if o.send_initial_events is None:
            errs.append(
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                    "provided",
                )
            )
        if match != _NOT_OLDER_THAN:
            errs.append(not_supported("resourceVersionMatch", match, [_NOT_OLDER_THAN]))
        if o.continue_token:
            errs.append(
                forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            )
    return errs


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """CreateOptions, UpdateOptions or PatchOptions from the query."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # kube-apiserver's default when the parameter is empty
    force: bool | None = None


def write_options(q: Query, options_kind: str, patch_type: str = "") -> WriteOptions:
    """Decode and validate ``CreateOptions``, ``UpdateOptions`` or (with ``patch_type``)
    ``PatchOptions``."""
    dry_run = list(q.get("dryRun") or [])
    field_manager = _first(q, "fieldManager") or ""
    field_validation = _first(q, "fieldValidation") or ""
    force = _bool(q, "force")
    validate_patch_options(
        patch_type,
        field_manager=field_manager,
        force=force if patch_type else None,
        dry_run=dry_run,
        field_validation=field_validation,
        options_kind=options_kind,
    )
    return WriteOptions(bool(dry_run), field_manager, field_validation or "Warn", force)


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """A DELETE's options: the body's ``DeleteOptions`` with the query's over them."""

    dry_run: bool = False
    propagation_policy: str | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None


def _body_type_error(path: str, value: Any, want: str) -> BadRequestError:
    return BadRequestError(
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
        f"DeleteOptions.{path} of type {want}"
    )


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else go_type(value)


def delete_options(q: Query, body: Any) -> DeleteOptions:
    """Decode and validate a DELETE's options (``body``: the decoded JSON, or None)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequestError(
            f"json: cannot unmarshal {_json_kind(body)} into Go value of type v1.DeleteOptions"
        )
    grace = body.get("gracePeriodSeconds")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
        raise _body_type_error("gracePeriodSeconds", grace, "int64")
    policy = body.get("propagationPolicy")
    if policy is not None and not isinstance(policy, str):
        raise _body_type_error("propagationPolicy", policy, "v1.DeletionPropagation")
    orphan = body.get("orphanDependents")
    if orphan is not None and not isinstance(orphan, bool):
        raise _body_type_error("orphanDependents", orphan, "bool")
    dry = body.get("dryRun")
    if dry is not None and not (isinstance(dry, list) and all(isinstance(d, str) for d in dry)):
        raise _body_type_error("dryRun", dry, "[]string")
    pre = body.get("preconditions")
    if pre is not None and not isinstance(pre, dict):
        raise _body_type_error("preconditions", pre, "v1.Preconditions")
    pre = pre or {}
    for k in ("uid", "resourceVersion"):
        if pre.get(k) is not None and not isinstance(pre[k], str):
            raise _body_type_error(f"preconditions.{k}", pre[k], "string")
    # The query's values win over the body's (the handler decodes the body, then the
    # parameters into the same struct).
    q_grace = _int(q, "gracePeriodSeconds")
    if q_grace is not None:
        grace = q_grace
    if _first(q, "propagationPolicy") is not None:
        policy = _first(q, "propagationPolicy")
    q_orphan = _bool(q, "orphanDependents")
    if q_orphan is not None:
        orphan = q_orphan
    dry_run = list(q.get("dryRun") or dry or [])
    errs: list[FieldError] = []
    if orphan is not None and policy is not None:
        errs.append(
            invalid(
                "propagationPolicy",
                policy,
                "orphanDependents and deletionPropagation cannot be both set",
            )
        )
    if policy is not None and policy not in _PROPAGATION:
        errs.append(not_supported("propagationPolicy", policy, [*_PROPAGATION, "nil"]))
    if any(d != "All" for d in dry_run):
        errs.append(not_supported("dryRun", dry_run, ["All"]))
    if errs:
        raise to_invalid_error("DeleteOptions.meta.k8s.io", "", errs)
    return DeleteOptions(
        dry_run=bool(dry_run),
        propagation_policy=policy,
        grace_period_seconds=grace,
        precondition_uid=pre.get("uid") or None,
        precondition_resource_version=pre.get("resourceVersion") or None,
    )


# ------------------------------------------------ fieldManager (handlers/patch.go, create.go)


def manager_or_user_agent(field_manager: str, user_agent: str) -> str:
    """``managerOrUserAgent``: the fieldManager, else the User-Agent before its first
    ``/``, printable characters only, at most 128 bytes."""
    if field_manager:
        return field_manager
    out = ""
    size = 0
    for ch in user_agent.split("/", 1)[0]:
        if not _is_print(ch):
            continue
        n = len(ch.encode("utf-8"))
        if size + n > FIELD_MANAGER_MAX_LENGTH:
            break
        out += ch
        size += n
    return out


def _is_print(ch: str) -> bool:
    """Go's ``unicode.IsPrint``: letters, marks, numbers, punctuation, symbols and the
    ASCII space."""
    if ch == " ":
        return True
    return unicodedata.category(ch)[0] in "LMNPS"


def validate_patch_options(
    patch_type: str,
    *,
    field_manager: str,
    force: bool | None,
    dry_run: list[str] | tuple[str, ...] = (),
    field_validation: str = "",
    options_kind: str = "PatchOptions",
) -> None:
    """``ValidatePatchOptions``: raises InvalidError as kube-apiserver words it
    (``PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required
    for apply patch``). With ``patch_type=""`` and ``options_kind`` ``CreateOptions`` or
    ``UpdateOptions`` it is ``ValidateCreateOptions``/``ValidateUpdateOptions`` (the same
    checks of fieldManager, dryRun and fieldValidation)."""
    errs = []
    if patch_type == "application/apply-patch+yaml":
        if not field_manager:
            errs.append(required("fieldManager", "is required for apply patch"))
    elif force is not None:
        errs.append(forbidden("force", "may not be specified for non-apply patch"))
    if len(field_manager) > FIELD_MANAGER_MAX_LENGTH:
        errs.append(too_long("fieldManager", "", FIELD_MANAGER_MAX_LENGTH))
    pos = 0
    for ch in field_manager:
        if not _is_print(ch):
            detail = f"invalid character {_go_sharp_u(ch)} (at position {pos})"
            errs.append(invalid("fieldManager", field_manager, detail))
        pos += len(ch.encode("utf-8"))
    if any(d != "All" for d in dry_run):
        errs.append(not_supported("dryRun", list(dry_run), ["All"]))
    if field_validation not in ("", "Ignore", "Warn", "Strict"):
        errs.append(
            not_supported("fieldValidation", field_validation, ["", "Ignore", "Strict", "Warn"])
        )
    if errs:
        raise to_invalid_error(f"{options_kind}.meta.k8s.io", "", errs)


def _go_sharp_u(ch: str) -> str:
    """``%#U``: ``U+0009``, with ``'x'`` after it for a printable rune."""
    code = f"U+{ord(ch):04X}"
    return f"{code} '{ch}'" if _is_print(ch) else code
