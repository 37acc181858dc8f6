"""How kube-apiserver words what a ValidatingAdmissionPolicy decides.

* A denial (``dispatcher.go``): ``ValidatingAdmissionPolicy '<p>' with binding '<b>'
  denied request: <message>`` (without ``with binding`` for a policy configuration
  error), wrapped by ``admission.NewForbidden`` as
  ``<resource>[.<group>] "<name>" is forbidden: ...``, with the decision's reason
  (``Invalid`` when it has none) and that reason's HTTP code; the message is also the
  one ``details.causes`` entry.
* The audit annotation ``validation.policy.admission.k8s.io/validation_failure``: a JSON
  list of one ``{"message","policy","binding","expressionIndex","validationActions"}``.
"""

from __future__ import annotations

from typing import ClassVar

from servicecidr.admission.matching import Request
from servicecidr.api.field_errors import go_json, go_quote
from servicecidr.errors import ApiError, ForbiddenError, InvalidError

__all__ = [
    "RequestEntityTooLargeError",
    "UnauthorizedError",
    "denial_error",
    "validation_failure_annotation",
]


class UnauthorizedError(ApiError):
    """``Unauthorized`` (401), a policy validation's ``reason: Unauthorized``."""

    reason: ClassVar[str] = "Unauthorized"
    code: ClassVar[int] = 401


class RequestEntityTooLargeError(ApiError):
    """``RequestEntityTooLarge`` (413), a policy validation's ``reason``."""

    reason: ClassVar[str] = "RequestEntityTooLarge"
    code: ClassVar[int] = 413


_BY_REASON: dict[str, type[ApiError]] = {
    "Invalid": InvalidError,
    "Forbidden": ForbiddenError,
    "Unauthorized": UnauthorizedError,
    "RequestEntityTooLarge": RequestEntityTooLargeError,
}


class _OtherReasonError(InvalidError):
    """A reason kube-apiserver has no code for: ``reasonToCode`` answers 422."""

    def __init__(self, reason: str, message: str, *, details: dict[str, object]) -> None:
        super().__init__(message, details=details)
        self.reason = reason  # type: ignore[misc]


def denial_error(
    req: Request, policy: str, binding: str | None, message: str, reason: str | None
) -> ApiError:
    """The error a request gets for its first deny decision."""
    if binding is not None:
        text = (
            f"ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: "
            f"{message}"
        )
    else:
        text = f"ValidatingAdmissionPolicy '{policy}' denied request: {message}"
    resource = f"{req.resource}.{req.group}" if req.group else req.resource
    name = req.name or "Unknown"
    full = f"{resource} {go_quote(name)} is forbidden: {text}"
    details: dict[str, object] = {
        "name": name,
        "group": req.group,
        "kind": req.resource,
        "causes": [{"message": text}],
    }
    reason = reason or "Invalid"
    cls = _BY_REASON.get(reason)
    if cls is None:
        return _OtherReasonError(reason, full, details=details)
    return cls(full, details=details)


def validation_failure_annotation(
    message: str, policy: str, binding: str, index: int, actions: tuple[str, ...]
) -> str:
    """The value of ``validation.policy.admission.k8s.io/validation_failure``."""
    return go_json(
        [
            {
                "message": message,
                "policy": policy,
                "binding": binding,
                "expressionIndex": index,
                "validationActions": list(actions),
            }
        ]
    )
