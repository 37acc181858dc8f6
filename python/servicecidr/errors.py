"""The one exception tree of servicecidr.

Every error the package raises is defined here, including the ones raised from the Rust
core (the extension imports these classes rather than defining its own), so that callers
catch one family of exceptions whatever layer failed.

Two branches matter to users:

* :class:`AllocationError` and its subclasses are the allocator's own errors, with the
  exact texts of ``pkg/registry/core/service/ipallocator/interfaces.go``.
* :class:`ApiError` and its subclasses are what kube-apiserver returns to a client: each
  carries the ``StatusReason`` (``.reason``), the HTTP code (``.code``) and the message a
  client sees (``.message``).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

__all__ = [
    "AllocationError",
    "AlreadyAllocatedError",
    "AlreadyExistsError",
    "ApiError",
    "BadRequestError",
    "ConflictError",
    "ExpiredError",
    "ForbiddenError",
    "InternalError",
    "InvalidError",
    "InvalidInputError",
    "LogCorruptError",
    "MethodNotAllowedError",
    "MismatchedNetworkError",
    "NotAcceptableError",
    "NotFoundError",
    "NotInRangeError",
    "NotReadyError",
    "RangeFullError",
    "ReadOnlyError",
    "RequestEntityTooLargeError",
    "ServiceCIDRError",
    "SnapshotError",
    "StateError",
    "StateLockedError",
    "TimeoutExceededError",
    "TornTailError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "api_error_for_reason",
]


class ServiceCIDRError(Exception):
    """Base class of every error raised by servicecidr."""


class InvalidInputError(ServiceCIDRError, ValueError):
    """A value handed to the engine is malformed (an IP, a CIDR, a snapshot, a file).

    The message names the value and what is wrong with it.
    """


# --------------------------------------------------------------------------------------
# State directory errors (the durable log: servicecidr.journal.segments, servicecidr.journal.state)
# --------------------------------------------------------------------------------------


class StateError(InvalidInputError):
    """A state directory cannot be used as it is (not one, damaged, compacted away).

    The message names the file and, for damage, the byte offset, and says what to do.
    """


class LogCorruptError(StateError):
    """A log segment is damaged before its end: never skipped, never repaired silently.

    Attributes: ``path`` (the segment) and ``offset`` (where the damage starts).
    """

    def __init__(self, message: str, path: os.PathLike[str] | str, offset: int) -> None:
        super().__init__(message)
        self.path = str(path)
        self.offset = offset


class TornTailError(LogCorruptError):
    """The last segment ends in a partial record (a crash mid-write).

    Opening with ``repair=True`` (or ``servicecidr log repair``) keeps a copy of the bad
    bytes in ``<segment>.torn-<offset>`` and truncates the segment at ``offset``.
    """


class StateLockedError(ServiceCIDRError):
    """Another process has the state directory open for writing (or reading, for a
    writer): the lock file is held."""


class ReadOnlyError(ServiceCIDRError):
    """A mutating call on a Cluster opened read-only, as of a point in time, or closed."""


class SnapshotError(StateError):
    """A snapshot file is damaged or of another state; opening falls back to an older one
    or to a full replay, and says so."""


# --------------------------------------------------------------------------------------
# Allocator errors (ipallocator/interfaces.go)
# --------------------------------------------------------------------------------------


class AllocationError(ServiceCIDRError):
    """An allocator refused a request; the message is Kubernetes' own text."""


class RangeFullError(AllocationError):
    """No free address is left (``range is full``)."""

    def __init__(self, message: str = "range is full") -> None:
        super().__init__(message)


class AlreadyAllocatedError(AllocationError):
    """The requested address is held already (``provided IP is already allocated``)."""

    def __init__(self, message: str = "provided IP is already allocated") -> None:
        super().__init__(message)


class MismatchedNetworkError(AllocationError):
    """No usable range contains the address
    (``the provided network does not match the current range``)."""

    def __init__(
        self, message: str = "the provided network does not match the current range"
    ) -> None:
        super().__init__(message)


class NotReadyError(AllocationError):
    """The allocator cannot serve requests yet (``allocator not ready``)."""

    def __init__(self, message: str = "allocator not ready") -> None:
        super().__init__(message)


