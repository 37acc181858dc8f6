"""``servicecidr demo``: the "Extend Service IP Ranges" walkthrough, run for real.

It creates a fresh state in a temporary directory — ``--service-cluster-ip-range
10.96.0.0/28`` on a simulated clock, 17 days old, with CoreDNS's ``kube-system/kube-dns``
Service on 10.96.0.10 as in a kubeadm cluster (which is why the document's first loop
gets 12 addresses before ``range is full``) — then types the document's commands, with
``servicecidr`` for ``kubectl``, through this command line's own ``main`` (the same code
path as a user's shell), printing each command after ``$`` and its output.

``jq`` is not needed: ``... -o json | jq -r .spec.clusterIP`` is run as the ``-o json``
command whose output is then read the way ``jq -r .spec.clusterIP`` reads it.

The demo checks what the document shows (the range fills up, the new ServiceCIDR is
used, the deleted one waits with reason ``Terminating``, then disappears) and exits 1 if
any of it did not happen.
"""

from __future__ import annotations

import argparse
import io as _io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servicecidr.cli.common import IO

__all__ = ["add_parser", "run"]

KUBE_DNS = """apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: CoreDNS
spec:
  clusterIP: 10.96.0.10
  selector:
    k8s-app: kube-dns
  ports:
  - name: dns
    port: 53
    protocol: UDP
    targetPort: 53
  - name: dns-tcp
    port: 53
    protocol: TCP
    targetPort: 53
  - name: metrics
    port: 9153
    protocol: TCP
    targetPort: 9153
"""

NEWCIDR = """apiVersion: networking.k8s.io/v1beta1
kind: ServiceCIDR
metadata:
  name: newcidr1
spec:
  cidrs:
  - 10.96.0.0/24
"""


def add_parser(sub: Any) -> None:
    """Register ``demo``."""
    p = sub.add_parser(
        "demo",
        help="run the 'Extend Service IP Ranges' walkthrough on a fresh state",
        description="Run the walkthrough of the Kubernetes task 'Extend Service IP Ranges' "
        "(fill a /28, add a ServiceCIDR, delete it while in use) on a fresh temporary state "
        "with a simulated clock, printing every command and its output.",
        epilog="examples:\n  servicecidr demo\n  servicecidr demo --seed 7\n"
        "  servicecidr demo --keep ./demo-state && servicecidr --state ./demo-state get ip\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the random choices (default 1)")
    p.add_argument(
        "--keep",
        metavar="DIR",
        default=None,
        help="build the state in DIR (must not exist yet) and keep it afterwards",
    )


