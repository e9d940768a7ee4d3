"""One tick of the notifier's clock: `tick(rt, now)`.

The worker's timer calls it every NOTIFIER_TICK_SECONDS with the real time; operators and
tests call it for a chosen instant (`python -m services.notifier tick --now …`). A tick:

1. marks running clocks past their due instant as breached (at any hour: the state is a
   fact, not a message);
2. inside office hours on a working day only, claims the pending steps whose instant has
   come, tells their recipients, marks them sent and publishes `notifier.sla.reminded`,
   `.breached` or `.escalated`; then sends the morning digest once per day;
3. hands the due webhook deliveries to `webhooks.deliver_due`.

Several workers may tick at once. Steps are claimed in a short transaction (`FOR UPDATE
SKIP LOCKED` on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises the claim) that stamps them
with the worker and the time; a claimed step is left alone until the claim expires, so two
workers never send the same step. Each delivery is recorded as soon as it is made, so a
step interrupted half-way resumes with the recipients not yet told. Every fact lives in the
database: a restarted worker sends nothing twice.

The work is set-based: a claimed batch is read in one transaction (steps, clocks, contacts,
earlier deliveries), its mail goes out over the tick's one SMTP connection, each message
recorded as soon as it is accepted, and one transaction per batch writes the rest (inbox
messages, the log, the steps' state, their history and events).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from services.common.runtime import Runtime
from services.notifier import (
    clock_rules,
    clocks,
    digest,
    dispatch,
    domain,
    inbox,
    messages,
    notification_plan,
    outgoing,
    recipients,
    webhooks,
)
from services.notifier.directory import opd_names
from services.notifier.email import Mailer, MailError
from services.notifier.models import Clock, ClockHistory, InboxMessage, Step

log = logging.getLogger(__name__)
ACTIONS = {domain.REMIND: "reminded", domain.BREACH: "breached", domain.ESCALATE: "escalated"}
SUMMARY_STEPS = 100
HISTORY = {domain.REMIND: "reminded", domain.BREACH: "breach_notified", domain.ESCALATE: "escalated"}


@dataclass
class TickSummary:
    now: datetime
    office_hours: bool = False
    breached: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    retrying: int = 0
    withdrawn: int = 0
    skipped: int = 0
    digests: int = 0
    webhook_attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "office_hours": self.office_hours,
            "breached": self.breached,
            # The first steps only: a tick after a long outage may send thousands.
            "sent": self.sent[:SUMMARY_STEPS],
            "steps_sent": len(self.sent),
            "retrying": self.retrying,
            "withdrawn": self.withdrawn,
            "skipped": self.skipped,
            "digests": self.digests,
            "webhook_attempts": self.webhook_attempts,
        }


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def in_office_hours(now: datetime, rt: Runtime) -> bool:
    return rt.calendar.receipt_instant(now) == now


def tick(rt: Runtime, now: datetime, *, mailer: Mailer | None = None) -> TickSummary:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a tick needs a time-zone aware instant, got {now.isoformat()}")
    # Whatever zone the caller named the instant in, it is recorded and published in UTC.
    now = now.astimezone(UTC)
    # Operators' calendar changes reach this process through the calendar consumer; a CLI
    # tick has no consumer, so it reads the stored list itself.
    rt.calendar_sync.refresh()
    summary = TickSummary(now=now.astimezone(rt.calendar.tz))
    summary.breached = detect_breaches(rt, now)
    summary.office_hours = in_office_hours(now, rt)
    if summary.office_hours:
        worker = new_worker_id()
        own_mailer = mailer is None
        mailer = mailer or Mailer(rt.settings)
        try:
            batch = rt.settings.tick_batch_size
            outage: list[MailError] = []
            while True:
                claimed = claim_steps(rt, now, worker, batch)
                process_batch(rt, claimed, now, worker, mailer, summary, outage)
                if len(claimed) < batch:
                    break
            summary.digests = digest.send_digests(rt, now, worker, mailer)
        finally:
            if own_mailer:
                mailer.close()
    summary.webhook_attempts = webhooks.deliver_due(rt, now)
    if summary.breached or summary.sent or summary.skipped or summary.retrying or summary.digests:
        log.info("tick", extra={k: v for k, v in summary.to_dict().items() if k != "sent"})
    return summary


# -- breaches ----------------------------------------------------------------------------


def detect_breaches(rt: Runtime, now: datetime, batch: int = 500) -> int:
    total = 0
    while True:
        breached = 0
        with rt.uow() as uow:
            overdue = uow.session.scalars(
                select(Clock)
                .where(Clock.state == domain.RUNNING, Clock.due_at < now)
                .order_by(Clock.due_at, Clock.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            for clock in overdue:
                if clock_rules.window_ended(clock.state, clock.due_at, now, clock.party):
                    # The citizen's time ran out: the window closes at its due instant.
                    clock.state = domain.CLOSED
                    clock.stopped_at = clock.due_at
                    clock.updated_at = now
                    clocks.record(
                        uow.session, clock, "window_ended", clock.due_at, recorded_at=now,
                        due_at=clock.due_at, detail={"detected_at": now.isoformat()},
                    )
                    continue
                if not clock_rules.is_overdue(clock.state, clock.due_at, now, clock.party):
                    continue
                breached += 1
                clock.state = domain.BREACHED
                clock.breached_at = now
                clock.updated_at = now
                clocks.record(
                    uow.session, clock, "breached", clock.due_at, recorded_at=now,
                    due_at=clock.due_at, detail={"detected_at": now.isoformat()},
                )
            uow.commit()
        total += breached
        if len(overdue) < batch:
            return total


# -- steps -------------------------------------------------------------------------------


def claim_steps(rt: Runtime, now: datetime, worker: str, batch: int) -> list[int]:
    expired = now - timedelta(seconds=rt.settings.claim_timeout_seconds)
    with rt.uow() as uow:
        ids = list(
            uow.session.scalars(
                select(Step.id)
                .where(
                    Step.state == domain.PENDING,
                    Step.send_after <= now,
                    or_(Step.claimed_at.is_(None), Step.claimed_at < expired),
                )
                .order_by(Step.send_after, Step.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            uow.session.execute(
                update(Step).where(Step.id.in_(ids)).values(claimed_at=now, claimed_by=worker)
            )
        uow.commit()
    return ids


@dataclass(frozen=True)
class _Job:
    step_id: int
    key: str
    kind: str
    level: int | None
    attempts: int
    clock_id: int
    subject: str
    clock: str
    service: str
    opd: str | None
    run: int
    due_at: datetime
    counting: str
    label: str
    action: str
    opd_name: str | None
    targets: tuple[dispatch.Target, ...]
    logged: dispatch.Deliveries

    @property
    def done(self) -> frozenset[str]:
        """The recipients an earlier attempt at this step already told."""
        return self.logged.done(self.step_id)


@dataclass
class _Mailed:
    """A job after its mail went out: each email's status, and what is left to record."""

    job: _Job
    email_status: dict[str, str] = field(default_factory=dict)
    temporary: list[str] = field(default_factory=list)
    unrecorded: list[dict[str, Any]] = field(default_factory=list)


