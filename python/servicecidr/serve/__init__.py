"""The Kubernetes API over the engine (``servicecidr serve``).

The server (needs the ``serve`` extra, aiohttp; imported on first use):

* :class:`Server` (:mod:`.server`): binds, writes a kubeconfig, runs the controllers, and
  serves :mod:`.app` (authentication, routing, limits, discovery) over :mod:`.api` (the
  REST verbs) and :mod:`.watch` (streamed watches fed by :mod:`.hub`, the one reader of
  the change feed); :mod:`.routes`, :mod:`.options`, :mod:`.negotiate` and
  :mod:`.convert` read requests and shape responses; :mod:`.tls` and :mod:`.kubeconfig`
  make the credentials and the file a client reads.

The building blocks, each a module with one job and no engine state:

* :mod:`.protobuf`: Kubernetes protobuf request bodies as JSON;
* :mod:`.patch`: strategic merge patch, JSON merge patch, JSON patch;
* :mod:`.apply`: server-side apply and managedFields (on :mod:`.fieldpath`, field sets
  and FieldsV1, and :mod:`.typed`, the schema-aware merge, compare and remove);
* :mod:`.schema`: the served kinds' Go types, patch tags and list/map/struct markers;
* :mod:`.discovery` and :mod:`.openapi`: discovery documents, ``/version``, OpenAPI v3;
* :mod:`.tables`: server-side ``Table`` responses;
* :mod:`.selectors`: label and field selectors of list and watch requests;
* :mod:`.status`: ``metav1.Status`` bodies for errors;
* :mod:`.gojson` and :mod:`.gosort`: Go's view of JSON values (``==``, ``%v``) and its
  stable sort, where kube-apiserver's output depends on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servicecidr.serve.server import Server

__all__ = ["Server"]


def __getattr__(name: str) -> Any:
    # The server needs aiohttp (the `serve` extra); the building blocks do not.
    if name == "Server":
        from servicecidr.serve.server import Server

        return Server
    raise AttributeError(f"module 'servicecidr.serve' has no attribute {name!r}")
