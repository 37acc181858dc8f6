"""The server: the Kubernetes API over a :class:`~servicecidr.Cluster`, on asyncio.

:class:`Server` binds (loopback by default), writes a kubeconfig, serves, and runs the
controllers as kube-controller-manager would beside kube-apiserver: after every write
and every ``resync`` seconds. On a simulated clock the controllers run without moving
time; time moves only when asked (``POST /servicecidr/advance?by=10s``, ``servicecidr
advance``).

Security: plain HTTP without credentials only on a loopback address (``127.0.0.1``,
``::1``, ``localhost``); any other address gets TLS (a self-signed CA and serving
certificate made at start unless one is given) and a bearer token, both written into the
kubeconfig. ``secure=True`` asks for the same on loopback.

Embedding::

    from servicecidr import Cluster
    from servicecidr.serve import Server

    with Server(Cluster("10.96.0.0/28"), kubeconfig_out="kubeconfig") as srv:
        ...  # KUBECONFIG=kubeconfig kubectl get servicecidr

The server runs on its own thread and event loop; the Cluster must not be used from other
threads meanwhile (:meth:`Server.call` runs a function on the server's thread).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aiohttp import web

from servicecidr.api.users import ADMIN_USER, client_actor
from servicecidr.cluster import Cluster
from servicecidr.errors import InvalidInputError, ServiceCIDRError
from servicecidr.serve.api import Api
from servicecidr.serve.app import App
from servicecidr.serve.hub import Hub
from servicecidr.serve.kubeconfig import kubeconfig, write_kubeconfig
from servicecidr.serve.watch import WatchSettings

if TYPE_CHECKING:
    from servicecidr.serve.tls import Credentials

__all__ = ["LOOPBACK_HOSTS", "Server", "parse_listen"]

log = logging.getLogger("servicecidr.serve")
T = TypeVar("T")

#: Addresses served over plain HTTP without credentials.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:6443`` for IPv6; ``:6443`` is every address, as in Go)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep:
        raise InvalidInputError(f"--listen {listen!r}: use HOST:PORT, e.g. 127.0.0.1:6443")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise InvalidInputError(f"--listen {listen!r}: the port is not a number") from None
    if not 0 <= port <= 65535:
        raise InvalidInputError(f"--listen {listen!r}: the port must be 0-65535")
    if not host:
        host = "0.0.0.0"
    elif host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise InvalidInputError(
                f"--listen {listen!r}: {host!r} is not an IP address (or localhost)"
            ) from None
    return host, port


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class _Controllers:
    """The controllers' runs: soon after writes (at most every ``min_interval`` seconds,
    so that a burst of writes shares one run, as informers batch what they deliver), and
    every ``resync`` seconds."""

    def __init__(
        self,
        cluster: Cluster,
        loop: asyncio.AbstractEventLoop,
        resync: float,
        min_interval: float = 0.01,
    ) -> None:
        self._cluster = cluster
        self._loop = loop
        self._resync = resync
        self._min_interval = min_interval
        self._scheduled = False
        self._last = -1e9
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        wait = self._last + self._min_interval - self._loop.time()
        if wait > 0:
            self._loop.call_later(wait, self.run)
        else:
            self._loop.call_soon(self.run)

    def run(self) -> None:
        self._scheduled = False
        try:
            self._cluster.reconcile("0s" if self._cluster.clock.simulated else None)
        except ServiceCIDRError as e:
            log.warning("controllers: %s", e)
        self._last = self._loop.time()

    def advance(self, by: str) -> None:
        self._cluster.reconcile(by)

    def start(self) -> None:
        self._task = self._loop.create_task(self._periodic())

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self._resync)
            self.run()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class Server:
    """The Kubernetes API server over ``cluster`` (see the module docstring).

    Args:
        cluster: what is served (its owner closes it).
        listen: ``HOST:PORT``; port 0 picks a free one (see :attr:`url`).
        kubeconfig_out: where to write the kubeconfig (also :attr:`kubeconfig`).
        secure: TLS and a token even on loopback (None: only beyond loopback).
        credentials: the serving certificate (None: a self-signed one when TLS is on).
        token: the bearer token (None: a random one when TLS is on).
        resync: seconds between the controllers' periodic runs.
        request_timeout: seconds a request may take to arrive, body included.
        keepalive_timeout: seconds an idle keep-alive connection stays open.
        bookmark_interval: seconds between watch bookmarks.
    """

    def __init__(
        self,
        cluster: Cluster,
        *,
        listen: str = "127.0.0.1:6443",
        kubeconfig_out: str | os.PathLike[str] | None = None,
        secure: bool | None = None,
        credentials: Credentials | None = None,
        token: str | None = None,
        resync: float = 1.0,
        request_timeout: float = 60.0,
        keepalive_timeout: float = 90.0,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.cluster = cluster
        self.host, self._port = parse_listen(listen)
        tls = secure if secure is not None else self.host not in LOOPBACK_HOSTS
        if not tls and (credentials is not None or token is not None):
            tls = True
        self.credentials: Credentials | None = None
        self.token: str | None = None
        if tls:
            # cryptography is needed only here (a server beyond loopback).
            from servicecidr.serve.tls import new_token, self_signed

            self.credentials = credentials or self_signed(self.host)
            self.token = token or new_token()
        self._kubeconfig_out = kubeconfig_out
        self._resync = resync
        self._request_timeout = request_timeout
        self._keepalive_timeout = keepalive_timeout
        self._bookmark_interval = bookmark_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._controllers: _Controllers | None = None
        self.app: App | None = None
        self.hub: Hub | None = None
        self.kubeconfig_path: Path | None = None

    # ------------------------------------------------------------------ facts

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with TLS)."""
        scheme = "https" if self.credentials is not None else "http"
        return f"{scheme}://{_url_host(self.host)}:{self._port}"

    @property
    def kubeconfig(self) -> dict[str, Any]:
        """The kubeconfig of this server (as written to ``kubeconfig_out``)."""
        ca = self.credentials.ca_pem if self.credentials is not None else None
        return kubeconfig(self.url, ca_pem=ca, token=self.token)

    # ------------------------------------------------------------------ in a loop

    async def start_async(self) -> None:
        """Bind and start serving on the running loop (the caller's thread then owns the
        Cluster)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.hub = Hub(self.cluster, loop)
        self._controllers = _Controllers(self.cluster, loop, self._resync)
        api = Api(self.cluster, client_actor(ADMIN_USER), self._controllers.poke)
        self.app = App(
            self.cluster,
            api,
            self.hub,
            token=self.token,
            on_advance=self._controllers.advance if self.cluster.clock.simulated else None,
            request_timeout=self._request_timeout,
            watch=WatchSettings(self._bookmark_interval),
            server_address=f"{_url_host(self.host)}:{self._port}",
        )
        runner = web.AppRunner(
            self.app.application(),
            handler_cancellation=True,
            access_log=None,
            keepalive_timeout=self._keepalive_timeout,
        )
        await runner.setup()
        ssl_context = self.credentials.context() if self.credentials is not None else None
        site = web.TCPSite(runner, self.host, self._port, ssl_context=ssl_context, backlog=1024)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self._port = int(addresses[0][1])
        self.app.server_address = f"{_url_host(self.host)}:{self._port}"
        # Catch up first (a restarted state may have pending controller work).
        self._controllers.run()
        self._controllers.start()
        if self._kubeconfig_out is not None:
            self.kubeconfig_path = write_kubeconfig(self._kubeconfig_out, self.kubeconfig)

    async def stop_async(self) -> None:
        """Stop serving: end the watches, close connections, stop the controllers."""
        if self._controllers is not None:
            self._controllers.stop()
        if self.hub is not None:
            self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ in a thread

    def start(self) -> Server:
        """Serve on a thread of its own; returns once listening."""
        if self._thread is not None:
            raise InvalidInputError("this server is already started")
        ready: Future[None] = Future()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as e:
                ready.set_exception(e)
                loop.close()
                return
            ready.set_result(None)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop_async())
                loop.close()

        self._thread = threading.Thread(target=run, name="servicecidr-serve", daemon=True)
        self._thread.start()
        try:
            ready.result()
        except BaseException:
            self._thread.join()
            self._thread = None
            raise
        return self

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the server's thread (between two requests) and return its
        result: the way to read or change the Cluster while it is served."""
        loop = self._loop
        if loop is None or self._thread is None:
            return fn()

        async def go() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(go(), loop).result()

    def stop(self) -> None:
        """Stop the thread started by :meth:`start` (the Cluster stays open)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
