"""Who reported and who went silent: per OPD figures for a period, their score and rank.

A period is whole days in the regency's zone, from its first day to its last, counted only
up to today: a week asked for on Wednesday has the working days Monday to Wednesday. A day
with a submission is a working day on which the OPD first submitted at least one article (a
resubmission is not a new submission). Submitted, published and rejected count the articles
whose first submission, publication or rejection fell in the period; an article published
and then taken down is no longer counted as published. Photos are those of the articles
published in the period. The score and rank are `ranking`'s, over every active OPD of the
directory, so an OPD's rank is the same whoever reads it.
"""

from __future__ import annotations

import statistics as stats
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from services.common.calendar import WorkingCalendar
from services.common.runtime import Runtime
from services.common.scope import OpdScope
from services.siber import domain, ranking
from services.siber.chart import ChartRow, week_chart
from services.siber.models import Article, OpdQuota, Photo


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def days(self) -> Iterable[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class ArticleFacts:
    """The few columns of one article the statistics read, as plain values."""

    opd: str
    status: str
    submitted_at: datetime | None
    published_at: datetime | None
    rejected_at: datetime | None
    photos: int = 0


@dataclass
class OpdTally:
    opd: str
    per_day: int
    submission_days: set[date] = field(default_factory=set)
    submitted: int = 0
    published: int = 0
    rejected: int = 0
    photos: int = 0
    published_with_photo: int = 0
    hours_to_publication: list[float] = field(default_factory=list)


def week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def counted_period(period: Period, today: date) -> Period | None:
    """The part of `period` up to today; None when all of it is still to come."""
    last = min(period.last, today)
    return Period(period.first, last) if period.first <= last else None


def working_days(period: Period | None, calendar: WorkingCalendar) -> list[date]:
    return [day for day in period.days() if calendar.is_working_day(day)] if period else []


def tally(facts: Iterable[ArticleFacts], quotas: dict[str, int], period: Period | None,
          tz: Any) -> dict[str, OpdTally]:
    """Pure: the period's tallies per OPD (every OPD of `quotas`, others ignored)."""
    tallies = {opd: OpdTally(opd, per_day) for opd, per_day in quotas.items()}
    if period is None:
        return tallies

    def within(moment: datetime | None) -> bool:
        return moment is not None and period.first <= moment.astimezone(tz).date() <= period.last

    for fact in facts:
        counts = tallies.get(fact.opd)
        if counts is None:
            continue
        if within(fact.submitted_at):
            counts.submitted += 1
            counts.submission_days.add(fact.submitted_at.astimezone(tz).date())
        if fact.status == domain.PUBLISHED and within(fact.published_at):
            counts.published += 1
            counts.photos += fact.photos
            counts.published_with_photo += 1 if fact.photos else 0
            if fact.submitted_at is not None:
                hours = (fact.published_at - fact.submitted_at).total_seconds() / 3600
                counts.hours_to_publication.append(max(hours, 0.0))
        if within(fact.rejected_at):
            counts.rejected += 1
    return tallies


def figures(tallies: dict[str, OpdTally], days: Sequence[date]) -> list[ranking.Figures]:
    workdays = set(days)
    return [
        ranking.Figures(
            opd=t.opd, working_days=len(workdays),
            days_with_submission=len(t.submission_days & workdays),
            submitted=t.submitted, published=t.published, rejected=t.rejected,
            published_with_photo=t.published_with_photo, per_day=t.per_day)
        for t in tallies.values()
    ]


def _median(values: Sequence[float]) -> float | None:
    return round(stats.median(values), 1) if values else None


@dataclass(frozen=True)
class Report:
    period: Period
    working_days: list[date]
    ranked: list[ranking.Ranked]
    tallies: dict[str, OpdTally]


def _load(rt: Runtime, period: Period) -> tuple[list[ArticleFacts], dict[str, int]]:
    tz = rt.calendar.tz
    start = datetime.combine(period.first, time.min, tzinfo=tz)
    end = datetime.combine(period.last + timedelta(days=1), time.min, tzinfo=tz)

    def inside(column):
        return (column >= start) & (column < end)

    with rt.session_factory() as session:
        photo_counts = (select(Photo.article_id, func.count(Photo.id).label("photos"))
                        .group_by(Photo.article_id).subquery())
        rows = session.execute(
            select(Article.opd, Article.status, Article.submitted_at, Article.published_at,
                   Article.rejected_at, func.coalesce(photo_counts.c.photos, 0))
            .outerjoin(photo_counts, photo_counts.c.article_id == Article.id)
            .where(or_(inside(Article.submitted_at), inside(Article.published_at),
                       inside(Article.rejected_at)))
        ).all()
        own_quotas = dict(session.execute(select(OpdQuota.opd, OpdQuota.per_day)).all())
    quotas = {opd.code: own_quotas.get(opd.code, rt.settings.daily_quota)
              for opd in rt.opds if opd.active}
    return [ArticleFacts(*row) for row in rows], quotas


def report(rt: Runtime, period: Period, *, today: date) -> Report:
    counted = counted_period(period, today)
    facts, quotas = _load(rt, counted or period)
    tallies = tally(facts, quotas, counted, rt.calendar.tz)
    days = working_days(counted, rt.calendar)
    return Report(period, days, ranking.rank(figures(tallies, days)), tallies)


def _period_view(result: Report) -> dict[str, Any]:
    return {"date_from": result.period.first, "date_to": result.period.last,
            "working_days": len(result.working_days)}


def _public_row(rt: Runtime, result: Report, ranked: ranking.Ranked) -> dict[str, Any]:
    counts = result.tallies[ranked.score.opd]
    opd = rt.opds.get(counts.opd)
    return {
        "rank": ranked.rank,
        "opd": counts.opd,
        "opd_name": opd.name if opd else counts.opd,
        "working_days": len(result.working_days),
        "days_with_submission": len(counts.submission_days & set(result.working_days)),
        "published": counts.published,
        "score": ranked.score.total,
    }


def public_summary(rt: Runtime, period: Period, *, today: date) -> dict[str, Any]:
    result = report(rt, period, today=today)
    return {"period": _period_view(result),
            "opds": [_public_row(rt, result, ranked) for ranked in result.ranked]}


def detail(rt: Runtime, scope: OpdScope, period: Period, *, today: date) -> dict[str, Any]:
    """Every figure, for the OPDs `scope` reaches; ranks stay those among all OPDs."""
    result = report(rt, period, today=today)
    rows = []
    for ranked in result.ranked:
        if not scope.allows(ranked.score.opd):
            continue
        counts = result.tallies[ranked.score.opd]
        score = ranked.score
        rows.append({
            **_public_row(rt, result, ranked),
            "per_day": counts.per_day,
            "submitted": counts.submitted,
            "rejected": counts.rejected,
            "photos": counts.photos,
            "published_with_photo": counts.published_with_photo,
            "median_hours_to_publication": _median(counts.hours_to_publication),
            "silent_days": [d for d in result.working_days if d not in counts.submission_days],
            "score_parts": {"quantity": score.quantity, "published_ratio": score.published_ratio,
                            "photo_use": score.photo_use, "regularity": score.regularity},
        })
    return {"period": _period_view(result), "opds": rows}


MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")


def _span(first: date, last: date) -> str:
    if first.year == last.year and first.month == last.month:
        return f"{first.day}–{last.day} {MONTHS[last.month - 1]} {last.year}"
    if first.year == last.year:
        return (f"{first.day} {MONTHS[first.month - 1]} – {last.day} {MONTHS[last.month - 1]} "
                f"{last.year}")
    return (f"{first.day} {MONTHS[first.month - 1]} {first.year} – "
            f"{last.day} {MONTHS[last.month - 1]} {last.year}")


def week_chart_svg(rt: Runtime, day: date, *, today: date) -> str:
    week = week_of(day)
    result = report(rt, week, today=today)
    workdays = result.working_days
    ordered = []
    for ranked in result.ranked:
        counts = result.tallies[ranked.score.opd]
        opd = rt.opds.get(counts.opd)
        days = len(counts.submission_days & set(workdays))
        ordered.append((-days, ranked.rank, ChartRow(opd.short_name if opd else counts.opd, days,
                                                     len(workdays))))
    # Most days with news first; among equals, the better score first.
    rows = [row for *_, row in sorted(ordered, key=lambda item: item[:2])]
    friday = week.first + timedelta(days=4)
    title = f"Berita OPD pekan {_span(week.first, friday)}"
    if workdays:
        subtitle = (f"Hari kerja dengan kiriman berita per OPD, {len(workdays)} hari kerja "
                    f"sampai {workdays[-1].day} {MONTHS[workdays[-1].month - 1]}")
    else:
        subtitle = "Hari kerja dengan kiriman berita per OPD"
    return week_chart(title, subtitle, rows)
