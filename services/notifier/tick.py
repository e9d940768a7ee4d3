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
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from services.common.runtime import Runtime
from services.notifier import (
    clock_rules,
    clocks,
    digest,
    dispatch,
    domain,
    messages,
    notification_plan,
    outgoing,
    recipients,
    webhooks,
)
from services.notifier import inbox as inbox_channel
from services.notifier.directory import opd_names
from services.notifier.email import Mailer, MailError
from services.notifier.models import Clock, Step

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
            while True:
                claimed = claim_steps(rt, now, worker, batch)
                for step_id in claimed:
                    try:
                        process_step(rt, step_id, now, worker, mailer, summary)
                    except Exception:
                        # The claim expires and another tick takes the step again.
                        log.exception("step failed", extra={"step_id": step_id})
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
    done: frozenset[str]


def _load_job(rt: Runtime, step_id: int, now: datetime, worker: str, summary: TickSummary) -> _Job | None:
    with rt.uow() as uow:
        session = uow.session
        step = session.get(Step, step_id)
        if step is None or step.state != domain.PENDING or step.claimed_by != worker:
            return None
        clock = session.get(Clock, step.clock_id)
        due_at = clock.due_at
        if clock.stopped_at is not None or clock.run != step.run or due_at is None:
            reason = "jam sudah berhenti" if clock.stopped_at is not None else "jam dimulai ulang"
            _withdraw(session, step, clock, now, reason)
            uow.commit()
            summary.withdrawn += 1
            return None
        if clock.state == domain.PAUSED:
            # Held by its owner (a pause arrived while the step was claimed): the resume
            # plans the steps again from its new due instant.
            _withdraw(session, step, clock, now, "jam dijeda")
            uow.commit()
            summary.withdrawn += 1
            return None
        if notification_plan.step_is_stale(step.kind, due_at, now):
            _withdraw(session, step, clock, now, "pengingat kedaluwarsa: batas waktu sudah lewat")
            uow.commit()
            summary.withdrawn += 1
            return None
        later = _later_due_step(session, step, now)
        if later is not None:
            _skip(session, step, clock, now, later)
            uow.commit()
            summary.skipped += 1
            return None
        policy = clocks.PolicyBook(session).for_clock(clock.clock)
        told = recipients.resolve_recipients(
            step.notify, clock.opd, actor=recipients.actor(clock.role, clock.opd, clock.service)
        )
        targets = dispatch.targets_for(session, told, clock.service)
        names = opd_names(session)
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
            due_at=due_at,
            counting=clock.counting or domain.WORKING_DAYS,
            label=policy.label,
            action=policy.action_for(notification_plan.open_actions(clock.actions, due_at, now)),
            opd_name=names.get(clock.opd) if clock.opd else None,
            targets=tuple(targets),
            done=frozenset(dispatch.done_keys(session, step_id=step.id)),
        )


def _later_due_step(session, step: Step, now: datetime) -> Step | None:
    """A pending step of the same clock run and kind, also due now, that comes after `step`."""
    due = session.scalars(
        select(Step).where(
            Step.clock_id == step.clock_id,
            Step.run == step.run,
            Step.kind == step.kind,
            Step.state == domain.PENDING,
            Step.send_after <= now,
            Step.id != step.id,
        )
    ).all()
    mine = notification_plan.StepDue(step.key, step.kind, step.level, step.send_after)
    others = [notification_plan.StepDue(s.key, s.kind, s.level, s.send_after) for s in due]
    key = notification_plan.superseded_by(mine, others)
    return next((s for s in due if s.key == key), None)


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


def process_step(
    rt: Runtime, step_id: int, now: datetime, worker: str, mailer: Mailer, summary: TickSummary
) -> None:
    job = _load_job(rt, step_id, now, worker, summary)
    if job is None:
        return
    temporary: list[str] = []
    email_status: dict[str, str] = {}
    common = {"kind": job.kind, "step_id": job.step_id, "case_subject": job.subject,
              "clock": job.clock, "opd": job.opd}
    # Mail goes out first, each delivery recorded in its own transaction as soon as the
    # server has accepted it: an interruption later cannot make it go out again.
    for target in job.targets:
        if target.key in job.done or target.channel != domain.EMAIL:
            continue
        notice = _notice(rt, job, target.role, now)
        if not mailer.enabled:
            status, error = dispatch.SKIPPED, "SMTP_HOST tidak diatur; email tidak dikirim"
        else:
            try:
                mailer.send(target.address, notice)
                status, error = dispatch.SENT, None
            except MailError as exc:
                last_try = job.attempts + 1 >= rt.settings.max_send_attempts
                status = dispatch.FAILED if exc.permanent or last_try else dispatch.RETRYING
                error = str(exc)
                if status == dispatch.RETRYING:
                    temporary.append(f"{target.key}: {exc}")
        email_status[target.key] = status
        with rt.uow() as uow:
            dispatch.record(uow.session, target, title=notice.title, status=status, error=error,
                            now=now, **common)
            uow.commit()

    with rt.uow() as uow:
        session = uow.session
        step = session.scalars(select(Step).where(Step.id == job.step_id).with_for_update()).one()
        if step.state != domain.PENDING or step.claimed_by != worker:
            # Withdrawn while the mail went out (the clock stopped): the mail is on record,
            # the step is not marked sent and no event claims it was.
            uow.commit()
            return
        clock = session.get(Clock, job.clock_id)
        sent_mail = sum(1 for status in email_status.values() if status == dispatch.SENT)
        counts = {domain.EMAIL: sent_mail, domain.INBOX: 0, domain.WEBHOOK: 0}
        routing_key = f"{outgoing.SERVICE}.sla.{ACTIONS[job.kind]}.{job.opd or 'none'}"
        for target in job.targets:
            if target.key in job.done or target.channel == domain.EMAIL:
                continue
            notice = _notice(rt, job, target.role, now)
            status, error = dispatch.SENT, None
            if target.channel == domain.INBOX:
                inbox_channel.post(
                    session, notice, sub=target.sub, role=target.staff_role,
                    recipient_opd=target.recipient_opd, case_subject=job.subject,
                    clock=job.clock, opd=job.opd, now=now,
                )
            elif not dispatch.webhook_reach(session, routing_key):
                # The contact wants webhooks, but no subscription of theirs takes this event.
                status, error = dispatch.FAILED, "tidak ada langganan webhook yang cocok"
            dispatch.record(session, target, title=notice.title, status=status, error=error,
                            now=now, **common)
            counts[target.channel] += status == dispatch.SENT
        if temporary:
            step.attempts += 1
            step.last_error = "; ".join(temporary)[:500]
            step.claimed_at = None
            step.claimed_by = None
            step.send_after = rt.calendar.receipt_instant(
                notification_plan.retry_after(step.attempts, now)
            )
            clocks.record(session, clock, "step_retry", now, recorded_at=now,
                          detail={"step": job.key, "attempt": step.attempts})
            uow.commit()
            summary.retrying += 1
            return
        step.state = domain.SENT
        step.sent_at = now
        step.attempts += 1
        roles = sorted({t.role for t in job.targets})
        clocks.record(session, clock, HISTORY[job.kind], now, recorded_at=now,
                      detail={"step": job.key, "level": job.level, "notified": roles,
                              "deliveries": counts})
        outgoing.publish(uow, _step_event(job, now, roles, counts, rt))
        uow.commit()
    summary.sent.append(
        {"subject": job.subject, "clock": job.clock, "step": job.key, "opd": job.opd,
         "notified": roles, "deliveries": counts}
    )


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
