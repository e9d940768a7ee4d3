"""The tick works on batches of steps: a few statements per batch, however many steps it
holds, and still every step told once and only once, across a worker dying half-way through
its mail, one step that cannot be told, and workers ticking at once with small batches.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from services.notifier import directory, dispatch, messages
from services.notifier.consumers import events_consumer
from services.notifier.email import Mailer
from services.notifier.models import Contact, Delivery, InboxMessage, Step
from services.notifier.recipients import Recipient
from services.notifier.tick import TickSummary, claim_steps, new_worker_id, process_batch, tick
from tests.conftest import free_port
from tests.notifier.notifier_support import sla_event, wib
from tests.notifier.test_tick import ADMIN, OFFICER, contacts, sent_events, tick_at_once

RECEIVED = wib(2026, 3, 16, 10)  # its reminder is due on 2 April at eight


def start_requests(feed, rt, count: int, *, received=RECEIVED, first: int = 0) -> None:
    due = rt.calendar.due_at(received, 10)
    for n in range(first, first + count):
        envelope = sla_event(f"requests/PPID-2026-{n:06d}", at=received,
                             start=[{"clock": "ppid.response", "due_at": due.isoformat()}])
        assert feed(envelope)


def step_states(rt, key: str = "remind:-2wd") -> dict[str, int]:
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(Step.state, func.count()).where(Step.key == key).group_by(Step.state)
        ).all()
    return dict(rows)


def statements_of_one_batch(rt, now) -> tuple[int, TickSummary]:
    """Statements sent while claiming and telling every step due at `now`, as one batch."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        worker, summary = new_worker_id(), TickSummary(now=now)
        claimed = claim_steps(rt, now, worker, rt.settings.tick_batch_size)
        process_batch(rt, claimed, now, worker, Mailer(rt.settings), summary)
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    return len(seen), summary


def test_a_batchs_contact_book_finds_whom_the_directory_finds(rt):
    contacts(rt)
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinkes", "name": "Any",
                                         "email": "semua@dinkes.kapuaskab.go.id"})
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinsos", "service": "ppid",
                                         "name": "Elsewhere", "email": "x@dinsos.kapuaskab.go.id"})
    with rt.uow() as uow:
        gone = uow.session.scalars(select(Contact).where(Contact.name == "Rina")).one()
        gone.active = False
        uow.commit()
    with rt.uow() as uow:
        book = dispatch.ContactBook(uow.session)
        asked = [(Recipient(role, opd), service)
                 for role in ("officer", "head", "coordinator", "sekda")
                 for opd in ("dinkes", "dinsos", None) for service in ("ppid", "lapor")]
        for recipient, service in asked:
            expected = [c.id for c in directory.contacts_for(uow.session, recipient, service)]
            found = [c.id for c in book.for_recipient(recipient, service)]
            assert found == expected, (recipient, service)
        assert any(book.for_recipient(r, s) for r, s in asked)


def test_a_contact_who_prefers_the_inbox_gets_the_notice_in_their_own(rt, feed):
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinkes", "service": "ppid",
                                         "name": "Rina", "preferred_channel": "inbox",
                                         "sub": "rina"})
    start_requests(feed, rt, 1)
    assert [s["step"] for s in tick(rt, wib(2026, 4, 2, 9)).sent] == ["remind:-2wd"]
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(InboxMessage.recipient_sub, InboxMessage.recipient_role,
                   InboxMessage.recipient_opd, InboxMessage.case_subject, InboxMessage.body)
            .where(InboxMessage.kind == "remind")
        ).all()
    assert len(rows) == 1, "her own inbox takes the place of the role's"
    sub, role, opd, subject, body = rows[0]
    assert (sub, role, opd, subject) == ("rina", None, None, "requests/PPID-2026-000000")
    assert "Dinas Kesehatan" in body


def test_a_batch_takes_as_many_statements_for_twelve_steps_as_for_three(rt, feed):
    # No contacts: every notice goes to the role's in-app inbox, so no mail is recorded
    # one by one and what is left is the batch's own reading and writing.
    start_requests(feed, rt, 3)
    start_requests(feed, rt, 12, received=wib(2026, 3, 17, 10), first=100)
    three, first = statements_of_one_batch(rt, wib(2026, 4, 2, 9))
    twelve, second = statements_of_one_batch(rt, wib(2026, 4, 6, 9))
    assert (len(first.sent), len(second.sent)) == (3, 12)
    assert twelve == three
    assert step_states(rt) == {"sent": 15}
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.kind == "remind")) == 15
    assert len(sent_events(rt, "notifier.sla.reminded")) == 15


class DiesAfter(Mailer):
    """A worker whose process ends (SystemExit) once it has sent `allowed` messages."""

    def __init__(self, settings, allowed: int):
        super().__init__(settings)
        self.allowed = allowed

    def send(self, to, notice):
        if self.allowed == 0:
            raise SystemExit("worker stopped")
        self.allowed -= 1
        return super().send(to, notice)


