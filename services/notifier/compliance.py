"""The compliance dashboard's numbers: pure arithmetic over counts and instants."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.common.calendar import WorkingCalendar


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def on_time_percent(met: int, breached: int) -> float | None:
    closed = met + breached
    return round(100.0 * met / closed, 1) if closed else None


def compliance_score(met: int, breached: int, overdue: int) -> float | None:
    """Share of duties done on time, counting every duty still overdue as a failure.

    Duties closed in the period and duties open past their due date form the base, so an
    OPD cannot look good by leaving late cases unanswered.
    """
    base = met + breached + overdue
    return round(100.0 * met / base, 1) if base else None


def due_soon_limit(now: datetime, cal: WorkingCalendar, working_days: int = 2) -> datetime:
    """The end of the second working day after today: "due within two working days"."""
    today = now.astimezone(cal.tz).date()
    day = cal.add_working_days(today, working_days)
    return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=cal.tz)
