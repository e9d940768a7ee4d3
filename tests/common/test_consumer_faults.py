"""Consumers under faults: a database that goes away, bodies no parser reads, values that
can never fit, a handler that keeps failing, a broker that comes back. Real RabbitMQ, real
PostgreSQL and SQLite."""

# The fixtures of test_consumer are imported by name, which the test arguments then shadow.
# ruff: noqa: F811

from __future__ import annotations

import json
import logging
import threading
import time

import psycopg
import pytest
from sqlalchemy import insert

from services.common import deadletters
from services.common.consumer import RECONNECT_BACKOFF_CAP, EventConsumer, body_id
from tests.common.proxy_support import TcpProxy
from tests.common.test_consumer import (  # noqa: F401 - fixtures
    World,
    consumers,
    event,
    make_consumer,
    publisher,
    sqlite_world,
    wait_until,
    world,
)
from tests.conftest import PG_ADMIN_URL, free_port

NESTED = b"[" * 5000 + b"]" * 5000


class FaultWorld(World):
    """A World whose handler can also write a value no column holds."""

    def handler(self, uow, envelope):
        if self.behaviour.get(envelope["subject"]) == "too_long":
            self.calls[envelope["id"]] += 1
            uow.session.execute(insert(self.counters).values(subject="x" * 300, n=0))
            return
        super().handler(uow, envelope)


def publish_event(publisher, e) -> None:
    publisher(e.routing_key, e.to_json(), e.id)


def dead_letters(amqp_url, consumer):
    return deadletters.list_dead(amqp_url, consumer.queue)


# -- 17: a body no parser reads ----------------------------------------------------------


def test_a_body_nested_too_deep_is_dead_lettered_alone_and_the_tool_shows_it(
    sqlite_world, publisher, consumers, amqp_url, unique, capsys, monkeypatch
):
    world = sqlite_world
    subjects = [f"reports/{i}" for i in range(20)]
    world.add_subjects("reports/first", *subjects)
    world.behaviour["reports/first"] = 0.5  # the rest pile up and arrive as one group
    consumer = make_consumer(world, amqp_url, unique)
    consumers(consumer)
    routing_key = f"t{unique}.report.verified.dinkes"
    publish_event(publisher, event(unique, "reports/first"))
    good = [event(unique, s) for s in subjects]
    for e in good[:10]:
        publish_event(publisher, e)
    publisher(routing_key, NESTED, "poison-1")
    # A second one without a message id: it is still named, by its body's digest.
    publisher.channel.basic_publish(
        f"test.events.{unique}", routing_key, b"{" * 3000 + b"\xff", mandatory=True
    )
    for e in good[10:]:
        publish_event(publisher, e)

    wait_until(lambda: all(world.counter(e.subject) == 1 for e in good))
    wait_until(lambda: len(dead_letters(amqp_url, consumer)) == 2)
    listed = {row["message_id"]: row for row in dead_letters(amqp_url, consumer)}
    unnamed = body_id(b"{" * 3000 + b"\xff")
    assert set(listed) == {"poison-1", unnamed}
    for row in listed.values():
        assert row["reason"].startswith("malformed envelope: body is not JSON")
        assert row["count"] == 1 and row["type"] is None

    monkeypatch.setenv("AMQP_URL", amqp_url)
    assert deadletters.main(["list", "--queue", consumer.queue]) == 0
    assert "poison-1" in capsys.readouterr().out
    assert deadletters.main(["list", "--queue", consumer.queue, "--json"]) == 0
    assert {row["message_id"] for row in json.loads(capsys.readouterr().out)} == set(listed)
    assert deadletters.main(["show", "--queue", consumer.queue, "--id", "poison-1"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["envelope"] == NESTED.decode()
    assert shown["headers"]["x-original-routing-key"] == routing_key
    assert deadletters.main(["show", "--queue", consumer.queue, "--id", unnamed]) == 0
    capsys.readouterr()


# -- 18: what can never succeed is refused at once; a retry never holds the others -------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": "x" * 65}, "id has 65 characters, more than 64"),
        ({"type": "t.report." + "a" * 250}, "type has 259 characters, more than 255"),
        ({"subject": "reports/" + "9" * 250}, "subject has 258 characters"),
        ({"time": "9999-12-31T23:59:59-01:00"}, "out of range"),
        ({"time": "0001-01-02T00:00:00Z"}, "outside 1970-2999"),
        ({"opd": "Dinas Kesehatan"}, "opd 'Dinas Kesehatan' is not well formed"),
    ],
)
def test_an_envelope_that_can_never_be_stored_is_dead_lettered_at_once_and_holds_no_one(
    world, publisher, consumers, amqp_url, unique, change, reason
):
    world.add_subjects("reports/bad", "reports/good")
    # A retry would pause a whole second: the good event must not wait for it.
    consumer = make_consumer(world, amqp_url, unique, retry_delay=1.0, max_backoff=1.0, max_group=1)
    consumers(consumer)
    bad = event(unique, "reports/bad")
    body = {**bad.envelope(), **change}
    publisher(bad.routing_key, json.dumps(body), bad.id)
    sent = time.monotonic()
    publish_event(publisher, event(unique, "reports/good"))

    wait_until(lambda: world.counter("reports/good") == 1, timeout=5)
    assert time.monotonic() - sent < 2.0
    wait_until(lambda: len(dead_letters(amqp_url, consumer)) == 1)
    [shown] = deadletters.show(amqp_url, consumer.queue, bad.id)
    assert shown["reason"].startswith("malformed envelope: ")
    assert reason in shown["reason"]
    assert "x-death" not in shown["headers"]  # the consumer's verdict, not the delivery limit
    assert world.counter("reports/bad") == 0 and world.inbox_rows() == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_value_the_database_refuses_as_data_is_dead_lettered_on_its_first_delivery(
    database_url, publisher, consumers, amqp_url, unique
):
    world = FaultWorld(database_url)
    try:
        world.add_subjects("reports/long", "reports/good")
        world.behaviour["reports/long"] = "too_long"
        consumer = make_consumer(world, amqp_url, unique, delivery_limit=5, max_group=1)
        consumers(consumer)
        long = event(unique, "reports/long")
        publish_event(publisher, long)
        publish_event(publisher, event(unique, "reports/good"))

        wait_until(lambda: world.counter("reports/good") == 1)
        wait_until(lambda: len(dead_letters(amqp_url, consumer)) == 1)
        [shown] = deadletters.show(amqp_url, consumer.queue, long.id)
        assert shown["reason"].startswith("DataError: ")
        assert world.calls[long.id] == 1
    finally:
        world.engine.dispose()


