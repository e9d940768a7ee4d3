"""`python -m services.notifier migrate` and `tick --now …` as an operator runs them."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from services.common.cli import aware_instant, migrate
from services.notifier.__main__ import SERVICE, _run_tick
from services.notifier.app import make_runtime
from services.notifier.config import NotifierSettings
from services.notifier.consumers import events_consumer
from services.notifier.models import DirectoryOpd, Policy
from tests.notifier.notifier_support import sla_event, wib


def _run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "services.notifier", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_migrate_seeds_and_the_tick_command_prints_what_it_did(tmp_path):
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    env = {**os.environ, "SIMPUL_ENV": "development", "NOTIFIER_DATABASE_URL": url}
    env.pop("SMTP_HOST", None)
    settings = NotifierSettings.from_env("notifier", env)
    migrate(SERVICE, settings)  # what `python -m services.notifier migrate` runs
    migrate(SERVICE, settings)  # and again, harmlessly

    rt = make_runtime(settings)
    try:
        with rt.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(DirectoryOpd)) == len(rt.opds)
            assert "ppid.response" in set(uow.session.scalars(select(Policy.clock)))
        due = rt.calendar.due_at(wib(2026, 3, 16, 10), 10)
        assert events_consumer(rt).process(sla_event(
            "requests/PPID-2026-000009", at=wib(2026, 3, 16, 10),
            start=[{"clock": "ppid.response", "due_at": due.isoformat()}]))
    finally:
        rt.dispose()

    monday = _run(env, "tick", "--now", "2026-04-06T09:00:00+07:00")
    assert monday.returncode == 0, monday.stderr
    summary = json.loads(monday.stdout)
    assert summary["office_hours"] is True
    assert [s["step"] for s in summary["sent"]] == ["remind:-2wd"]
    assert summary["sent"][0]["subject"] == "requests/PPID-2026-000009"
    assert summary["now"].startswith("2026-04-06T09:00:00+07:00")


def test_the_tick_command_reports_a_night_tick_and_refuses_a_naive_instant(rt, capsys):
    _run_tick(rt, argparse.Namespace(now=aware_instant("2026-04-02T22:00:00+07:00")))
    summary = json.loads(capsys.readouterr().out)
    assert summary["office_hours"] is False and summary["steps_sent"] == 0
    with pytest.raises(argparse.ArgumentTypeError, match="offset"):
        aware_instant("2026-04-06T09:00:00")
