"""What the regency's LAPOR! admins read: the list of reports and one report in full.

The list shows no personal data and searches none (`models.REPORT_SEARCH`). The detail shows
the reporter's identity to the regency-level roles only, rahasia reports included (an
anonim reporter's name is hidden even from them; their contact stays), and records every such read in `personal_data_access` in the transaction that
returns it (UU 27/2022): who, when, through which endpoint and, when given, why.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from services.common.auth import Principal
from services.common.errors import NotFound
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.lapor import domain, records
from services.lapor.models import REPORT_SEARCH, PersonalDataAccess, Report, Reporter
from services.lapor.presenters import identity

VIEW_REPORTER = "view_reporter"

# Where each open status has a duty whose due time can pass.
_WAITING_FOR_VERIFICATION = (domain.SUBMITTED, domain.VERIFIED, domain.RETURNED)


def list_reports(rt: Runtime, staff: Principal, filters: dict[str, Any], page: Page, *,
                 now: datetime) -> tuple[list[dict[str, Any]], int]:
    """(a page of reports, newest first, total), filtered; the admins see every report."""
    statement = domain.scope_of(staff).restrict(select(Report).order_by(Report.id.desc()), Report.lead_opd)
    statement = REPORT_SEARCH.apply(statement, filters.get("q"))
    for name in ("status", "classification", "category", "privacy", "channel", "kecamatan", "lead_opd"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Report, name) == filters[name])
    tz = rt.calendar.tz
    if filters.get("submitted_from") is not None:
        statement = statement.where(Report.submitted_at >= datetime.combine(filters["submitted_from"], time(), tz))
    if filters.get("submitted_to") is not None:
        end = datetime.combine(filters["submitted_to"] + timedelta(days=1), time(), tz)
        statement = statement.where(Report.submitted_at < end)
    if filters.get("overdue") is not None:
        late = or_(
            and_(Report.status.in_(_WAITING_FOR_VERIFICATION), Report.verification_due_at < now),
            and_(Report.status == domain.DISPATCHED, Report.follow_up_due_at < now),
            and_(Report.status.in_((domain.DISPATCHED, domain.IN_PROGRESS)), Report.completion_due_at < now),
        )
        statement = statement.where(late if filters["overdue"] else ~late)
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, statement, page)
        presenter = records.presenter(rt)
        return [presenter.staff_summary(r) for r in rows], total


def report_detail(rt: Runtime, staff: Principal, number: str, *, now: datetime, endpoint: str,
                  reason: str | None = None) -> tuple[dict[str, Any], str]:
    """One report in full with its reporter's identity; the read of the identity is recorded."""
    with rt.uow() as uow:
        session = uow.session
        report = records.load_report(session, number, full=True)
        if not domain.is_regency_staff(staff):
            raise NotFound(records.NOT_FOUND)
        reporter = session.scalars(select(Reporter).where(Reporter.report_id == report.id)).one_or_none()
        shown = identity(reporter, report.privacy) if reporter is not None else None
        if shown is not None:
            session.add(PersonalDataAccess(
                report_id=report.id, accessed_at=now, actor_sub=staff.sub, actor_name=staff.name,
                actor_roles=",".join(sorted(staff.roles)), actor_opd=staff.opd, purpose=VIEW_REPORTER,
                endpoint=endpoint[:200], reason=reason[:500] if reason else None,
            ))
        view = records.presenter(rt).staff_detail(report, shown, records.duplicate_number(session, report))
        tag = records.etag(report)
        uow.commit()
        return view, tag
