"""Worker heartbeats: what `/readyz` of a web process knows about the worker beside it.

Web processes never talk to RabbitMQ, so they cannot see whether the broker is reachable or
the consumers are moving. The worker tells them through the service's own database: every
`BEAT_SECONDS` it writes one row per part (the relay, each consumer) and per worker process,
in `worker_heartbeats`, with the part's state:

- `ok`: connected to the broker and moving (or with nothing to do);
- `disconnected`: no open channel to the broker (the broker is down, unreachable, or the
  part is between reconnection attempts);
- `stalled`: connected, but a consumer has held one message longer than `STALL_SECONDS`, or
  the relay has left the outbox untouched that long while rows wait in it.

`/readyz` reads the rows written in the last `STALE_SECONDS`: it is ready only if some
worker wrote in that time, and every part named by those rows is `ok` in at least one
worker (on PostgreSQL one relay publishes and the others, standing by, have no channel). A worker killed with -9 stops writing, so
its rows grow stale and no longer count; a table rather than a file, so the web and the
worker need not share a disk (containers).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, delete, select
from sqlalchemy.exc import SQLAlchemyError

from services.common.db import UtcDateTime

log = logging.getLogger(__name__)

TABLE = "worker_heartbeats"
BEAT_SECONDS = 5.0
STALE_SECONDS = 30.0
STALL_SECONDS = 120.0
# Rows of worker processes that ended are deleted after this long (they stopped counting
# once stale); kept a while for an operator asking which worker last wrote.
RETENTION = timedelta(days=1)

OK, DISCONNECTED, STALLED = "ok", "disconnected", "stalled"
RELAY = "relay"


def heartbeat_table(metadata: MetaData) -> Table:
    """The heartbeat table, added to a service's own metadata (and its migrations)."""
    return Table(TABLE, metadata, *_columns())


def _columns() -> list[Any]:
    return [
        Column("instance", String(200), nullable=False),  # host:pid of the worker
        Column("part", String(200), nullable=False),  # "relay", "consumer:<queue>"
        Column("state", String(20), nullable=False),
        Column("since", UtcDateTime(), nullable=False),  # when the state began
        Column("beat_at", UtcDateTime(), nullable=False),
        # Named as the services' naming convention names it, in models and migrations alike.
        PrimaryKeyConstraint("instance", "part", name=f"pk_{TABLE}"),
    ]


def create_heartbeat_table(op) -> None:
    """For a service's migration: `create_heartbeat_table(op)` in its `upgrade()`."""
    op.create_table(TABLE, *_columns())


def drop_heartbeat_table(op) -> None:
    op.drop_table(TABLE)


def table_of(metadata: MetaData) -> Table | None:
    """The heartbeat table of a service's metadata; None for a service without a worker."""
    return metadata.tables.get(TABLE)


# -- the worker side -----------------------------------------------------------------------


class Progress:
    """Wraps a consumer's handler to know whether it holds one message too long."""

    def __init__(self, handler: Callable[..., Any]):
        self.handler = handler
        self._busy_since: float | None = None
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._busy_since = time.monotonic()
        try:
            return self.handler(*args, **kwargs)
        finally:
            with self._lock:
                self._busy_since = None

    def busy_for(self) -> float:
        with self._lock:
            return 0.0 if self._busy_since is None else time.monotonic() - self._busy_since


@dataclass
class Part:
    """One part of a worker as the heartbeat sees it: a name and how to read its state."""

    name: str
    state: Callable[[], str]


def consumer_part(consumer: Any, *, stall_seconds: float | None = None) -> Part:
    """A consumer's heartbeat: its handler is wrapped so a message held too long shows."""
    progress = consumer.handler if isinstance(consumer.handler, Progress) else Progress(consumer.handler)
    consumer.handler = progress

    def state() -> str:
        if not consumer.ready.is_set():
            return DISCONNECTED
        limit = STALL_SECONDS if stall_seconds is None else stall_seconds
        return STALLED if progress.busy_for() > limit else OK

    return Part(f"consumer:{consumer.queue}", state)


def relay_part(relay: Any, *, stall_seconds: float | None = None) -> Part:
    """The relay's heartbeat: connected or not, and whether the outbox moves while it waits.

    The outbox moves when it is empty or its oldest unsent row is no longer the one seen
    before; a connected relay that leaves the same row waiting `stall_seconds` is stalled.
    """
    seen: dict[str, Any] = {"oldest": None, "moved_at": time.monotonic()}

    def state() -> str:
        if not relay.connected:
            return DISCONNECTED
        count, oldest = relay.backlog()
        now = time.monotonic()
        if count == 0 or oldest != seen["oldest"]:
            seen["oldest"], seen["moved_at"] = oldest, now
            return OK
        limit = STALL_SECONDS if stall_seconds is None else stall_seconds
        return STALLED if now - seen["moved_at"] > limit else OK

    return Part(RELAY, state)


