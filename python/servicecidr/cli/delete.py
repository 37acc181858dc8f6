"""``servicecidr delete``: by name, file or selector, finalizers respected, with kubectl's
messages."""

from __future__ import annotations

import argparse

from servicecidr.api.kinds import KINDS, KindInfo
from servicecidr.cli.common import (
    IO,
    dry_run_mode,
    dry_run_suffix,
    filter_objects,
    finish,
    namespace_of,
    opt,
    parse_targets,
    prepare_manifests,
    print_warnings,
    session,
)
from servicecidr.cli.errors import CliError, add_source
from servicecidr.cli.manifests import load_manifests
from servicecidr.cli.printers import (
    kind_string,
    parse_output,
)
from servicecidr.cli.selectors import parse_field_selector, parse_selector
from servicecidr.errors import ApiError, NotFoundError

__all__ = ["run_delete"]


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
        prepare_manifests(load_manifests(files, bool(opt(args, "recursive")), io.inp), args)
        if files
        else []
    )
    all_ns = bool(opt(args, "all_namespaces"))
    ns = namespace_of(args)
    dry = dry_run_mode(args)
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
                for o in filter_objects(c.list(kind, None if all_ns else ns), sel, fsel):
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
                    print_warnings(io, warnings)
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
                io.out.write(f'{kind_string(info)} "{name}" deleted{dry_run_suffix(dry)}\n')
    if not work and not errors:
        io.out.write("No resources found\n")  # delete.go prints this on stdout
    return finish(io, errors)
