"""`python -m services.lapor web|worker|migrate|makemigration|deadletters`."""

from __future__ import annotations

import sys
import threading
from importlib import import_module

from services.common.cli import ServiceDefinition, main
from services.common.runtime import build_runtime
from services.common.worker import run_worker
from services.lapor.config import LaporSettings
from services.lapor.models import Base


def worker_timers(rt) -> list:
    """Every timer of the LAPOR! worker: one line per module that adds one."""
    timers: list = []
    timers += import_module("services.lapor.citizen_mail").mail_queue_of(rt).timers(rt)
    timers += import_module("services.lapor.closing").timers(rt)
    return timers


def run_lapor_worker(rt, stop: threading.Event | None = None) -> None:
    """The relay publishes the outbox; the chassis adds the calendar consumer; the timers
    send the reporters' queued mail and close reports whose reporter window passed.

    The notifier watches the clocks; LAPOR! consumes no other service's events.
    """
    run_worker(rt, timers=worker_timers(rt), stop=stop)


SERVICE = ServiceDefinition(
    name="lapor",
    settings_class=LaporSettings,
    build_runtime=lambda settings: build_runtime(settings, Base.metadata),
    run_worker=run_lapor_worker,
    commands={"import-national": import_module("services.lapor.national_import").COMMAND,
              "close-unanswered": import_module("services.lapor.closing").COMMAND},
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
