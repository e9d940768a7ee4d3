"""The outbox relay against the real broker and both databases."""

from __future__ import annotations

import ast
import inspect
import json
import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from services.common import relay as relay_module
from services.common.consumer import EventConsumer
from services.common.events import CONTENT_TYPE, new_event
from services.common.relay import ConfirmTimeout, OutboxRelay

# -- helpers ------------------------------------------------------------------------------


def read_queue(channel, queue: str, expected: int, timeout: float = 30.0) -> list:
    """Every message in the queue, in order: stops once `expected` arrived and it goes quiet."""
    messages = []
    deadline = time.monotonic() + timeout
    for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.5):
        if method is None:
            if len(messages) >= expected or time.monotonic() > deadline:
                break
            continue
        messages.append((method, properties, body))
    channel.cancel()
    return messages


def assert_all_arrived_in_order(broker, queue: str, produced: list[str]) -> tuple[int, int, int]:
    """Every event arrived, each subject's first deliveries in order; returns the number of
    deliveries, of duplicates among them and of subjects."""
    bodies = [json.loads(body) for _, _, body in read_queue(broker, queue, expected=len(produced))]
    received = [b["id"] for b in bodies]
    assert set(received) == set(produced), "an event was lost"
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for b in bodies:
        if b["id"] not in seen:
            seen.add(b["id"])
            first_seen[b["subject"]].append(b["data"]["seq"])
    for subject, seqs in first_seen.items():
        assert seqs == sorted(seqs), f"events of {subject} were reordered"
    return len(received), len(received) - len(seen), len(first_seen)


