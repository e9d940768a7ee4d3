"""Clocks and their notification steps in the database: applying instructions, scheduling.

The rules live in `clock_rules` and `notification_plan`; this module loads rows, asks the domain what to do, and writes
the outcome (clock fields, history, steps, events) in the caller's unit of work. Every
clock row is locked (`FOR UPDATE`) before it is judged, so two consumers or a consumer and
a tick never interleave on one clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, tuple_, update
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


# -- a group of events ------------------------------------------------------------------


class ClockBatch:
    """The clocks a group of events touches, locked in one statement, and their writes.

    A consumer handling a prefetch window in one transaction applies each event's
    instructions against these rows in memory, then writes every new clock in one flush and
    the history and steps of all of them in another, instead of a few round trips per event.
    This holds only while no clock is touched twice in the group: the writes deferred for
    one instruction read the clock as the group left it, so the caller applies a group
    that repeats a clock event by event.
    """

    def __init__(self, session: Session, keys: Collection[tuple[str, str]]):
        self._session = session
        self.policies = PolicyBook(session)
        self._clocks: dict[tuple[str, str], Clock] = {}
        self._created: set[int] = set()
        self._deferred: list[Callable[[], None]] = []
        # Rows of new history entries and of the steps of new clocks, inserted in bulk.
        self.history: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []
        if keys:
            # In id order, as every other locker of several clocks takes them.
            rows = session.scalars(
                select(Clock)
                .where(tuple_(Clock.subject, Clock.clock).in_(sorted(keys)))
                .order_by(Clock.id)
                .with_for_update()
            )
            self._clocks = {(row.subject, row.clock): row for row in rows}

    def clock(self, subject: str, kind: str) -> Clock | None:
        return self._clocks.get((subject, kind))

    def created(self, clock: Clock) -> None:
        self._clocks[(clock.subject, clock.clock)] = clock
        self._created.add(id(clock))

    def is_new(self, clock: Clock) -> bool:
        return id(clock) in self._created

    def defer(self, work: Callable[[], None]) -> None:
        self._deferred.append(work)

    def finish(self) -> None:
        """Insert the new clocks, then run the writes that need their ids, in event order."""
        session = self._session
        session.flush()
        for work in self._deferred:
            work()
        self._deferred.clear()
        for table, rows in ((ClockHistory.__table__, self.history), (Step.__table__, self.steps)):
            if rows:
                session.execute(insert(table), rows)
                rows.clear()
        session.flush()


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
    batch: ClockBatch | None = None,
) -> None:
    row = {
        "clock_id": clock.id,
        "entry": entry,
        "at": at,
        "recorded_at": recorded_at,
        "event_id": event_id,
        "event_type": event_type,
        "run": clock.run,
        "due_at": due_at,
        "detail": detail,
    }
    if batch is not None:
        batch.history.append(row)
    else:
        session.add(ClockHistory(**row))


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
    *,
    batch: ClockBatch | None = None,
) -> list[str]:
    """Apply one event's stops, then its starts; returns the outcome per instruction.

    Stops come first: an event that closes one duty and opens the next (verified, so the
    follow-up clock starts) must not see the new duty as a restart of the old. With a
    `batch` the clocks come from it and the writes wait for `batch.finish()`.
    """
    session = uow.session
    policies = batch.policies if batch is not None else PolicyBook(session)
    meta = {"event_id": str(envelope.get("id")), "event_type": envelope.get("type")}
    outcomes: list[str] = []
    subject = instructions.subject

    def locked(kind: str) -> Clock | None:
        return batch.clock(subject, kind) if batch is not None else _locked(session, subject, kind)

    def then(work: Callable[[], None]) -> None:
        if batch is None:
            work()
        else:
            batch.defer(work)

    for stop in instructions.stops:
        clock = locked(stop.clock)
        decision = clock_rules.decide_stop(
            snapshot(clock) if clock else None, instructions.at, cal, stop.outcome
        )
        clock = _apply(session, clock, subject, stop.clock, decision, now, meta, batch)

        def stopped(clock=clock, decision=decision) -> None:
            record(session, clock, decision.outcome, instructions.at, recorded_at=now,
                   due_at=clock.due_at, detail=_detail(clock, decision), batch=batch, **meta)
            _after(uow, clock, decision, cal, policies, now, batch)

        then(stopped)
        outcomes.append(f"{stop.clock}:{decision.outcome}")
    for pause in instructions.pauses:
        clock = locked(pause.clock)
        decision = clock_rules.decide_pause(snapshot(clock) if clock else None, instructions.at)
        outcomes.append(_hold_or_run(uow, clock, pause.clock, decision, cal, policies, now,
                                     instructions, meta, batch=batch))
    for resume in instructions.resumes:
        clock = locked(resume.clock)
        decision = clock_rules.decide_resume(
            snapshot(clock) if clock else None, resume, instructions.at, cal
        )
        outcomes.append(_hold_or_run(uow, clock, resume.clock, decision, cal, policies, now,
                                     instructions, meta, due_at=resume.due_at, batch=batch))
    for start in instructions.starts:
        clock = locked(start.clock)
        decision = clock_rules.decide_start(
            snapshot(clock) if clock else None, start, instructions.at, cal
        )
        clock = _apply(session, clock, subject, start.clock, decision, now, meta, batch)

        def started(clock=clock, decision=decision, start=start) -> None:
            detail = _detail(clock, decision)
            if decision.outcome == "stale":
                detail["ignored_due_at"] = start.due_at.isoformat()
            record(session, clock, decision.outcome, instructions.at, recorded_at=now,
                   due_at=start.due_at, detail=detail, batch=batch, **meta)
            _after(uow, clock, decision, cal, policies, now, batch)

        then(started)
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
    batch: ClockBatch | None = None,
) -> str:
    """Apply a pause or a resume. One for a clock the notifier does not hold is only
    logged: there is nothing to hold or run, and no retry would change that."""
    outcome = f"{kind}:{decision.outcome}"
    if clock is None:
        log.warning("clock instruction ignored", extra={
            "outcome": outcome, "subject": instructions.subject, **meta})
        return outcome
    session = uow.session
    clock = _apply(session, clock, instructions.subject, kind, decision, now, meta, batch)
    if decision.outcome.endswith("_ignored"):
        log.warning("clock instruction ignored", extra={
            "outcome": outcome, "subject": instructions.subject, "state": clock.state, **meta})

    def held_or_run() -> None:
        detail = _detail(clock, decision)
        if decision.outcome in ("stale", "pause_ignored", "resume_ignored") and due_at is not None:
            detail["ignored_due_at"] = due_at.isoformat()
        record(session, clock, decision.outcome, instructions.at, recorded_at=now,
               due_at=due_at or clock.due_at, detail=detail, batch=batch, **meta)
        _after(uow, clock, decision, cal, policies, now, batch)

    if batch is None:
        held_or_run()
    else:
        batch.defer(held_or_run)
    return outcome


def _apply(
    session: Session,
    clock: Clock | None,
    subject: str,
    kind: str,
    decision: clock_rules.Decision,
    now: datetime,
    meta: dict[str, Any],
    batch: ClockBatch | None = None,
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
        if batch is not None:
            batch.created(clock)
    for name, value in decision.changes.items():
        setattr(clock, name, value)
    if decision.new_run:
        clock.run = (clock.run or 0) + 1
    if decision.changes:
        clock.last_event_id = meta["event_id"]
        clock.updated_at = now
    if batch is None:
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
    batch: ClockBatch | None = None,
) -> None:
    session = uow.session
    new = batch is not None and batch.is_new(clock)
    if decision.cancel_pending and not new:
        cancel_pending(session, clock, now, reason=decision.outcome)
    if decision.new_run:
        sync_steps(session, clock, policies.for_clock(clock.clock), cal, now,
                   fresh_run=not decision.resumed, new_clock=new,
                   into=batch.steps if batch is not None else None)
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
    new_clock: bool = False,
    into: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Make the clock's pending steps match its policy and the calendar; returns changed keys.

    Steps already sent are never touched (nothing goes out twice); pending ones get their
    new instants; steps the policy no longer has are cancelled. On a reschedule (not a
    fresh run) a reminder the policy only now asks for is skipped when its time has passed.
    A citizen's window has no steps: nobody on the staff is to be chased for it; nor has a
    paused clock until it resumes. A `new_clock` (not yet in the database before this unit
    of work) has no steps to read. With `into` the rows of new steps are appended to it for
    the caller to insert in bulk, and nothing is flushed.
    """
    started_at, due_at = clock.started_at, clock.due_at
    if clock.stopped_at is not None or started_at is None or due_at is None:
        return []
    if clock.party == domain.CITIZEN or clock.state == domain.PAUSED:
        return []
    planned = notification_plan.plan_steps(
        policy, started_at, due_at, cal, counting=clock.counting or domain.WORKING_DAYS
    )
    existing = {} if new_clock else {
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
            row = {
                "clock_id": clock.id,
                "run": clock.run,
                "key": step.key,
                "kind": step.kind,
                "level": step.level,
                "notify": list(step.notify),
                "planned_at": step.planned_at,
                "send_after": send_after,
                "state": domain.PENDING,
                "attempts": 0,
                "created_at": now,
            }
            if into is not None:
                into.append(row)
            else:
                session.add(Step(**row))
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
    if into is None:
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
