"""Notifier benchmark: tick cost against the number of open clocks, and events consumed per second.

    .venv/bin/python bench/notifier_bench.py [--sizes 10000,1000000] [--repeats 3] [--events 5000]
        [--consumer-rounds 3] [--only tick|consumer]

Needs the local PostgreSQL (one throwaway database per size, created and dropped; admin URL
from BENCH_PG_ADMIN_URL) and RabbitMQ (BENCH_AMQP_URL). It measures:

(a) one `tick(now)` that finds 1,000 due notification steps, with 10,000 and with 1,000,000
    open clocks. Each database is migrated as `python -m services.notifier migrate` does, then
    bulk-loaded in SQL (INSERT ... SELECT FROM generate_series, with the tables' indexes and
    keys dropped during the load and rebuilt from their own definitions afterwards): open
    clocks of three kinds across every OPD, running or already breached, due dates spread
    from six weeks ago to four months ahead, six notification steps each (sent when their
    instant has passed, pending otherwise), a `started` history entry each, and contacts
    with email addresses for a third of the OPDs. Exactly 1,000 steps (reminders, breach
    notices, first escalations) are pending and due at the tick instant. The tick runs in
    this process with the Runtime the CLI builds, in development mode with no SMTP server
    (emails are recorded as skipped) and a guard that refuses any Python socket connection
    to a non-loopback address (SMTP, webhooks, AMQP; the database is reached through libpq
    at the loopback URL above). The morning digest of the day is marked as already sent, so the
    tick measures breach detection, the 1,000 steps and webhook delivery. Between
    repetitions the same 1,000 steps are re-armed (pending again, their delivery log removed).
    Prints the median of each size, the ratio, the slowest statements of the tick at both
    sizes, and EXPLAIN (ANALYZE, BUFFERS) of the claim query (as the tick sent it) at the
    largest size.
(b) the notifier's event consumer draining a backlog of ppid-like `request.submitted`
    events that start a response clock, against the same consumer with a handler that does
    nothing, both on quorum queues bound to a private exchange (no other consumer of the
    broker sees these events), on the smallest size's database. The rate is counted from the
    first to the last commit after a warm-up. The two drain in `--consumer-rounds` rounds
    (3), each on a fresh backlog, in alternating order; the median round's ratio is the
    figure. Both consumers take what waits in their
    prefetch window as a group (one transaction); the notifier's is given its group handler
    and its check, as the service's worker is: the group's clocks are locked in one
    statement, its policies and new ids read in another, and its clocks, history and steps
    (six per clock) written in a third. Each round also prints the CPU each drain cost per
    event, this process's (the consumer) and PostgreSQL's processes' (read from /proc), as
    information: where an event's cost lies, in the handler or in the database. `--only consumer` runs this part alone (on a
    database of the first size), `--only tick` the ticks alone. A summary line per figure
    goes to the table of `make bench` (`bench/summary.py`).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import psycopg
from sqlalchemy import event as sa_event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import summary  # noqa: E402
from bench.cpu import processes_cpu_seconds  # noqa: E402
from services.common.cli import migrate  # noqa: E402
from services.common.consumer import EventConsumer, declare_consumer_queue  # noqa: E402
from services.common.events import CONTENT_TYPE, new_event  # noqa: E402
from services.common.logs import configure_logging  # noqa: E402
from services.common.runtime import Runtime  # noqa: E402
from services.notifier import consumers  # noqa: E402
from services.notifier.__main__ import SERVICE  # noqa: E402
from services.notifier.email import Mailer  # noqa: E402
from services.notifier.tick import tick  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
# A Wednesday at ten in the morning, Kuala Kapuas time: a working day, inside office hours.
NOW = datetime.fromisoformat("2026-06-10T10:00:00+07:00")
DUE_STEPS = 1000
# Issue 12's targets: a tick's steps per second, and the consumer's rate as a share of a
# consumer with a handler that does nothing, draining the same backlog.
TICK_TARGET_STEPS = 1000
CONSUMER_TARGET_SHARE = 0.5
INDEX_NODE = re.compile(r"(?:Index (?:Only )?Scan using|Bitmap Index Scan on) (\S+)")
LOADED_TABLES = ("clocks", "notification_steps", "clock_history")
# The steps of every loaded clock, as the seeded ppid.response policy plans them; offsets
# from the due instant in calendar time (the tick does not replan, it reads the instants).
# `pick` names the step a due-at-the-tick clock has due: 0 reminder, 1 breach, 2 escalation.
STEP_ROWS = """
    ('remind:-2wd', 'remind',   NULL::int, '["officer"]',             interval '-2 days',   0),
    ('remind:-4wh', 'remind',   NULL::int, '["officer"]',             interval '-4 hours',  -1),
    ('breach',      'breach',   NULL::int, '["officer"]',             interval '1 second',  1),
    ('escalate:1',  'escalate', 1,         '["officer"]',             interval '1 day',     2),
    ('escalate:2',  'escalate', 2,         '["head","coordinator"]',  interval '2 days',    -1),
    ('escalate:3',  'escalate', 3,         '["sekda"]',               interval '5 days',    -1)
