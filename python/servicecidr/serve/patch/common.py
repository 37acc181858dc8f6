"""What every patch kind shares: the media types, kube-apiserver's limits and the
errors it words patches with."""

from __future__ import annotations

from typing import Final

from servicecidr.errors import ApiError, BadRequestError, InvalidError

JSON_PATCH: Final = "application/json-patch+json"
MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
#: The patch media types of a built-in resource, in the order kube-apiserver lists them.
PATCH_TYPES: Final = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

MAX_JSON_PATCH_OPERATIONS: Final = 10000  # handlers/patch.go maxJSONPatchOperations
MAX_JSON_PATCH_COPY_BYTES: Final = 3 * 1024 * 1024  # server/config.go JSONPatchMaxCopyBytes

GENERIC_422: Final = "the server rejected our request due to an error in our request"


def bad_request(message: str) -> ApiError:
    """A 400 with ``message``."""
    return BadRequestError(message)


def unprocessable() -> ApiError:
    """A 422 with kube-apiserver's generic text."""
    # NewGenericServerResponse(422, ...): reason Invalid, a generic message, empty details.
    return InvalidError(GENERIC_422)


def plain_error(message: str) -> ApiError:
    """A plain Go error reaching ErrorToAPIStatus: 500 with StatusReasonUnknown."""
    return ApiError(message)
