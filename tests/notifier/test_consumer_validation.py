"""The notifier refuses clock instructions no retry can apply, before any database work:
due dates out of reach, OPDs not in the directory. Behind the real broker, the good event
behind a refused one is applied at once."""

from __future__ import annotations

import threading
import time

import pika
import pytest
from sqlalchemy import func, select

from services.common.consumer import PermanentError
from services.common.events import CONTENT_TYPE, EXCHANGE, new_event
from services.notifier.consumers import make_check, make_handler
from services.notifier.models import Clock, inbox
from tests.notifier.notifier_support import sla_event, wib

SUBJECT = "requests/PPID-2026-000042"
AT = wib(2026, 3, 16, 10)
DUE = wib(2026, 4, 7, 23, 59, 59)


def start_event(**item):
    fields = {"clock": "ppid.response", "due_at": DUE.isoformat(), **item}
    return sla_event(SUBJECT, at=AT, start=[fields])


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        (start_event(due_at="9999-12-31T23:59:59+07:00"), "due_at"),
        (start_event(due_at="0001-01-02T00:00:00+07:00"), "due_at"),
        (start_event(due_at="2036-04-07T23:59:59+07:00"), "more than 1098 days"),
        (start_event(started_at="2016-03-16T10:00:00+07:00"), "started_at"),
        (start_event(opd="nosuchopd"), "'nosuchopd' is not in the OPD directory"),
        (sla_event(SUBJECT, at=AT, opd="nosuchopd",
                   start=[{"clock": "ppid.response", "due_at": DUE.isoformat()}]),
         "'nosuchopd' is not in the OPD directory"),
    ],
    ids=["year-9999", "year-1", "ten-years", "started-long-ago", "item-opd", "event-opd"],
)
def test_instructions_no_retry_can_apply_are_refused_before_any_database_work(
    rt, feed, envelope, reason
):
    with pytest.raises(PermanentError, match=reason):
        make_check(rt)(envelope)
    with pytest.raises(PermanentError, match=reason):
        feed(envelope)
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Clock)) == 0
        assert uow.session.scalar(select(func.count()).select_from(inbox)) == 0


def test_a_start_for_an_opd_of_the_directory_and_one_of_nobody_are_accepted(rt, feed):
    assert feed(start_event(opd="disdik"))
    lapor = sla_event("reports/LPR-2026-000001", at=AT, service="lapor", entity="report",
                      action="submitted", opd=None,
                      start=[{"clock": "lapor.verification", "due_at": DUE.isoformat()}])
    assert feed(lapor)
    with rt.uow() as uow:
        assert dict(uow.session.execute(select(Clock.clock, Clock.opd)).all()) == {
            "ppid.response": "disdik", "lapor.verification": None}


def _publish(channel, event, body=None):
    channel.basic_publish(
        EXCHANGE, event.routing_key, body or event.to_json(),
        pika.BasicProperties(content_type=CONTENT_TYPE, message_id=event.id, delivery_mode=2),
        mandatory=True,
    )


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_a_good_event_behind_a_refused_one_is_applied_within_a_second_or_two(rt, amqp_url, unique):
    from services.common.consumer import EventConsumer

    service = f"t{unique}"
    queue = f"notifier.test_{unique}"
    consumer = EventConsumer(
        name=queue, queue=queue, bindings=[f"{service}.#"], handler=make_handler(rt),
        uow_factory=rt.uow, inbox=rt.inbox, amqp_url=amqp_url, delivery_limit=5,
        check=make_check(rt), max_group=1, retry_delay=2.0,
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    try:
        assert consumer.ready.wait(15)
        bad = [
            new_event(service, "request", "received", subject=f"requests/PPID-2026-00090{i}",
                      opd=opd, time=AT, data={"sla": {"start": [{"clock": "ppid.response",
                                                                  "due_at": due}]}})
            for i, (opd, due) in enumerate([
                ("dinkes", "9999-12-31T16:59:59Z"),
                ("dinkes", "0001-01-02T00:00:00Z"),
                ("nosuchopd", DUE.isoformat()),
            ])
        ]
        good = new_event(service, "request", "received", subject=SUBJECT, opd="dinkes", time=AT,
                         data={"sla": {"start": [{"clock": "ppid.response", "due_at": DUE}]}})
        for event in bad:
            _publish(channel, event)
        sent = time.monotonic()
        _publish(channel, good)

        def running():
            with rt.uow() as uow:
                return uow.session.scalars(select(Clock.state).where(Clock.subject == SUBJECT)).first()

        deadline = time.monotonic() + 10
        while running() != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running() == "running"
        assert time.monotonic() - sent < 2.0

        dead = []
        deadline = time.monotonic() + 10
        while len(dead) < 3 and time.monotonic() < deadline:
            method, properties, _body = channel.basic_get(consumer.dead_queue, auto_ack=True)
            if method:
                dead.append(properties)
            else:
                time.sleep(0.1)
        assert {p.message_id for p in dead} == {e.id for e in bad}
        for properties in dead:
            assert properties.headers["x-simpul-error"].startswith("PermanentError: data.sla")
            assert "x-death" not in properties.headers
    finally:
        stop.set()
        thread.join(timeout=20)
        channel.queue_delete(queue)
        channel.queue_delete(consumer.dead_queue)
        connection.close()
