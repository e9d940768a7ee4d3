"""The reporter's word on their report, with its access token: a reply, a rejection of the
answer (back to the lead OPD), or acceptance with a rating (the report closes).

What a reporter writes may name people, so it is never public and never in an event: the
events say what happened (reopened, rated with its 1-5, closed), not the words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.errors import Conflict
from services.common.runtime import Runtime
from services.lapor import citizen_mail, domain, records
from services.lapor import events as ev
from services.lapor import stage_support as support
from services.lapor.intake import ACCESS
from services.lapor.models import Report, ReportMessage

REPLY_REFUSED = "Laporan ini sudah ditutup; balasan tidak dapat dikirim lagi."


def _load(session, number: str, token: str | None) -> support.Holder:
    report = records.load_report(session, number, lock=True)
    ACCESS.check(token, report.access_token_hash)
    return support.Holder(report, support.active_dispositions(session, report.id), None)


def _message(session, report: Report, kind: str, body: str, now: datetime) -> None:
    session.add(ReportMessage(
        report_id=report.id, kind=kind, author_kind="citizen", body=body, at=now, public=False,
    ))


def reply(rt: Runtime, number: str, message: str, *, token: str | None, now: datetime) -> dict[str, Any]:
    """A message from the reporter on an open report; it changes no state."""
    with rt.uow() as uow:
        session = uow.session
        holder = _load(session, number, token)
        report = holder.report
        if not domain.is_open(report.status):
            raise Conflict(REPLY_REFUSED)
        _message(session, report, "reporter_reply", message, now)
        records.add_history(session, report, "replied", now, actor_kind="citizen")
        result = support.citizen_view(rt, session, number)
        uow.commit()
        return result


def reject(rt: Runtime, number: str, reason: str, *, token: str | None, now: datetime) -> dict[str, Any]:
    """The reporter does not accept the answer: the lead OPD owes a response again (its
    follow-up clock starts), the completion limit keeps its first due date."""
    with rt.uow() as uow:
        session = uow.session
        holder = _load(session, number, token)
        report = holder.report
        domain.reopen(report, rt.calendar, now, rt.settings.follow_up_days)
        report.updated_at = now
        _message(session, report, "rejection", reason, now)
        records.add_history(session, report, "reopened", now, actor_kind="citizen", to_opd=report.lead_opd)
        uow.publish(support.event(
            holder, "reopened", now, reopened_at=now,
            follow_up_due_at=report.follow_up_due_at, completion_due_at=report.completion_due_at,
            clocks=(
                ev.reply_window_done(),
                ev.follow_up_clock(report.lead_opd, report.follow_up_due_at),
                ev.completion_moved(report.lead_opd, report.completion_due_at),
            ),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.REOPENED, at=now)
        result = support.citizen_view(rt, session, number)
        uow.commit()
        return result


def rate(
    rt: Runtime, number: str, rating: int, comment: str | None, *, token: str | None, now: datetime
) -> dict[str, Any]:
    """The reporter accepts the answer and rates it: `.rated` then `.closed`. A report is
    rated once, and only once it is completed (409 otherwise)."""
    with rt.uow() as uow:
        session = uow.session
        holder = _load(session, number, token)
        report = holder.report
        domain.rate(report, rating, comment, now)
        report.updated_at = now
        records.add_history(session, report, "rated", now, actor_kind="citizen", note=f"Penilaian {rating} dari 5")
        records.add_history(
            session, report, "closed", now, actor_kind="citizen",
            note=domain.CLOSED_REASON_LABELS[domain.ACCEPTED],
        )
        uow.publish(support.event(holder, "rated", now, rating=rating, rated_at=now))
        uow.publish(support.event(
            holder, "closed", now, closed_at=now, closed_reason=domain.ACCEPTED,
            clocks=(ev.reply_window_done(),),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.CLOSED, at=now)
        result = support.citizen_view(rt, session, number)
        uow.commit()
        return result
