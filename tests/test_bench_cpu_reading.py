"""The CPU the benchmarks read off /proc for their processes (bench/cpu.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from bench.cpu import children_cpu_seconds, processes_cpu_seconds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux's /proc")


def test_postgresql_work_shows_in_its_processes_cpu(pg_url):
    """A query that keeps a backend busy for a while adds about its time to the total, read
    while the backend lives (a backend that exits takes its seconds with it)."""
    with psycopg.connect(pg_url) as conn:
        before = processes_cpu_seconds("postgres")
        started = time.process_time()
        conn.execute("SELECT count(*) FROM generate_series(1, 4000000)").fetchone()
        assert time.process_time() - started < 0.05  # the work was the server's, not ours
        assert processes_cpu_seconds("postgres") - before >= 0.1


def test_a_command_name_with_spaces_and_parentheses_is_read_whole(tmp_path):
    """The command sits in parentheses in /proc/<pid>/stat and may hold both: the fields
    after it are found from its last parenthesis."""
    shell = tmp_path / "busy (x) y"
    shutil.copy("/bin/sh", shell)
    process = subprocess.Popen([str(shell), "-c", "while :; do :; done"])
    try:
        time.sleep(0.5)
        busy = processes_cpu_seconds("busy (x) y")
    finally:
        process.kill()
        process.wait()
    assert 0.2 <= busy <= 1.0
    assert processes_cpu_seconds("no such command here") == 0.0


def test_a_masters_children_are_counted_and_not_the_master():
    """A gunicorn master's workers do the work: their CPU is read through the master's pid,
    and an idle master with a busy child shows the child's seconds."""
    master = subprocess.Popen(
        ["/bin/sh", "-c", "sh -c 'while :; do :; done' & sh -c 'while :; do :; done' & wait"]
    )
    try:
        time.sleep(1.0)
        busy = children_cpu_seconds(master.pid)
    finally:
        subprocess.run(["pkill", "-P", str(master.pid)], check=False)
        master.kill()
        master.wait()
    assert 0.4 <= busy <= 2.2  # two spinning children for about a second, on up to two cores
    assert children_cpu_seconds(master.pid) == 0.0  # gone: nothing to read