class HeartbeatWriter:
    """Writes the parts' states every `interval` seconds; run it on its own thread."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        parts: Sequence[Part],
        *,
        interval: float | None = None,
        instance: str | None = None,
    ):
        self.engine = engine
        self.table = table
        self.parts = list(parts)
        self.interval = BEAT_SECONDS if interval is None else interval
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"
        self._since: dict[str, tuple[str, datetime]] = {}
        self._failing = False

    def beat(self) -> None:
        now = datetime.now(UTC)
        rows = []
        for part in self.parts:
            try:
                state = part.state()
            except Exception as exc:  # noqa: BLE001 - a part that cannot say is not ok
                log.warning("heartbeat of %s could not be read: %r", part.name, exc)
                state = DISCONNECTED
            previous = self._since.get(part.name)
            since = previous[1] if previous and previous[0] == state else now
            self._since[part.name] = (state, since)
            rows.append({"instance": self.instance, "part": part.name, "state": state,
                         "since": since, "beat_at": now})
        with self.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.instance == self.instance))
            conn.execute(delete(self.table).where(self.table.c.beat_at < now - RETENTION))
            if rows:
                conn.execute(self.table.insert(), rows)

    def stopped(self) -> None:
        """Removes this worker's rows: a worker that stops cleanly is gone at once."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(self.table).where(self.table.c.instance == self.instance))
        except SQLAlchemyError as exc:
            log.warning("heartbeat rows could not be removed: %r", exc)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.beat()
                if self._failing:
                    log.info("heartbeats written again")
                self._failing = False
            except SQLAlchemyError as exc:
                # One line per outage: the web's /readyz already says the database is away.
                if not self._failing:
                    log.warning("heartbeats cannot be written: %r", exc)
                self._failing = True
            stop.wait(self.interval)
        self.stopped()


# -- the web side --------------------------------------------------------------------------


def readiness(conn, table: Table, *, stale_seconds: float | None = None
              ) -> tuple[bool, dict[str, Any]]:
    """(ready, what /readyz reports) from the heartbeats written in the last `stale_seconds`."""
    stale_seconds = STALE_SECONDS if stale_seconds is None else stale_seconds
    now = datetime.now(UTC)
    rows = conn.execute(
        select(table.c.instance, table.c.part, table.c.state, table.c.since).where(
            table.c.beat_at >= now - timedelta(seconds=stale_seconds)
        )
    ).all()
    if not rows:
        return False, {"status": f"no worker heartbeat in {stale_seconds:g} s"}
    parts: dict[str, dict[str, Any]] = {}
    # Each part as its best worker reports it: one publishing relay is enough.
    for row in sorted(rows, key=lambda r: (r.part, r.state != OK)):
        parts.setdefault(row.part, {"state": row.state, "since": _iso(row.since)})
    ready = all(report["state"] == OK for report in parts.values())
    return ready, {"workers": len({row.instance for row in rows}), "parts": parts}


def instance_host(instance: str) -> str:
    """The host part of an instance name (`host:pid`): in a container, the container's."""
    return instance.rpartition(":")[0]


def host_readiness(conn, table: Table, host: str, *, stale_seconds: float | None = None
                   ) -> tuple[bool, dict[str, Any]]:
    """(ready, report) of the worker process on `host`, as `/readyz` would judge its parts.

    A container's health check runs beside its worker but in another process, so it knows
    the host name and not the pid. A worker restarted in the same container leaves its
    predecessor's rows until they grow stale: the instance that wrote last is the one
    running. Its relay may stand by without a channel while another host's relay
    publishes (PostgreSQL's single leader): that is ready, as `readiness` counts it; its
    consumers each hold their own channel and must all be ok.
    """
    stale_seconds = STALE_SECONDS if stale_seconds is None else stale_seconds
    now = datetime.now(UTC)
    rows = conn.execute(
        select(table.c.instance, table.c.part, table.c.state, table.c.since, table.c.beat_at)
        .where(table.c.beat_at >= now - timedelta(seconds=stale_seconds))
    ).all()
    mine = [row for row in rows if instance_host(row.instance) == host]
    if not mine:
        return False, {"status": f"no heartbeat from a worker on {host} in {stale_seconds:g} s"}
    instance = max(mine, key=lambda row: row.beat_at).instance
    # A predecessor in the same container is gone, whatever its last rows say.
    relay_elsewhere = any(
        row.part == RELAY and row.state == OK and instance_host(row.instance) != host for row in rows
    )
    parts: dict[str, dict[str, Any]] = {}
    ready = True
    for row in sorted((r for r in mine if r.instance == instance), key=lambda r: r.part):
        report = {"state": row.state, "since": _iso(row.since)}
        if row.state != OK and row.part == RELAY and relay_elsewhere:
            report["standby"] = True
        elif row.state != OK:
            ready = False
        parts[row.part] = report
    return ready, {"instance": instance, "parts": parts}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def worker_parts(relay: Any, consumers: Iterable[Any]) -> list[Part]:
    return [relay_part(relay), *(consumer_part(c) for c in consumers)]
