"""The worker process: the outbox relay, the service's consumers and its timers.

Each part runs on its own thread with its own pika connection (connections are never
shared across threads). SIGTERM or Ctrl-C lets every part finish what it holds and stop.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.common import heartbeat
from services.common.calendar_sync import REFERENCE_BINDINGS, purge_reference_inbox
from services.common.consumer import (
    RECONNECT_BACKOFF_CAP,
    Check,
    EventConsumer,
    GroupHandler,
    quiet_pika_connection_errors,
)
from services.common.heartbeat import HeartbeatWriter
from services.common.relay import OutboxRelay
from services.common.runtime import Runtime

log = logging.getLogger("simpul.worker")
# Sent events are kept a week for inspection, then deleted so the outbox stays small.
OUTBOX_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class Timer:
    """Calls `run()` every `interval` seconds; an exception is logged and the timer goes on."""

    name: str
    interval: float
    run: Callable[[], None]

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run()
            except Exception:  # noqa: BLE001 - a timer must outlive one bad round
                log.exception("timer failed", extra={"timer": self.name})
            stop.wait(self.interval)


def make_consumer(
    rt: Runtime,
    purpose: str,
    bindings: Sequence[str],
    handler,
    *,
    check: Check | None = None,
    group_handler: GroupHandler | None = None,
) -> EventConsumer:
    """A consumer of this service with the queue `<service>.<purpose>`.

    `check` is the service's pure validation of an envelope, run before any database work:
    it raises `PermanentError` for an event no delivery can handle (dead-lettered at once).
    `group_handler` does the work of several waiting events at once (see `EventConsumer`).
    """
    name = f"{rt.settings.service}.{purpose}"
    return EventConsumer(
        name=name,
        queue=name,
        bindings=bindings,
        handler=handler,
        uow_factory=rt.uow,
        inbox=rt.inbox,
        amqp_url=rt.settings.amqp_url,
        delivery_limit=rt.settings.consumer_delivery_limit,
        prefetch=rt.settings.consumer_prefetch,
        check=check,
        declare_exchanges=rt.settings.amqp_declare_exchanges,
        group_handler=group_handler,
    )


def calendar_consumer(rt: Runtime) -> EventConsumer:
    """Every service follows the notifier's working-day exceptions and OPD directory.

    The queue keeps its first name, `<service>.calendar`, so a running system's queue gains
    the directory binding instead of being replaced.
    """
    return make_consumer(rt, "calendar", REFERENCE_BINDINGS, rt.calendar_sync.handle_event)


def reference_inbox_timer(rt: Runtime) -> Timer:
    consumer = f"{rt.settings.service}.calendar"
    return Timer(
        "reference-inbox-retention",
        3600,
        lambda: purge_reference_inbox(rt.engine, rt.inbox, consumer, rt.clock()),
    )


def run_worker(
    rt: Runtime,
    *,
    consumers: Sequence[EventConsumer] = (),
    timers: Sequence[Timer] = (),
    stop: threading.Event | None = None,
) -> None:
    stop = stop or threading.Event()
    relay = OutboxRelay(
        rt.engine,
        rt.outbox,
        rt.settings.amqp_url,
        batch_size=rt.settings.relay_batch_size,
        poll_seconds=rt.settings.relay_poll_seconds,
        # A broker back after a restart is used within seconds, not after a 30 s pause.
        max_backoff=RECONNECT_BACKOFF_CAP,
        declare_exchange=rt.settings.amqp_declare_exchanges,
    )
    quiet_pika_connection_errors()
    consumers = [*consumers, calendar_consumer(rt)]
    timers = [*timers, Timer("outbox-retention", 3600, lambda: relay.purge_sent(OUTBOX_RETENTION)),
              reference_inbox_timer(rt)]
    parts: list[tuple[str, Callable[[threading.Event], None]]] = [("relay", relay.run)]
    parts += [(f"consumer:{c.queue}", c.run) for c in consumers]
    parts += [(f"timer:{t.name}", t.loop) for t in timers]
    heartbeats = heartbeat.table_of(rt.outbox.metadata)
    if heartbeats is not None:
        # What /readyz of the web processes knows of the broker and of these parts.
        writer = HeartbeatWriter(rt.engine, heartbeats, heartbeat.worker_parts(relay, consumers))
        parts.append(("heartbeat", writer.run))
    threads = [threading.Thread(target=fn, args=(stop,), name=name, daemon=True) for name, fn in parts]

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    log.info("worker starting", extra={"parts": [name for name, _ in parts]})
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(1.0)
        dead = [t.name for t in threads if not t.is_alive()]
        if dead:
            log.error("worker part ended unexpectedly; stopping", extra={"parts": dead})
            stop.set()
    for thread in threads:
        thread.join(timeout=30)
    rt.dispose()
    log.info("worker stopped")
