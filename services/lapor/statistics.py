"""Public statistics per OPD: how many reports it received and how well they were handled.

The set is every report submitted in the period (local dates, both ends included), rahasia
ones too: a count names nobody. A report belongs to the OPD that leads it now; a report
returned and not yet dispositioned again belongs to none (it counts in the total only).

- received: the reports of the set the OPD leads.
- verification on time: the verification clock (`lapor.verification`) ends when the report
  reaches its OPD (`dispatched_at`), or, for the regency's total, when it is archived or
  declared another body's authority (`closed_at`). It was on time when that instant is at
  or before the stored `verification_due_at` (moved by a clarification, restarted by a
  return). A report still waiting (submitted, verified, returned) whose due has passed
  counts as late; one held for the reporter's clarification or postponed is not counted.
  % = on time / counted.
- follow-up on time: the OPD's first substantive response (`first_response_at`) at or
  before the follow-up due of its dispatch: `dispatched_at` plus LAPOR_FOLLOW_UP_DAYS
  working days, as the service computed and stored it in `follow_up_due_at` at dispatch. A
  dispatched report without a response whose `follow_up_due_at` has passed counts as late.
- median days to complete: calendar days, to one decimal, from the complete report
  (`verified_at`, where the 60-day limit of UU 25/2009 starts) to `completed_at`, over the
  reports completed (or closed after completion).
- satisfaction: the average of the reporters' ratings (1-5) and how many rated.

The formulas are pure functions of `ReportFacts`; `opd_statistics` loads the facts.
"""

from __future__ import annotations

import statistics as stats
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from services.common.runtime import Runtime
from services.lapor import domain
from services.lapor.models import Report

PENDING_VERIFICATION = (domain.SUBMITTED, domain.VERIFIED, domain.RETURNED)
ENDED_BY_DECISION = (domain.ARCHIVED, domain.NOT_AUTHORITY)
DAY_SECONDS = 86400


@dataclass(frozen=True)
class ReportFacts:
    """What the formulas read of one report."""

    status: str
    lead_opd: str | None
    submitted_at: datetime
    verification_due_at: datetime | None = None
    verified_at: datetime | None = None
    dispatched_at: datetime | None = None
    closed_at: datetime | None = None
    follow_up_due: datetime | None = None
    first_response_at: datetime | None = None
    completed_at: datetime | None = None
    rating: int | None = None


@dataclass(frozen=True)
class OnTime:
    on_time: int
    counted: int

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.on_time / self.counted, 1) if self.counted else None


def _share(judged: Iterable[bool | None]) -> OnTime:
    verdicts = [v for v in judged if v is not None]
    return OnTime(sum(verdicts), len(verdicts))


def verification_on_time(report: ReportFacts, now: datetime) -> bool | None:
    """True on time, False late, None not counted (see the module's rules)."""
    due = report.verification_due_at
    if due is None:
        return None
    # A returned report waits on the restarted clock: its earlier dispatch says nothing.
    if report.status in PENDING_VERIFICATION:
        return False if now > due else None
    if report.dispatched_at is not None:
        return report.dispatched_at <= due
    if report.status in ENDED_BY_DECISION and report.closed_at is not None:
        return report.closed_at <= due
    return None


def follow_up_on_time(report: ReportFacts, now: datetime) -> bool | None:
    due = report.follow_up_due
    if due is None:
        return None
    if report.first_response_at is not None:
        return report.first_response_at <= due
    if report.status == domain.DISPATCHED and now > due:
        return False
    return None


def days_to_complete(report: ReportFacts) -> float | None:
    if report.completed_at is None or report.verified_at is None:
        return None
    return (report.completed_at - report.verified_at).total_seconds() / DAY_SECONDS


def median_days(reports: Sequence[ReportFacts]) -> float | None:
    durations = [d for d in map(days_to_complete, reports) if d is not None]
    return round(stats.median(durations), 1) if durations else None


