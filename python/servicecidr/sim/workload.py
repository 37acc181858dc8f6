"""Workload models: what a simulation does, as small frozen dataclasses and their YAML form.

A model names the cluster's ``--service-cluster-ip-range``, how long to run, the streams of
Services that arrive (a Poisson process or a constant rate, each Service living for a time
drawn from a lifetime distribution), bursts, how Services spread over namespaces and IP
family policies, and the operator who adds ServiceCIDRs when utilization passes a
threshold. The YAML form uses the field names below; durations are ``90s``, ``15m``,
``2h`` or seconds, rates ``2/s``, ``30/m``, ``100/h`` or per-second numbers::

    name: my-model
    service_cluster_ip_range: 10.96.0.0/24
    duration: 2h
    sample_every: 1m
    namespaces: 50
    streams:
      - name: apps
        rate: 1/s
        lifetime: {distribution: lognormal, mean: 2h, sigma: 1.0}
        policy_mix: {SingleStack: 1.0}
    bursts:
      - {name: deploy, at: 30m, count: 200, over: 20s, lifetime: {distribution: fixed, mean: 10m}}
    operator: {threshold: 0.9, prefix_length: 24}

:func:`load_model` reads a file, :func:`model_from_dict` a mapping, :func:`model_to_dict`
writes one back (the form ``servicecidr simulate --show-model`` prints).
"""

from __future__ import annotations

import ipaddress
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from servicecidr.clock import parse_duration
from servicecidr.errors import InvalidInputError
from servicecidr.yamldoc import YAMLDocError, load_document

__all__ = [
    "DISTRIBUTIONS",
    "POLICIES",
    "Burst",
    "Lifetime",
    "Model",
    "Operator",
    "Stream",
    "format_duration",
    "load_model",
    "model_from_dict",
    "model_to_dict",
    "model_to_yaml",
    "parse_rate",
]

#: Lifetime distributions: ``forever`` never deletes; the others draw seconds with ``mean``.
DISTRIBUTIONS = ("exponential", "lognormal", "fixed", "forever")
#: Keys of a policy mix: an ``ipFamilyPolicy``, optionally ``:IPv4``/``:IPv6`` (the first
#: of ``ipFamilies``; without it the Service names no family and gets the cluster's primary).
POLICIES = (
    "SingleStack",
    "SingleStack:IPv4",
    "SingleStack:IPv6",
    "PreferDualStack",
    "PreferDualStack:IPv4",
    "PreferDualStack:IPv6",
    "RequireDualStack",
    "RequireDualStack:IPv4",
    "RequireDualStack:IPv6",
)
DEFAULT_MIX: tuple[tuple[str, float], ...] = (("SingleStack", 1.0),)


def _err(where: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"model: {where}: {message}")


def _duration(where: str, value: Any) -> float:
    if isinstance(value, bool):
        raise _err(where, f"expected a duration such as 90s, 15m or 2h, got {value!r}")
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError) as e:
        raise _err(where, f"expected a duration such as 90s, 15m or 2h, got {value!r}") from e
    if not math.isfinite(seconds) or seconds < 0:
        raise _err(where, f"must be a finite, non-negative duration, got {value!r}")
    return seconds


