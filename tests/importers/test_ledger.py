"""The address ledger of an observed import, alone: given the Service and IPAddress writes
an input recorded, which divergences it reports and which IPAddresses it derives.

Built on a bare engine (one /28 ServiceCIDR); nothing is committed — the ledger only
judges writes, as the importer calls it before each commit.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from servicecidr.apiserver import Engine
from servicecidr.clock import SimulatedClock
from servicecidr.importers.inputs import Record
from servicecidr.importers.ledger import AddressLedger
from servicecidr.importers.report import ImportReport
from servicecidr.journal.recorder import MemoryRecorder
from servicecidr.journal.records import OP_DELETE, OP_PUT, Write

RANGE = "10.96.0.0/28"


def _engine() -> Engine:
    e = Engine((RANGE,), ("IPv4",), 1, SimulatedClock(), MemoryRecorder())
    e.lifecycle = None
    e.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "kubernetes"},
            "spec": {"cidrs": [RANGE]},
        },
        actor="test",
    )
    return e


def _rec(line: int) -> Record:
    return Record("audit.log", line, float(line), float(line), "create", "Service", "default", "x")


def _ledger(*, derive: bool = False) -> tuple[AddressLedger, ImportReport]:
    report = ImportReport()
    return AddressLedger(_engine(), report, derive=derive, next_rv=lambda: 100), report


Step = Callable[[AddressLedger, list[Write]], None]


def _svc(key: str, *ips: str, old: tuple[str, ...] = (), line: int = 1) -> Step:
    return lambda led, w: led.service_written(_rec(line), key, ips, old, w)


def _ipa(ip: str, parent: str, *, existed: bool = False, line: int = 1) -> Step:
    return lambda led, w: led.ipaddress_written(_rec(line), ip, parent, True, existed)


def _svc_gone(key: str, line: int = 1) -> Step:
    return lambda led, w: led.service_gone(_rec(line), key, w)


def _ipa_gone(ip: str, line: int = 1) -> Step:
    return lambda led, w: led.ipaddress_gone(_rec(line), ip)


CASES: list[tuple[str, list[Step], dict[str, int]]] = [
    (
        "a Service and its IPAddress",
        [_svc("default/a", "10.96.0.5"), _ipa("10.96.0.5", "default/a")],
        {},
    ),
    (
        "one address, two Services",
        [
            _svc("default/a", "10.96.0.5"),
            _ipa("10.96.0.5", "default/a"),
            _svc("default/b", "10.96.0.5", line=2),
        ],
        {"ip-reused": 1},
    ),
    (
        "an IPAddress created for another Service while the first holds it",
        [_svc("default/a", "10.96.0.5"), _ipa("10.96.0.5", "default/b")],
        {"ip-reused": 1, "service-without-ipaddress": 1},
    ),
    (
        "an IPAddress moved between Services",
        [
            _svc("default/a", "10.96.0.5"),
            _ipa("10.96.0.5", "default/a"),
            _ipa("10.96.0.5", "default/b", existed=True),
        ],
        {"ip-reused": 1},
    ),
    (
        "an address in no ready ServiceCIDR",
        [_svc("default/a", "10.200.0.1"), _ipa("10.200.0.1", "default/a")],
        {"ip-out-of-range": 2},
    ),
    (
        "a ClusterIP that never got its IPAddress",
        [_svc("default/a", "10.96.0.5")],
        {"service-without-ipaddress": 1},
    ),
    (
        "an IPAddress deleted while its Service holds it",
        [_svc("default/a", "10.96.0.5"), _ipa("10.96.0.5", "default/a"), _ipa_gone("10.96.0.5")],
        {"service-without-ipaddress": 1},
    ),
    (
        "a Service deleted, its IPAddress kept",
        [_svc("default/a", "10.96.0.5"), _ipa("10.96.0.5", "default/a"), _svc_gone("default/a")],
        {"ipaddress-not-released": 1},
    ),
    (
        "a ClusterIP that is not an IP",
        [_svc("default/a", "26")],
        {"ip-out-of-range": 1},
    ),
]


@pytest.mark.parametrize(
    ("steps", "want"), [(s, w) for _, s, w in CASES], ids=[c[0] for c in CASES]
)
def test_divergences(steps: list[Step], want: dict[str, int]) -> None:
    led, report = _ledger()
    for step in steps:
        step(led, [])
    missing = led.settle()
    for ip, (svc, rec) in missing.items():
        report.diverge("service-without-ipaddress", f"{svc} {ip}", rec)
    assert dict(report.divergence_counts) == want
    assert all(d.message for d in report.divergences)


def test_a_divergence_names_the_record_at_fault() -> None:
    led, report = _ledger()
    _svc("default/a", "10.96.0.5", line=7)(led, [])
    _ipa("10.96.0.5", "default/a", line=8)(led, [])
    _svc("default/b", "10.96.0.5", line=9)(led, [])
    (d,) = report.divergences
    assert d.message == "10.96.0.5 given to Service default/b while Service default/a holds it"
    assert "audit.log:9" in d.line()


def test_derived_addresses_are_written_and_released_with_their_service() -> None:
    led, report = _ledger(derive=True)
    writes: list[Write] = []
    led.service_written(_rec(1), "default/a", ("10.96.0.5",), (), writes)
    (w,) = writes
    assert (w.op, w.kind, w.key, w.rv) == (OP_PUT, "IPAddress", "10.96.0.5", 101)
    assert led.is_derived("10.96.0.5")
    gone: list[Write] = []
    led.service_gone(_rec(2), "default/a", gone)
    assert [(x.op, x.key) for x in gone] == [(OP_DELETE, "10.96.0.5")]
    assert not led.is_derived("10.96.0.5")
    assert led.settle() == {} and not report.divergences
    assert report.notes["IPAddresses derived from Service ClusterIPs"] == 1


def test_a_dropped_clusterip_is_released() -> None:
    led, report = _ledger()
    _svc("default/a", "10.96.0.5", "10.96.0.6")(led, [])
    _ipa("10.96.0.5", "default/a")(led, [])
    _ipa("10.96.0.6", "default/a")(led, [])
    # the Service now lists only .5; the IPAddress of .6 was never deleted
    _svc("default/a", "10.96.0.5", old=("10.96.0.5", "10.96.0.6"))(led, [])
    led.settle()  # (nothing is committed here: the store holds no Service a)
    assert [d.message for d in report.divergences] == [
        "IPAddress 10.96.0.6 still points to Service default/a, which is gone"
    ]
