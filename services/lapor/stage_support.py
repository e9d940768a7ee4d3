"""What the steps after verification share: loading a report, who of the OPDs holds it,
the ETag check, the history line and the event of a step.

A liaison reaches a report only through an ACTIVE disposition of its own OPD (lead or
supporting); outside it the report does not exist for them (404, so its number reveals
nothing). Only the lead OPD follows up, returns or completes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import sla
from services.common.auth import Principal
from services.common.errors import Forbidden, NotFound
from services.common.events import Event
from services.lapor import domain, records
from services.lapor import events as ev
from services.lapor.models import Disposition, Report
from services.lapor.presenters import Presenter
from services.lapor.records import NOT_FOUND, load_report

LEAD_ONLY = "Hanya OPD penanggung jawab (OPD utama disposisi) yang dapat melakukan langkah ini."


def active_dispositions(session: Session, report_id: int) -> list[Disposition]:
    return list(session.scalars(
        select(Disposition)
        .where(Disposition.report_id == report_id, Disposition.active.is_(True))
        .order_by(Disposition.id)
    ))


def supporting_of(dispositions: Sequence[Disposition]) -> list[str]:
    return sorted(d.opd for d in dispositions if d.role == domain.SUPPORTING and d.active)


@dataclass(frozen=True)
class Holder:
    """The report as one OPD (or a regency admin) holds it: its role in the disposition."""

    report: Report
    dispositions: list[Disposition]
    role: str | None  # lead, supporting, or None for a regency admin

    @property
    def supporting(self) -> list[str]:
        return supporting_of(self.dispositions)


def reach(session: Session, staff: Principal, number: str, *, lock: bool = False) -> Holder:
    """The report for `staff`: any for a regency admin, for a liaison only through an active
    disposition of its OPD (404 otherwise)."""
    report = load_report(session, number, lock=lock)
    dispositions = active_dispositions(session, report.id)
    if domain.is_regency_staff(staff):
        return Holder(report, dispositions, None)
    role = role_of(staff, dispositions)
    if role is None:
        raise NotFound(NOT_FOUND)
    return Holder(report, dispositions, role)


def role_of(staff: Principal, dispositions: Sequence[Disposition]) -> str | None:
    """The liaison's OPD's role in the active disposition (lead first), or None."""
    if staff is None or not staff.has_role(domain.LIAISON) or staff.opd is None:
        return None
    roles = {d.role for d in dispositions if d.active and d.opd == staff.opd}
    if domain.LEAD in roles:
        return domain.LEAD
    return domain.SUPPORTING if roles else None


def require_lead(holder: Holder, what: str = LEAD_ONLY) -> None:
    """Only the lead OPD's liaison may take this step (a supporting OPD may not)."""
    if holder.role != domain.LEAD:
        raise Forbidden(what)


def event(
    holder_or_report: Holder | Report,
    action: str,
    at: datetime,
    *,
    clocks: tuple[sla.Instruction, ...] = (),
    supporting: Sequence[str] | None = None,
    **fields: Any,
) -> Event:
    """The step's `lapor.report.<action>`, with the supporting OPDs of the disposition."""
    if isinstance(holder_or_report, Holder):
        report, opds = holder_or_report.report, holder_or_report.supporting
    else:
        report, opds = holder_or_report, []
    return ev.report_event(
        report, action, at=at, clocks=clocks,
        supporting_opds=list(supporting) if supporting is not None else opds, **fields,
    )


def presenter(rt: Any) -> Presenter:
    return records.presenter(rt)


def staff_view(rt: Any, session: Session, number: str) -> tuple[dict[str, Any], str]:
    """The report as staff see it after a step, re-read so history and messages are
    current, with its ETag. It names no reporter: who reported is read on its own, audited."""
    session.flush()
    session.expire_all()
    report = load_report(session, number, full=True)
    view = records.presenter(rt).staff_detail(report, None, records.duplicate_number(session, report))
    return view, records.etag(report)


def citizen_view(rt: Any, session: Session, number: str) -> dict[str, Any]:
    """The report as its reporter sees it after their step."""
    session.flush()
    session.expire_all()
    report = load_report(session, number, full=True)
    return records.presenter(rt).citizen(report, records.duplicate_number(session, report))
