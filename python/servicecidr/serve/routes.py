"""Request paths, as kube-apiserver's mux and go-restful routes read them.

:func:`route` turns a URL path into what it names:

* :class:`Discovery`: ``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>[/<version>]``,
  ``/version``, ``/openapi/v3[/...]``, the health checks;
* :class:`ResourcePath`: a served resource of a served group version, with its namespace,
  name and subresource, also under the legacy ``/watch/`` prefix;
* :class:`NoResource`: a path inside a served group version that names no resource
  (404 as a ``Status``: "the server could not find the requested resource");
* None: anything else (404 ``404 page not found`` as plain text, as kube-apiserver's
  not-found handler).

Paths follow kube-apiserver's installer (apiserver ``endpoints/installer.go``): a
cluster-scoped resource is ``<root>/<resource>[/<name>[/<sub>]]``; a namespaced one is
``<root>/namespaces/<ns>/<resource>[/<name>[/<sub>]]``, or ``<root>/<resource>`` across
every namespace (list and watch). ``/api/v1/namespaces/<name>[/status]`` is the Namespace
itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from servicecidr.serve.discovery import SERVED, ServedResource, find_resource

__all__ = ["Discovery", "NoResource", "ResourcePath", "route"]


@dataclass(frozen=True, slots=True)
class Discovery:
    """A discovery, version, OpenAPI or health document.

    ``what`` is one of ``api``, ``apis``, ``group``, ``group-version``, ``version``,
    ``openapi-index``, ``openapi``, ``openapi-v2``, ``health``; ``group``/``version``
    name the group version asked for (``openapi``: ``path`` is the document's key).
    """

    what: str
    group: str = ""
    version: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class ResourcePath:
    """A resource path: the resource, and which objects of it."""

    served: ServedResource
    namespace: str | None  # None: cluster-scoped, or every namespace
    name: str | None  # None: the collection
    subresource: str | None = None
    watch_prefix: bool = False  # the legacy /watch/ form: always a watch


@dataclass(frozen=True, slots=True)
class NoResource:
    """A path inside a served group version naming nothing served."""


_HEALTH: Final = frozenset({"/healthz", "/livez", "/readyz"})


def _served_group_versions() -> set[tuple[str, str]]:
    return {(r.group, r.version) for r in SERVED}


_GROUP_VERSIONS: Final = _served_group_versions()
_GROUPS: Final = frozenset(g for g, _ in _GROUP_VERSIONS if g)


def route(path: str) -> Discovery | ResourcePath | NoResource | None:
    """What a URL path names (see the module docstring)."""
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    if path in _HEALTH or path.startswith(("/healthz/", "/livez/", "/readyz/")):
        return Discovery("health")
    if path == "/version":
        return Discovery("version")
    if path == "/openapi/v3":
        return Discovery("openapi-index")
    if path.startswith("/openapi/v3/"):
        return Discovery("openapi", path=path[len("/openapi/v3/") :])
    if path == "/openapi/v2":
        return Discovery("openapi-v2")
    parts = path.split("/")[1:]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        if len(parts) == 1:
            return Discovery("api")
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) == 1:
            return Discovery("apis")
        group = parts[1]
        if group not in _GROUPS:
            return None
        if len(parts) == 2:
            return Discovery("group", group=group)
        version, rest = parts[2], parts[3:]
    if (group, version) not in _GROUP_VERSIONS:
        return None
    if not rest:
        return Discovery("group-version", group=group, version=version)
    return _resource(group, version, rest)


def _resource(group: str, version: str, rest: list[str]) -> ResourcePath | NoResource:
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
        if not rest:
            return NoResource()
    if any(not p for p in rest):
        return NoResource()
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize") and group == "")
    ):
        # /namespaces/<ns>/<resource>[/<name>[/<sub>]]
        ns, tail = rest[1], rest[2:]
        served = find_resource(group, version, tail[0])
        if served is None or not served.namespaced or len(tail) > 3:
            return NoResource()
        name = tail[1] if len(tail) > 1 else None
        sub = tail[2] if len(tail) > 2 else None
        return _checked(ResourcePath(served, ns, name, sub, watch))
    served = find_resource(group, version, rest[0])
    if served is None or len(rest) > 3:
        return NoResource()
    if served.namespaced:
        # every namespace: list and watch only
        if len(rest) > 1:
            return NoResource()
        return ResourcePath(served, None, None, None, watch)
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return _checked(ResourcePath(served, None, name, sub, watch))


def _checked(p: ResourcePath) -> ResourcePath | NoResource:
    if p.subresource is not None and (
        p.watch_prefix or p.subresource not in dict(p.served.subresources)
    ):
        return NoResource()
    return p
