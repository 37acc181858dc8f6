"""Write ``tests/data/log-v1``: a state directory in log format 1, event schema 1.

The directory is kept in the repository and opened by tests/test_log_fixture.py forever
after, so that every later servicecidr still reads what this one wrote. Run it only to
create the fixture of a *new* version (copy it to make_log_vN.py first); it refuses to
overwrite an existing directory. Deterministic: seeded, simulated clock, fixed meta time.

    python tests/data/make_log_v1.py [OUT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from servicecidr import Cluster, SimulatedClock


def svc(name: str, ns: str = "default", **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "log-v1"
    if out.exists():
        sys.exit(f"{out} exists; the fixture of a version is written once")
    with Cluster.open(
        out, service_cluster_ip_range="10.96.0.0/28", seed=42, clock=SimulatedClock()
    ) as c:
        c.create(svc("web"))
        c.create(svc("db"))
        c.create(svc("api", "prod"))
        c.clock.advance(60)
        c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "ServiceCIDR",
                "metadata": {"name": "extra"},
                "spec": {"cidrs": ["10.97.0.0/29"]},
            }
        )
        c.reconcile()
        c.create(svc("pinned", clusterIP="10.97.0.3"))
        c.delete("Service", "db")
        c.snapshot()
        c.clock.advance(60)
        c.create(svc("cache", "prod"))
        c.delete("ServiceCIDR", "extra")  # held by its finalizer: 10.97.0.3 is in use
        c.reconcile(advance="11s")
        print(c.digest())
    meta = json.loads((out / "meta").read_text())
    meta["created"] = "2025-01-01T00:00:00.000000Z"
    (out / "meta").write_text(json.dumps(meta, indent=2) + "\n")
    (out / "lock").unlink()  # it holds a pid; a reader does not need it


if __name__ == "__main__":
    main()