def test_a_failing_message_waits_for_its_retry_without_holding_the_messages_behind_it(
    sqlite_world, publisher, consumers, amqp_url, unique
):
    world = sqlite_world
    world.add_subjects("reports/flaky", "reports/good")
    world.behaviour["reports/flaky"] = "fail"
    consumer = make_consumer(
        world, amqp_url, unique, delivery_limit=1, retry_delay=3.0, max_backoff=3.0, max_group=1
    )
    consumers(consumer)
    flaky = event(unique, "reports/flaky")
    publish_event(publisher, flaky)
    wait_until(lambda: world.calls[flaky.id] == 1)
    sent = time.monotonic()
    publish_event(publisher, event(unique, "reports/good"))

    wait_until(lambda: world.counter("reports/good") == 1, timeout=5)
    assert time.monotonic() - sent < 1.5, "the good event waited for the failing one's pause"
    assert world.calls[flaky.id] == 1  # its retry is still pending
    # The retries still happen, paused, and the delivery limit still ends them.
    wait_until(lambda: len(dead_letters(amqp_url, consumer)) == 1, timeout=20)
    assert world.calls[flaky.id] == 2
    [dead] = dead_letters(amqp_url, consumer)
    assert dead["reason"] == "delivery_limit"


# -- 16: the database goes away -----------------------------------------------------------


def _allow_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


def test_a_database_outage_holds_the_messages_until_it_is_back_and_dead_letters_none(
    pg_url, publisher, consumers, amqp_url, unique, caplog
):
    caplog.set_level(logging.INFO, logger="services.common.consumer")
    database = pg_url.rsplit("/", 1)[1]
    world = World(pg_url)
    try:
        subjects = [f"reports/{i}" for i in range(12)]
        world.add_subjects(*subjects)
        # One return allowed, retried after 50 ms: without holding, the outage below would
        # spend every delivery in well under a second.
        consumer = make_consumer(
            world, amqp_url, unique, delivery_limit=1, retry_delay=0.05, max_backoff=0.5
        )
        consumers(consumer)
        events = [event(unique, s) for s in subjects]
        publish_event(publisher, events[0])
        wait_until(lambda: world.counter(events[0].subject) == 1)

        _allow_connections(database, False)
        try:
            for e in events[1:]:
                publish_event(publisher, e)
            wait_until(lambda: consumer.database_down, timeout=10)
            time.sleep(4)  # many retry pauses and probes long
            assert dead_letters(amqp_url, consumer) == []
            assert consumer.ready.is_set()
        finally:
            _allow_connections(database, True)

        wait_until(lambda: all(world.counter(e.subject) == 1 for e in events), timeout=20)
        assert not consumer.database_down
        assert dead_letters(amqp_url, consumer) == []
        messages = [r.getMessage() for r in caplog.records if r.name == "services.common.consumer"]
        assert len([m for m in messages if "cannot reach its database" in m]) == 1
        assert len([m for m in messages if "reaches its database again" in m]) == 1
        assert not [m for m in messages if "failed on" in m], "no delivery was spent"
    finally:
        world.engine.dispose()


