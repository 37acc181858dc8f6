"""``servicecidr create``: from files, and the service/namespace generators kubectl has."""

from __future__ import annotations

import argparse

from servicecidr.api import validation
from servicecidr.api.decode import FieldValidation
from servicecidr.api.field_errors import go_quote
from servicecidr.cli.common import (
    IO,
    PROG,
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
    validate = field_validation(args)
    files = opt(args, "filename") or []
    if not files:
        raise CliError(
            f"error: must specify one of -f and -k, or a generator (see '{PROG} create --help')"
        )
    # kubectl creates what it can map and reports, in document order, each kind the
    # server does not serve.
    unmapped: list[tuple[int, Exception]] = []
    manifests = load_manifests(files, bool(opt(args, "recursive")), io.inp)
    prepared = prepare_manifests(manifests, args, unmapped)
    if not prepared and not unmapped:
        raise CliError("error: no objects passed to create")
    dry = dry_run_mode(args)
    errors: list[Exception] = []
    results: list[Obj] = []
    if not prepared:
        return finish(io, [e for _, e in unmapped])
    refused = dict(unmapped)
    kinds = {id(m): info for m, info in prepared}
    with session(args) as state:
        c = state.cluster
        for i, m in enumerate(manifests):
            if i in refused:
                errors.append(refused[i])
                continue
            info = kinds[id(m)]
            if dry == "client":
                results.append(m.obj)
                if not spec.format:
                    io.out.write(f"{name_of(m.obj)} created (dry run)\n")
                continue
            try:
                obj, warnings = c.create_with_warnings(
                    m.obj, dry_run=dry == "server", field_validation=validate
                )
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


def _parse_uint16(text: str) -> int:
    """``strconv.ParseUint(text, 10, 16)`` (``utilsnet.ParsePort`` with zero allowed)."""
    if not text or not text.isascii() or not text.isdigit():
        raise CliError(f"error: strconv.ParseUint: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if value > 65535:
        raise CliError(f"error: strconv.ParseUint: parsing {go_quote(text)}: value out of range")
    return value


def _atoi(text: str) -> int | None:
    """``strconv.Atoi``: a decimal int64 with an optional sign (None: not one)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _parse_port(text: str) -> tuple[int, int | str]:
    """kubectl's ``parsePorts``: ``<port>[:<targetPort>]``. A port of 0 is let through (the
    server refuses it); a target port is a number in range or a valid port name."""
    parts = text.split(":")
    port = _parse_uint16(parts[0])
    if len(parts) == 1:
        return port, port
    target = _atoi(parts[1])
    if target is None:
        errs = validation.is_valid_port_name(parts[1])
        if errs:
            raise CliError("error: " + ",".join(errs))
        return port, parts[1]
    errs = validation.is_valid_port_num(target)
    if errs:
        raise CliError("error: " + ",".join(errs))
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
    external_name = opt(args, "external_name")
    if typ == "ExternalName" and external_name is None:
        # cobra checks the flags it was told are required before the command runs
        raise CliError('error: required flag(s) "external-name" not set')
    name = opt(args, "name")
    if not name:
        raise CliError("error: exactly one NAME is required, got 0")
    validate = field_validation(args)
    # pflag's StringSlice: each value is comma-separated, an empty value is no entry
    tcp = [p for v in opt(args, "tcp", []) if v for p in v.split(",")]
    cluster_ip = opt(args, "clusterip")
    if cluster_ip == "None" and typ != "ClusterIP":
        raise CliError("error: ClusterIP=None can only be used with ClusterIP service type")
    if cluster_ip != "None" and not tcp and typ != "ExternalName":
        raise CliError("error: at least one tcp port specifier must be provided")
    if typ == "ExternalName" and validation.is_dns1123_subdomain(external_name or ""):
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
    svc_spec: Obj = {"type": typ, "selector": {"app": name}}
    if ports:  # an empty list is omitted from what kubectl sends (omitempty)
        svc_spec["ports"] = ports
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
    return _create_generated(args, io, spec, svc, f"failed to create {typ} service", validate)


def _create_namespace(args: argparse.Namespace, io: IO) -> int:
    spec = mutation_output(args)
    name = opt(args, "name")
    if not name:
        raise CliError("error: exactly one NAME is required, got 0")
    validate = field_validation(args)
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name},
        "spec": {},
        "status": {},
    }
    return _create_generated(args, io, spec, obj, "", validate)


def _create_generated(
    args: argparse.Namespace,
    io: IO,
    spec: OutputSpec,
    obj: Obj,
    wrap: str,
    validate: FieldValidation,
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
            created, warnings = state.cluster.create_with_warnings(
                obj, dry_run=dry == "server", field_validation=validate
            )
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
