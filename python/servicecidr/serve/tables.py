"""Server-side ``Table`` responses (``meta.k8s.io/v1`` and ``v1beta1``), as kube-apiserver
sends them to ``kubectl get``.

The columns and cells are kube-apiserver's (:mod:`servicecidr.api.columns`, shared with the
command line), generated "wide" as its ``TableConvertor`` does: kubectl hides the
priority-1 columns itself. Each row carries the object per ``includeObject``
(apiserver ``handlers/response.go`` ``asTable``): ``PartialObjectMetadata`` by default,
the whole object with ``Object``, ``null`` with ``None``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Final

from servicecidr.api.columns import COLUMNS, cells
from servicecidr.errors import BadRequestError

__all__ = [
    "INCLUDE_OBJECT_VALUES",
    "has_columns",
    "table",
    "table_content_type",
    "table_version",
    "validate_include_object",
]

INCLUDE_OBJECT_VALUES: Final = ("", "None", "Metadata", "Object")


def has_columns(kind: str) -> bool:
    """Whether a kind has printing columns."""
    return kind in COLUMNS


def table_version(accept: str | None) -> str | None:
    """The Table version the ``Accept`` header asks for first (``v1`` or ``v1beta1``), or
    None when it prefers a plain object. Media types are tried in order, as kube-apiserver's
    negotiation does; parameters may come in any order."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media not in ("application/json", "*/*", "application/*"):
            continue
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if opts.get("as") != "Table":
            if media == "application/json" and "as" not in opts:
                return None
            continue
        if opts.get("g") == "meta.k8s.io" and opts.get("v") in ("v1", "v1beta1"):
            return opts["v"]
    return None


def table_content_type(version: str) -> str:
    """The ``Content-Type`` of a Table response."""
    return f"application/json;as=Table;v={version};g=meta.k8s.io"


def validate_include_object(value: str) -> None:
    """``ValidateTableOptions``: BadRequest for an ``includeObject`` outside None,
    Metadata, Object."""
    if value not in INCLUDE_OBJECT_VALUES:
        raise BadRequestError(
            'Unable to convert to Table as requested: includeObject: Invalid value: "'
            f"{value}\": must be 'Metadata', 'Object', 'None', or empty"
        )


def _row_object(obj: dict[str, Any], include: str, version: str) -> Any:
    if include == "None":
        return None
    if include == "Object":
        return copy.deepcopy(obj)
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": copy.deepcopy(obj.get("metadata") or {}),
    }


def table(
    kind: str,
    objects: Iterable[dict[str, Any]],
    *,
    now: float,
    version: str = "v1",
    resource_version: str = "",
    continue_token: str = "",
    remaining_item_count: int | None = None,
    include_object: str = "",
    no_headers: bool = False,
) -> dict[str, Any]:
    """A Table of objects of one kind (a list, or a single object as a one-row table).

    ``now`` is the reference time of the Age cells (seconds since the epoch);
    ``no_headers`` leaves the column definitions out (``TableOptions.noHeaders``, as watch
    events after the first carry them).
    """
    validate_include_object(include_object)
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining_item_count is not None:
        meta["remainingItemCount"] = remaining_item_count
    columns = None if no_headers else [c.definition() for c in COLUMNS[kind]]
    rows = [
        {"cells": cells(kind, o, now, wide=True), "object": _row_object(o, include_object, version)}
        for o in objects
    ]
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    }