def wait_until(condition, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def event(service: str, subject: str = "reports/LPR-2026-000001", **data):
    return new_event(service, "report", "dispatched", subject=subject, opd="dinkes", data=data)


def commit_numbered(plumbing, service: str, start: int, count: int, subjects: int) -> list[str]:
    """Commits the events numbered `start` on (`seq`) in one transaction, taking turns over
    `subjects` subjects so each subject's order can be checked; returns their ids."""
    batch = [
        event(service, subject=f"reports/{i % subjects}", seq=i) for i in range(start, start + count)
    ]
    plumbing.commit_events(*batch)
    return [e.id for e in batch]


def run_in_thread(relay: OutboxRelay):
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


# -- tests --------------------------------------------------------------------------------


def test_only_committed_events_are_published_exactly_once(plumbing, broker, amqp_url, unique):
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.{unique}")
    relay = OutboxRelay(plumbing.engine, plumbing.outbox, amqp_url, exchange=broker.exchange)
    try:
        with plumbing.uow() as uow:
            uow.publish(event(service, note="rolled back"))
            # leaving without commit() discards the event with the transaction
        assert plumbing.count() == 0
        assert relay.relay_once() == 0
        assert relay.backlog() == (0, None)

        kept = event(service, state="dispatched")
        plumbing.commit_events(kept)
        count, oldest = relay.backlog()
        assert count == 1 and oldest is not None and oldest.tzinfo is not None
        assert relay.relay_once() == 1
        assert relay.relay_once() == 0
        assert relay.backlog() == (0, None)
    finally:
        relay.close()

    messages = read_queue(broker, queue, expected=1, timeout=5)
    assert len(messages) == 1
    method, properties, body = messages[0]
    assert method.routing_key == f"{service}.report.dispatched.dinkes"
    assert properties.message_id == kept.id
    assert properties.content_type == CONTENT_TYPE
    assert properties.delivery_mode == 2
    assert properties.timestamp and abs(properties.timestamp - time.time()) < 60
    assert json.loads(body) == json.loads(kept.to_json())


def test_no_event_lost_or_reordered_while_the_broker_connection_breaks(
    plumbing, broker, proxy, unique, caplog
):
    """10,000 events over 100 subjects, produced while the relay's connection is cut twice
    (once with the broker unreachable for a second)."""
    caplog.set_level(logging.WARNING, logger="services.common.relay")
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.{unique}")
    total, per_commit = 10_000, 100
    relay = OutboxRelay(
        plumbing.engine,
        plumbing.outbox,
        proxy.url(),
        exchange=broker.exchange,
        batch_size=200,
        poll_seconds=0.05,
        max_backoff=1.0,
    )
    stop, thread = run_in_thread(relay)
    produced: list[str] = []

    def produce():
        for start in range(0, total, per_commit):
            produced.extend(commit_numbered(plumbing, service, start, per_commit, subjects=100))
            time.sleep(0.03)  # a steady stream of work, spread over a few seconds

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        wait_until(lambda: plumbing.sent() >= 1500)
        proxy.cut(down_for=1.0)
        wait_until(lambda: plumbing.sent() >= 5000)
        proxy.cut()
        producer.join(60)
        assert not producer.is_alive()
        wait_until(lambda: relay.backlog()[0] == 0, timeout=60)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()

    # Duplicates are allowed (broker commit without a database commit), never losses.
    deliveries, duplicates, subjects = assert_all_arrived_in_order(broker, queue, produced)
    assert subjects == 100
    reconnects = [r for r in caplog.records if "broker unavailable" in r.getMessage()]
    assert proxy.cuts == 2 and reconnects, "the relay never saw the disruption"
    print(f"\n{deliveries} deliveries, {duplicates} duplicates, {len(reconnects)} retries")


def test_relay_carries_on_after_the_broker_closes_its_connection(
    sqlite_plumbing, broker, amqp_url, unique, close_broker_connections
):
    plumbing = sqlite_plumbing
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.{unique}")
    name = f"test-relay-{unique}"
    relay = OutboxRelay(
        plumbing.engine,
        plumbing.outbox,
        amqp_url,
        exchange=broker.exchange,
        poll_seconds=0.05,
        max_backoff=0.5,
        connection_name=name,
    )
    stop, thread = run_in_thread(relay)
    try:
        first = event(service, seq=1)
        plumbing.commit_events(first)
        wait_until(lambda: relay.backlog()[0] == 0)
        assert close_broker_connections(name) == 1
        second = event(service, seq=2)
        plumbing.commit_events(second)
        wait_until(lambda: relay.backlog()[0] == 0)
    finally:
        stop.set()
        thread.join(30)
        plumbing.engine.dispose()
    ids = [json.loads(body)["id"] for _, _, body in read_queue(broker, queue, expected=2)]
    assert ids == [first.id, second.id]


@pytest.mark.parametrize("exclusive", [False, True], ids=["shared-queue", "exclusive"])
def test_two_relays_on_postgresql_publish_each_row_once(
    pg_plumbing, broker, amqp_url, unique, exclusive
):
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.{unique}")
    total = 4000
    for start in range(0, total, 500):
        commit_numbered(pg_plumbing, service, start, 500, subjects=10)
    relays = [
        OutboxRelay(
            pg_plumbing.engine,
            pg_plumbing.outbox,
            amqp_url,
            batch_size=100,
            exclusive=exclusive,
            exchange=broker.exchange,
        )
        for _ in range(2)
    ]
    published = [0, 0]
    go = threading.Barrier(2)

    def work(i: int) -> None:
        go.wait()
        idle_since = None
        while True:
            sent = relays[i].relay_once()
            published[i] += sent
            if sent:
                idle_since = None
                continue
            time.sleep(0.02)
            if idle_since is None:
                idle_since = time.monotonic()
            elif (
                time.monotonic() - idle_since > 0.5
                and pg_plumbing.count(pg_plumbing.outbox.c.published_at.is_(None)) == 0
            ):
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert sum(published) == total
        if exclusive:
            # One relay held the lock and published everything; the other stood by...
            assert sorted(published) == [0, total]
            leader, standby = sorted(relays, key=lambda r: published[relays.index(r)])[::-1]
            late = [event(service, subject="reports/late", seq=total + i) for i in range(50)]
            pg_plumbing.commit_events(*late)
            assert standby.relay_once() == 0
            # ...and takes over once the leader goes away.
            leader.close()
            assert standby.relay_once() == 50
            total += 50
        else:
            assert min(published) > 0, f"one relay did all the work: {published}"
    finally:
        for relay in relays:
            relay.close()

    ids = Counter(json.loads(body)["id"] for _, _, body in read_queue(broker, queue, total))
    assert len(ids) == total and set(ids.values()) == {1}


def test_unroutable_event_stays_unsent_until_a_queue_is_bound(
    plumbing, broker, amqp_url, unique, caplog
):
    caplog.set_level(logging.WARNING, logger="services.common.relay")
    service = f"t{unique}"
    relay = OutboxRelay(
        plumbing.engine, plumbing.outbox, amqp_url, max_backoff=0.3, exchange=broker.exchange
    )
    try:
        orphan = event(service, seq=1)
        plumbing.commit_events(orphan)
        assert relay.relay_once() == 0
        assert relay.backlog()[0] == 1
        with plumbing.engine.connect() as conn:
            assert conn.execute(select(plumbing.outbox.c.attempts)).scalar() == 1
        assert any(f"{service}.report.dispatched.dinkes" in r.getMessage() for r in caplog.records)
        # Held back for a while: no hot loop of returns.
        assert relay.relay_once() == 0
        with plumbing.engine.connect() as conn:
            assert conn.execute(select(plumbing.outbox.c.attempts)).scalar() == 1

        queue = broker.make_queue(f"{service}.#", f"test.relay.{unique}")
        time.sleep(0.35)
        assert relay.relay_once() == 1
        assert relay.backlog() == (0, None)
    finally:
        relay.close()
    messages = read_queue(broker, queue, expected=1, timeout=5)
    assert [p.message_id for _, p, _ in messages] == [orphan.id]


def test_backlog_and_purge_of_sent_rows(plumbing, broker, amqp_url, unique):
    service = f"t{unique}"
    broker.make_queue(f"{service}.#", f"test.relay.{unique}")
    relay = OutboxRelay(plumbing.engine, plumbing.outbox, amqp_url, exchange=broker.exchange)
    try:
        before = datetime.now(UTC)
        plumbing.commit_events(event(service, seq=1))
        plumbing.commit_events(event(service, seq=2), event(service, seq=3))
        count, oldest = relay.backlog()
        assert count == 3
        assert before - timedelta(seconds=1) <= oldest <= datetime.now(UTC)
        assert relay.relay_once() == 3
        assert relay.backlog() == (0, None)

        assert relay.purge_sent(timedelta(hours=1)) == 0  # all recent: kept
        outbox = plumbing.outbox
        with plumbing.engine.begin() as conn:
            old_ids = conn.execute(select(outbox.c.id).order_by(outbox.c.id).limit(2)).scalars()
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(old_ids)))
                .values(published_at=datetime.now(UTC) - timedelta(days=8))
            )
        # An unsent row is never purged, however old.
        plumbing.commit_events(event(service, seq=4))
        with plumbing.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.published_at.is_(None))
                .values(created_at=datetime.now(UTC) - timedelta(days=30))
            )
        assert relay.purge_sent(timedelta(days=7)) == 2
        assert plumbing.count() == 2
        count, oldest = relay.backlog()
        assert count == 1 and oldest < datetime.now(UTC) - timedelta(days=29)
    finally:
        relay.close()


