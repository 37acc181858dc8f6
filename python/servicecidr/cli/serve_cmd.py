"""``servicecidr serve``: the Kubernetes API over a state, for kubectl and client
libraries; ``servicecidr advance``: let simulated time pass on a running server.

``serve`` opens the state as every verb does (``--state DIR``, ``$SERVICECIDR_STATE``,
``./.servicecidr``; created when missing, or kept in memory with ``--memory``), binds
(``127.0.0.1:6443`` by default), writes a kubeconfig, and serves until SIGINT or SIGTERM,
then closes the state (the log is synced). Every acknowledged write is in the log before
the reply (durability ``group`` by default: a killed process loses nothing); a record
torn by a crash mid-write (never acknowledged) is set aside when the state is opened
again, as ``servicecidr log repair`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from servicecidr.cli.common import IO, PROG
from servicecidr.cli.errors import CliError
from servicecidr.cli.state import DEFAULT_RANGE, META_FILE, resolve_state_dir
from servicecidr.clock import SIMULATION_EPOCH, Clock, SimulatedClock, WallClock
from servicecidr.cluster import Cluster
from servicecidr.errors import ServiceCIDRError

__all__ = ["DEFAULT_KUBECONFIG", "add_parser", "run"]

DEFAULT_KUBECONFIG = "servicecidr.kubeconfig"


def add_parser(sub: Any) -> None:
    """Register ``serve`` and ``advance``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "serve",
        help="serve the Kubernetes API over the state (for kubectl and client libraries)",
        description="Serve the Kubernetes API (Services, ServiceCIDRs, IPAddresses, "
        "admission policies, Events, Namespaces) over the state, with the controllers "
        "running, and write a kubeconfig for kubectl. Plain HTTP only on loopback; any "
        "other address gets TLS and a bearer token (written into the kubeconfig).",
        epilog="examples:\n"
        f"  {PROG} serve &\n"
        f"  kubectl --kubeconfig {DEFAULT_KUBECONFIG} get servicecidr\n"
        f"  {PROG} --state ./lab serve --listen 127.0.0.1:0 --kubeconfig-out lab.kubeconfig\n"
        f"  {PROG} serve --memory --clock simulated --service-cluster-ip-range 10.96.0.0/28\n"
        f"  {PROG} serve --listen 0.0.0.0:6443     # TLS and a token\n",
        formatter_class=fmt,
    )
    p.add_argument(
        "--state",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="state directory (default: $SERVICECIDR_STATE, else ./.servicecidr)",
    )
    p.add_argument(
        "--memory", action="store_true", help="serve a fresh in-memory cluster (no state)"
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:6443",
        metavar="HOST:PORT",
        help="address to serve on (default 127.0.0.1:6443; port 0 picks a free one)",
    )
    p.add_argument(
        "--kubeconfig-out",
        default=DEFAULT_KUBECONFIG,
        metavar="FILE",
        help=f"where to write the kubeconfig (default ./{DEFAULT_KUBECONFIG})",
    )
    p.add_argument(
        "--clock",
        choices=("wall", "simulated"),
        default=None,
        help="wall: real time; simulated: time moves only with 'servicecidr advance' "
        "(default: the state's clock, wall for a new one)",
    )
    p.add_argument(
        "--service-cluster-ip-range",
        default=None,
        metavar="CIDR[,CIDR]",
        help=f"for a new state or --memory (default {DEFAULT_RANGE}); for an existing "
        "state, the range kube-apiserver restarts with",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of every random choice")
    p.add_argument(
        "--durability",
        choices=("fsync", "group", "none"),
        default="group",
        help="when acknowledged writes reach the disk: fsync (before each reply), group "
        "(within 20 ms; a killed process loses nothing; default), none (OS buffers)",
    )
    p.add_argument("--secure", action="store_true", help="TLS and a token on loopback too")
    p.add_argument("--tls-cert-file", metavar="FILE", help="serving certificate (PEM)")
    p.add_argument("--tls-private-key-file", metavar="FILE", help="its private key (PEM)")
    p.add_argument(
        "--tls-ca-file", metavar="FILE", help="the CA clients should trust (default: the cert)"
    )
    p.add_argument(
        "--token-file", metavar="FILE", help="file holding the bearer token (default: random)"
    )

    a = sub.add_parser(
        "advance",
        help="let simulated time pass on a running server",
        description="Ask a server started with --clock simulated to let DURATION pass, "
        "running the controllers on the way (the ServiceCIDR deletion grace, the repair "
        "loop's grace). Prints the new time.",
        epilog="examples:\n"
        f"  {PROG} advance 10s\n"
        f"  {PROG} advance 17d --kubeconfig lab.kubeconfig\n",
        formatter_class=fmt,
    )
    a.add_argument("duration", metavar="DURATION", help="5s, 10m, 2h, 17d")
    a.add_argument(
        "--kubeconfig",
        metavar="FILE",
        default=None,
        help=f"the server's kubeconfig (default: $KUBECONFIG, else ./{DEFAULT_KUBECONFIG})",
    )


def run(args: argparse.Namespace, io: IO) -> int:
    """Run ``serve`` or ``advance``."""
    try:
        if args.command == "advance":
            return _advance(args, io)
        return _serve(args, io)
    except CliError as e:
        io.err.write(e.message + "\n")
        return e.code


# --------------------------------------------------------------------------- serve


def _open(args: argparse.Namespace) -> Cluster:
    want = args.clock
    range_ = args.service_cluster_ip_range
    try:
        if args.memory:
            clock: Clock = SimulatedClock(SIMULATION_EPOCH) if want == "simulated" else WallClock()
            return Cluster(range_ or DEFAULT_RANGE, args.seed, clock)
        path = resolve_state_dir(getattr(args, "state", None))
        new = not (path / META_FILE).is_file()
        if new:
            c = Cluster.open(
                path,
                service_cluster_ip_range=range_ or DEFAULT_RANGE,
                seed=args.seed,
                clock=SimulatedClock(SIMULATION_EPOCH) if want == "simulated" else None,
                durability=args.durability,
            )
        else:
            # A record torn by a crash mid-write was never acknowledged: set it aside.
            c = Cluster.open(
                path,
                service_cluster_ip_range=range_,
                seed=args.seed,
                durability=args.durability,
                repair=True,
            )
            if want is not None and c.clock.simulated != (want == "simulated"):
                # Reopen on the clock asked for (a simulated one starts from now).
                now = c.clock.now()
                c.close()
                c = Cluster.open(
                    path,
                    clock=SimulatedClock(now) if want == "simulated" else WallClock(),
                    durability=args.durability,
                    repair=True,
                )
        return c
    except ServiceCIDRError as e:
        raise CliError(f"error: {e}") from e


def _credentials(args: argparse.Namespace) -> tuple[Any, str | None]:
    from servicecidr.serve.tls import from_files

    creds = None
    if args.tls_cert_file or args.tls_private_key_file:
        if not (args.tls_cert_file and args.tls_private_key_file):
            raise CliError("error: --tls-cert-file and --tls-private-key-file go together")
        try:
            creds = from_files(args.tls_cert_file, args.tls_private_key_file, args.tls_ca_file)
        except OSError as e:
            raise CliError(f"error: {e}") from e
    token = None
    if args.token_file:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as e:
            raise CliError(f"error: {e}") from e
        if not token:
            raise CliError(f"error: {args.token_file} holds no token")
    return creds, token


def _serve(args: argparse.Namespace, io: IO) -> int:
    try:
        from servicecidr.serve.server import Server
    except ImportError as e:  # aiohttp is the `serve` extra
        raise CliError(f"error: serving needs aiohttp ({e}); install servicecidr[serve]") from e
    creds, token = _credentials(args)
    cluster = _open(args)
    try:
        server = Server(
            cluster,
            listen=args.listen,
            kubeconfig_out=args.kubeconfig_out,
            secure=True if args.secure else None,
            credentials=creds,
            token=token,
        )
        return asyncio.run(_main(server, cluster, io))
    except ServiceCIDRError as e:
        raise CliError(f"error: {e}") from e
    finally:
        try:
            cluster.close()
        except ServiceCIDRError as e:
            io.err.write(f"error: {e}\n")


async def _main(server: Any, cluster: Cluster, io: IO) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start_async()
    except OSError as e:
        raise CliError(f"error: listen tcp {args_address(server)}: {e.strerror or e}") from e
    where = cluster.state_dir or "memory"
    clock = "simulated" if cluster.clock.simulated else "wall"
    io.out.write(f"Serving the Kubernetes API at {server.url} (state: {where}, clock: {clock})\n")
    io.out.write(
        f"kubeconfig: {server.kubeconfig_path}\n"
        f"  kubectl --kubeconfig {server.kubeconfig_path} get servicecidr\n"
    )
    io.out.flush()
    await stop.wait()
    await server.stop_async()
    return 0


def args_address(server: Any) -> str:
    """``host:port`` as Go prints a listen address."""
    host = server.host
    return f"[{host}]:{server.port}" if ":" in host else f"{host}:{server.port}"


# --------------------------------------------------------------------------- advance


def _kubeconfig(path: str | None) -> tuple[str, ssl.SSLContext | None, str | None]:
    """(server URL, TLS context pinning the CA, token) of the kubeconfig's current
    context."""
    if path is None:
        env = os.environ.get("KUBECONFIG", "")
        path = env.split(os.pathsep)[0] if env else DEFAULT_KUBECONFIG
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise CliError(f"error: cannot read the kubeconfig {path}: {e}") from e
    try:
        ctx_name = doc["current-context"]
        ctx = next(c["context"] for c in doc["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
        users: list[dict[str, Any]] = doc.get("users") or []
        user: dict[str, Any] = next((u["user"] for u in users if u["name"] == ctx.get("user")), {})
        url = str(cluster["server"])
    except (KeyError, TypeError, StopIteration) as e:
        raise CliError(f"error: {path} is not a kubeconfig of a server: {e!r}") from e
    tls = None
    if url.startswith("https:"):
        tls = ssl.create_default_context()
        ca = cluster.get("certificate-authority-data")
        if ca:
            tls.load_verify_locations(cadata=base64.b64decode(ca).decode())
    token = (user or {}).get("token")
    return url, tls, token


def _advance(args: argparse.Namespace, io: IO) -> int:
    url, tls, token = _kubeconfig(args.kubeconfig)
    query = urllib.parse.urlencode({"by": args.duration})
    req = urllib.request.Request(f"{url}/servicecidr/advance?{query}", data=b"", method="POST")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=tls, timeout=60) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("message", str(e))
        except ValueError:
            message = str(e)
        raise CliError(f"error: {message}") from e
    except (urllib.error.URLError, OSError) as e:
        raise CliError(f"error: cannot reach the server at {url}: {e}") from e
    io.out.write(f"{body['time']}\n")
    return 0
