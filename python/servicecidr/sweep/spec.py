"""What a sweep is: a base (a simulation model, or a set of histories with what-if
settings) times parameter sets (a grid, random samples of ranges, or both) times seeds.

The YAML form (``docs/SWEEPS.md`` has the whole format)::

    name: ranges
    base: {preset: seed-at-scale}          # or model: FILE, or histories: [...]
    set: {duration: 2h, operator.enabled: false}
    grid:
      service_cluster_ip_range.prefix_length: [20, 22, 24]
    samples:
      count: 20
      seed: 7
      params:
        operator.threshold: {uniform: [0.6, 0.95]}
    seeds: 1-50

Expansion happens here, on the machine that drives the sweep, and is deterministic:
random samples are drawn from a generator seeded by ``samples.seed``, so the cells (and
their numbering) are a function of the spec alone. Every parameter set of a simulation
sweep is turned into a model and validated before anything runs, so a mistyped key fails
the sweep at once, naming the key, instead of failing every cell.
"""

from __future__ import annotations

import datetime
import glob
import hashlib
import ipaddress
import itertools
import json
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from servicecidr.clock import parse_time
from servicecidr.errors import InvalidInputError
from servicecidr.sim.presets import preset
from servicecidr.sim.workload import (
    Burst,
    Lifetime,
    Model,
    Operator,
    Stream,
    model_from_dict,
    model_to_dict,
)

__all__ = [
    "SIMULATION",
    "WHAT_IF",
    "WHAT_IF_KEYS",
    "Cell",
    "History",
    "Sweep",
    "Variant",
    "load_sweep",
    "parse_seeds",
    "parse_set",
    "simple_sweep",
    "sweep_from_dict",
]

SIMULATION = "simulation"
WHAT_IF = "what-if"
#: Settings of a what-if cell (``set``, ``grid`` and ``samples`` keys of a history sweep).
WHAT_IF_KEYS = (
    "service_cluster_ip_range",
    "service_cluster_ip_range.prefix_length",
    "service_cluster_ip_range.ipv6_prefix_length",
    "add_servicecidrs",
    "remove_servicecidrs",
    "until",
)
#: Keys that resize the base's range instead of naming a model field.
_RESIZE = {
    "service_cluster_ip_range.prefix_length": 4,
    "service_cluster_ip_range.ipv6_prefix_length": 6,
}
_DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")
_FORMATS = ("audit", "dump", "watch")
# Bump when the expansion below changes meaning: a sweep directory written by another
# expansion is then refused instead of resumed with different cells.
_EXPANSION_VERSION = 1
MAX_CELLS = 10_000_000


def _err(where: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"sweep: {where}: {message}")


# ------------------------------------------------------------------------- the pieces


