"""The morning digest: one email per OPD head listing the OPD's overdue and due-soon cases.

It goes out with the first tick in office hours of each working day. The day's round is
claimed in `digest_runs` (one worker runs it; a worker that died mid-round leaves a claim
that expires and another finishes the round), and each OPD's digest is recorded in
`digests`, so no head gets two on one day.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from services.common.calendar import format_instant_id
from services.common.db import insert_unless_present
from services.common.runtime import Runtime
from services.notifier import compliance, dispatch, domain, messages
from services.notifier import inbox as inbox_channel
from services.notifier.clocks import PolicyBook
from services.notifier.directory import contacts_for, opd_names
from services.notifier.email import Mailer, MailError
from services.notifier.models import Clock, Digest, DigestRun
from services.notifier.recipients import Recipient

log = logging.getLogger(__name__)


def _insert_new(session, table, values: dict, key):
    """The inserted row's `key` column, or None when another worker's row was there first
    (or is being written: PostgreSQL waits for that worker's outcome)."""
    stmt = insert_unless_present(session, table).values(values).returning(key)
    return session.execute(stmt).scalar_one_or_none()


def _claim_round(rt: Runtime, day, now: datetime, worker: str) -> bool:
    expired = now - timedelta(seconds=rt.settings.claim_timeout_seconds)
    with rt.uow() as uow:
        session = uow.session
        done = session.scalar(select(DigestRun.completed_at).where(DigestRun.day == day))
        if done is not None:
            return False
        if _insert_new(session, DigestRun.__table__,
                       {"day": day, "claimed_at": now, "claimed_by": worker},
                       DigestRun.__table__.c.day) is not None:
            uow.commit()
            return True
        taken = session.execute(
            update(DigestRun)
            .where(
                DigestRun.day == day,
                DigestRun.completed_at.is_(None),
                or_(DigestRun.claimed_at < expired, DigestRun.claimed_by == worker),
            )
            .values(claimed_at=now, claimed_by=worker)
        ).rowcount
        uow.commit()
        return bool(taken)


def send_digests(rt: Runtime, now: datetime, worker: str, mailer: Mailer) -> int:
    """Send today's digests if this tick is the first to get to them; returns how many."""
    cal = rt.calendar
    today = now.astimezone(cal.tz).date()
    if not cal.is_working_day(today) or not _claim_round(rt, today, now, worker):
        return 0
    limit = compliance.due_soon_limit(now, cal)
    with rt.uow() as uow:
        session = uow.session
        done = set(session.scalars(select(Digest.opd).where(Digest.day == today)))
        rows = session.execute(
            select(Clock.opd, Clock.subject, Clock.clock, Clock.due_at, Clock.counting)
            .where(
                Clock.stopped_at.is_(None),
                Clock.opd.is_not(None),
                Clock.due_at <= limit,
                # A citizen's window is not the OPD's to resolve; a paused duty waits for
                # the citizen, and its due instant moves when it resumes.
                Clock.party == domain.STAFF,
                Clock.state != domain.PAUSED,
            )
            .order_by(Clock.opd, Clock.due_at)
        ).all()
        names = opd_names(session)
        policies = PolicyBook(session)
        labels = {kind: policies.for_clock(kind).label for kind in {r.clock for r in rows}}
    by_opd: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.opd not in done:
            by_opd[row.opd].append(row)
    sent = 0
    for opd, cases in by_opd.items():
        overdue, due_soon = [], []
        for case in cases:
            due_at = case.due_at
            item = messages.DigestCase(
                case=case.subject,
                label=labels[case.clock],
                deadline=format_instant_id(due_at.astimezone(cal.tz)),
                status=(messages.lateness_text(due_at, now, cal, case.counting) if due_at < now
                        else messages.remaining_text(due_at, now, cal, case.counting)),
            )
            (overdue if due_at < now else due_soon).append(item)
        if _send_one(rt, opd, names.get(opd, opd), today, overdue, due_soon, now, mailer):
            sent += 1
    with rt.uow() as uow:
        uow.session.execute(
            update(DigestRun).where(DigestRun.day == today).values(completed_at=now)
        )
        uow.commit()
    return sent


def _send_one(rt, opd, opd_name, today, overdue, due_soon, now, mailer: Mailer) -> bool:
    notice = messages.digest_notice(
        opd_name=opd_name, day=today, overdue=overdue, due_soon=due_soon, now=now, cal=rt.calendar
    )
    head = Recipient(domain.HEAD, opd)
    with rt.uow() as uow:
        session = uow.session
        digest_id = _insert_new(session, Digest.__table__, {
            "opd": opd, "day": today, "overdue": len(overdue), "due_soon": len(due_soon),
            "created_at": now,
        }, Digest.__table__.c.id)
        if digest_id is None:
            return False
        # The digest is for heads: by email, and in the app for every holder of the role.
        heads = [c for c in contacts_for(session, head, "") if c.email]
        role_target = dispatch.Target(
            key=f"role:opd_head@{opd}", role=domain.HEAD, channel=domain.INBOX,
            address=f"opd_head@{opd}", staff_role="opd_head", recipient_opd=opd,
        )
        inbox_channel.post(session, notice, role="opd_head", recipient_opd=opd, opd=opd, now=now)
        dispatch.record(session, role_target, kind="digest", title=notice.title,
                        status=dispatch.SENT, now=now, digest_id=digest_id, opd=opd)
        uow.commit()
    for contact in heads:
        target = dispatch.Target(
            key=f"contact:{contact.id}:email", role=domain.HEAD, channel=domain.EMAIL,
            address=contact.email, contact_id=contact.id, name=contact.name,
        )
        if not mailer.enabled:
            status, error = dispatch.SKIPPED, "SMTP_HOST tidak diatur; email tidak dikirim"
        else:
            try:
                mailer.send(contact.email, notice)
                status, error = dispatch.SENT, None
            except MailError as exc:
                # A digest is a summary of the day: tomorrow's replaces it, so no retry.
                status, error = dispatch.FAILED, str(exc)
        with rt.uow() as uow:
            dispatch.record(uow.session, target, kind="digest", title=notice.title,
                            status=status, error=error, now=now, digest_id=digest_id, opd=opd)
            uow.commit()
    return True
