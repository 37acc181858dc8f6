"""One call per common Service create: which shapes of request may take the fast path,
and their templates.

A simulation creates millions of Services that differ only in their names. The first
create of each *shape* (the request body with its name left out, and the namespace the
request names) runs the full path of :mod:`servicecidr.registry.service`: decoding,
defaulting, IP-family rules, validation, admission. When it succeeds and the shape is
a plain one, :func:`learn` turns what it stored into templates: the Service, its
IPAddresses and the Service as returned, with sentinel strings where a later create of
the same shape differs (the name, the uids, the creationTimestamp, the
resourceVersions, the ClusterIPs). Rust (``_core.ServiceFastPath``) then creates later
Services of that shape in one call: it checks the name is a DNS-1035 label and free,
allocates as the MetaAllocator would (the same random draws in the same order), fills
the templates, and commits the entry through the store's one apply.

What makes a shape plain: the create stored one Service and one IPAddress per address it
allocated, and nothing else; it named no address of its own (an explicit ClusterIP is
judged each time); its type is ClusterIP or ExternalName (no node ports); and the
templates give back, byte for byte, the objects that first create stored. Any other
shape is remembered as one that always takes the full path. The engine decides *when*
the fast path may run at all (:meth:`servicecidr.apiserver.Engine.create`): no admission
policy bound, no sink that needs the entry as a Python object, a recorder the store
can stand in for.

Whatever the fast path cannot answer exactly as the full path would, it leaves alone
before drawing anything, and the full path runs: every error is the full path's own.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from servicecidr._core import CidrAllocator, ServiceFastPath
from servicecidr.journal.records import OP_PUT
from servicecidr.registry.txn import Outcome
from servicecidr.store import Store, decode_object, encode_object

__all__ = ["ServiceTemplates", "may_hand_out_special"]

_PLAIN_TYPES = ("ClusterIP", "ExternalName")
_UNSET_ADDRESSES = ("", "None")

# The addresses ValidateNonSpecialIP may refuse (servicecidr.api.memo judges each
# allocated address against them; a range that could hand one out takes the full path).
_SPECIAL = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/32",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/24",
        "::/128",
        "::1/128",
        "fe80::/10",
    )
] + [ipaddress.ip_network(f"ff{x:x}2::/16") for x in range(16)]


@lru_cache(maxsize=1024)
def may_hand_out_special(prefix: str) -> bool:
    """Whether a range may hand out an address the Service validation treats as special
    (unspecified, loopback, link-local, link-local multicast)."""
    net = ipaddress.ip_network(prefix, strict=False)
    return any(net.version == s.version and net.overlaps(s) for s in _SPECIAL)


def _plain_request(obj: dict[str, Any]) -> bool:
    """A request that names no address of its own."""
    spec = obj.get("spec")
    if spec is None:
        return True
    if not isinstance(spec, dict):
        return False
    cip = spec.get("clusterIP")
    cips = spec.get("clusterIPs")
    if cip is not None and cip not in _UNSET_ADDRESSES:
        return False
    return cips is None or (isinstance(cips, list) and all(ip in _UNSET_ADDRESSES for ip in cips))


class ServiceTemplates:
    """The shapes learned, and the Rust fast path that creates from them.

    Args:
        store: the engine's store.
        format_time: the creationTimestamp text of a second (``clock.format_time``).
        upkeep: the engine's index upkeep, told what an apply reports.
    """

    def __init__(
        self,
        store: Store,
        format_time: Callable[[int], str],
        upkeep: Callable[[list[str], list[str]], None],
    ) -> None:
        self.fast = ServiceFastPath(store, format_time, upkeep)
        self._slot = self.fast.sentinels

    def set_ready(self, ready: Callable[[str], list[CidrAllocator]]) -> None:
        """Hand Rust the ready allocators of each family (``ready(family)``, in the order
        the MetaAllocator shuffles them from); a family any of whose ranges could hand
        out a special address takes the full path."""
        per_family: list[list[CidrAllocator] | None] = []
        for family in ("IPv4", "IPv6"):
            allocs = ready(family)
            per_family.append(None if any(may_hand_out_special(a.cidr) for a in allocs) else allocs)
        self.fast.set_ready(per_family[0], per_family[1])

    def learn(self, obj: Any, namespace: str | None, outcome: Outcome) -> bool:
        """Learn the shape of ``obj`` from the create that stored ``outcome`` (a plain
        create, admitted with nothing to say); returns whether later creates of it may
        take the fast path."""
        fast = self.fast
        got = fast.shape_key(obj, namespace)
        if got is None:
            return False
        key, name = got
        if fast.knows(key):
            return False
        learned = self._templates(obj, name, outcome)
        if learned is None:
            fast.refuse(key)
            return False
        ns, families, service_obj, service_blob, address_blobs, expect = learned
        return fast.learn(
            key,
            ns,
            families,
            list(outcome.warnings),
            service_obj,
            service_blob,
            address_blobs,
            expect,
        )

    def _templates(
        self, obj: dict[str, Any], name: str, outcome: Outcome
    ) -> (
        tuple[
            str,
            list[str],
            dict[str, Any],
            bytes,
            list[bytes],
            list[tuple[bytes, list[Any]]],
        ]
        | None
    ):
        """The templates of a plain create, or None when the shape is not plain."""
        if outcome.error is not None or len(outcome.txns) != 1 or not _plain_request(obj):
            return None
        txn = outcome.txns[0]
        writes = txn.writes
        if txn.verb != "create" or txn.extra is not None or not writes:
            return None
        if any(w.op != OP_PUT for w in writes) or writes[-1].kind != "Service":
            return None
        svc = outcome.obj
        meta, spec = svc.get("metadata"), svc.get("spec")
        if not isinstance(meta, dict) or not isinstance(spec, dict):
            return None
        if spec.get("type") not in _PLAIN_TYPES or meta.get("name") != name:
            return None
        ns = meta.get("namespace")
        cips = spec.get("clusterIPs") or []
        families = spec.get("ipFamilies") or []
        ips = [ip for ip in cips if ip != "None"]
        addresses = writes[:-1]
        k = len(addresses)
        if k != len(ips) or k > 2 or ips != cips[:k] or len(families) < k:
            return None
        if any(w.kind != "IPAddress" for w in addresses) or sorted(
            w.key for w in addresses
        ) != sorted(ips):
            return None
        if not isinstance(ns, str) or (k and spec.get("clusterIP") != ips[0]):
            return None
        s = self._slot
        template = copy.deepcopy(svc)
        tmeta, tspec = template["metadata"], template["spec"]
        # Any slot value that is not a string refuses the shape (checked below).
        values: list[Any] = [
            name,
            meta.get("uid"),
            meta.get("creationTimestamp"),
            meta.get("resourceVersion"),
        ]
        tmeta["name"], tmeta["uid"] = s["name"], s["uid"]
        tmeta["creationTimestamp"], tmeta["resourceVersion"] = (
            s["creationTimestamp"],
            s["resourceVersion"],
        )
        for i in range(k):
            tspec["clusterIPs"][i] = s[f"ip{i}"]
        if k:
            tspec["clusterIP"] = s["ip0"]
        values += ips
        service_blob = encode_object(template)
        # Rust keeps the IPAddress templates in clusterIPs order (the writes come in
        # allocation order).
        stored = {w.key: w.blob or b"" for w in addresses}
        address_blobs: list[bytes] = []
        expect: list[tuple[bytes, list[Any]]] = [(writes[-1].blob or b"", values)]
        for ip in ips:
            t, v = self._address_template(stored[ip], name, ns)
            if t is None:
                return None
            address_blobs.append(t)
            expect.append((stored[ip], v))
        if not all(isinstance(v, str) for _, vs in expect for v in vs):
            return None
        return ns, list(families[:k]), template, service_blob, address_blobs, expect

    def _address_template(
        self, blob: bytes, name: str, namespace: str
    ) -> tuple[bytes | None, list[Any]]:
        """The template of an IPAddress the create stored, and the values of its slots."""
        obj = decode_object(blob)
        meta = obj.get("metadata")
        spec = obj.get("spec")
        ref = spec.get("parentRef") if isinstance(spec, dict) else None
        if not isinstance(meta, dict) or not isinstance(ref, dict):
            return None, []
        if ref.get("name") != name or ref.get("namespace") != namespace:
            return None, []
        s = self._slot
        values: list[Any] = [
            name,
            meta.get("uid"),
            meta.get("creationTimestamp"),
            meta.get("resourceVersion"),
            meta.get("name"),
        ]
        meta["name"], meta["uid"] = s["ip0"], s["uid"]
        meta["creationTimestamp"], meta["resourceVersion"] = (
            s["creationTimestamp"],
            s["resourceVersion"],
        )
        ref["name"] = s["name"]
        return encode_object(obj), values

    def clear(self) -> None:
        """Forget every shape learned."""
        self.fast.clear()
