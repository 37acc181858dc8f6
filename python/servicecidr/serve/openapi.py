"""OpenAPI v3 documents: the ``/openapi/v3`` index and one document per served group
version, enough for ``kubectl apply`` and ``kubectl explain``.

What kubectl needs (SPEC-serve §1.5; kubectl ``pkg/cmd/util/factory_client_access.go`` and
cli-runtime's query-parameter verifier): a PATCH operation per kind carrying
``x-kubernetes-group-version-kind`` and a ``fieldValidation`` query parameter, so that it
leaves validation to the server. The PATCH request body lists the patch media types the
server accepts, strategic merge patch included, so kubectl computes its patches from
these schemas (``gvkSupportsPatchOpenAPIV3``): the component schemas are therefore real,
generated from :mod:`servicecidr.serve.schema` with the extensions kube-openapi writes
(``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``, ``x-kubernetes-map-type``,
``x-kubernetes-patch-strategy``, ``x-kubernetes-patch-merge-key``,
``x-kubernetes-group-version-kind``). Descriptions are left out.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, Final

from servicecidr.serve.discovery import KUBERNETES_VERSION, SERVED, ServedResource
from servicecidr.serve.patch import PATCH_TYPES
from servicecidr.serve.schema import (
    ATOMIC_MAPS,
    ATOMIC_STRUCTS,
    LIST_TYPES,
    PACKAGES,
    PATCH_TAGS,
    ROOTS,
    STRUCTS,
)

__all__ = ["document", "index", "served_group_versions"]

_META_PREFIX: Final = "io.k8s.apimachinery.pkg.apis.meta.v1"


def served_group_versions() -> list[str]:
    """Every served group version as an OpenAPI path key: ``api/v1``,
    ``apis/networking.k8s.io/v1``, ..."""
    out: list[str] = []
    for r in SERVED:
        key = f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}"
        if key not in out:
            out.append(key)
    return out


def index() -> dict[str, Any]:
    """``/openapi/v3``: each group version and where its document is (with its hash, so a
    client's cache stays valid until the document changes)."""
    return {
        "paths": {
            gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash={_hash(gv)}"}
            for gv in served_group_versions()
        }
    }


@functools.cache
def _hash(gv: str) -> str:
    doc = document(gv)
    assert doc is not None
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha512(text.encode()).hexdigest().upper()


# --------------------------------------------------------------------------- schemas


def _component(struct: str, group: str, version: str) -> str:
    """The component name kube-openapi gives a Go type."""
    name = struct.rpartition(".")[2]
    pkg = PACKAGES.get(struct, "core")
    if pkg == "meta":
        return f"{_META_PREFIX}.{name}"
    if pkg == "net":
        return f"io.k8s.api.networking.{version if group == 'networking.k8s.io' else 'v1'}.{name}"
    if pkg == "admissionregistration":
        return f"io.k8s.api.admissionregistration.v1.{name}"
    if pkg == "events":
        return f"io.k8s.api.events.v1.{name}"
    return f"io.k8s.api.core.v1.{name}"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_LEAVES: Final[dict[str, dict[str, Any]]] = {
    "string": {"type": "string"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "bool": {"type": "boolean"},
}


class _Builder:
    def __init__(self, group: str, version: str) -> None:
        self.group = group
        self.version = version
        self.schemas: dict[str, Any] = {}

    def type_schema(self, t: str) -> dict[str, Any]:
        if t in _LEAVES:
            return dict(_LEAVES[t])
        if t == "Time":
            self.schemas[f"{_META_PREFIX}.Time"] = {"type": "string", "format": "date-time"}
            return _ref(f"{_META_PREFIX}.Time")
        if t == "IntOrString":
            name = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
            self.schemas[name] = {
                "type": "string",
                "format": "int-or-string",
                "x-kubernetes-int-or-string": True,
            }
            return _ref(name)
        if t == "raw":
            self.schemas[f"{_META_PREFIX}.FieldsV1"] = {"type": "object"}
            return _ref(f"{_META_PREFIX}.FieldsV1")
        if t == "map[string]string":
            return {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
        if t.startswith("[]"):
            return {"type": "array", "items": self.type_schema(t[2:])}
        return _ref(self.struct(t))

    def struct(self, struct: str) -> str:
        name = _component(struct, self.group, self.version)
        if name in self.schemas:
            return name
        self.schemas[name] = {}  # placeholder against recursion
        props: dict[str, Any] = {}
        for field, t in STRUCTS[struct].items():
            schema = self.type_schema(t)
            if "$ref" in schema and not t.startswith("[]"):
                schema = {"allOf": [schema], "default": {}}
            strategies, merge_key = PATCH_TAGS.get((struct, field), (("",), ""))
            if t.startswith("[]"):
                kind, keys = LIST_TYPES.get((struct, field), ("atomic", ()))
                schema["x-kubernetes-list-type"] = kind
                if keys:
                    schema["x-kubernetes-list-map-keys"] = list(keys)
            if (struct, field) in ATOMIC_MAPS:
                schema["x-kubernetes-map-type"] = "atomic"
            if merge_key:
                schema["x-kubernetes-patch-merge-key"] = merge_key
            if strategies != ("",):
                schema["x-kubernetes-patch-strategy"] = ",".join(strategies)
            props[field] = schema
        out: dict[str, Any] = {"type": "object", "properties": props}
        if struct in ATOMIC_STRUCTS:
            out["x-kubernetes-map-type"] = "atomic"
        self.schemas[name] = out
        return name


# --------------------------------------------------------------------------- paths


def _param(
    name: str, where: str, *, required: bool = False, kind: str = "string"
) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "schema": {"type": kind}}
    if required:
        p["required"] = True
    if where == "path":
        p["schema"]["uniqueItems"] = True
    return p


_WRITE_PARAMS: Final = ("dryRun", "fieldManager", "fieldValidation")


def _op(
    r: ServedResource,
    action: str,
    op_id: str,
    schema_ref: str,
    *,
    body: tuple[str, ...] = (),
    params: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "tags": [r.group_version.replace("/", "_").replace(".", "")],
        "parameters": [_param(p, "query") for p in params],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(schema_ref)}},
            },
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": r.group,
            "version": r.version,
            "kind": r.kind,
        },
    }
    if action == "patch":
        op["parameters"].append(_param("force", "query", kind="boolean"))
    if body:
        op["requestBody"] = {
            "content": {
                ct: {
                    "schema": _ref(f"{_META_PREFIX}.Patch")
                    if action == "patch"
                    else _ref(schema_ref)
                }
                for ct in body
            },
            "required": True,
        }
    return op


