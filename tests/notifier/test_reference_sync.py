"""A service that joins after the last change still reaches the notifier's calendar and OPDs.

Real RabbitMQ and PostgreSQL: the notifier's admin changes are published and gone before
PPID's queue and database exist; the notifier's timer publishes both lists again, and PPID's
reference consumer (the chassis's `<service>.calendar` consumer, on a test exchange and
queue) brings a brand-new database up to date with no operator step.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import pika
import pytest

from services.common.auth import Principal
from services.common.calendar_sync import REFERENCE_BINDINGS
from services.common.cli import migrate
from services.common.consumer import EventConsumer
from services.common.relay import OutboxRelay
from services.common.runtime import build_runtime
from services.common.worker import Timer
from services.notifier import directory, handlers, reference
from services.ppid.__main__ import SERVICE as PPID
from services.ppid.config import PpidSettings
from services.ppid.models import Base as PpidBase

ADMIN = Principal(sub="admin", name=None, roles=frozenset({"admin"}), opd=None)
HOLIDAY = date(2026, 12, 28)  # a Monday no library lists
NEW_OPD = {"code": "disparbud", "name": "Dinas Pariwisata dan Kebudayaan", "short_name": "Disparbud",
           "kind": "dinas"}


class Threads:
    def __init__(self):
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, target) -> None:
        thread = threading.Thread(target=target, args=(self.stop,), daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.fixture
def broker(amqp_url, unique):
    """A private exchange with a sink queue, so the notifier's mandatory publishes route
    while no service listens yet; removed afterwards with every queue the test made."""
    exchange = f"test.reference.{unique}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    sink = f"test.reference.sink.{unique}"
    channel.queue_declare(sink, exclusive=True)
    channel.queue_bind(sink, exchange, routing_key="#")
    queues: list[str] = []
    yield exchange, queues
    for queue in queues:
        channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    connection.close()


def _ppid_reached(url: str, make_settings) -> tuple[bool, object]:
    """What a PPID web process started now would see (it reads the stored lists)."""
    rt = build_runtime(make_settings(PpidSettings, "ppid", url), PpidBase.metadata)
    try:
        rt.calendar_sync.refresh()
        opd = rt.opds.get(NEW_OPD["code"])
        dishub = rt.opds.get("dishub")
        return (not rt.calendar.is_working_day(HOLIDAY) and opd is not None
                and dishub is not None and not dishub.active), rt.opds.codes()
    finally:
        rt.dispose()


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_a_service_created_after_the_last_change_catches_up_within_a_minute(
    migrated, make_rt, make_pg_database, make_settings, amqp_url, broker, unique
):
    exchange, queues = broker
    notifier = make_rt(migrated, NOTIFIER_REFERENCE_REPUBLISH="500ms")
    threads = Threads()
    try:
        relay = OutboxRelay(notifier.engine, notifier.outbox, amqp_url, exchange=exchange,
                            poll_seconds=0.05, connection_name=f"test-reference-{unique}")
        threads.start(relay.run)
        # The operators' changes, published while PPID's queue and database do not exist.
        handlers.add_calendar_exception(
            notifier, ADMIN, {"date": HOLIDAY, "type": "holiday", "name": "Cuti bersama tambahan"})
        directory.create_opd(notifier, ADMIN, NEW_OPD)
        _dishub, tag = directory.get_opd(notifier, "dishub")
        directory.update_opd(notifier, ADMIN, "dishub", {"active": False}, tag)
        deadline = time.monotonic() + 15
        while relay_pending(notifier) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not relay_pending(notifier), "the changes went out before PPID existed"

        # PPID arrives: a new database, migrated as `migrate` does, and a new queue.
        ppid_url = make_pg_database("simpul_test_late")
        settings = make_settings(PpidSettings, "ppid", ppid_url)
        migrate(PPID, settings)
        assert _ppid_reached(ppid_url, make_settings)[0] is False, "it starts from the shipped files"
        ppid = build_runtime(settings, PpidBase.metadata)
        queue = f"test.ppid.calendar.{unique}"
        queues += [queue, f"{queue}.dead"]
        consumer = EventConsumer(name="ppid.calendar", queue=queue, bindings=REFERENCE_BINDINGS,
                                 handler=ppid.calendar_sync.handle_event, uow_factory=ppid.uow,
                                 inbox=ppid.inbox, amqp_url=amqp_url, exchange=exchange)
        started = time.monotonic()
        threads.start(consumer.run)
        timer = Timer("reference", notifier.settings.reference_republish_seconds,
                      lambda: reference.republish(notifier))
        threads.start(timer.loop)

        reached, codes = False, ()
        while not reached and time.monotonic() - started < 60:
            time.sleep(0.25)
            reached, codes = _ppid_reached(ppid_url, make_settings)
        assert reached, f"PPID did not reach the notifier's lists within a minute: {codes}"
        assert codes[: len(codes) - 1] == tuple(c for c in codes if c != NEW_OPD["code"]), \
            "the OPDs keep config/opd.json's order, the new one after them"

        # Repeats keep arriving and change nothing.
        time.sleep(notifier.settings.reference_republish_seconds * 4)
        with ppid.uow() as uow:
            assert ppid.calendar_sync.stored_calendar(uow.session).version == 1
            assert ppid.calendar_sync.stored_directory(uow.session).version == 1
        ppid.dispose()
    finally:
        threads.close()


def relay_pending(rt) -> bool:
    with rt.engine.connect() as conn:
        return conn.execute(
            rt.outbox.select().where(rt.outbox.c.published_at.is_(None)).limit(1)
        ).first() is not None
