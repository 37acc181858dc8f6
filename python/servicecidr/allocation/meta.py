"""The MetaAllocator: one CidrAllocator per distinct prefix, shared by every ServiceCIDR naming it.

Mirrors ``pkg/registry/core/service/ipallocator/cidrallocator.go``:

* allocators exist only for the families the apiserver is configured with;
* an allocator is *ready* when at least one ServiceCIDR naming its prefix is usable
  (Ready=True or no Ready condition at all, and not being deleted);
* dynamic allocation tries the ready allocators of the family in an unspecified order
  (Go map order; here a seeded shuffle) and the first that has room wins;
* a specific address goes to any ready allocator whose prefix contains it;
* overlapping prefixes never hand out an address twice, because every allocator is
  marked from the one set of IPAddress objects (Kubernetes consults the IPAddress store):
  each allocator is attached to the :class:`~servicecidr.store.Store`, whose apply marks
  and unmarks it as IPAddress objects come and go.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

from servicecidr._core import CidrAllocator, parse_cidr
from servicecidr.api.conditions import ready_state, service_cidr_cidrs
from servicecidr.errors import (
    InvalidInputError,
    MismatchedNetworkError,
    RangeFullError,
)
from servicecidr.store import Store, decode_object

__all__ = ["MetaAllocator", "family_of", "ready_state"]


def family_of(ip: str) -> str:
    """``IPv6`` when the text has a colon, else ``IPv4`` (callers pass validated IPs)."""
    return "IPv6" if ":" in ip else "IPv4"


def _contains(alloc: CidrAllocator, ip: str) -> bool:
    # IPAddress names written with a raw `store` may be garbage; they never match a range.
    try:
        return alloc.contains(ip)
    except InvalidInputError:
        return False


def _seed_for(seed: int, cidr: str) -> int:
    # Derived, not drawn from a shared RNG: replay creates allocators in apply(), and must
    # not disturb the random stream the live path uses for decisions.
    h = hashlib.blake2b(f"{seed}/{cidr}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


class MetaAllocator:
    """Allocation across every ServiceCIDR of the cluster, per IP family."""

    def __init__(self, families: Iterable[str], seed: int, store: Store) -> None:
        self.families: tuple[str, ...] = tuple(families)
        self._seed = seed
        self._store = store
        # prefix -> allocator (None: the prefix can never allocate, e.g. IPv6 shorter than /64
        # or a family the apiserver is not configured for)
        self._allocs: dict[str, CidrAllocator | None] = {}
        self._family: dict[str, str] = {}
        # prefix -> {ServiceCIDR name: usable}
        self._refs: dict[str, dict[str, bool]] = {}
        # ServiceCIDR name -> its canonical prefixes
        self._by_name: dict[str, tuple[str, ...]] = {}
        self._ready_cache: dict[str, list[CidrAllocator]] | None = None
        #: Changes whenever the ready allocators (or their order) may have changed, so
        #: that a reader of :meth:`ready` knows when to read again.
        self.generation = 0

    # ---------------------------------------------------------------- ServiceCIDR changes

    def sync_service_cidr(
        self, name: str, cidrs: Iterable[str] | None, usable: bool, *, attach: bool = True
    ) -> bool:
        """Record the state of a ServiceCIDR (``cidrs=None``: it is gone). Returns whether
        its set of prefixes changed (it appeared, went, or its CIDRs changed).

        A new prefix gets an allocator attached to the store (``attach=False``: left
        detached and unmarked, for :meth:`restore_allocators` to fill)."""
        new = tuple(self._canonical(c) for c in cidrs) if cidrs is not None else ()
        new = tuple(c for c in new if c)
        before = self._by_name.get(name)
        changed = before != (new if cidrs is not None else None)
        for prefix in self._by_name.get(name, ()):
            if prefix not in new:
                refs = self._refs.get(prefix)
                if refs is not None:
                    refs.pop(name, None)
                    if not refs:
                        del self._refs[prefix]
                        gone = self._allocs.pop(prefix, None)
                        if gone is not None:
                            self._store.detach_allocator(gone)
                        self._family.pop(prefix, None)
        if cidrs is None:
            self._by_name.pop(name, None)
        else:
            self._by_name[name] = new
            for prefix in new:
                self._refs.setdefault(prefix, {})[name] = usable
                if prefix not in self._allocs:
                    self._allocs[prefix] = self._new_allocator(prefix, attach=attach)
        self._ready_cache = None
        self.generation += 1
        return changed

    def _canonical(self, cidr: str) -> str:
        try:
            canonical, family = parse_cidr(cidr)
        except InvalidInputError:
            return ""  # stored by a raw `store` write; such a prefix never allocates
        self._family[canonical] = family
        return canonical

    def sync_from_store(self, name: str, *, attach: bool = True) -> bool:
        """:meth:`sync_service_cidr` from the stored ServiceCIDR ``name`` (absent: gone)."""
        blob = self._store.get("ServiceCIDR", name)
        if blob is None:
            return self.sync_service_cidr(name, None, False)
        obj = decode_object(blob)
        return self.sync_service_cidr(
            name,
            service_cidr_cidrs(name, obj),
            ready_state(obj),
            attach=attach,
        )

    def _new_allocator(self, prefix: str, *, attach: bool = True) -> CidrAllocator | None:
        if self._family.get(prefix) not in self.families:
            return None
        try:
            alloc = CidrAllocator(prefix, seed=_seed_for(self._seed, prefix))
        except InvalidInputError:
            return None  # "shortest allowed prefix length for service CIDR is 64"
        if attach:
            # marked from the IPAddress objects stored now, and by every apply after
            self._store.attach_allocator(alloc)
        return alloc

    # ---------------------------------------------------------------- allocation

    def _ready(self) -> dict[str, list[CidrAllocator]]:
        if self._ready_cache is None:
            ready: dict[str, list[CidrAllocator]] = {f: [] for f in self.families}
            for prefix in sorted(self._allocs):
                alloc = self._allocs[prefix]
                if alloc is not None and any(self._refs[prefix].values()):
                    ready[self._family[prefix]].append(alloc)
            self._ready_cache = ready
        return self._ready_cache

    def ready(self, family: str) -> list[CidrAllocator]:
        """The ready allocators of a family, in the order dynamic allocation shuffles
        them from (a new list)."""
        return list(self._ready().get(family, ()))

    def allocate_next(self, family: str, rng: random.Random) -> tuple[str, CidrAllocator]:
        """Dynamic allocation: the first ready allocator (in random order) with room wins.

        Returns the address and the allocator that marked it (for rollback).
        Raises RangeFullError when none has room.
        """
        ready = self._ready().get(family, [])
        if len(ready) > 1:
            ready = ready[:]
            rng.shuffle(ready)
        for alloc in ready:
            try:
                return alloc.allocate_next(), alloc
            except RangeFullError:
                continue
        raise RangeFullError()

    def allocate(self, ip: str) -> CidrAllocator:
        """Specific allocation through any ready allocator containing ``ip``.

        Raises MismatchedNetworkError when no ready allocator contains it, and
        AlreadyAllocatedError when an IPAddress already holds it.
        """
        for alloc in self._ready().get(family_of(ip), []):
            if alloc.contains(ip):
                alloc.allocate(ip)
                return alloc
        raise MismatchedNetworkError()

    def check(self, ip: str) -> None:
        """What a dry-run specific allocation checks: some ready allocator contains ``ip``.

        Only the range: Kubernetes' ipallocator ``allocateService`` returns right after
        its range check when ``dryRun`` is set, without looking whether an IPAddress holds
        the address (a real create then fails with ``provided IP is already allocated``)."""
        for alloc in self._ready().get(family_of(ip), []):
            if alloc.contains(ip):
                return
        raise MismatchedNetworkError()

    def dry_run_next(self, family: str, rng: random.Random) -> str:
        """A dry-run dynamic allocation returns a ready range's network address unchecked."""
        ready = self._ready().get(family, [])
        if not ready:
            raise RangeFullError()
        alloc = ready[rng.randrange(len(ready))] if len(ready) > 1 else ready[0]
        return alloc.cidr.split("/")[0]

    def can_release(self, ip: str) -> bool:
        """Release goes through any allocator containing the address, ready or not."""
        fam = family_of(ip)
        return any(
            a is not None and self._family[p] == fam and _contains(a, ip)
            for p, a in self._allocs.items()
        )

    def restore_allocators(self, saved: dict[str, bytes]) -> None:
        """Replace each allocator by its snapshot (``CidrAllocator.snapshot()`` bytes);
        a prefix without usable bytes is rebuilt from the IPAddress objects."""
        for prefix in list(self._allocs):
            old = self._allocs[prefix]
            if old is None:
                continue
            self._store.detach_allocator(old)
            data = saved.get(prefix)
            if data is not None:
                try:
                    alloc = CidrAllocator.restore(prefix, data)
                except InvalidInputError:
                    pass  # rebuilt below, from the objects that are the truth anyway
                else:
                    self._store.attach_allocator(alloc, mark_existing=False)
                    self._allocs[prefix] = alloc
                    continue
            self._allocs[prefix] = self._new_allocator(prefix)
        self._ready_cache = None
        self.generation += 1

    def reseed(self, rng: random.Random) -> None:
        """Give every allocator a fresh random stream drawn from ``rng`` (on each start)."""
        for _prefix, alloc in sorted(self._allocs.items()):
            if alloc is not None:
                alloc.reseed(rng.getrandbits(64))

    # ---------------------------------------------------------------- inspection

    def allocators(self) -> list[tuple[str, CidrAllocator]]:
        """(prefix, allocator) for every prefix that can allocate, sorted by prefix."""
        return [(p, a) for p, a in sorted(self._allocs.items()) if a is not None]

    def is_ready(self, prefix: str) -> bool:
        """Whether the allocator of a prefix would be used now."""
        alloc = self._allocs.get(prefix)
        return alloc is not None and any(self._refs.get(prefix, {}).values())

    def allocator_for(self, prefix: str) -> CidrAllocator | None:
        """The allocator of a canonical prefix, if it exists and can allocate."""
        return self._allocs.get(prefix)
