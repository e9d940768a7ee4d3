"""What every LAPOR! use case does with a report: load it, check its ETag, write its history,
and find the settings-driven lists (categories, places) and the event context.

The use-case modules (intake, verification, disposition, follow-up, reporter) share these so
that a report is loaded, locked and versioned one way.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.common.auth import Principal
from services.common.concurrency import entity_tag, require_match
from services.common.errors import NotFound
from services.common.registry import load_registry
from services.common.runtime import Runtime
from services.lapor import categories, wilayah
from services.lapor.events import EventContext
from services.lapor.models import NUMBER_PREFIX, Disposition, HistoryEntry, Report
from services.lapor.presenters import Presenter

NOT_FOUND = "Laporan tidak ditemukan."

CITIZEN, ADMIN, OPD, SYSTEM = "citizen", "admin", "opd", "system"


def etag(report: Report) -> str:
    """The entity tag of a report: changes with every update of its row."""
    return entity_tag(report.number, report.version)


def check_version(report: Report, if_match: str | None) -> None:
    """Refuse a change made against another version of the report than the current one."""
    require_match(if_match, etag(report))


def looks_like_number(number: str) -> bool:
    return isinstance(number, str) and number.startswith(f"{NUMBER_PREFIX}-") and len(number) <= 20


def load_report(session: Session, number: str, *, lock: bool = False, full: bool = False) -> Report:
    """The report by its number, or a 404 (also for a number that cannot exist). `lock`
    takes the row for the change; `full` loads what the views show with it."""
    if not looks_like_number(number):
        raise NotFound(NOT_FOUND)
    statement = select(Report).where(Report.number == number)
    if lock:
        statement = statement.with_for_update()
    if full:
        statement = statement.options(
            selectinload(Report.dispositions),
            selectinload(Report.messages),
            selectinload(Report.attachments),
            selectinload(Report.history),
        )
    report = session.scalars(statement).one_or_none()
    if report is None:
        raise NotFound(NOT_FOUND)
    return report


def reload_full(session: Session, report: Report) -> Report:
    """The report again after a change, with everything its views show."""
    session.flush()
    session.expire(report)
    return load_report(session, report.number, full=True)


def add_history(
    session: Session,
    report: Report,
    action: str,
    at: datetime,
    *,
    staff: Principal | None = None,
    actor_kind: str | None = None,
    from_opd: str | None = None,
    to_opd: str | None = None,
    note: str | None = None,
) -> None:
    """One line of the report's history; the actor is the staff member, else the citizen."""
    kind = actor_kind or (_staff_kind(staff) if staff is not None else CITIZEN)
    session.add(
        HistoryEntry(
            report_id=report.id,
            at=at,
            action=action,
            actor_kind=kind,
            actor_sub=staff.sub if staff is not None else None,
            actor_opd=staff.opd if staff is not None else None,
            from_opd=from_opd,
            to_opd=to_opd,
            note=note,
        )
    )


def _staff_kind(staff: Principal) -> str:
    return OPD if staff.opd else ADMIN


def supporting_opds(report: Report) -> list[str]:
    """The active supporting OPDs of a report whose dispositions were loaded."""
    return [d.opd for d in report.dispositions if d.active and d.role == "supporting"]


def active_supporting(session: Session, report_id: int) -> list[str]:
    """The active supporting OPDs, read from the database."""
    return list(
        session.scalars(
            select(Disposition.opd)
            .where(Disposition.report_id == report_id, Disposition.active.is_(True),
                   Disposition.role == "supporting")
            .order_by(Disposition.id)
        )
    )


def event_context(rt: Runtime) -> EventContext:
    """The coordinator OPD of the registry: the LAPOR! admins' desk, owner of verification."""
    return EventContext(coordinator_opd=load_registry().coordinator_opd)


# The loaders read each file once per process, but resolve the configured path on every
# call, which cost the busiest form (a citizen's report checks both lists and presents the
# answer with them) more than reading its fields: the configured path maps to its list once.
@lru_cache(maxsize=8)
def places_at(path: str) -> wilayah.Wilayah:
    return wilayah.load(path)


@lru_cache(maxsize=8)
def categories_at(path: str) -> categories.Categories:
    return categories.load(path)


def places(rt: Runtime) -> wilayah.Wilayah:
    return places_at(str(rt.settings.wilayah_file))


def category_list(rt: Runtime) -> categories.Categories:
    return categories_at(str(rt.settings.categories_file))


def local_year(rt: Runtime, at: datetime) -> int:
    return at.astimezone(rt.calendar.tz).year


def presenter(rt: Runtime) -> Presenter:
    return Presenter(rt.calendar, rt.opds, category_list(rt), places(rt))


def duplicate_number(session: Session, report: Report) -> str | None:
    """The number of the original a duplicate was archived against."""
    if report.duplicate_of_id is None:
        return None
    return session.scalar(select(Report.number).where(Report.id == report.duplicate_of_id))
