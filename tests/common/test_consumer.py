"""Event consumers and dead letters against the real broker and both databases."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter

import pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import DataError

from services.common import deadletters
from services.common.consumer import EventConsumer, PermanentError
from services.common.db import make_engine, make_session_factory
from services.common.events import CONTENT_TYPE, new_event
from services.common.outbox import UnitOfWork, plumbing_tables
from tests.broker_events import delete_consumer_queues


class World:
    """A consumer's database: plumbing tables plus a counter per subject its handler bumps."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        metadata = MetaData()
        self.outbox, self.inbox = plumbing_tables(metadata)
        self.counters = Table(
            "counters",
            metadata,
            Column("subject", String(100), primary_key=True),
            Column("n", Integer, nullable=False),
        )
        metadata.create_all(self.engine)
        self.sessions = make_session_factory(self.engine)
        self.calls: Counter[str] = Counter()
        # subject -> "fail" (transient), "permanent", or seconds to work
        self.behaviour: dict[str, object] = {}
        self.started = threading.Event()
        self.units: list[UnitOfWork] = []  # the unit of work of every handler call

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.outbox)

    def handler(self, uow: UnitOfWork, envelope: dict) -> None:
        self.calls[envelope["id"]] += 1
        self.units.append(uow)
        self.started.set()
        subject = envelope["subject"]
        mode = self.behaviour.get(subject)
        if mode == "fail":
            raise RuntimeError("the handler's dependency is down")
        if mode == "permanent":
            raise PermanentError("report state unknown to this consumer")
        if isinstance(mode, int | float):
            time.sleep(mode)
        uow.session.execute(
            update(self.counters)
            .where(self.counters.c.subject == subject)
            .values(n=self.counters.c.n + 1)
        )

    def add_subjects(self, *subjects: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(self.counters), [{"subject": s, "n": 0} for s in subjects])

    def counter(self, subject: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(self.counters.c.n).where(self.counters.c.subject == subject)
            ).scalar()

    def inbox_rows(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(self.inbox)).scalar()


@pytest.fixture
def world(database_url):
    w = World(database_url)
    yield w
    w.engine.dispose()


@pytest.fixture
def sqlite_world(sqlite_url):
    w = World(sqlite_url)
    yield w
    w.engine.dispose()