_RATE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(value: Any) -> float:
    """Arrivals per second from ``2/s``, ``30/m``, ``100/h`` or a number (per second)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid rate {value!r}")
    if isinstance(value, int | float):
        rate = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        num, _, unit = text.partition("/")
        per = _RATE_UNITS.get(unit or "s")
        if per is None:
            raise ValueError(f"invalid rate {value!r}: use N/s, N/m or N/h")
        try:
            rate = float(num) / per
        except ValueError as e:
            raise ValueError(f"invalid rate {value!r}: use N/s, N/m or N/h") from e
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"invalid rate {value!r}: must be finite and not negative")
    return rate


def format_duration(seconds: float) -> str:
    """``5400`` -> ``1h30m``; the inverse of :func:`servicecidr.clock.parse_duration`."""
    if seconds == 0:
        return "0s"
    if seconds != int(seconds) or seconds < 1:
        return f"{seconds:g}s"
    s = int(seconds)
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            out += f"{s // size}{unit}"
            s %= size
    return out


def _format_rate(rate: float) -> str:
    for unit, per in (("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        n = rate * per
        if n >= 1 and abs(n - round(n, 6)) < 1e-9:
            return f"{round(n, 6):g}/{unit}"
    return f"{rate:g}/s"


@dataclass(frozen=True)
class Lifetime:
    """How long a Service lives: ``distribution`` (see :data:`DISTRIBUTIONS`) with
    ``mean`` seconds; ``sigma`` is the lognormal's shape (the sd of the log)."""

    distribution: str = "exponential"
    mean: float = 3600.0
    sigma: float = 1.0

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise _err(
                "lifetime.distribution",
                f"unknown {self.distribution!r}; one of {', '.join(DISTRIBUTIONS)}",
            )
        if self.distribution != "forever" and not self.mean > 0:
            raise _err("lifetime.mean", f"must be positive, got {self.mean!r}")
        if not self.sigma >= 0:
            raise _err("lifetime.sigma", f"must not be negative, got {self.sigma!r}")

    def sample(self, rng: random.Random) -> float | None:
        """Seconds to live (``None``: forever)."""
        d = self.distribution
        if d == "exponential":
            return rng.expovariate(1.0 / self.mean)
        if d == "lognormal":
            # mean of a lognormal is exp(mu + sigma^2 / 2)
            return rng.lognormvariate(math.log(self.mean) - self.sigma**2 / 2, self.sigma)
        if d == "fixed":
            return self.mean
        return None


def _policy_mix(where: str, value: Any) -> tuple[tuple[str, float], ...]:
    if value is None:
        return DEFAULT_MIX
    if isinstance(value, str):
        value = {value: 1.0}
    if not isinstance(value, Mapping) or not value:
        raise _err(where, "expected a mapping of ipFamilyPolicy[:family] to weight")
    out = []
    for k, w in value.items():
        if k not in POLICIES:
            raise _err(where, f"unknown policy {k!r}; one of {', '.join(POLICIES)}")
        if isinstance(w, bool) or not isinstance(w, int | float) or not w >= 0:
            raise _err(f"{where}.{k}", f"weight must be a non-negative number, got {w!r}")
        out.append((str(k), float(w)))
    if not sum(w for _, w in out) > 0:
        raise _err(where, "at least one weight must be positive")
    return tuple(out)


@dataclass(frozen=True)
class Stream:
    """Services arriving at ``rate`` per second between ``start`` and ``end`` (seconds
    from the start; ``None``: until the end), each living for a ``lifetime`` draw.
    ``arrival`` is ``poisson`` (exponential gaps) or ``constant`` (gaps of 1/rate)."""

    name: str
    rate: float
    lifetime: Lifetime = field(default_factory=Lifetime)
    start: float = 0.0
    end: float | None = None
    arrival: str = "poisson"
    policy_mix: tuple[tuple[str, float], ...] = DEFAULT_MIX

    def __post_init__(self) -> None:
        _check_name(f"streams[{self.name}]", self.name)
        if not self.rate >= 0:
            raise _err(f"streams[{self.name}].rate", f"must not be negative, got {self.rate}")
        if self.arrival not in ("poisson", "constant"):
            raise _err(f"streams[{self.name}].arrival", "one of poisson, constant")
        if self.end is not None and self.end < self.start:
            raise _err(f"streams[{self.name}].end", "must not be before start")


@dataclass(frozen=True)
class Burst:
    """``count`` Services created at ``at`` (spread evenly over ``over`` seconds), again
    every ``every`` seconds when set."""

    name: str
    at: float
    count: int
    over: float = 0.0
    every: float | None = None
    lifetime: Lifetime = field(default_factory=lambda: Lifetime("fixed", 600.0))
    policy_mix: tuple[tuple[str, float], ...] = DEFAULT_MIX

    def __post_init__(self) -> None:
        _check_name(f"bursts[{self.name}]", self.name)
        if self.count < 0:
            raise _err(f"bursts[{self.name}].count", "must not be negative")
        if self.every is not None and not self.every > 0:
            raise _err(f"bursts[{self.name}].every", "must be positive")


