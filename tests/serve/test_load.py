"""A bounded load on loopback: a thousand clients' worth of creates, lists and deletes
while a hundred watchers follow; afterwards the state is consistent and every watcher saw
every change, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from tests.serve.server_kit import Running

from servicecidr import Cluster

CLIENTS = 1000
WATCHERS = 100
SVCS = "/api/v1/namespaces/default/services"


async def _load(s: Running, start_rv: int) -> list[list[tuple[str, str, int]]]:
    seen: list[list[tuple[str, str, int]]] = [[] for _ in range(WATCHERS)]
    opened = 0

    async def watcher(i: int, session: aiohttp.ClientSession) -> None:
        nonlocal opened
        url = f"{s.url}{SVCS}?watch=true&resourceVersion={start_rv}&timeoutSeconds=300"
        async with session.get(url) as resp:
            assert resp.status == 200
            opened += 1
            while True:
                line = await resp.content.readline()
                if not line:
                    return
                ev = json.loads(line)
                meta = ev["object"]["metadata"]
                seen[i].append((ev["type"], meta["name"], int(meta["resourceVersion"])))

    async def client(i: int, session: aiohttp.ClientSession) -> None:
        body = {"metadata": {"name": f"c{i}"}, "spec": {"ports": [{"port": 80}]}}
        async with session.post(s.url + SVCS, json=body) as r:
            assert r.status == 201, await r.text()
            await r.read()
        async with session.get(f"{s.url}{SVCS}?limit=50") as r:
            assert r.status == 200
            await r.read()
        if i % 2 == 0:
            async with session.delete(f"{s.url}{SVCS}/c{i}") as r:
                assert r.status == 200, await r.text()
                await r.read()

    async def until(what: str, check: Any, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not check():
            assert loop.time() < end, f"timed out waiting for {what}"
            await asyncio.sleep(0.05)

    def last_service_rv() -> int:
        changes = s.cluster.changes_since(start_rv)
        return max((rv for rv, _t, kind, _k, _o in changes if kind == "Service"), default=0)

    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with (
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=WATCHERS), timeout=timeout
        ) as ws,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as cs,
    ):
        watchers = [asyncio.create_task(watcher(i, ws)) for i in range(WATCHERS)]
        try:
            await until("the watchers to connect", lambda: opened == WATCHERS, 60)
            await asyncio.wait_for(asyncio.gather(*(client(i, cs) for i in range(CLIENTS))), 120)
            last = s.server.call(last_service_rv)
            await until(
                "every watcher to see the last change",
                lambda: all(w and w[-1][2] >= last for w in seen),
                120,
            )
        finally:
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
    return seen


def test_a_thousand_clients_and_a_hundred_watchers(serve: Any) -> None:
    s: Running = serve(Cluster("10.0.0.0/16", seed=1))
    start_rv = s.server.call(lambda: s.cluster.revision)
    seen = asyncio.run(_load(s, start_rv))

    changes = s.server.call(lambda: s.cluster.changes_since(start_rv))
    expected = [
        (t, o["metadata"]["name"], rv)
        for rv, t, kind, _key, o in changes
        if kind == "Service" and o["metadata"].get("namespace") == "default"
    ]
    assert len([e for e in expected if e[0] == "ADDED"]) == CLIENTS
    assert len([e for e in expected if e[0] == "DELETED"]) == CLIENTS // 2
    for i, got in enumerate(seen):
        assert got == expected, f"watcher {i} saw a different history"

    problems, counts = s.server.call(s.cluster.check)
    assert problems == []
    assert counts["services"] == 1 + CLIENTS // 2
    assert counts["ipAddresses"] == 1 + CLIENTS // 2
