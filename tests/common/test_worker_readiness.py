"""/readyz tells the truth about the broker and the consumers: the worker's parts write
heartbeats to the service's database and the web process reads them. Real RabbitMQ, real
databases; the worker's parts run on threads, as `run_worker` runs them."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pika
import pytest
from sqlalchemy import MetaData, insert

from services.common import heartbeat
from services.common.calendar_sync import calendar_state_table
from services.common.consumer import EventConsumer
from services.common.events import CONTENT_TYPE, new_event
from services.common.heartbeat import HeartbeatWriter, heartbeat_table
from services.common.http import create_flask_app
from services.common.outbox import plumbing_tables
from services.common.relay import OutboxRelay
from services.common.worker import run_worker
from tests.conftest import free_port

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)
heartbeats = heartbeat_table(metadata)


@pytest.fixture(autouse=True)
def quick_beats(monkeypatch):
    monkeypatch.setattr(heartbeat, "BEAT_SECONDS", 0.1)
    monkeypatch.setattr(heartbeat, "STALE_SECONDS", 2.0)
    monkeypatch.setattr(heartbeat, "STALL_SECONDS", 1.0)


@pytest.fixture
def service(database_url, make_chassis_runtime):
    rt = make_chassis_runtime(metadata, database_url)
    return rt, create_flask_app(rt, title="Test", description="test", blueprints=[]).test_client()


@pytest.fixture
def threads():
    running: list[tuple[threading.Event, threading.Thread]] = []

    def start(target) -> threading.Event:
        stop = threading.Event()
        thread = threading.Thread(target=target, args=(stop,), daemon=True)
        thread.start()
        running.append((stop, thread))
        return stop

    yield start
    for stop, thread in running:
        stop.set()
        thread.join(timeout=30)


def readyz(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.get_json()["checks"]


def wait_for(client, condition, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, checks = readyz(client)
        if condition(status, checks):
            return checks
        assert time.monotonic() < deadline, (status, checks)
        time.sleep(0.05)


def parts_of(checks: dict) -> dict[str, str]:
    return {name: report["state"] for name, report in checks["worker"].get("parts", {}).items()}


@pytest.fixture
def broker(amqp_url, unique):
    """A private exchange and the queue names of this test, deleted afterwards."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    exchange = f"test.events.{unique}"
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queues: list[str] = []
    yield exchange, channel, queues
    for queue in queues:
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.dead")
    channel.exchange_delete(exchange)
    connection.close()


def _consumer(rt, amqp_url: str, exchange: str, queue: str, handler) -> EventConsumer:
    return EventConsumer(name=queue, queue=queue, bindings=[f"{queue}.#"], handler=handler,
                         uow_factory=rt.uow, inbox=rt.inbox, amqp_url=amqp_url, exchange=exchange)


def _start_worker_parts(rt, threads, amqp_url, exchange, queue, handler):
    consumer = _consumer(rt, amqp_url, exchange, queue, handler)
    relay = OutboxRelay(rt.engine, rt.outbox, amqp_url, exchange=exchange, poll_seconds=0.05)
    writer = HeartbeatWriter(rt.engine, heartbeats, heartbeat.worker_parts(relay, [consumer]))
    threads(relay.run)
    consumer_stop = threads(consumer.run)
    threads(writer.run)
    return consumer_stop


def test_ready_only_while_the_relay_and_every_consumer_are_connected(
    service, broker, threads, amqp_url, unique
):
    rt, client = service
    exchange, _channel, queues = broker
    status, checks = readyz(client)
    assert status == 503 and "no worker heartbeat" in checks["worker"]["status"]

    queue = f"test.heartbeat.{unique}"
    queues.append(queue)
    consumer_stop = _start_worker_parts(rt, threads, amqp_url, exchange, queue, lambda _uow, _e: None)
    checks = wait_for(client, lambda status, _checks: status == 200)
    assert parts_of(checks) == {"relay": "ok", f"consumer:{queue}": "ok"}
    assert checks["worker"]["workers"] == 1

    # A consumer that lost the broker: not ready at once, however fresh the outbox.
    consumer_stop.set()
    checks = wait_for(
        client, lambda status, c: status == 503 and parts_of(c).get(f"consumer:{queue}") == "disconnected"
    )
    assert parts_of(checks)["relay"] == "ok"
    assert checks["outbox"]["unsent"] == 0 and "status" not in checks["outbox"]


