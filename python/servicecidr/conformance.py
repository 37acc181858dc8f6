"""The conformance scenario runner (format: ../shared/conformance/FORMAT.md, version 1).

A scenario drives a fresh :class:`~servicecidr.cluster.Cluster` on a simulated clock
through API calls and checks what comes back. The namespaces its steps put objects in
are created first (besides the four kube-apiserver makes), unless the scenario creates,
reads or deletes that Namespace itself. ``restart_each_step=True`` rebuilds the
cluster from its recorded events after every step, which proves replay reaches the same
state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servicecidr.clock import SIMULATION_EPOCH, SimulatedClock
from servicecidr.cluster import Cluster
from servicecidr.controllers.netutil import _ip, _net
from servicecidr.errors import ApiError, ServiceCIDRError
from servicecidr.yamldoc import YAMLDocError, load_documents

__all__ = ["ScenarioResult", "load_scenarios", "run_paths", "run_scenario"]

ACTIONS = (
    "create",
    "apply",
    "update",
    "delete",
    "get",
    "list",
    "reconcile",
    "updateStatus",
    "store",
    "restart",
)
STEP_KEYS = {"expect", "repeat", "options"}
MATCHERS = {
    "$inCIDR",
    "$notInCIDR",
    "$present",
    "$absent",
    "$oneOf",
    "$contains",
    "$all",
    "$capture",
    "$distinct",
}
_VAR = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")


class ScenarioError(Exception):
    """A step failed or the scenario is malformed; the message says why."""


@dataclass
class ScenarioResult:
    """The outcome of one scenario."""

    name: str
    path: str
    passed: bool
    step: int | None = None  # 1-based index of the failing step
    message: str = ""

    def line(self) -> str:
        """One line for the console: name, then PASS or where and why it failed."""
        if self.passed:
            return f"PASS  {self.name}"
        where = f" step {self.step}" if self.step is not None else ""
        return f"FAIL  {self.name} ({self.path}{where}): {self.message}"


@dataclass
class _State:
    cluster: Cluster
    clock: SimulatedClock
    range_: str | None
    seed: int
    captures: dict[str, list[Any]] = field(default_factory=dict)


def load_scenarios(path: Path) -> Iterator[tuple[str, Any]]:
    """(source, document) for every scenario in a file; YAML errors become a document
    that fails with the parser's message."""
    try:
        docs = load_documents(path.read_text())
    except (YAMLDocError, OSError, UnicodeDecodeError) as e:
        yield str(path), ScenarioError(f"cannot read scenario file: {e}")
        return
    for doc in docs:
        if doc is not None:
            yield str(path), doc


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        else:
            out.append(p)
    return out


def run_paths(
    paths: Iterable[str | Path], *, restart_each_step: bool = False
) -> list[ScenarioResult]:
    """Run every scenario of the files and folders given."""
    results: list[ScenarioResult] = []
    for path in _expand(paths):
        if not path.exists():
            results.append(
                ScenarioResult(str(path), str(path), False, None, "no such file or directory")
            )
            continue
        for source, doc in load_scenarios(path):
            if isinstance(doc, Exception):
                results.append(ScenarioResult(source, source, False, None, str(doc)))
                continue
            results.append(run_scenario(doc, source, restart_each_step=restart_each_step))
    return results