@pytest.fixture
def publisher(amqp_url, unique):
    """Publishes, confirmed, to a private events exchange, so the test's events reach no
    real subscriber of the shared broker; the exchange is deleted after the test."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    exchange = f"test.events.{unique}"
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    channel.confirm_delivery()

    def publish(routing_key: str, body: bytes | str, message_id: str) -> None:
        channel.basic_publish(
            exchange,
            routing_key,
            body.encode() if isinstance(body, str) else body,
            pika.BasicProperties(delivery_mode=2, message_id=message_id, content_type=CONTENT_TYPE),
            mandatory=True,
        )

    publish.channel = channel
    yield publish
    channel.exchange_delete(exchange)
    connection.close()


@pytest.fixture
def consumers(amqp_url):
    """Starts consumers on threads; stops them and deletes their queues after the test."""
    running: list[tuple[EventConsumer, threading.Event, threading.Thread]] = []

    def start(consumer: EventConsumer) -> tuple[threading.Event, threading.Thread]:
        stop = threading.Event()
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        assert consumer.ready.wait(15), "consumer did not start"
        running.append((consumer, stop, thread))
        return stop, thread

    yield start
    for _, stop, thread in running:
        stop.set()
        thread.join(30)
    delete_consumer_queues(*(consumer for consumer, _, _ in running))


def make_consumer(world: World, amqp_url: str, unique: str, **options) -> EventConsumer:
    queue = f"test.consumer.{unique}"
    options.setdefault("retry_delay", 0.05)
    options.setdefault("max_backoff", 0.2)
    return EventConsumer(
        name=queue,
        queue=queue,
        bindings=[f"t{unique}.#"],
        handler=world.handler,
        uow_factory=world.uow,
        inbox=world.inbox,
        amqp_url=amqp_url,
        exchange=f"test.events.{unique}",
        **options,
    )


def event(unique: str, subject: str, **data):
    return new_event(f"t{unique}", "report", "verified", subject=subject, opd="dinkes", data=data)


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# -- tests --------------------------------------------------------------------------------


def test_the_same_event_delivered_twice_has_one_effect(
    world, publisher, consumers, amqp_url, unique
):
    world.add_subjects("reports/1", "reports/sentinel")
    consumer = make_consumer(world, amqp_url, unique)
    consumers(consumer)
    twice = event(unique, "reports/1", state="verified")
    publisher(twice.routing_key, twice.to_json(), twice.id)
    publisher(twice.routing_key, twice.to_json(), twice.id)
    sentinel = event(unique, "reports/sentinel")
    publisher(sentinel.routing_key, sentinel.to_json(), sentinel.id)

    # Handled in arrival order: once the sentinel counts, both copies have been seen.
    wait_until(lambda: world.counter("reports/sentinel") == 1)
    assert world.counter("reports/1") == 1
    assert world.calls[twice.id] == 1  # the second copy never reached the handler
    assert world.inbox_rows() == 2


def test_a_message_that_always_fails_is_dead_lettered_after_the_delivery_limit(
    sqlite_world, publisher, consumers, amqp_url, unique
):
    world = sqlite_world
    world.add_subjects("reports/poison", "reports/good")
    world.behaviour["reports/poison"] = "fail"
    # One message per transaction, so every handler call below is one delivery.
    consumer = make_consumer(world, amqp_url, unique, delivery_limit=2, max_group=1)
    consumers(consumer)
    poison = event(unique, "reports/poison")
    good = event(unique, "reports/good")
    publisher(poison.routing_key, poison.to_json(), poison.id)
    publisher(good.routing_key, good.to_json(), good.id)

    wait_until(lambda: world.counter("reports/good") == 1)
    wait_until(lambda: len(deadletters.list_dead(amqp_url, consumer.queue)) == 1)
    # RabbitMQ's limit counts returns: the first delivery plus `delivery_limit` retries.
    assert world.calls[poison.id] == 3
    assert world.counter("reports/poison") == 0
    [dead] = deadletters.list_dead(amqp_url, consumer.queue)
    assert dead["message_id"] == poison.id
    assert dead["reason"] == "delivery_limit"
    assert dead["routing_key"] == poison.routing_key
    assert dead["type"] == poison.type and dead["subject"] == "reports/poison"
    assert dead["queue"] == consumer.queue
    # Listing is non-destructive.
    assert len(deadletters.list_dead(amqp_url, consumer.queue)) == 1


def test_malformed_or_permanently_failing_messages_are_dead_lettered_at_once_with_reason(
    sqlite_world, publisher, consumers, amqp_url, unique
):
    world = sqlite_world
    world.add_subjects("reports/bad", "reports/good")
    world.behaviour["reports/bad"] = "permanent"
    consumer = make_consumer(world, amqp_url, unique, delivery_limit=5)
    consumers(consumer)
    routing_key = f"t{unique}.report.verified.dinkes"
    publisher(routing_key, b"{this is not json", "broken-1")
    rejected = event(unique, "reports/bad")
    publisher(rejected.routing_key, rejected.to_json(), rejected.id)
    good = event(unique, "reports/good")
    publisher(good.routing_key, good.to_json(), good.id)

    wait_until(lambda: world.counter("reports/good") == 1)
    wait_until(lambda: len(deadletters.list_dead(amqp_url, consumer.queue)) == 2)

    [broken] = deadletters.show(amqp_url, consumer.queue, "broken-1")
    assert broken["reason"].startswith("malformed envelope: body is not JSON")
    assert broken["headers"]["x-original-routing-key"] == routing_key
    assert broken["headers"]["x-original-queue"] == consumer.queue
    assert broken["envelope"] == "{this is not json"
    [permanent] = deadletters.show(amqp_url, consumer.queue, rejected.id)
    assert permanent["reason"] == "PermanentError: report state unknown to this consumer"
    assert permanent["envelope"]["id"] == rejected.id
    # Dead-lettered by the consumer on its first delivery, not by the broker's limit.
    assert "x-death" not in permanent["headers"]


def test_replay_returns_a_dead_letter_to_its_queue_once_the_handler_is_fixed(
    world, publisher, consumers, amqp_url, unique, capsys, monkeypatch
):
    world.add_subjects("reports/7")
    world.behaviour["reports/7"] = "permanent"
    consumer = make_consumer(world, amqp_url, unique)
    consumers(consumer)
    stuck = event(unique, "reports/7", state="verified")
    publisher(stuck.routing_key, stuck.to_json(), stuck.id)
    wait_until(lambda: len(deadletters.list_dead(amqp_url, consumer.queue)) == 1)
    assert world.counter("reports/7") == 0

    monkeypatch.setenv("AMQP_URL", amqp_url)
    assert deadletters.main(["list", "--queue", consumer.queue]) == 0
    table = capsys.readouterr().out
    assert "MESSAGE_ID" in table and stuck.id in table and "PermanentError" in table
    assert deadletters.main(["list", "--queue", consumer.queue, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["message_id"] == stuck.id
    assert deadletters.main(["replay", "--queue", consumer.queue, "--id", "no-such-id"]) == 1
    capsys.readouterr()

    world.behaviour.pop("reports/7")  # the fix is deployed
    assert deadletters.replay(amqp_url, consumer.queue, stuck.id) == 1
    wait_until(lambda: world.counter("reports/7") == 1)
    assert deadletters.list_dead(amqp_url, consumer.queue) == []

    # Purge removes dead letters for good.
    publisher(stuck.routing_key, b"[]", "broken-2")
    wait_until(lambda: len(deadletters.list_dead(amqp_url, consumer.queue)) == 1)
    assert deadletters.main(["purge", "--queue", consumer.queue, "--all"]) == 0
    assert "purged 1 message(s)" in capsys.readouterr().out
    assert deadletters.list_dead(amqp_url, consumer.queue) == []


def test_a_slow_handler_keeps_its_connection_and_stop_finishes_it(
    sqlite_world, publisher, consumers, amqp_url, unique, caplog
):
    """The handler outlives several heartbeat intervals (a connection left unserviced that
    long is dropped by the broker), yet its ack reaches the broker; a stop requested
    meanwhile waits for the handler, acks, and closes cleanly."""
    caplog.set_level(logging.WARNING, logger="services.common.consumer")
    world = sqlite_world
    world.add_subjects("reports/slow")
    world.behaviour["reports/slow"] = 4.0
    consumer = make_consumer(world, f"{amqp_url}?heartbeat=1", unique)
    stop, thread = consumers(consumer)
    slow = event(unique, "reports/slow")
    publisher(slow.routing_key, slow.to_json(), slow.id)

    assert world.started.wait(10)
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    assert world.counter("reports/slow") == 1
    assert not [r for r in caplog.records if "lost the broker" in r.getMessage()]
    # Acked before the connection closed: nothing went back to the queue.
    declared = publisher.channel.queue_declare(consumer.queue, passive=True)
    assert declared.method.message_count == 0


def test_consumer_reconnects_when_the_broker_closes_its_connection(
    sqlite_world, publisher, consumers, amqp_url, unique, close_broker_connections
):
    world = sqlite_world
    world.add_subjects("reports/a", "reports/b")
    consumer = make_consumer(world, amqp_url, unique)
    consumers(consumer)
    first = event(unique, "reports/a")
    publisher(first.routing_key, first.to_json(), first.id)
    wait_until(lambda: world.counter("reports/a") == 1)

    assert close_broker_connections(f"consumer {consumer.name}") == 1
    second = event(unique, "reports/b")
    publisher(second.routing_key, second.to_json(), second.id)
    wait_until(lambda: world.counter("reports/b") == 1)
    assert world.counter("reports/a") == 1


def test_waiting_messages_share_a_commit_and_a_failure_among_them_costs_no_other_effect(
    world, publisher, consumers, amqp_url, unique
):
    subjects = [f"reports/{i}" for i in range(40)]
    world.add_subjects("reports/first", *subjects)
    world.behaviour["reports/first"] = 0.5  # holds the worker while the rest pile up
    world.behaviour["reports/13"] = "permanent"
    consumer = make_consumer(world, amqp_url, unique)
    consumers(consumer)
    first = event(unique, "reports/first")
    publisher(first.routing_key, first.to_json(), first.id)
    events = [event(unique, subject) for subject in subjects]
    for e in events:
        publisher(e.routing_key, e.to_json(), e.id)
    publisher(events[5].routing_key, events[5].to_json(), events[5].id)  # a duplicate

    wait_until(lambda: world.counter("reports/39") == 1)
    wait_until(lambda: len(deadletters.list_dead(amqp_url, consumer.queue)) == 1)
    for e in events:
        assert world.counter(e.subject) == (0 if e.subject == "reports/13" else 1), e.subject
    [dead] = deadletters.list_dead(amqp_url, consumer.queue)
    assert dead["message_id"] == events[13].id
    # Fewer transactions than handler calls: the waiting messages were grouped.
    assert len({id(u) for u in world.units}) < len(world.units) - 10


def test_the_inbox_takes_a_group_in_one_go_and_keeps_each_id_whole(world, amqp_url, unique):
    """A group's ids go in together: each new one once, those already in (or twice in the
    group) not again. An id longer than the column is refused, never cut short: cut, two
    events sharing the first 64 characters would be one, and the second never handled."""
    consumer = make_consumer(world, amqp_url, unique)
    with world.uow() as uow:
        assert consumer._record_all_in_inbox(uow.session, ["e1", "e2", "e1"]) == {"e1", "e2"}
        assert consumer._record_all_in_inbox(uow.session, ["e2", "e3"]) == {"e3"}
        uow.commit()
    assert world.inbox_rows() == 3
    if world.engine.dialect.name == "postgresql":  # SQLite keeps any length in a VARCHAR
        with world.uow() as uow, pytest.raises(DataError, match="too long"):
            consumer._record_all_in_inbox(uow.session, ["x" * 65])
