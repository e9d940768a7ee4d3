"""The daily duty: each working day every active OPD owes news (`siber.daily_news`).

The worker opens the day's duties once office hours begin (one row per OPD and day: a
second worker, or a restart, inserts nothing and publishes nothing twice). An OPD's first
submission of the day meets its duty; a submission that comes before the opener ran opens
the duty itself, so the notifier always sees a start before its stop.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from services.common.db import insert_unless_present
from services.common.errors import Forbidden
from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.siber import articles, domain, events
from services.siber.models import DailyDuty, OpdQuota


def duty_window(rt: Runtime, now: datetime) -> tuple[date, datetime, datetime] | None:
    """The local working day of `now` with its office start and end, or None on a day off."""
    tz = rt.calendar.tz
    day = now.astimezone(tz).date()
    if not rt.calendar.is_working_day(day):
        return None
    start = datetime.combine(day, rt.settings.office_start, tzinfo=tz)
    end = datetime.combine(day, rt.settings.office_end, tzinfo=tz)
    return day, start, end


def _open(uow: UnitOfWork, opds: list[str], day: date, due_at: datetime, now: datetime) -> list[str]:
    """Insert the duties not yet open and publish their starts; the OPDs opened now."""
    if not opds:
        return []
    statement = (
        insert_unless_present(uow.session, DailyDuty, index_elements=["opd", "day"])
        .values([{"opd": opd, "day": day, "opened_at": now, "due_at": due_at} for opd in opds])
        .returning(DailyDuty.opd)
    )
    opened = sorted(uow.session.execute(statement).scalars())
    for opd in opened:
        uow.publish(
            events.quota_event(
                opd, day, "opened", at=now, clocks=(events.daily_news_started(opd, due_at),),
                due_at=due_at,
            )
        )
    return opened


def open_duties(rt: Runtime, now: datetime | None = None, *, before_office_hours: bool = False) -> list[str]:
    """Open the day's duty of every active OPD once office hours began (never after they
    ended); the OPDs opened now. `before_office_hours` opens them earlier (an operator's
    command, e.g. for a day whose worker was restored in the night)."""
    now = (now or rt.clock()).astimezone(UTC)
    window = duty_window(rt, now)
    if window is None:
        return []
    day, start, end = window
    if now >= end or (now < start and not before_office_hours):
        return []
    with rt.uow() as uow:
        opds = [opd.code for opd in rt.opds if rt.opds.is_active(opd.code)]
        opened = _open(uow, opds, day, end, now)
        uow.commit()
        return opened


def meet(rt: Runtime, uow: UnitOfWork, opd: str, article_id: int, now: datetime) -> bool:
    """The OPD submitted an article: its duty of today is met (opened first if need be).
    False on a day off or when the duty was already met."""
    window = duty_window(rt, now)
    if window is None:
        return False
    day, _start, end = window
    _open(uow, [opd], day, end, now)
    duty = uow.session.scalar(
        select(DailyDuty).where(DailyDuty.opd == opd, DailyDuty.day == day).with_for_update()
    )
    if duty is None or duty.met_at is not None:
        return False
    duty.met_at, duty.article_id = now, article_id
    uow.publish(
        events.quota_event(opd, day, "met", at=now, clocks=(events.daily_news_met(),), article_id=article_id)
    )
    return True


def quotas(rt: Runtime) -> list[dict]:
    """Every active OPD's daily quota: its own, or `SIBER_DAILY_QUOTA`."""
    with rt.uow() as uow:
        own = {q.opd: q.per_day for q in uow.session.scalars(select(OpdQuota))}
    return [
        {"opd": opd.code, "per_day": own.get(opd.code, rt.settings.daily_quota)}
        for opd in rt.opds
        if rt.opds.is_active(opd.code)
    ]


def set_quota(rt: Runtime, principal, opd: str, per_day: int) -> dict:
    if domain.actor_of(principal) != domain.NEWSROOM:
        raise Forbidden("Hanya redaktur Diskominfo yang dapat mengubah kuota harian.")
    now = articles.now_of(rt)
    with rt.uow() as uow:
        quota = uow.session.get(OpdQuota, opd, with_for_update=True)
        if quota is None:
            uow.session.add(OpdQuota(opd=opd, per_day=per_day, updated_at=now))
        else:
            quota.per_day, quota.updated_at = per_day, now
        uow.commit()
    return {"opd": opd, "per_day": per_day}
