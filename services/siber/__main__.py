"""`python -m services.siber web|worker|migrate|makemigration|deadletters`."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import datetime

from services.common.cli import Command, ServiceDefinition, main
from services.common.runtime import build_runtime
from services.common.worker import run_worker
from services.siber.config import SiberSettings
from services.siber.models import Base


def run_siber_worker(rt, stop: threading.Event | None = None) -> None:
    """The relay publishes the SIBER outbox; the timers open each working day's duties,
    publish scheduled articles on time and make the photos' renditions."""
    from services.siber.timers import worker_timers

    run_worker(rt, timers=worker_timers(rt), stop=stop)


def _instant(raw: str) -> datetime:
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs an offset, e.g. 2026-03-02T08:00:00+07:00")
    return value


def _configure_open_duties(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", type=_instant, default=None, help="the instant to open for (default: now)")


def _run_open_duties(rt, args: argparse.Namespace) -> int:
    from services.siber.daily_duty import open_duties

    opened = open_duties(rt, args.now, before_office_hours=True)
    print(json.dumps({"opened": opened}))
    return 0


SERVICE = ServiceDefinition(
    name="siber",
    settings_class=SiberSettings,
    build_runtime=lambda settings: build_runtime(settings, Base.metadata),
    run_worker=run_siber_worker,
    commands={
        "open-duties": Command(
            help="open the day's daily-news duties now (the worker does it each working morning)",
            configure=_configure_open_duties,
            run=_run_open_duties,
        ),
    },
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
