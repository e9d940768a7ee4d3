"""The paced load of the web benchmarks: a constant rate, not bursts (bench/ppid_bench.py)."""

from __future__ import annotations

import pytest

from bench.ppid_bench import hey_csv_rows, paced_result, start_offsets

HEY_CSV = """response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
0.0040,0.0002,0.0000,0.0000,0.0038,0.0000,201,0.0021
0.0120,0.0002,0.0000,0.0000,0.0117,0.0000,201,0.0284
0.0060,0.0001,0.0000,0.0000,0.0058,0.0000,500,0.0547

0.0050,0.0001
"""


def test_paced_clients_start_spread_over_one_interval():
    """Eight clients sharing 300 requests a second each send every 8/300 s: their first
    requests go 1/300 s apart, so together they send one request every 1/300 s."""
    offsets = start_offsets(300.0, 8)
    assert len(offsets) == 8 and offsets[0] == 0.0
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    assert gaps == pytest.approx([1 / 300] * 7)
    assert offsets[-1] < 8 / 300


def test_hey_csv_rows_are_latency_and_status_of_each_answer():
    assert hey_csv_rows(HEY_CSV) == [(0.004, 201), (0.012, 201), (0.006, 500)]
    assert hey_csv_rows("") == []


def test_a_paced_result_counts_other_statuses_as_errors(capsys):
    rows = [(0.004, 201)] * 97 + [(0.030, 201), (0.006, 500), (0.005, 201)]
    on_time = paced_result("ppid", rows, seconds=10.0, offered=10.0)
    assert (on_time.requests, on_time.errors, on_time.rate) == (100, 1, 10.0)
    assert on_time.p50_ms == pytest.approx(4.0) and on_time.p99_ms == pytest.approx(6.0)
    assert "1 answers other than 2xx; 100 answers of 100 scheduled" in capsys.readouterr().err


def test_a_paced_run_far_short_of_its_schedule_fails_whatever_its_p99():
    """A few requests short is hey skipping a beat behind a late answer; a server that
    stopped answering leaves most of the schedule unanswered, and that is an error."""
    rows = [(0.004, 201)] * 95
    assert paced_result("ppid", rows, seconds=10.0, offered=10.0).errors == 0
    assert paced_result("ppid", rows, seconds=10.0, offered=20.0).errors == 105
    assert paced_result("ppid", [], seconds=10.0, offered=20.0).errors == 200