def _paths(r: ServedResource, kind_ref: str, list_ref: str) -> dict[str, Any]:
    prefix = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    ns = "/namespaces/{namespace}" if r.namespaced else ""
    collection = f"{prefix}{ns}/{r.resource}"
    item = f"{collection}/{{name}}"
    base = r.kind + ("Namespaced" if r.namespaced else "")
    gv = r.group_version.replace("/", "").replace(".", "")
    path_params = [_param("name", "path", required=True)]
    ns_params = [_param("namespace", "path", required=True)] if r.namespaced else []
    json_types = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
    out: dict[str, Any] = {}
    coll: dict[str, Any] = {"parameters": ns_params}
    if "list" in r.verbs:
        coll["get"] = _op(
            r,
            "list",
            f"list{gv}{base}",
            list_ref,
            params=(
                "labelSelector",
                "fieldSelector",
                "limit",
                "continue",
                "resourceVersion",
                "resourceVersionMatch",
                "sendInitialEvents",
                "timeoutSeconds",
                "watch",
                "allowWatchBookmarks",
            ),
        )
    if "create" in r.verbs:
        coll["post"] = _op(
            r, "post", f"create{gv}{base}", kind_ref, body=json_types, params=_WRITE_PARAMS
        )
    if "deletecollection" in r.verbs:
        coll["delete"] = _op(
            r,
            "deletecollection",
            f"deletecollection{gv}{base}",
            f"{_META_PREFIX}.Status",
            params=("labelSelector", "fieldSelector"),
        )
    out[collection] = coll
    one: dict[str, Any] = {"parameters": path_params + ns_params}
    if "get" in r.verbs:
        one["get"] = _op(r, "get", f"read{gv}{base}", kind_ref)
    if "update" in r.verbs:
        one["put"] = _op(
            r, "put", f"replace{gv}{base}", kind_ref, body=json_types, params=_WRITE_PARAMS
        )
    if "patch" in r.verbs:
        one["patch"] = _op(
            r, "patch", f"patch{gv}{base}", kind_ref, body=PATCH_TYPES, params=_WRITE_PARAMS
        )
    if "delete" in r.verbs:
        one["delete"] = _op(
            r,
            "delete",
            f"delete{gv}{base}",
            f"{_META_PREFIX}.Status",
            params=("gracePeriodSeconds", "propagationPolicy", "dryRun"),
        )
    out[item] = one
    for sub, verbs in r.subresources:
        s: dict[str, Any] = {"parameters": path_params + ns_params}
        title = sub.capitalize()
        if "get" in verbs:
            s["get"] = _op(r, "get", f"read{gv}{base}{title}", kind_ref)
        if "update" in verbs:
            s["put"] = _op(
                r,
                "put",
                f"replace{gv}{base}{title}",
                kind_ref,
                body=json_types,
                params=_WRITE_PARAMS,
            )
        if "patch" in verbs:
            s["patch"] = _op(
                r,
                "patch",
                f"patch{gv}{base}{title}",
                kind_ref,
                body=PATCH_TYPES,
                params=_WRITE_PARAMS,
            )
        out[f"{item}/{sub}"] = s
    return out