def process_batch(
    rt: Runtime, step_ids: list[int], now: datetime, worker: str, mailer: Mailer,
    summary: TickSummary, outage: list[MailError] | None = None,
) -> None:
    """Tell the recipients of a batch of claimed steps.

    Three phases: one transaction reads the steps, their clocks, the directory and the log
    (withdrawing or skipping the steps that no longer hold); then each email goes out and
    is recorded at once in its own transaction; then one transaction posts the inbox
    messages, logs the deliveries, marks the steps sent and publishes their events. If a
    phase fails for the batch, its steps are taken one by one, so one bad step holds back
    no other. `outage` carries an unreachable SMTP server from one batch of a tick to the
    next.
    """
    outage = [] if outage is None else outage
    jobs = _each_alone(lambda ids: _load_jobs(rt, ids, now, worker, summary), step_ids,
                       lambda step_id: step_id)
    mailed = []
    for job in jobs:
        try:
            mailed.append(_send_mail(rt, job, now, mailer, outage))
        except Exception:
            # The claim expires and another tick takes the step again.
            log.exception("step failed", extra={"step_id": job.step_id})
    _each_alone(lambda batch: _finish(rt, batch, now, worker, summary), mailed,
                lambda m: m.job.step_id)


def _each_alone(work, items: list, step_of) -> list:
    if not items:
        return []
    try:
        return work(items)
    except Exception:
        if len(items) == 1:
            log.exception("step failed", extra={"step_id": step_of(items[0])})
            return []
        log.exception("batch failed; its steps are taken one by one",
                      extra={"steps": len(items)})
    results = []
    for item in items:
        try:
            results.extend(work([item]))
        except Exception:
            # The claim expires and another tick takes the step again.
            log.exception("step failed", extra={"step_id": step_of(item)})
    return results


