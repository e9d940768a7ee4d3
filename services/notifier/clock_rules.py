"""What a clock instruction does to a clock, and whether a stopped duty was met.

Time rules:
- An instruction takes effect at its event's `time`. Events of one clock are applied in
  event-time order: an instruction older than the last one applied is recorded but changes
  nothing (the broker does not promise order, and a retried event can arrive late).
- A stop at or before `due_at` meets the duty; a later stop breaches it, and the lateness is
  kept in seconds and in working days (`working_days_between(due_at, stopped_at)`).
- A stop whose outcome is `cancelled` (the duty ended without being done, e.g. a withdrawn
  request) closes the clock `cancelled`: neither met nor breached, no outcome event.
- A citizen's window (`party: citizen`) is nobody's duty on the staff: its stop closes it
  `closed` (no met, no breach), and no notification is planned for it.
- A pause holds an open clock (`paused`): its pending steps are withdrawn and it cannot be
  breached. A resume runs it again as a new run due at the instant the owner computed; the
  time held is added to the clock's total. A duty stopped while paused is judged as of the
  pause: the time spent waiting for the citizen is not the OPD's. A pause of a clock that
  is unknown or has stopped, and a resume of a clock that is not paused, change nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.calendar import WorkingCalendar
from services.notifier import domain
from services.notifier.sla import CANCELLED, CITIZEN, DONE, Resume, Start


@dataclass(frozen=True)
class ClockSnapshot:
    state: str
    due_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    opd: str | None
    last_event_at: datetime | None
    role: str | None = None
    party: str = domain.STAFF
    actions: tuple[str, ...] | None = None
    counting: str = domain.WORKING_DAYS
    paused_at: datetime | None = None
    paused_seconds: int = 0
    paused_working_days: int = 0

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


@dataclass(frozen=True)
class Decision:
    """What an instruction does to a clock.

    `outcome` names the history entry; `changes` are the clock fields to set. `new_run`
    starts a fresh set of notification steps (a restart is a new duty: its reminders are
    due again), `cancel_pending` withdraws the steps not sent yet, and `publish` names the
    notifier event to emit (`met` or `breached`).
    """

    outcome: str
    changes: dict[str, Any] = field(default_factory=dict)
    new_run: bool = False
    cancel_pending: bool = False
    publish: str | None = None
    # A resumed run plans only the steps still ahead: a reminder whose time fell while the
    # clock was held is not sent late.
    resumed: bool = False


@dataclass(frozen=True)
class Judgement:
    state: str
    late_seconds: int
    late_working_days: int


def judge(due_at: datetime, stopped_at: datetime, cal: WorkingCalendar) -> Judgement:
    """Met when the duty was done by its due instant; otherwise breached, and how late."""
    if stopped_at <= due_at:
        return Judgement(domain.MET, 0, 0)
    seconds = math.ceil((stopped_at - due_at).total_seconds())
    return Judgement(domain.BREACHED, seconds, max(0, cal.working_days_between(due_at, stopped_at)))


def _stopped_changes(judgement: Judgement) -> dict[str, Any]:
    return {
        "state": judgement.state,
        "late_seconds": judgement.late_seconds,
        "late_working_days": judgement.late_working_days,
    }


def decide_start(
    clock: ClockSnapshot | None, start: Start, at: datetime, cal: WorkingCalendar
) -> Decision:
    began = start.started_at or at
    actions = list(start.actions) if start.actions is not None else None
    fresh = {
        "state": domain.RUNNING,
        "due_at": start.due_at,
        "started_at": began,
        "opd": start.opd,
        "role": start.role,
        "party": start.party,
        "actions": actions,
        "counting": start.counting,
        "paused_at": None,
        "stopped_at": None,
        "breached_at": None,
        "late_seconds": None,
        "late_working_days": None,
        "last_event_at": at,
    }
    if clock is None:
        return Decision("started", {**fresh, "first_started_at": began}, new_run=True)
    if clock.last_event_at is not None and at < clock.last_event_at:
        if clock.state == domain.STOPPED and clock.due_at is None and at <= clock.stopped_at:
            # The stop overtook its own start: now the outcome can be judged.
            changes = {
                "run": 1,
                "due_at": start.due_at,
                "started_at": began,
                "first_started_at": began,
                "opd": start.opd,
                "role": start.role,
                "party": start.party,
                "actions": actions,
                "counting": start.counting,
            }
            if start.party == CITIZEN:
                return Decision("resolved", {**changes, "state": domain.CLOSED})
            judgement = judge(start.due_at, clock.stopped_at, cal)
            changes.update(_stopped_changes(judgement))
            return Decision("resolved", changes, publish=judgement.state)
        return Decision("stale")
    same = (
        clock.due_at == start.due_at
        and clock.opd == start.opd
        and clock.role == start.role
        and clock.party == start.party
        and clock.actions == start.actions
        and clock.counting == start.counting
    )
    if clock.is_open and clock.state != domain.PAUSED and same:
        # The same instruction again (another event repeating it): nothing is due twice.
        return Decision("unchanged", {"last_event_at": at})
    return Decision("restarted", fresh, new_run=True, cancel_pending=True)


def decide_stop(
    clock: ClockSnapshot | None, at: datetime, cal: WorkingCalendar, outcome: str = DONE
) -> Decision:
    if clock is None:
        changes = {
            # A cancellation needs no due date to be judged; a done duty waits for its start.
            "state": domain.CANCELLED if outcome == CANCELLED else domain.STOPPED,
            "due_at": None,
            "started_at": None,
            "stopped_at": at,
            "last_event_at": at,
        }
        return Decision("stopped_unstarted", changes)
    if clock.last_event_at is not None and at < clock.last_event_at:
        return Decision("stale")
    if not clock.is_open:
        return Decision("already_stopped")
    ended = {"stopped_at": at, "last_event_at": at}
    # Done while held: the duty is judged as of the pause, and the hold ends with it.
    judged_at = at
    if clock.state == domain.PAUSED and clock.paused_at is not None:
        judged_at = min(at, clock.paused_at)
        ended.update(_held_until(clock, at, cal))
    if outcome == CANCELLED:
        return Decision("cancelled", {**ended, "state": domain.CANCELLED}, cancel_pending=True)
    if clock.party == CITIZEN:
        return Decision("closed", {**ended, "state": domain.CLOSED}, cancel_pending=True)
    judgement = judge(clock.due_at, judged_at, cal)
    changes = {**ended, **_stopped_changes(judgement)}
    return Decision("stopped", changes, cancel_pending=True, publish=judgement.state)


def _held_until(clock: ClockSnapshot, at: datetime, cal: WorkingCalendar) -> dict[str, Any]:
    """The hold ends at `at`: its length joins the clock's total time held."""
    held = max(0, math.ceil((at - clock.paused_at).total_seconds()))
    days = max(0, cal.working_days_between(clock.paused_at, at))
    return {
        "paused_at": None,
        "paused_seconds": (clock.paused_seconds or 0) + held,
        "paused_working_days": (clock.paused_working_days or 0) + days,
    }


