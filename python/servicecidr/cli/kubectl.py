"""The kubectl verbs over a local state: get, describe, create, apply, delete,
api-resources, plus init and reconcile for the state itself.

Every verb reads and checks its input (arguments, ``-f`` files, kinds) before it opens
the state, so bad input leaves the state untouched. Then it opens the state, lets the
controllers catch up (:meth:`State.catch_up`), does its work, and saves.

Messages, streams and exit codes are kubectl's: results on stdout, errors and warnings
(``Warning: ...``) on stderr, exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from servicecidr.api.kinds import KINDS, KindInfo, resolve_kind
from servicecidr.cli.describe import describe_object, events_for
from servicecidr.cli.errors import CliError, add_source, format_errors
from servicecidr.cli.manifests import Manifest, load_manifests
from servicecidr.cli.printers import (
    OutputSpec,
    for_output,
    kind_string,
    list_object,
    name_of,
    parse_output,
    print_custom_columns,
    print_jsonpath,
    render_table,
    table_rows,
    to_json,
    to_yaml,
)
from servicecidr.cli.selectors import Selector, parse_field_selector, parse_selector
from servicecidr.cli.state import (
    DEFAULT_RANGE,
    State,
    add_state_flag,
    init_state,
    open_state,
    resolve_state_dir,
)
from servicecidr.clock import format_time
from servicecidr.clock import parse_duration as clock_parse_duration
from servicecidr.errors import ApiError, BadRequestError, NotFoundError, ServiceCIDRError

__all__ = ["COMMANDS", "IO", "CliParser", "add_parsers", "run_command"]

Obj = dict[str, Any]
PROG = "servicecidr"
WRITABLE_KINDS = tuple(k for k in KINDS if k != "Event")


@dataclass
class IO:
    """The streams a command uses (the real ones, or buffers in tests and the demo)."""

    out: TextIO
    err: TextIO
    inp: TextIO

    @classmethod
    def std(cls) -> IO:
        return cls(sys.stdout, sys.stderr, sys.stdin)


class UsageError(Exception):
    """A command line that does not parse (kubectl exits 1 for these)."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors read like kubectl's and exit with status 1."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


# =============================================================================== options


def opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option value (options default to 'absent' so parents and subcommands mix)."""
    return getattr(args, name, default)


S = argparse.SUPPRESS


def _add_namespace(p: argparse.ArgumentParser, all_namespaces: bool = True) -> None:
    p.add_argument("-n", "--namespace", default=S, help="the namespace (default: default)")
    if all_namespaces:
        p.add_argument(
            "-A",
            "--all-namespaces",
            action="store_true",
            default=S,
            help="list across all namespaces",
        )


def _add_output(p: argparse.ArgumentParser, formats: str) -> None:
    p.add_argument("-o", "--output", default=S, metavar="FORMAT", help=f"output format: {formats}")


def _add_filename(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "-f",
        "--filename",
        action="append",
        default=S,
        metavar="FILE",
        help=f"file, directory or - (stdin) with the objects to {what} (repeatable)",
    )
    p.add_argument(
        "-R",
        "--recursive",
        action="store_true",
        default=S,
        help="walk -f directories recursively",
    )


def _add_dry_run(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run",
        nargs="?",
        const="client",
        default=S,
        choices=("none", "server", "client"),
        help="server: run every check without persisting; client: only print what would be sent",
    )


def _add_selector(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-l",
        "--selector",
        default=S,
        metavar="SELECTOR",
        help="label selector: 'a=b', 'a!=b', 'a in (x,y)', 'a notin (x)', 'a', '!a'",
    )
    p.add_argument(
        "--field-selector",
        default=S,
        metavar="SELECTOR",
        help="field selector, e.g. metadata.name=kubernetes",
    )


def _formatter() -> type[argparse.RawDescriptionHelpFormatter]:
    return argparse.RawDescriptionHelpFormatter


def _sub(
    sub: Any, name: str, help_: str, description: str, epilog: str, aliases: tuple[str, ...] = ()
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        aliases=list(aliases),
        help=help_,
        description=description,
        epilog="examples:\n" + epilog,
        formatter_class=_formatter(),
    )
    add_state_flag(p)
    return p


def add_parsers(sub: Any) -> None:
    """Register this module's commands on the top-level subparsers."""
    p = _sub(
        sub,
        "init",
        "create a state directory",
        "Create a state: the range kube-apiserver is started with (the default ServiceCIDR "
        "'kubernetes' and the Service default/kubernetes come from it), the clock, the seed.",
        f"  {PROG} init\n"
        f"  {PROG} init --service-cluster-ip-range 10.96.0.0/28 --clock simulated --seed 1\n"
        f"  {PROG} --state ./ds init --service-cluster-ip-range 10.96.0.0/16,fd00::/108\n",
    )
    p.add_argument(
        "--service-cluster-ip-range",
        default=DEFAULT_RANGE,
        metavar="CIDR[,CIDR]",
        help=f"kube-apiserver's --service-cluster-ip-range (default {DEFAULT_RANGE})",
    )
    p.add_argument(
        "--clock",
        choices=("wall", "simulated"),
        default="wall",
        help="wall: real time; simulated: time moves 1 s per command and as far as "
        "pending controller work needs (default wall)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of every random choice")

    p = _sub(
        sub,
        "get",
        "display one or many objects",
        "Display objects as kubectl does: the server's columns, or -o yaml|json|name|wide|"
        "jsonpath=...|custom-columns=....",
        f"  {PROG} get servicecidr\n"
        f"  {PROG} get service kubernetes\n"
        f"  {PROG} get ipaddress 10.96.0.1\n"
        f"  {PROG} get svc,servicecidr -o wide\n"
        f"  {PROG} get servicecidr newcidr1 -o yaml\n"
        f"  {PROG} get svc -A -l 'app in (test-1,test-2)'\n"
        f"  {PROG} get svc test-1 -o jsonpath='{{.spec.clusterIP}}'\n",
    )
    p.add_argument("resources", nargs="*", metavar="TYPE[,TYPE] [NAME ...] | TYPE/NAME ...")
    _add_output(p, "wide, yaml, json, name, jsonpath=TEMPLATE, custom-columns=SPEC")
    _add_namespace(p)
    _add_selector(p)
    _add_filename(p, "get")
    p.add_argument("--no-headers", action="store_true", default=S, help="omit table headers")
    p.add_argument("--show-labels", action="store_true", default=S, help="add a LABELS column")
    p.add_argument(
        "--show-kind", action="store_true", default=S, help="prefix names with their kind"
    )
    p.add_argument(
        "--show-managed-fields",
        action="store_true",
        default=S,
        help="keep metadata.managedFields in yaml/json",
    )
    p.add_argument(
        "--ignore-not-found",
        action="store_true",
        default=S,
        help="treat NotFound as success",
    )

    p = _sub(
        sub,
        "describe",
        "show details of objects",
        "Describe objects as kubectl does, with their events. A NAME that is not found is "
        "taken as a prefix.",
        f"  {PROG} describe servicecidr kubernetes\n"
        f"  {PROG} describe ipaddress 10.96.0.1\n"
        f"  {PROG} describe svc test\n",
    )
    p.add_argument("resources", nargs="*", metavar="TYPE [NAME_PREFIX ...] | TYPE/NAME ...")
    _add_namespace(p)
    _add_selector(p)
    _add_filename(p, "describe")
    p.add_argument(
        "--show-events",
        default=S,
        choices=("true", "false"),
        help="include the Events section (default true)",
    )

    p = _sub(
        sub,
        "create",
        "create objects from files or with a generator",
        "Create objects from -f, or a Service with 'create service clusterip' as kubectl's "
        "generator makes it.",
        f"  {PROG} create -f newcidr.yaml\n"
        f"  cat objects.yaml | {PROG} create -f -\n"
        f"  {PROG} create service clusterip test-1 --tcp 80\n"
        f"  {PROG} create service clusterip web --tcp 80:8080 --clusterip 10.96.0.50 -o yaml\n"
        f"  {PROG} create namespace demo\n",
    )
    _add_filename(p, "create")
    _add_output(p, "yaml, json, name, jsonpath=TEMPLATE")
    _add_dry_run(p)
    _add_namespace(p, all_namespaces=False)
    gen = p.add_subparsers(dest="generator", metavar="GENERATOR", parser_class=CliParser)
    svc = gen.add_parser(
        "service",
        aliases=["svc"],
        help="create a Service",
        description="Create a Service using a subcommand.",
        formatter_class=_formatter(),
    )
    add_state_flag(svc)
    svc_types = svc.add_subparsers(dest="service_type", metavar="TYPE", parser_class=CliParser)
    for typ, extra in (
        ("clusterip", "  --clusterip None makes a headless Service"),
        ("nodeport", "  --node-port sets the node port"),
        ("loadbalancer", ""),
        ("externalname", "  --external-name is required"),
    ):
        sp = svc_types.add_parser(
            typ,
            help=f"create a {typ} Service",
            description=f"Create a {typ} Service as 'kubectl create service {typ}' does: "
            "labels and selector app=NAME, one TCP port per --tcp (named PORT or PORT-TARGET).",
            epilog="examples:\n"
            f"  {PROG} create service {typ} my-svc --tcp 5678:8080\n" + (extra and extra + "\n"),
            formatter_class=_formatter(),
        )
        add_state_flag(sp)
        sp.add_argument("name", nargs="?", metavar="NAME")
        sp.add_argument(
            "--tcp",
            action="append",
            default=S,
            metavar="PORT[:TARGET]",
            help="port pairs '<port>:<targetPort>' (repeatable, comma-separated)",
        )
        if typ == "clusterip":
            sp.add_argument(
                "--clusterip",
                default=S,
                metavar="IP",
                help="assign your own ClusterIP, or None for a headless service",
            )
        if typ == "nodeport":
            sp.add_argument("--node-port", type=int, default=S, help="the node port")
        if typ == "externalname":
            sp.add_argument("--external-name", default=S, help="external DNS name")
        _add_output(sp, "yaml, json, name, jsonpath=TEMPLATE")
        _add_dry_run(sp)
        _add_namespace(sp, all_namespaces=False)
    ns = gen.add_parser(
        "namespace",
        aliases=["ns"],
        help="create a Namespace",
        description="Create a Namespace.",
        epilog=f"examples:\n  {PROG} create namespace demo\n",
        formatter_class=_formatter(),
    )
    add_state_flag(ns)
    ns.add_argument("name", nargs="?", metavar="NAME")
    _add_output(ns, "yaml, json, name")
    _add_dry_run(ns)

    p = _sub(
        sub,
        "apply",
        "create or update objects from files",
        "Apply objects from files, directories or stdin (multi-document YAML, JSON, Lists): "
        "create what is missing, update what differs, report 'unchanged' otherwise.",
        f"  {PROG} apply -f newcidr.yaml\n"
        f"  cat <<EOF | {PROG} apply -f -\n"
        "  apiVersion: networking.k8s.io/v1\n"
        "  kind: ServiceCIDR\n"
        "  metadata:\n"
        "    name: newcidr1\n"
        "  spec:\n"
        "    cidrs:\n"
        "    - 10.96.0.0/24\n"
        "  EOF\n"
        f"  {PROG} apply -f manifests/ -R --dry-run=server\n",
    )
    _add_filename(p, "apply")
    _add_output(p, "yaml, json, name, jsonpath=TEMPLATE")
    _add_dry_run(p)
    _add_namespace(p, all_namespaces=False)

    p = _sub(
        sub,
        "delete",
        "delete objects by name, selector or file",
        "Delete objects. A ServiceCIDR whose addresses no other ServiceCIDR covers stays "
        "(Terminating) until they are gone.",
        f"  {PROG} delete servicecidr newcidr1\n"
        f"  {PROG} delete service test-13 test-14\n"
        f"  {PROG} delete -f newcidr.yaml\n"
        f"  {PROG} delete svc -l app=test-1\n"
        f"  {PROG} delete svc --all\n",
    )
    p.add_argument("resources", nargs="*", metavar="TYPE [NAME ...] | TYPE/NAME ...")
    _add_namespace(p)
    _add_selector(p)
    _add_filename(p, "delete")
    _add_dry_run(p)
    p.add_argument("--all", action="store_true", default=S, help="delete every object of the types")
    p.add_argument(
        "--ignore-not-found", action="store_true", default=S, help="treat NotFound as success"
    )
    p.add_argument(
        "--wait",
        default=S,
        choices=("true", "false"),
        help="accepted for kubectl compatibility; the next command sees the outcome",
    )
    _add_output(p, "name")

    p = _sub(
        sub,
        "api-resources",
        "list the kinds served",
        "Print the resources the engine serves, with short names, as kubectl api-resources.",
        f"  {PROG} api-resources\n  {PROG} api-resources -o name\n",
    )
    _add_output(p, "wide, name")
    p.add_argument(
        "--namespaced",
        default=S,
        choices=("true", "false"),
        help="only namespaced (true) or cluster-scoped (false) resources",
    )

    p = _sub(
        sub,
        "reconcile",
        "let the controllers run (and simulated time pass)",
        "Run the controllers until nothing changes. On a simulated clock, --advance lets "
        "that much time pass first (5s, 10m, 2h, 17d).",
        f"  {PROG} reconcile\n  {PROG} reconcile --advance 17d\n",
    )
    p.add_argument("--advance", default=S, metavar="DURATION", help="simulated time to let pass")


