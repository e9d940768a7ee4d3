"""Fixtures of the chassis tests: a runtime over a throwaway service's tables, the outbox
and inbox on either database, and a broker to relay to (directly or through a proxy a test
can cut)."""

from __future__ import annotations

import socket
import threading
import uuid

import pika
import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine, make_session_factory
from services.common.numbering import Numbering, number_counter_table
from services.common.outbox import UnitOfWork, plumbing_tables
from services.common.runtime import build_runtime
from services.common.settings import Settings

AMQP_HOST = ("127.0.0.1", 5672)


@pytest.fixture
def make_chassis_runtime(make_settings):
    """Builds the runtime of a throwaway service whose tables are `metadata` (the chassis's
    plumbing tables among them), on `database_url`; disposes of it after the test.

    `migrated=False` leaves the database empty, as a service's is before `migrate`;
    otherwise its tables are created and the working-day calendar seeded, as `migrate` does.
    """
    made = []

    def make(metadata: MetaData, database_url: str, *, migrated: bool = True, **env: str):
        rt = build_runtime(make_settings(Settings, "test", database_url, **env), metadata)
        made.append(rt)
        if migrated:
            metadata.create_all(rt.engine)
            with rt.uow() as uow:
                rt.calendar_sync.seed(uow.session)
                uow.commit()
        return rt

    yield make
    for rt in made:
        rt.dispose()


@pytest.fixture
def make_numbered_tables():
    """Builds a service's schema in miniature on `database_url`: numbered reports with a
    child row (reporters), the counters and the outbox; disposes of its engine after the
    test. Returns the numbering, a session factory, the outbox, reports and reporters."""
    engines = []

    def make(database_url: str):
        metadata = MetaData()
        counters = number_counter_table(metadata)
        outbox, _ = plumbing_tables(metadata)
        reports = Table(
            "reports", metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("number", String(20), nullable=False, unique=True),
            Column("sequence", Integer, nullable=False),
            Column("title", String(200), nullable=False),
        )
        reporters = Table(
            "reporters", metadata,
            Column("report_id", ForeignKey("reports.id"), primary_key=True),
            Column("name", String(200), nullable=False),
        )
        engine = make_engine(database_url)
        engines.append(engine)
        metadata.create_all(engine)
        return Numbering(counters, outbox=outbox), sessionmaker(engine), outbox, reports, reporters

    yield make
    for engine in engines:
        engine.dispose()


class Plumbing:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        metadata = MetaData()
        self.outbox, self.inbox = plumbing_tables(metadata)
        metadata.create_all(self.engine)
        self.sessions = make_session_factory(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.outbox)

    def commit_events(self, *events) -> None:
        with self.uow() as uow:
            uow.publish(*events)
            uow.commit()

    def count(self, *where) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(self.outbox).where(*where)
            ).scalar()

    def sent(self) -> int:
        return self.count(self.outbox.c.published_at.is_not(None))


def _plumbing_on(url: str):
    p = Plumbing(url)
    yield p
    p.engine.dispose()


@pytest.fixture
def plumbing(database_url):
    yield from _plumbing_on(database_url)


@pytest.fixture
def sqlite_plumbing(sqlite_url):
    yield from _plumbing_on(sqlite_url)


@pytest.fixture
def pg_plumbing(pg_url):
    yield from _plumbing_on(pg_url)


@pytest.fixture
def broker(amqp_url):
    """A channel, a private events exchange (so the test's events reach no real subscriber
    of the shared broker) and queues bound to it; all deleted after the test."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    exchange = f"test.events.{uuid.uuid4().hex[:8]}"
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    created: list[str] = []

    def make_queue(binding: str, name: str) -> str:
        channel.queue_declare(name, durable=True)
        channel.queue_bind(name, exchange, routing_key=binding)
        created.append(name)
        return name

    channel.make_queue = make_queue
    channel.exchange = exchange
    yield channel
    for name in created:
        channel.queue_delete(name)
    channel.exchange_delete(exchange)
    connection.close()


class FlakyProxy:
    """A TCP forwarder to the broker that a test can cut, and keep refusing for a while.

    It disrupts only the connections made through it, so other users of the shared broker
    are left alone.
    """

    def __init__(self, target=AMQP_HOST):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        # Cleared, the broker's answers are held back: it accepts but never confirms.
        self.answering = threading.Event()
        self.answering.set()
        self.closed = False
        self.cuts = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            if not self.up.is_set():
                client.close()  # the "broker" is down: refuse
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.answering), daemon=True
            ).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, gate=None) -> None:
        try:
            while data := source.recv(65536):
                while gate is not None and not gate.wait(0.1):
                    pass
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self, down_for: float = 0.0) -> None:
        """Drop every forwarded connection; refuse new ones for `down_for` seconds."""
        if down_for:
            self.up.clear()
            threading.Timer(down_for, self.up.set).start()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.cuts += 1

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy():
    p = FlakyProxy()
    yield p
    p.close()
