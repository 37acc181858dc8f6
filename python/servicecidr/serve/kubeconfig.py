"""The kubeconfig a user points kubectl (or a client library) at.

One cluster, one user and one context, all named ``servicecidr``, the context's namespace
``default``. A plain-HTTP server on loopback has ``user: {}`` (no credentials); a TLS
server has its CA pinned (``certificate-authority-data``) and the bearer token. The file
is written atomically with mode 0600 (it may hold a token).
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

__all__ = ["NAME", "kubeconfig", "write_kubeconfig"]

NAME = "servicecidr"


def kubeconfig(
    url: str, *, ca_pem: bytes | None = None, token: str | None = None
) -> dict[str, Any]:
    """The kubeconfig document for a server at ``url``."""
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": NAME, "user": user}],
        "contexts": [
            {"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}
        ],
        "current-context": NAME,
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike[str], doc: dict[str, Any]) -> Path:
    """Write ``doc`` to ``path`` atomically (mode 0600); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(doc, f, default_flow_style=False, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
