"""The OPD's follow-up: the lead OPD's first substantive response and plan, progress notes
of the lead or a supporting OPD, completion with what was done, and each OPD's own list.

A liaison reaches only the reports its OPD holds through an active disposition
(`stage_support.reach`); it never sees who an anonim or rahasia reporter is: the list and
the views here hold no identity at all.

After the reporter rejected an answer the report is in progress again and the lead OPD owes
a new first response (the follow-up clock runs again): its next follow-up answers it and
stops that clock, and a completion given without one stops it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, select

from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, Invalid
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.lapor import citizen_mail, domain, records
from services.lapor import events as ev
from services.lapor import stage_support as support
from services.lapor.models import REPORT_SEARCH, Attachment, Disposition, Report, ReportMessage
from services.lapor.stage_support import staff_view

FOLLOW_UP_REFUSED = (
    "Tindak lanjut pertama hanya dapat diberikan atas laporan yang baru didisposisikan, atau "
    "yang jawabannya ditolak pelapor dan belum ditanggapi lagi."
)


def _message(session, report: Report, kind: str, body: str, staff: Principal, now: datetime) -> ReportMessage:
    message = ReportMessage(
        report_id=report.id, kind=kind, author_kind="opd", author_opd=staff.opd, author_sub=staff.sub,
        body=body, at=now, public=True,
    )
    session.add(message)
    session.flush()
    return message


def follow_up(
    rt: Runtime, staff: Principal, number: str, data: dict[str, Any], *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """The lead OPD's first substantive response and its plan: the report is in progress."""
    with rt.uow() as uow:
        session = uow.session
        holder = support.reach(session, staff, number, lock=True)
        support.require_lead(holder, "Hanya OPD penanggung jawab yang dapat memberikan tindak lanjut.")
        report = holder.report
        records.check_version(report, if_match)
        if not domain.owes_follow_up(report):
            raise Conflict(f"{FOLLOW_UP_REFUSED} Status laporan saat ini: {domain.STATUS_LABELS[report.status]}.")
        if report.status == domain.DISPATCHED:
            domain.follow_up(report, now)
        else:
            report.follow_up_due_at = None
        report.updated_at = now
        body = f"{data['response']}\n\nRencana penyelesaian: {data['plan']}"
        _message(session, report, "follow_up", body, staff, now)
        records.add_history(session, report, "followed_up", now, actor_kind="opd", staff=staff)
        uow.publish(support.event(
            holder, "followed_up", now, first_response_at=report.first_response_at, followed_up_at=now,
            clocks=(ev.follow_up_done(),),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.FOLLOWED_UP, at=now)
        result = staff_view(rt, session, report.number)
        uow.commit()
        return result


def progress(
    rt: Runtime, staff: Principal, number: str, data: dict[str, Any], *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """A progress note of the lead or a supporting OPD; the report stays in progress."""
    with rt.uow() as uow:
        session = uow.session
        holder = support.reach(session, staff, number, lock=True)
        if holder.role is None:
            raise Forbidden("Perkembangan dicatat oleh admin penghubung OPD yang menerima disposisi.")
        report = holder.report
        records.check_version(report, if_match)
        domain.progress(report)
        report.updated_at = now
        _message(session, report, "progress", data["body"], staff, now)
        records.add_history(session, report, "progressed", now, actor_kind="opd", staff=staff)
        uow.publish(support.event(holder, "progressed", now, progressed_at=now, by_opd=staff.opd, role=holder.role))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.PROGRESSED, at=now)
        result = staff_view(rt, session, report.number)
        uow.commit()
        return result


def complete(
    rt: Runtime, staff: Principal, number: str, data: dict[str, Any], *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """The lead OPD completes the report with what it did (and files it uploaded before):
    the completion clock stops and the reporter's window opens."""
    attachment_ids = list(data.get("attachment_ids") or ())
    if len(attachment_ids) > rt.settings.max_attachments:
        raise Invalid(
            "Lampiran terlalu banyak.",
            {"attachment_ids": [f"Paling banyak {rt.settings.max_attachments} lampiran."]},
        )
    with rt.uow() as uow:
        session = uow.session
        holder = support.reach(session, staff, number, lock=True)
        support.require_lead(holder, "Hanya OPD penanggung jawab yang dapat menyatakan laporan selesai.")
        report = holder.report
        records.check_version(report, if_match)
        owed_follow_up = domain.owes_follow_up(report) and report.status == domain.IN_PROGRESS
        domain.complete(report, rt.calendar, now, rt.settings.reply_days)
        report.follow_up_due_at = None
        report.updated_at = now
        message = _message(session, report, "completion", data["summary"], staff, now)
        files = _claim_attachments(session, report, attachment_ids, message.id)
        records.add_history(session, report, "completed", now, actor_kind="opd", staff=staff)
        clocks = (
            *((ev.follow_up_done(),) if owed_follow_up else ()),
            ev.completion_done(),
            ev.reply_window(report.lead_opd, report.reply_due_at),
        )
        uow.publish(support.event(
            holder, "completed", now, completed_at=now, reply_due_at=report.reply_due_at,
            attachments=files, clocks=clocks,
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.COMPLETED, at=now)
        result = staff_view(rt, session, report.number)
        uow.commit()
        return result


def _claim_attachments(session, report: Report, ids: Sequence[int], message_id: int) -> int:
    """Tie the OPD's uploaded files of this report to the completion message; each must be
    an OPD's upload of this report not yet part of another message."""
    if not ids:
        return 0
    rows = {
        a.id: a
        for a in session.scalars(select(Attachment).where(Attachment.report_id == report.id, Attachment.id.in_(ids)))
    }
    errors = {
        f"attachment_ids.{i}": ["Lampiran tidak ditemukan pada laporan ini atau sudah dipakai."]
        for i, attachment_id in enumerate(ids)
        if (row := rows.get(attachment_id)) is None or row.uploaded_by != "opd" or row.message_id is not None
    }
    if errors:
        raise Invalid("Lampiran tidak dapat dipakai.", errors)
    for row in rows.values():
        row.message_id = message_id
    return len(rows)


# -- what an OPD sees ----------------------------------------------------------------------


def get_for_opd(rt: Runtime, staff: Principal, number: str) -> tuple[dict[str, Any], str]:
    """The report for an OPD holding it (or an admin), with its ETag; 404 for any other."""
    with rt.uow() as uow:
        support.reach(uow.session, staff, number)
        return staff_view(rt, uow.session, number)


def list_for_opd(
    rt: Runtime, staff: Principal, filters: dict[str, Any], page: Page
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the reports the caller's OPD holds, newest disposition first, total).

    A liaison lists its own OPD's active dispositions (a filter on another OPD gives
    nothing); a regency admin lists every dispositioned report, or one OPD's with `opd`.
    No reporter identity is ever part of a row.
    """
    if domain.is_regency_staff(staff):
        opd = filters.get("opd")
    elif staff.has_role(domain.LIAISON) and staff.opd is not None:
        opd = staff.opd
        if filters.get("opd") not in (None, staff.opd):
            return [], 0
    else:
        return [], 0
    hop = and_(Disposition.report_id == Report.id, Disposition.active.is_(True))
    if opd is not None:
        hop = and_(hop, Disposition.opd == opd)
    if filters.get("role"):
        hop = and_(hop, Disposition.role == filters["role"])
    statement = select(Report).where(exists().where(hop)).order_by(Report.dispatched_at.desc(), Report.id.desc())
    statement = REPORT_SEARCH.apply(statement, filters.get("q"))
    for name in ("status", "category", "kecamatan"):
        if filters.get(name):
            statement = statement.where(getattr(Report, name) == filters[name])
    tz = rt.calendar.tz
    if filters.get("dispatched_from"):
        statement = statement.where(Report.dispatched_at >= datetime.combine(filters["dispatched_from"], time(0), tzinfo=tz))
    if filters.get("dispatched_to"):
        end = datetime.combine(filters["dispatched_to"] + timedelta(days=1), time(0), tzinfo=tz)
        statement = statement.where(Report.dispatched_at < end)
    with rt.uow() as uow:
        session = uow.session
        reports, total = fetch_page(session, statement, page)
        hops = _hops_of(session, [r.id for r in reports])
        local = support.presenter(rt).local
        return [_row(r, hops.get(r.id, []), opd, local) for r in reports], total


def _hops_of(session, report_ids: list[int]) -> dict[int, list[Disposition]]:
    out: dict[int, list[Disposition]] = {}
    if not report_ids:
        return out
    for hop in session.scalars(
        select(Disposition).where(Disposition.report_id.in_(report_ids), Disposition.active.is_(True))
    ):
        out.setdefault(hop.report_id, []).append(hop)
    return out


def _row(report: Report, hops: list[Disposition], opd: str | None, local) -> dict[str, Any]:
    role = next((h.role for h in hops if h.opd == opd and h.role == domain.LEAD), None) or next(
        (h.role for h in hops if h.opd == opd), None
    )
    return {
        "number": report.number,
        "status": report.status,
        "status_label": domain.STATUS_LABELS[report.status],
        "classification": report.classification,
        "category": report.category,
        "title": report.title,
        "privacy": report.privacy,
        "kecamatan": report.kecamatan,
        "lead_opd": report.lead_opd,
        "supporting_opds": support.supporting_of(hops),
        "role": role,
        "submitted_at": local(report.submitted_at),
        "dispatched_at": local(report.dispatched_at),
        "follow_up_due_at": local(report.follow_up_due_at),
        "completion_due_at": local(report.completion_due_at),
        "reply_due_at": local(report.reply_due_at),
    }
