"""Disposition: the regency's LAPOR! admin sends a report to the OPD that must act on it,
the OPD may send it back as not its business, and the admin sends it on again.

Every hop is a `Disposition` row (one lead OPD, optional supporting OPDs) kept for good: a
return deactivates the hop and records why. The clocks follow the report (events.py): the
lead OPD's follow-up clock starts at a disposition, is cancelled by a return and starts
again at the re-disposition; the verification clock, which a return restarts, stops once
the report is dispositioned; the completion limit, counted from the complete report,
moves with the lead OPD and keeps its due date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.common.auth import Principal
from services.common.errors import Invalid
from services.common.runtime import Runtime
from services.lapor import citizen_mail, domain, records, verification
from services.lapor import events as ev
from services.lapor import stage_support as support
from services.lapor.models import Disposition, Report
from services.lapor.presenters import Presenter
from services.lapor.stage_support import staff_view


def _require_known(rt: Runtime, lead: str, supporting: Sequence[str]) -> None:
    """Every OPD named must be one of the directory's active OPDs: a deactivated OPD keeps
    its old reports but takes no new work."""
    errors: dict[str, list[str]] = {}
    for field, codes in (("lead_opd", [lead]), ("supporting_opds", list(supporting))):
        unknown = [code for code in codes if code not in rt.opds]
        inactive = [code for code in codes if code in rt.opds and not rt.opds.is_active(code)]
        messages = [f"Kode OPD tidak dikenal: {', '.join(unknown)}."] if unknown else []
        messages += [f"OPD tidak aktif lagi: {', '.join(inactive)}."] if inactive else []
        if messages:
            errors[field] = messages
    if lead in supporting:
        errors.setdefault("supporting_opds", []).append("OPD penanggung jawab tidak boleh menjadi OPD pendukung.")
    if errors:
        raise Invalid("OPD disposisi tidak dapat diterima.", errors)


def _add_hop(session, report: Report, lead: str, supporting: Sequence[str], staff: Principal, now: datetime) -> None:
    for opd, role in ((lead, domain.LEAD), *((code, domain.SUPPORTING) for code in supporting)):
        session.add(Disposition(
            report_id=report.id, opd=opd, role=role, dispatched_at=now, dispatched_by=staff.sub, active=True,
        ))


def dispatch(
    rt: Runtime, staff: Principal, number: str, data: dict[str, Any], *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """Disposition a verified report to its lead OPD (and supporting OPDs).

    A report still waiting for verification (or postponed) is verified and dispositioned in
    one call: `.verified` then `.dispatched`. A returned report goes through `redispatch`.
    """
    lead, supporting, note = data["lead_opd"], list(data.get("supporting_opds") or ()), data.get("note")
    _require_known(rt, lead, supporting)
    settings = rt.settings
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        records.check_version(report, if_match)
        if domain.can("verify", report.status):
            verification.verify_report(rt, uow, staff, report, now)
        domain.dispatch(report, lead, rt.calendar, now, settings.follow_up_days, settings.completion_days)
        report.updated_at = now
        _add_hop(session, report, lead, supporting, staff, now)
        records.add_history(session, report, "dispatched", now, actor_kind="admin", staff=staff, to_opd=lead, note=note)
        uow.publish(support.event(
            report, "dispatched", now, supporting=supporting,
            dispatched_at=now, verified_at=report.verified_at,
            follow_up_due_at=report.follow_up_due_at, completion_due_at=report.completion_due_at,
            clocks=(
                ev.verification_done(),
                ev.follow_up_clock(lead, report.follow_up_due_at),
                ev.completion_clock(lead, report.completion_due_at),
            ),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.DISPATCHED, at=now)
        result = staff_view(rt, session, report.number)
        uow.commit()
        return result


def redispatch(
    rt: Runtime, staff: Principal, number: str, data: dict[str, Any], *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """Disposition a returned report again; its follow-up clock starts over with the new
    lead OPD, and both OPDs hear of the hop."""
    lead, supporting, note = data["lead_opd"], list(data.get("supporting_opds") or ()), data.get("note")
    _require_known(rt, lead, supporting)
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, lock=True)
        records.check_version(report, if_match)
        returned_by = _last_returning_opd(session, report)
        domain.redispatch(report, lead, rt.calendar, now, rt.settings.follow_up_days)
        report.updated_at = now
        _add_hop(session, report, lead, supporting, staff, now)
        records.add_history(
            session, report, "redispatched", now, actor_kind="admin", staff=staff,
            from_opd=returned_by, to_opd=lead, note=note,
        )
        uow.publish(support.event(
            report, "redispatched", now, supporting=supporting, from_opd=returned_by,
            previous_opd=returned_by, dispatched_at=now,
            follow_up_due_at=report.follow_up_due_at, completion_due_at=report.completion_due_at,
            clocks=(
                ev.verification_done(),
                ev.follow_up_restarted(lead, report.follow_up_due_at),
                ev.completion_moved(lead, report.completion_due_at),
            ),
        ))
        citizen_mail.queue_report_mail(rt, session, report, citizen_mail.DISPATCHED, at=now)
        result = staff_view(rt, session, report.number)
        uow.commit()
        return result


def _last_returning_opd(session, report: Report) -> str | None:
    return session.scalar(
        select(Disposition.opd)
        .where(Disposition.report_id == report.id, Disposition.role == domain.LEAD,
               Disposition.returned_at.is_not(None))
        .order_by(Disposition.id.desc())
        .limit(1)
    )


def return_report(
    rt: Runtime, staff: Principal, number: str, reason: str, *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """The lead OPD sends the report back as wrongly dispositioned, with its reason.

    The hop ends (every OPD of it loses the report), the follow-up duty is cancelled, and
    the admin's verification clock starts again until the report is dispositioned anew.
    """
    with rt.uow() as uow:
        session = uow.session
        holder = support.reach(session, staff, number, lock=True)
        support.require_lead(holder, "Hanya OPD penanggung jawab yang dapat mengembalikan laporan.")
        report = holder.report
        records.check_version(report, if_match)
        supporting = holder.supporting
        left = domain.return_report(report, now, rt.calendar, rt.settings.verification_days)
        report.updated_at = now
        for hop in holder.dispositions:
            hop.active = False
            if hop.role == domain.LEAD:
                hop.returned_at = now
                hop.return_reason = reason
        records.add_history(
            session, report, "returned", now, actor_kind="opd", staff=staff,
            from_opd=left, note=reason,
        )
        uow.publish(support.event(
            report, "returned", now, supporting=supporting, from_opd=left, previous_opd=left,
            returned_at=now, verification_due_at=report.verification_due_at,
            clocks=(
                ev.follow_up_cancelled(),
                ev.verification_restarted(records.event_context(rt), report.verification_due_at),
            ),
        ))
        result = staff_view(rt, session, report.number)
        uow.commit()
        return result


def list_dispositions(rt: Runtime, staff: Principal, number: str) -> list[dict[str, Any]]:
    """Every hop of the report, oldest first, for the admins and the OPDs holding it."""
    with rt.uow() as uow:
        session = uow.session
        holder = support.reach(session, staff, number)
        hops = session.scalars(
            select(Disposition).where(Disposition.report_id == holder.report.id).order_by(Disposition.id)
        )
        presenter = support.presenter(rt)
        return [present_hop(presenter, hop) for hop in hops]


def present_hop(presenter: Presenter, hop: Disposition) -> dict[str, Any]:
    return {
        "opd": hop.opd,
        "opd_name": presenter.opd_name(hop.opd),
        "role": hop.role,
        "active": hop.active,
        "dispatched_at": presenter.local(hop.dispatched_at),
        "dispatched_by": hop.dispatched_by,
        "returned_at": presenter.local(hop.returned_at),
        "return_reason": hop.return_reason,
    }
