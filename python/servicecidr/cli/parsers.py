"""The arguments of the kubectl verbs, with kubectl's flags, help and examples."""

from __future__ import annotations

import argparse
from typing import Any

from servicecidr.cli.common import PROG, CliParser
from servicecidr.cli.state import (
    DEFAULT_RANGE,
    add_state_flag,
)

__all__ = ["add_parsers"]

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


def _add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--validate",
        nargs="?",
        const="strict",
        default=S,
        metavar="MODE",
        help="strict (or true, the default): refuse unknown fields; warn: a warning each; "
        "ignore (or false): drop them silently (the server's fieldValidation)",
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
    _add_validate(p)
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
        _add_validate(sp)
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
    _add_validate(ns)

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
    _add_validate(p)
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