class _Shell:
    """Runs command lines in-process against one state and prints like a terminal."""

    def __init__(self, state: Path, out: IO, command: Command) -> None:
        self.state = state
        self.io = out
        self.command = command

    def call(self, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        out, err = _io.StringIO(), _io.StringIO()
        code = self.command(["--state", str(self.state), *argv], IO(out, err, _io.StringIO(stdin)))
        return code, out.getvalue(), err.getvalue()

    def show(self, *lines: str) -> None:
        self.io.out.write("$ " + lines[0] + "\n")
        for line in lines[1:]:
            self.io.out.write("> " + line + "\n")

    def say(self, text: str) -> None:
        self.io.out.write("\n# " + text + "\n")

    def echo(self, out: str, err: str) -> None:
        self.io.out.write(out)
        self.io.out.write(err)
        self.io.out.flush()


def _cmd(argv: list[str]) -> str:
    return "servicecidr " + " ".join(argv)


#: How the demo runs a command line: ``servicecidr.cli.main.run`` (passed in by it).
Command = Callable[[list[str], IO], int]


def run(args: argparse.Namespace, io: IO, command: Command) -> int:
    """``servicecidr demo``."""
    if args.keep:
        target = Path(args.keep)
        if target.exists() and any(target.iterdir()):
            io.err.write(f"error: {target} exists and is not empty\n")
            return 1
        return _demo(target, args.seed, io, command)
    with tempfile.TemporaryDirectory(prefix="servicecidr-demo-") as tmp:
        return _demo(Path(tmp) / "state", args.seed, io, command)


def _demo(state: Path, seed: int, io: IO, command: Command) -> int:
    sh = _Shell(state, io, command)
    failures: list[str] = []

    def setup(argv: list[str], stdin: str = "") -> None:
        code, out, err = sh.call(argv, stdin)
        if code:
            raise RuntimeError(f"demo setup failed: {_cmd(argv)}: {err or out}")

    setup(
        [
            "init",
            "--service-cluster-ip-range",
            "10.96.0.0/28",
            "--clock",
            "simulated",
            "--seed",
            str(seed),
        ]
    )
    setup(["apply", "-f", "-"], KUBE_DNS)
    setup(["reconcile", "--advance", "17d"])
    io.out.write(
        f"# A fresh state in {state}: kube-apiserver --service-cluster-ip-range 10.96.0.0/28,\n"
        "# a simulated clock 17 days after the cluster started, and kube-system/kube-dns on\n"
        "# 10.96.0.10 as kubeadm sets it up. Each command below runs through servicecidr's\n"
        "# command line exactly as typed.\n"
    )

    def step(argv: list[str]) -> tuple[int, str, str]:
        sh.show(_cmd(argv))
        code, out, err = sh.call(argv)
        sh.echo(out, err)
        return code, out, err

    def create_loop(first: int, last: int) -> list[str]:
        sh.show(
            f"for i in $(seq {first} {last}); do servicecidr create service clusterip "
            '"test-$i" --tcp 80 -o json | jq -r .spec.clusterIP; done'
        )
        ips: list[str] = []
        for i in range(first, last + 1):
            argv = ["create", "service", "clusterip", f"test-{i}", "--tcp", "80", "-o", "json"]
            _code, out, err = sh.call(argv)
            if out.strip():
                ip = str(json.loads(out).get("spec", {}).get("clusterIP", ""))  # jq -r
                io.out.write(ip + "\n")
                ips.append(ip)
            io.out.write(err)
        return ips

    sh.say("The default ServiceCIDR, made from kube-apiserver's --service-cluster-ip-range:")
    step(["get", "servicecidr"])
    sh.say("The kubernetes Service takes the first address of the range ...")
    step(["get", "service", "kubernetes"])
    sh.say("... held by the IPAddress object of the same name:")
    step(["get", "ipaddress", "10.96.0.1"])

    sh.say("A /28 has 2^(32-28) - 2 = 14 addresses; kubernetes and kube-dns hold two:")
    ips = create_loop(1, 13)
    if len(ips) != 12:
        failures.append(f"expected 12 ClusterIPs before the range is full, got {len(ips)}")

    sh.say("Add a ServiceCIDR that overlaps the first one and is larger:")
    lines = ["cat <<EOF | servicecidr apply -f -", *NEWCIDR.rstrip("\n").split("\n"), "EOF"]
    sh.show(*lines)
    code, out, err = sh.call(["apply", "-f", "-"], NEWCIDR)
    sh.echo(out, err)
    if code:
        failures.append("applying newcidr1 failed")

    sh.say("New Services get ClusterIPs from the new range:")
    ips = create_loop(13, 16)
    if len(ips) != 4:
        failures.append(f"expected 4 ClusterIPs from newcidr1, got {len(ips)}")

    sh.say("Delete the new ServiceCIDR while Services use addresses only it covers:")
    step(["delete", "servicecidr", "newcidr1"])
    sh.say("Its finalizer keeps it, Terminating, until those addresses are released:")
    _code, out, _err = step(["get", "servicecidr", "newcidr1", "-o", "yaml"])
    if "reason: Terminating" not in out:
        failures.append("newcidr1 is not held with reason Terminating")

    sh.say("Delete the Services that use it ...")
    sh.show('for i in $(seq 13 16); do servicecidr delete service "test-$i" ; done')
    for i in range(13, 17):
        _code, out, err = sh.call(["delete", "service", f"test-{i}"])
        sh.echo(out, err)

    sh.say("... and the controller removes the finalizer; the ServiceCIDR is gone:")
    code, _out, err = step(["get", "servicecidr", "newcidr1"])
    if code == 0 or "NotFound" not in err:
        failures.append("newcidr1 still exists at the end")

    if failures:
        io.err.write("demo: the walkthrough did not go as the document says:\n")
        for f in failures:
            io.err.write(f"  - {f}\n")
        return 1
    return 0