"""


# --- the network guard -----------------------------------------------------------------


class LoopbackOnly:
    """Refuses, and counts, every socket connection to an address that is not loopback."""

    def __init__(self):
        self.refused: list[str] = []
        self._original = {}

    def _allowed(self, sock: socket.socket, address) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # a Unix socket stays on this machine
        host = str(address[0]).split("%", 1)[0]
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = [
                ipaddress.ip_address(info[4][0].split("%", 1)[0])
                for info in socket.getaddrinfo(host, address[1])
            ]
        return all(a.is_loopback for a in addresses)

    def install(self) -> None:
        for name in ("connect", "connect_ex"):
            original = getattr(socket.socket, name)
            self._original[name] = original

            def guarded(sock, address, _original=original):
                if not self._allowed(sock, address):
                    self.refused.append(repr(address))
                    raise ConnectionRefusedError(f"benchmark: no network beyond loopback ({address!r})")
                return _original(sock, address)

            setattr(socket.socket, name, guarded)

    def uninstall(self) -> None:
        for name, original in self._original.items():
            setattr(socket.socket, name, original)


# --- databases -------------------------------------------------------------------------


def create_database() -> tuple[str, str]:
    name = f"simpul_bench_notifier_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def notifier_env(url: str) -> dict[str, str]:
    """The process environment in development mode, without any SMTP setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP_")}
    env.update(SIMPUL_ENV="development", NOTIFIER_DATABASE_URL=url, AMQP_URL=AMQP_URL)
    return env


def migrated_runtime(url: str) -> Runtime:
    """Settings, `migrate` (migrations, calendar, OPDs, policies) and the Runtime, as the CLI does."""
    settings = SERVICE.settings_class.from_env(SERVICE.name, notifier_env(url))
    if settings.email_enabled or Mailer(settings).enabled:
        raise SystemExit("SMTP is configured; the benchmark sends no mail")
    migrate(SERVICE, settings)
    return SERVICE.build_runtime(settings)


# --- bulk load -------------------------------------------------------------------------


@dataclass
class Load:
    clocks: int
    steps: int = 0
    pending: int = 0
    history: int = 0
    insert_seconds: float = 0.0
    index_seconds: float = 0.0
    vacuum_seconds: float = 0.0
    armed: list[int] = field(default_factory=list)


def _schema(conn) -> tuple[list, list, list]:
    """Foreign keys touching the loaded tables, their primary/unique keys, their other indexes."""
    tables = list(LOADED_TABLES)
    fks = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%(t)s)"
        " OR confrelid::regclass::text = ANY(%(t)s)) ORDER BY 1, 2",
        {"t": tables},
    ).fetchall()
    keys = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%(t)s) ORDER BY 1, 2",
        {"t": tables},
    ).fetchall()
    key_names = {name for _table, name, _def in keys}
    indexes = [
        row
        for row in conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' AND tablename = ANY(%(t)s) ORDER BY 1, 2",
            {"t": tables},
        ).fetchall()
        if row[1] not in key_names
    ]
    return fks, keys, indexes


def _all_indexes(conn) -> list:
    return conn.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " ORDER BY 1, 2"
    ).fetchall()


def _all_constraints(conn) -> list:
    return conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
    ).fetchall()


