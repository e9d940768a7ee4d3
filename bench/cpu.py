"""CPU seconds that processes spent, read off Linux's /proc, for a benchmark's accounting.

A rate ratio says how far a service is from its baseline, not why: these readings say where
each request's or event's CPU went (the service's processes, the database's), so that a
reader can tell a cost that is the implementation's from a machine that was busy. Where there
is no /proc every reading is 0.0, and the benchmarks leave their accounting out.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def available() -> bool:
    return Path("/proc/self/stat").exists()


def _stat_fields(pid: str) -> tuple[str, list[str]] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    # The command sits in parentheses and may itself hold spaces or parentheses.
    name = text[text.index("(") + 1:text.rindex(")")]
    return name, text[text.rindex(")") + 2:].split()


def _seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15)


def processes_cpu_seconds(command: str) -> float:
    """User and system CPU seconds of every live process named `command`. A process that
    exits between two readings takes its seconds with it: the benchmarks' database backends
    live as long as their connection pools."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        read = _stat_fields(stat.parent.name)
        if read is not None and read[0] == command:
            total += _seconds(read[1])
    return total


def children_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of the live children of `pid` (a gunicorn master's
    workers; the master itself only watches them)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    total = 0.0
    for child in children:
        read = _stat_fields(child)
        if read is not None:
            total += _seconds(read[1])
    return total
