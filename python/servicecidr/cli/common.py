"""What every kubectl verb shares: the streams, argument helpers, the state session,
reading requests and printing results as kubectl does."""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from servicecidr.api.decode import FieldValidation
from servicecidr.api.field_errors import go_quote
from servicecidr.api.kinds import KINDS, KindInfo, resolve_kind
from servicecidr.cli.errors import CliError, format_errors
from servicecidr.cli.manifests import Manifest, load_manifests
from servicecidr.cli.printers import (
    OutputSpec,
    for_output,
    name_of,
    parse_output,
    print_custom_columns,
    print_jsonpath,
    to_json,
    to_yaml,
)
from servicecidr.cli.selectors import Selector, parse_field_selector, parse_selector
from servicecidr.cli.state import (
    State,
    open_state,
    resolve_state_dir,
)
from servicecidr.errors import BadRequestError

__all__ = [
    "IO",
    "PROG",
    "WRITABLE_KINDS",
    "CliParser",
    "Targets",
    "UsageError",
    "audit_log_path",
    "check_mapping",
    "dry_run_mode",
    "dry_run_suffix",
    "field_validation",
    "filter_objects",
    "finish",
    "mutation_output",
    "namespace_of",
    "opt",
    "parse_targets",
    "prepare_manifests",
    "print_results",
    "print_warnings",
    "read_request",
    "resolve_names",
    "session",
]

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


def opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option value (options default to 'absent' so parents and subcommands mix)."""
    return getattr(args, name, default)


def resolve_names(name: str) -> list[str]:
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
            for k in resolve_names(t):
                out.setdefault(k, []).append(n)
        return Targets(list(out.items()), single_item=len(resources) == 1)
    kinds: list[str] = []
    for t in resources[0].split(","):
        if not t:
            continue
        for k in resolve_names(t):
            if k not in kinds:
                kinds.append(k)
    names = resources[1:]
    return Targets(
        [(k, list(names)) for k in kinds],
        single_item=len(kinds) == 1 and len(names) == 1,
    )


def namespace_of(args: argparse.Namespace) -> str:
    ns = opt(args, "namespace")
    return str(ns) if ns else "default"


def print_warnings(io: IO, warnings: list[str]) -> None:
    for w in warnings:
        io.err.write(f"Warning: {w}\n")


def audit_log_path(args: argparse.Namespace) -> str | None:
    """``--audit-log PATH``, else ``$SERVICECIDR_AUDIT_LOG``, else none."""
    value = opt(args, "audit_log") or os.environ.get("SERVICECIDR_AUDIT_LOG")
    return str(value) if value else None


@contextmanager
def session(args: argparse.Namespace) -> Iterator[State]:
    """Open the state, let the controllers catch up, and save it afterwards."""
    state = open_state(resolve_state_dir(opt(args, "state")), audit_log=audit_log_path(args))
    try:
        state.catch_up()
        yield state
    finally:
        state.close()


#: strconv.ParseBool's spellings of true and false
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def field_validation(args: argparse.Namespace) -> FieldValidation:
    """``GetValidationDirective``: ``--validate`` as the ``fieldValidation`` kubectl sends
    (strict unless told otherwise)."""
    v = str(opt(args, "validate", "strict"))
    if v in _TRUE or v == "strict":
        return "Strict"
    if v in _FALSE or v == "ignore":
        return "Ignore"
    if v == "warn":
        return "Warn"
    raise CliError(
        f"error: invalid - validate option {go_quote(v)}; must be one of: strict (or true), "
        "warn, ignore (or false)"
    )


def dry_run_mode(args: argparse.Namespace) -> str:
    v = opt(args, "dry_run", "none")
    return "none" if v in (None, "none") else str(v)


def dry_run_suffix(dry: str) -> str:
    return {"server": " (server dry run)", "client": " (dry run)"}.get(dry, "")


def check_mapping(m: Manifest) -> KindInfo:
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


def prepare_manifests(
    manifests: list[Manifest],
    args: argparse.Namespace,
    unmapped: list[tuple[int, Exception]] | None = None,
) -> list[tuple[Manifest, KindInfo]]:
    """Map every manifest to its kind and settle namespaces, before any request. With
    ``unmapped``, a manifest of a kind the server does not serve is left out and its
    error kept there with its position (kubectl's builder goes on past it); without,
    the first such error ends the command."""
    explicit = opt(args, "namespace")
    out = []
    for i, m in enumerate(manifests):
        try:
            info = check_mapping(m)
        except CliError as e:
            if unmapped is None:
                raise
            unmapped.append((i, e))
            continue
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


def print_results(io: IO, spec: OutputSpec, objs: list[Obj]) -> None:
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


def mutation_output(args: argparse.Namespace) -> OutputSpec:
    spec = parse_output(opt(args, "output"))
    if spec.format == "wide":
        raise CliError('error: unable to match a printer suitable for the output format "wide"')
    return spec


def finish(io: IO, errors: list[Exception]) -> int:
    if errors:
        io.err.write(format_errors(errors).rstrip("\n") + "\n")
        return 1
    return 0


def filter_objects(objs: list[Obj], sel: Selector, fsel: Callable[[Obj], bool]) -> list[Obj]:
    return [o for o in objs if sel.matches((o.get("metadata") or {}).get("labels")) and fsel(o)]


def read_request(
    args: argparse.Namespace, io: IO, verb: str
) -> tuple[Selector, Callable[[Obj], bool], Targets, list[tuple[Manifest, KindInfo]], bool, str]:
    """What get and describe share: selectors, targets, files, namespace."""
    sel = parse_selector(opt(args, "selector"))
    fsel = parse_field_selector(opt(args, "field_selector"))
    targets = parse_targets(list(opt(args, "resources", [])), verb)
    files = opt(args, "filename") or []
    manifests = load_manifests(files, bool(opt(args, "recursive")), io.inp) if files else []
    prepared = prepare_manifests(manifests, args) if manifests else []
    if not targets.items and not prepared:
        raise CliError(
            f"error: You must specify the type of resource to {verb}. Use "
            f'"{PROG} api-resources" for a complete list of supported resources.'
        )
    return sel, fsel, targets, prepared, bool(opt(args, "all_namespaces")), namespace_of(args)