def bulk_load(url: str, clocks: int, opds: list[str]) -> Load:
    if clocks % DUE_STEPS:
        raise SystemExit(f"sizes must be multiples of {DUE_STEPS}")
    load = Load(clocks=clocks)
    params = {"now": NOW, "n": clocks, "stride": clocks // DUE_STEPS, "opds": opds}
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '64MB'")
        before_indexes, before_constraints = _all_indexes(conn), _all_constraints(conn)
        fks, keys, indexes = _schema(conn)
        for table, name, _ in fks:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for _table, name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, name, _ in keys:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        conn.commit()

        started = time.perf_counter()
        # Every 1,000th clock (every 10th at 10,000) has one step due shortly before the tick:
        # a reminder two days ahead of its due date, a breach notice of a clock that fell due
        # within the hour, or a first escalation a day after the due date.
        conn.execute(
            """
            INSERT INTO clocks (id, subject, clock, service, opd, state, run, first_started_at,
                                started_at, due_at, breached_at, stopped_at, late_seconds,
                                late_working_days, last_event_at, last_event_id, created_at,
                                updated_at)
            SELECT i, subject, kind, split_part(kind, '.', 1), opd,
                   CASE WHEN due < %(now)s THEN 'breached' ELSE 'running' END, 1,
                   due - interval '14 days', due - interval '14 days', due,
                   CASE WHEN due < %(now)s THEN due + interval '1 second' END, NULL, NULL, NULL,
                   due - interval '14 days', md5(i::text), due - interval '14 days',
                   CASE WHEN due < %(now)s THEN due + interval '1 second'
                        ELSE due - interval '14 days' END
            FROM (
                SELECT i,
                       CASE WHEN mod(i, 10) < 7 THEN 'ppid.response'
                            WHEN mod(i, 10) < 9 THEN 'lapor.follow_up'
                            ELSE 'lapor.completion' END AS kind,
                       CASE WHEN mod(i, 10) < 7 THEN 'requests/PPID-2026-'
                            ELSE 'reports/LPR-2026-' END || lpad(i::text, 7, '0') AS subject,
                       (%(opds)s::text[])[1 + mod(i, cardinality(%(opds)s::text[]))] AS opd,
                       CASE
                         WHEN mod(i, %(stride)s::bigint) <> 0 THEN
                           %(now)s + (mod(i * 7919, 180) - 45) * interval '1 day'
                                   + mod(i * 104729, 1440) * interval '1 minute'
                         WHEN mod(i / %(stride)s::bigint, 3) = 0 THEN
                           %(now)s + interval '2 days'
                                   - (60 + mod(i / %(stride)s::bigint * 37, 3540)) * interval '1 second'
                         WHEN mod(i / %(stride)s::bigint, 3) = 1 THEN
                           %(now)s - (60 + mod(i / %(stride)s::bigint * 37, 3540)) * interval '1 second'
                         ELSE
                           %(now)s - interval '1 day'
                                   - (60 + mod(i / %(stride)s::bigint * 37, 3540)) * interval '1 second'
                       END AS due
                FROM generate_series(1::bigint, %(n)s::bigint) AS i
            ) AS s
            """,
            params,
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('clocks', 'id'), %(n)s::bigint)", params)
        conn.execute(
            f"""
            INSERT INTO notification_steps (clock_id, run, key, kind, level, notify, planned_at,
                                            send_after, state, attempts, last_error, claimed_at,
                                            claimed_by, sent_at, cancelled_at, created_at)
            SELECT c.id, 1, k.key, k.kind, k.level, k.notify::json, at, at,
                   CASE WHEN due_now OR at > %(now)s THEN 'pending' ELSE 'sent' END,
                   CASE WHEN due_now OR at > %(now)s THEN 0 ELSE 1 END, NULL, NULL, NULL,
                   CASE WHEN due_now OR at > %(now)s THEN NULL ELSE at END, NULL, c.started_at
            FROM clocks AS c
            CROSS JOIN (VALUES {STEP_ROWS}) AS k(key, kind, level, notify, offset_, pick)
            CROSS JOIN LATERAL (
                SELECT c.due_at + k.offset_ AS at,
                       mod(c.id, %(stride)s::bigint) = 0
                         AND k.pick = mod(c.id / %(stride)s::bigint, 3) AS due_now
            ) AS x
            """,
            params,
        )
        conn.execute(
            """
            INSERT INTO clock_history (clock_id, entry, at, recorded_at, event_id, event_type,
                                       run, due_at, detail)
            SELECT id, 'started', started_at, started_at, last_event_id,
                   CASE WHEN service = 'ppid' THEN 'ppid.request.submitted'
                        ELSE 'lapor.report.dispositioned' END,
                   1, due_at, json_build_object('state', 'running', 'opd', opd)
            FROM clocks ORDER BY id
            """
        )
        # Officers and heads with an email address in a third of the OPDs (the others are
        # reached through their role's in-app inbox only), a coordinator per service and the Sekda.
        conn.execute(
            """
            INSERT INTO contacts (opd, role, service, name, email, phone, preferred_channel, sub,
                                  active, version, created_at, updated_at)
            SELECT o.code, r.role, NULL, initcap(r.role) || ' ' || o.code,
                   r.role || '.' || o.code || '@kapuaskab.example', NULL, 'email', NULL,
                   true, 1, %(now)s, %(now)s
            FROM (SELECT code, row_number() OVER (ORDER BY code) AS n FROM directory_opds) AS o
            CROSS JOIN (VALUES ('officer'), ('head')) AS r(role)
            WHERE mod(o.n, 3) = 0
            UNION ALL
            SELECT NULL, 'coordinator', s.service, 'Koordinator ' || s.service,
                   'koordinator.' || s.service || '@kapuaskab.example', NULL, 'email', NULL,
                   true, 1, %(now)s, %(now)s
            FROM (VALUES ('ppid'), ('lapor'), ('siber')) AS s(service)
            UNION ALL
            SELECT NULL, 'sekda', NULL, 'Sekretaris Daerah', 'sekda@kapuaskab.example', NULL,
                   'email', NULL, true, 1, %(now)s, %(now)s
            """,
            params,
        )
        # The day's digest went out with the first tick of the morning.
        conn.execute(
            "INSERT INTO digest_runs (day, claimed_at, claimed_by, completed_at)"
            " VALUES (%(day)s, %(at)s, 'bench', %(at)s)",
            {"day": NOW.date(), "at": NOW.replace(hour=8, minute=0)},
        )
        conn.commit()
        load.insert_seconds = time.perf_counter() - started

        started = time.perf_counter()
        for table, name, definition in keys:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for _table, _name, definition in indexes:
            conn.execute(definition)
        for table, name, definition in fks:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        conn.commit()
        load.index_seconds = time.perf_counter() - started
        if _all_indexes(conn) != before_indexes or _all_constraints(conn) != before_constraints:
            raise SystemExit("the schema after the load differs from the migrated one")

    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        load.vacuum_seconds = time.perf_counter() - started
        load.steps, load.pending = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'pending') FROM notification_steps"
        ).fetchone()
        load.history = conn.execute("SELECT count(*) FROM clock_history").fetchone()[0]
        load.armed = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM notification_steps WHERE state = 'pending' AND send_after <= %s"
                " ORDER BY id",
                (NOW,),
            )
        ]
        open_clocks = conn.execute("SELECT count(*) FROM clocks WHERE stopped_at IS NULL").fetchone()[0]
    if len(load.armed) != DUE_STEPS or open_clocks != clocks:
        raise SystemExit(f"load gave {len(load.armed)} due steps and {open_clocks} open clocks")
    return load


