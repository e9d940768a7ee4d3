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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.calendar import WorkingCalendar
from services.notifier import domain
from services.notifier.sla import CANCELLED, CITIZEN, DONE, Start


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
    )
    if clock.is_open and same:
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
    if outcome == CANCELLED:
        changes = {"stopped_at": at, "last_event_at": at, "state": domain.CANCELLED}
        return Decision("cancelled", changes, cancel_pending=True)
    if clock.party == CITIZEN:
        changes = {"stopped_at": at, "last_event_at": at, "state": domain.CLOSED}
        return Decision("closed", changes, cancel_pending=True)
    judgement = judge(clock.due_at, at, cal)
    changes = {"stopped_at": at, "last_event_at": at, **_stopped_changes(judgement)}
    return Decision("stopped", changes, cancel_pending=True, publish=judgement.state)


def is_overdue(state: str, due_at: datetime | None, now: datetime, party: str = domain.STAFF) -> bool:
    """A running staff duty whose due instant has passed is breached (and stays open)."""
    return party == domain.STAFF and state == domain.RUNNING and due_at is not None and due_at < now


def window_ended(state: str, due_at: datetime | None, now: datetime, party: str) -> bool:
    """A citizen's window whose time ran out closes: nobody on the staff was late."""
    return party == CITIZEN and state == domain.RUNNING and due_at is not None and due_at < now
