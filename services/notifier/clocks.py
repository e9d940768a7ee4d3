"""Clocks and their notification steps in the database: applying instructions, scheduling.

The rules live in `clock_rules` and `notification_plan`; this module loads rows, asks the domain what to do, and writes
the outcome (clock fields, history, steps, events) in the caller's unit of work. Every
clock row is locked (`FOR UPDATE`) before it is judged, so two consumers or a consumer and
a tick never interleave on one clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.calendar import WorkingCalendar
from services.common.events import Event
from services.common.outbox import UnitOfWork
from services.notifier import clock_rules, domain, notification_plan, outgoing
from services.notifier import policy as policy_rules
from services.notifier.models import Clock, ClockHistory, Policy, Step
from services.notifier.sla import Instructions

log = logging.getLogger(__name__)


# -- policies ----------------------------------------------------------------------------


class PolicyBook:
    """Policies read once per unit of work, by clock kind, falling back to `default`."""

    def __init__(self, session: Session):
        self._session = session
        self._cache: dict[str, policy_rules.Policy | None] = {}

    def _row(self, kind: str) -> policy_rules.Policy | None:
        if kind not in self._cache:
            row = self._session.get(Policy, kind)
            self._cache[kind] = policy_rules.parse_policy(kind, row.document) if row else None
        return self._cache[kind]

    def for_clock(self, kind: str) -> policy_rules.Policy:
        policy = self._row(kind) or self._row(domain.DEFAULT_POLICY)
        if policy is None:
            raise LookupError("no policy for clock kinds without their own: run `migrate` first")
        return policy


# -- history -----------------------------------------------------------------------------


def record(
    session: Session,
    clock: Clock,
    entry: str,
    at: datetime,
    *,
    recorded_at: datetime,
    event_id: str | None = None,
    event_type: str | None = None,
    due_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        ClockHistory(
            clock_id=clock.id,
            entry=entry,
            at=at,
            recorded_at=recorded_at,
            event_id=event_id,
            event_type=event_type,
            run=clock.run,
            due_at=due_at,
            detail=detail,
        )
    )


# -- applying instructions ---------------------------------------------------------------


def snapshot(clock: Clock) -> clock_rules.ClockSnapshot:
    return clock_rules.ClockSnapshot(
        state=clock.state,
        due_at=clock.due_at,
        started_at=clock.started_at,
        stopped_at=clock.stopped_at,
        opd=clock.opd,
        last_event_at=clock.last_event_at,
        role=clock.role,
        party=clock.party or domain.STAFF,
        actions=tuple(clock.actions) if clock.actions is not None else None,
        counting=clock.counting or domain.WORKING_DAYS,
        paused_at=clock.paused_at,
        paused_seconds=clock.paused_seconds or 0,
        paused_working_days=clock.paused_working_days or 0,
    )


def _locked(session: Session, subject: str, kind: str) -> Clock | None:
    return session.scalars(
        select(Clock).where(Clock.subject == subject, Clock.clock == kind).with_for_update()
    ).one_or_none()


def apply_instructions(
    uow: UnitOfWork,
    cal: WorkingCalendar,
    instructions: Instructions,
    envelope: dict[str, Any],
    now: datetime,
) -> list[str]:
    """Apply one event's stops, then its starts; returns the outcome per instruction.

    Stops come first: an event that closes one duty and opens the next (verified, so the
    follow-up clock starts) must not see the new duty as a restart of the old.
    """
    session = uow.session
    policies = PolicyBook(session)
    meta = {"event_id": str(envelope.get("id")), "event_type": envelope.get("type")}
    outcomes: list[str] = []
    for stop in instructions.stops:
        clock = _locked(session, instructions.subject, stop.clock)
        decision = clock_rules.decide_stop(
            snapshot(clock) if clock else None, instructions.at, cal, stop.outcome
        )
        clock = _apply(session, clock, instructions.subject, stop.clock, decision, now, meta)
        record(session, clock, decision.outcome, instructions.at, recorded_at=now,
               due_at=clock.due_at, detail=_detail(clock, decision), **meta)
        _after(uow, clock, decision, cal, policies, now)
        outcomes.append(f"{stop.clock}:{decision.outcome}")
    for pause in instructions.pauses:
        clock = _locked(session, instructions.subject, pause.clock)
        decision = clock_rules.decide_pause(snapshot(clock) if clock else None, instructions.at)
        outcomes.append(_hold_or_run(uow, clock, pause.clock, decision, cal, policies, now,
                                     instructions, meta))
    for resume in instructions.resumes:
        clock = _locked(session, instructions.subject, resume.clock)
        decision = clock_rules.decide_resume(
            snapshot(clock) if clock else None, resume, instructions.at, cal
        )
        outcomes.append(_hold_or_run(uow, clock, resume.clock, decision, cal, policies, now,
                                     instructions, meta, due_at=resume.due_at))
    for start in instructions.starts:
        clock = _locked(session, instructions.subject, start.clock)
        decision = clock_rules.decide_start(
            snapshot(clock) if clock else None, start, instructions.at, cal
        )
        clock = _apply(session, clock, instructions.subject, start.clock, decision, now, meta)
        detail = _detail(clock, decision)
        if decision.outcome == "stale":
            detail["ignored_due_at"] = start.due_at.isoformat()
        record(session, clock, decision.outcome, instructions.at, recorded_at=now,
               due_at=start.due_at, detail=detail, **meta)
        _after(uow, clock, decision, cal, policies, now)
        outcomes.append(f"{start.clock}:{decision.outcome}")
    return outcomes


def _hold_or_run(
    uow: UnitOfWork,
    clock: Clock | None,
    kind: str,
    decision: clock_rules.Decision,
    cal: WorkingCalendar,
    policies: PolicyBook,
    now: datetime,
    instructions: Instructions,
    meta: dict[str, Any],
    *,
    due_at: datetime | None = None,
) -> str:
    """Apply a pause or a resume. One for a clock the notifier does not hold is only
    logged: there is nothing to hold or run, and no retry would change that."""
    outcome = f"{kind}:{decision.outcome}"
    if clock is None:
        log.warning("clock instruction ignored", extra={
            "outcome": outcome, "subject": instructions.subject, **meta})
        return outcome
    session = uow.session
    clock = _apply(session, clock, instructions.subject, kind, decision, now, meta)
    detail = _detail(clock, decision)
    if decision.outcome in ("stale", "pause_ignored", "resume_ignored") and due_at is not None:
        detail["ignored_due_at"] = due_at.isoformat()
    if decision.outcome.endswith("_ignored"):
        log.warning("clock instruction ignored", extra={
            "outcome": outcome, "subject": instructions.subject, "state": clock.state, **meta})
    record(session, clock, decision.outcome, instructions.at, recorded_at=now,
           due_at=due_at or clock.due_at, detail=detail, **meta)
    _after(uow, clock, decision, cal, policies, now)
    return outcome


def _apply(
    session: Session,
    clock: Clock | None,
    subject: str,
    kind: str,
    decision: clock_rules.Decision,
    now: datetime,
    meta: dict[str, Any],
) -> Clock:
    if clock is None:
        clock = Clock(
            subject=subject,
            clock=kind,
            service=domain.service_of(kind),
            run=0,
            created_at=now,
            updated_at=now,
        )
        session.add(clock)
    for name, value in decision.changes.items():
        setattr(clock, name, value)
    if decision.new_run:
        clock.run = (clock.run or 0) + 1
    if decision.changes:
        clock.last_event_id = meta["event_id"]
        clock.updated_at = now
    session.flush()
    return clock


def _detail(clock: Clock, decision: clock_rules.Decision) -> dict[str, Any]:
    detail: dict[str, Any] = {"state": clock.state, "opd": clock.opd}
    if clock.role is not None:
        detail["role"] = clock.role
    if clock.party == domain.CITIZEN:
        detail["party"] = clock.party
    if clock.counting == domain.CALENDAR_DAYS:
        detail["counting"] = clock.counting
    if clock.paused_at is not None:
        detail["paused_at"] = clock.paused_at.isoformat()
    if clock.late_working_days is not None and clock.state == domain.BREACHED:
        detail["late_seconds"] = clock.late_seconds
        detail["late_working_days"] = clock.late_working_days
    return detail


def _after(
    uow: UnitOfWork,
    clock: Clock,
    decision: clock_rules.Decision,
    cal: WorkingCalendar,
    policies: PolicyBook,
    now: datetime,
) -> None:
    session = uow.session
    if decision.cancel_pending:
        cancel_pending(session, clock, now, reason=decision.outcome)
    if decision.new_run:
        sync_steps(session, clock, policies.for_clock(clock.clock), cal, now,
                   fresh_run=not decision.resumed)
    if decision.publish:
        outgoing.publish(uow, outcome_event(clock, cal, now))


def cancel_pending(session: Session, clock: Clock, now: datetime, *, reason: str) -> int:
    result = session.execute(
        update(Step)
        .where(Step.clock_id == clock.id, Step.state == domain.PENDING)
        .values(state=domain.CANCELLED, cancelled_at=now, last_error=reason[:500])
    )
    return result.rowcount or 0


def outcome_event(clock: Clock, cal: WorkingCalendar, now: datetime) -> Event:
    """`notifier.sla.met`, or `notifier.sla.breached` with `open: false` for a late stop."""
    due_at, stopped_at = clock.due_at, clock.stopped_at
    data: dict[str, Any] = {
        "clock": clock.clock,
        "run": clock.run,
        "state": clock.state,
        "open": False,
        "due_at": due_at,
        "stopped_at": stopped_at,
        "late_seconds": clock.late_seconds or 0,
        "late_working_days": clock.late_working_days or 0,
    }
    started = clock.first_started_at
    if started is not None and stopped_at is not None:
        data["working_days_taken"] = cal.days_taken(started, stopped_at)
    action = "met" if clock.state == domain.MET else "breached"
    return outgoing.event("sla", action, subject=clock.subject, opd=clock.opd, data=data, time=now)


# -- steps -------------------------------------------------------------------------------


def sync_steps(
    session: Session,
    clock: Clock,
    policy: policy_rules.Policy,
    cal: WorkingCalendar,
    now: datetime,
    *,
    fresh_run: bool,
) -> list[str]:
    """Make the clock's pending steps match its policy and the calendar; returns changed keys.

    Steps already sent are never touched (nothing goes out twice); pending ones get their
    new instants; steps the policy no longer has are cancelled. On a reschedule (not a
    fresh run) a reminder the policy only now asks for is skipped when its time has passed.
    A citizen's window has no steps: nobody on the staff is to be chased for it; nor has a
    paused clock until it resumes.
    """
    started_at, due_at = clock.started_at, clock.due_at
    if clock.stopped_at is not None or started_at is None or due_at is None:
        return []
    if clock.party == domain.CITIZEN or clock.state == domain.PAUSED:
        return []
    planned = notification_plan.plan_steps(
        policy, started_at, due_at, cal, counting=clock.counting or domain.WORKING_DAYS
    )
    existing = {
        s.key: s
        for s in session.scalars(
            select(Step).where(Step.clock_id == clock.id, Step.run == clock.run)
        )
    }
    changed: list[str] = []
    for step in planned:
        row = existing.pop(step.key, None)
        send_after = step.send_after
        if row is None:
            if not fresh_run and step.kind == domain.REMIND and step.send_after < now:
                continue
            session.add(
                Step(
                    clock_id=clock.id,
                    run=clock.run,
                    key=step.key,
                    kind=step.kind,
                    level=step.level,
                    notify=list(step.notify),
                    planned_at=step.planned_at,
                    send_after=send_after,
                    state=domain.PENDING,
                    attempts=0,
                    created_at=now,
                )
            )
            changed.append(step.key)
        elif row.state == domain.PENDING:
            if row.send_after != send_after or list(row.notify) != list(step.notify):
                changed.append(step.key)
            row.send_after = send_after
            row.planned_at = step.planned_at
            row.notify = list(step.notify)
            row.level = step.level
    for row in existing.values():
        if row.state == domain.PENDING:
            row.state = domain.CANCELLED
            row.cancelled_at = now
            row.last_error = "dihapus dari kebijakan"
            changed.append(row.key)
    session.flush()
    return changed


def reschedule_open(
    session: Session,
    cal: WorkingCalendar,
    now: datetime,
    *,
    reason: str,
    kinds: Iterable[str] | None = None,
    exclude_kinds: Iterable[str] | None = None,
) -> int:
    """Recompute the steps of open clocks (all, of some kinds, or all but some kinds).

    Called when the working-day calendar or a policy changes; returns how many clocks had
    a step moved, added or withdrawn.
    """
    policies = PolicyBook(session)
    stmt = select(Clock).where(Clock.stopped_at.is_(None), Clock.due_at.is_not(None))
    if kinds is not None:
        stmt = stmt.where(Clock.clock.in_(list(kinds)))
    if exclude_kinds is not None:
        stmt = stmt.where(Clock.clock.not_in(list(exclude_kinds)))
    touched = 0
    for clock in session.scalars(stmt.order_by(Clock.id).with_for_update()).all():
        changed = sync_steps(
            session, clock, policies.for_clock(clock.clock), cal, now, fresh_run=False
        )
        if changed:
            touched += 1
            record(session, clock, "rescheduled", now, recorded_at=now,
                   detail={"reason": reason, "steps": changed})
    return touched