# -- phase 1: read the batch ---------------------------------------------------------------


def _load_jobs(
    rt: Runtime, step_ids: list[int], now: datetime, worker: str, summary: TickSummary
) -> list[_Job]:
    withdrawn = skipped = 0
    jobs: list[_Job] = []
    with rt.uow() as uow:
        session = uow.session
        batch, also_due = _steps_and_due_siblings(session, step_ids, now)
        mine = {step.id: step for step in batch
                if step.state == domain.PENDING and step.claimed_by == worker}
        if not mine:
            return []
        clock_ids = sorted({step.clock_id for step in mine.values()})
        by_id = {c.id: c for c in session.scalars(select(Clock).where(Clock.id.in_(clock_ids)))}
        policies = clocks.PolicyBook(session)
        contacts = dispatch.ContactBook(session)
        names = opd_names(session)
        logged = dispatch.Deliveries(session, list(mine))
        for step_id in step_ids:
            step = mine.get(step_id)
            if step is None:
                continue
            clock = by_id[step.clock_id]
            reason = _withdrawal_reason(step, clock, now)
            if reason is not None:
                _withdraw(session, step, clock, now, reason)
                withdrawn += 1
                continue
            later = _later_due_step(step, also_due.get((step.clock_id, step.run, step.kind), []))
            if later is not None:
                _skip(session, step, clock, now, later)
                skipped += 1
                continue
            jobs.append(_job(rt, step, clock, now, policies, contacts, names, logged))
        uow.commit()
    summary.withdrawn += withdrawn
    summary.skipped += skipped
    return jobs


def _withdrawal_reason(step: Step, clock: Clock, now: datetime) -> str | None:
    if clock.stopped_at is not None:
        return "jam sudah berhenti"
    if clock.run != step.run or clock.due_at is None:
        return "jam dimulai ulang"
    if clock.state == domain.PAUSED:
        # Held by its owner (a pause arrived while the step was claimed): the resume
        # plans the steps again from its new due instant.
        return "jam dijeda"
    if notification_plan.step_is_stale(step.kind, clock.due_at, now):
        return "pengingat kedaluwarsa: batas waktu sudah lewat"
    return None


def _steps_and_due_siblings(
    session, step_ids: list[int], now: datetime
) -> tuple[list[Step], dict[tuple, list[Step]]]:
    """The batch's steps, and the pending steps due now of their clocks by (clock, run,
    kind), read in one statement."""
    clocks_of_batch = select(Step.clock_id).where(Step.id.in_(step_ids)).scalar_subquery()
    rows = session.scalars(
        # Led by the clocks (a handful of steps each): the due instant alone matches most of
        # the table once a province's clocks are open.
        select(Step).where(
            Step.clock_id.in_(clocks_of_batch),
            or_(Step.id.in_(step_ids),
                and_(Step.state == domain.PENDING, Step.send_after <= now)),
        )
    ).all()
    wanted = set(step_ids)
    grouped: dict[tuple, list[Step]] = {}
    for step in rows:
        if step.state == domain.PENDING and step.send_after <= now:
            grouped.setdefault((step.clock_id, step.run, step.kind), []).append(step)
    return [step for step in rows if step.id in wanted], grouped


