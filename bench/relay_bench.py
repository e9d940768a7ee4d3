"""Outbox relay benchmark: throughput against raw publishing, and end-to-end latency.

    python bench/relay_bench.py [--events 50000] [--queue-type quorum|classic|both]

Needs the local PostgreSQL (a throwaway database is created and dropped; admin URL from
BENCH_PG_ADMIN_URL) and RabbitMQ (BENCH_AMQP_URL). It measures:

(a) raw pika publishing of the outbox bodies, persistent, without confirms, to a bound queue
    (the ceiling: nothing is acknowledged, nothing is marked);
(b) the relay's sustained rate: a relay already running and connected, woken by the commit
    that writes the whole backlog, claims, publishes, has the broker confirm and marks sent
    every row; timed from just before that commit until no row is left unsent;
(c) latency from a producer's commit to a consumer's commit (EventConsumer on a quorum
    queue) at a steady 5, 50 and 200 events/s, committed by four producer processes while
    the relay and the consumer run as a worker process would. At each rate the relay woken
    by the commit (LISTEN/NOTIFY, the default) runs right after the same relay polling
    alone, its baseline in this run.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pika
import psycopg
from sqlalchemy import MetaData, exists, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.summary import record as record_figure  # noqa: E402
from services.common.consumer import EventConsumer  # noqa: E402
from services.common.db import make_engine, make_session_factory  # noqa: E402
from services.common.events import CONTENT_TYPE, new_event  # noqa: E402
from services.common.outbox import (  # noqa: E402
    UnitOfWork,
    outbox_row,
    plumbing_tables,
    wakeup_channel,
)
from services.common.relay import OutboxRelay  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
SERVICE = "bench"
# A private exchange, so the benchmark's events reach no real subscriber of the broker.
EXCHANGE = f"bench.events.{uuid.uuid4().hex[:8]}"
LATENCY_SECONDS = 10
# A slow rate runs longer, so its p99 is not just its slowest event.
LATENCY_MIN_EVENTS = 100
POLL_SECONDS = 0.2  # the relay's default
PRODUCERS = 4
LATENCY_RATES = (5, 50, 200)  # events per second
LATENCY_TARGET_P99_MS = 50
RELAY_TARGET_RATIO = 0.7


def create_database() -> tuple[str, str]:
    name = f"simpul_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_rows(count: int) -> list[dict]:
    return [
        outbox_row(
            new_event(
                SERVICE,
                "report",
                "updated",
                subject=f"reports/LPR-2026-{i % 100:06d}",
                opd="dinkes",
                data={"seq": i, "state": "in_progress", "due_at": "2026-03-02T16:00:00+07:00"},
            )
        )
        for i in range(count)
    ]


def declare_queue(channel, name: str, queue_type: str) -> None:
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(name, durable=True, arguments={"x-queue-type": queue_type})
    channel.queue_bind(name, EXCHANGE, routing_key=f"{SERVICE}.#")


def wait_for_depth(channel, name: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while channel.queue_declare(name, passive=True).method.message_count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"queue {name} never reached {count} messages")
        time.sleep(0.05)


def raw_rate(channel, rows: list[dict]) -> float:
    """Plain BlockingChannel publishing, no confirms: the client-side ceiling."""
    started = time.perf_counter()
    for row in rows:
        channel.basic_publish(
            EXCHANGE,
            row["routing_key"],
            row["body"].encode(),
            pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=row["event_id"],
                content_type=CONTENT_TYPE,
                timestamp=int(row["created_at"].timestamp()),
            ),
        )
    # One synchronous round trip: the broker has read everything sent before it.
    channel.basic_qos(prefetch_count=0)
    return len(rows) / (time.perf_counter() - started)


def relay_rate(engine, outbox, rows: list[dict]) -> float:
    """A running, connected relay, woken by the commit of the whole backlog as a unit of work
    wakes it: from that commit until every row is marked sent."""
    with engine.begin() as conn:
        conn.execute(outbox.delete())
    relay = OutboxRelay(engine, outbox, AMQP_URL, exchange=EXCHANGE)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), name="bench-relay")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not relay.connected:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the relay did not connect to the broker")
            time.sleep(0.01)
        # Asks only whether an unsent row is left: counting them all every few milliseconds
        # would load the database the relay works on, which raw publishing does not pay.
        unsent = select(exists().where(outbox.c.published_at.is_(None)))
        with engine.connect() as conn:
            with conn.begin() as transaction:
                for start in range(0, len(rows), 5000):
                    conn.execute(insert(outbox), rows[start : start + 5000])
                conn.execute(select(func.pg_notify(wakeup_channel(outbox), "")))
                # The clock starts before the commit, so the commit counts against the relay.
                started = time.perf_counter()
                transaction.commit()
            while conn.execute(unsent).scalar():
                conn.commit()  # a fresh snapshot each time
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
    finally:
        stop.set()
        thread.join()
    return len(rows) / elapsed


def throughput(
    engine, outbox, rows: list[dict], queue_type: str, rounds: int
) -> tuple[list[float], list[float]]:
    """Alternating rounds of raw publishing and relaying, so background load hits both."""
    queue = f"bench.throughput.{queue_type}.{uuid.uuid4().hex[:6]}"
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    raw, relayed = [], []
    try:
        declare_queue(channel, queue, queue_type)
        for _ in range(rounds):
            raw.append(raw_rate(channel, rows))
            wait_for_depth(channel, queue, len(rows))
            channel.queue_purge(queue)
            relayed.append(relay_rate(engine, outbox, rows))
            wait_for_depth(channel, queue, len(rows))
            channel.queue_purge(queue)
        return raw, relayed
    finally:
        channel.queue_delete(queue)
        connection.close()


def produce(url: str, first: int, total: int, rate: int, started: float) -> dict[str, float]:
    """One producer process (like one web worker): commits its share of events on time."""
    engine = make_engine(url, pool_size=1)
    metadata = MetaData()
    outbox, _ = plumbing_tables(metadata)
    sessions = make_session_factory(engine)
    committed = {}
    try:
        for i in range(first, total, PRODUCERS):
            pause = started + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            event = new_event(
                SERVICE,
                "report",
                "updated",
                subject=f"reports/{i % 50}",
                opd="dinkes",
                data={"i": i},
            )
            with UnitOfWork(sessions, outbox) as uow:
                uow.publish(event)
                uow.commit()
            committed[event.id] = time.monotonic()
    finally:
        engine.dispose()
    return committed


def latency(
    engine, url: str, outbox, inbox, *, rate: int, seconds: float, listen: bool,
    min_events: int = LATENCY_MIN_EVENTS,
) -> tuple[list[float], float]:
    """Commit-to-commit latencies in ms, and the rate actually committed (events/s).

    Producers run in their own processes and the relay and the consumer share one, as web
    workers and the worker process do, so they do not compete for one interpreter lock.
    """
    sessions = make_session_factory(engine)
    received: dict[str, float] = {}
    queue = f"bench.latency.{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(
        engine, outbox, AMQP_URL, poll_seconds=POLL_SECONDS, exchange=EXCHANGE, listen=listen
    )

    def handler(uow: UnitOfWork, envelope: dict) -> None:
        event_id = envelope["id"]
        uow.after_commit(lambda: received.__setitem__(event_id, time.monotonic()))

    consumer = EventConsumer(
        name=f"bench.{queue}",
        queue=queue,
        bindings=[f"{SERVICE}.#"],
        handler=handler,
        uow_factory=lambda: UnitOfWork(sessions, outbox),
        inbox=inbox,
        amqp_url=AMQP_URL,
        exchange=EXCHANGE,
    )
    stop = threading.Event()
    threads = [
        threading.Thread(target=relay.run, args=(stop,), name="bench-relay"),
        threading.Thread(target=consumer.run, args=(stop,), name="bench-consumer"),
    ]
    for thread in threads:
        thread.start()
    committed: dict[str, float] = {}
    total = max(int(rate * seconds), min_events)
    try:
        if not consumer.ready.wait(30):
            raise RuntimeError("consumer did not start")
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(PRODUCERS, mp_context=context) as pool:
            started = time.monotonic() + 2.0  # let the processes start first
            shares = [
                pool.submit(produce, url, first, total, rate, started) for first in range(PRODUCERS)
            ]
            for share in shares:
                committed.update(share.result())
        deadline = time.monotonic() + 30
        while len(received) < total and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        channel = connection.channel()
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.dead")
        connection.close()
    latencies = sorted((received[i] - committed[i]) * 1000 for i in committed if i in received)
    offered = len(committed) / (max(committed.values()) - started)
    return latencies, offered


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--queue-type", choices=["quorum", "classic", "both"], default="both")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating throughput rounds (median ratio shown)"
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--latency-seconds", type=float, default=LATENCY_SECONDS, help="per rate and relay mode"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--latency-min-events", type=int, default=LATENCY_MIN_EVENTS,
                        help="events per latency row at least, whatever the rate and seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")

    name, url = create_database()
    engine = make_engine(url)
    try:
        metadata = MetaData()
        outbox, inbox = plumbing_tables(metadata)
        metadata.create_all(engine)
        rows = make_rows(args.events)
        kinds = ["quorum", "classic"] if args.queue_type == "both" else [args.queue_type]
        results = {
            kind: throughput(engine, outbox, rows, kind, args.rounds)
            for kind in ([] if args.skip_throughput else kinds)
        }
        latencies = {}
        if not args.skip_latency:
            with engine.begin() as conn:
                conn.execute(outbox.delete())
            for rate in LATENCY_RATES:
                latencies[rate] = {
                    mode: latency(
                        engine, url, outbox, inbox, rate=rate, seconds=args.latency_seconds,
                        min_events=args.latency_min_events,
                        listen=mode == "woken",
                    )
                    for mode in ("polled", "woken")
                }
    finally:
        engine.dispose()
        drop_database(name)
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        connection.channel().exchange_delete(EXCHANGE)
        connection.close()

    print()
    print(f"Outbox relay benchmark, PostgreSQL, {args.events:,} events")
    print(
        f"{'bound queue':<12} {'raw pika (ev/s)':>16} {'relay (ev/s)':>14} {'ratio':>7}"
        f" {'median':>7}  rounds"
    )
    for kind, (raw, relayed) in results.items():
        best_raw, best_relay = max(raw), max(relayed)
        # Each round's relay run follows its raw run, so the two share that moment's load
        # from other processes; the median of those ratios is steadier than best over best.
        median = statistics.median(b / a for a, b in zip(raw, relayed, strict=True))
        samples = ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in zip(raw, relayed, strict=True))
        print(
            f"{kind:<12} {best_raw:>16,.0f} {best_relay:>14,.0f} {best_relay / best_raw:>7.2f}"
            f" {median:>7.2f}  raw/relay: {samples}"
        )
        record_figure("relay", f"confirmed relay against raw pika, {kind} queue", f"{median:.2f}",
                      f">= {RELAY_TARGET_RATIO}", median >= RELAY_TARGET_RATIO)
    print("  raw: BlockingChannel.basic_publish, persistent, no confirms (client-side rate)")
    print("  relay: claimed, published, confirmed by the broker, marked sent")
    print("  ratio: best relay / best raw; median: median of the rounds' relay/raw")
    if latencies:
        print_latencies(latencies, args.latency_seconds, args.latency_min_events)
    return 0


def print_latencies(latencies: dict, seconds: float, min_events: int = LATENCY_MIN_EVENTS) -> None:
    print(
        f"Latency, producer commit -> consumer commit, {seconds:g} s (at least"
        f" {min_events} events) per row, poll every {POLL_SECONDS * 1000:.0f} ms,"
        f" {PRODUCERS} producer processes"
    )
    print(
        f"{'rate':>7} {'relay':<7} {'committed':>10} {'p50 (ms)':>9} {'p99 (ms)':>9}"
        f" {'p99/polled':>11} {'target':>13}"
    )
    for rate, modes in latencies.items():
        polled_p99 = percentile(modes["polled"][0], 99)
        for mode, (values, offered) in modes.items():
            p99 = percentile(values, 99)
            verdict = (
                f"p99<={LATENCY_TARGET_P99_MS} {'met' if p99 <= LATENCY_TARGET_P99_MS else 'MISSED'}"
                if mode == "woken" else ""
            )
            expected = max(int(rate * seconds), min_events)
            if mode == "woken":
                record_figure("relay", f"commit to consumer commit at {rate}/s, p99", f"{p99:.0f} ms",
                              f"<= {LATENCY_TARGET_P99_MS} ms", p99 <= LATENCY_TARGET_P99_MS,
                              f"polled: {polled_p99:.0f} ms")
            print(
                f"{rate:>5}/s {mode:<7} {offered:>8.0f}/s {percentile(values, 50):>9.1f}"
                f" {p99:>9.1f} {p99 / polled_p99:>11.2f} {verdict:>13}"
                f"  ({len(values)}/{expected} consumed)"
            )
    print("  polled: the relay looks every poll interval (the baseline);"
          " woken: LISTEN/NOTIFY wakes it at the commit, the poll kept")


if __name__ == "__main__":
    sys.exit(main())
