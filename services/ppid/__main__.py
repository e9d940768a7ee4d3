"""`python -m services.ppid web|worker|migrate|makemigration|deadletters`."""

from __future__ import annotations

import sys
import threading

from services.common.cli import ServiceDefinition, main
from services.common.runtime import build_runtime
from services.common.worker import run_worker
from services.ppid.config import PpidSettings
from services.ppid.models import Base


def run_ppid_worker(rt, stop: threading.Event | None = None) -> None:
    """The relay publishes the PPID outbox; the chassis adds the calendar consumer.

    The PPID consumes no other events and needs no timers: lateness is computed from the
    stored due times whenever it is asked for, and the notifier watches the clocks.
    """
    run_worker(rt, stop=stop)


SERVICE = ServiceDefinition(
    name="ppid",
    settings_class=PpidSettings,
    build_runtime=lambda settings: build_runtime(settings, Base.metadata),
    run_worker=run_ppid_worker,
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