# -- 21: the broker comes back ------------------------------------------------------------


def test_a_returning_broker_is_used_within_the_capped_backoff_with_one_line_per_attempt(
    sqlite_world, publisher, amqp_url, unique, caplog
):
    caplog.set_level(logging.INFO)
    assert RECONNECT_BACKOFF_CAP <= 5.0
    port = free_port()
    proxy = TcpProxy(5672, port)
    proxied = amqp_url.replace("127.0.0.1:5672", f"127.0.0.1:{port}")
    world = sqlite_world
    world.add_subjects("reports/1")
    queue = f"test.consumer.{unique}"
    consumer = EventConsumer(
        name=queue, queue=queue, bindings=[f"t{unique}.#"], handler=world.handler,
        uow_factory=world.uow, inbox=world.inbox, amqp_url=proxied,
        exchange=f"test.events.{unique}",
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        # Down for 16 s: attempts at 0, 0.5, 1.5, 3.5, 7.5, 12.5 s; a doubling pause capped
        # at 30 s would next try at 15.5 and then 31.5 s.
        time.sleep(16)
        attempts = [r for r in caplog.records if "lost the broker" in r.getMessage()]
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(attempts) >= 5
        assert loud == attempts, [(r.name, r.getMessage()[:80]) for r in loud if r not in attempts]
        proxy.start()
        back = time.monotonic()
        assert consumer.ready.wait(RECONNECT_BACKOFF_CAP + 1.5)
        assert time.monotonic() - back <= RECONNECT_BACKOFF_CAP + 1.0
        e = event(unique, "reports/1")
        publish_event(publisher, e)
        wait_until(lambda: world.counter("reports/1") == 1)

        # A connection that is lost is one line too, not pika's four.
        caplog.clear()
        proxy.stop()
        time.sleep(2)
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert loud and all(r.name == "services.common.consumer" for r in loud), [
            (r.name, r.getMessage()[:80]) for r in loud
        ]
    finally:
        stop.set()
        thread.join(20)
        proxy.stop()
        channel = publisher.channel
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.dead")


def test_a_relay_that_cannot_reach_the_broker_logs_one_line_per_attempt(sqlite_url, caplog):
    from sqlalchemy import MetaData

    from services.common.consumer import quiet_pika_connection_errors
    from services.common.db import make_engine, make_session_factory
    from services.common.events import new_event
    from services.common.outbox import UnitOfWork, plumbing_tables
    from services.common.relay import OutboxRelay

    caplog.set_level(logging.INFO)
    metadata = MetaData()
    outbox, _inbox = plumbing_tables(metadata)
    engine = make_engine(sqlite_url)
    metadata.create_all(engine)
    with UnitOfWork(make_session_factory(engine), outbox) as uow:
        uow.publish(new_event("tfault", "report", "verified", subject="reports/1", opd=None))
        uow.commit()
    quiet_pika_connection_errors()  # as the worker does
    relay = OutboxRelay(engine, outbox, f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F",
                        max_backoff=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(2)
    stop.set()
    thread.join(10)
    engine.dispose()
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) >= 3
    assert all(r.name == "services.common.relay" for r in loud), [
        (r.name, r.getMessage()[:80]) for r in loud
    ]


def test_a_consumer_that_loses_the_broker_during_an_outage_takes_nothing_until_the_database_answers(
    pg_url, publisher, consumers, amqp_url, unique, close_broker_connections
):
    database = pg_url.rsplit("/", 1)[1]
    world = World(pg_url)
    try:
        subjects = [f"reports/{i}" for i in range(6)]
        world.add_subjects(*subjects)
        consumer = make_consumer(
            world, amqp_url, unique, delivery_limit=1, retry_delay=0.05, max_backoff=0.5
        )
        consumers(consumer)
        events = [event(unique, s) for s in subjects]
        _allow_connections(database, False)
        try:
            for e in events:
                publish_event(publisher, e)
            wait_until(lambda: consumer.database_down, timeout=10)
            # The held messages go back to the queue with the connection (one return each)...
            assert close_broker_connections(f"consumer {consumer.name}") == 1
            time.sleep(3)
            # ... and the consumer does not take them again while the database is away.
            assert not consumer.ready.is_set()
            declared = publisher.channel.queue_declare(consumer.queue, passive=True)
            assert declared.method.message_count == len(events)
            assert declared.method.consumer_count == 0
        finally:
            _allow_connections(database, True)

        wait_until(lambda: all(world.counter(e.subject) == 1 for e in events), timeout=20)
        assert dead_letters(amqp_url, consumer) == []
    finally:
        world.engine.dispose()