def rearm(url: str, armed: list[int]) -> None:
    """The same steps pending and unclaimed again, as if they had never gone out."""
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM notification_log WHERE step_id = ANY(%s)", (armed,))
        conn.execute(
            "UPDATE notification_steps SET state = 'pending', attempts = 0, last_error = NULL,"
            " claimed_at = NULL, claimed_by = NULL, sent_at = NULL, cancelled_at = NULL"
            " WHERE id = ANY(%s)",
            (armed,),
        )
        conn.commit()


def deliveries(url: str, armed: list[int]) -> Counter:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT channel, status, count(*) FROM notification_log WHERE step_id = ANY(%s)"
            " GROUP BY 1, 2",
            (armed,),
        ).fetchall()
    return Counter({f"{channel}/{status}": count for channel, status, count in rows})


# --- the tick --------------------------------------------------------------------------


class StatementLog:
    """Time per SQL statement and commits on one engine; keeps the tick's two locking queries."""

    def __init__(self, engine):
        self.calls: Counter = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.commits = 0
        self.captured: dict[str, tuple[str, object]] = {}
        self.enabled = False
        sa_event.listen(engine, "before_cursor_execute", self._before)
        sa_event.listen(engine, "after_cursor_execute", self._after)
        sa_event.listen(engine, "commit", self._commit)

    def _commit(self, _conn):
        self.commits += self.enabled

    def _before(self, conn, _cursor, statement, parameters, _context, _many):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, _cursor, statement, parameters, _context, _many):
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        if not self.enabled:
            return
        self.calls[statement] += 1
        self.seconds[statement] += elapsed
        if "SKIP LOCKED" in statement:
            if "FROM notification_steps" in statement:
                self.captured.setdefault("claim", (statement, parameters))
            elif "FROM clocks" in statement:
                self.captured.setdefault("breaches", (statement, parameters))


@dataclass
class TickResult:
    clocks: int
    load: Load
    seconds: list[float]
    cpu_seconds: list[float]
    per_tick: Counter
    statements: dict[str, tuple[float, float]]  # statement -> (calls per tick, ms per call)
    explain: dict[str, list[str]]
    commits: float  # per tick

    @property
    def per_step(self) -> dict[str, float]:
        """Statements, commits, time in SQL and process CPU per step sent (medians for times)."""
        calls = sum(c for c, _ms in self.statements.values())
        sql_ms = sum(c * ms for c, ms in self.statements.values())
        return {
            "wall_ms": statistics.median(self.seconds) * 1000 / DUE_STEPS,
            "cpu_ms": statistics.median(self.cpu_seconds) * 1000 / DUE_STEPS,
            "sql_ms": sql_ms / DUE_STEPS,
            "statements": calls / DUE_STEPS,
            "commits": self.commits / DUE_STEPS,
        }