class NotInRangeError(AllocationError):
    """The address lies outside the allocator's usable addresses.

    Message: ``the provided IP (<ip>) is not in the valid range. The range of valid IPs
    is <cidr>``.
    """

    def __init__(self, ip: str, valid_range: str) -> None:
        self.ip = ip
        self.valid_range = valid_range
        super().__init__(
            f"the provided IP ({ip}) is not in the valid range. "
            f"The range of valid IPs is {valid_range}"
        )


# --------------------------------------------------------------------------------------
# API errors (what kube-apiserver returns: metav1.Status)
# --------------------------------------------------------------------------------------


class ApiError(ServiceCIDRError):
    """An error as kube-apiserver returns it.

    Attributes:
        reason: the ``metav1.StatusReason`` (``Invalid``, ``NotFound``, ...).
        code: the HTTP status code.
        message: the message a client sees, exactly as kube-apiserver words it.
        details: optional structured details (``causes``, ``name``, ``kind``, ...).
    """

    reason: ClassVar[str] = "Unknown"
    code: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def status(self) -> dict[str, Any]:
        """The error as a ``metav1.Status`` object."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadRequestError(ApiError):
    """``BadRequest`` (400): the request itself is malformed."""

    reason = "BadRequest"
    code = 400


class UnauthorizedError(ApiError):
    """``Unauthorized`` (401): the request carries no valid credentials (``Unauthorized``)."""

    reason = "Unauthorized"
    code = 401


class ForbiddenError(ApiError):
    """``Forbidden`` (403), e.g. a ValidatingAdmissionPolicy denial."""

    reason = "Forbidden"
    code = 403


class NotFoundError(ApiError):
    """``NotFound`` (404)."""

    reason = "NotFound"
    code = 404


class MethodNotAllowedError(ApiError):
    """``MethodNotAllowed`` (405)."""

    reason = "MethodNotAllowed"
    code = 405


class NotAcceptableError(ApiError):
    """``NotAcceptable`` (406): no media type in ``Accept`` can be served
    (``only the following media types are accepted: ...``)."""

    reason = "NotAcceptable"
    code = 406


class UnsupportedMediaTypeError(ApiError):
    """``UnsupportedMediaType`` (415): the body's ``Content-Type`` cannot be decoded (``the
    body of the request was in an unknown format - accepted media types include: ...``)."""

    reason = "UnsupportedMediaType"
    code = 415


class AlreadyExistsError(ApiError):
    """``AlreadyExists`` (409)."""

    reason = "AlreadyExists"
    code = 409


class ConflictError(ApiError):
    """``Conflict`` (409), e.g. a stale resourceVersion."""

    reason = "Conflict"
    code = 409


class RequestEntityTooLargeError(ApiError):
    """``RequestEntityTooLarge`` (413): the body is over kube-apiserver's request limit
    (``Request entity too large: limit is 3145728``)."""

    reason = "RequestEntityTooLarge"
    code = 413


class InvalidError(ApiError):
    """``Invalid`` (422): validation failed; ``details["causes"]`` lists the field errors."""

    reason = "Invalid"
    code = 422


class ExpiredError(ApiError):
    """``Expired`` (410 Gone): a watch or list asked for a resourceVersion older than the
    change history still held (``too old resource version: 5 (120)``)."""

    reason = "Expired"
    code = 410


class TimeoutExceededError(ApiError):
    """``Timeout`` (504): a request could not be served in time (``Timeout: request did
    not complete within requested timeout``), or asked for a resourceVersion the server
    has not reached (``Timeout: Too large resource version: 9, current: 5``)."""

    reason = "Timeout"
    code = 504


class InternalError(ApiError):
    """``InternalError`` (500); the message starts with ``Internal error occurred:``."""

    reason = "InternalError"
    code = 500


_BY_REASON: dict[str, type[ApiError]] = {
    cls.reason: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        NotAcceptableError,
        UnsupportedMediaTypeError,
        AlreadyExistsError,
        ConflictError,
        RequestEntityTooLargeError,
        InvalidError,
        ExpiredError,
        TimeoutExceededError,
        InternalError,
    )
}


def api_error_for_reason(reason: str) -> type[ApiError]:
    """The ApiError subclass for a StatusReason (``ApiError`` itself when unknown)."""
    return _BY_REASON.get(reason, ApiError)
