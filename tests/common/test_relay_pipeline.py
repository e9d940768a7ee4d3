"""The PostgreSQL relay's pipeline: the next batch is claimed in a thread of its own while
earlier ones are published and confirmed, and that loses nothing when the broker goes."""

from __future__ import annotations

import json
import threading
from collections import defaultdict

from sqlalchemy import text

from services.common.relay import _CLAIM_SETTINGS, OutboxRelay
from tests.common import test_outbox_relay as relay_tests

broker = relay_tests.broker
pg_plumbing = relay_tests.pg_plumbing
proxy = relay_tests.proxy
event = relay_tests.event
read_queue = relay_tests.read_queue
wait_until = relay_tests.wait_until
run_in_thread = relay_tests.run_in_thread

CLAIMER_THREAD = "outbox-claim"


def commit_backlog(plumbing, service: str, total: int, per_commit: int = 500) -> list[str]:
    produced = []
    for start in range(0, total, per_commit):
        batch = [
            event(service, subject=f"reports/{i % 20}", seq=i)
            for i in range(start, start + per_commit)
        ]
        plumbing.commit_events(*batch)
        produced.extend(e.id for e in batch)
    return produced


def assert_all_arrived_in_order(broker, queue: str, produced: list[str]) -> int:
    """Every event arrived, each subject's first deliveries in order; returns the duplicates."""
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
    return len(received) - len(seen)


def test_a_claim_running_ahead_when_the_broker_connection_drops_loses_nothing(
    pg_plumbing, broker, proxy, unique
):
    """The connection is cut while a batch is claimed in the claiming thread and others
    await their confirms: all of them are rolled back and published again."""
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.pipeline.{unique}")
    produced = commit_backlog(pg_plumbing, service, 4000)
    relay = OutboxRelay(
        pg_plumbing.engine, pg_plumbing.outbox, proxy.url(), exchange=broker.exchange,
        batch_size=200, poll_seconds=0.05, max_backoff=0.5,
    )
    claiming_ahead = threading.Event()
    cut_done = threading.Event()
    claimed_in: list[str] = []
    claim = relay._claim

    def claim_and_hold_one(statement):
        name = threading.current_thread().name
        claimed_in.append(name)
        if name.startswith(CLAIMER_THREAD) and len(claimed_in) >= 5 and not cut_done.is_set():
            claiming_ahead.set()
            cut_done.wait(10)  # hold this claim open until the broker connection is gone
        return claim(statement)

    relay._claim = claim_and_hold_one
    stop, thread = run_in_thread(relay)
    try:
        assert claiming_ahead.wait(30), "no batch was claimed ahead"
        proxy.cut()
        cut_done.set()
        wait_until(lambda: relay.backlog()[0] == 0, timeout=60)
    finally:
        cut_done.set()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert proxy.cuts == 1
    assert any(name.startswith(CLAIMER_THREAD) for name in claimed_in)
    assert_all_arrived_in_order(broker, queue, produced)


def test_a_stop_with_a_claim_running_ahead_leaves_its_rows_unsent(pg_plumbing, broker, unique, amqp_url):
    service = f"t{unique}"
    queue = broker.make_queue(f"{service}.#", f"test.relay.pipeline.{unique}")
    produced = commit_backlog(pg_plumbing, service, 2000)
    relay = OutboxRelay(
        pg_plumbing.engine, pg_plumbing.outbox, amqp_url, exchange=broker.exchange,
        batch_size=200, poll_seconds=0.05,
    )
    claiming_ahead = threading.Event()
    release = threading.Event()
    claim = relay._claim

    def claim_and_hold(statement):
        if threading.current_thread().name.startswith(CLAIMER_THREAD):
            claiming_ahead.set()
            release.wait(10)
        return claim(statement)

    relay._claim = claim_and_hold
    stop, thread = run_in_thread(relay)
    try:
        assert claiming_ahead.wait(30), "no batch was claimed ahead"
        stop.set()
        release.set()
        thread.join(30)
        assert not thread.is_alive()
        sent = pg_plumbing.sent()
        # What was confirmed is marked; the claim that was running ahead is rolled back.
        assert 0 < sent < len(produced)
        relay = OutboxRelay(
            pg_plumbing.engine, pg_plumbing.outbox, amqp_url, exchange=broker.exchange,
            batch_size=200, poll_seconds=0.05,
        )
        stop, thread = run_in_thread(relay)
        wait_until(lambda: relay.backlog()[0] == 0, timeout=60)
    finally:
        release.set()
        stop.set()
        thread.join(30)
    assert_all_arrived_in_order(broker, queue, produced)


def test_a_burst_is_claimed_from_the_index_of_unsent_rows_without_sorting(pg_plumbing, unique):
    """Statistics from a nearly empty outbox would have each claim read and sort every unsent
    row; the claim's own settings keep it to the first rows of the partial index."""
    commit_backlog(pg_plumbing, f"t{unique}", 5000)
    relay = OutboxRelay(pg_plumbing.engine, pg_plumbing.outbox, "amqp://unused/", batch_size=200)
    with pg_plumbing.engine.connect() as conn:
        claim = str(
            relay._claim_statement().compile(conn, compile_kwargs={"literal_binds": True})
        )
        with conn.begin():
            conn.execute(_CLAIM_SETTINGS)
            plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {claim}")))
    assert "ix_outbox_unsent" in plan and "Sort" not in plan, plan
