"""The Rust allocation core of servicecidr (``rust/python`` over ``rust/core``).

One :class:`CidrAllocator` holds the allocation state of one Service CIDR exactly as
kube-apiserver's ``ipallocator`` would: usable addresses, KEP-3070 bands, random
dynamic allocation. Errors are the classes of :mod:`servicecidr.errors`:

* :class:`~servicecidr.errors.InvalidInputError` for a malformed IP, CIDR or snapshot
  (the message names the value and ends with Kubernetes' validation detail);
* :class:`~servicecidr.errors.RangeFullError` (``range is full``);
* :class:`~servicecidr.errors.AlreadyAllocatedError`
  (``provided IP is already allocated``; the instance also has an ``ip`` attribute);
* :class:`~servicecidr.errors.NotInRangeError`
  (``the provided IP (<ip>) is not in the valid range. The range of valid IPs is <cidr>``).
"""

from collections.abc import Callable, Iterable
from typing import Literal, final

__all__ = ["AllocatedIterator", "CidrAllocator", "parse_cidr", "parse_ip"]

_IPFamily = Literal["IPv4", "IPv6"]

@final
class CidrAllocator:
    """The allocation state of one Service CIDR.

    ``cidr`` is parsed strictly (non-canonical spellings are accepted, host bits,
    leading zeros and IPv4-mapped IPv6 are not); IPv6 prefixes shorter than /64 are
    refused as by ``NewIPAllocator``. ``seed`` fixes the random choices of
    :meth:`allocate_next` (any int, taken modulo 2**64); ``None`` seeds from OS entropy.
    Safe to share between threads.
    """

    def __new__(cls, cidr: str, *, seed: int | None = None) -> CidrAllocator: ...
    def allocate(self, ip: str) -> None:
        """Reserve ``ip`` (either band); NotInRangeError or AlreadyAllocatedError."""

    def allocate_next(self) -> str:
        """Reserve a free address: random start in the upper band, scan with wrap,
        then the lower band; RangeFullError when none is left."""

    def release(self, ip: str) -> bool:
        """Free ``ip``; False (no error) when it was free or outside the range."""

    def reseed(self, seed: int) -> None:
        """Restart the random sequence of ``allocate_next`` from ``seed`` (mod 2^64)."""

    def mark(self, ip: str) -> bool:
        """Reserve ``ip`` if it is a free usable address; never raises (a taken, foreign
        or malformed address is just not marked). Returns whether it was marked."""

    def unmark(self, ip: str) -> bool:
        """Free ``ip`` if it is allocated; never raises. Returns whether it was freed."""

    def has(self, ip: str) -> bool:
        """Whether ``ip`` is allocated."""

    def contains(self, ip: str) -> bool:
        """Whether ``ip`` is one of the usable addresses of the range."""

    def allocate_many(self, ips: Iterable[str]) -> None:
        """Reserve every address of ``ips`` or none; the error's note names the item."""

    def allocate_next_many(self, n: int) -> list[str]:
        """Reserve ``n`` addresses as ``n`` calls of :meth:`allocate_next` would, or
        none (RangeFullError) when fewer than ``n`` are free."""

    def release_many(self, ips: Iterable[str]) -> int:
        """Free every address of ``ips``; return how many were allocated."""

    @property
    def free(self) -> int:
        """Number of free usable addresses."""

    @property
    def used(self) -> int:
        """Number of allocated addresses."""

    @property
    def size(self) -> int:
        """Number of usable addresses (2**h - 2 for IPv4, 2**h - 1 for IPv6, at most
        2**64 - 1)."""

    @property
    def cidr(self) -> str:
        """The range, canonical."""

    @property
    def ip_family(self) -> _IPFamily:
        """``"IPv4"`` or ``"IPv6"``."""

    @property
    def range_offset(self) -> int:
        """KEP-3070 offset: how many of the first usable addresses form the static band."""

    def __len__(self) -> int: ...
    def __contains__(self, ip: object, /) -> bool:
        """``ip in allocator``: like :meth:`has`, but False instead of an error for
        anything that is not a valid IP string."""

    def __iter__(self) -> AllocatedIterator:
        """The addresses allocated when iteration begins, in address order."""

    def snapshot(self) -> bytes:
        """Versioned, checksummed bytes of the whole state, random generator included."""

    @classmethod
    def restore(cls, cidr: str, data: bytes) -> CidrAllocator:
        """Rebuild from :meth:`snapshot` bytes; InvalidInputError for another range or
        damaged data."""

    def __reduce__(self) -> tuple[Callable[[str, bytes], CidrAllocator], tuple[str, bytes]]: ...

@final
class AllocatedIterator:
    """Iterator returned by ``iter(CidrAllocator)``."""

    def __iter__(self) -> AllocatedIterator: ...
    def __next__(self) -> str: ...
    def __length_hint__(self) -> int: ...

def parse_ip(text: str) -> tuple[str, _IPFamily]:
    """Parse an IP address strictly; return ``(canonical text, family)``."""

def parse_cidr(text: str) -> tuple[str, _IPFamily]:
    """Parse a CIDR strictly; return ``(canonical text, family)``."""
