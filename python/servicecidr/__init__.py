"""servicecidr: Kubernetes Service ClusterIP allocation across ServiceCIDRs, outside a cluster.

The main entry point is :class:`Cluster`; the allocator core is :class:`CidrAllocator`.
"""

from servicecidr._core import CidrAllocator
from servicecidr.clock import SimulatedClock, WallClock
from servicecidr.cluster import Cluster
from servicecidr.errors import (
    AllocationError,
    AlreadyAllocatedError,
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    ConflictError,
    ExpiredError,
    ForbiddenError,
    InternalError,
    InvalidError,
    InvalidInputError,
    LogCorruptError,
    MismatchedNetworkError,
    NotFoundError,
    NotInRangeError,
    NotReadyError,
    RangeFullError,
    ReadOnlyError,
    RequestEntityTooLargeError,
    ServiceCIDRError,
    SnapshotError,
    StateError,
    StateLockedError,
    TornTailError,
)
from servicecidr.journal.records import Entry, Write
from servicecidr.version import __version__ as __version__

#: The name journal entries had before 0.2 (they are not Kubernetes Event objects).
Event = Entry

__all__ = [
    "AllocationError",
    "AlreadyAllocatedError",
    "AlreadyExistsError",
    "ApiError",
    "BadRequestError",
    "CidrAllocator",
    "Cluster",
    "ConflictError",
    "Entry",
    "Event",
    "ExpiredError",
    "ForbiddenError",
    "InternalError",
    "InvalidError",
    "InvalidInputError",
    "LogCorruptError",
    "MismatchedNetworkError",
    "NotFoundError",
    "NotInRangeError",
    "NotReadyError",
    "RangeFullError",
    "ReadOnlyError",
    "RequestEntityTooLargeError",
    "ServiceCIDRError",
    "SimulatedClock",
    "SnapshotError",
    "StateError",
    "StateLockedError",
    "TornTailError",
    "WallClock",
    "Write",
]
