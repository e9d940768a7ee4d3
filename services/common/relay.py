"""The outbox relay: moves committed outbox rows to RabbitMQ.

Delivery is at least once. A batch is claimed in one database transaction (its rows are
marked `published_at` by the claiming UPDATE itself), published with publisher confirms,
and the transaction commits only once the broker has confirmed every message of the batch;
until then the marks are invisible to everyone else. A crash, a lost connection or a
database failure anywhere before that commit rolls the marks back and the rows are published
again: a duplicate, never a loss. Consumers deduplicate with their inbox.

Rows are claimed by state (`published_at IS NULL`), never with "id greater than the last one
seen": sequence values commit out of order, and a lower id that commits late would be skipped
for ever. On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so relays never publish the
same row; by default (`exclusive=True`) only the relay holding a session advisory lock
publishes, so the outbox goes out in id order and the others stand by. On SQLite every
transaction starts with BEGIN IMMEDIATE and one relay runs per database.

Waking up: between batches the relay waits for `poll_seconds`, or less. On PostgreSQL it
LISTENs on the outbox's wake-up channel (`outbox.wakeup_channel`), which a unit of work that
wrote events notifies in its own transaction, so the server wakes the relay at the producer's
commit. The LISTEN is in place before the relay first looks at the outbox, so a commit between
an empty claim and the wait still wakes it. Notifications are coalesced and lost while the
listening session is down: the poll stays, and a lost notification costs one poll at most.
SQLite only polls (or is woken by `wake()` from the same process).

Messages are published `mandatory`: a message no queue is bound for comes back as a
`basic.return`; its row stays unsent (with `attempts` bumped) and is retried with a growing
pause until a queue exists for it. Nothing is dropped.

Throughput: confirms are asynchronous and batched (the broker acks many messages at once),
and on PostgreSQL `run()` keeps three batches in flight: while this thread publishes one and
the broker persists another, the next is claimed in a thread of its own (`_claimer`, one
claim at a time, so batches still go out in id order), as the database's part of a batch
costs about as much as the publishing. A claim reads the partial index of unsent rows in id
order (`enable_sort` off for its transaction): statistics from a nearly empty outbox would
otherwise have every claim of a large backlog read and sort all of it. Its transaction
commits without waiting for the disk (`synchronous_commit` off): a commit lost in a server
crash leaves its rows unsent, as they were before the claim, so they are published again. One
confirm per publish (`BlockingChannel.confirm_delivery`) would be an order of magnitude
slower. The link to the broker is a `SelectConnection` whose I/O loop the relay runs from its
own thread while it waits, through pika's public API only; only the claims run elsewhere, and
the claiming thread touches the database alone.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pika
import pika.channel
import pika.exceptions
import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine, Table, delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from services.common.db import is_sqlite
from services.common.events import CONTENT_TYPE, EXCHANGE
from services.common.outbox import wakeup_channel

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
# A broker under a memory or disk alarm blocks publishers; without this timeout a publisher
# would wait for ever while holding its claimed rows.
BLOCKED_CONNECTION_TIMEOUT_SECONDS = 60
# A broker that accepts messages but never confirms them (say, a quorum queue that lost its
# majority) must not hold the batch's rows for ever either.
CONFIRM_TIMEOUT_SECONDS = 60
_FIRST_BACKOFF = 0.5
# Statements that touch many ids are split so the parameter list stays well under the
# limits of both drivers.
_ID_CHUNK = 1000
# How often a waiting relay looks at `stop` and `wake()` between notifications.
_WAIT_SLICE_SECONDS = 0.1
# Connecting, logging in, opening the channel and selecting confirms.
OPEN_TIMEOUT_SECONDS = 30

AMQP_ERRORS = (pika.exceptions.AMQPError, OSError)
# Settings of the claiming transaction only (why: `_claim`).
_CLAIM_SETTINGS = text(
    "SELECT set_config('enable_sort', 'off', true), set_config('synchronous_commit', 'off', true)"
)


class ConfirmTimeout(pika.exceptions.AMQPError):
    """The broker did not confirm a batch in time; the batch is rolled back and retried."""


def connection_parameters(amqp_url: str, connection_name: str | None = None) -> pika.URLParameters:
    params = pika.URLParameters(amqp_url)
    # Values given in the URL's query (`?heartbeat=10`) win over these defaults.
    given = parse_qs(urlparse(amqp_url).query)
    if "heartbeat" not in given:
        params.heartbeat = HEARTBEAT_SECONDS
    if "blocked_connection_timeout" not in given:
        params.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT_SECONDS
    params.connection_attempts = 1
    params.socket_timeout = 10
    if connection_name:
        # Shown by `rabbitmqctl list_connections client_properties` and the management UI,
        # so an operator can tell which process holds a connection.
        params.client_properties = {"connection_name": connection_name}
    return params


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start : start + _ID_CHUNK]


class _BrokerLink:
    """A SelectConnection with one confirm-mode channel, driven from the relay's own thread.

    The connection's I/O loop runs only while the relay waits (`run_until`, `turn`), so no
    callback ever runs concurrently with the relay's database work, and the link belongs to
    the one thread that made it. Publishes are buffered by the channel and written while the
    loop runs, so sending a batch never waits for the broker; its confirms come back
    asynchronously, many messages at a time.
    """

    def __init__(
        self, params: pika.ConnectionParameters, exchange: str, *, on_confirm, on_return,
        declare_exchange: bool = True,
    ):
        self.blocked = False
        self._declare_exchange = declare_exchange
        self.channel: pika.channel.Channel | None = None
        self._exchange = exchange
        self._on_confirm = on_confirm
        self._on_return = on_return
        self._selected = False
        self._error: BaseException | None = None
        self._until: Callable[[], bool] | None = None
        self.connection = pika.SelectConnection(
            params,
            on_open_callback=self._opened,
            on_open_error_callback=self._failed,
            on_close_callback=self._failed,
        )
        self.ioloop = self.connection.ioloop

    # -- driving the loop ---------------------------------------------------------------

    def run_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Run the I/O loop until `done()`; raises the link's failure or ConfirmTimeout."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_failure()
            if done():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmTimeout(f"the broker did not answer in time: {what}")
            self._loop(remaining, done)

    def turn(self) -> None:
        """One pass of the I/O loop without waiting: writes what is buffered, reads what came."""
        self._loop(0, None)
        self._raise_failure()

    def _loop(self, seconds: float, done: Callable[[], bool] | None) -> None:
        self._until = done
        timer = self.ioloop.call_later(seconds, self.ioloop.stop)
        try:
            self.ioloop.start()
        finally:
            self._until = None
            self.ioloop.remove_timeout(timer)

    def watch(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call `on_readable` whenever `fd` can be read while the loop runs (a database
        session's notifications), then see whether what the relay waits for has come."""

        def readable(_fd, _events) -> None:
            on_readable()
            self._progress()

        self.ioloop.add_handler(fd, readable, self.ioloop.READ)

    def unwatch(self, fd: int) -> None:
        self.ioloop.remove_handler(fd)

    def _progress(self) -> None:
        # Called by every callback that may satisfy what the relay waits for.
        if self._until is not None and self._until():
            self.ioloop.stop()

    def progress_threadsafe(self) -> None:
        """From another thread: have the loop look again at what the relay waits for."""
        try:
            self.ioloop.add_callback_threadsafe(self._progress)
        except (AttributeError, OSError, ValueError) as exc:
            # The link closed meanwhile; its waiter is gone with it.
            log.debug("waking the relay's closed broker link failed: %r", exc)

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    # -- opening ------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.channel is not None and self.channel.is_open and self._selected

    def _opened(self, connection) -> None:
        connection.add_on_connection_blocked_callback(self._on_blocked)
        connection.add_on_connection_unblocked_callback(self._on_unblocked)
        connection.channel(on_open_callback=self._channel_opened)

    def _channel_opened(self, channel) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._channel_closed)
        channel.add_on_return_callback(self._returned)
        channel.exchange_declare(
            self._exchange, exchange_type="topic", durable=True,
            passive=not self._declare_exchange, callback=self._declared,
        )

    def _declared(self, _frame) -> None:
        self.channel.confirm_delivery(self._confirmed, callback=self._confirm_selected)

    def _confirm_selected(self, _frame) -> None:
        self._selected = True
        self._progress()

    # -- events -------------------------------------------------------------------------

    def _confirmed(self, frame) -> None:
        self._on_confirm(frame)
        self._progress()

    def _returned(self, _channel, method, properties, _body) -> None:
        self._on_return(method, properties)

    def _on_blocked(self, _connection, frame) -> None:
        self.blocked = True
        log.warning("broker blocked publishing: %s", getattr(frame.method, "reason", ""))

    def _on_unblocked(self, _connection, _frame) -> None:
        self.blocked = False
        log.info("broker unblocked publishing")
        self._progress()

    def _failed(self, _connection, error) -> None:
        # Opening failed, or an open connection closed (broker gone, blocked too long,
        # closed by an operator): the relay rolls its batches back and reconnects.
        if self._error is None:
            self._error = (
                error
                if isinstance(error, BaseException)
                else pika.exceptions.AMQPConnectionError(error)
            )
        self.ioloop.stop()

    def _channel_closed(self, _channel, reason) -> None:
        if self._error is None:
            self._error = reason
        if self.connection.is_open:
            self.connection.close()
        self.ioloop.stop()

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        connection = self.connection
        try:
            if not (connection.is_closing or connection.is_closed):
                connection.close()
            deadline = time.monotonic() + 5
            while not connection.is_closed and time.monotonic() < deadline:
                self._loop(deadline - time.monotonic(), lambda: connection.is_closed)
        except AMQP_ERRORS as exc:
            log.debug("closing the relay's connection failed: %r", exc)
        finally:
            if connection.is_closed:
                # Only a closed connection has let go of the loop's file descriptors.
                self.ioloop.close()