# =============================================================================== helpers


def _resolve(name: str) -> list[str]:
    if name.lower() == "all":
        return ["Service"]
    try:
        return [resolve_kind(name)]
    except BadRequestError as e:
        raise CliError(f"error: {e.message}") from e


@dataclass
class Targets:
    """What a get/describe/delete names: (kind, names) pairs, in order."""

    items: list[tuple[str, list[str]]]
    single_item: bool = False


def parse_targets(resources: list[str], verb: str) -> Targets:
    """kubectl's ``ResourceTypeOrNameArgs``: ``TYPE[,TYPE] [NAME...]`` or ``TYPE/NAME...``."""
    if not resources:
        return Targets([])
    if any("/" in r for r in resources):
        out: dict[str, list[str]] = {}
        for r in resources:
            t, slash, n = r.partition("/")
            if not slash:
                raise CliError(
                    "error: there is no need to specify a resource type as a separate argument "
                    "when passing arguments in resource/name form (e.g. "
                    f"'{PROG} {verb} resource/<resource_name>' instead of "
                    f"'{PROG} {verb} resource resource/<resource_name>'"
                )
            if not t or not n or "/" in n:
                raise CliError(
                    "error: arguments in resource/name form must have a single resource and name"
                )
            for k in _resolve(t):
                out.setdefault(k, []).append(n)
        return Targets(list(out.items()), single_item=len(resources) == 1)
    kinds: list[str] = []
    for t in resources[0].split(","):
        if not t:
            continue
        for k in _resolve(t):
            if k not in kinds:
                kinds.append(k)
    names = resources[1:]
    return Targets(
        [(k, list(names)) for k in kinds],
        single_item=len(kinds) == 1 and len(names) == 1,
    )


def _namespace(args: argparse.Namespace) -> str:
    ns = opt(args, "namespace")
    return str(ns) if ns else "default"


def _warn(io: IO, warnings: list[str]) -> None:
    for w in warnings:
        io.err.write(f"Warning: {w}\n")


