"""``metav1.Status`` bodies, as kube-apiserver writes them for errors.

:func:`status_body` turns any :class:`~servicecidr.errors.ApiError` into the Status a
client receives, with the shapes of apimachinery ``pkg/api/errors/errors.go``:

* ``details`` is present exactly when the Go constructor sets it (``NewNotFound``,
  ``NewAlreadyExists``, ``NewConflict``, ``NewApplyConflict``, ``NewInvalid``,
  ``NewForbidden``, ``NewMethodNotSupported``, ``NewInternalError``, the server timeouts
  and ``NewGenericServerResponse``), possibly as ``{}``; its empty fields are left out
  (``omitempty``: no ``"group": ""`` for the core group);
* an ``InternalError`` carries its cause: ``details.causes[0].message`` is the message
  without the ``Internal error occurred: `` prefix;
* ``ApiError`` itself is a plain Go error reaching ``ErrorToAPIStatus``: 500 with no
  reason (``StatusReasonUnknown`` is the empty string);
* keys come in ``metav1.Status`` field order.

The module also builds the errors the HTTP layer raises before any handler runs
(authentication, routing, negotiation, body limits, watch expiry), with kube-apiserver's
texts (apiserver ``endpoints/filters/authentication.go``, ``server/handler.go``
``serviceErrorHandler``, ``handlers/negotiation/errors.go``, ``handlers/rest.go``
``limitedReadBody``, ``util/notfoundhandler``).
"""

from __future__ import annotations

from typing import Any, Final

from servicecidr.errors import (
    ApiError,
    MethodNotAllowedError,
    NotAcceptableError,
    NotFoundError,
    RequestEntityTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)

__all__ = [
    "MAX_REQUEST_BODY_BYTES",
    "NOT_FOUND_TEXT",
    "expired",
    "method_not_allowed",
    "method_not_supported",
    "not_acceptable",
    "request_entity_too_large",
    "resource_not_found",
    "status_body",
    "success",
    "unauthorized",
    "unsupported_media_type",
]

#: kube-apiserver's default ``--max-request-body-bytes`` (server/config.go).
MAX_REQUEST_BODY_BYTES: Final = 3 * 1024 * 1024

#: ``http.NotFound``: what a path outside every API group gets (text/plain).
NOT_FOUND_TEXT: Final = "404 page not found\n"

# StatusReasons whose Go constructors always set Details (errors.go).
_DETAILED: Final = frozenset(
    {
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Invalid",
        "Forbidden",
        "MethodNotAllowed",
        "InternalError",
        "ServerTimeout",
        "Timeout",
    }
)
_DETAIL_ORDER: Final = ("name", "group", "kind", "uid", "causes", "retryAfterSeconds")
_CAUSE_ORDER: Final = ("reason", "message", "field")
_INTERNAL_PREFIX: Final = "Internal error occurred: "


def _clean(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """Keys in Go field order, empty values left out (``omitempty``)."""
    out = {k: d[k] for k in order if d.get(k) not in (None, "", 0, [])}
    out.update({k: v for k, v in d.items() if k not in order and v not in (None, "", 0, [])})
    return out


def status_body(err: ApiError) -> dict[str, Any]:
    """The ``metav1.Status`` JSON of an error (see the module docstring)."""
    details: dict[str, Any] | None = dict(err.details) if err.details else None
    reason = "" if err.reason == "Unknown" else err.reason
    if reason == "InternalError":
        details = details or {}
        if not details.get("causes"):
            cause = err.message.removeprefix(_INTERNAL_PREFIX)
            details["causes"] = [{"message": cause}]
    if details is not None:
        if isinstance(details.get("causes"), list):
            details["causes"] = [
                _clean(c, _CAUSE_ORDER) if isinstance(c, dict) else c for c in details["causes"]
            ]
        details = _clean(details, _DETAIL_ORDER)
    elif reason in _DETAILED:
        details = {}
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
    }
    if err.message:
        body["message"] = err.message
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = err.code
    return body


def success(details: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"status": "Success"}``, what a delete answers when the object is gone at once
    (``details``: name, group, kind, uid of the deleted object)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
    }
    if details:
        body["details"] = _clean(details, _DETAIL_ORDER)
    return body


# --------------------------------------------------------------------------- HTTP errors


def unauthorized() -> UnauthorizedError:
    """401 for a request without valid credentials (``NewUnauthorized("Unauthorized")``)."""
    return UnauthorizedError("Unauthorized")


def resource_not_found() -> NotFoundError:
    """404 for a path inside a served group version that names no resource (go-restful's
    404 through ``NewGenericServerResponse``)."""
    return NotFoundError("the server could not find the requested resource")


def method_not_allowed() -> MethodNotAllowedError:
    """405 for a method a resource path does not route (go-restful's 405 through
    ``NewGenericServerResponse``)."""
    return MethodNotAllowedError("the server does not allow this method on the requested resource")


def method_not_supported(
    qualified_resource: str, group: str, resource: str, action: str
) -> MethodNotAllowedError:
    """405 ``NewMethodNotSupported``: ``deletecollection is not supported on resources of
    kind "events.events.k8s.io"``."""
    return MethodNotAllowedError(
        f'{action} is not supported on resources of kind "{qualified_resource}"',
        details={"group": group, "kind": resource},
    )


def not_acceptable(accepted: list[str] | tuple[str, ...]) -> NotAcceptableError:
    """406: no type in ``Accept`` can be served."""
    return NotAcceptableError("only the following media types are accepted: " + ", ".join(accepted))


def unsupported_media_type(accepted: list[str] | tuple[str, ...]) -> UnsupportedMediaTypeError:
    """415: the body's ``Content-Type`` cannot be decoded."""
    return UnsupportedMediaTypeError(
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted)
    )


def request_entity_too_large(limit: int = MAX_REQUEST_BODY_BYTES) -> RequestEntityTooLargeError:
    """413 for a body over the limit (``limitedReadBody``)."""
    return RequestEntityTooLargeError(f"Request entity too large: limit is {limit}")


def expired(message: str) -> dict[str, Any]:
    """The 410 ``Expired`` Status (``NewResourceExpired``) a watch or list gets for a
    resourceVersion older than the history held, e.g. ``too old resource version: 5
    (120)``; as a body, to send inline in a watch stream as an ``ERROR`` event."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Expired",
        "code": 410,
    }
