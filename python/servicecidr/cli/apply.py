"""``servicecidr apply``: client-side apply with kubectl's messages (created, configured,
unchanged)."""

from __future__ import annotations

import argparse
import copy

from servicecidr.api.kinds import KindInfo
from servicecidr.cli.common import (
    IO,
    Obj,
    dry_run_mode,
    dry_run_suffix,
    field_validation,
    finish,
    mutation_output,
    opt,
    prepare_manifests,
    print_results,
    print_warnings,
    session,
)
from servicecidr.cli.errors import Aggregate, CliError, add_source
from servicecidr.cli.manifests import load_manifests
from servicecidr.cli.printers import (
    kind_string,
    to_json,
)
from servicecidr.errors import ApiError, NotFoundError

__all__ = ["run_apply"]


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
    spec = mutation_output(args)
    validate = field_validation(args)
    files = opt(args, "filename") or []
    if not files:
        raise CliError("error: must specify one of -f and -k")
    # kubectl applies what it can map and reports each kind the server does not serve
    # (first, as one error: its builder visits every object before applying any).
    unmapped: list[tuple[int, Exception]] = []
    manifests = load_manifests(files, bool(opt(args, "recursive")), io.inp)
    prepared = prepare_manifests(manifests, args, unmapped)
    if not prepared and not unmapped:
        raise CliError("error: no objects passed to apply")
    for m, info in prepared:
        if not (m.obj.get("metadata") or {}).get("name"):
            raise CliError(
                "error: error when retrieving current configuration of:\n"
                f'Resource: "{info.resource}", Name: "", '
                f'Namespace: "{m.obj["metadata"].get("namespace", "")}"\n'
                f'from server for: "{m.source}": resource name may not be empty'
            )
    dry = dry_run_mode(args)
    errors: list[Exception] = []
    if unmapped:
        errors.append(Aggregate([e for _, e in unmapped]))
    results: list[Obj] = []
    if not prepared:
        return finish(io, errors)
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
                    obj, warnings = c.create_with_warnings(
                        m.obj, dry_run=dry == "server", field_validation=validate
                    )
                    verb = "created"
                else:
                    preview, warnings = c.apply_with_warnings(
                        m.obj, dry_run=True, field_validation=validate
                    )
                    if _comparable(preview) == _comparable(current):
                        obj, verb = current, "unchanged"
                    else:
                        if dry != "server":
                            obj, warnings = c.apply_with_warnings(
                                m.obj, dry_run=False, field_validation=validate
                            )
                        else:
                            obj = preview
                        verb = "configured"
            except ApiError as e:
                verb = "creating" if current is None else _patch_verb(m.obj, info)
                errors.append(add_source(verb, m.source, e))
                continue
            print_warnings(io, warnings)
            results.append(obj)
            if not spec.format:
                io.out.write(f"{kind_string(info)}/{name} {verb}{dry_run_suffix(dry)}\n")
    print_results(io, spec, results)
    return finish(io, errors)
