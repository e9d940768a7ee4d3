"""Event consumers: a durable quorum queue, an inbox, manual acks and dead letters.

Each message is handled in the consumer's own unit of work. The event id goes into the
inbox table in the same transaction as the handler's effects, and the message is acked only
after that transaction commits: a redelivery (after a crash, a lost ack or a duplicate
publish by the relay) finds its id in the inbox and has no second effect.

A message that can never succeed is dead-lettered instead of blocking the queue:
- a malformed envelope, or a handler raising `PermanentError`, goes at once to the
  `simpul.dead` exchange with the reason in the `x-simpul-error` header;
- any other exception requeues the message after a short, growing pause, and the quorum
  queue's delivery limit dead-letters it once it has been returned `delivery_limit` times
  (RabbitMQ 3.10 has no default limit: it is set explicitly here).
Dead letters land in `<queue>.dead`; `python -m services.common.deadletters` lists and
replays them.

Group commit: when several messages are already waiting, up to `max_group` of them are
handled in one transaction, in order, and acked after its single commit (one disk flush
instead of one per message, which is what limits a consumer's rate). If any of them fails,
that transaction is rolled back and the messages are handled one by one as above, so a
failure never costs another message its effect, and the inbox skips whatever a handler had
already committed on its own. Handlers therefore must not act outside the database except
through `uow.after_commit`, which is the rule for redeliveries anyway.

Threads: pika connections are not thread-safe and `BlockingConnection` answers heartbeats
only while called into. The thread that calls `run()` owns the connection and keeps pumping
it; handlers run one at a time, in arrival order, on a worker thread, which hands its acks
back with `add_callback_threadsafe`. A handler may take longer than the heartbeat interval.
"""

from __future__ import annotations

import functools
import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
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
_PUMP_SECONDS = 0.2
# How long a stopping consumer waits, once its handler is done, for the last acks to go out.
_DRAIN_SECONDS = 10.0

Handler = Callable[[UnitOfWork, dict[str, Any]], None]


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the message is dead-lettered at once."""


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dead"


def declare_consumer_queue(
    channel, queue: str, bindings: Sequence[str], *, delivery_limit: int, exchange: str = EXCHANGE
) -> None:
    """Declare the exchanges, the quorum queue with its bindings, and its dead-letter queue.

    Declarations are idempotent, but a queue's arguments cannot change once it exists: a
    different delivery limit needs the queue deleted (after draining) or a policy.
    """
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_EXCHANGE, exchange_type="direct", durable=True)
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


class _Session:
    """One connection's channels and the worker that handles its deliveries."""

    def __init__(self, connection, channel, publisher):
        self.connection = connection
        self.channel = channel
        self.publisher = publisher
        self.deliveries: queue_module.Queue = queue_module.Queue()
        self.closing = threading.Event()
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

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending


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
        max_backoff: float = 30.0,
        retry_delay: float = 0.5,
        max_group: int = 20,
        exchange: str = EXCHANGE,
    ):
        if delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self.name = name
        self.queue = queue
        self.bindings = tuple(bindings)
        self.handler = handler
        self.uow_factory = uow_factory
        self.inbox = inbox
        self.amqp_url = amqp_url
        self.delivery_limit = delivery_limit
        self.prefetch = prefetch
        self.max_backoff = max_backoff
        self.retry_delay = retry_delay
        self.max_group = max_group
        # Only tests bind elsewhere, to keep their events away from real subscribers.
        self.exchange = exchange
        # Set once the queue is declared and consuming; cleared while disconnected.
        self.ready = threading.Event()

    @property
    def dead_queue(self) -> str:
        return dead_letter_queue(self.queue)

    # -- the unit of work ---------------------------------------------------------------

    def process(self, envelope: dict[str, Any]) -> bool:
        """Handle one parsed envelope in a unit of work; False if it was already processed."""
        with self.uow_factory() as uow:
            if not self._record_in_inbox(uow.session, str(envelope["id"])):
                return False
            self.handler(uow, envelope)
            uow.commit()
        return True

    def _record_in_inbox(self, session: Session, event_id: str) -> bool:
        return event_id in self._record_all_in_inbox(session, [event_id])

    def _record_all_in_inbox(self, session: Session, event_ids: list[str]) -> set[str]:
        """Insert the ids not yet in the inbox, in one statement; returns those inserted."""
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # A concurrent copy of the same event waits here for the first one's outcome.
            statement = postgresql.insert(self.inbox).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(self.inbox).on_conflict_do_nothing()
        else:  # pragma: no cover - only the two supported databases are deployed
            statement = insert(self.inbox)
        now = datetime.now(UTC)
        rows = [
            {"consumer": self.name, "event_id": event_id, "processed_at": now}
            for event_id in dict.fromkeys(event_ids)
        ]
        # RETURNING rather than rowcount, which psycopg reports as -1 for this statement.
        returned = session.execute(statement.returning(self.inbox.c.event_id), rows)
        return set(returned.scalars())

    # -- the connection loop --------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; finishes the message in hand, then closes cleanly."""
        backoff = _FIRST_BACKOFF
        while not stop.is_set():
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
                # The messages stay unacked and return when the channel closes.
                log.exception("consumer %s failed outside its handler", self.name)

    def _handle_group(self, session: _Session, group: list) -> bool:
        """Handle waiting messages in one transaction; False (nothing done) if any fails."""
        try:
            envelopes = [parse_envelope(body) for _method, _properties, body in group]
        except ValueError:
            return False  # the one-by-one path dead-letters the malformed one
        try:
            with self.uow_factory() as uow:
                ids = [str(envelope["id"]) for envelope in envelopes]
                fresh = self._record_all_in_inbox(uow.session, ids)
                for event_id, envelope in zip(ids, envelopes, strict=True):
                    if event_id in fresh:
                        fresh.discard(event_id)  # a second copy in the group is skipped
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
        except ValueError as exc:
            with bound_event_id(properties.message_id):
                log.error("consumer %s dead-letters a malformed event: %s", self.name, exc)
                self._dead_letter(session, method, properties, body, f"malformed envelope: {exc}")
            return
        with bound_event_id(str(envelope["id"])):
            wait = self.retry_delay
            while True:
                try:
                    processed = self.process(envelope)
                except PermanentError as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    log.error(
                        "consumer %s dead-letters %s: %s", self.name, envelope.get("type"), reason
                    )
                    self._dead_letter(session, method, properties, body, reason)
                    return
                except Exception as exc:
                    if _is_disconnect(exc) and not session.closing.is_set():
                        # The database, not the message, is at fault: hold the message
                        # (unacked, heartbeats continue) rather than spend its deliveries.
                        log.warning(
                            "consumer %s lost its database; retrying in %.1fs: %r",
                            self.name,
                            wait,
                            exc,
                        )
                        session.closing.wait(wait)
                        wait = min(wait * 2, self.max_backoff)
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
        # A quorum queue hands a requeued message straight back: pause so a passing fault
        # has a chance to clear before the delivery limit is spent.
        session.closing.wait(min(self.max_backoff, self.retry_delay * 2**returns))
        session.call(functools.partial(session.channel.basic_nack, tag, requeue=True))

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
            message_id=properties.message_id,
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
