"""``servicecidr serve`` under load, beside the engine it serves. Usage:

    python bench/serve_table.py [--creates 20000] [--connections 16] [--watchers 100]
                                [--fanout-creates 300] [--json PATH]

* HTTP creates: Service POSTs over keep-alive connections to a server in its own process
  (``servicecidr serve --memory``), from a lean asyncio client (raw HTTP/1.1 on
  ``asyncio`` streams, so the client costs little of the second core): creates per
  second, and p50/p99 latency per request;
* baselines: the engine's in-process ``Cluster.create`` of the same Services, in a fresh
  process of this run; and the floor of the HTTP stack, an aiohttp server whose handler
  only reads the body and answers 201 with a small JSON, under the same client;
* watch fan-out: with ``--watchers`` watches open on the Services, creates sent one at a
  time; for every watcher and event, the time from sending the create to that watcher
  reading the event (p50, p99, max).

No figure is asserted (DESIGN.md rule 10); ``goals.py`` prints the issue's goal beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RANGE = "10.0.0.0/12"
SVCS = "/api/v1/namespaces/default/services"

ENGINE = r"""
import json, sys, time
from servicecidr import Cluster
n = int(sys.argv[1])
c = Cluster("10.0.0.0/12", seed=1)
objs = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}"},
         "spec": {"ports": [{"port": 80}]}} for i in range(n)]
t = time.perf_counter()
for o in objs:
    c.create(o)
dt = time.perf_counter() - t
print(json.dumps({"creates_per_s": n / dt}))
"""


FLOOR = r"""
import sys
from aiohttp import web
async def handle(request):
    await request.read()
    return web.Response(status=201, body=b'{"kind":"Service"}', content_type="application/json")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", handle)
