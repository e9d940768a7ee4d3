"""A policy turned into the notification steps of one clock run, each with its instant.

Notifications go out in office hours on working days only: an instant outside them moves
to the next office opening, exactly as a request received out of hours is (the calendar's
`receipt_instant`). Reminders count back from the due date in working days (the office
opening of that day), in working hours (office time only), or as a fraction of the allowed
time. Escalations count forward in working days from the breach notice.

A clock whose owner counted calendar days (a LAPOR! completion: 60 days, UU 25/2009) is due
at an instant that may fall on a weekend or a holiday. Its `fraction` reminder is a fraction
of its own length in calendar time; reminders in working days or hours still count back over
working days from the due date, and escalations forward from the breach notice. The breach
itself is the due instant; its notice, like every step, goes out at the next office opening.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from services.common.calendar import (
    WorkingCalendar,
    shift_working_time,
    working_days_before,
    working_seconds_between,
)
from services.notifier import domain
from services.notifier.policy import Policy


class PlannedStep(NamedTuple):
    # A tuple rather than a frozen dataclass: a group of new clocks makes six per clock, and
    # a frozen dataclass pays an attribute-setting call per field.
    key: str
    kind: str
    level: int | None
    planned_at: datetime  # the instant the rule gives
    send_after: datetime  # that instant moved into office hours on a working day
    notify: tuple[str, ...]


class CalendarAnswers:
    """The calendar's answers a plan asks for, kept for the plans of one unit of work.

    Clocks started together are mostly due on the same days, so their plans ask the same
    questions (the working day two before the due date, the office opening after the breach,
    the working days after it): a group of them asks each once. Only pure answers of one
    calendar are kept, so a plan reads the same with or without them.
    """

    def __init__(self, cal: WorkingCalendar):
        self.cal = cal
        self._known: dict[tuple, Any] = {}

    def _answer(self, key: tuple, compute: Callable[[], Any]) -> Any:
        known = self._known.get(key, _UNKNOWN)
        if known is _UNKNOWN:
            known = self._known[key] = compute()
        return known

    def receipt_instant(self, moment: datetime) -> datetime:
        return self._answer(("receipt", moment), lambda: self.cal.receipt_instant(moment))

    def add_working_days(self, day: date, n: int) -> date:
        return self._answer(("after", day, n), lambda: self.cal.add_working_days(day, n))

    def working_days_before(self, day: date, n: int) -> date:
        return self._answer(("before", day, n), lambda: working_days_before(day, n, self.cal))

    def shift_working_time(self, moment: datetime, seconds: float) -> datetime:
        # The answer keeps the zone `moment` was given in: it is part of the question.
        return self._answer(("shift", moment, moment.tzinfo, seconds),
                            lambda: shift_working_time(moment, seconds, self.cal))


_UNKNOWN = object()


def plan_steps(
    policy: Policy,
    started_at: datetime,
    due_at: datetime,
    cal: WorkingCalendar,
    *,
    counting: str = domain.WORKING_DAYS,
    answers: CalendarAnswers | None = None,
) -> list[PlannedStep]:
    """Every step of a clock's run in send order: reminders, the breach notice, escalations.

    A reminder whose instant is not strictly between the start and the due instant is left
    out: telling someone "two days left" about a duty that was only given one day is noise.
    `answers` (of this calendar) lets the plans of one unit of work share the calendar's
    answers.
    """
    days = answers if answers is not None and answers.cal is cal else CalendarAnswers(cal)
    steps: list[PlannedStep] = []
    by_calendar = counting == domain.CALENDAR_DAYS
    # The office time allowed is counted day by day: only a reminder given as a fraction
    # of it needs it, and most policies have none.
    allowed = None
    for reminder in policy.reminders:
        if reminder.unit not in ("wd", "wh") and allowed is None:
            allowed = 0.0 if by_calendar else working_seconds_between(started_at, due_at, cal)
        if reminder.unit == "wd":
            day = days.working_days_before(due_at.astimezone(cal.tz).date(), int(reminder.amount))
            planned = datetime.combine(day, cal.office_start, tzinfo=cal.tz)
        elif reminder.unit == "wh":
            planned = days.shift_working_time(due_at, -reminder.amount * 3600)
        elif allowed > 0:
            planned = days.shift_working_time(started_at, reminder.amount * allowed)
        else:
            # Calendar time, or a duty given no office time at all.
            planned = (started_at + (due_at - started_at) * reminder.amount).replace(microsecond=0)
        send_after = days.receipt_instant(planned)
        if started_at < planned and send_after < due_at:
            steps.append(
                PlannedStep(reminder.key, domain.REMIND, None, planned, send_after, reminder.notify)
            )
    breach_planned = due_at + timedelta(seconds=1)
    breach_at = days.receipt_instant(breach_planned)
    steps.append(
        PlannedStep(
            domain.BREACH, domain.BREACH, None, breach_planned, breach_at, policy.breach_notify
        )
    )
    base = breach_at.astimezone(cal.tz)
    for level in policy.escalations:
        day = days.add_working_days(base.date(), level.after_working_days)
        planned = datetime.combine(day, base.timetz())
        steps.append(
            PlannedStep(
                level.key,
                domain.ESCALATE,
                level.level,
                planned,
                days.receipt_instant(planned),
                level.notify,
            )
        )
    steps.sort(key=lambda s: (s.send_after, _KIND_ORDER[s.kind], s.level or 0))
    return steps


_KIND_ORDER = {domain.REMIND: 0, domain.BREACH: 1, domain.ESCALATE: 2}


def step_is_stale(kind: str, due_at: datetime | None, now: datetime) -> bool:
    """A reminder that could only go out after the due instant has nothing left to remind."""
    return kind == domain.REMIND and due_at is not None and now >= due_at


def retry_after(attempts: int, now: datetime) -> datetime:
    """When a step whose mail failed for a passing reason is tried again.

    Five minutes, doubling with every attempt, at most two hours.
    """
    minutes = min(5 * 2 ** max(0, attempts - 1), 120)
    return now + timedelta(minutes=minutes)


@dataclass(frozen=True)
class StepDue:
    """A pending step as the late-start rule reads it."""

    key: str
    kind: str
    level: int | None
    send_after: datetime


def superseded_by(step: StepDue, also_due: list[StepDue]) -> str | None:
    """The key of the step that makes `step` pointless, or None when `step` still applies.

    When several steps of one kind are due at once (a clock that started past them, or a
    tick after an outage), only the latest applies: the highest escalation level, the last
    reminder. Sending every level in one tick would ring the Sekda and the officer together
    about a duty nobody has yet been asked to do. The breach notice is always sent.
    """
    if step.kind == domain.BREACH:
        return None
    rank = _rank(step)
    later = [s for s in also_due if s.kind == step.kind and _rank(s) > rank]
    return max(later, key=_rank).key if later else None


def _rank(step: StepDue) -> tuple:
    return (step.level or 0, step.send_after, step.key)


def open_actions(
    actions: list[str] | tuple[str, ...] | None, due_at: datetime | None, now: datetime
) -> tuple[str, ...]:
    """What the actor can still do in time: what the producer listed, and nothing once the
    due instant has passed (the duty can then only be done late, the policy's plain action)."""
    if not actions or due_at is None or now > due_at:
        return ()
    return tuple(actions)