def measure_ticks(rt: Runtime, url: str, load: Load, repeats: int, explain: bool) -> TickResult:
    statements = StatementLog(rt.engine)
    seconds, cpu_seconds = [], []
    per_tick = Counter()
    for attempt in range(repeats):
        if attempt:
            rearm(url, load.armed)
        statements.enabled = True
        started, cpu = time.perf_counter(), time.process_time()
        summary = tick(rt, NOW)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu)
        statements.enabled = False
        sent = len(summary.sent)
        if not summary.office_hours or sent != DUE_STEPS or summary.withdrawn or summary.retrying:
            raise SystemExit(f"tick did not send the {DUE_STEPS} due steps: {summary.to_dict()}")
        if summary.breached or summary.digests:
            raise SystemExit(f"tick found unexpected work: {summary.to_dict()}")
        per_tick = deliveries(url, load.armed)
        if any(key.startswith("email/") and key != "email/skipped" for key in per_tick):
            raise SystemExit(f"emails were not skipped: {dict(per_tick)}")
    table = {
        statement: (statements.calls[statement] / repeats,
                    statements.seconds[statement] * 1000 / statements.calls[statement])
        for statement in statements.calls
    }
    plans = {}
    if explain:
        rearm(url, load.armed)
        for name in ("claim", "breaches"):
            if name in statements.captured:
                plans[name] = explain_analyze(rt, *statements.captured[name])
    return TickResult(load.clocks, load, seconds, cpu_seconds, per_tick, table, plans,
                      statements.commits / repeats)