@dataclass(eq=False)
class _Batch:
    """Claimed rows whose transaction stays open until the broker confirms them all."""

    conn: Connection
    rows: list
    outstanding: int = 0
    failed: dict[int, str] = field(default_factory=dict)  # row id -> why it stays unsent
    by_message: dict | None = None  # (event id, routing key) -> row, see `row_for`

    def row_for(self, message_id: str, routing_key: str):
        # Indexed at the batch's first return only: most batches never see one.
        if self.by_message is None:
            self.by_message = {(row.event_id, row.routing_key): row for row in self.rows}
        return self.by_message.get((message_id, routing_key))


class OutboxRelay:
    """Publishes a service's outbox to the `simpul.events` exchange (or `exchange`).

    One instance per thread: it owns its AMQP connection, which it opens lazily on first
    use, never at construction (so it is safe to build before a fork). `backlog()` and
    `purge_sent()` only use the database and may be called from any thread.
    """

    def __init__(
        self,
        engine: Engine,
        outbox: Table,
        amqp_url: str,
        *,
        # Measured: classic queues confirm 2,000-row batches about 15% faster than 500-row
        # ones (three batches in flight either way); quorum queues gain a little too.
        batch_size: int = 2000,
        poll_seconds: float = 0.2,
        max_backoff: float = 30.0,
        exclusive: bool = True,
        connection_name: str | None = None,
        exchange: str = EXCHANGE,
        declare_exchange: bool = True,
        listen: bool = True,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.engine = engine
        self.outbox = outbox
        self.amqp_url = amqp_url
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff
        self.exclusive = exclusive
        # Only tests publish elsewhere, to keep their events away from real subscribers.
        self.exchange = exchange
        # False where the operator declared the exchange: the login may only check it exists.
        self.declare_exchange = declare_exchange
        self.connection_name = connection_name or f"outbox-relay {outbox.name}"
        self._sqlite = is_sqlite(engine)
        # Two open write transactions would deadlock on SQLite's single write lock. On
        # PostgreSQL one batch is claimed while another is published and a third confirmed.
        self._depth = 1 if self._sqlite else 3
        self._lock_key = zlib.crc32(f"simpul.outbox.{outbox.name}".encode())
        self._lock_conn: Connection | None = None
        # Benchmarks turn listening off to measure the poll alone.
        self._listens = listen and not self._sqlite
        self._listener: Connection | None = None
        # Whether this top-up's last claim came back short, taking every row there was:
        # no claim again until a commit is notified or the next top-up. Reset as each
        # top-up starts, so it cannot stand in for `_backlog`, which outlives it.
        self._drained = False
        # Whether the last claim came back full: a backlog, which claims run ahead for.
        self._backlog = False
        # The link whose loop watches the listening session, and that session's socket.
        self._watched: tuple[_BrokerLink, int] | None = None
        self._commits_waiting = False
        self._link: _BrokerLink | None = None
        self._seq = 0
        self._unconfirmed: OrderedDict[int, tuple[_Batch, int]] = OrderedDict()
        # The claim running in `_claimer`'s thread while batches are in flight.
        self._claiming: Future | None = None
        self._claimer: ThreadPoolExecutor | None = None
        self._inflight: deque[_Batch] = deque()
        # Rows the broker returned or refused: id -> monotonic time before which they are
        # not claimed again. Kept in memory: after a restart they are simply tried again.
        self._held: dict[int, float] = {}
        self._wake = threading.Event()

    # -- public API ---------------------------------------------------------------------

    def relay_once(self) -> int:
        """Claim, publish and mark one batch; returns the number of rows marked sent."""
        return self._cycle(depth=1)

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set, reconnecting with capped backoff on failures."""
        backoff = _FIRST_BACKOFF
        while not stop.is_set():
            try:
                sent = self._cycle(depth=self._depth)
                backoff = _FIRST_BACKOFF
            except Exception as exc:
                if isinstance(exc, AMQP_ERRORS):
                    log.warning(
                        "broker unavailable, the outbox keeps growing; retrying in %.1fs: %r",
                        backoff,
                        exc,
                    )
                elif isinstance(exc, SQLAlchemyError):
                    log.warning("outbox database error; retrying in %.1fs: %r", backoff, exc)
                else:
                    # A relay that dies stops every event of its service: log and go on.
                    log.exception("relay failed unexpectedly; retrying in %.1fs", backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if not self._busy and (sent == 0 or (self._drained and self._listener is not None)):
                # A listening relay that emptied the outbox waits for the next commit's
                # notification; one that drained meanwhile was already covered by the claim.
                self._idle(stop)
        try:
            # Let what is already on the wire be confirmed and marked, so a clean stop
            # leaves no duplicates behind; a claim not yet published is rolled back.
            self._drop_claim()
            while self._inflight:
                self._cycle(depth=0)
        except Exception as exc:
            log.warning("relay stopped with a batch unconfirmed; it will be sent again: %r", exc)
        self.close()

    @property
    def connected(self) -> bool:
        """Whether this relay holds an open confirm channel to the broker (read by the
        worker's heartbeat from another thread; a standby relay holds none)."""
        link = self._link
        return link is not None and link.ready

    def wake(self) -> None:
        """Ask a running relay to look at the outbox now (thread-safe).

        Suits `UnitOfWork.after_commit` when producer and relay share a process; the poll
        still runs, so a lost wake-up only costs `poll_seconds`.
        """
        self._wake.set()

    def backlog(self) -> tuple[int, datetime | None]:
        """(unsent rows, created_at of the oldest unsent row) for readiness checks."""
        outbox = self.outbox
        with self.engine.connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.published_at.is_(None)
                )
            ).one()
        return int(count), oldest

    def purge_sent(self, older_than: timedelta) -> int:
        """Delete rows published longer ago than `older_than` (retention); returns the count."""
        outbox = self.outbox
        cutoff = datetime.now(UTC) - older_than
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(outbox).where(
                    outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff
                )
            )
        return result.rowcount

    def close(self) -> None:
        """Roll back unconfirmed batches, drop the broker connection, the leadership and
        the listening session."""
        self._drop_broker()
        claimer, self._claimer = self._claimer, None
        if claimer is not None:
            claimer.shutdown()
        self._drop_listener()
        lock_conn, self._lock_conn = self._lock_conn, None
        if lock_conn is not None:
            try:
                # Released explicitly, so a standby can take over at once: the server ends a
                # closed session's locks only when it notices the session is gone.
                lock_conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._lock_key})
            except SQLAlchemyError as exc:
                log.debug("releasing the relay's leadership failed: %r", exc)
            try:
                # Back in the pool the session, and with it the lock, would live on:
                # discard the connection so the session ends and a standby can take over.
                lock_conn.invalidate()
                lock_conn.close()
            except SQLAlchemyError as exc:
                log.debug("closing the relay's lock connection failed: %r", exc)

    def _drop_broker(self) -> None:
        self._drop_claim()
        while self._inflight:
            batch = self._inflight.popleft()
            try:
                batch.conn.close()  # rolls the claim back: the rows stay unsent
            except SQLAlchemyError as exc:
                log.debug("rolling back a relay batch failed: %r", exc)
        self._unconfirmed.clear()
        self._watched = None  # the link's loop, and what it watched, go with it
        link, self._link = self._link, None
        if link is not None:
            link.close()

    # -- one round ------------------------------------------------------------------------

    def _cycle(self, depth: int) -> int:
        """Top the pipeline up to `depth` batches, then finish the oldest one."""
        try:
            if depth > 0 and self._link is not None and self._link.blocked:
                # Claiming now would hold row locks (on SQLite, the database's write lock)
                # for as long as the broker's alarm lasts: only what is in flight goes on.
                self._link.turn()
                if self._link.blocked:
                    self._drop_claim()
                    depth = 0
            if depth > 0:
                if not self._ensure_leader():
                    return 0
                self._ensure_listener()
                self._ensure_channel()
                self._watch_commits()
                self._top_up(depth)
            if not self._inflight:
                return 0
            batch = self._inflight[0]
            deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
            while not self._wait_for_confirms(batch, depth, deadline):
                # A commit came while the broker persists this batch: send its rows now.
                self._top_up(depth)
            self._inflight.popleft()
            return self._finish(batch)
        except BaseException:
            self.close()
            raise

    @property
    def _busy(self) -> bool:
        return bool(self._inflight) or self._claiming is not None

    def _may_claim(self, depth: int, publishing: int = 0) -> bool:
        # A short batch took every row there was: claiming again at once would only find
        # the rows committed in between, and cost a transaction; unless a commit has been
        # notified since that claim began.
        if self._drained and not self._commits_waiting:
            return False
        return len(self._inflight) + publishing + (self._claiming is not None) < depth

    def _top_up(self, depth: int) -> None:
        """Publish a claim that came back and claim again while the pipeline has room.

        With a batch in flight or about to be published, the next claim runs in
        `_claimer`'s thread, so the database works on it while this thread publishes and
        the broker confirms; with none (always so with depth 1, and so on SQLite) it runs
        here.
        """
        self._drained = False
        while True:
            if self._claiming is not None:
                if self._inflight and not self._claiming.done():
                    return  # it comes back while the loop waits for confirms
                claiming, self._claiming = self._claiming, None
                claimed = claiming.result()
            elif self._may_claim(depth):
                if self._inflight and self._backlog:
                    self._claim_ahead(self._next_claim())
                    continue
                claimed = self._claim(self._next_claim())
            else:
                return
            self._drained = claimed is None or len(claimed[1]) < self.batch_size
            # A few rows committed at a steady rate are claimed and sent at once from this
            # thread: handing a small claim to the other thread and back measured a p99
            # of 40-60 ms at 200 events/s against 20 ms claimed here.
            self._backlog = not self._drained
            if claimed is not None:
                if self._may_claim(depth, publishing=1):
                    self._claim_ahead(self._next_claim())
                self._publish(*claimed)

    def _next_claim(self):
        self._commits_waiting = False
        # The claim about to run covers the commits notified so far.
        self._forget_notifications()
        return self._claim_statement()

    def _claim_ahead(self, statement) -> None:
        if self._claimer is None:
            self._claimer = ThreadPoolExecutor(1, thread_name_prefix="outbox-claim")
        self._claiming = self._claimer.submit(self._claim, statement)
        # The loop may be waiting for confirms: let it see the claim come back.
        self._claiming.add_done_callback(lambda _done, link=self._link: link.progress_threadsafe())

    def _claim(self, statement) -> tuple[Connection, list] | None:
        """Claim rows in a transaction left open; None (and no transaction) if none."""
        conn = self.engine.connect()
        try:
            conn.begin()
            if not self._sqlite:
                # Statistics taken while the outbox was nearly empty make the planner read
                # and sort every unsent row to find the first few hundred, each claim anew:
                # a burst of tens of thousands then costs more than publishing it. Reading
                # the partial index of unsent rows in id order needs no sort.
                # The commit need not wait for the disk: a commit the server loses in a
                # crash (its last fraction of a second) leaves its rows unsent, as they
                # were before the claim, so they are published again. A duplicate at worst,
                # never a loss, as with any relay crash.
                conn.execute(_CLAIM_SETTINGS)
            rows = conn.execute(statement).all()
        except BaseException:
            conn.close()
            raise
        if not rows:
            conn.close()
            return None
        return conn, rows

    def _drop_claim(self) -> None:
        claiming, self._claiming = self._claiming, None
        if claiming is None:
            return
        try:
            claimed = claiming.result()
        except Exception as exc:
            log.debug("a relay claim failed while its batches were dropped: %r", exc)
            return
        if claimed is not None:
            try:
                claimed[0].close()  # rolls the claim back: the rows stay unsent
            except SQLAlchemyError as exc:
                log.debug("rolling back a relay claim failed: %r", exc)

    def _publish(self, conn: Connection, rows: list) -> None:
        rows.sort(key=lambda row: row.id)  # RETURNING promises no order
        batch = _Batch(conn=conn, rows=rows, outstanding=len(rows))
        self._inflight.append(batch)
        publish = self._link.channel.basic_publish
        exchange, unconfirmed, seq = self.exchange, self._unconfirmed, self._seq
        # basic_publish encodes the properties at once, so one object serves every row.
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent, content_type=CONTENT_TYPE
        )
        for index, row in enumerate(rows):
            seq += 1
            unconfirmed[seq] = (batch, index)
            properties.message_id = row.event_id
            properties.timestamp = int(row.created_at.timestamp())
            # The channel only buffers a publish; the batch is written by the loop.
            publish(exchange, row.routing_key, row.body.encode("utf-8"), properties, mandatory=True)
        self._seq = seq
        self._link.turn()

    def _wait_for_confirms(self, batch: _Batch, depth: int, deadline: float) -> bool:
        """True once the broker confirmed `batch`; False earlier if a claim came back, or
        a commit's notification came and the pipeline has room for another batch."""
        self._link.run_until(
            lambda: batch.outstanding == 0
            or (self._claiming is not None and self._claiming.done())
            or (self._commits_waiting and self._may_claim(depth)),
            deadline - time.monotonic(),
            f"{batch.outstanding} message(s) unconfirmed",
        )
        return batch.outstanding == 0

    def _finish(self, batch: _Batch) -> int:
        conn = batch.conn
        try:
            if batch.failed:
                self._unclaim(conn, batch)
            conn.commit()
        finally:
            conn.close()
        return len(batch.rows) - len(batch.failed)

    def _unclaim(self, conn: Connection, batch: _Batch) -> None:
        outbox = self.outbox
        ids = list(batch.failed)
        for chunk in _chunks(ids):
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(chunk))
                .values(published_at=None, attempts=outbox.c.attempts + 1)
            )
        now = time.monotonic()
        failed_rows = [row for row in batch.rows if row.id in batch.failed]
        for row in failed_rows:
            delay = min(self.max_backoff, _FIRST_BACKOFF * 2 ** (row.attempts or 0))
            self._held[row.id] = now + delay
        keys = sorted({row.routing_key for row in failed_rows})
        reasons = sorted(set(batch.failed.values()))
        log.warning(
            "%d outbox event(s) not accepted by the broker (%s) for %s; kept unsent, retried"
            " with backoff",
            len(failed_rows),
            ", ".join(reasons),
            ", ".join(keys),
        )

    def _claim_statement(self):
        outbox = self.outbox
        now = time.monotonic()
        for row_id in [i for i, until in self._held.items() if until <= now]:
            del self._held[row_id]
        candidates = (
            select(outbox.c.id)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self.batch_size)
        )
        if self._held:
            candidates = candidates.where(outbox.c.id.not_in(list(self._held)))
        if not self._sqlite:
            candidates = candidates.with_for_update(skip_locked=True)
        return (
            update(outbox)
            .where(outbox.c.id.in_(candidates.scalar_subquery()))
            .values(published_at=datetime.now(UTC))
            .returning(
                outbox.c.id,
                outbox.c.event_id,
                outbox.c.routing_key,
                outbox.c.body,
                outbox.c.created_at,
                outbox.c.attempts,
            )
        )

    # -- broker side ----------------------------------------------------------------------

    def _ensure_channel(self) -> None:
        if self._link is not None and self._link.ready:
            return
        self._drop_broker()
        link = _BrokerLink(
            connection_parameters(self.amqp_url, self.connection_name),
            self.exchange,
            on_confirm=self._on_confirm,
            on_return=self._on_return,
            declare_exchange=self.declare_exchange,
        )
        try:
            link.run_until(lambda: link.ready, OPEN_TIMEOUT_SECONDS, "opening the channel")
        except BaseException:
            link.close()
            raise
        self._link, self._seq = link, 0
        log.info("relay connected to the broker")

    def _on_confirm(self, frame) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        if method.multiple:
            tags = []
            for seq in self._unconfirmed:
                if seq > method.delivery_tag:
                    break
                tags.append(seq)
        else:
            tags = [method.delivery_tag] if method.delivery_tag in self._unconfirmed else []
        for seq in tags:
            batch, index = self._unconfirmed.pop(seq)
            batch.outstanding -= 1
            if not acked:
                batch.failed.setdefault(batch.rows[index].id, "nacked")

    def _on_return(self, method, properties) -> None:
        # A return precedes the confirm of the same message, so its batch is in flight. It
        # names the message by id and routing key: an event that moves a case between OPDs
        # is two rows with one id.
        for batch in self._inflight:
            row = batch.row_for(properties.message_id, method.routing_key)
            if row is not None:
                batch.failed[row.id] = f"unroutable: {method.reply_text}"
                return

    # -- database side --------------------------------------------------------------------

    def _ensure_leader(self) -> bool:
        """With `exclusive` on PostgreSQL: hold the session lock that makes this relay active."""
        if not self.exclusive or self._sqlite:
            return True
        if self._lock_conn is not None:
            # The lock lives as long as this session: prove the session is still there.
            self._lock_conn.execute(text("SELECT 1"))
            return True
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._lock_key}
            ).scalar()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._lock_conn = conn
        log.info("relay is now the active publisher of %s", self.outbox.name)
        return True

    def _ensure_listener(self) -> None:
        """On PostgreSQL: a session of its own LISTENing on the outbox's wake-up channel."""
        if not self._listens or self._listener is not None:
            return
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            driver = conn.connection.driver_connection
            driver.execute(sql.SQL("LISTEN {}").format(sql.Identifier(wakeup_channel(self.outbox))))
        except psycopg.Error as exc:
            _discard(conn)
            raise SQLAlchemyError(f"listening for outbox commits failed: {exc!r}") from exc
        except BaseException:
            _discard(conn)
            raise
        self._listener = conn

    def _watch_commits(self) -> None:
        """Let the broker link's loop, which runs while a batch awaits its confirms, also
        notice commits, so their rows need not wait for that batch."""
        if self._listener is None:
            return
        try:
            fd = self._listener.connection.driver_connection.fileno()
        except psycopg.Error as exc:
            log.warning("lost the session listening for outbox commits; polling: %r", exc)
            self._drop_listener()
            return
        if self._watched == (self._link, fd):
            return
        self._unwatch_commits()
        self._link.watch(fd, self._commit_readable)
        self._watched = (self._link, fd)

    def _commit_readable(self) -> None:
        if self._listener is not None and self._notified(0):
            self._commits_waiting = True

    def _unwatch_commits(self) -> None:
        watched, self._watched = self._watched, None
        if watched is not None and watched[0] is self._link:
            watched[0].unwatch(watched[1])

    def _drop_listener(self) -> None:
        self._unwatch_commits()
        listener, self._listener = self._listener, None
        if listener is not None:
            # Back in the pool the session would go on listening, and collect notifications.
            _discard(listener)

    def _notified(self, seconds: float) -> bool:
        """Wait up to `seconds` for a commit's notification; True if one (or more) came."""
        driver = self._listener.connection.driver_connection
        try:
            came = any(True for _ in driver.notifies(timeout=seconds, stop_after=1))
            if came:
                # Commits that came meanwhile are all covered by the claim that follows.
                for _ in driver.notifies(timeout=0):
                    pass
        except psycopg.Error as exc:
            log.warning("lost the session listening for outbox commits; polling: %r", exc)
            self._drop_listener()
            return False
        return came

    def _forget_notifications(self) -> None:
        """Drop the notifications already here: the claim about to run covers their commits."""
        if self._listener is not None:
            self._notified(0)

    def _idle(self, stop: threading.Event) -> None:
        # Keep answering heartbeats while there is nothing to send.
        if self._link is not None:
            try:
                self._link.turn()
            except AMQP_ERRORS as exc:
                log.warning("broker connection lost while idle: %r", exc)
                self.close()
        if self._commits_waiting:
            return  # the link's loop took a commit's notification (`_watch_commits`)
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._wake.is_set():
                self._wake.clear()
                return
            slice_seconds = min(remaining, _WAIT_SLICE_SECONDS)
            if self._listener is not None:
                if self._notified(slice_seconds):
                    return
            elif self._wake.wait(slice_seconds):
                self._wake.clear()
                return


def _discard(conn: Connection) -> None:
    try:
        conn.invalidate()
        conn.close()
    except SQLAlchemyError as exc:
        log.debug("closing a relay session failed: %r", exc)