def _audit_log(args: argparse.Namespace) -> str | None:
    """``--audit-log PATH``, else ``$SERVICECIDR_AUDIT_LOG``, else none."""
    value = opt(args, "audit_log") or os.environ.get("SERVICECIDR_AUDIT_LOG")
    return str(value) if value else None


@contextmanager
def session(args: argparse.Namespace) -> Iterator[State]:
    """Open the state, let the controllers catch up, and save it afterwards."""
    state = open_state(resolve_state_dir(opt(args, "state")), audit_log=_audit_log(args))
    try:
        state.catch_up()
        yield state
    finally:
        state.close()


def _dry_run(args: argparse.Namespace) -> str:
    v = opt(args, "dry_run", "none")
    return "none" if v in (None, "none") else str(v)


def _suffix(dry: str) -> str:
    return {"server": " (server dry run)", "client": " (dry run)"}.get(dry, "")


def _check_mapping(m: Manifest) -> KindInfo:
    obj = m.obj
    kind = str(obj.get("kind", ""))
    api_version = str(obj.get("apiVersion", ""))
    info = KINDS.get(kind)
    if info is None or kind not in WRITABLE_KINDS or api_version not in info.api_versions():
        meta = obj.get("metadata") or {}
        raise CliError(
            f'error: resource mapping not found for name: "{meta.get("name", "")}" '
            f'namespace: "{meta.get("namespace", "")}" from "{m.source}": no matches for kind '
            f'"{kind}" in version "{api_version}"\nensure CRDs are installed first'
        )
    return info


def _prepare(
    manifests: list[Manifest], args: argparse.Namespace
) -> list[tuple[Manifest, KindInfo]]:
    """Map every manifest to its kind and settle namespaces, before any request."""
    explicit = opt(args, "namespace")
    out = []
    for m in manifests:
        info = _check_mapping(m)
        m.obj = copy.deepcopy(m.obj)
        meta = m.obj.get("metadata")
        if not isinstance(meta, dict):
            meta = m.obj["metadata"] = {}
        if info.namespaced:
            obj_ns = meta.get("namespace")
            if obj_ns and explicit and obj_ns != explicit:
                raise CliError(
                    f'error: the namespace from the provided object "{obj_ns}" does not match '
                    f"the namespace \"{explicit}\". You must pass '--namespace={obj_ns}' to "
                    "perform this operation."
                )
            if not obj_ns:
                meta["namespace"] = explicit or "default"
        else:
            meta.pop("namespace", None)
        out.append((m, info))
    return out


def _print_results(io: IO, spec: OutputSpec, objs: list[Obj]) -> None:
    """What create/apply print with -o: one document per object."""
    for i, o in enumerate(objs):
        o = for_output(o)
        if spec.format == "yaml":
            if i:
                io.out.write("---\n")
            io.out.write(to_yaml(o))
        elif spec.format == "json":
            io.out.write(to_json(o) + "\n")
        elif spec.format == "name":
            io.out.write(name_of(o) + "\n")
        elif spec.format == "jsonpath":
            io.out.write(print_jsonpath(spec.template, o))
        elif spec.format == "custom-columns":
            io.out.write(print_custom_columns(spec.template, [o]))


def _mutation_output(args: argparse.Namespace) -> OutputSpec:
    spec = parse_output(opt(args, "output"))
    if spec.format == "wide":
        raise CliError('error: unable to match a printer suitable for the output format "wide"')
    return spec


def _finish(io: IO, errors: list[Exception]) -> int:
    if errors:
        io.err.write(format_errors(errors).rstrip("\n") + "\n")
        return 1
    return 0


# =============================================================================== get


def _filter(objs: list[Obj], sel: Selector, fsel: Callable[[Obj], bool]) -> list[Obj]:
    return [o for o in objs if sel.matches((o.get("metadata") or {}).get("labels")) and fsel(o)]


def _read_request(
    args: argparse.Namespace, io: IO, verb: str
) -> tuple[Selector, Callable[[Obj], bool], Targets, list[tuple[Manifest, KindInfo]], bool, str]:
    """What get and describe share: selectors, targets, files, namespace."""
    sel = parse_selector(opt(args, "selector"))
    fsel = parse_field_selector(opt(args, "field_selector"))
    targets = parse_targets(list(opt(args, "resources", [])), verb)
    files = opt(args, "filename") or []
    manifests = load_manifests(files, bool(opt(args, "recursive")), io.inp) if files else []
    prepared = _prepare(manifests, args) if manifests else []
    if not targets.items and not prepared:
        raise CliError(
            f"error: You must specify the type of resource to {verb}. Use "
            f'"{PROG} api-resources" for a complete list of supported resources.'
        )
    return sel, fsel, targets, prepared, bool(opt(args, "all_namespaces")), _namespace(args)


