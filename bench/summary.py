"""The headline figures of the benchmarks, gathered by `make bench` into one table.

A benchmark calls `record()` for each figure the issues set a target for. Under `make bench`
(`run_all.py`) the environment names a file (BENCH_SUMMARY) that collects one JSON line per
figure; run on its own, a benchmark records nothing and prints its own report as before.
`quick()` says whether `make bench QUICK=1` asked for the short developer's run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SUMMARY_ENV = "BENCH_SUMMARY"
QUICK_ENV = "BENCH_QUICK"


@dataclass(frozen=True)
class Figure:
    benchmark: str
    what: str
    measured: str  # as the report shows it: "0.62", "18.4 ms", "1,240/s"
    target: str  # ">= 0.5", "<= 50 ms"; empty for a figure shown without a target
    met: bool | None
    note: str = ""


def quick() -> bool:
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def record(
    benchmark: str, what: str, measured: str, target: str = "", met: bool | None = None, note: str = ""
) -> None:
    path = os.environ.get(SUMMARY_ENV)
    if not path:
        return
    figure = Figure(benchmark, what, measured, target, None if met is None else bool(met), note)
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(figure), ensure_ascii=False) + "\n")


def read(path: Path) -> list[Figure]:
    if not path.exists():
        return []
    figures = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            figures.append(Figure(**json.loads(line)))
    return figures
