"""Run every benchmark table, each in its own process so its figures are its own.

Usage: python bench/run.py [--quick]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLES: list[tuple[str, list[str], list[str]]] = [
    # (script, args, args when --quick)
    ("allocator_table.py", [], ["--quick"]),
    ("cluster_table.py", [], ["--sizes", "10000"]),
]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    status = 0
    for script, args, quick_args in TABLES:
        path = HERE / script
        if not path.exists():
            continue
        print(f"\n== {script}", flush=True)
        rc = subprocess.call([sys.executable, str(path), *(quick_args if quick else args)])
        status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
