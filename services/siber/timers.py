"""The SIBER worker's timers: each round is one short unit of work, safe to run in several
workers at once and to resume after a restart (the database says what is left to do)."""

from __future__ import annotations

from services.common.runtime import Runtime
from services.common.worker import Timer
from services.siber import daily_duty, photos, workflow

DUTY_SECONDS = 60
SCHEDULE_SECONDS = 15
RENDITION_SECONDS = 5


def worker_timers(rt: Runtime) -> list[Timer]:
    return [
        Timer("daily-duties", DUTY_SECONDS, lambda: daily_duty.open_duties(rt)),
        Timer("scheduled-publishing", SCHEDULE_SECONDS, lambda: workflow.publish_due(rt)),
        Timer("photo-renditions", RENDITION_SECONDS, lambda: photos.make_renditions(rt)),
    ]
