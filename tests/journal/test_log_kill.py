"""SIGKILL a writer at 200 random moments: no acknowledged event is ever lost.

Each round forks a child that opens one of a few state directories (durability
``fsync``) and creates and deletes Services in a loop, writing one line to a pipe after
each call returns: the acknowledgement. The parent kills it with SIGKILL a few
milliseconds after it is ready and has acknowledged 0-3 calls, reads the
acknowledgements, reopens the directory (with repair, in case the kill tore a record)
and checks that every acknowledged call is in
the log with the outcome acknowledged, and that the state equals a fresh in-memory
Cluster fed the surviving events.

Forking (rather than starting an interpreter per round) keeps 200 rounds within seconds.
"""

from __future__ import annotations

import os
import random
import signal
import time
import warnings
from pathlib import Path

import pytest

from servicecidr import Cluster, SimulatedClock

ROUNDS = 200
DIRS = 4
RANGE = "10.0.0.0/16"


def _child(state: Path, round_no: int, w: int) -> None:
    """The writer: never returns (os._exit), killed by the parent."""
    try:
        c = Cluster.open(state, service_cluster_ip_range=RANGE, seed=1, clock=SimulatedClock())
        os.write(w, b"ready\n")
        rnd = random.Random(round_no)
        mine: list[str] = []
        i = 0
        while True:
            i += 1
            if mine and rnd.random() < 0.35:
                name = mine.pop(rnd.randrange(len(mine)))
                c.delete("Service", name)
                verb = "delete"
            else:
                name = f"r{round_no}-{i}"
                c.create(
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": name},
                        "spec": {"ports": [{"port": 80}]},
                    }
                )
                mine.append(name)
                verb = "create"
            c.clock.advance(0.5)
            os.write(w, f"{c.seq} {verb} {name}\n".encode())
    except BaseException as e:  # report, never fall back into pytest
        os.write(w, f"error {type(e).__name__}: {e}\n".encode())
        os._exit(1)
    os._exit(0)


def _read_all(r: int) -> str:
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            return b"".join(chunks).decode()
        chunks.append(b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_random_moments_loses_no_acknowledged_event(tmp_path: Path) -> None:
    rnd = random.Random(20250101)
    dirs = [tmp_path / f"state{i}" for i in range(DIRS)]
    acked: dict[Path, dict[int, tuple[str, str]]] = {d: {} for d in dirs}
    torn = 0
    start = time.monotonic()
    for rnd_no in range(ROUNDS):
        d = dirs[rnd_no % DIRS]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(r)
            _child(d, rnd_no, w)
        os.close(w)
        # Wait until the child has opened the directory and acknowledged 0-3 calls, then
        # kill it mid-stream. Counting acknowledgements rather than only sleeping keeps
        # the kills mid-stream however slowly a busy machine runs the child.
        lines = 1 + rnd.randrange(4)
        buf = b""
        while buf.count(b"\n") < lines:
            chunk = os.read(r, 64)
            assert chunk, f"the child died early: {buf.decode(errors='replace')}"
            buf += chunk
        time.sleep(rnd.uniform(0.0005, 0.012))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        out = (buf + _read_all(r).encode()).decode()
        os.close(r)
        assert "error" not in out, out
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        for line in out.splitlines()[1:]:
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit():  # a line cut by the kill is not one
                acked[d][int(parts[0])] = (parts[1], parts[2])

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            c = Cluster.open(d, repair=True)
        torn += sum("torn record" in str(x.message) for x in caught)
        with c:
            events = {ev.seq: ev for ev in c.iter_events()}
            for seq, (verb, name) in acked[d].items():
                ev = events.get(seq)
                assert ev is not None, f"round {rnd_no}: acknowledged event {seq} was lost"
                assert (ev.verb, ev.name) == (verb, name), f"round {rnd_no}: event {seq}"
            fresh = Cluster.replay(list(events.values()), c.service_cluster_ip_range, seed=c.seed)
            assert c.digest() == fresh.digest(), f"round {rnd_no}"
    elapsed = time.monotonic() - start
    total = sum(len(a) for a in acked.values())
    assert total > ROUNDS, "the children hardly wrote anything: the kills came too early"
    print(f"{ROUNDS} kills, {total} acknowledged calls, {torn} torn tails, {elapsed:.1f}s")
