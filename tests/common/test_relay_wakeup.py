"""A PostgreSQL relay woken by the producer's commit (LISTEN/NOTIFY), with the poll kept."""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
from psycopg import sql
from sqlalchemy import text

from services.common.events import new_event
from services.common.numbering import NumberedRow
from services.common.outbox import UnitOfWork, wakeup_channel
from services.common.relay import OutboxRelay
from tests.common.test_outbox_relay import event, read_queue, run_in_thread, wait_until

# Far longer than any wake-up may take: an event out before it was not waiting for a poll.
LONG_POLL_SECONDS = 30.0
WOKEN_WITHIN_SECONDS = 5.0


def notifications(url: str, channel: str, action) -> list:
    """The notifications `channel` received while `action()` ran, as a listener sees them."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        action()
        return list(conn.notifies(timeout=0.5))


def idle_relay(plumbing, amqp_url, exchange, **options) -> tuple[OutboxRelay, threading.Event, threading.Thread]:
    relay = OutboxRelay(
        plumbing.engine, plumbing.outbox, amqp_url, exchange=exchange, **options
    )
    stop, thread = run_in_thread(relay)
    # Running, connected and past its first (empty) look at the outbox.
    wait_until(lambda: relay.connected)
    time.sleep(0.3)
    return relay, stop, thread


def stop_relay(relay, stop, thread) -> None:
    stop.set()
    thread.join(timeout=30)
    relay.close()


def test_a_commit_with_events_notifies_once_and_a_rollback_never(pg_plumbing, unique):
    url = str(pg_plumbing.engine.url.render_as_string(hide_password=False))
    channel = wakeup_channel(pg_plumbing.outbox)

    def commit_two_publishes():
        with pg_plumbing.uow() as uow:
            uow.publish(event(f"t{unique}", n=1))
            uow.publish(event(f"t{unique}", n=2), event(f"t{unique}", n=3))
            uow.commit()

    def roll_back():
        with pg_plumbing.uow() as uow:
            uow.publish(event(f"t{unique}", n=4))

    assert [n.channel for n in notifications(url, channel, commit_two_publishes)] == [channel]
    assert notifications(url, channel, roll_back) == []
    assert pg_plumbing.count() == 3


def test_a_unit_of_work_notifies_again_in_its_next_transaction(pg_plumbing, unique):
    url = str(pg_plumbing.engine.url.render_as_string(hide_password=False))
    channel = wakeup_channel(pg_plumbing.outbox)
    uow = pg_plumbing.uow()

    def two_transactions():
        with uow:
            uow.publish(event(f"t{unique}", n=1))
            uow.rollback()
            uow.publish(event(f"t{unique}", n=2))
            uow.commit()
            uow.publish(event(f"t{unique}", n=3))
            uow.commit()

    # Two commits with events: two notifications (one payload each, so none coalesced away).
    assert len(notifications(url, channel, two_transactions)) == 2
    assert pg_plumbing.count() == 2


def test_a_numbered_write_in_one_statement_notifies_at_its_commit(make_numbered_tables, pg_url):
    numbering, sessions, outbox, reports, _ = make_numbered_tables(pg_url)

    def write_numbered():
        submitted = new_event(
            "lapor", "report", "submitted", subject="reports/", opd="dinkes", data={"number": ""}
        )
        with UnitOfWork(sessions, outbox) as uow:
            numbering.write(uow, "LPR", 2026, NumberedRow(reports, {"title": "Jalan rusak"}),
                            event=submitted)
            uow.commit()

    received = notifications(pg_url, wakeup_channel(outbox), write_numbered)
    assert [n.channel for n in received] == [wakeup_channel(outbox)]


def test_sqlite_units_of_work_write_events_without_notifying(sqlite_plumbing, unique):
    sqlite_plumbing.commit_events(event(f"t{unique}"))
    assert sqlite_plumbing.count() == 1


def test_the_relay_publishes_at_the_commit_not_at_the_poll(pg_plumbing, broker, amqp_url, unique):
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.wakeup.{unique}")
    relay, stop, thread = idle_relay(
        pg_plumbing, amqp_url, broker.exchange, poll_seconds=LONG_POLL_SECONDS
    )
    try:
        for n in range(3):
            committed = time.monotonic()
            pg_plumbing.commit_events(event(service, n=n))
            wait_until(lambda: pg_plumbing.sent() == n + 1, timeout=WOKEN_WITHIN_SECONDS)
            assert time.monotonic() - committed < WOKEN_WITHIN_SECONDS
    finally:
        stop_relay(relay, stop, thread)
    assert len(read_queue(broker, queue, expected=3, timeout=5)) == 3


def test_a_commit_between_an_empty_claim_and_the_wait_still_wakes_the_relay(
    pg_plumbing, broker, amqp_url, unique
):
    relay = OutboxRelay(
        pg_plumbing.engine, pg_plumbing.outbox, amqp_url, exchange=broker.exchange,
        poll_seconds=LONG_POLL_SECONDS,
    )
    broker.make_queue(f"t{unique}.#", f"test.wakeup.{unique}")
    try:
        assert relay.relay_once() == 0  # listening from here on, before the claim
        pg_plumbing.commit_events(event(f"t{unique}"))
        started = time.monotonic()
        relay._idle(threading.Event())
        assert time.monotonic() - started < WOKEN_WITHIN_SECONDS
        assert relay.relay_once() == 1
    finally:
        relay.close()


def queue_depth(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def test_a_commit_while_a_batch_awaits_its_confirms_is_sent_without_waiting_for_them(
    pg_plumbing, broker, proxy, unique
):
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.wakeup.{unique}")
    relay, stop, thread = idle_relay(
        pg_plumbing, proxy.url(), broker.exchange, poll_seconds=LONG_POLL_SECONDS
    )
    first, second = event(service, seq=1), event(service, seq=2)
    try:
        proxy.answering.clear()  # the broker takes the messages but their confirms wait
        pg_plumbing.commit_events(first)
        wait_until(lambda: queue_depth(broker, queue) == 1, timeout=WOKEN_WITHIN_SECONDS)
        pg_plumbing.commit_events(second)
        wait_until(lambda: queue_depth(broker, queue) == 2, timeout=WOKEN_WITHIN_SECONDS)
        assert relay.backlog()[0] == 2  # neither is marked sent before its confirm
        proxy.answering.set()
        wait_until(lambda: pg_plumbing.sent() == 2, timeout=10)
    finally:
        proxy.answering.set()
        stop_relay(relay, stop, thread)
    messages = read_queue(broker, queue, expected=2, timeout=5)
    assert [properties.message_id for _m, properties, _b in messages] == [first.id, second.id]


def test_the_poll_still_publishes_when_the_listening_session_is_killed(
    pg_plumbing, broker, amqp_url, unique, caplog
):
    service = f"t{unique}"
    broker.make_queue(f"{service}.#", f"test.wakeup.{unique}")
    relay, stop, thread = idle_relay(pg_plumbing, amqp_url, broker.exchange, poll_seconds=0.5)
    try:
        listening = f"LISTEN {sql.Identifier(wakeup_channel(pg_plumbing.outbox)).as_string()}"
        with pg_plumbing.engine.connect() as conn:
            killed = conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :q"),
                {"q": listening},
            ).scalars().all()
        assert killed == [True]
        # Notifications sent while nobody listens are gone: the poll publishes these.
        pg_plumbing.commit_events(event(service, n=1), event(service, n=2))
        wait_until(lambda: pg_plumbing.sent() == 2, timeout=10)
        # And the relay listens again.
        wait_until(lambda: relay._listener is not None, timeout=10)
        pg_plumbing.commit_events(event(service, n=3))
        wait_until(lambda: pg_plumbing.sent() == 3, timeout=10)
    finally:
        stop_relay(relay, stop, thread)


def test_a_woken_relay_sends_concurrent_producers_events_once_each_in_commit_order(
    pg_plumbing, broker, amqp_url, unique
):
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.wakeup.{unique}")
    relay, stop, thread = idle_relay(
        pg_plumbing, amqp_url, broker.exchange, poll_seconds=LONG_POLL_SECONDS, batch_size=7
    )
    producers, per_producer = 4, 50
    ids: list[str] = []
    order: dict[str, tuple[int, int]] = {}
    lock = threading.Lock()

    def produce(p: int) -> None:
        for n in range(per_producer):
            e = event(service, producer=p, n=n)
            pg_plumbing.commit_events(e)
            with lock:
                ids.append(e.id)
                order[e.id] = (p, n)

    try:
        workers = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        total = producers * per_producer
        wait_until(lambda: pg_plumbing.sent() == total, timeout=WOKEN_WITHIN_SECONDS * 4)
    finally:
        stop_relay(relay, stop, thread)

    messages = read_queue(broker, queue, expected=total, timeout=10)
    received = [properties.message_id for _method, properties, _body in messages]
    assert Counter(received) == Counter(ids)
    # A producer's next commit follows its previous one: the broker sees them in that order.
    for p in range(producers):
        mine = [order[i][1] for i in received if order[i][0] == p]
        assert mine == list(range(per_producer))
