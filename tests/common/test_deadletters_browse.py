"""The dead-letter tool's listing hands every message back before it returns: a quorum queue
takes a requeued message back asynchronously, and `show` right after `list` once found the
queue empty (seen in a full test run, under load). Real RabbitMQ."""

from __future__ import annotations

import threading
import time

import pika
import pytest

from services.common import deadletters
from services.common.consumer import dead_letter_queue, declare_consumer_queue
from tests.broker_events import delete_queues, messages_ready

PERSISTENT = pika.DeliveryMode.Persistent


@pytest.fixture
def dead_queue(amqp_url, unique):
    """A consumer's dead-letter queue, declared by the chassis, holding three messages."""
    queue = f"test.browse.{unique}"
    name = dead_letter_queue(queue)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        declare_consumer_queue(channel, queue, [], delivery_limit=5)
        channel.confirm_delivery()
        for number in range(3):
            channel.basic_publish(
                "", name, b'{"id": "m%d"}' % number,
                pika.BasicProperties(message_id=f"m{number}", delivery_mode=PERSISTENT),
            )
    finally:
        connection.close()
    yield name
    delete_queues(queue, name)


def test_a_listing_returns_once_every_message_is_ready_again(amqp_url, dead_queue):
    for _ in range(20):
        assert len(deadletters.list_dead(amqp_url, dead_queue)) == 3
        assert messages_ready(dead_queue) == 3
        assert [m["message_id"] for m in deadletters.show(amqp_url, dead_queue, "m1")] == ["m1"]


def test_the_wait_lasts_until_a_message_held_elsewhere_comes_back(amqp_url, dead_queue):
    # Another connection holds one message unacked and hands it back 0.4 s later (by closing),
    # as a requeue the broker has not applied yet: the wait must see it come back.
    taken, held_for = threading.Event(), 0.4

    def hold_one():
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        method, _properties, _body = connection.channel().basic_get(dead_queue, auto_ack=False)
        assert method is not None
        taken.set()
        time.sleep(held_for)
        connection.close()

    holder = threading.Thread(target=hold_one)
    holder.start()
    assert taken.wait(5)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        started = time.monotonic()
        deadletters._await_ready(channel, dead_queue, 3)
        waited = time.monotonic() - started
        assert channel.queue_declare(dead_queue, passive=True).method.message_count == 3
    finally:
        connection.close()
        holder.join()
    assert held_for * 0.5 < waited < deadletters.RETURN_TIMEOUT


def test_the_wait_gives_up_after_its_timeout_when_messages_were_taken(amqp_url, dead_queue):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        started = time.monotonic()
        deadletters._await_ready(channel, dead_queue, 4, timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 2.0
    finally:
        connection.close()


def test_the_wait_ends_quietly_when_the_queue_is_deleted(amqp_url, dead_queue):
    delete_queues(dead_queue)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        started = time.monotonic()
        deadletters._await_ready(connection.channel(), dead_queue, 3)
        assert time.monotonic() - started < 1.0
    finally:
        connection.close()
