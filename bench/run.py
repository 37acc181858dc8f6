"""Run every benchmark table: the allocator core, then the cluster model."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    for script in ("allocator_table.py", "cluster_table.py"):
        print(f"\n== {script}")
        sys.argv = [script]
        runpy.run_path(str(HERE / script), run_name="__main__")


if __name__ == "__main__":
    main()
