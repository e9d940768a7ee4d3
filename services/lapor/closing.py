"""The worker's timer that closes completed reports whose reporter's window passed.

After completion the reporter has `LAPOR_REPLY_DAYS` working days to reply, reject the
answer or rate it; with no word by then the report closes itself (closed_reason `no_reply`)
and `lapor.report.closed` ends the reporter's window at the notifier.

Several workers may run the timer at once. Each round claims the reports it closes with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (a report another worker holds is left to it) and
under SQLite's BEGIN IMMEDIATE (one writer at a time); a report is closed only while it is
still `completed`, so a second worker, or a second round, finds nothing left to do.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime

from sqlalchemy import select

from services.common.cli import Command, aware_instant
from services.common.runtime import Runtime
from services.common.worker import Timer
from services.lapor import citizen_mail, domain, records
from services.lapor import events as ev
from services.lapor.models import Report

log = logging.getLogger("simpul.lapor.closing")

# A minute is finer than any working-day deadline needs, and a round that finds nothing
# costs one indexed query.
CLOSING_INTERVAL_SECONDS = 60
BATCH = 100


def close_lapsed(rt: Runtime, *, now: datetime | None = None, batch: int = BATCH) -> list[str]:
    """Close every completed report whose reply window ended before `now`; their numbers."""
    now = now or rt.clock()
    closed: list[str] = []
    while True:
        numbers = _close_batch(rt, now, batch)
        closed += numbers
        if len(numbers) < batch:
            break
    if closed:
        log.info("reports closed without reply", extra={"count": len(closed), "numbers": closed})
    return closed


def _close_batch(rt: Runtime, now: datetime, batch: int) -> list[str]:
    with rt.uow() as uow:
        session = uow.session
        reports = session.scalars(
            select(Report)
            .where(Report.status == domain.COMPLETED, Report.reply_due_at < now)
            .order_by(Report.reply_due_at, Report.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for report in reports:
            supporting = records.active_supporting(session, report.id)
            domain.close_unanswered(report, now)
            report.updated_at = now
            records.add_history(
                session, report, "closed", now, actor_kind=records.SYSTEM,
                note=domain.CLOSED_REASON_LABELS[domain.NO_REPLY],
            )
            uow.publish(ev.report_event(
                report, "closed", at=now, supporting_opds=supporting,
                closed_at=now, closed_reason=domain.NO_REPLY,
                clocks=(ev.reply_window_done(),),
            ))
            citizen_mail.queue_report_mail(rt, session, report, citizen_mail.CLOSED, at=now)
        uow.commit()
        return [report.number for report in reports]


def timers(rt: Runtime) -> list[Timer]:
    """The closing timer of the LAPOR! worker."""
    return [Timer("lapor-close-unanswered", CLOSING_INTERVAL_SECONDS, lambda: close_lapsed(rt))]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", type=aware_instant, default=None,
                        help="the instant to close for (default: the current time)")


def _run(rt: Runtime, args: argparse.Namespace) -> int:
    print(json.dumps({"closed": close_lapsed(rt, now=args.now)}))
    return 0


# `python -m services.lapor close-unanswered [--now …]`: one round of the timer, for an
# operator catching up after a stopped worker, or to close as of a chosen instant.
COMMAND = Command(
    help="close completed reports whose reporter's window passed, and print their numbers",
    configure=_configure,
    run=_run,
)
