"""Event consumers: a durable quorum queue, an inbox, manual acks and dead letters.

Each message is handled in the consumer's own unit of work. The event id goes into the
inbox table in the same transaction as the handler's effects, and the message is acked only
after that transaction commits: a redelivery (after a crash, a lost ack or a duplicate
publish by the relay) finds its id in the inbox and has no second effect.

A message that can never succeed is dead-lettered instead of blocking the queue:
- a body that does not parse or an envelope that fails its checks (whatever the parser
  raised), a `check` or handler raising `PermanentError`, and a value the database refuses
  as data (`DataError`: too long, out of range) go at once to the `simpul.dead` exchange
  with the reason in the `x-simpul-error` header;
- any other exception returns the message to the queue after a short, growing pause, and
  the quorum queue's delivery limit dead-letters it once it has been returned
  `delivery_limit` times (RabbitMQ 3.10 has no default limit: it is set explicitly here).
  The pause is a timer on the connection's thread while the message stays unacked: the
  handler thread goes on with the messages behind it.
Dead letters land in `<queue>.dead`; `python -m services.common.deadletters` lists and
replays them.

A database that cannot be reached is no fault of the message. When a handler fails and
the database does not answer a probe, the consumer holds the messages it has (unacked, at
most `prefetch`; it takes no more), logs once that the database is unreachable, probes it
with back-off for as long as it takes, logs once that it is back, and goes on with the
message it held. No delivery is spent, so no valid event is dead-lettered for an outage.

Group commit: when several messages are already waiting, up to `max_group` of them are
handled in one transaction, in order, and acked after its single commit (one disk flush
instead of one per message, which is what limits a consumer's rate). If any of them fails,
that transaction is rolled back and the messages are handled one by one as above, so a
failure never costs another message its effect, and the inbox skips whatever a handler had
already committed on its own. Handlers therefore must not act outside the database except
through `uow.after_commit`, which is the rule for redeliveries anyway. A consumer given a
`group_handler` hands it the group's new events (in order, the inbox's duplicates left out)
in one call, so it can do their work in a few statements; the one-by-one path still uses
`handler`, which must have the same effects.

Threads: pika connections are not thread-safe and `BlockingConnection` answers heartbeats
only while called into. The thread that calls `run()` owns the connection and keeps pumping
it; handlers run one at a time, in arrival order, on a worker thread, which hands its acks
back with `add_callback_threadsafe`. A handler may take longer than the heartbeat interval.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from sqlalchemy import String, Table, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session

from services.common.events import DEAD_EXCHANGE, EXCHANGE, parse_envelope
from services.common.logs import bound_event_id
from services.common.outbox import UnitOfWork
from services.common.relay import AMQP_ERRORS, connection_parameters

log = logging.getLogger(__name__)

ERROR_HEADER = "x-simpul-error"
ORIGINAL_ROUTING_KEY_HEADER = "x-original-routing-key"
ORIGINAL_QUEUE_HEADER = "x-original-queue"
_MAX_REASON_CHARS = 1000
_FIRST_BACKOFF = 0.5
# Reconnecting to the broker, or probing a database that went away, never waits longer
# than this between attempts: a broker back after a restart is used within seconds.
RECONNECT_BACKOFF_CAP = 5.0
# A pooled database connection that died under a handler is retried at once, this often,
# when the database itself answers (a restart of the server kills idle connections).
_RETRIES_IN_PLACE = 2
_PUMP_SECONDS = 0.2
# How long a stopping consumer waits, once its handler is done, for the last acks to go out.
_DRAIN_SECONDS = 10.0

Handler = Callable[[UnitOfWork, dict[str, Any]], None]
GroupHandler = Callable[[UnitOfWork, list[dict[str, Any]]], None]
Check = Callable[[dict[str, Any]], None]


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the message is dead-lettered at once."""


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dead"


def body_id(body: bytes) -> str:
    """The name of a message that came without a `message_id`: its body's digest."""
    return "sha256-" + hashlib.sha256(body).hexdigest()[:32]