@dataclass(frozen=True)
class History:
    """One recorded history: a name (its column value) and the files or folders that
    hold it (read together, as ``servicecidr import`` reads several FILE arguments)."""

    name: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One parameter set: the values (in column order) and what a worker needs to run it
    (a simulation's model as a mapping, or a what-if replay's settings)."""

    params: tuple[tuple[str, Any], ...]
    payload: Mapping[str, Any]

    def label(self) -> str:
        """``k=v, k=v`` (``all cells`` when nothing varies)."""
        if not self.params:
            return "all cells"
        return ", ".join(f"{k}={param_text(v)}" for k, v in self.params)


@dataclass(frozen=True)
class Cell:
    """One run: a parameter set, a seed and, for a what-if sweep, a history."""

    index: int
    variant: int
    seed: int
    history: int | None = None


@dataclass(frozen=True)
class Sweep:
    """An expanded sweep. ``cells`` are numbered in a fixed order (history, then
    parameter set, then seed); the table is sorted by that number."""

    name: str
    kind: str
    params: tuple[str, ...]
    variants: tuple[Variant, ...]
    histories: tuple[History, ...]
    seeds: tuple[int, ...]
    cells: tuple[Cell, ...]
    spec: Mapping[str, Any]
    format: str = "audit"
    from_dump: tuple[str, ...] = ()
    timeseries: bool = False
    report_by: str | None = None
    within: tuple[float, ...] = ()
    fingerprint: str = field(default="")

    def task(self, cell: Cell) -> dict[str, Any]:
        """What a worker runs for ``cell``: plain data (no servicecidr objects), so any
        worker with the same servicecidr version can run it."""
        v = self.variants[cell.variant]
        if self.kind == SIMULATION:
            return {
                "kind": SIMULATION,
                "model": v.payload["model"],
                "seed": cell.seed,
                "timeseries": self.timeseries,
            }
        assert cell.history is not None
        return {
            "kind": WHAT_IF,
            "format": self.format,
            "paths": list(self.histories[cell.history].paths),
            "from_dump": list(self.from_dump),
            "settings": dict(v.payload["settings"]),
            "seed": cell.seed,
        }

    def identity(self, cell: Cell) -> dict[str, Any]:
        """The columns that say which cell a row is: ``cell``, ``history``, the
        parameters and ``seed``."""
        out: dict[str, Any] = {"cell": cell.index}
        if self.kind == WHAT_IF:
            assert cell.history is not None
            out["history"] = self.histories[cell.history].name
        out.update(self.variants[cell.variant].params)
        out["seed"] = cell.seed
        return out

    def cell_key(self, cell: Cell) -> str:
        """A short digest of what the cell runs, kept beside its row: a resumed sweep
        takes a finished row only for the same cell."""
        doc = json.dumps(
            [cell.index, self.identity(cell), self.task(cell)], sort_keys=True, default=str
        )
        return hashlib.sha256(doc.encode()).hexdigest()[:16]


def param_text(value: Any) -> str:
    """A parameter value as one short string (labels, CSV, Parquet string columns)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------- seeds and --set


def parse_seeds(value: Any, where: str = "seeds") -> list[int]:
    """Seeds from ``1-200``, ``1,5,9``, ``1-10,20-30``, a list, one number, or
    ``{start: N, count: N}``. Seeds are whole numbers >= 0, each listed once."""
    out: list[int] = []
    if isinstance(value, bool):
        raise _err(where, f"expected seeds such as 1-200 or [1, 2, 3], got {value!r}")
    if isinstance(value, int):
        out = [value]
    elif isinstance(value, Mapping):
        d = _only(where, value, ("start", "count"))
        start, count = d.get("start", 1), d.get("count", 0)
        if not _is_int(start) or not _is_int(count) or count < 1:
            raise _err(where, "start and count must be whole numbers (count >= 1)")
        out = list(range(start, start + count))
    elif isinstance(value, str):
        for part in value.replace(" ", "").split(","):
            if not part:
                raise _err(where, f"empty item in {value!r}")
            lo, dash, hi = part.partition("-")
            try:
                a = int(lo)
                b = int(hi) if dash else a
            except ValueError:
                raise _err(
                    where, f"{part!r}: expected N or N-M (seeds are whole numbers)"
                ) from None
            if b < a:
                raise _err(where, f"{part!r}: the range ends before it starts")
            if b - a >= MAX_CELLS:
                raise _err(where, f"{part!r}: more than {MAX_CELLS:,} seeds")
            out.extend(range(a, b + 1))
    elif isinstance(value, Sequence):
        for i, s in enumerate(value):
            if not _is_int(s):
                raise _err(f"{where}[{i}]", f"expected a whole number, got {s!r}")
            out.append(s)
    else:
        raise _err(where, f"expected seeds such as 1-200 or [1, 2, 3], got {value!r}")
    if not out:
        raise _err(where, "no seed")
    seen: set[int] = set()
    for s in out:
        if s < 0:
            raise _err(where, f"seed {s} is negative")
        if s in seen:
            raise _err(where, f"seed {s} is listed twice")
        seen.add(s)
    return out


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2`` -> (KEY, [V1, V2]); values are read as YAML (``0.9`` a number,
    ``false`` a boolean, ``2h`` a string; ``[10.96.0.0/24,fd00::/120]`` one list value)."""
    key, eq, rhs = text.partition("=")
    key = key.strip()
    if not eq or not key or not rhs.strip():
        raise _err(f"--set {text!r}", "expected KEY=VALUE[,VALUE...]")
    try:
        values = yaml.safe_load(f"[{rhs}]")
    except yaml.YAMLError as e:
        raise _err(f"--set {text!r}", f"cannot read the values: {e}") from e
    if not isinstance(values, list) or not values or any(v is None for v in values):
        raise _err(f"--set {text!r}", "expected KEY=VALUE[,VALUE...] with no empty value")
    return key, values


def _plain(value: Any) -> Any:
    """Plain JSON data: YAML reads an unquoted 2024-01-01T00:00:00Z as a datetime; a
    parameter value is kept as the text it was."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _only(where: str, d: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise _err(where, f"expected a mapping, got {type(d).__name__}")
    extra = [k for k in d if k not in allowed]
    if extra:
        raise _err(where, f"unknown field {extra[0]!r}; fields: {', '.join(allowed)}")
    return {str(k): v for k, v in d.items()}


