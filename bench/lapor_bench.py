"""LAPOR! benchmark: `POST /api/v1/reports` against a bare Flask echo, same gunicorn setup.

    .venv/bin/python bench/lapor_bench.py [--duration 10] [--connections 16] [--paced-connections 8] [--json]

The run, its rounds and its target are PPID's (`bench/ppid_bench.py`): a fresh PostgreSQL
database migrated by `python -m services.lapor migrate`, the web app under gunicorn with
compose's web settings, the echo app beside it, alternating rounds, the median round
judged against 25% of the bare rate, then a fixed offered rate of half the service's own
maximum (hey -q) whose p99 must be at most 20 ms. Only the submission differs:
a citizen's complete report, with a point inside the regency and a way to reply.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ppid_bench import Target, main  # noqa: E402 - after the repository is importable

REPORTS_PATH = "/api/v1/reports"
# A report as a citizen's browser sends it: Kuala Kapuas, kecamatan Selat; made-up contact.
REPORT_BODY = {
    "classification": "pengaduan",
    "category": "infrastruktur",
    "title": "Jalan berlubang di depan pasar",
    "description": "Lubang besar di badan jalan depan pasar sudah sebulan tidak diperbaiki.",
    "incident_date": "2026-01-15",
    "latitude": -3.0,
    "longitude": 114.39,
    "address": "Jl. Pemuda depan Pasar Kapuas",
    "kecamatan": "62.03.01",
    "privacy": "anonim",
    "name": "Budi Santoso",
    "phone": "081277774321",
    "email": "budi@example.org",
}
LAPOR = Target("lapor", "services.lapor.app:create_app()", REPORTS_PATH, REPORT_BODY)

if __name__ == "__main__":
    sys.exit(main(target=LAPOR))
