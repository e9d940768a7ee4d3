"""`python -m services.siber web|worker|migrate|makemigration|deadletters`."""

from __future__ import annotations

import sys
import threading

from services.common.cli import ServiceDefinition, main
from services.common.runtime import build_runtime
from services.common.worker import run_worker
from services.siber.config import SiberSettings
from services.siber.models import Base


def run_siber_worker(rt, stop: threading.Event | None = None) -> None:
    """The relay publishes the SIBER outbox; the timers open each working day's duties,
    publish scheduled articles on time and make the photos' renditions."""
    from services.siber.timers import worker_timers

    run_worker(rt, timers=worker_timers(rt), stop=stop)


SERVICE = ServiceDefinition(
    name="siber",
    settings_class=SiberSettings,
    build_runtime=lambda settings: build_runtime(settings, Base.metadata),
    run_worker=run_siber_worker,
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