def run_scenario(
    doc: Any, source: str = "<scenario>", *, restart_each_step: bool = False
) -> ScenarioResult:
    """Run one scenario document; never raises for a malformed or failing scenario."""
    name = doc.get("scenario", "<unnamed>") if isinstance(doc, dict) else "<malformed>"
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        return ScenarioResult(
            str(name),
            source,
            False,
            None,
            "a scenario is a mapping with `scenario` and a list of `steps`",
        )
    cfg = doc.get("cluster") or {}
    if not isinstance(cfg, dict):
        return ScenarioResult(str(name), source, False, None, "`cluster` must be a mapping")
    clock = SimulatedClock(SIMULATION_EPOCH)
    try:
        seed = int(cfg.get("seed", 0))
        range_ = cfg.get("serviceClusterIPRange")
        st = _State(Cluster(range_, seed=seed, clock=clock), clock, range_, seed)
        _create_namespaces(st.cluster, doc["steps"])
    except (ServiceCIDRError, ValueError, TypeError) as e:
        return ScenarioResult(str(name), source, False, None, f"cluster: {e}")
    for i, step in enumerate(doc["steps"], 1):
        try:
            _run_step(st, step)
            if restart_each_step:
                _restart(st, None)
        except ScenarioError as e:
            return ScenarioResult(str(name), source, False, i, str(e))
        except Exception as e:  # the runner reports, never crashes
            return ScenarioResult(
                str(name), source, False, i, f"unexpected {type(e).__name__}: {e}"
            )
    return ScenarioResult(str(name), source, True)


def _namespaces_used(steps: list[Any]) -> tuple[list[str], set[str]]:
    """The namespaces the steps put objects in, and the Namespaces they name themselves."""
    used: list[str] = []
    own: set[str] = set()
    for step in steps:
        for action in ("create", "apply", "update", "store"):
            obj = step.get(action) if isinstance(step, dict) else None
            if not isinstance(obj, dict):
                continue
            meta = obj.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            if obj.get("kind") == "Namespace":
                own.add(str(meta.get("name")))
            elif isinstance(meta.get("namespace"), str) and meta["namespace"] not in used:
                used.append(meta["namespace"])
        for action in ("delete", "get"):
            ref = step.get(action) if isinstance(step, dict) else None
            if isinstance(ref, dict) and ref.get("kind") == "Namespace":
                own.add(str(ref.get("name")))
    return used, own


def _create_namespaces(c: Cluster, steps: list[Any]) -> None:
    """Make the namespaces a scenario puts objects in (NamespaceLifecycle refuses a create
    in a missing one), unless the scenario handles that Namespace itself."""
    used, own = _namespaces_used(steps)
    for ns in used:
        if "{" in ns or ns in own or c.engine.store.contains("Namespace", ns):
            continue
        c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})


def _restart(st: _State, new_range: str | None) -> None:
    if new_range is not None:
        st.range_ = new_range
    old = st.cluster
    st.cluster = Cluster.replay(old.events(), st.range_, seed=st.seed, clock=st.clock, start=True)
    st.cluster.admission = old.admission


def _substitute(value: Any, i: int | None, captures: dict[str, list[Any]]) -> Any:
    if isinstance(value, str):
        if i is not None:
            value = value.replace("{i}", str(i))

        def repl(m: re.Match[str]) -> str:
            got = captures.get(m.group(1))
            if not got:
                raise ScenarioError(f"${{{m.group(1)}}} used before anything was captured")
            return str(got[-1])

        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, i, captures) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, i, captures) for k, v in value.items()}
    return value


def _run_step(st: _State, step: Any) -> None:
    if not isinstance(step, dict):
        raise ScenarioError(f"a step must be a mapping, got {type(step).__name__}")
    actions = [k for k in step if k not in STEP_KEYS]
    if len(actions) != 1 or actions[0] not in ACTIONS:
        raise ScenarioError(
            f"a step needs exactly one action of {', '.join(ACTIONS)}; got {actions or 'none'}"
        )
    action = actions[0]
    repeat = step.get("repeat")
    if repeat is None:
        runs: list[int | None] = [None]
    elif isinstance(repeat, int) and not isinstance(repeat, bool):
        runs = list(range(1, repeat + 1))
    elif (
        isinstance(repeat, dict)
        and isinstance(repeat.get("from"), int)
        and isinstance(repeat.get("to"), int)
    ):
        runs = list(range(repeat["from"], repeat["to"] + 1))
    else:
        raise ScenarioError("repeat must be N or {from: A, to: B}")
    for i in runs:
        arg = _substitute(step[action], i, st.captures)
        expect = _substitute(step.get("expect"), i, st.captures)
        options = step.get("options") or {}
        if not isinstance(options, dict):
            raise ScenarioError("options must be a mapping")
        try:
            result, warnings = _do(st, action, arg, bool(options.get("dryRun")))
        except ApiError as e:
            _check_error(expect, e, i)
            continue
        except ServiceCIDRError as e:
            raise ScenarioError(f"{action} failed: {e}") from e
        _check_success(st, expect, action, result, warnings, i)