def test_a_worker_that_dies_half_way_through_its_mail_tells_nobody_twice(
    rt, feed, smtp, make_rt, migrated
):
    contacts(rt)
    start_requests(feed, rt, 6)
    now = wib(2026, 4, 2, 9)
    dying = DiesAfter(rt.settings, allowed=2)
    with pytest.raises(SystemExit):
        tick(rt, now, mailer=dying)
    dying.close()
    assert len(smtp.to(OFFICER)) == 2
    with rt.uow() as uow:
        assert uow.session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        ) == 2, "each delivery is on record as soon as it is made"
    assert step_states(rt) == {"pending": 6}

    restarted = make_rt(migrated)
    assert tick(restarted, now + timedelta(minutes=1)).sent == [], "the claim still holds"
    later = now + timedelta(seconds=restarted.settings.claim_timeout_seconds + 60)
    summary = tick(restarted, later)
    assert len(summary.sent) == 6
    mails = smtp.to(OFFICER)
    subjects = [m["Subject"] for m in mails if not m["Subject"].startswith("Ringkasan")]
    assert len(subjects) == 6 and len(set(subjects)) == 6, "each case told once"
    assert step_states(restarted) == {"sent": 6}
    with restarted.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.kind == "remind")) == 6
        emails = uow.session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.channel == "email", Delivery.step_id.is_not(None))
            .group_by(Delivery.status)
        ).all()
    assert dict(emails) == {"sent": 6}
    assert len(sent_events(restarted, "notifier.sla.reminded")) == 6


def test_one_step_that_cannot_be_told_holds_back_no_other_in_its_batch(rt, feed, monkeypatch):
    start_requests(feed, rt, 5)
    broken = "requests/PPID-2026-000003"
    original = messages.sla_notice

    def notice(**kwargs):
        if kwargs["case"] == broken:
            raise RuntimeError("template fault")
        return original(**kwargs)

    monkeypatch.setattr(messages, "sla_notice", notice)
    now = wib(2026, 4, 2, 9)
    summary = tick(rt, now)
    assert sorted(s["subject"] for s in summary.sent) == [
        f"requests/PPID-2026-{n:06d}" for n in (0, 1, 2, 4)]
    assert step_states(rt) == {"sent": 4, "pending": 1}

    monkeypatch.setattr(messages, "sla_notice", original)
    later = now + timedelta(seconds=rt.settings.claim_timeout_seconds + 60)
    assert [s["subject"] for s in tick(rt, later).sent] == [broken]
    assert step_states(rt) == {"sent": 5}
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.kind == "remind")) == 5


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_workers_ticking_at_once_in_small_batches_send_each_step_once(migrated, make_rt, smtp):
    first = make_rt(migrated, NOTIFIER_TICK_BATCH_SIZE="3")
    second = make_rt(migrated, NOTIFIER_TICK_BATCH_SIZE="3")
    contacts(first)
    consumer = events_consumer(first)
    start_requests(consumer.process, first, 20)
    summaries = tick_at_once([first, second], wib(2026, 4, 2, 9))
    assert sum(len(summary.sent) for summary in summaries) == 20
    subjects = [m["Subject"] for m in smtp.to(OFFICER)]
    assert len(subjects) == 20 and len(set(subjects)) == 20
    assert step_states(first) == {"sent": 20}
    with first.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.kind == "remind")) == 20
    assert len(sent_events(first, "notifier.sla.reminded")) == 20


class CountingMailer(Mailer):
    def __init__(self, settings):
        super().__init__(settings)
        self.connections = 0

    def _connect(self):
        self.connections += 1
        return super()._connect()


def test_an_unreachable_mail_server_is_tried_once_per_tick_and_nobody_is_told_twice(
    rt, feed, smtp, make_rt, migrated
):
    contacts(rt)
    start_requests(feed, rt, 4)
    down = make_rt(migrated, SMTP_PORT=str(free_port()))
    mailer = CountingMailer(down.settings)
    now = wib(2026, 4, 2, 9)
    summary = tick(down, now, mailer=mailer)
    mailer.close()
    assert (summary.retrying, summary.sent) == (4, [])
    # One message's two tries for the four steps, then the morning digest's own two.
    assert mailer.connections == 4
    with down.uow() as uow:
        emails = uow.session.execute(
            select(Delivery.status, Delivery.error)
            .where(Delivery.channel == "email", Delivery.step_id.is_not(None))
        ).all()
    assert len(emails) == 4 and all(s == "retrying" and "tidak terjangkau" in e for s, e in emails)
    assert step_states(rt) == {"pending": 4}

    summary = tick(rt, now + timedelta(hours=1))
    assert len(summary.sent) == 4
    subjects = [m["Subject"] for m in smtp.to(OFFICER)]
    assert len(subjects) == 4 and len(set(subjects)) == 4
    assert step_states(rt) == {"sent": 4}
    with rt.uow() as uow:
        assert uow.session.scalar(
            select(func.count()).select_from(InboxMessage).where(InboxMessage.kind == "remind")
        ) == 4, "the role's inbox was told on the first try, and only then"
