"""The notifier's handler behind a real RabbitMQ consumer: published events move clocks,
and an event whose clock instructions cannot be read is dead-lettered with the reason."""

from __future__ import annotations

import threading
import time

import pika
import pytest
from sqlalchemy import select

from services.common.consumer import ERROR_HEADER, EventConsumer
from services.common.events import CONTENT_TYPE, EXCHANGE, new_event
from services.notifier.consumers import make_handler
from services.notifier.models import Clock
from tests.notifier.notifier_support import wib


def _publish(amqp_url, event, body=None):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            EXCHANGE, event.routing_key, body or event.to_json(),
            pika.BasicProperties(content_type=CONTENT_TYPE, message_id=event.id, delivery_mode=2),
            mandatory=True,
        )
    finally:
        connection.close()


def _wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_events_published_to_the_exchange_move_clocks(rt, amqp_url, unique):
    service = f"t{unique}"
    queue = f"notifier.test_{unique}"
    consumer = EventConsumer(
        name=queue, queue=queue, bindings=[f"{service}.#"], handler=make_handler(rt),
        uow_factory=rt.uow, inbox=rt.inbox, amqp_url=amqp_url, delivery_limit=2,
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert consumer.ready.wait(15)
        subject = "requests/PPID-2026-000777"
        due = wib(2026, 4, 7, 23, 59, 59)
        started = new_event(service, "request", "received", subject=subject, opd="dinkes",
                            time=wib(2026, 3, 16, 10),
                            data={"sla": {"start": [{"clock": "ppid.response", "due_at": due}]}})
        _publish(amqp_url, started)
        _publish(amqp_url, started)  # a duplicate publish: the inbox absorbs it

        def clock():
            with rt.uow() as uow:
                row = uow.session.scalars(select(Clock).where(Clock.subject == subject)).one_or_none()
                return row and (row.state, row.run, row.opd)

        assert _wait_for(clock) == ("running", 1, "dinkes")

        answered = new_event(service, "request", "answered", subject=subject, opd="dinkes",
                             time=wib(2026, 4, 6, 14),
                             data={"sla": {"stop": [{"clock": "ppid.response"}]}})
        _publish(amqp_url, answered)
        assert _wait_for(lambda: clock() if clock()[0] == "met" else None) == ("met", 1, "dinkes")

        broken = new_event(service, "request", "received", subject="requests/PPID-2026-000778",
                           opd="dinkes", data={"sla": {"start": [{"clock": "ppid.response"}]}})
        _publish(amqp_url, broken)

        def dead_letter():
            connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
            try:
                method, properties, _body = connection.channel().basic_get(consumer.dead_queue, auto_ack=True)
                return properties if method else None
            finally:
                connection.close()

        properties = _wait_for(dead_letter)
        assert properties.message_id == broken.id
        assert "data.sla" in properties.headers[ERROR_HEADER]
    finally:
        stop.set()
        thread.join(timeout=20)
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = connection.channel()
        channel.queue_delete(queue)
        channel.queue_delete(consumer.dead_queue)
        connection.close()