def decide_pause(clock: ClockSnapshot | None, at: datetime) -> Decision:
    """Hold a running (or open, already breached) clock from `at`."""
    if clock is None:
        return Decision("pause_ignored")
    if clock.last_event_at is not None and at < clock.last_event_at:
        return Decision("stale")
    if not clock.is_open or clock.due_at is None:
        return Decision("pause_ignored")
    if clock.state == domain.PAUSED:
        return Decision("already_paused", {"last_event_at": at})
    changes = {"state": domain.PAUSED, "paused_at": at, "last_event_at": at}
    return Decision("paused", changes, cancel_pending=True)


def decide_resume(
    clock: ClockSnapshot | None, resume: Resume, at: datetime, cal: WorkingCalendar
) -> Decision:
    """Run a paused clock again, due at the owner's new instant, as a new run of steps."""
    if clock is None:
        return Decision("resume_ignored")
    if clock.last_event_at is not None and at < clock.last_event_at:
        return Decision("stale")
    if not clock.is_open or clock.state != domain.PAUSED or clock.paused_at is None:
        return Decision("resume_ignored")
    changes = {
        "state": domain.RUNNING,
        "due_at": resume.due_at,
        "opd": resume.opd,
        "role": resume.role,
        "party": resume.party,
        "counting": resume.counting or clock.counting,
        # A breach noticed before the hold belonged to the old due instant.
        "breached_at": None,
        "last_event_at": at,
        **_held_until(clock, at, cal),
    }
    return Decision("resumed", changes, new_run=True, cancel_pending=True, resumed=True)


def is_overdue(state: str, due_at: datetime | None, now: datetime, party: str = domain.STAFF) -> bool:
    """A running staff duty whose due instant has passed is breached (and stays open)."""
    return party == domain.STAFF and state == domain.RUNNING and due_at is not None and due_at < now


def window_ended(state: str, due_at: datetime | None, now: datetime, party: str) -> bool:
    """A citizen's window whose time ran out closes: nobody on the staff was late."""
    return party == CITIZEN and state == domain.RUNNING and due_at is not None and due_at < now