def test_a_batch_the_broker_never_confirms_stays_unsent(
    plumbing, broker, proxy, unique, monkeypatch
):
    monkeypatch.setattr(relay_module, "CONFIRM_TIMEOUT_SECONDS", 1.0)
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.{unique}")
    relay = OutboxRelay(plumbing.engine, plumbing.outbox, proxy.url(), exchange=broker.exchange)
    try:
        first = event(service, seq=1)
        plumbing.commit_events(first)
        assert relay.relay_once() == 1
        proxy.answering.clear()  # the broker takes the message but its confirm never comes
        second = event(service, seq=2)
        plumbing.commit_events(second)
        with pytest.raises(ConfirmTimeout):
            relay.relay_once()
        assert relay.backlog()[0] == 1
        proxy.answering.set()
        proxy.cut()
        assert relay.relay_once() == 1
        assert relay.backlog() == (0, None)
    finally:
        relay.close()
    ids = [json.loads(body)["id"] for _, _, body in read_queue(broker, queue, expected=3)]
    # The unconfirmed message may have reached the queue: sent again, a duplicate, never lost.
    assert ids[0] == first.id and set(ids[1:]) == {second.id}


def test_a_message_the_broker_refuses_stays_unsent(plumbing, broker, amqp_url, unique, caplog):
    caplog.set_level(logging.WARNING, logger="services.common.relay")
    service = f"t{unique}"
    queue = f"test.relay.{unique}"
    # A full queue that refuses further publishes: the broker nacks them.
    broker.queue_declare(
        queue, durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    broker.queue_bind(queue, broker.exchange, routing_key=f"{service}.#")
    relay = OutboxRelay(
        plumbing.engine, plumbing.outbox, amqp_url, max_backoff=0.3, exchange=broker.exchange
    )
    try:
        accepted, refused = event(service, seq=1), event(service, seq=2)
        plumbing.commit_events(accepted, refused)
        assert relay.relay_once() == 1
        outbox = plumbing.outbox
        with plumbing.engine.connect() as conn:
            unsent = conn.execute(
                select(outbox.c.event_id, outbox.c.attempts).where(outbox.c.published_at.is_(None))
            ).all()
        assert [tuple(row) for row in unsent] == [(refused.id, 1)]
        assert any("nacked" in r.getMessage() for r in caplog.records)

        assert [p.message_id for _, p, _ in read_queue(broker, queue, expected=1)] == [accepted.id]
        time.sleep(0.35)
        assert relay.relay_once() == 1
        assert relay.backlog() == (0, None)
        assert [p.message_id for _, p, _ in read_queue(broker, queue, expected=1)] == [refused.id]
    finally:
        relay.close()
        broker.queue_delete(queue)


def moved(service: str, subject: str = "reports/LPR-2026-000001"):
    """A case leaving Dinas Kesehatan for Dinas Pendidikan (a reassignment, a re-disposition)."""
    return new_event(service, "report", "redisposed", subject=subject, opd="disdik", from_opd="dinkes",
                     data={"opd": "disdik"})


def test_a_move_reaches_the_opd_it_leaves_and_the_one_it_reaches_once_each(
    plumbing, broker, amqp_url, unique
):
    service = f"t{unique}"
    leaves = broker.make_queue("#.dinkes", f"test.relay.dinkes.{unique}")
    reaches = broker.make_queue("#.disdik", f"test.relay.disdik.{unique}")
    everything = broker.make_queue("#", f"test.relay.all.{unique}")
    move = moved(service)
    elsewhere = new_event(service, "report", "dispatched", subject="reports/2", opd="dlh")
    plumbing.commit_events(move, elsewhere)
    outbox = plumbing.outbox
    with plumbing.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.event_id, outbox.c.routing_key, outbox.c.body).order_by(outbox.c.id)
        ).all()
    # One row per routing key, one id and one body for the move.
    assert [(r.event_id, r.routing_key) for r in rows] == [
        (move.id, f"{service}.report.redisposed.disdik"),
        (move.id, f"{service}.report.redisposed.dinkes"),
        (elsewhere.id, f"{service}.report.dispatched.dlh"),
    ]
    assert rows[0].body == rows[1].body == move.to_json()

    relay = OutboxRelay(plumbing.engine, plumbing.outbox, amqp_url, exchange=broker.exchange)
    try:
        assert relay.relay_once() == 3
        assert relay.backlog() == (0, None)
    finally:
        relay.close()
    for queue, key in ((leaves, "dinkes"), (reaches, "disdik")):
        messages = read_queue(broker, queue, expected=1, timeout=5)
        assert [(m.routing_key, p.message_id) for m, p, _ in messages] == [
            (f"{service}.report.redisposed.{key}", move.id)]
        envelope = json.loads(messages[0][2])
        assert (envelope["opd"], envelope["fromopd"]) == ("disdik", "dinkes")
    # A queue bound to both gets both copies, one id: its consumer's inbox applies one.
    copies = read_queue(broker, everything, expected=3, timeout=5)
    assert Counter(p.message_id for _, p, _ in copies) == {move.id: 2, elsewhere.id: 1}