async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await __import__("asyncio").Event().wait()
__import__("asyncio").run(main())
"""


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def _create(name: str) -> bytes:
    body = json.dumps(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"ports": [{"port": 80}]}},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    return _request("POST", SVCS, body)


async def _response(r: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await r.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), await r.readexactly(length)


async def _creates(host: str, port: int, names: list[str], conns: int) -> dict[str, Any]:
    per: list[list[bytes]] = [[] for _ in range(conns)]
    for i, name in enumerate(names):
        per[i % conns].append(_create(name))
    latencies: list[float] = []

    async def worker(reqs: list[bytes]) -> None:
        r, w = await asyncio.open_connection(host, port)
        for data in reqs:
            t = time.perf_counter()
            w.write(data)
            status, body = await _response(r)
            if status != 201:
                raise SystemExit(f"create failed: {status} {body[:300]!r}")
            latencies.append(time.perf_counter() - t)
        w.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(p) for p in per))
    wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "creates": len(names),
        "connections": conns,
        "creates_per_s": len(names) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
    }


async def _fanout(host: str, port: int, watchers: int, creates: int) -> dict[str, Any]:
    r, w = await asyncio.open_connection(host, port)
    w.write(_request("GET", SVCS + "?limit=1"))
    _, body = await _response(r)
    rv = json.loads(body)["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    delays: list[float] = []
    done = asyncio.Event()
    remaining = watchers
    opened = asyncio.Event()
    waiting = watchers

    async def watch() -> None:
        nonlocal remaining, waiting
        wr, ww = await asyncio.open_connection(host, port)
        ww.write(_request("GET", f"{SVCS}?watch=true&resourceVersion={rv}"))
        await wr.readuntil(b"\r\n\r\n")
        waiting -= 1
        if waiting == 0:
            opened.set()
        got = 0
        while got < creates:
            size = int((await wr.readline()).strip(), 16)  # chunked framing
            chunk = await wr.readexactly(size + 2)
            now = time.perf_counter()
            for line in chunk[:-2].splitlines():
                ev = json.loads(line)
                name = ev["object"]["metadata"]["name"]
                if ev["type"] == "ADDED" and name in sent:
                    delays.append(now - sent[name])
                    got += 1
        ww.close()
        remaining -= 1
        if remaining == 0:
            done.set()

    tasks = [asyncio.create_task(watch()) for _ in range(watchers)]
    await asyncio.wait_for(opened.wait(), 60)  # every watch open
    for i in range(creates):
        name = f"fan{i}"
        sent[name] = time.perf_counter()
        w.write(_create(name))
        status, _ = await _response(r)
        if status != 201:
            raise SystemExit(f"create failed: {status}")
        await asyncio.sleep(0.002)
    await asyncio.wait_for(done.wait(), 120)
    await asyncio.gather(*tasks)
    w.close()
    delays.sort()
    return {
        "watchers": watchers,
        "events": creates,
        "p50_ms": statistics.median(delays) * 1e3,
        "p99_ms": delays[int(len(delays) * 0.99)] * 1e3,
        "max_ms": delays[-1] * 1e3,
    }


def _server(tmp: Path) -> tuple[subprocess.Popen[str], str, int]:
    kc = tmp / "kubeconfig"
    kc.unlink(missing_ok=True)
    p = subprocess.Popen(
        [sys.executable, "-m", "servicecidr", "serve", "--memory", "--listen", "127.0.0.1:0",
         "--kubeconfig-out", str(kc), "--service-cluster-ip-range", RANGE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    end = time.monotonic() + 60
    while not kc.exists():
        if p.poll() is not None or time.monotonic() > end:
            p.kill()
            raise SystemExit(f"the server did not start: {p.communicate()}")
        time.sleep(0.05)
    import yaml

    url = yaml.safe_load(kc.read_text())["clusters"][0]["cluster"]["server"]
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    return p, host, int(port)


def _stop(p: subprocess.Popen[str]) -> None:
    p.terminate()
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--creates", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--watchers", type=int, default=100)
    ap.add_argument("--fanout-creates", type=int, default=300)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    engine = json.loads(
        subprocess.run(
            [sys.executable, "-c", ENGINE, str(args.creates)],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    names = [f"s{i}" for i in range(args.creates)]
    floor_p = subprocess.Popen(
        [sys.executable, "-c", FLOOR], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert floor_p.stdout is not None
        floor_port = int(floor_p.stdout.readline())
        floor = asyncio.run(_creates("127.0.0.1", floor_port, names, args.connections))
    finally:
        _stop(floor_p)
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as d:
        p, host, port = _server(Path(d))
        try:
            http = asyncio.run(_creates(host, port, names, args.connections))
        finally:
            _stop(p)
        p, host, port = _server(Path(d))
        try:
            fan = asyncio.run(_fanout(host, port, args.watchers, args.fanout_creates))
        finally:
            _stop(p)

    ratio = http["creates_per_s"] / engine["creates_per_s"]
    print("| measure | figure |")
    print("|---|---|")
    print(f"| engine, in process (Cluster.create) | {engine['creates_per_s']:,.0f} creates/s |")
    print(
        f"| HTTP, {http['connections']} keep-alive connections | "
        f"{http['creates_per_s']:,.0f} creates/s ({ratio:.0%} of the engine) |"
    )
    print(
        f"| aiohttp floor (a handler that only answers 201), same client | "
        f"{floor['creates_per_s']:,.0f} requests/s |"
    )
    print(f"| HTTP create latency | p50 {http['p50_ms']:.2f} ms, p99 {http['p99_ms']:.2f} ms |")
    print(
        f"| watch fan-out, {fan['watchers']} watchers × {fan['events']} events | "
        f"p50 {fan['p50_ms']:.2f} ms, p99 {fan['p99_ms']:.2f} ms, max {fan['max_ms']:.2f} ms |"
    )
    if args.json is not None:
        doc = {"engine": engine, "floor": floor, "http": http, "fanout": fan}
        args.json.write_text(json.dumps(doc) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
