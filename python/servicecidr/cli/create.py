"""``servicecidr create``: from files, and the service/namespace generators kubectl has."""

from __future__ import annotations

import argparse

from servicecidr.cli.common import (
    IO,
    PROG,
    Obj,
    dry_run_mode,
    dry_run_suffix,
    finish,
    mutation_output,
    opt,
    prepare_manifests,
    print_results,
    print_warnings,
    session,
)
from servicecidr.cli.errors import CliError, add_source
from servicecidr.cli.manifests import load_manifests
from servicecidr.cli.printers import (
    OutputSpec,
    kind_string,
    name_of,
)
from servicecidr.errors import ApiError

__all__ = ["run_create"]


def _create_objects(args: argparse.Namespace, io: IO) -> int:
    spec = mutation_output(args)
    files = opt(args, "filename") or []
    if not files:
        raise CliError(
            f"error: must specify one of -f and -k, or a generator (see '{PROG} create --help')"
        )
    prepared = prepare_manifests(load_manifests(files, bool(opt(args, "recursive")), io.inp), args)
    if not prepared:
        raise CliError("error: no objects passed to create")
    dry = dry_run_mode(args)
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
            print_warnings(io, warnings)
            results.append(obj)
            if not spec.format:
                io.out.write(
                    f"{kind_string(info)}/{obj['metadata']['name']} created{dry_run_suffix(dry)}\n"
                )
    print_results(io, spec, results)
    return finish(io, errors)


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
    spec = mutation_output(args)
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
    spec = mutation_output(args)
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
    dry = dry_run_mode(args)
    if dry == "client":
        if spec.format:
            print_results(io, spec, [obj])
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
    print_warnings(io, warnings)
    if spec.format:
        print_results(io, spec, [created])
    else:
        io.out.write(f"{name_of(created)} created{dry_run_suffix(dry)}\n")
    return 0


def run_create(args: argparse.Namespace, io: IO) -> int:
    gen = opt(args, "generator")
    if gen in ("service", "svc"):
        return _create_service(args, io)
    if gen in ("namespace", "ns"):
        return _create_namespace(args, io)
    return _create_objects(args, io)