def explain_analyze(rt: Runtime, statement: str, parameters) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement exactly as the tick sent it, rolled back."""
    raw = rt.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [row[0] for row in cursor.fetchall()]
        raw.rollback()
        return lines
    finally:
        raw.close()


def run_size(clocks: int, repeats: int, *, explain: bool, consume: int, warmup: float,
             tick: bool = True, consumer_rounds: int = 3):
    name, url = create_database()
    rt = None
    try:
        rt = migrated_runtime(url)
        opds = _opd_codes(url)
        print(f"  loading {clocks:,} open clocks ...", flush=True)
        load = bulk_load(url, clocks, opds)
        print(
            f"  loaded in {load.insert_seconds:.1f} s + {load.index_seconds:.1f} s indexes"
            f" + {load.vacuum_seconds:.1f} s vacuum", flush=True,
        )
        result = None
        if tick:
            print(f"  ticking {repeats} times ...", flush=True)
            result = measure_ticks(rt, url, load, repeats, explain)
            print("  ticks: " + ", ".join(f"{s:.2f} s" for s in result.seconds), flush=True)
        consumed = consumer_bench(rt, consume, warmup, consumer_rounds) if consume else None
        return result, consumed
    finally:
        if rt is not None:
            rt.dispose()
        drop_database(name)


def _opd_codes(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT code FROM directory_opds ORDER BY code")]


# --- the consumer ----------------------------------------------------------------------


@dataclass
class ConsumeResult:
    name: str
    events: int
    consumed: int
    rate: float
    seconds: float
    # CPU seconds spent during the drain by this process (the consumer) and by PostgreSQL's
    # processes: whether an event's cost is the handler's Python or the database's work.
    consumer_cpu: float = 0.0
    database_cpu: float = 0.0

    @property
    def cpu_per_event_us(self) -> float:
        return (self.consumer_cpu + self.database_cpu) / self.consumed * 1e6 if self.consumed else 0.0


def ppid_events(count: int, opds: list[str], first: int = 0) -> list:
    """`ppid.request.submitted` as the PPID service publishes it, each starting a response
    clock; numbered from `first`, so that backlogs of several rounds start different clocks."""
    now = datetime.now(UTC)
    events = []
    for i in range(count):
        opd = opds[i % len(opds)]
        received = now - timedelta(seconds=count - i)
        due = received + timedelta(days=14)
        number = f"PPID-2026-{800000 + first + i:06d}"
        events.append(
            new_event(
                "ppid",
                "request",
                "submitted",
                subject=f"requests/{number}",
                opd=opd,
                time=received,
                data={
                    "number": number,
                    "status": "submitted",
                    "channel": "online",
                    "submitted_at": received,
                    "received_at": received,
                    "due_at": due,
                    "requested_opd": opd,
                    "opd": opd,
                    "sla": {
                        "start": [
                            {"clock": "ppid.response", "due_at": due, "opd": opd,
                             "started_at": received}
                        ]
                    },
                },
            )
        )
    return events


def _depth(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def drain(consumer: EventConsumer, commits: list[float], expected: int,
          timeout: float) -> tuple[float, float, float]:
    """Run the consumer until `expected` commits: (wall seconds, this process's CPU seconds,
    PostgreSQL's CPU seconds)."""
    stop = threading.Event()
    cpu, database = time.process_time(), processes_cpu_seconds("postgres")
    thread = threading.Thread(target=consumer.run, args=(stop,), name=f"bench-{consumer.name}")
    started = time.monotonic()
    thread.start()
    try:
        deadline = started + timeout
        while len(commits) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    return (time.monotonic() - started, time.process_time() - cpu,
            processes_cpu_seconds("postgres") - database)


def steady_rate(commits: list[float], warmup: int) -> float:
    if len(commits) <= warmup + 1:
        return 0.0
    window = commits[warmup:]
    elapsed = window[-1] - window[0]
    return (len(window) - 1) / elapsed if elapsed > 0 else 0.0


def consumer_bench(rt: Runtime, count: int, warmup_share: float,
                   rounds: int = 3) -> list[tuple[ConsumeResult, ConsumeResult]]:
    """The notifier's handler and a no-op handler, each draining the same backlog, in
    `rounds` rounds whose order alternates (a shared machine's speed drifts by more than
    the difference measured); each round publishes a fresh backlog of `count` events to both
    queues. Returns (notifier, no-op) per round."""
    tag = uuid.uuid4().hex[:8]
    exchange = f"bench.events.{tag}"
    settings = rt.settings
    opds = _opd_codes(settings.database_url)
    notifier_commits: list[float] = []
    noop_commits: list[float] = []
    # As the service's worker builds its consumer: one check, shared by the consumer (which
    # checks every message before its unit of work) and the handlers.
    check = consumers.make_check(rt)
    handle = consumers.make_handler(rt, check)
    handle_group = consumers.make_group_handler(rt, check)

    def notifier_handler(uow, envelope):
        handle(uow, envelope)
        uow.after_commit(lambda: notifier_commits.append(time.monotonic()))

    def notifier_group_handler(uow, envelopes):
        handle_group(uow, envelopes)
        uow.after_commit(lambda: notifier_commits.extend([time.monotonic()] * len(envelopes)))

    def noop_handler(uow, _envelope):
        uow.after_commit(lambda: noop_commits.append(time.monotonic()))

    def build(purpose: str, handler, group_handler=None, check=None) -> EventConsumer:
        # As services.common.worker.make_consumer builds it, on the private exchange.
        name = f"bench.notifier.{purpose}.{tag}"
        return EventConsumer(
            name=name,
            queue=name,
            bindings=list(consumers.BINDINGS),
            handler=handler,
            group_handler=group_handler,
            check=check,
            uow_factory=rt.uow,
            inbox=rt.inbox,
            amqp_url=settings.amqp_url,
            delivery_limit=settings.consumer_delivery_limit,
            prefetch=settings.consumer_prefetch,
            exchange=exchange,
        )

    runs = [("notifier", build("events", notifier_handler, notifier_group_handler, check), notifier_commits),
            ("no-op", build("noop", noop_handler), noop_commits)]
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    results: list[tuple[ConsumeResult, ConsumeResult]] = []
    try:
        for _name, consumer, _commits in runs:
            declare_consumer_queue(channel, consumer.queue, consumer.bindings,
                                   delivery_limit=consumer.delivery_limit, exchange=exchange)
        warmup = int(count * warmup_share)
        for number in range(rounds):
            publish_backlog(channel, exchange, ppid_events(count, opds, first=number * count),
                            [consumer.queue for _n, consumer, _l in runs])
            measured = {}
            for name, consumer, commits in (runs if number % 2 == 0 else runs[::-1]):
                print(f"  round {number + 1}: draining with the {name} handler ...", flush=True)
                commits.clear()
                seconds, own_cpu, database_cpu = drain(consumer, commits, count,
                                                       timeout=max(120.0, count / 20))
                dead = _depth(channel, consumer.dead_queue)
                if dead:
                    raise SystemExit(f"{dead} events were dead-lettered by the {name} consumer")
                measured[name] = ConsumeResult(name, count, len(commits),
                                               steady_rate(commits, warmup), seconds,
                                               own_cpu, database_cpu)
            results.append((measured["notifier"], measured["no-op"]))
        with psycopg.connect(settings.database_url) as conn:
            started = conn.execute(
                "SELECT count(*) FROM clocks WHERE subject LIKE 'requests/PPID-2026-8%'"
                " AND state = 'running'"
            ).fetchone()[0]
        if started != count * rounds:
            raise SystemExit(f"the notifier consumer started {started} of {count * rounds} clocks")
    finally:
        for _name, consumer, _commits in runs:
            channel.queue_delete(consumer.queue)
            channel.queue_delete(consumer.dead_queue)
        channel.exchange_delete(exchange)
        connection.close()
    return results


def publish_backlog(channel, exchange: str, events: list, queues: list[str]) -> None:
    """Publish the events (each reaches every queue bound to the exchange) and wait until
    every queue holds them all."""
    print(f"  publishing {len(events):,} events to {exchange} ...", flush=True)
    for ev in events:
        channel.basic_publish(
            exchange,
            ev.routing_key,
            ev.to_json().encode(),
            pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=ev.id,
                content_type=CONTENT_TYPE,
                timestamp=int(ev.time.timestamp()),
            ),
        )
    deadline = time.monotonic() + 120
    while any(_depth(channel, queue) < len(events) for queue in queues):
        if time.monotonic() > deadline:
            raise SystemExit("the broker never held the whole backlog")
        time.sleep(0.1)