# ------------------------------------------------------------------------- parameters


def _grid(where: str, d: Any) -> dict[str, list[Any]]:
    if d is None:
        return {}
    if not isinstance(d, Mapping):
        raise _err(where, "expected a mapping of KEY to a list of values")
    out: dict[str, list[Any]] = {}
    for k, v in d.items():
        values = [_plain(x) for x in (v if isinstance(v, list | tuple) else [v])]
        if not values:
            raise _err(f"{where}.{k}", "no value")
        if any(x is None for x in values):
            raise _err(f"{where}.{k}", "null is not a value")
        out[str(k)] = values
    return out


def _sampler(where: str, spec: Any) -> Any:
    """Validate one ``{uniform|loguniform|int|choice: ...}`` and return it normalized."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise _err(where, f"expected one of {{{'|'.join(_DISTRIBUTIONS)}: ...}}")
    ((kind, arg),) = spec.items()
    if kind not in _DISTRIBUTIONS:
        raise _err(where, f"unknown distribution {kind!r}; one of {', '.join(_DISTRIBUTIONS)}")
    if kind == "choice":
        if not isinstance(arg, list) or not arg or any(x is None for x in arg):
            raise _err(f"{where}.choice", "expected a non-empty list of values")
        return {kind: _plain(list(arg))}
    if not isinstance(arg, list) or len(arg) != 2:
        raise _err(f"{where}.{kind}", "expected [low, high]")
    lo, hi = arg
    ok = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lo, hi))
    if not ok or not all(math.isfinite(x) for x in (lo, hi)) or hi < lo:
        raise _err(f"{where}.{kind}", f"expected finite numbers low <= high, got {arg!r}")
    if kind == "int" and not (_is_int(lo) and _is_int(hi)):
        raise _err(f"{where}.int", f"expected whole numbers, got {arg!r}")
    if kind == "loguniform" and lo <= 0:
        raise _err(f"{where}.loguniform", "low must be positive")
    return {kind: [lo, hi]}


def _draw(rng: random.Random, spec: Mapping[str, Any]) -> Any:
    ((kind, arg),) = spec.items()
    if kind == "choice":
        return arg[rng.randrange(len(arg))]
    lo, hi = arg
    if kind == "int":
        return rng.randint(lo, hi)
    x = (
        rng.uniform(lo, hi)
        if kind == "uniform"
        else math.exp(rng.uniform(math.log(lo), math.log(hi)))
    )
    # Six significant digits: a readable table, and the same value on every platform.
    return float(f"{x:.6g}")


def _samples(d: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(normalized spec, the drawn parameter sets)."""
    if d is None:
        return {}, []
    d = _only("samples", d, ("count", "seed", "params"))
    count, seed = d.get("count"), d.get("seed", 0)
    if not _is_int(count) or count < 1:
        raise _err("samples.count", f"expected a whole number >= 1, got {count!r}")
    if not _is_int(seed):
        raise _err("samples.seed", f"expected a whole number, got {seed!r}")
    params = d.get("params")
    if not isinstance(params, Mapping) or not params:
        raise _err("samples.params", "expected a mapping of KEY to a distribution")
    specs = {str(k): _sampler(f"samples.params.{k}", v) for k, v in params.items()}
    rng = random.Random(f"servicecidr.sweep/samples/{seed}")
    drawn = [{k: _draw(rng, s) for k, s in specs.items()} for _ in range(count)]
    return {"count": count, "seed": seed, "params": specs}, drawn


