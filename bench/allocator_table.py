"""Release + allocate_next churn: the Rust allocator beside a pure-Python baseline.

Run ``python bench/allocator_table.py`` (``--quick`` for a smoke run). For each range
and fill level it keeps the range at that fill while releasing random allocated
addresses and allocating as many new ones, and prints nanoseconds per address (one
release plus one allocate_next):

* rust single:   ``release(ip)`` and ``allocate_next()``, one call per address;
* rust batched:  ``release_many(batch)`` and ``allocate_next_many(len(batch))``;
* rust int:      the integer forms: ``release_many_int(buffer)`` and
  ``allocate_next_many_int(n)`` (a list of ints);
* rust buffer:   ``release_many_int(view)`` and ``allocate_next_many_into(view)`` on a
  memoryview of the caller's own array: no Python object per address;
* baseline:      ``bench/baselines.py`` (a set of ints, random probing), one call
  per address (batching gains nothing in pure Python).

Every figure is measured in this run: the best of three medians over rounds. The
harness keeps the allocated addresses as integers in an ``array`` and hands each
round's victims over as a freshly built ``str`` list (as a replay of decoded events
would); the conversions are not timed. Keeping a million ``str`` objects alive
instead spreads Python's heap, and every new string then costs the caller cache misses
whatever allocator made it; one such figure is printed below the table for comparison.

Then a fresh subprocess makes a million ``allocate_next`` calls in ``fd00::/64`` and
reports the growth of its peak RSS. The goals of the issue (``goals.py``) are printed at
the end, met or missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from array import array
from collections.abc import Callable

from baselines import PythonSetAllocator
from goals import ALLOC_INT_NS, ALLOC_NS, ALLOC_RATIO, IPV6_RSS
from servicecidr._core import CidrAllocator

CIDRS = ["10.0.0.0/16", "10.0.0.0/12"]
FILLS = [0.0, 0.5, 0.9, 0.99, 0.999]
BATCH = 1000
SEED = 20240611


def to_int(ip: str) -> int:
    return int.from_bytes(socket.inet_aton(ip), "big")


def to_text(n: int) -> str:
    return socket.inet_ntoa(n.to_bytes(4, "big"))


def filled(cidr: str, fill: float) -> tuple[CidrAllocator, array[int]]:
    """An allocator at ``fill``, and its allocated addresses in random order."""
    a = CidrAllocator(cidr, seed=SEED)
    held = array("L", map(to_int, a.allocate_next_many(max(int(a.size * fill), BATCH))))
    random.Random(SEED).shuffle(held)
    return a, held


def churn(
    held: array[int],
    rounds: int,
    step: Callable[[list[str]], list[str]],
    budget_s: float = float("inf"),
    passes: int = 3,
) -> float:
    """ns per address of ``step(victims) -> newly allocated``: the best of ``passes``
    medians, so that a burst of load from other processes does not decide a cell."""
    medians: list[float] = []
    # One untimed round first: the first call after a big setup pays for page faults
    # and cold caches that the steady state does not.
    held[0:BATCH] = array("L", map(to_int, step([to_text(n) for n in held[0:BATCH]])))
    r = 1
    for _ in range(passes):
        samples: list[float] = []
        spent = 0.0
        for _ in range(max(1, rounds // passes)):
            j = (r * BATCH) % (len(held) - BATCH + 1)
            r += 1
            victims = [to_text(n) for n in held[j : j + BATCH]]
            t0 = time.perf_counter_ns()
            new = step(victims)
            elapsed = time.perf_counter_ns() - t0
            held[j : j + BATCH] = array("L", map(to_int, new))
            samples.append(elapsed / BATCH)
            spent += elapsed / 1e9
            if spent > budget_s / passes:
                break
        medians.append(statistics.median(samples))
    return min(medians)


def churn_int(
    a: CidrAllocator, held: array[int], rounds: int, into: bool, passes: int = 3
) -> float:
    """``churn`` through the integer API: the victims are a slice of ``held`` itself
    (a buffer), the new addresses come back as a list of ints or, with ``into``, are
    written over the victims in place."""
    view = memoryview(held)
    medians: list[float] = []
    r = 0
    for p in range(passes + 1):  # the first pass is untimed (see churn)
        samples: list[float] = []
        for _ in range(max(1, rounds // passes) if p else 1):
            j = (r * BATCH) % (len(held) - BATCH + 1)
            r += 1
            victims = view[j : j + BATCH]
            t0 = time.perf_counter_ns()
            a.release_many_int(victims)
            if into:
                a.allocate_next_many_into(victims)
            else:
                new = a.allocate_next_many_int(BATCH)
            elapsed = time.perf_counter_ns() - t0
            if not into:
                held[j : j + BATCH] = array("L", new)
            samples.append(elapsed / BATCH)
        if p:
            medians.append(statistics.median(samples))
    view.release()
    return min(medians)


def churn_long_lived_strings(cidr: str, fill: float, rounds: int) -> tuple[float, int]:
    """Batched churn where the caller keeps every allocated address as a str."""
    a = CidrAllocator(cidr, seed=SEED)
    held = a.allocate_next_many(int(a.size * fill))
    random.Random(SEED).shuffle(held)
    samples = []
    for r in range(rounds):
        j = (r * BATCH) % (len(held) - BATCH + 1)
        victims = held[j : j + BATCH]
        t0 = time.perf_counter_ns()
        a.release_many(victims)
        new = a.allocate_next_many(BATCH)
        samples.append((time.perf_counter_ns() - t0) / BATCH)
        held[j : j + BATCH] = new
    return statistics.median(samples), len(held)


def rust_batched(a: CidrAllocator) -> Callable[[list[str]], list[str]]:
    def step(victims: list[str]) -> list[str]:
        a.release_many(victims)
        return a.allocate_next_many(len(victims))

    return step


def one_by_one(a: CidrAllocator | PythonSetAllocator) -> Callable[[list[str]], list[str]]:
    release, allocate_next = a.release, a.allocate_next

    def step(victims: list[str]) -> list[str]:
        new = []
        for ip in victims:
            release(ip)
            new.append(allocate_next())
        return new

    return step


MEMORY_PROBE = textwrap.dedent(
    """
    import resource, sys
    from servicecidr._core import CidrAllocator

    def peak_kib():
        # Linux keeps ru_maxrss across exec, so a child of a big process would start
        # at its parent's peak; VmHWM is the new process's own high-water mark.
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    n = int(sys.argv[1])
    a = CidrAllocator("fd00::/64", seed=1)
    before = peak_kib()
    allocate_next = a.allocate_next
    for _ in range(n):
        allocate_next()
    after = peak_kib()
    assert a.used == n
    print((after - before) / 1024)
    """
)


def ipv6_peak_rss_mib(n: int) -> float:
    """Peak-RSS growth (MiB) of a fresh interpreter making ``n`` allocate_next calls
    (``ru_maxrss``, or on Linux the equivalent per-process ``VmHWM``)."""
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small rounds, for a smoke run")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rounds = 5 if args.quick else 60
    baseline_budget = 0.2 if args.quick else 1.5
    memory_n = 100_000 if args.quick else 1_000_000

    print("Release + allocate_next churn, ns per address (best of 3 medians, batches of 1000)")
    if args.quick:
        print("(quick run: a few rounds per cell, figures are rough)")
    header = (
        f"{'range':<13}{'fill':>7}{'rust single':>13}{'rust batched':>14}{'rust int':>10}"
        f"{'rust buffer':>13}{'baseline':>11}{'single x':>10}{'batched x':>11}{'int x':>8}"
    )
    print(header)
    print("-" * len(header))
    # A fresh interpreter forked from a small process: see ipv6_peak_rss_mib.
    mib = ipv6_peak_rss_mib(memory_n)
    gc.disable()
    results: dict[tuple[str, float], tuple[float, float, float, float, float]] = {}
    for cidr in CIDRS:
        for fill in FILLS:
            a, held = filled(cidr, fill)
            batched = churn(held, rounds, rust_batched(a))
            ints = churn_int(a, held, rounds, into=False)
            buffer = churn_int(a, held, rounds, into=True)
            single = churn(held, max(3, rounds // 4), one_by_one(a))
            base = PythonSetAllocator(cidr, seed=SEED)
            base.load_ints(held)
            baseline = churn(held, rounds, one_by_one(base), budget_s=baseline_budget)
            assert a.used == base.used, "both sides must churn at the same fill"
            results[(cidr, fill)] = (single, batched, ints, buffer, baseline)
            print(
                f"{cidr:<13}{fill:>7.1%}{single:>13.0f}{batched:>14.0f}{ints:>10.0f}"
                f"{buffer:>13.0f}{baseline:>11.0f}{baseline / single:>10.0f}"
                f"{baseline / batched:>11.0f}{baseline / ints:>8.0f}"
            )
            del a, held, base
            gc.collect()
    long_lived, kept = churn_long_lived_strings(CIDRS[-1], FILLS[-1], rounds)
    gc.enable()
    print()
    print(
        f"{CIDRS[-1]} at {FILLS[-1]:.1%}, batched, with the caller keeping all "
        f"{kept:,} addresses as str objects: {long_lived:.0f} ns per address"
    )
    print(f"{memory_n:,} allocate_next calls in fd00::/64: peak RSS +{mib:.1f} MiB")

    single, batched, ints, buffer, baseline = results[(CIDRS[-1], FILLS[-1])]
    print()
    print(ALLOC_NS.line(batched))
    print(ALLOC_INT_NS.line(ints, note=f"into a buffer: {buffer:.0f} ns; text: {batched:.0f} ns"))
    print(ALLOC_RATIO.line(baseline / batched))
    print(IPV6_RSS.line(mib, memory_n))
    if args.json:
        figures = {
            "single_ns": single,
            "batched_ns": batched,
            "baseline_ns": baseline,
            "int_ns": ints,
            "buffer_ns": buffer,
            "ipv6_rss_mib": mib,
            "ipv6_calls": memory_n,
        }
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
