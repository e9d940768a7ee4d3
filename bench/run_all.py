"""`make bench`: every benchmark, one after the other, each printing its own summary.

Benchmarks compare against a baseline measured in the same run (raw pika publishing, a
bare Flask echo app, a small clock table), because absolute numbers on a shared machine
say little; the ratios are what the issues set targets for.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["relay_bench.py", "ppid_bench.py", "lapor_bench.py", "siber_bench.py", "notifier_bench.py"]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        path = HERE / name
        if not path.exists():
            print(f"== {name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