def _resize(where: str, ranges: list[str], key: str, length: Any) -> list[str]:
    """The base's range of the key's family with another prefix length (same start)."""
    version = _RESIZE[key]
    if not _is_int(length):
        raise _err(where, f"expected a prefix length, got {length!r}")
    for i, r in enumerate(ranges):
        try:
            net = ipaddress.ip_network(r, strict=False)
        except ValueError:
            continue
        if net.version != version:
            continue
        if not 0 <= length <= net.max_prefixlen:
            raise _err(where, f"{length} is not an IPv{version} prefix length")
        out = list(ranges)
        out[i] = str(ipaddress.ip_network((int(net.network_address), length), strict=False))
        return out
    raise _err(where, f"the base has no IPv{version} service_cluster_ip_range to resize")


def _range_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(x) for x in value]


# ------------------------------------------------------------------------- simulations

_FIELDS_OF = {
    "model": Model,
    "operator": Operator,
    "streams": Stream,
    "bursts": Burst,
    "lifetime": Lifetime,
}


def _set_model_field(d: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Set ``key`` (``operator.threshold``, ``streams.app.rate``, ``streams.0.rate``) in a
    model mapping (:func:`~servicecidr.sim.workload.model_to_dict` form)."""
    if key in _RESIZE:
        d["service_cluster_ip_range"] = ",".join(
            _resize(where, _range_list(d.get("service_cluster_ip_range")), key, value)
        )
        return
    parts = key.split(".")
    node: dict[str, Any] = d
    cls: type = Model
    path = "the model"
    i = 0
    while True:
        part = parts[i]
        names = [f.name for f in fields(cls)]
        if part not in names:
            raise _err(where, f"{key!r}: {path} has no field {part!r}; fields: {', '.join(names)}")
        if i == len(parts) - 1:
            node[part] = value
            return
        child = node.get(part)
        if part in ("streams", "bursts"):
            items = child or []
            sel = parts[i + 1]
            match = [j for j, s in enumerate(items) if str(s.get("name")) == sel]
            if not match and sel.isdigit() and int(sel) < len(items):
                match = [int(sel)]
            if not match:
                known = ", ".join(str(s.get("name")) for s in items) or "none"
                raise _err(where, f"{key!r}: no {part[:-1]} {sel!r} (the model has: {known})")
            if i + 2 >= len(parts):
                raise _err(where, f"{key!r}: name a field of {part}.{sel}")
            node, cls, path = items[match[0]], _FIELDS_OF[part], f"{part}.{sel}"
            i += 2
            continue
        if part == "lifetime" and (child is None or child == "forever"):
            child = {"distribution": "forever"} if child == "forever" else {}
        elif part == "operator" and isinstance(child, bool):
            child = {"enabled": child}
        elif child is None:
            child = {}
        if not isinstance(child, dict) or part not in _FIELDS_OF:
            raise _err(where, f"{key!r}: {part} is not a mapping")
        node[part] = child
        node, cls, path = child, _FIELDS_OF[part], f"{path}.{part}".removeprefix("the model.")
        i += 1


def _build_model(base: dict[str, Any], params: Sequence[tuple[str, Any]], where: str) -> Model:
    d = json.loads(json.dumps(base))  # a deep copy of plain data
    for k, v in params:
        _set_model_field(d, k, v, where)
    try:
        return model_from_dict(d)
    except InvalidInputError as e:
        shown = ", ".join(f"{k}={param_text(v)}" for k, v in params)
        raise _err(where, f"{shown}: {e}") from e


# ------------------------------------------------------------------------- what-if


def _add_cidrs(where: str, value: Any) -> list[list[Any]]:
    """``{name: cidr | [cidrs]}`` or ``["name=cidr,cidr", ...]`` -> [[name, [cidrs]]]."""
    out: list[list[Any]] = []
    if isinstance(value, Mapping):
        for name, cidrs in value.items():
            out.append([str(name), _range_list(cidrs)])
    elif isinstance(value, list | str):
        for item in [value] if isinstance(value, str) else value:
            name, eq, cidrs = str(item).partition("=")
            if not eq or not name:
                raise _err(where, f"{item!r}: expected NAME=CIDR[,CIDR]")
            out.append([name.strip(), _range_list(cidrs)])
    else:
        raise _err(where, "expected {NAME: CIDR or [CIDRs]} or a list of NAME=CIDR[,CIDR]")
    for name, cidrs in out:
        if not cidrs:
            raise _err(where, f"{name}: no CIDR")
    return out


def _settings(
    base: Mapping[str, Any], params: Sequence[tuple[str, Any]], where: str
) -> dict[str, Any]:
    """The what-if settings of one parameter set (structure checked here; the CIDRs are
    checked by the engine in the cell, with Kubernetes' own messages)."""
    s: dict[str, Any] = {
        "service_cluster_ip_range": base.get("service_cluster_ip_range"),
        "add_servicecidrs": list(base.get("add_servicecidrs") or []),
        "remove_servicecidrs": list(base.get("remove_servicecidrs") or []),
        "until": base.get("until"),
    }
    for k, v in params:
        if k not in WHAT_IF_KEYS:
            raise _err(where, f"{k!r}: not a what-if setting; settings: {', '.join(WHAT_IF_KEYS)}")
        if k in _RESIZE:
            if s["service_cluster_ip_range"] is None:
                raise _err(where, f"{k!r}: set service_cluster_ip_range in base.set first")
            s["service_cluster_ip_range"] = ",".join(
                _resize(where, _range_list(s["service_cluster_ip_range"]), k, v)
            )
        elif k == "service_cluster_ip_range":
            s[k] = ",".join(_range_list(v)) or None
        elif k == "add_servicecidrs":
            s[k] = _add_cidrs(f"{where}.{k}", v)
        elif k == "remove_servicecidrs":
            s[k] = _range_list(v)
        elif k == "until":
            if v is not None:
                try:
                    parse_time(str(v))
                except ValueError as e:
                    raise _err(f"{where}.until", str(e)) from e
            s[k] = None if v is None else str(v)
    return s


def _histories(d: Any, base_dir: Path) -> list[History]:
    if not isinstance(d, list) or not d:
        raise _err("base.histories", "expected a list of files or folders (one history each)")
    out: list[History] = []
    for i, h in enumerate(d):
        where = f"base.histories[{i}]"
        raw: Any
        if isinstance(h, str):
            name, raw = None, [h]
        else:
            hd = _only(where, h, ("name", "paths"))
            name, raw = hd.get("name"), hd.get("paths")
            if isinstance(raw, str):
                raw = [raw]
            if not isinstance(raw, list) or not raw:
                raise _err(f"{where}.paths", "expected a list of files or folders")
        if isinstance(h, str) and any(ch in h for ch in "*?["):
            # A glob: one history per match, named after it ("dir/*/" matches folders).
            pattern = os.path.join(base_dir, os.path.expanduser(h))
            matches = [m.rstrip("/") or m for m in sorted(glob.glob(pattern))]
            if not matches:
                raise _err(where, f"{h!r} matches nothing")
            out.extend(History(m, (m,)) for m in matches)
            continue
        paths = [_resolve(base_dir, str(p)) for p in raw]
        shown = str(raw[0]).rstrip("/") or str(raw[0])
        out.append(History(str(name) if name else shown, tuple(paths)))
    names = [h.name for h in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _err("base.histories", f"two histories are named {dup[0]!r}: give them names")
    return out


def _resolve(base_dir: Path, p: str) -> str:
    q = Path(p).expanduser()
    return str(q if q.is_absolute() else (base_dir / q).resolve())


# ------------------------------------------------------------------------- the whole spec

_TOP = ("name", "base", "set", "grid", "samples", "seeds", "timeseries", "report")


def sweep_from_dict(d: Any, base_dir: str | Path = ".") -> Sweep:
    """Expand a sweep spec (its YAML form as a mapping). Relative paths (a model file,
    histories) are taken from ``base_dir``. InvalidInputError names what is wrong."""
    d = _only("spec", d, _TOP)
    bdir = Path(base_dir)
    if "base" not in d:
        raise _err("base", "is required: {preset: NAME}, {model: FILE} or {histories: [...]}")
    b = _only("base", d["base"], ("preset", "model", "histories", "format", "from_dump"))
    which = [k for k in ("preset", "model", "histories") if k in b]
    if len(which) != 1:
        raise _err("base", "give exactly one of preset, model, histories")
    fixed = _plain(d.get("set") or {})
    if not isinstance(fixed, Mapping):
        raise _err("set", "expected a mapping of KEY to a value")
    grid = _grid("grid", d.get("grid"))
    samples_spec, drawn = _samples(d.get("samples"))
    both = sorted(set(grid) & set(samples_spec.get("params", {})))
    if both:
        raise _err("samples.params", f"{both[0]!r} is also in grid")
    params = tuple([*grid, *samples_spec.get("params", {})])
    points = [list(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    sets: list[list[tuple[str, Any]]] = (
        [p + list(s.items()) for p in points for s in drawn] if drawn else points
    )
    timeseries = d.get("timeseries", False)
    if not isinstance(timeseries, bool):
        raise _err("timeseries", "expected true or false")
    rep = _only("report", d.get("report") or {}, ("by", "within"))
    by = rep.get("by")
    if by is not None and by not in params:
        raise _err("report.by", f"{by!r} is not a parameter of the sweep ({', '.join(params)})")
    within_raw = rep.get("within") or []
    if not isinstance(within_raw, list):
        within_raw = [within_raw]
    from servicecidr.clock import parse_duration

    try:
        within = tuple(parse_duration(w) for w in within_raw)
    except ValueError as e:
        raise _err("report.within", str(e)) from e

    norm: dict[str, Any] = {"name": None}
    variants: list[Variant] = []
    histories: list[History] = []
    fmt = "audit"
    from_dump: list[str] = []
    if "histories" in b:
        kind = WHAT_IF
        fmt = str(b.get("format", "audit"))
        if fmt not in _FORMATS:
            raise _err("base.format", f"one of {', '.join(_FORMATS)}")
        histories = _histories(b["histories"], bdir)
        dumps = b.get("from_dump") or []
        from_dump = [_resolve(bdir, str(p)) for p in ([dumps] if isinstance(dumps, str) else dumps)]
        fixed_settings = _settings({}, list(fixed.items()), "set")
        for i, ps in enumerate(sets):
            variants.append(
                Variant(tuple(ps), {"settings": _settings(fixed_settings, ps, f"cell set {i}")})
            )
        seeds = parse_seeds(d.get("seeds", 0))
        norm["base"] = {
            "histories": [{"name": h.name, "paths": list(h.paths)} for h in histories],
            "format": fmt,
            "from_dump": from_dump,
        }
        default_name = "what-if"
    else:
        kind = SIMULATION
        if "preset" in b:
            model = preset(str(b["preset"]))
        else:
            if "format" in b or "from_dump" in b:
                raise _err("base", "format and from_dump belong to a histories base")
            src = b["model"]
            if isinstance(src, Mapping):
                model = model_from_dict(src)
            else:
                from servicecidr.sim.workload import load_model

                model = load_model(_resolve(bdir, str(src)))
        raw_model = model_to_dict(model)
        base_model = model_to_dict(_build_model(raw_model, list(fixed.items()), "set"))
        for i, ps in enumerate(sets):
            m = _build_model(base_model, ps, f"cell set {i}")
            variants.append(Variant(tuple(ps), {"model": model_to_dict(m)}))
        seeds = parse_seeds(d.get("seeds", 1))
        # The model itself, not the preset's name: the written sweep.yaml runs the same
        # cells even if a later version changes the preset.
        norm["base"] = {"model": raw_model}
        default_name = model.name
    n_cells = len(variants) * len(seeds) * max(1, len(histories))
    if n_cells > MAX_CELLS:
        raise _err("spec", f"{n_cells:,} cells; at most {MAX_CELLS:,}")
    name = str(d.get("name") or default_name)
    norm["name"] = name
    norm["set"] = {str(k): v for k, v in fixed.items()}
    norm["grid"] = grid
    if samples_spec:
        norm["samples"] = samples_spec
    norm["seeds"] = seeds
    norm["timeseries"] = timeseries
    if timeseries and kind == WHAT_IF:
        raise _err("timeseries", "time series are kept for simulation sweeps only")
    cells: list[Cell] = []
    history_indexes: list[int | None] = list(range(len(histories))) if histories else [None]
    for h in history_indexes:
        for v in range(len(variants)):
            for s in seeds:
                cells.append(Cell(len(cells), v, s, h))
    fp_doc = {
        "expansion": _EXPANSION_VERSION,
        "kind": kind,
        "spec": norm,
        "variants": [v.payload for v in variants],
    }
    fp = hashlib.sha256(json.dumps(fp_doc, sort_keys=True, default=str).encode()).hexdigest()
    norm["report"] = {k: v for k, v in rep.items() if v is not None}
    return Sweep(
        name=name,
        kind=kind,
        params=params,
        variants=tuple(variants),
        histories=tuple(histories),
        seeds=tuple(seeds),
        cells=tuple(cells),
        spec=norm,
        format=fmt,
        from_dump=tuple(from_dump),
        timeseries=timeseries,
        report_by=by,
        within=within,
        fingerprint=fp,
    )


def load_sweep(path: str | Path) -> Sweep:
    """Read and expand a sweep spec from a YAML (or JSON) file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInputError(f"sweep: cannot read {p}: {e.strerror or e}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInputError(f"sweep: {p} is not valid YAML: {e}") from e
    return sweep_from_dict(data, p.resolve().parent)


def simple_sweep(
    *,
    preset_name: str | None = None,
    model_path: str | None = None,
    histories: Sequence[str] = (),
    fmt: str = "audit",
    seeds: str | Sequence[int] | None = None,
    sets: Sequence[str] = (),
    fixed: Mapping[str, Any] | None = None,
    timeseries: bool = False,
) -> Sweep:
    """The sweep of ``servicecidr sweep --preset NAME --seeds 1-200 --set KEY=V1,V2``:
    every ``--set`` is a grid axis."""
    base: dict[str, Any]
    if sum(bool(x) for x in (preset_name, model_path, histories)) != 1:
        raise InvalidInputError(
            "sweep: give a SPEC file, or exactly one of --preset, --model, --history"
        )
    if preset_name:
        base = {"preset": preset_name}
    elif model_path:
        base = {"model": str(Path(model_path).resolve())}
    else:
        base = {"histories": list(histories), "format": fmt}
    grid: dict[str, list[Any]] = {}
    for s in sets:
        k, values = parse_set(s)
        if k in grid:
            raise _err(f"--set {k}", "given twice")
        grid[k] = values
    spec: dict[str, Any] = {"base": base, "grid": grid, "timeseries": timeseries}
    if fixed:
        spec["set"] = dict(fixed)
    if seeds is not None:
        spec["seeds"] = seeds
    return sweep_from_dict(spec, Path.cwd())