def run_get(args: argparse.Namespace, io: IO) -> int:
    spec = parse_output(opt(args, "output"))
    sel, fsel, targets, prepared, all_ns, ns = _read_request(args, io, "get")
    if all_ns and any(names for _, names in targets.items):
        raise CliError("error: a resource cannot be retrieved by name across all namespaces")
    if not sel.empty and any(names for _, names in targets.items):
        raise CliError("error: name cannot be provided when a selector is specified")
    ignore_nf = bool(opt(args, "ignore_not_found"))
    groups: list[tuple[str, list[Obj]]] = []
    errors: list[Exception] = []
    with session(args) as state:
        c = state.cluster
        now = c.clock.now()
        for kind, names in targets.items:
            objs: list[Obj] = []
            if names:
                for n in names:
                    try:
                        objs.append(c.get(kind, n, ns))
                    except NotFoundError as e:
                        if not ignore_nf:
                            errors.append(e)
                    except ApiError as e:
                        errors.append(e)
            else:
                listed = c.list(kind, None if all_ns else ns)
                objs = _filter(listed, sel, fsel)
            groups.append((kind, objs))
        for m, info in prepared:
            meta = m.obj["metadata"]
            try:
                groups.append(
                    (info.kind, [c.get(info.kind, meta.get("name", ""), meta.get("namespace"))])
                )
            except ApiError as e:
                if not (ignore_nf and isinstance(e, NotFoundError)):
                    errors.append(e)
    merged: list[tuple[str, list[Obj]]] = []
    for kind, objs in groups:  # one table per run of the same kind, as kubectl prints
        if merged and merged[-1][0] == kind:
            merged[-1][1].extend(objs)
        else:
            merged.append((kind, list(objs)))
    groups = merged
    single = (targets.single_item and not prepared) or (len(prepared) == 1 and not targets.items)
    _print_get(io, args, spec, groups, single, all_ns, now)
    total = sum(len(objs) for _, objs in groups)
    if total == 0 and not errors and spec.human and not ignore_nf:
        # as get.go words it: with nothing printed, "all resources namespaced" is simply
        # "not --all-namespaces"
        io.err.write(
            "No resources found\n" if all_ns else f"No resources found in {ns} namespace.\n"
        )
    return _finish(io, errors)


def _print_get(
    io: IO,
    args: argparse.Namespace,
    spec: OutputSpec,
    groups: list[tuple[str, list[Obj]]],
    single: bool,
    all_ns: bool,
    now: float,
) -> None:
    show_mf = bool(opt(args, "show_managed_fields"))
    items = [for_output(o, show_mf) for _, objs in groups for o in objs]
    if spec.human:
        # printWithKind: the results hold more than one kind (multipleGVKsRequested)
        kinds_found = {kind for kind, objs in groups if objs}
        with_kind = bool(opt(args, "show_kind")) or len(kinds_found) > 1
        no_headers = bool(opt(args, "no_headers"))
        printed = False
        for kind, objs in groups:
            if not objs:
                continue
            rows = table_rows(
                kind,
                objs,
                now,
                wide=spec.format == "wide",
                with_kind=with_kind,
                with_namespace=all_ns and KINDS[kind].namespaced,
                show_labels=bool(opt(args, "show_labels")),
                headers=not no_headers,
            )
            if printed and not no_headers:
                io.out.write("\n")
            io.out.write(render_table(rows))
            printed = True
        return
    if spec.format == "name":
        for o in items:
            io.out.write(name_of(o) + "\n")
        return
    if spec.format == "custom-columns":
        if items:
            io.out.write(
                print_custom_columns(spec.template, items, headers=not opt(args, "no_headers"))
            )
        return
    if single and len(items) == 1:
        doc: Obj = items[0]
    elif single and not items:
        return
    else:
        doc = list_object(items)
    if spec.format == "yaml":
        io.out.write(to_yaml(doc))
    elif spec.format == "json":
        io.out.write(to_json(doc) + "\n")
    elif spec.format == "jsonpath":
        io.out.write(print_jsonpath(spec.template, doc))


# =============================================================================== describe


def run_describe(args: argparse.Namespace, io: IO) -> int:
    sel, fsel, targets, prepared, all_ns, ns = _read_request(args, io, "describe")
    show_events = opt(args, "show_events", "true") == "true"
    found: list[Obj] = []
    errors: list[Exception] = []
    prefix_mode = False
    resources = list(opt(args, "resources", []))
    with session(args) as state:
        c = state.cluster
        now = c.clock.now()
        for kind, names in targets.items:
            if not names:
                found.extend(_filter(c.list(kind, None if all_ns else ns), sel, fsel))
                continue
            for n in names:
                try:
                    found.append(c.get(kind, n, ns))
                except NotFoundError as e:
                    # `describe TYPE PREFIX` (exactly two arguments): describe every
                    # object whose name starts with PREFIX (DescribeMatchingResources).
                    matches = [
                        o
                        for o in c.list(kind, ns)
                        if str((o.get("metadata") or {}).get("name", "")).startswith(n)
                    ]
                    if len(resources) == 2 and "/" not in resources[0] and matches:
                        found.extend(matches)
                        prefix_mode = True
                    else:
                        errors.append(e)
        for m, info in prepared:
            meta = m.obj["metadata"]
            try:
                found.append(c.get(info.kind, meta.get("name", ""), meta.get("namespace")))
            except ApiError as e:
                errors.append(e)
        events = c.list("Event") if show_events else []
    texts = [describe_object(o, events_for(o, events) if show_events else None, now) for o in found]
    for i, t in enumerate(texts):
        if prefix_mode:
            io.out.write(t + "\n")
        else:
            io.out.write(t if i == 0 else "\n\n" + t)
    if not found and not errors:
        if all_ns:
            io.err.write("No resources found\n")
        else:
            io.err.write(f"No resources found in {ns} namespace.\n")
    return _finish(io, errors)