def _later_due_step(step: Step, same_kind: list[Step]) -> Step | None:
    """A pending step of the same clock run and kind, also due now, that comes after `step`."""
    # A step of this batch skipped a moment ago is no longer pending (same session).
    due = [s for s in same_kind if s.id != step.id and s.state == domain.PENDING]
    if not due:
        return None
    mine = notification_plan.StepDue(step.key, step.kind, step.level, step.send_after)
    others = [notification_plan.StepDue(s.key, s.kind, s.level, s.send_after) for s in due]
    key = notification_plan.superseded_by(mine, others)
    return next((s for s in due if s.key == key), None)


def _job(
    rt: Runtime, step: Step, clock: Clock, now: datetime, policies: clocks.PolicyBook,
    contacts: dispatch.ContactBook, names: dict[str, str], logged: dispatch.Deliveries,
) -> _Job:
    policy = policies.for_clock(clock.clock)
    told = recipients.resolve_recipients(
        step.notify, clock.opd, actor=recipients.actor(clock.role, clock.opd, clock.service)
    )
    return _Job(
        step_id=step.id,
        key=step.key,
        kind=step.kind,
        level=step.level,
        attempts=step.attempts,
        clock_id=clock.id,
        subject=clock.subject,
        clock=clock.clock,
        service=clock.service,
        opd=clock.opd,
        run=clock.run,
        due_at=clock.due_at,
        counting=clock.counting or domain.WORKING_DAYS,
        label=policy.label,
        action=policy.action_for(notification_plan.open_actions(clock.actions, clock.due_at, now)),
        opd_name=names.get(clock.opd) if clock.opd else None,
        targets=tuple(dispatch.targets_for(told, clock.service, contacts)),
        logged=logged,
    )


def _skip(session, step: Step, clock: Clock, now: datetime, later: Step) -> None:
    step.state = domain.SKIPPED
    step.cancelled_at = now
    step.last_error = f"dilewati: {later.key} berlaku pada saat yang sama"
    clocks.record(session, clock, "step_skipped", now, recorded_at=now,
                  detail={"step": step.key, "level": step.level, "superseded_by": later.key})


def _withdraw(session, step: Step, clock: Clock, now: datetime, reason: str) -> None:
    step.state = domain.CANCELLED
    step.cancelled_at = now
    step.last_error = reason
    clocks.record(session, clock, "step_withdrawn", now, recorded_at=now,
                  detail={"step": step.key, "reason": reason})


def _notice(rt: Runtime, job: _Job, role: str, now: datetime) -> messages.Notice:
    return messages.sla_notice(
        kind=job.kind,
        level=job.level,
        case=job.subject,
        label=job.label,
        action=job.action,
        opd_name=job.opd_name,
        due_at=job.due_at,
        now=now,
        role=role,
        cal=rt.calendar,
        counting=job.counting,
    )


# -- phase 2: the mail -------------------------------------------------------------------