def _ref(arg: Any) -> tuple[str, str, str | None]:
    if not isinstance(arg, dict) or "kind" not in arg:
        raise ScenarioError("expected {kind, name, namespace?}")
    return str(arg["kind"]), str(arg.get("name", "")), arg.get("namespace")


def _do(st: _State, action: str, arg: Any, dry_run: bool) -> tuple[Any, list[str]]:
    c = st.cluster
    if action == "create":
        return c.create_with_warnings(arg, dry_run)
    if action == "apply":
        return c.apply_with_warnings(arg, dry_run)
    if action == "update":
        return c.update_with_warnings(arg, dry_run)
    if action == "updateStatus":
        return c.update_status_with_warnings(arg, dry_run)
    if action == "delete":
        kind, name, ns = _ref(arg)
        return c.delete_with_warnings(kind, name, ns, dry_run)
    if action == "get":
        kind, name, ns = _ref(arg)
        return c.get(kind, name, ns), []
    if action == "list":
        if not isinstance(arg, dict) or "kind" not in arg:
            raise ScenarioError("list needs {kind, namespace?}")
        return c.list(str(arg["kind"]), arg.get("namespace")), []
    if action == "reconcile":
        advance = (arg or {}).get("advance") if isinstance(arg, dict) else None
        c.reconcile(advance)
        return None, []
    if action == "store":
        return c.store(arg), []
    if action == "restart":
        new_range = (arg or {}).get("serviceClusterIPRange") if isinstance(arg, dict) else None
        _restart(st, new_range)
        return None, []
    raise ScenarioError(f"unknown action {action}")


def _check_error(expect: Any, err: ApiError, i: int | None) -> None:
    run = f" (run {i})" if i is not None else ""
    want = (expect or {}).get("error") if isinstance(expect, dict) else None
    if want is None:
        raise ScenarioError(f"unexpected error{run}: {err.reason}: {err.message}")
    if want.get("reason") and want["reason"] != err.reason:
        raise ScenarioError(
            f"expected reason {want['reason']}, got {err.reason}{run}: {err.message}"
        )
    sub = want.get("messageContains")
    if sub and sub not in err.message:
        raise ScenarioError(f"error message{run} {err.message!r} does not contain {sub!r}")


def _check_success(
    st: _State, expect: Any, action: str, result: Any, warnings: list[str], i: int | None
) -> None:
    run = f" (run {i})" if i is not None else ""
    if expect is None:
        return
    if not isinstance(expect, dict):
        raise ScenarioError("expect must be a mapping")
    if "error" in expect:
        raise ScenarioError(f"expected an error {expect['error']}, but {action} succeeded{run}")
    for w in expect.get("warnings") or []:
        if not any(w in got for got in warnings):
            raise ScenarioError(f"no warning contains {w!r}{run}; warnings: {warnings}")
    if "object" in expect:
        problem = _match(st, expect["object"], result, "object")
        if problem:
            raise ScenarioError(problem + run)
    if "count" in expect:
        if not isinstance(result, list):
            raise ScenarioError(f"count expects a list result{run}")
        if len(result) != expect["count"]:
            raise ScenarioError(f"expected {expect['count']} items, got {len(result)}{run}")
    if "items" in expect:
        if not isinstance(result, list):
            raise ScenarioError(f"items expects a list result{run}")
        problem = _match_items(st, expect["items"], result)
        if problem:
            raise ScenarioError(problem + run)


