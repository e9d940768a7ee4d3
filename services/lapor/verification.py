"""The LAPOR! admin's verification of a report, and the reporter's answer to a question.

Within `LAPOR_VERIFICATION_DAYS` working days of submission the admin verifies the report,
asks the reporter for detail (the clock is held until they answer, then runs again with the
working days it had left), postpones it with a reason, archives it (spam, a duplicate of a
named report, no public-service matter) or marks it as another body's authority. Each step
is a history line, an event with its clock instruction and a mail to the reporter.

`verify_report` is the step itself without its unit of work, so that the disposition can
verify and dispatch in one call (`.verified`, then `.dispatched`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.errors import Invalid, NotFound
from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.lapor import citizen_mail, domain, duplicates, records
from services.lapor import events as ev
from services.lapor.duplicates import merge_followers
from services.lapor.intake import ACCESS
from services.lapor.models import Report, ReportMessage

Result = tuple[dict[str, Any], str]


def _staff_result(rt: Runtime, session: Session, report: Report) -> Result:
    """The admin's view after a change (without the reporter's identity: reading that is
    its own, recorded, request)."""
    report = records.reload_full(session, report)
    view = records.presenter(rt).staff_detail(report, None, records.duplicate_number(session, report))
    return view, records.etag(report)


def _message(session: Session, report: Report, kind: str, body: str, at: datetime,
             staff: Principal | None) -> None:
    session.add(ReportMessage(
        report_id=report.id, kind=kind, author_kind=records.ADMIN if staff is not None else records.CITIZEN,
        author_opd=staff.opd if staff is not None else None, author_sub=staff.sub if staff is not None else None,
        body=body, at=at, public=False,
    ))


def _touch(report: Report, now: datetime) -> None:
    report.updated_at = now


# -- asking the reporter ----------------------------------------------------------------------


def request_clarification(rt: Runtime, staff: Principal, number: str, question: str, *,
                          if_match: str | None, now: datetime) -> Result:
    """Ask the reporter for detail; the verification clock is held with what it had left."""
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        records.check_version(report, if_match)
        due_before = report.verification_due_at
        domain.request_clarification(report, rt.calendar, now)
        _touch(report, now)
        _message(session, report, "clarification_request", question, now, staff)
        records.add_history(session, report, "clarification_requested", now, staff=staff)
        uow.publish(ev.report_event(
            report, "clarification_requested", at=now,
            paused_at=now, verification_due_at=due_before,
            remaining_working_days=report.verification_remaining_days,
            clocks=(ev.verification_paused(),),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.CLARIFICATION_REQUESTED, at=now)
        result = _staff_result(rt, session, report)
        uow.commit()
        return result


def answer_clarification(rt: Runtime, number: str, answer: str, *, token: str, now: datetime) -> dict[str, Any]:
    """The reporter's answer: the report waits for verification again, on the working days
    its clock had left."""
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        ACCESS.check(token, report.access_token_hash)
        due = domain.clarify(report, rt.calendar, now)
        _touch(report, now)
        _message(session, report, "clarification", answer, now, None)
        records.add_history(session, report, "clarified", now)
        uow.publish(ev.report_event(
            report, "clarified", at=now, verification_due_at=due,
            clocks=(ev.verification_resumed(records.event_context(rt), due),),
        ))
        report = records.reload_full(session, report)
        view = records.presenter(rt).citizen(report, records.duplicate_number(session, report))
        uow.commit()
        return view


# -- deciding -----------------------------------------------------------------------------------


def verify_report(rt: Runtime, uow: UnitOfWork, staff: Principal, report: Report, now: datetime,
                  note: str | None = None) -> None:
    """Verify a locked report inside the caller's unit of work: history, `.verified`, mail.

    The verification clock keeps running: disposition within the same days ends it."""
    session = uow.session
    domain.verify(report, now)
    _touch(report, now)
    records.add_history(session, report, "verified", now, staff=staff, note=note)
    uow.publish(ev.report_event(
        report, "verified", at=now, verified_at=now, verification_due_at=report.verification_due_at,
    ))
    citizen_mail.queue_report_mail(rt, session, report, citizen_mail.VERIFIED, at=now)


def verify(rt: Runtime, staff: Principal, number: str, note: str | None, *,
           if_match: str | None, now: datetime) -> Result:
    with rt.uow() as uow:
        report = records.load_report(uow.session, number, lock=True)
        records.check_version(report, if_match)
        verify_report(rt, uow, staff, report, now, note)
        result = _staff_result(rt, uow.session, report)
        uow.commit()
        return result


def postpone(rt: Runtime, staff: Principal, number: str, reason: str, *,
             if_match: str | None, now: datetime) -> Result:
    """Tunda: the admin holds the report with a reason; the verification duty counts as
    dealt with, and taking it up again is a verification, an archive or a not-authority."""
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        records.check_version(report, if_match)
        domain.postpone(report, reason)
        _touch(report, now)
        records.add_history(session, report, "postponed", now, staff=staff, note=reason)
        uow.publish(ev.report_event(
            report, "postponed", at=now, postponed_at=now, clocks=(ev.verification_done(),),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.POSTPONED, at=now)
        result = _staff_result(rt, session, report)
        uow.commit()
        return result


def archive(rt: Runtime, staff: Principal, number: str, reason: str, *, duplicate_of: str | None,
            note: str | None, if_match: str | None, now: datetime) -> Result:
    """Archive for good with a reason; a duplicate names its original, whose followers it
    joins (the duplicate's reporter is told where to follow)."""
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        records.check_version(report, if_match)
        original = _original(session, duplicate_of) if duplicate_of else None
        domain.archive(report, reason, note, now, duplicate_of=original)
        _touch(report, now)
        records.add_history(session, report, "archived", now, staff=staff,
                            note=f"{domain.ARCHIVE_REASON_LABELS[reason]}" + (f": {original.number}" if original else ""))
        if original is not None:
            records.add_history(session, original, "linked_duplicate", now, staff=staff, note=report.number)
            duplicates.merge_followers(session, report, original)
            merge_followers(session, report, original)
        fields: dict[str, Any] = {"archived_at": now, "archive_reason": reason}
        if original is not None:
            fields["duplicate_of"] = original.number
        uow.publish(ev.report_event(report, "archived", at=now, clocks=(ev.verification_done(),), **fields))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.ARCHIVED, at=now)
        result = _staff_result(rt, session, report)
        uow.commit()
        return result


def _original(session: Session, number: str) -> Report:
    try:
        return records.load_report(session, number)
    except NotFound:
        raise Invalid("Laporan asli tidak ditemukan.", {"duplicate_of": ["Nomor laporan tidak ditemukan."]}) from None


def reject_authority(rt: Runtime, staff: Principal, number: str, body: str, note: str | None, *,
                     if_match: str | None, now: datetime) -> Result:
    """Not the regency's matter: the reporter is told which body it is."""
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        records.check_version(report, if_match)
        domain.reject_authority(report, body, now)
        _touch(report, now)
        records.add_history(session, report, "rejected_authority", now, staff=staff,
                            note=body if note is None else f"{body}: {note}")
        uow.publish(ev.report_event(
            report, "rejected_authority", at=now, rejected_at=now, clocks=(ev.verification_done(),),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.REJECTED_AUTHORITY, at=now)
        result = _staff_result(rt, session, report)
        uow.commit()
        return result
