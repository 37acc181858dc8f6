"""``servicecidr get``: tables, -o yaml|json|name|wide|jsonpath|custom-columns, as kubectl
prints them."""

from __future__ import annotations

import argparse

from servicecidr.api.kinds import KINDS
from servicecidr.cli.common import IO, Obj, filter_objects, finish, opt, read_request, session
from servicecidr.cli.errors import CliError
from servicecidr.cli.printers import (
    OutputSpec,
    for_output,
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
from servicecidr.errors import ApiError, NotFoundError

__all__ = ["run_get"]


def run_get(args: argparse.Namespace, io: IO) -> int:
    spec = parse_output(opt(args, "output"))
    sel, fsel, targets, prepared, all_ns, ns = read_request(args, io, "get")
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
                objs = filter_objects(listed, sel, fsel)
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
    return finish(io, errors)


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