@pytest.fixture
def pg_service(pg_url, make_chassis_runtime):
    rt = make_chassis_runtime(metadata, pg_url)
    return rt, create_flask_app(rt, title="Test", description="test", blueprints=[]).test_client()


def test_a_consumer_holding_one_message_too_long_is_stalled(pg_service, broker, threads, amqp_url, unique):
    """On PostgreSQL: on SQLite a handler that holds its transaction holds the database's one
    write lock, and every other part waits for it (the web's /readyz included)."""
    rt, client = pg_service
    exchange, channel, queues = broker
    release, holding = threading.Event(), threading.Event()

    def slow_handler(_uow, envelope):
        holding.set()
        release.wait(30)

    queue = f"test.heartbeat.{unique}"
    queues.append(queue)
    _start_worker_parts(rt, threads, amqp_url, exchange, queue, slow_handler)
    wait_for(client, lambda status, _checks: status == 200)

    event = new_event("test", "thing", "created", subject="things/slow", opd=None)
    channel.basic_publish(exchange, f"{queue}.thing.created.none", event.to_json(),
                          pika.BasicProperties(message_id=event.id, content_type=CONTENT_TYPE))
    assert holding.wait(20)
    checks = wait_for(
        client, lambda status, c: status == 503 and parts_of(c).get(f"consumer:{queue}") == "stalled"
    )
    assert parts_of(checks)["relay"] == "ok"
    release.set()
    checks = wait_for(client, lambda status, _checks: status == 200)
    assert parts_of(checks)[f"consumer:{queue}"] == "ok"


def test_a_connected_relay_that_leaves_the_outbox_waiting_is_stalled(service, broker, threads, amqp_url):
    """An event no queue takes comes back to the relay and waits in the outbox: the relay is
    connected, yet nothing leaves; after the stall limit the service is not ready."""
    rt, client = service
    exchange, _channel, _queues = broker
    relay = OutboxRelay(rt.engine, rt.outbox, amqp_url, exchange=exchange, poll_seconds=0.05)
    threads(HeartbeatWriter(rt.engine, heartbeats, [heartbeat.relay_part(relay)]).run)
    threads(relay.run)
    wait_for(client, lambda status, _checks: status == 200)
    with rt.uow() as uow:
        uow.publish(new_event("test", "thing", "created", subject="things/1", opd=None))
        uow.commit()
    checks = wait_for(client, lambda status, c: status == 503 and parts_of(c).get("relay") == "stalled")
    assert checks["outbox"]["unsent"] == 1 and "status" not in checks["outbox"]


def test_run_worker_writes_heartbeats_and_a_worker_that_stops_writing_is_not_ready(
    service, make_chassis_runtime, database_url
):
    rt, client = service
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    worker_rt = make_chassis_runtime(metadata, database_url, migrated=False, AMQP_URL=closed)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(worker_rt,), kwargs={"stop": stop}, daemon=True)
    worker.start()
    try:
        checks = wait_for(client, lambda status, c: bool(parts_of(c)))
        assert parts_of(checks) == {"relay": "disconnected", "consumer:test.calendar": "disconnected"}
    finally:
        stop.set()
        worker.join(timeout=30)
    # A clean stop removes the worker's rows at once.
    status, checks = readyz(client)
    assert status == 503 and "no worker heartbeat" in checks["worker"]["status"]

    # A worker killed with -9 leaves its rows; once stale they no longer count.
    beat = datetime.now(UTC) - timedelta(seconds=heartbeat.STALE_SECONDS + 1)
    with rt.engine.begin() as conn:
        conn.execute(insert(heartbeats).values(instance="gone:1", part="relay", state="ok",
                                               since=beat, beat_at=beat))
    status, checks = readyz(client)
    assert status == 503 and "no worker heartbeat" in checks["worker"]["status"]