def _send_mail(
    rt: Runtime, job: _Job, now: datetime, mailer: Mailer, outage: list[MailError]
) -> _Mailed:
    mailed = _Mailed(job)
    notices: dict[str, messages.Notice] = {}
    for target in job.targets:
        if target.key in job.done or target.channel != domain.EMAIL:
            continue
        notice = _notice_for(rt, job, target.role, now, notices)
        if not mailer.enabled:
            # Nothing left this machine: the row joins the batch's own transaction.
            mailed.email_status[target.key] = dispatch.SKIPPED
            mailed.unrecorded.append(_log_row(job, target, notice, now, dispatch.SKIPPED,
                                              "SMTP_HOST tidak diatur; email tidak dikirim"))
            continue
        try:
            if outage:
                # The server was unreachable a moment ago in this tick: every further
                # message would wait out the same timeout; they are retried later.
                raise outage[0]
            mailer.send(target.address, notice)
            status, error = dispatch.SENT, None
        except MailError as exc:
            if exc.server_down and not outage:
                outage.append(exc)
            last_try = job.attempts + 1 >= rt.settings.max_send_attempts
            status = dispatch.FAILED if exc.permanent or last_try else dispatch.RETRYING
            error = str(exc)
            if status == dispatch.RETRYING:
                mailed.temporary.append(f"{target.key}: {exc}")
        mailed.email_status[target.key] = status
        # Recorded in its own transaction as soon as the server has accepted it: an
        # interruption later cannot make it go out again.
        with rt.uow() as uow:
            dispatch.record(uow.session, target, title=notice.title, status=status, error=error,
                            now=now, **_common(job))
            uow.commit()
    return mailed


def _common(job: _Job) -> dict[str, Any]:
    return {"kind": job.kind, "step_id": job.step_id, "case_subject": job.subject,
            "clock": job.clock, "opd": job.opd}


def _log_row(
    job: _Job, target: dispatch.Target, notice: messages.Notice, now: datetime, status: str,
    error: str | None = None,
) -> dict[str, Any]:
    return dispatch.delivery_row(target, title=notice.title, status=status, error=error,
                                 now=now, **_common(job))


def _notice_for(
    rt: Runtime, job: _Job, role: str, now: datetime, notices: dict[str, messages.Notice]
) -> messages.Notice:
    if role not in notices:
        notices[role] = _notice(rt, job, role, now)
    return notices[role]


# -- phase 3: record the batch -------------------------------------------------------------