# =============================================================================== create


def _create_objects(args: argparse.Namespace, io: IO) -> int:
    spec = _mutation_output(args)
    files = opt(args, "filename") or []
    if not files:
        raise CliError(
            f"error: must specify one of -f and -k, or a generator (see '{PROG} create --help')"
        )
    prepared = _prepare(load_manifests(files, bool(opt(args, "recursive")), io.inp), args)
    if not prepared:
        raise CliError("error: no objects passed to create")
    dry = _dry_run(args)
    errors: list[Exception] = []
    results: list[Obj] = []
    with session(args) as state:
        c = state.cluster
        for m, info in prepared:
            if dry == "client":
                results.append(m.obj)
                if not spec.format:
                    io.out.write(f"{name_of(m.obj)} created (dry run)\n")
                continue
            try:
                obj, warnings = c.create_with_warnings(m.obj, dry_run=dry == "server")
            except ApiError as e:
                errors.append(add_source("creating", m.source, e))
                continue
            _warn(io, warnings)
            results.append(obj)
            if not spec.format:
                io.out.write(
                    f"{kind_string(info)}/{obj['metadata']['name']} created{_suffix(dry)}\n"
                )
    _print_results(io, spec, results)
    return _finish(io, errors)


def _parse_port(text: str) -> tuple[int, int | str]:
    port_s, _, target_s = text.partition(":")
    try:
        port = int(port_s)
    except ValueError:
        raise CliError(f'error: invalid port "{port_s}": must be a number') from None
    if not 1 <= port <= 65535:
        raise CliError(f"error: port {port} must be between 1 and 65535, inclusive")
    if not target_s:
        return port, port
    try:
        target: int | str = int(target_s)
    except ValueError:
        target = target_s
    if isinstance(target, int) and not 1 <= target <= 65535:
        raise CliError("error: must be between 1 and 65535, inclusive")
    return port, target


_SERVICE_TYPES = {
    "clusterip": "ClusterIP",
    "nodeport": "NodePort",
    "loadbalancer": "LoadBalancer",
    "externalname": "ExternalName",
}


def _create_service(args: argparse.Namespace, io: IO) -> int:
    spec = _mutation_output(args)
    typ_arg = opt(args, "service_type")
    if not typ_arg:
        raise CliError(
            "error: a service type is required: clusterip, nodeport, loadbalancer or "
            f"externalname (see '{PROG} create service --help')"
        )
    typ = _SERVICE_TYPES[typ_arg]
    name = opt(args, "name")
    if not name:
        raise CliError("error: exactly one NAME is required, got 0")
    tcp = [p for v in opt(args, "tcp", []) for p in v.split(",") if p]
    cluster_ip = opt(args, "clusterip")
    if cluster_ip == "None" and typ != "ClusterIP":
        raise CliError("error: ClusterIP=None can only be used with ClusterIP service type")
    if cluster_ip != "None" and not tcp and typ != "ExternalName":
        raise CliError("error: at least one tcp port specifier must be provided")
    external_name = opt(args, "external_name")
    if typ == "ExternalName" and not external_name:
        raise CliError(f"error: invalid service external name {external_name or ''}")
    ports: list[Obj] = []
    for t in tcp:
        port, target = _parse_port(t)
        p: Obj = {
            "name": t.replace(":", "-"),
            "port": port,
            "protocol": "TCP",
            "targetPort": target,
        }
        if opt(args, "node_port"):
            p["nodePort"] = int(opt(args, "node_port"))
        ports.append(p)
    meta: Obj = {"name": name, "labels": {"app": name}}
    if opt(args, "namespace"):
        meta["namespace"] = opt(args, "namespace")
    svc_spec: Obj = {"type": typ, "selector": {"app": name}, "ports": ports}
    if external_name:
        svc_spec["externalName"] = external_name
    if cluster_ip:
        svc_spec["clusterIP"] = cluster_ip
    svc: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": svc_spec,
        "status": {"loadBalancer": {}},
    }
    return _create_generated(args, io, spec, svc, f"failed to create {typ} service")


def _create_namespace(args: argparse.Namespace, io: IO) -> int:
    spec = _mutation_output(args)
    name = opt(args, "name")
    if not name:
        raise CliError("error: exactly one NAME is required, got 0")
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name},
        "spec": {},
        "status": {},
    }
    return _create_generated(args, io, spec, obj, "")


def _create_generated(
    args: argparse.Namespace, io: IO, spec: OutputSpec, obj: Obj, wrap: str
) -> int:
    dry = _dry_run(args)
    if dry == "client":
        if spec.format:
            _print_results(io, spec, [obj])
        else:
            io.out.write(f"{name_of(obj)} created (dry run)\n")
        return 0
    with session(args) as state:
        try:
            created, warnings = state.cluster.create_with_warnings(obj, dry_run=dry == "server")
        except ApiError as e:
            if wrap:
                raise CliError(f"error: {wrap}: {e.message}") from e
            raise
    _warn(io, warnings)
    if spec.format:
        _print_results(io, spec, [created])
    else:
        io.out.write(f"{name_of(created)} created{_suffix(dry)}\n")
    return 0