def _meta_schemas(b: _Builder) -> None:
    b.schemas[f"{_META_PREFIX}.Patch"] = {"type": "object"}
    b.schemas[f"{_META_PREFIX}.ListMeta"] = {
        "type": "object",
        "properties": {
            "continue": {"type": "string"},
            "remainingItemCount": {"type": "integer", "format": "int64"},
            "resourceVersion": {"type": "string"},
            "selfLink": {"type": "string"},
        },
    }
    b.schemas[f"{_META_PREFIX}.Status"] = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "code": {"type": "integer", "format": "int32"},
            "details": {"type": "object"},
            "kind": {"type": "string"},
            "message": {"type": "string"},
            "metadata": {"allOf": [_ref(f"{_META_PREFIX}.ListMeta")], "default": {}},
            "reason": {"type": "string"},
            "status": {"type": "string"},
        },
        "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}],
    }


@functools.cache
def _document(gv: str) -> str | None:
    served = [
        r
        for r in SERVED
        if (f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}") == gv
    ]
    if not served:
        return None
    group, version = served[0].group, served[0].version
    b = _Builder(group, version)
    _meta_schemas(b)
    paths: dict[str, Any] = {}
    for r in served:
        api_version = r.group_version
        root = ROOTS.get((api_version, r.kind))
        if root is None:
            continue
        kind_ref = b.struct(root)
        b.schemas[kind_ref]["x-kubernetes-group-version-kind"] = [
            {"group": group, "kind": r.kind, "version": version}
        ]
        list_ref = f"{kind_ref}List"
        b.schemas[list_ref] = {
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"},
                "items": {"type": "array", "items": {"allOf": [_ref(kind_ref)], "default": {}}},
                "kind": {"type": "string"},
                "metadata": {"allOf": [_ref(f"{_META_PREFIX}.ListMeta")], "default": {}},
            },
            "x-kubernetes-group-version-kind": [
                {"group": group, "kind": f"{r.kind}List", "version": version}
            ],
        }
        paths.update(_paths(r, kind_ref, list_ref))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "components": {"schemas": dict(sorted(b.schemas.items()))},
    }
    return json.dumps(doc)


def document(gv: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of a group version (``api/v1``,
    ``apis/networking.k8s.io/v1beta1``), or None when it is not served."""
    text = _document(gv)
    return None if text is None else json.loads(text)