# --- the report ------------------------------------------------------------------------


def _short(statement: str, width: int = 78) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def report(ticks: list[TickResult], consumed: list[tuple[ConsumeResult, ConsumeResult]] | None,
           args, guard) -> None:
    if ticks:
        report_ticks(ticks, args, guard)
    if consumed:
        report_consumer(consumed, args)


def report_ticks(ticks: list[TickResult], args, guard) -> None:
    print()
    print(f"Notifier benchmark, PostgreSQL, tick at {NOW.isoformat()} (a working day, office hours)")
    print(f"{'open clocks':>12} {'steps':>10} {'pending':>10} {'history':>10}"
          f" {'load s':>7} {'index s':>8} {'vacuum s':>9}")
    for t in ticks:
        ld = t.load
        print(f"{ld.clocks:>12,} {ld.steps:>10,} {ld.pending:>10,} {ld.history:>10,}"
              f" {ld.insert_seconds:>7.1f} {ld.index_seconds:>8.1f} {ld.vacuum_seconds:>9.1f}")
    print()
    print(f"One tick with {DUE_STEPS:,} due steps (median of {args.repeats}; steps re-armed between runs)")
    print(f"{'open clocks':>12} {'median s':>9} {'steps/s':>8}  runs (s)")
    for t in ticks:
        median = statistics.median(t.seconds)
        runs = ", ".join(f"{s:.2f}" for s in t.seconds)
        print(f"{t.clocks:>12,} {median:>9.2f} {DUE_STEPS / median:>8.0f}  {runs}")
        summary.record("notifier", f"tick, steps/s at {t.clocks:,} clocks", f"{DUE_STEPS / median:,.0f}",
                       f">= {TICK_TARGET_STEPS:,}", DUE_STEPS / median >= TICK_TARGET_STEPS)
    if len(ticks) >= 2:
        small, large = ticks[0], ticks[-1]
        ratio = statistics.median(large.seconds) / statistics.median(small.seconds)
        verdict = "about the same" if ratio <= 1.5 else "NOT about the same"
        print(f"  ratio {large.clocks:,} / {small.clocks:,} clocks: {ratio:.2f}"
              f"  (target: near 1) -> {verdict}")
        summary.record("notifier", f"tick time, {large.clocks:,} / {small.clocks:,} clocks",
                       f"{ratio:.2f}", "<= 1.5", ratio <= 1.5)
    last = ticks[-1]
    delivered = ", ".join(f"{k} {v:,}" for k, v in sorted(last.per_tick.items()))
    print(f"  deliveries per tick: {delivered}  (SMTP_HOST unset: email recorded as skipped)")
    print(f"  connections refused beyond loopback: {len(guard.refused)}")
    for t in ticks:
        p = t.per_step
        print(f"  per step at {t.clocks:,} clocks: {p['wall_ms']:.1f} ms wall, {p['cpu_ms']:.1f} ms"
              f" CPU of this process, {p['statements']:.1f} statements taking {p['sql_ms']:.1f} ms,"
              f" {p['commits']:.1f} commits")

    if len(ticks) >= 2:
        small, large = ticks[0], ticks[-1]
        print()
        print(f"Statements of one tick, slowest in total at {large.clocks:,} clocks"
              f" (ms per call: {small.clocks:,} -> {large.clocks:,})")
        ranked = sorted(large.statements, key=lambda s: -large.statements[s][0] * large.statements[s][1])
        for statement in ranked[: args.top]:
            calls, ms = large.statements[statement]
            small_ms = small.statements.get(statement, (0, 0.0))[1]
            print(f"  {calls:>6.0f}x {small_ms:>7.3f} -> {ms:>7.3f}  {_short(statement)}")

    for name, lines in last.explain.items():
        title = "claim of due steps" if name == "claim" else "breach detection"
        print()
        print(f"EXPLAIN (ANALYZE, BUFFERS) of the tick's {title} at {last.clocks:,} clocks:")
        for line in lines:
            print(f"  {line}")
        scans = [line.strip() for line in lines if "Seq Scan" in line]
        used = [m.group(1) for line in lines if (m := INDEX_NODE.search(line))]
        print(f"  -> {'sequential scan: ' + '; '.join(scans) if scans else 'no sequential scan'};"
              f" index used: {', '.join(used) or 'none'}")