def run_create(args: argparse.Namespace, io: IO) -> int:
    gen = opt(args, "generator")
    if gen in ("service", "svc"):
        return _create_service(args, io)
    if gen in ("namespace", "ns"):
        return _create_namespace(args, io)
    return _create_objects(args, io)


# =============================================================================== apply


def _comparable(o: Obj) -> Obj:
    out = copy.deepcopy(o)
    meta = out.get("metadata") or {}
    for f in ("resourceVersion", "managedFields", "generation"):
        meta.pop(f, None)
    return out


def _info_string(obj: Obj, info: KindInfo) -> str:
    """resource.Info.String(): what kubectl names the object in apply errors."""
    gv = str(obj.get("apiVersion", info.api_version))
    group, _, version = gv.rpartition("/")
    meta = obj.get("metadata") or {}
    return (
        f'Resource: "{group}/{version}, Resource={info.resource}", '
        f'GroupVersionKind: "{group}/{version}, Kind={info.kind}"\n'
        f'Name: "{meta.get("name", "")}", Namespace: "{meta.get("namespace", "")}"'
    )


def _patch_verb(obj: Obj, info: KindInfo) -> str:
    # kubectl shows its three-way merge patch here; the manifest stands in for it (one
    # JSON cannot carry, such as a YAML !!set, is what the error is about: not shown).
    try:
        patch = to_json(obj, indent=None)
    except (TypeError, ValueError):
        patch = "(not JSON)"
    return f"applying patch:\n{patch}\nto:\n{_info_string(obj, info)}\nfor:"


def run_apply(args: argparse.Namespace, io: IO) -> int:
    spec = _mutation_output(args)
    files = opt(args, "filename") or []
    if not files:
        raise CliError("error: must specify one of -f and -k")
    prepared = _prepare(load_manifests(files, bool(opt(args, "recursive")), io.inp), args)
    if not prepared:
        raise CliError("error: no objects passed to apply")
    for m, info in prepared:
        if not (m.obj.get("metadata") or {}).get("name"):
            raise CliError(
                "error: error when retrieving current configuration of:\n"
                f'Resource: "{info.resource}", Name: "", '
                f'Namespace: "{m.obj["metadata"].get("namespace", "")}"\n'
                f'from server for: "{m.source}": resource name may not be empty'
            )
    dry = _dry_run(args)
    errors: list[Exception] = []
    results: list[Obj] = []
    with session(args) as state:
        c = state.cluster
        for m, info in prepared:
            meta = m.obj["metadata"]
            name = meta["name"]
            try:
                current: Obj | None = c.get(info.kind, name, meta.get("namespace"))
            except NotFoundError:
                current = None
            except ApiError as e:
                verb = (
                    "retrieving current configuration of:\n"
                    f"{_info_string(m.obj, info)}\nfrom server for:"
                )
                errors.append(add_source(verb, m.source, e))
                continue
            if dry == "client":
                results.append(m.obj)
                verb = "created" if current is None else "configured"
                if not spec.format:
                    io.out.write(f"{kind_string(info)}/{name} {verb} (dry run)\n")
                continue
            try:
                if current is None:
                    obj, warnings = c.create_with_warnings(m.obj, dry_run=dry == "server")
                    verb = "created"
                else:
                    preview, warnings = c.apply_with_warnings(m.obj, dry_run=True)
                    if _comparable(preview) == _comparable(current):
                        obj, verb = current, "unchanged"
                    else:
                        if dry != "server":
                            obj, warnings = c.apply_with_warnings(m.obj, dry_run=False)
                        else:
                            obj = preview
                        verb = "configured"
            except ApiError as e:
                verb = "creating" if current is None else _patch_verb(m.obj, info)
                errors.append(add_source(verb, m.source, e))
                continue
            _warn(io, warnings)
            results.append(obj)
            if not spec.format:
                io.out.write(f"{kind_string(info)}/{name} {verb}{_suffix(dry)}\n")
    _print_results(io, spec, results)
    return _finish(io, errors)


# =============================================================================== delete


