"""`make bench`: every benchmark, one after the other, then one table of their figures.

Benchmarks compare against a baseline measured in the same run (raw pika publishing, a
bare Flask echo app, a no-op consumer, a small clock table), because absolute numbers on a
shared machine say little; the ratios are what the issues set targets for. Each benchmark
prints its own report and records its headline figures (`bench/summary.py`); the table at
the end shows every one of them against its target.

`make bench QUICK=1` (or `--quick`) runs each benchmark short (fewer rounds, seconds and
events, 100,000 clocks instead of 1,000,000): a developer's loop of a few minutes whose
figures are noisier than the full run's, which is the one for the record.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import summary  # noqa: E402

BENCHMARKS = ["relay_bench.py", "ppid_bench.py", "lapor_bench.py", "siber_bench.py", "notifier_bench.py"]
QUICK_ARGS = {
    "relay_bench.py": ["--events", "10000", "--rounds", "1", "--latency-seconds", "2",
                       "--latency-min-events", "30"],
    "ppid_bench.py": ["--duration", "2", "--warmup", "1", "--rounds", "1"],
    "lapor_bench.py": ["--duration", "2", "--warmup", "1", "--rounds", "1"],
    "siber_bench.py": ["--duration", "1.5", "--warmup", "0.5", "--rounds", "1", "--articles", "100"],
    "notifier_bench.py": ["--sizes", "10000,100000", "--repeats", "1", "--events", "1000"],
}


def table(figures: list[summary.Figure], outcomes: dict[str, str]) -> list[str]:
    rows = [("benchmark", "figure", "measured", "target", "", "note")]
    for figure in figures:
        rows.append((figure.benchmark, figure.what, figure.measured, figure.target,
                     {True: "met", False: "NOT met", None: ""}[figure.met], figure.note))
    recorded = {figure.benchmark for figure in figures}
    for name, outcome in outcomes.items():
        # A benchmark records its figures under its own name: ppid_bench.py as "ppid".
        if outcome != "ok" or name.removesuffix("_bench.py") not in recorded:
            rows.append((name, "(no figure recorded)", "", "", outcome, ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join(cells + [row[5]]).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short developer's run")
    parser.add_argument("names", nargs="*", help="only these benchmarks (e.g. notifier_bench.py)")
    args = parser.parse_args(argv)
    quick = args.quick or summary.quick()
    chosen = [name for name in BENCHMARKS if not args.names or name in args.names]
    collected = Path(tempfile.mkstemp(prefix="bench-summary-", suffix=".jsonl")[1])
    env = {**os.environ, summary.SUMMARY_ENV: str(collected), summary.QUICK_ENV: "1" if quick else "0"}
    outcomes: dict[str, str] = {}
    started = time.monotonic()
    try:
        for name in chosen:
            path = HERE / name
            if not path.exists():
                print(f"== {name}: not present, skipped")
                outcomes[name] = "not present"
                continue
            command = [sys.executable, str(path), *(QUICK_ARGS.get(name, []) if quick else [])]
            print(f"== {' '.join([name, *command[2:]])}", flush=True)
            began = time.monotonic()
            done = subprocess.run(command, cwd=HERE.parent, env=env)
            outcomes[name] = "ok" if done.returncode == 0 else f"failed (exit {done.returncode})"
            print(f"== {name}: {time.monotonic() - began:.0f} s", flush=True)
        figures = summary.read(collected)
    finally:
        collected.unlink(missing_ok=True)
    minutes = (time.monotonic() - started) / 60
    print()
    print(f"Summary of `make bench{' QUICK=1' if quick else ''}` ({minutes:.1f} min): every figure"
          " against its target, each a ratio to a baseline of this same run where it says so")
    print(*table(figures, outcomes), sep="\n")
    failed = [name for name, outcome in outcomes.items() if outcome.startswith("failed")]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