@dataclass(frozen=True)
class Operator:
    """The cluster operator: when the utilization of a family's ready ServiceCIDRs passes
    ``threshold`` they create another ServiceCIDR (``<name_prefix><n>``), ``delay`` seconds
    later, then reconcile so it becomes Ready. The new ranges are ``cidrs`` in order, then
    the next free blocks of ``prefix_length`` (IPv4) or ``ipv6_prefix_length`` after the
    highest range of the family (``None``: the size of the family's first range).
    ``check_every`` 0 looks after every Service create; otherwise every that many seconds."""

    enabled: bool = True
    threshold: float = 0.9
    prefix_length: int | None = None
    ipv6_prefix_length: int | None = None
    cidrs: tuple[str, ...] = ()
    max_service_cidrs: int = 256
    check_every: float = 0.0
    delay: float = 0.0
    name_prefix: str = "newcidr"
    reconcile: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise _err("operator.threshold", f"must be in (0, 1], got {self.threshold}")
        if self.prefix_length is not None and not 1 <= self.prefix_length <= 30:
            raise _err("operator.prefix_length", "an IPv4 prefix length in 1..30")
        if self.ipv6_prefix_length is not None and not 64 <= self.ipv6_prefix_length <= 127:
            raise _err("operator.ipv6_prefix_length", "an IPv6 prefix length in 64..127")
        for c in self.cidrs:
            try:
                ipaddress.ip_network(c, strict=True)
            except ValueError as e:
                raise _err("operator.cidrs", f"{c!r} is not a CIDR ({e})") from e
        if self.max_service_cidrs < 0:
            raise _err("operator.max_service_cidrs", "must not be negative")


@dataclass(frozen=True)
class Model:
    """A whole workload. ``namespaces`` Services are spread over (``default`` when 1,
    else ``ns-0000``...), with Zipf exponent ``namespace_skew`` (0: uniform).
    ``sample_every``: time-series resolution. ``reconcile_every``: run the controllers
    (ServiceCIDR controller, repair loop) that often (``None``: only when the operator
    adds a ServiceCIDR)."""

    name: str
    service_cluster_ip_range: str
    duration: float
    streams: tuple[Stream, ...] = ()
    bursts: tuple[Burst, ...] = ()
    operator: Operator = field(default_factory=Operator)
    namespaces: int = 1
    namespace_skew: float = 0.0
    sample_every: float = 60.0
    reconcile_every: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("name", self.name)
        if not self.duration > 0:
            raise _err("duration", "must be positive")
        if not self.sample_every > 0:
            raise _err("sample_every", "must be positive")
        if self.namespaces < 1:
            raise _err("namespaces", "at least 1")
        if self.namespace_skew < 0:
            raise _err("namespace_skew", "must not be negative")
        if self.reconcile_every is not None and not self.reconcile_every > 0:
            raise _err("reconcile_every", "must be positive")
        names = [s.name for s in self.streams] + [b.name for b in self.bursts]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise _err("streams/bursts", f"names must be unique, repeated: {', '.join(dup)}")
        # The range is checked by Cluster itself; check the shape early for a clear error.
        from servicecidr.cluster import parse_service_cluster_ip_range

        try:
            parse_service_cluster_ip_range(self.service_cluster_ip_range)
        except InvalidInputError as e:
            raise _err("service_cluster_ip_range", str(e)) from e

    def with_changes(
        self,
        *,
        duration: float | None = None,
        operator: bool | None = None,
    ) -> Model:
        """A copy with another duration and/or the operator switched on or off."""
        m = self
        if duration is not None:
            m = replace(m, duration=duration)
        if operator is not None:
            m = replace(m, operator=replace(m.operator, enabled=operator))
        return m


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _check_name(where: str, name: Any) -> None:
    ok = isinstance(name, str) and 0 < len(name) <= 40
    ok = ok and all(
        (ch.isalnum() and ch.isascii() and not ch.isupper()) or ch == "-" for ch in name
    )
    ok = ok and name[0].isalnum() and name[-1].isalnum()
    if not ok:
        raise _err(where, f"{name!r}: use 1-40 lowercase letters, digits and '-'")


# ------------------------------------------------------------------------- from and to dicts