def satisfaction(reports: Sequence[ReportFacts]) -> tuple[float | None, int]:
    ratings = [r.rating for r in reports if r.rating is not None]
    return (round(sum(ratings) / len(ratings), 2) if ratings else None), len(ratings)


def summary(reports: Sequence[ReportFacts], now: datetime) -> dict:
    """The figures of one group of reports."""
    verification = _share(verification_on_time(r, now) for r in reports)
    follow_up = _share(follow_up_on_time(r, now) for r in reports)
    average, rated = satisfaction(reports)
    return {
        "received": len(reports),
        "verification_on_time": verification.on_time,
        "verification_counted": verification.counted,
        "verification_on_time_percent": verification.percent,
        "follow_up_on_time": follow_up.on_time,
        "follow_up_counted": follow_up.counted,
        "follow_up_on_time_percent": follow_up.percent,
        "completed": sum(1 for r in reports if days_to_complete(r) is not None),
        "median_days_to_complete": median_days(reports),
        "satisfaction_average": average,
        "satisfaction_count": rated,
    }


def per_opd(reports: Sequence[ReportFacts], opds: Sequence[str], now: datetime) -> tuple[list[dict], dict]:
    """(one row per OPD in `opds`' order, then any other lead OPD met; the total row)."""
    groups: dict[str, list[ReportFacts]] = {code: [] for code in opds}
    for report in reports:
        if report.lead_opd is not None:
            groups.setdefault(report.lead_opd, []).append(report)
    rows = [{"opd": code, **summary(group, now)} for code, group in groups.items()]
    return rows, summary(reports, now)


# -- loading ------------------------------------------------------------------------------


def period_bounds(start: date, end: date, zone) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the regency's zone."""
    return (datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))


def load_facts(session, start: datetime, end: datetime,
               follow_up_due: Callable[[datetime], datetime]) -> list[ReportFacts]:
    """The facts of the reports submitted in [start, end). A report already answered has
    no stored follow-up due any more; `follow_up_due(dispatched_at)` computes the one its
    dispatch set, with the rule the service used."""
    rows = session.execute(
        select(Report.status, Report.lead_opd, Report.submitted_at, Report.verification_due_at,
               Report.verified_at, Report.dispatched_at, Report.closed_at, Report.follow_up_due_at,
               Report.first_response_at, Report.completed_at, Report.rating)
        .where(Report.submitted_at >= start, Report.submitted_at < end)
    ).all()
    facts = []
    for row in rows:
        due = row.follow_up_due_at
        if row.first_response_at is not None and row.dispatched_at is not None:
            due = follow_up_due(row.dispatched_at)
        facts.append(ReportFacts(
            status=row.status, lead_opd=row.lead_opd, submitted_at=row.submitted_at,
            verification_due_at=row.verification_due_at, verified_at=row.verified_at,
            dispatched_at=row.dispatched_at, closed_at=row.closed_at, follow_up_due=due,
            first_response_at=row.first_response_at, completed_at=row.completed_at, rating=row.rating,
        ))
    return facts


def opd_statistics(rt: Runtime, start: date, end: date, *, now: datetime, opd: str | None = None) -> dict:
    """The statistics document of the period: a row per OPD of the directory (those with
    nothing received included, so silence shows) and the regency's total."""
    begin, finish = period_bounds(start, end, rt.calendar.tz)
    days = rt.settings.follow_up_days
    with rt.uow() as uow:
        facts = load_facts(uow.session, begin, finish, lambda at: domain.working_due(rt.calendar, at, days))
    codes = [o.code for o in rt.opds if o.active]
    rows, total = per_opd(facts, codes, now)
    for row in rows:
        row["opd_name"] = rt.opds.name_of(row["opd"]) or row["opd"]
    if opd is not None:
        rows = [row for row in rows if row["opd"] == opd]
    return {"start": start, "end": end, "opds": rows, "total": total}