def report_consumer(rounds: list[tuple[ConsumeResult, ConsumeResult]], args) -> None:
    if not rounds:
        return
    print()
    print(f"Events consumed, steady state ({rounds[0][0].events:,} ppid.request.submitted events"
          f" per round each starting a clock, first {args.warmup:.0%} as warm-up, rounds in"
          " alternating order)")
    print(f"{'round':>5} {'notifier/s':>11} {'no-op/s':>9} {'ratio':>6} {'wall s':>12}"
          "  CPU us/event, consumer + PostgreSQL")
    for number, (notifier, noop) in enumerate(rounds, 1):
        print(f"{number:>5} {notifier.rate:>11.0f} {noop.rate:>9.0f} {_share(notifier, noop):>6.2f}"
              f" {notifier.seconds:>5.1f} / {noop.seconds:<5.1f}"
              f"  {_cpu(notifier)} / {_cpu(noop)}")
    notifier, noop = sorted(rounds, key=lambda pair: _share(*pair))[len(rounds) // 2]
    share = _share(notifier, noop)
    print(f"  median round's ratio notifier / no-op: {share:.2f}  (target >= {CONSUMER_TARGET_SHARE})")
    cpu_share = statistics.median(_cpu_share(*pair) for pair in rounds)
    # Information beside the target: the same comparison in CPU spent rather than in wall
    # time, no-op over notifier so that it reads like the rate ratio.
    print(f"  median CPU per event (consumer process + PostgreSQL), no-op / notifier:"
          f" {cpu_share:.2f}  (information)")
    summary.record("notifier", "consumer, events/s against a no-op handler", f"{share:.2f}",
                   f">= {CONSUMER_TARGET_SHARE}", share >= CONSUMER_TARGET_SHARE,
                   f"median of {len(rounds)} rounds: {notifier.rate:,.0f} against "
                   f"{noop.rate:,.0f} events/s")


def _share(notifier: ConsumeResult, noop: ConsumeResult) -> float:
    return notifier.rate / noop.rate if noop.rate else 0.0


def _cpu(result: ConsumeResult) -> str:
    if not result.consumed:
        return "-"
    own, database = (seconds / result.consumed * 1e6
                     for seconds in (result.consumer_cpu, result.database_cpu))
    return f"{own:.0f} + {database:.0f}"


def _cpu_share(notifier: ConsumeResult, noop: ConsumeResult) -> float:
    own = notifier.cpu_per_event_us
    return noop.cpu_per_event_us / own if own else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000",
                        help="open clocks per database, comma-separated, smallest first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", type=int, default=5_000,
                        help="events in the backlog each consumer drains")
    parser.add_argument("--consumer-rounds", type=int, default=3,
                        help="alternating rounds of the two consumers, each on a fresh backlog")
    parser.add_argument("--warmup", type=float, default=0.1, help="share of events left out")
    parser.add_argument("--top", type=int, default=8, help="statements shown")
    parser.add_argument("--only", choices=("tick", "consumer"),
                        help="run one part: the ticks at every size, or the consumer alone"
                             " (on a database of the smallest size)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.only == "consumer":
        sizes = sizes[:1]
    if not sizes or any(s < DUE_STEPS or s % DUE_STEPS for s in sizes) or args.repeats < 1:
        parser.error(f"sizes must be multiples of {DUE_STEPS}; repeats at least 1")
    if args.consumer_rounds < 1:
        parser.error("consumer rounds at least 1")

    guard = LoopbackOnly()
    guard.install()
    log_file = Path(tempfile.mkstemp(prefix="notifier-bench-", suffix=".log")[1])
    # The CLI's logging (JSON lines at the configured level), written to a file so the cost
    # of logging is measured and the summary stays readable.
    configure_logging(SERVICE.name, "INFO")
    stream = log_file.open("a", encoding="utf-8")
    logging.getLogger().handlers[0].setStream(stream)
    ticks: list[TickResult] = []
    consumed = None
    try:
        for index, size in enumerate(sizes):
            print(f"== {size:,} open clocks", flush=True)
            result, drained = run_size(
                size, args.repeats, explain=index == len(sizes) - 1,
                consume=args.events if index == 0 and args.only != "tick" else 0,
                warmup=args.warmup, tick=args.only != "consumer", consumer_rounds=args.consumer_rounds,
            )
            if result is not None:
                ticks.append(result)
            consumed = consumed or drained
    finally:
        guard.uninstall()
        stream.close()
        levels = Counter()
        problems = []
        for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            for level in ("WARNING", "ERROR", "CRITICAL"):
                if f'"level": "{level}"' in line:
                    levels[level] += 1
                    problems.append(line)
        log_file.unlink()
        if problems:
            print(f"-- log: {dict(levels)}; last lines:")
            print(*problems[-10:], sep="\n")
    report(ticks, consumed, args, guard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