def _only(where: str, d: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise _err(where, f"expected a mapping, got {type(d).__name__}")
    extra = [k for k in d if k not in allowed]
    if extra:
        raise _err(where, f"unknown field {extra[0]!r}; fields: {', '.join(allowed)}")
    return dict(d)


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _num(where: str, value: Any, kind: type = float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(where, f"expected a number, got {value!r}")
    if kind is int:
        if value != int(value):
            raise _err(where, f"expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def _lifetime(where: str, d: Any) -> Lifetime:
    if isinstance(d, str) and d == "forever":
        return Lifetime("forever", 0.0)
    d = _only(where, d, _names(Lifetime))
    kw: dict[str, Any] = {}
    if "distribution" in d:
        kw["distribution"] = str(d["distribution"])
    if "mean" in d:
        kw["mean"] = _duration(f"{where}.mean", d["mean"])
    elif kw.get("distribution") == "forever":
        kw["mean"] = 0.0
    if "sigma" in d:
        kw["sigma"] = _num(f"{where}.sigma", d["sigma"])
    return Lifetime(**kw)


def _rate(where: str, value: Any) -> float:
    try:
        return parse_rate(value)
    except ValueError as e:
        raise _err(where, str(e)) from e


def _stream(i: int, d: Any) -> Stream:
    where = f"streams[{i}]"
    d = _only(where, d, _names(Stream))
    if "name" not in d or "rate" not in d:
        raise _err(where, "name and rate are required")
    return Stream(
        name=d["name"],
        rate=_rate(f"{where}.rate", d["rate"]),
        lifetime=_lifetime(f"{where}.lifetime", d.get("lifetime", {})),
        start=_duration(f"{where}.start", d.get("start", 0)),
        end=None if d.get("end") is None else _duration(f"{where}.end", d["end"]),
        arrival=str(d.get("arrival", "poisson")),
        policy_mix=_policy_mix(f"{where}.policy_mix", d.get("policy_mix")),
    )


def _burst(i: int, d: Any) -> Burst:
    where = f"bursts[{i}]"
    d = _only(where, d, _names(Burst))
    for req in ("name", "at", "count"):
        if req not in d:
            raise _err(where, "name, at and count are required")
    kw: dict[str, Any] = {
        "name": d["name"],
        "at": _duration(f"{where}.at", d["at"]),
        "count": _num(f"{where}.count", d["count"], int),
        "over": _duration(f"{where}.over", d.get("over", 0)),
        "every": None if d.get("every") is None else _duration(f"{where}.every", d["every"]),
        "policy_mix": _policy_mix(f"{where}.policy_mix", d.get("policy_mix")),
    }
    if "lifetime" in d:
        kw["lifetime"] = _lifetime(f"{where}.lifetime", d["lifetime"])
    return Burst(**kw)


def _operator(d: Any) -> Operator:
    if d is None:
        return Operator()
    if isinstance(d, bool):
        return Operator(enabled=d)
    d = _only("operator", d, _names(Operator))
    kw: dict[str, Any] = {}
    if "enabled" in d:
        if not isinstance(d["enabled"], bool):
            raise _err("operator.enabled", "expected true or false")
        kw["enabled"] = d["enabled"]
    if "reconcile" in d:
        if not isinstance(d["reconcile"], bool):
            raise _err("operator.reconcile", "expected true or false")
        kw["reconcile"] = d["reconcile"]
    if "threshold" in d:
        kw["threshold"] = _num("operator.threshold", d["threshold"])
    for k in ("prefix_length", "ipv6_prefix_length"):
        if d.get(k) is not None:
            kw[k] = _num(f"operator.{k}", d[k], int)
    if "max_service_cidrs" in d:
        kw["max_service_cidrs"] = _num("operator.max_service_cidrs", d["max_service_cidrs"], int)
    for k in ("check_every", "delay"):
        if k in d:
            kw[k] = _duration(f"operator.{k}", d[k])
    if "cidrs" in d:
        cidrs = d["cidrs"]
        if isinstance(cidrs, str) or not isinstance(cidrs, list):
            raise _err("operator.cidrs", "expected a list of CIDRs")
        kw["cidrs"] = tuple(str(c) for c in cidrs)
    if "name_prefix" in d:
        kw["name_prefix"] = str(d["name_prefix"])
    return Operator(**kw)


def model_from_dict(d: Any) -> Model:
    """Build a :class:`Model` from its YAML/JSON shape; InvalidInputError names the field."""
    d = _only("model", d, _names(Model))
    for req in ("name", "service_cluster_ip_range", "duration"):
        if req not in d:
            raise _err(req, "is required")
    streams = d.get("streams") or []
    bursts = d.get("bursts") or []
    if not isinstance(streams, list) or not isinstance(bursts, list):
        raise _err("streams/bursts", "expected lists")
    rng = d["service_cluster_ip_range"]
    if isinstance(rng, list):
        rng = ",".join(str(x) for x in rng)
    return Model(
        name=d["name"],
        description=str(d.get("description") or ""),
        service_cluster_ip_range=str(rng),
        duration=_duration("duration", d["duration"]),
        streams=tuple(_stream(i, s) for i, s in enumerate(streams)),
        bursts=tuple(_burst(i, b) for i, b in enumerate(bursts)),
        operator=_operator(d.get("operator")),
        namespaces=_num("namespaces", d.get("namespaces", 1), int),
        namespace_skew=_num("namespace_skew", d.get("namespace_skew", 0.0)),
        sample_every=_duration("sample_every", d.get("sample_every", 60)),
        reconcile_every=(
            None
            if d.get("reconcile_every") is None
            else _duration("reconcile_every", d["reconcile_every"])
        ),
    )


def load_model(path: str | Path) -> Model:
    """Read a model from a YAML (or JSON) file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInputError(f"model: cannot read {p}: {e.strerror or e}") from e
    try:
        data = load_document(text)
    except YAMLDocError as e:
        raise InvalidInputError(f"model: {p} is not valid YAML: {e}") from e
    return model_from_dict(data)


def _lifetime_dict(lt: Lifetime) -> dict[str, Any] | str:
    if lt.distribution == "forever":
        return "forever"
    out: dict[str, Any] = {"distribution": lt.distribution, "mean": format_duration(lt.mean)}
    if lt.distribution == "lognormal":
        out["sigma"] = lt.sigma
    return out


def model_to_dict(m: Model) -> dict[str, Any]:
    """The YAML shape of a model (inverse of :func:`model_from_dict`)."""
    op = m.operator
    out: dict[str, Any] = {"name": m.name}
    if m.description:
        out["description"] = m.description
    out["service_cluster_ip_range"] = m.service_cluster_ip_range
    out["duration"] = format_duration(m.duration)
    out["sample_every"] = format_duration(m.sample_every)
    out["namespaces"] = m.namespaces
    if m.namespace_skew:
        out["namespace_skew"] = m.namespace_skew
    if m.reconcile_every is not None:
        out["reconcile_every"] = format_duration(m.reconcile_every)
    out["streams"] = [
        {
            "name": s.name,
            "rate": _format_rate(s.rate),
            "arrival": s.arrival,
            "start": format_duration(s.start),
            **({"end": format_duration(s.end)} if s.end is not None else {}),
            "lifetime": _lifetime_dict(s.lifetime),
            "policy_mix": dict(s.policy_mix),
        }
        for s in m.streams
    ]
    out["bursts"] = [
        {
            "name": b.name,
            "at": format_duration(b.at),
            "count": b.count,
            "over": format_duration(b.over),
            **({"every": format_duration(b.every)} if b.every is not None else {}),
            "lifetime": _lifetime_dict(b.lifetime),
            "policy_mix": dict(b.policy_mix),
        }
        for b in m.bursts
    ]
    opd: dict[str, Any] = {
        "enabled": op.enabled,
        "threshold": op.threshold,
        "check_every": format_duration(op.check_every),
        "delay": format_duration(op.delay),
        "max_service_cidrs": op.max_service_cidrs,
        "name_prefix": op.name_prefix,
        "reconcile": op.reconcile,
    }
    if op.prefix_length is not None:
        opd["prefix_length"] = op.prefix_length
    if op.ipv6_prefix_length is not None:
        opd["ipv6_prefix_length"] = op.ipv6_prefix_length
    if op.cidrs:
        opd["cidrs"] = list(op.cidrs)
    out["operator"] = opd
    return out


def model_to_yaml(m: Model) -> str:
    """:func:`model_to_dict` as YAML text."""
    return yaml.safe_dump(model_to_dict(m), sort_keys=False, default_flow_style=False, width=96)