def _match_items(st: _State, wants: list[Any], items: list[Any]) -> str | None:
    used: set[int] = set()

    def place(k: int) -> bool:
        if k == len(wants):
            return True
        for j, item in enumerate(items):
            if j in used:
                continue
            saved = {n: list(v) for n, v in st.captures.items()}
            if _match(st, wants[k], item, f"items[{k}]") is None:
                used.add(j)
                if place(k + 1):
                    return True
                used.discard(j)
            st.captures = saved
        return False

    if place(0):
        return None
    return f"no assignment of items matches {wants}"


def _match(st: _State, want: Any, got: Any, path: str) -> str | None:
    if isinstance(want, dict) and len(want) == 1 and next(iter(want)).startswith("$"):
        return _matcher(st, next(iter(want)), next(iter(want.values())), got, path)
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: expected a mapping, got {got!r}"
        for k, v in want.items():
            if isinstance(v, dict) and set(v) == {"$absent"}:
                if v["$absent"] and got.get(k) is not None:
                    return f"{path}.{k}: expected absent, got {got[k]!r}"
                continue
            if k not in got:
                if isinstance(v, dict) and set(v) == {"$present"} and not v["$present"]:
                    continue
                return f"{path}.{k}: missing"
            problem = _match(st, v, got[k], f"{path}.{k}")
            if problem:
                return problem
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: expected {want!r}, got {got!r}"
        for n, (w, g) in enumerate(zip(want, got, strict=True)):
            problem = _match(st, w, g, f"{path}[{n}]")
            if problem:
                return problem
        return None
    if want != got and not (_scalar_str(want) == _scalar_str(got) and _numeric_text(want, got)):
        return f"{path}: expected {want!r}, got {got!r}"
    return None


def _scalar_str(v: Any) -> str:
    return str(v)


def _numeric_text(a: Any, b: Any) -> bool:
    # YAML reads `status: "True"` as a string but `count: 5` as an int; objects carry both.
    return (
        isinstance(a, int | float) != isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )


def _in_cidr(cidr: str, value: Any) -> bool:
    net, ip = _net(str(cidr)), _ip(str(value)) if isinstance(value, str) else None
    return net is not None and ip is not None and ip.version == net.version and ip in net


def _matcher(st: _State, op: str, arg: Any, got: Any, path: str) -> str | None:
    if op not in MATCHERS:
        raise ScenarioError(f"{path}: unknown matcher {op}")
    if op == "$inCIDR":
        return None if _in_cidr(arg, got) else f"{path}: {got!r} is not in {arg}"
    if op == "$notInCIDR":
        if not isinstance(got, str) or _ip(got) is None:
            return f"{path}: {got!r} is not an IP address"
        return None if not _in_cidr(arg, got) else f"{path}: {got!r} is in {arg}"
    if op == "$present":
        return None if (got is not None) == bool(arg) else f"{path}: presence is not {arg}"
    if op == "$absent":
        return None if (got is None) == bool(arg) else f"{path}: expected absent, got {got!r}"
    if op == "$oneOf":
        return None if got in (arg or []) else f"{path}: {got!r} is not one of {arg}"
    if op == "$contains":
        if not isinstance(got, list):
            return f"{path}: expected a list, got {got!r}"
        for item in got:
            if _match(st, arg, item, path) is None:
                return None
        return f"{path}: no element matches {arg}"
    if op == "$all":
        for m in arg or []:
            problem = _match(st, m, got, path)
            if problem:
                return problem
        return None
    if op == "$capture":
        st.captures.setdefault(str(arg), []).append(got)
        return None
    # $distinct
    seen = st.captures.setdefault(str(arg), [])
    if got in seen:
        return f"{path}: {got!r} was seen before under {arg}"
    seen.append(got)
    return None
