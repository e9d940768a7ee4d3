"""The PostgreSQL relay's pipeline: the next batch is claimed in a thread of its own while
earlier ones are published and confirmed, and that loses nothing when the broker goes."""

from __future__ import annotations

import threading

from sqlalchemy import text

from services.common.relay import _CLAIM_SETTINGS, OutboxRelay
from tests.common.test_outbox_relay import (
    assert_all_arrived_in_order,
    commit_numbered,
    run_in_thread,
    wait_until,
)

CLAIMER_THREAD = "outbox-claim"


def commit_backlog(plumbing, service: str, total: int, per_commit: int = 500) -> list[str]:
    produced = []
    for start in range(0, total, per_commit):
        produced.extend(commit_numbered(plumbing, service, start, per_commit, subjects=20))
    return produced


def hold_claims_ahead(relay, release: threading.Event, from_claim: int = 1):
    """Makes a claim in the claiming thread, from the relay's `from_claim`-th claim on, wait
    for `release`; returns an event set once one waits, and the threads each claim ran in."""
    holding = threading.Event()
    claimed_in: list[str] = []
    claim = relay._claim

    def claim_and_hold(statement):
        name = threading.current_thread().name
        claimed_in.append(name)
        if name.startswith(CLAIMER_THREAD) and len(claimed_in) >= from_claim and not release.is_set():
            holding.set()
            release.wait(10)
        return claim(statement)

    relay._claim = claim_and_hold
    return holding, claimed_in


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
    cut_done = threading.Event()
    # One claim is held open until the broker connection is gone.
    claiming_ahead, claimed_in = hold_claims_ahead(relay, cut_done, from_claim=5)
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
    release = threading.Event()
    claiming_ahead, _ = hold_claims_ahead(relay, release)
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