def declare_consumer_queue(
    channel,
    queue: str,
    bindings: Sequence[str],
    *,
    delivery_limit: int,
    exchange: str = EXCHANGE,
    declare_exchanges: bool = True,
) -> None:
    """Declare the exchanges, the quorum queue with its bindings, and its dead-letter queue.

    Declarations are idempotent, but a queue's arguments cannot change once it exists: a
    different delivery limit needs the queue deleted (after draining) or a policy. With
    `declare_exchanges` false the exchanges are the operator's and are only checked (a
    passive declare needs no configure right on them).
    """
    passive = not declare_exchanges
    channel.exchange_declare(exchange, exchange_type="topic", durable=True, passive=passive)
    channel.exchange_declare(DEAD_EXCHANGE, exchange_type="direct", durable=True, passive=passive)
    dead = dead_letter_queue(queue)
    # The dead-letter queue exists before anything can be dead-lettered into it.
    channel.queue_declare(dead, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(dead, DEAD_EXCHANGE, routing_key=queue)
    channel.queue_declare(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_EXCHANGE,
            "x-dead-letter-routing-key": queue,
            # Dead-lettering is fire-and-forget by default; at-least-once keeps the message
            # in this queue until the dead-letter queue has confirmed it (it requires the
            # reject-publish overflow behaviour).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )
    for pattern in bindings:
        channel.queue_bind(queue, exchange, routing_key=pattern)


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _never_succeeds(exc: BaseException) -> bool:
    """An error the same message meets on every delivery: retrying only delays the rest."""
    return isinstance(exc, PermanentError | DataError)


class _PikaConnectionNoise(logging.Filter):
    """Drops pika's own records of a failed connection attempt or a lost connection.

    One refused connection makes pika log seven ERROR records (socket, connector, workflow,
    a traceback), a lost one four, before the exception reaches the caller, which logs the
    one line that matters with the reason; pika's other records are kept.
    """

    _NOISY = (
        "Socket failed to connect",
        "TCP Connection attempt failed",
        "AMQPConnector - reporting failure",
        "AMQP connection workflow failed",
        "AMQPConnectionWorkflow - reporting failure",
        "Connection workflow failed",
        "Error in _create_connection()",
        "Full-stack connection workflow failed",
        "Self-initiated stack bring-up failed",
        # ... and of a connection that was lost: the caller logs that it reconnects, and why.
        "Socket EOF",
        "Socket error",
        "Transport indicated EOF",
        "connection_lost",
        "Unexpected connection close detected",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not message.startswith(self._NOISY)


_QUIET = _PikaConnectionNoise()
_PIKA_CONNECTION_LOGGERS = (
    "pika.adapters.utils.io_services_utils",
    "pika.adapters.utils.connection_workflow",
    "pika.adapters.blocking_connection",
    "pika.adapters.base_connection",
    "pika.adapters.select_connection",
    "pika.connection",
)


def quiet_pika_connection_errors() -> None:
    """Leaves one log line per failed broker connection attempt: the caller's own."""
    for name in _PIKA_CONNECTION_LOGGERS:
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


class _Session:
    """One connection's channels and the worker that handles its deliveries."""

    def __init__(self, connection, channel, publisher):
        self.connection = connection
        self.channel = channel
        self.publisher = publisher
        self.deliveries: queue_module.Queue = queue_module.Queue()
        self.closing = threading.Event()
        # Set by the handler thread when it cannot go on: the connection is then dropped,
        # so the broker takes back what this session holds.
        self.broken = threading.Event()
        self._pending = 0
        self._lock = threading.Lock()

    def call(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the connection's thread (from the worker thread)."""
        with self._lock:
            self._pending += 1

        def run():
            try:
                callback()
            finally:
                with self._lock:
                    self._pending -= 1

        try:
            self.connection.add_callback_threadsafe(run)
        except pika.exceptions.ConnectionWrongStateError:
            with self._lock:
                self._pending -= 1
            log.info("connection closed before the ack; the broker redelivers, the inbox skips it")

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the connection's thread after `delay` seconds.

        Not counted as pending: a stop does not wait for it, since closing the channel
        returns the message just as the callback would.
        """
        try:
            self.connection.add_callback_threadsafe(
                lambda: self.connection.call_later(delay, callback)
            )
        except pika.exceptions.ConnectionWrongStateError:
            log.info("connection closed before a requeue; the broker returns the message")

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending


@functools.cache
def _inbox_insert_statement(inbox: Table):
    """PostgreSQL's insert of a group's event ids into `inbox`, skipping those already in."""
    # An array of unbounded text: a cast to the column's VARCHAR(64)[] would cut a longer id
    # short without a word, where the insert refuses it.
    ids = func.unnest(bindparam("ids", type_=postgresql.ARRAY(String())))
    return (
        postgresql.insert(inbox)
        .from_select(
            ["consumer", "event_id", "processed_at"],
            select(
                bindparam("consumer", type_=inbox.c.consumer.type),
                ids,
                bindparam("now", type_=inbox.c.processed_at.type),
            ),
        )
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )


class EventConsumer:
    """Consumes one queue with one handler; `run(stop)` until stopped."""

    def __init__(
        self,
        *,
        name: str,
        queue: str,
        bindings: Sequence[str],
        handler: Handler,
        uow_factory: Callable[[], UnitOfWork],
        inbox: Table,
        amqp_url: str,
        delivery_limit: int = 5,
        prefetch: int = 50,
        max_backoff: float = RECONNECT_BACKOFF_CAP,
        retry_delay: float = 0.5,
        max_group: int = 20,
        exchange: str = EXCHANGE,
        check: Check | None = None,
        probe: Callable[[], None] | None = None,
        declare_exchanges: bool = True,
        group_handler: GroupHandler | None = None,
    ):
        if delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self.name = name
        self.queue = queue
        self.bindings = tuple(bindings)
        self.handler = handler
        self.group_handler = group_handler
        self.uow_factory = uow_factory
        self.inbox = inbox
        self.amqp_url = amqp_url
        self.delivery_limit = delivery_limit
        self.prefetch = prefetch
        self.max_backoff = max_backoff
        self.retry_delay = retry_delay
        self.max_group = max_group
        # A pure check of an envelope, run before any database work: it raises
        # PermanentError (or ValueError) for a message no delivery can handle.
        self.check = check
        # Raises while the database cannot be reached; by default a `SELECT 1` in a unit of
        # work.
        self.probe = probe or self._select_one
        # True from the moment the database stopped answering until it answers again.
        self.database_down = False
        # Only tests bind elsewhere, to keep their events away from real subscribers.
        self.exchange = exchange
        self.declare_exchanges = declare_exchanges
        # Set once the queue is declared and consuming; cleared while disconnected.
        self.ready = threading.Event()

    @property
    def dead_queue(self) -> str:
        return dead_letter_queue(self.queue)

    # -- the unit of work ---------------------------------------------------------------

    def process(self, envelope: dict[str, Any]) -> bool:
        """Handle one parsed envelope in a unit of work; False if it was already processed."""
        self._check(envelope)
        with self.uow_factory() as uow:
            if not self._record_in_inbox(uow.session, str(envelope["id"])):
                return False
            self.handler(uow, envelope)
            uow.commit()
        return True

    def _check(self, envelope: dict[str, Any]) -> None:
        if self.check is None:
            return
        try:
            self.check(envelope)
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc

    def _select_one(self) -> None:
        with self.uow_factory() as uow:
            uow.session.execute(text("SELECT 1"))

    def _database_answers(self) -> bool:
        try:
            self.probe()
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, it did not answer
            log.debug("consumer %s: database probe failed: %r", self.name, exc)
            return False
        return True

    def _database_lost(self, exc: BaseException) -> None:
        if not self.database_down:
            self.database_down = True
            log.warning(
                "consumer %s cannot reach its database; holding its messages until it "
                "answers: %s",
                self.name,
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
            )

    def _database_back(self) -> None:
        if self.database_down:
            self.database_down = False
            log.warning("consumer %s reaches its database again; consuming resumes", self.name)

    def _await_database(self, stopping: threading.Event) -> bool:
        """Probe with back-off until the database answers (True) or `stopping` is set."""
        delay = _FIRST_BACKOFF
        while not stopping.wait(delay):
            if self._database_answers():
                self._database_back()
                return True
            delay = min(delay * 2, self.max_backoff)
        return False

    def _record_in_inbox(self, session: Session, event_id: str) -> bool:
        return event_id in self._record_all_in_inbox(session, [event_id])

    def _record_all_in_inbox(self, session: Session, event_ids: list[str]) -> set[str]:
        """Insert the ids not yet in the inbox, in one statement; returns those inserted."""
        dialect = session.get_bind().dialect.name
        now = datetime.now(UTC)
        ids = list(dict.fromkeys(event_ids))
        if dialect == "postgresql":
            # The ids as one array: one statement text whatever the group's size. A row of
            # parameters per event made a text per size, each built, parsed and planned on
            # its own; the array saved 20-30 us of Python per event (consumer benchmark).
            # A concurrent copy of the same event waits here for the first one's outcome.
            returned = session.execute(
                _inbox_insert_statement(self.inbox), {"consumer": self.name, "ids": ids, "now": now}
            )
            return set(returned.scalars())
        if dialect == "sqlite":
            statement = sqlite.insert(self.inbox).on_conflict_do_nothing()
        else:  # pragma: no cover - only the two supported databases are deployed
            statement = insert(self.inbox)
        rows = [{"consumer": self.name, "event_id": event_id, "processed_at": now} for event_id in ids]
        # RETURNING rather than rowcount, which psycopg reports as -1 for this statement.
        returned = session.execute(statement.returning(self.inbox.c.event_id), rows)
        return set(returned.scalars())

    # -- the connection loop --------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; finishes the message in hand, then closes cleanly."""
        quiet_pika_connection_errors()
        backoff = _FIRST_BACKOFF
        while not stop.is_set():
            if self.database_down and not self._await_database(stop):
                break  # stopped while the database was away: nothing was taken
            started = time.monotonic()
            try:
                self._consume(stop)
            except Exception as exc:
                # A consumer that had been running a while starts its backoff afresh.
                if time.monotonic() - started > self.max_backoff:
                    backoff = _FIRST_BACKOFF
                if isinstance(exc, AMQP_ERRORS):
                    log.warning(
                        "consumer %s lost the broker or its channel; reconnecting in %.1fs: %r",
                        self.name,
                        backoff,
                        exc,
                    )
                else:
                    log.exception("consumer %s failed; restarting in %.1fs", self.name, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def _consume(self, stop: threading.Event) -> None:
        connection = pika.BlockingConnection(
            connection_parameters(self.amqp_url, f"consumer {self.name}")
        )
        session: _Session | None = None
        worker: threading.Thread | None = None
        try:
            channel = connection.channel()
            declare_consumer_queue(
                channel,
                self.queue,
                self.bindings,
                delivery_limit=self.delivery_limit,
                exchange=self.exchange,
                declare_exchanges=self.declare_exchanges,
            )
            publisher = connection.channel()
            publisher.confirm_delivery()
            channel.basic_qos(prefetch_count=self.prefetch)
            session = _Session(connection, channel, publisher)
            worker = threading.Thread(
                target=self._work, args=(session,), name=f"consumer-{self.name}", daemon=True
            )
            worker.start()
            tag = channel.basic_consume(
                self.queue,
                on_message_callback=lambda _ch, method, props, body: session.deliveries.put(
                    (method, props, body)
                ),
            )
            self.ready.set()
            log.info("consumer %s consuming %s", self.name, self.queue)
            while not stop.is_set():
                connection.process_data_events(time_limit=_PUMP_SECONDS)
                if session.broken.is_set():
                    raise RuntimeError("the handler thread gave up its messages")
            # Stop: no new deliveries, let the message in hand finish and its ack go out.
            # Deliveries not yet started return to the queue when the channel closes.
            channel.basic_cancel(tag)
            session.closing.set()
            session.deliveries.put(None)
            while worker.is_alive():  # however long the handler takes: heartbeats go on
                connection.process_data_events(time_limit=0.05)
            deadline = time.monotonic() + _DRAIN_SECONDS
            while session.pending and time.monotonic() < deadline:
                connection.process_data_events(time_limit=0.05)
        finally:
            self.ready.clear()
            if session is not None:
                session.closing.set()
                session.deliveries.put(None)
            if connection.is_open:
                try:
                    connection.close()
                except AMQP_ERRORS as exc:
                    log.debug("closing consumer connection failed: %r", exc)
            if worker is not None:
                # Keeps one message at a time across reconnects: the next connection's
                # deliveries wait until this handler has finished.
                worker.join()

    # -- the worker thread ----------------------------------------------------------------

    def _work(self, session: _Session) -> None:
        ending = False
        while not ending:
            item = session.deliveries.get()
            if item is None or session.closing.is_set():
                return
            group = [item]
            # Take what is already waiting, never wait for more: no added latency.
            while len(group) < self.max_group:
                try:
                    item = session.deliveries.get_nowait()
                except queue_module.Empty:
                    break
                if item is None:
                    ending = True
                    break
                group.append(item)
            try:
                if len(group) > 1 and self._handle_group(session, group):
                    continue
                for method, properties, body in group:
                    if session.closing.is_set():
                        return  # unacked: back to the queue when the channel closes
                    self._handle(session, method, properties, body)
            except Exception:
                # Nothing a message holds should end here; if something does, the messages
                # in hand must not stay unacked behind a thread that gave up on them:
                # dropping the connection returns them (and spends their delivery).
                log.exception("consumer %s failed outside its handler; reconnecting", self.name)
                session.broken.set()
                return

    def _handle_group(self, session: _Session, group: list) -> bool:
        """Handle waiting messages in one transaction; False (nothing done) if any fails."""
        try:
            envelopes = [parse_envelope(body) for _method, _properties, body in group]
            for envelope in envelopes:
                self._check(envelope)
        except Exception:  # noqa: BLE001 - the one-by-one path says what is wrong, and with which
            return False
        try:
            with self.uow_factory() as uow:
                ids = [str(envelope["id"]) for envelope in envelopes]
                fresh = self._record_all_in_inbox(uow.session, ids)
                new = []
                for event_id, envelope in zip(ids, envelopes, strict=True):
                    if event_id in fresh:
                        fresh.discard(event_id)  # a second copy in the group is skipped
                        new.append((event_id, envelope))
                if self.group_handler is not None:
                    if new:
                        self.group_handler(uow, [envelope for _id, envelope in new])
                else:
                    for event_id, envelope in new:
                        with bound_event_id(event_id):
                            self.handler(uow, envelope)
                uow.commit()
        except Exception as exc:
            log.info(
                "consumer %s handles a group of %d one by one after %r",
                self.name,
                len(group),
                exc,
            )
            return False
        for method, _properties, _body in group:
            session.call(functools.partial(session.channel.basic_ack, method.delivery_tag))
        return True

    def _handle(self, session: _Session, method, properties, body: bytes) -> None:
        tag = method.delivery_tag
        try:
            envelope = parse_envelope(body)
        except Exception as exc:  # noqa: BLE001 - a body no parser can read is malformed, whatever it raised
            with bound_event_id(properties.message_id):
                log.error("consumer %s dead-letters a malformed event: %s", self.name, exc)
                self._dead_letter(session, method, properties, body, f"malformed envelope: {exc}")
            return
        with bound_event_id(str(envelope["id"])):
            retries_in_place = 0
            while True:
                try:
                    processed = self.process(envelope)
                except Exception as exc:
                    if _never_succeeds(exc):
                        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                        log.error(
                            "consumer %s dead-letters %s: %s", self.name, envelope.get("type"), reason
                        )
                        self._dead_letter(session, method, properties, body, reason)
                        return
                    if session.closing.is_set():
                        return  # unacked: back to the queue when the channel closes
                    if not self._database_answers():
                        # The database, not the message, is at fault: hold the message
                        # (unacked, heartbeats go on, no delivery spent) until it answers.
                        self._database_lost(exc)
                        if self._await_database(session.closing):
                            continue
                        return
                    if _is_disconnect(exc) and retries_in_place < _RETRIES_IN_PLACE:
                        retries_in_place += 1
                        log.info("consumer %s retries after a lost database connection", self.name)
                        continue
                    self._requeue_later(session, tag, properties, envelope)
                    return
                if not processed:
                    log.info("consumer %s skipped an event it already processed", self.name)
                session.call(functools.partial(session.channel.basic_ack, tag))
                return

    def _requeue_later(self, session: _Session, tag: int, properties, envelope) -> None:
        returns = int((properties.headers or {}).get("x-delivery-count", 0))
        log.exception(
            "consumer %s failed on %s (delivery %d of at most %d)",
            self.name,
            envelope.get("type"),
            returns + 1,
            self.delivery_limit + 1,
        )
        # A quorum queue hands a returned message straight back: it is returned after a
        # pause, so a passing fault has a chance to clear before the delivery limit is
        # spent. The pause is the connection thread's timer, never this thread's sleep:
        # the messages behind this one are handled meanwhile.
        delay = min(self.max_backoff, self.retry_delay * 2**returns)
        session.call_later(delay, functools.partial(session.channel.basic_nack, tag, requeue=True))

    def _dead_letter(self, session: _Session, method, properties, body: bytes, reason: str) -> None:
        headers = dict(properties.headers or {})
        headers.update(
            {
                ERROR_HEADER: reason[:_MAX_REASON_CHARS],
                ORIGINAL_ROUTING_KEY_HEADER: method.routing_key,
                ORIGINAL_QUEUE_HEADER: self.queue,
            }
        )
        dead_properties = pika.BasicProperties(
            content_type=properties.content_type,
            # A dead letter needs a name to be shown, replayed or purged by.
            message_id=properties.message_id or body_id(body),
            timestamp=properties.timestamp,
            delivery_mode=pika.DeliveryMode.Persistent,
            headers=headers,
        )
        tag = method.delivery_tag

        def publish_then_ack():
            # Runs on the connection's thread. The publisher channel confirms, so the
            # original is acked only once the dead copy is safely queued.
            try:
                session.publisher.basic_publish(
                    DEAD_EXCHANGE, self.queue, body, dead_properties, mandatory=True
                )
            except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                log.error("consumer %s could not dead-letter a message: %r", self.name, exc)
                session.channel.basic_nack(tag, requeue=True)
                return
            session.channel.basic_ack(tag)

        session.call(publish_then_ack)
