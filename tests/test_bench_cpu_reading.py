"""The CPU the notifier benchmark reads off /proc for a drain's processes (bench/notifier_bench.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from bench.notifier_bench import processes_cpu_seconds

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
