"""`python -m services.ppid web|worker|migrate|makemigration|deadletters`."""

from __future__ import annotations

import sys
import threading

from services.common.cli import ServiceDefinition, main
from services.common.runtime import build_runtime
from services.common.worker import run_worker
from services.ppid import citizen_mail
from services.ppid.config import PpidSettings
from services.ppid.models import Base


def run_ppid_worker(rt, stop: threading.Event | None = None) -> None:
    """The relay publishes the PPID outbox; the chassis adds the calendar consumer; the
    mail timers send the applicants' queued mail (`citizen_mail`) and forget it a week later.

    The PPID consumes no other events and has no deadline timers: lateness is computed from
    the stored due times whenever it is asked for, and the notifier watches the clocks.
    """
    run_worker(rt, timers=citizen_mail.mail_queue_of(rt).timers(rt), stop=stop)


SERVICE = ServiceDefinition(
    name="ppid",
    settings_class=PpidSettings,
    build_runtime=lambda settings: build_runtime(settings, Base.metadata),
    run_worker=run_ppid_worker,
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