def run_delete(args: argparse.Namespace, io: IO) -> int:
    spec = parse_output(opt(args, "output"))
    if spec.format not in ("", "name"):
        raise CliError(
            f"error: unexpected -o output mode: {spec.format}, the flag 'output' must be name"
        )
    resources = list(opt(args, "resources", []))
    files = opt(args, "filename") or []
    if not resources and not files:
        raise CliError(
            "error: You must provide one or more resources by argument or filename.\n"
            "Example resource specifications include:\n"
            "   '-f rsrc.yaml'\n"
            "   '--filename=rsrc.json'\n"
            "   '<resource> <name>'\n"
            "   '<resource>'"
        )
    targets = parse_targets(resources, "delete")
    sel = parse_selector(opt(args, "selector"))
    fsel = parse_field_selector(opt(args, "field_selector"))
    delete_all = bool(opt(args, "all"))
    selecting = delete_all or not sel.empty or bool(opt(args, "field_selector"))
    for _kind, names in targets.items:
        if not names and not selecting:
            raise CliError("error: resource(s) were provided, but no name was specified")
        if names and selecting:
            raise CliError("error: name cannot be provided when a selector is specified")
    prepared = (
        _prepare(load_manifests(files, bool(opt(args, "recursive")), io.inp), args) if files else []
    )
    all_ns = bool(opt(args, "all_namespaces"))
    ns = _namespace(args)
    dry = _dry_run(args)
    ignore_nf = bool(opt(args, "ignore_not_found"))
    errors: list[Exception] = []
    deleted = 0
    warn_scope = bool(opt(args, "namespace"))
    with session(args) as state:
        c = state.cluster
        work: list[tuple[KindInfo, str, str | None, str]] = []
        for kind, names in targets.items:
            info = KINDS[kind]
            if names:
                work.extend((info, n, ns, "") for n in names)
            else:
                for o in _filter(c.list(kind, None if all_ns else ns), sel, fsel):
                    meta = o.get("metadata") or {}
                    work.append((info, str(meta.get("name", "")), meta.get("namespace"), ""))
        for m, info in prepared:
            meta = m.obj["metadata"]
            work.append((info, str(meta.get("name", "")), meta.get("namespace"), m.source))
        for info, name, obj_ns, source in work:
            try:
                if dry != "client":
                    _obj, warnings = c.delete_with_warnings(
                        info.kind, name, obj_ns, dry_run=dry == "server"
                    )
                    _warn(io, warnings)
                else:
                    c.get(info.kind, name, obj_ns)
            except NotFoundError as e:
                if not ignore_nf:
                    errors.append(add_source("deleting", source, e) if source else e)
                continue
            except ApiError as e:
                errors.append(add_source("deleting", source, e) if source else e)
                continue
            deleted += 1
            if warn_scope and not info.namespaced:
                io.err.write(
                    "Warning: deleting cluster-scoped resources, not scoped to the provided "
                    "namespace\n"
                )
                warn_scope = False
            if spec.format == "name":
                io.out.write(f"{kind_string(info)}/{name}\n")
            else:
                io.out.write(f'{kind_string(info)} "{name}" deleted{_suffix(dry)}\n')
    if not work and not errors:
        io.out.write("No resources found\n")  # delete.go prints this on stdout
    return _finish(io, errors)


# =============================================================================== others


def run_init(args: argparse.Namespace, io: IO) -> int:
    path = resolve_state_dir(opt(args, "state"))
    rng = str(opt(args, "service_cluster_ip_range", DEFAULT_RANGE))
    clock = str(opt(args, "clock", "wall"))
    state = init_state(path, rng, clock, opt(args, "seed"), audit_log=_audit_log(args))
    state.close()
    io.out.write(
        f"servicecidr state initialized in {path} "
        f"(--service-cluster-ip-range {rng}, {clock} clock"
        + (f", seed {opt(args, 'seed')}" if opt(args, "seed") is not None else "")
        + ")\n"
    )
    return 0


def run_api_resources(args: argparse.Namespace, io: IO) -> int:
    spec = parse_output(opt(args, "output"))
    namespaced = opt(args, "namespaced")
    infos = sorted(KINDS.values(), key=lambda i: (i.group != "", i.group, i.resource))
    if namespaced is not None:
        infos = [i for i in infos if i.namespaced == (namespaced == "true")]
    if spec.format == "name":
        for i in infos:
            io.out.write(f"{i.resource}{'.' + i.group if i.group else ''}\n")
        return 0
    head = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if spec.format == "wide":
        head.append("VERBS")
    rows = [head]
    for i in infos:
        row = [
            i.resource,
            ",".join(i.short_names),
            i.api_version,
            str(i.namespaced).lower(),
            i.kind,
        ]
        if spec.format == "wide":
            verbs = "[get list watch]" if i.kind == "Event" else "[create delete get list update]"
            row.append(verbs)
        rows.append(row)
    io.out.write(render_table(rows))
    return 0


def parse_duration(text: str) -> float:
    """``5s``, ``10m``, ``2h30m``, ``17d`` or a bare number of seconds."""
    try:
        return clock_parse_duration(text)
    except ValueError as e:
        raise CliError(f"error: {e}") from e


def run_reconcile(args: argparse.Namespace, io: IO) -> int:
    advance = opt(args, "advance")
    seconds = parse_duration(str(advance)) if advance is not None else None
    with session(args) as state:
        c = state.cluster
        if seconds is not None:
            if not c.clock.simulated:
                raise CliError(
                    "error: --advance needs a state on a simulated clock (init --clock simulated)"
                )
            c.reconcile(advance=seconds)
            c.reconcile()
        clock = "simulated" if c.clock.simulated else "wall"
        io.out.write(f"reconciled at {format_time(c.clock.now())} ({clock} clock)\n")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, IO], int]] = {
    "init": run_init,
    "get": run_get,
    "describe": run_describe,
    "create": run_create,
    "apply": run_apply,
    "delete": run_delete,
    "api-resources": run_api_resources,
    "reconcile": run_reconcile,
}


def run_command(name: str, args: argparse.Namespace, io: IO) -> int:
    """Run one of :data:`COMMANDS`, turning failures into kubectl-style messages."""
    try:
        return COMMANDS[name](args, io)
    except CliError as e:
        io.err.write(e.message.rstrip("\n") + "\n")
        return e.code
    except ApiError as e:
        io.err.write(format_errors([e]) + "\n")
        return 1
    except ServiceCIDRError as e:
        io.err.write(f"error: {e}\n")
        return 1