def _finish(
    rt: Runtime, batch: list[_Mailed], now: datetime, worker: str, summary: TickSummary
) -> list[_Mailed]:
    sent: list[dict[str, Any]] = []
    retrying = 0
    with rt.uow() as uow:
        session = uow.session
        ids = sorted(m.job.step_id for m in batch)
        held = set(
            session.scalars(
                select(Step.id)
                .where(Step.id.in_(ids), Step.state == domain.PENDING, Step.claimed_by == worker)
                .order_by(Step.id)
                .with_for_update()
            )
        )
        # A step withdrawn while its mail went out (the clock stopped): the mail is on
        # record, the step is not marked sent and no event claims it was.
        live = [m for m in batch if m.job.step_id in held]
        endpoints = dispatch.enabled_endpoints(session)
        inbox_rows: list[dict[str, Any]] = []
        log_rows: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        events = []
        sent_ids = []
        for mailed in live:
            job = mailed.job
            log_rows.extend(mailed.unrecorded)
            counts = _deliver_in_app(rt, mailed, now, endpoints, inbox_rows, log_rows)
            if mailed.temporary:
                _retry_later(session, rt, job, mailed.temporary, now)
                history.append(_history_row(job, "step_retry", now,
                                            {"step": job.key, "attempt": job.attempts + 1}))
                retrying += 1
                continue
            roles = sorted({t.role for t in job.targets})
            history.append(_history_row(job, HISTORY[job.kind], now,
                                        {"step": job.key, "level": job.level, "notified": roles,
                                         "deliveries": counts}))
            events.append(_step_event(job, now, roles, counts, rt))
            sent_ids.append(job.step_id)
            sent.append({"subject": job.subject, "clock": job.clock, "step": job.key,
                         "opd": job.opd, "notified": roles, "deliveries": counts})
        if inbox_rows:
            dispatch.bulk_insert(session, InboxMessage, inbox_rows)
        if log_rows:
            dispatch.record_many(session, log_rows, {m.job.step_id: m.job.logged for m in live})
        if sent_ids:
            session.execute(
                update(Step)
                .where(Step.id.in_(sent_ids))
                .values(state=domain.SENT, sent_at=now, attempts=Step.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        if history:
            dispatch.bulk_insert(session, ClockHistory, history)
        _publish(uow, events, endpoints)
        uow.commit()
    summary.retrying += retrying
    summary.sent.extend(sent)
    return live


def _retry_later(session, rt: Runtime, job: _Job, temporary: list[str], now: datetime) -> None:
    """Back to pending, unclaimed, for a later attempt; `job.attempts` is what the claimed
    step had (nothing else changes a claimed step's attempts)."""
    attempts = job.attempts + 1
    session.execute(
        update(Step)
        .where(Step.id == job.step_id)
        .values(
            attempts=attempts,
            last_error="; ".join(temporary)[:500],
            claimed_at=None,
            claimed_by=None,
            send_after=rt.calendar.receipt_instant(notification_plan.retry_after(attempts, now)),
        )
        .execution_options(synchronize_session=False)
    )


def _deliver_in_app(
    rt: Runtime, mailed: _Mailed, now: datetime, endpoints: list, inbox_rows: list,
    log_rows: list,
) -> dict[str, int]:
    """The inbox and webhook deliveries of one step, added to the batch's rows; the counts."""
    job = mailed.job
    sent_mail = sum(1 for status in mailed.email_status.values() if status == dispatch.SENT)
    counts = {domain.EMAIL: sent_mail, domain.INBOX: 0, domain.WEBHOOK: 0}
    routing_key = f"{outgoing.SERVICE}.sla.{ACTIONS[job.kind]}.{job.opd or 'none'}"
    notices: dict[str, messages.Notice] = {}
    for target in job.targets:
        if target.key in job.done or target.channel == domain.EMAIL:
            continue
        notice = _notice_for(rt, job, target.role, now, notices)
        status, error = dispatch.SENT, None
        if target.channel == domain.INBOX:
            inbox_rows.append(_inbox_row(job, target, notice, now))
        elif not dispatch.webhook_reach(routing_key, endpoints):
            # The contact wants webhooks, but no subscription of theirs takes this event.
            status, error = dispatch.FAILED, "tidak ada langganan webhook yang cocok"
        log_rows.append(_log_row(job, target, notice, now, status, error))
        counts[target.channel] += status == dispatch.SENT
    return counts


def _inbox_row(
    job: _Job, target: dispatch.Target, notice: messages.Notice, now: datetime
) -> dict[str, Any]:
    """The row `inbox.post` would add, for the batch's one INSERT."""
    return inbox.message_row(notice, sub=target.sub, role=target.staff_role,
                             recipient_opd=target.recipient_opd, case_subject=job.subject,
                             clock=job.clock, opd=job.opd, now=now)


def _history_row(job: _Job, entry: str, now: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    """The row `clocks.record` would add, for the batch's one INSERT."""
    return {"clock_id": job.clock_id, "entry": entry, "at": now, "recorded_at": now,
            "event_id": None, "event_type": None, "run": job.run, "due_at": None,
            "detail": detail}


def _publish(uow, events: list, endpoints: list) -> None:
    """`outgoing.publish` for a batch: one outbox INSERT, webhook routing only where an
    enabled endpoint takes the event (the endpoints are read once for the batch)."""
    if not events:
        return
    uow.publish(*events)
    for event in events:
        if any(dispatch.webhook_reach(key, endpoints) for key in event.routing_keys):
            webhooks.enqueue_for_event(uow.session, event.envelope(), now=event.time)


def _step_event(job: _Job, now: datetime, roles: list[str], counts: dict[str, int], rt: Runtime):
    data: dict[str, Any] = {
        "clock": job.clock,
        "run": job.run,
        "step": job.key,
        "due_at": job.due_at,
        "notified": roles,
        "deliveries": counts,
    }
    if job.kind != domain.REMIND:
        data["open"] = True
        data["late_working_days"] = max(0, rt.calendar.working_days_between(job.due_at, now))
    if job.level is not None:
        data["level"] = job.level
    return outgoing.event(
        "sla", ACTIONS[job.kind], subject=job.subject, opd=job.opd, data=data, time=now
    )
