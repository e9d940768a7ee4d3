"""Ticks against a real SMTP server: who is told what, at which working-day instant.

Clock events are fed to the consumer's unit of work exactly as the runner does; each tick
is run for a chosen instant, as the worker's timer or `python -m services.notifier tick`
would.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.common.auth import Principal
from services.notifier import directory
from services.notifier.consumers import events_consumer
from services.notifier.models import Clock, Delivery, DigestRun, Step, outbox
from services.notifier.tick import tick
from services.notifier.webhook_models import WebhookDelivery, WebhookEndpoint
from tests.notifier.notifier_support import sla_event, wib

ADMIN = Principal(sub="admin-1", name="Admin", roles=frozenset({"admin"}), opd=None)
OFFICER = "pelaksana@dinkes.kapuaskab.go.id"
LAPOR_OFFICER = "penghubung@dinkes.kapuaskab.go.id"
HEAD = "kadis@dinkes.kapuaskab.go.id"
UTAMA = "ppid@diskominfo.kapuaskab.go.id"
LAPOR_ADMIN = "lapor@diskominfo.kapuaskab.go.id"
SEKDA = "sekda@kapuaskab.go.id"


def contacts(rt):
    for body in (
        {"role": "officer", "opd": "dinkes", "service": "ppid", "name": "Rina", "email": OFFICER},
        {"role": "officer", "opd": "dinkes", "service": "lapor", "name": "Budi", "email": LAPOR_OFFICER},
        {"role": "head", "opd": "dinkes", "name": "dr. Yusuf", "email": HEAD},
        {"role": "coordinator", "service": "ppid", "name": "Sari", "email": UTAMA},
        {"role": "coordinator", "service": "lapor", "name": "Anton", "email": LAPOR_ADMIN},
        {"role": "sekda", "name": "Ir. Hadi", "email": SEKDA},
    ):
        directory.create_contact(rt, ADMIN, {"preferred_channel": "email", **body})


def start_ppid_request(feed, rt, number="PPID-2026-000001", received=None):
    received = received or wib(2026, 3, 16, 10)
    due = rt.calendar.due_at(received, 10)
    envelope = sla_event(f"requests/{number}", at=received,
                         start=[{"clock": "ppid.response", "due_at": due.isoformat()}])
    assert feed(envelope)
    return due


def notified(smtp) -> set[str]:
    """Recipients of SLA notices (the morning digest is counted apart)."""
    return {r for rcpts, m in smtp.messages if not m["Subject"].startswith("Ringkasan harian")
            for r in rcpts}


def tick_at_once(runtimes, at):
    """Each runtime ticks in its own thread, all released together; their summaries."""
    barrier = threading.Barrier(len(runtimes))
    results = [None] * len(runtimes)

    def work(n, rt):
        barrier.wait()
        results[n] = tick(rt, at)

    threads = [threading.Thread(target=work, args=(n, rt)) for n, rt in enumerate(runtimes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in results, "every worker finished its tick"
    return results


def sent_events(rt, type_):
    with rt.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars()
        return [json.loads(b) for b in bodies if json.loads(b)["type"] == type_]


def test_reminders_breach_and_every_escalation_reach_the_right_people_on_working_days(
    rt, feed, smtp, make_rt, migrated
):
    contacts(rt)
    due = start_ppid_request(feed, rt)
    assert due == wib(2026, 4, 7, 23, 59, 59)

    everyone: set[str] = set()

    def run(at):
        smtp.clear()
        summary = tick(rt, at)
        everyone.update(notified(smtp))
        return summary, notified(smtp)

    assert run(wib(2026, 4, 1, 9))[1] == set()
    summary, told = run(wib(2026, 4, 2, 7, 59))
    assert told == set() and not summary.office_hours
    summary, told = run(wib(2026, 4, 2, 8))
    assert told == {OFFICER} and [s["step"] for s in summary.sent] == ["remind:-2wd"]
    reminder = smtp.to(OFFICER)[0]
    assert reminder["Subject"].startswith("Pengingat: Pemberitahuan tertulis")
    text = reminder.get_body(("plain",)).get_content()
    html = reminder.get_body(("html",)).get_content()
    for part in (text, html):
        assert "requests/PPID-2026-000001" in part
        assert "Dinas Kesehatan" in part
        assert "Selasa, 7 April 2026 pukul 23.59.59 WIB" in part
        assert "pemberitahuan tertulis kepada pemohon" in part
    assert "batas waktu berakhir 2 hari kerja lagi" in text  # 6 and 7 April
    assert run(wib(2026, 4, 2, 8, 30))[1] == set(), "a step goes out once"
    assert run(wib(2026, 4, 3, 9))[1] == set(), "Good Friday"
    assert run(wib(2026, 4, 7, 12, 30))[1] == {OFFICER}
    assert run(wib(2026, 4, 7, 22))[1] == set(), "nothing at night"
    summary, told = run(wib(2026, 4, 8, 0, 30))
    assert summary.breached == 1 and told == set()
    with rt.uow() as uow:
        assert uow.session.scalar(select(Clock.state)) == "breached"

    summary, told = run(wib(2026, 4, 8, 8, 5))
    assert told == {OFFICER} and [s["step"] for s in summary.sent] == ["breach"]
    breach_notice = smtp.to(OFFICER)[0]
    assert breach_notice["Subject"].startswith("Terlambat:")
    assert "terlambat 1 hari kerja" in breach_notice.get_body(("plain",)).get_content()

    # A worker restart between two ticks: new runtime objects on the same database.
    restarted = make_rt(migrated)
    smtp.clear()
    assert tick(restarted, wib(2026, 4, 8, 8, 10)).sent == [] and smtp.count() == 0, "nor the digest"

    assert run(wib(2026, 4, 9, 9))[1] == {OFFICER}
    # Lateness counts as the calendar does: done on the next working day is one day late.
    assert "terlambat 2 hari kerja" in smtp.to(OFFICER)[0]["Subject"]
    assert run(wib(2026, 4, 10, 8))[1] == {HEAD, UTAMA}
    assert smtp.to(HEAD)[0]["Subject"].startswith("Eskalasi tingkat 2:")
    assert run(wib(2026, 4, 11, 10))[1] == set(), "Saturday"
    assert run(wib(2026, 4, 14, 10))[1] == set()
    assert run(wib(2026, 4, 15, 8))[1] == {SEKDA}
    assert everyone == {OFFICER, HEAD, UTAMA, SEKDA}, "never the LAPOR officer or coordinator"

    assert [e["data"]["step"] for e in sent_events(rt, "notifier.sla.reminded")] == [
        "remind:-2wd", "remind:-4wh"]
    breached = sent_events(rt, "notifier.sla.breached")
    assert [(e["data"]["open"], e["opd"]) for e in breached] == [(True, "dinkes")]
    assert [e["data"]["level"] for e in sent_events(rt, "notifier.sla.escalated")] == [1, 2, 3]

    # The PPID answers on 16 April: stopped as breached, seven working days late.
    answered = sla_event("requests/PPID-2026-000001", at=wib(2026, 4, 16, 10),
                         stop=[{"clock": "ppid.response"}])
    assert feed(answered)
    with rt.uow() as uow:
        clock = uow.session.scalars(select(Clock)).one()
        assert (clock.state, clock.late_working_days) == ("breached", 7)
    final = sent_events(rt, "notifier.sla.breached")[-1]
    assert final["data"]["open"] is False and final["data"]["late_working_days"] == 7
    assert final["data"]["working_days_taken"] == 17


def test_a_breach_on_the_lebaran_eve_is_told_when_the_office_reopens(rt, feed, smtp):
    contacts(rt)
    envelope = sla_event("reports/LPR-2026-000007", at=wib(2026, 3, 16, 10), service="lapor",
                         entity="report", action="dispatched",
                         start=[{"clock": "lapor.follow_up", "due_at": wib(2026, 3, 17, 23, 59, 59).isoformat()}])
    assert feed(envelope)
    expected = {
        wib(2026, 3, 17, 12): {LAPOR_OFFICER},  # four working hours before the end of day
        wib(2026, 3, 18, 9): set(),
        wib(2026, 3, 19, 9): set(),
        wib(2026, 3, 20, 9): set(),
        wib(2026, 3, 23, 9): set(),
        wib(2026, 3, 24, 15, 59): set(),
        wib(2026, 3, 25, 8): {LAPOR_OFFICER},  # breach notice
        wib(2026, 3, 26, 8): {LAPOR_OFFICER},  # escalation 1
        wib(2026, 3, 27, 8): {HEAD, LAPOR_ADMIN},  # escalation 2
        wib(2026, 3, 30, 8): set(),
        wib(2026, 4, 1, 8): {SEKDA},  # escalation 3, five working days after the notice
    }
    for at, who in expected.items():
        smtp.clear()
        tick(rt, at)
        assert notified(smtp) == who, at


def test_a_stop_before_the_due_date_meets_the_duty_and_withdraws_the_rest(rt, feed, smtp):
    contacts(rt)
    start_ppid_request(feed, rt)
    tick(rt, wib(2026, 4, 2, 9))
    assert smtp.to(OFFICER)
    assert feed(sla_event("requests/PPID-2026-000001", at=wib(2026, 4, 6, 11),
                          stop=[{"clock": "ppid.response"}]))
    smtp.clear()
    for at in (wib(2026, 4, 7, 13), wib(2026, 4, 8, 9), wib(2026, 4, 15, 9)):
        summary = tick(rt, at)
        assert summary.sent == [] and summary.breached == 0
    assert smtp.count() == 0
    met = sent_events(rt, "notifier.sla.met")
    assert len(met) == 1 and met[0]["data"]["late_working_days"] == 0
    with rt.uow() as uow:
        states = dict(uow.session.execute(select(Step.key, Step.state)).all())
    assert states == {"remind:-2wd": "sent", "remind:-4wh": "cancelled", "breach": "cancelled",
                      "escalate:1": "cancelled", "escalate:2": "cancelled", "escalate:3": "cancelled"}


def test_an_extension_restarts_the_clock_and_its_reminders(rt, feed, smtp):
    contacts(rt)
    due = start_ppid_request(feed, rt)
    tick(rt, wib(2026, 4, 2, 9))
    extended = rt.calendar.due_at(wib(2026, 3, 16, 10), 17)
    assert feed(sla_event("requests/PPID-2026-000001", at=wib(2026, 4, 6, 10),
                          start=[{"clock": "ppid.response", "due_at": extended.isoformat()}]))
    smtp.clear()
    assert tick(rt, wib(2026, 4, 8, 9)).breached == 0, f"the old due date {due} no longer counts"
    tick(rt, wib(2026, 4, 14, 9))
    assert len(smtp.to(OFFICER)) == 1, "the new run reminds two working days before the new date"
    with rt.uow() as uow:
        runs = uow.session.execute(select(Step.run, Step.key, Step.state).order_by(Step.id)).all()
    assert ("remind:-2wd" in {k for r, k, s in runs if r == 2 and s == "sent"})


def test_a_passing_smtp_failure_is_retried_without_telling_anyone_twice(rt, feed, smtp):
    contacts(rt)
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinkes", "service": "ppid",
                                         "name": "Tono", "email": "flaky@dinkes.kapuaskab.go.id"})
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinkes", "name": "Gone",
                                         "email": "gone@dinkes.kapuaskab.go.id"})
    smtp.refuse["flaky@dinkes.kapuaskab.go.id"] = "451 4.3.0 Try again later"
    smtp.refuse["gone@dinkes.kapuaskab.go.id"] = "550 5.1.1 No such user"
    start_ppid_request(feed, rt)
    summary = tick(rt, wib(2026, 4, 2, 8))
    assert summary.retrying == 1 and summary.sent == []
    assert len(smtp.to(OFFICER)) == 1
    with rt.uow() as uow:
        step = uow.session.scalars(select(Step).where(Step.key == "remind:-2wd")).one()
        assert step.state == "pending" and step.attempts == 1 and "451" in step.last_error
        statuses = dict(uow.session.execute(select(Delivery.address, Delivery.status)).all())
    assert statuses["gone@dinkes.kapuaskab.go.id"] == "failed"
    assert statuses["flaky@dinkes.kapuaskab.go.id"] == "retrying"

    assert tick(rt, wib(2026, 4, 2, 8, 2)).sent == [], "not before the retry delay"
    del smtp.refuse["flaky@dinkes.kapuaskab.go.id"]
    smtp.clear()
    summary = tick(rt, wib(2026, 4, 2, 8, 6))
    assert [s["step"] for s in summary.sent] == ["remind:-2wd"]
    assert notified(smtp) == {"flaky@dinkes.kapuaskab.go.id"}
    with rt.uow() as uow:
        log = {row.address: (row.status, row.attempts, row.error) for row in uow.session.scalars(
            select(Delivery).where(Delivery.channel == "email"))}
    assert log["flaky@dinkes.kapuaskab.go.id"] == ("sent", 2, None), "the first row, retried"
    status, attempts, error = log["gone@dinkes.kapuaskab.go.id"]
    assert (status, attempts) == ("failed", 1) and "550" in error


def test_without_contacts_the_role_inbox_of_the_opd_still_gets_the_notice(rt, feed, smtp):
    start_ppid_request(feed, rt)
    summary = tick(rt, wib(2026, 4, 2, 8))
    assert summary.sent[0]["deliveries"] == {"email": 0, "inbox": 1, "webhook": 0}
    with rt.uow() as uow:
        log = uow.session.scalars(select(Delivery).where(Delivery.step_id.is_not(None))).one()
        assert (log.channel, log.address, log.status) == ("inbox", "ppid_pelaksana@dinkes", "sent")


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_two_workers_ticking_at_once_send_each_notification_once(migrated, make_rt, smtp):
    first, second = make_rt(migrated), make_rt(migrated)
    contacts(first)
    consumer = events_consumer(first)
    for n in range(20):
        received = wib(2026, 3, 16, 10)
        due = first.calendar.due_at(received, 10)
        assert consumer.process(sla_event(f"requests/PPID-2026-{n:06d}", at=received,
                                          start=[{"clock": "ppid.response", "due_at": due.isoformat()}]))
    summaries = tick_at_once([first, second], wib(2026, 4, 2, 9))
    assert sum(len(summary.sent) for summary in summaries) == 20
    assert len(smtp.to(OFFICER)) == 20 and len(smtp.to(HEAD)) == 1, "20 reminders, one digest"
    with first.uow() as uow:
        assert uow.session.scalar(
            select(func.count()).select_from(Delivery).where(
                Delivery.channel == "email", Delivery.step_id.is_not(None))
        ) == 20
        assert uow.session.scalar(
            select(func.count()).select_from(Step).where(Step.key == "remind:-2wd", Step.state == "sent")
        ) == 20
    assert len(sent_events(first, "notifier.sla.reminded")) == 20


def test_each_working_morning_the_opd_head_gets_one_digest(rt, feed, smtp):
    directory.create_contact(rt, ADMIN, {"role": "head", "opd": "dinkes", "name": "dr. Yusuf", "email": HEAD})
    for number, due, opd in (
        ("A", wib(2026, 4, 6, 23, 59, 59), "dinkes"),
        ("B", wib(2026, 4, 9, 23, 59, 59), "dinkes"),
        ("C", wib(2026, 4, 30, 23, 59, 59), "dinkes"),
        ("D", wib(2026, 4, 6, 23, 59, 59), "dinsos"),
    ):
        assert feed(sla_event(f"requests/{number}", at=wib(2026, 3, 25, 10), opd=opd,
                              start=[{"clock": "ppid.response", "due_at": due.isoformat()}]))

    def digests_at(at):
        smtp.clear()
        summary = tick(rt, at)
        return summary.digests, [m for m in smtp.to(HEAD) if m["Subject"].startswith("Ringkasan")]

    assert digests_at(wib(2026, 4, 8, 7, 30)) == (0, [])
    count, mails = digests_at(wib(2026, 4, 8, 8, 1))
    assert count == 2 and len(mails) == 1  # dinsos has no head on file: its digest is in the app
    assert mails[0]["Subject"] == (
        "Ringkasan harian Dinas Kesehatan, Rabu, 8 April 2026: 1 terlambat, 1 segera jatuh tempo")
    text = mails[0].get_body(("plain",)).get_content()
    assert "requests/A" in text and "terlambat 2 hari kerja" in text
    assert "requests/B" in text and "requests/C" not in text and "requests/D" not in text
    assert digests_at(wib(2026, 4, 8, 10)) == (0, [])
    assert digests_at(wib(2026, 4, 11, 9)) == (0, []), "Saturday"
    count, mails = digests_at(wib(2026, 4, 13, 8))
    assert count == 2 and len(mails) == 1


def test_a_digest_round_another_worker_holds_is_left_to_it(rt, feed, smtp):
    # On PostgreSQL the round's claim once read a refused insert as taken (psycopg reports
    # no row count for it): a second worker ticking while the first was still mailing sent
    # every head a second digest, then failed on the delivery the first had recorded.
    directory.create_contact(rt, ADMIN, {"role": "head", "opd": "dinkes", "name": "dr. Yusuf", "email": HEAD})
    assert feed(sla_event("requests/A", at=wib(2026, 3, 25, 10),
                          start=[{"clock": "ppid.response",
                                  "due_at": wib(2026, 4, 6, 23, 59, 59).isoformat()}]))
    morning = wib(2026, 4, 8, 8, 1)
    with rt.uow() as uow:
        uow.session.add(DigestRun(day=morning.date(), claimed_at=morning.astimezone(UTC),
                                  claimed_by="another-worker"))
        uow.commit()
    assert tick(rt, morning).digests == 0
    assert not [m for m in smtp.to(HEAD) if m["Subject"].startswith("Ringkasan")]
    # A claim left by a worker that died is taken over once it has expired.
    later = morning + timedelta(seconds=rt.settings.claim_timeout_seconds + 60)
    assert tick(rt, later).digests == 1
    assert tick(rt, later + timedelta(minutes=5)).digests == 0
    assert len([m for m in smtp.to(HEAD) if m["Subject"].startswith("Ringkasan")]) == 1


def test_a_contact_who_prefers_webhooks_is_reached_through_the_opd_subscription(rt, feed, smtp):
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinkes", "name": "SIMPEG Dinkes",
                                         "preferred_channel": "webhook"})
    start_ppid_request(feed, rt)
    tick(rt, wib(2026, 4, 2, 9))
    with rt.uow() as uow:
        row = uow.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()
        assert (row.status, row.error) == ("failed", "tidak ada langganan webhook yang cocok")

    now = datetime.now(UTC)
    with rt.uow() as uow:
        uow.session.add(WebhookEndpoint(
            id=str(uuid.uuid4()), opd="dinkes", url="https://simpeg.dinkes.example/hook",
            description="", patterns=["notifier.sla.*.dinkes"], secret="whsec_" + "B" * 43,
            enabled=True, version=1, created_at=now, created_by="t", updated_at=now, updated_by="t"))
        uow.commit()
    summary = tick(rt, wib(2026, 4, 7, 12, 30))
    assert summary.sent[0]["deliveries"]["webhook"] == 1
    with rt.uow() as uow:
        statuses = [d.status for d in uow.session.scalars(
            select(Delivery).where(Delivery.channel == "webhook").order_by(Delivery.id))]
        queued = list(uow.session.scalars(select(WebhookDelivery.event_type)))
    assert statuses == ["failed", "sent"] and queued == ["notifier.sla.reminded"]


def test_a_tick_refuses_an_instant_without_a_zone(rt):
    with pytest.raises(ValueError, match="aware"):
        tick(rt, datetime(2026, 4, 6, 9))


def test_a_tick_records_in_utc_whatever_zone_it_is_given(rt, feed):
    start_ppid_request(feed, rt)
    summary = tick(rt, wib(2026, 4, 8, 9))
    assert summary.breached == 1 and summary.now == wib(2026, 4, 8, 9)
    with rt.uow() as uow:
        row = uow.session.scalars(select(Clock)).one()
        assert row.breached_at == wib(2026, 4, 8, 9) and row.breached_at.tzinfo is UTC