def test_a_consumer_bound_to_both_opds_applies_a_move_once(plumbing, broker, amqp_url, unique):
    service = f"t{unique}"
    applied: Counter = Counter()

    def handler(uow, envelope):
        applied[envelope["id"]] += 1

    queue = f"test.relay.consumer.{unique}"
    consumer = EventConsumer(
        name=queue, queue=queue, bindings=["#"], handler=handler, uow_factory=plumbing.uow,
        inbox=plumbing.inbox, amqp_url=amqp_url, exchange=broker.exchange, retry_delay=0.05,
        max_backoff=0.2,
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    relay = OutboxRelay(plumbing.engine, plumbing.outbox, amqp_url, exchange=broker.exchange)
    try:
        assert consumer.ready.wait(15)
        move = moved(service)
        sentinel = event(service, subject="reports/sentinel")
        plumbing.commit_events(move)
        plumbing.commit_events(sentinel)
        while relay.relay_once():
            pass

        def inbox():
            with plumbing.engine.connect() as conn:
                return sorted(conn.execute(select(plumbing.inbox.c.event_id)).scalars())

        # Both copies of the move are queued before the sentinel: once its commit is in,
        # both were handled.
        wait_until(lambda: inbox() == sorted([move.id, sentinel.id]))
        assert applied == {move.id: 1, sentinel.id: 1}
    finally:
        relay.close()
        stop.set()
        thread.join(30)
        broker.queue_delete(queue)
        broker.queue_delete(consumer.dead_queue)


def test_a_return_of_one_route_of_a_move_keeps_that_row_unsent(
    plumbing, broker, amqp_url, unique, caplog
):
    caplog.set_level(logging.WARNING, logger="services.common.relay")
    service = f"t{unique}"
    # Only the OPD the case leaves has a queue: the copy for the OPD it reaches comes back.
    leaves = broker.make_queue(f"{service}.#.dinkes", f"test.relay.dinkes.{unique}")
    relay = OutboxRelay(
        plumbing.engine, plumbing.outbox, amqp_url, max_backoff=0.3, exchange=broker.exchange
    )
    try:
        move = moved(service)
        plumbing.commit_events(move)
        assert relay.relay_once() == 1
        outbox = plumbing.outbox
        with plumbing.engine.connect() as conn:
            unsent = conn.execute(
                select(outbox.c.routing_key, outbox.c.attempts).where(outbox.c.published_at.is_(None))
            ).all()
        assert [tuple(r) for r in unsent] == [(f"{service}.report.redisposed.disdik", 1)]
        reaches = broker.make_queue(f"{service}.#.disdik", f"test.relay.disdik.{unique}")
        time.sleep(0.35)
        assert relay.relay_once() == 1
        assert relay.backlog() == (0, None)
    finally:
        relay.close()
    assert [p.message_id for _, p, _ in read_queue(broker, leaves, expected=1, timeout=5)] == [move.id]
    assert [p.message_id for _, p, _ in read_queue(broker, reaches, expected=1, timeout=5)] == [move.id]


def test_the_relay_uses_only_public_pika_api():
    """Private attributes (`BlockingChannel._impl` once) change without notice between
    releases; the relay touches underscored names of its own objects only."""
    tree = ast.parse(inspect.getsource(relay_module))
    private = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "link"})
    ]
    assert private == []
