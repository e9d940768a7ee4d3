"""Gap-free yearly case numbers with a prefix: `PPID-2026-000123`, `LPR-2026-000042`.

A citizen quotes the number on the phone and an annual report counts by it, so numbers
run 1, 2, 3 … within a year without holes. A database sequence cannot promise that (a
rolled-back transaction loses its value), so each (prefix, year) has a counter row that
the numbering transaction increments with one upsert. The row stays locked until that
transaction ends: concurrent writers take numbers one after the other, and a rollback gives
the number back. The same statement runs on PostgreSQL and SQLite (`ON CONFLICT … DO
UPDATE … RETURNING`).

The price is that the year's counter row is a queue: keep the numbering transaction short
(take the number last, just before the rows that carry it, and commit soon after).

A citizen-facing service's busiest write is the submission of a new case, and there even a
short transaction is too long: on a loaded machine the process holding the counter lock is
descheduled between its statements, and every other submission waits for it (PPID measured
a third of the throughput of the alternative below, docs/ppid.md). `Numbering.write` is that
alternative: the case row, its child rows and its event are written by one statement that
takes the number, run on the unit of work's connection in autocommit, so the counter row is
locked for that one statement only. On PostgreSQL it is a statement of data-modifying CTEs;
elsewhere (SQLite, whose writers queue for the whole database anyway) the same rows are
written one statement at a time in the unit of work's transaction. Either way the event is
the unit of work's (`uow.events`), and its outbox row has the columns `uow.publish` writes.
The number reaches the event without any text replaced in a serialised event: the event is
built with the subject's collection (`"requests/"`) and `data.number` empty, and the
statement sets both fields as JSON (`jsonb_set`).

A service adds the table to its metadata and numbers inside its unit of work::

    counters = number_counter_table(Base.metadata)
    NUMBERS = Numbering(counters)

    with rt.uow() as uow:
        numbered = NUMBERS.next(uow.session, "LPR", 2026)   # Numbered(…, sequence=42)
        report = Report(number=numbered.number, year=2026, sequence=numbered.sequence, …)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from services.common.db import driver_sql
from services.common.events import Event
from services.common.outbox import UnitOfWork, outbox_row, wakeup_channel

# At least this many digits; a year with a millionth case simply gets a seventh.
DIGITS = 6
MAX_PREFIX_LENGTH = 8
_PREFIX = re.compile(r"^[A-Z]{2,8}$")


def number_counter_table(metadata: MetaData, name: str = "number_counters") -> Table:
    """The counters of one service: the last number given per prefix and year."""
    return Table(
        name,
        metadata,
        # `kind` is the prefix; the name predates this module and is kept for migrations.
        Column("kind", String(MAX_PREFIX_LENGTH), primary_key=True),
        Column("year", Integer, primary_key=True),
        Column("last_value", Integer, nullable=False),
    )


class Numbered(NamedTuple):
    """A number's parts, and its printed form."""

    prefix: str
    year: int
    sequence: int

    @property
    def number(self) -> str:
        return format_number(self.prefix, self.year, self.sequence)


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ValueError(f"a number prefix is 2-{MAX_PREFIX_LENGTH} capital letters, got {prefix!r}")
    return prefix


def format_number(prefix: str, year: int, sequence: int) -> str:
    """`PPID-2026-000123`: the prefix, the year and the sequence of at least six digits."""
    return f"{prefix}-{year:04d}-{sequence:0{DIGITS}d}"


def parse_number(number: str, prefixes: Iterable[str]) -> Numbered | None:
    """The parts of a number with one of `prefixes`, or None for anything else (a lookup
    by a malformed number then needs no database round trip)."""
    if not isinstance(number, str):
        return None
    prefix, _, rest = number.partition("-")
    year, _, sequence = rest.partition("-")
    if (
        prefix not in set(prefixes)
        or len(year) != 4
        or not year.isascii()
        or not year.isdigit()
        or len(sequence) < DIGITS
        or not sequence.isascii()
        or not sequence.isdigit()
    ):
        return None
    return Numbered(prefix, int(year), int(sequence))


class Numbering:
    """Gives the next number of a prefix and year from a service's counter table."""

    def __init__(self, counters: Table, outbox: Table | None = None):
        self.counters = counters
        # Needed by `write` only: the service's outbox table (services.common.outbox).
        self.outbox = outbox
        self._statements: dict[tuple, tuple[str, dict[str, Any]]] = {}

    def increment(self, dialect: str, prefix: Any, year: Any) -> Insert:
        """The upsert that increments (or starts at 1) the counter of `prefix` in `year`
        and returns the new value. `prefix` and `year` may be values or bound parameters,
        so a caller can embed the statement in a larger one."""
        c = self.counters.c
        ins = (postgresql if dialect == "postgresql" else sqlite).insert(self.counters)
        return (
            ins.values(kind=prefix, year=year, last_value=1)
            .on_conflict_do_update(index_elements=[c.kind, c.year], set_={"last_value": c.last_value + 1})
            .returning(c.last_value)
        )

    def next(self, session: Session, prefix: str, year: int) -> Numbered:
        """Take the next number of `prefix` in `year` inside the session's transaction."""
        check_prefix(prefix)
        dialect = session.get_bind().dialect.name
        sequence = session.execute(self.increment(dialect, prefix, year)).scalar_one()
        return Numbered(prefix, year, sequence)

    def write(
        self,
        uow: UnitOfWork,
        prefix: str,
        year: int,
        case: NumberedRow,
        *,
        children: Sequence[ChildRow] = (),
        event: Event,
    ) -> Numbered:
        """Write a new numbered case, its child rows and its event; return its number.

        `case.table` has an integer primary key `id` and the columns `number` and
        `sequence`, which this fills. Each child row gets the case's `id` in its
        `parent_key` column. `event` is built with `subject` ending in `/` and
        `data["number"]` empty: the number completes both, and the completed event is
        recorded in `uow.events`.

        On PostgreSQL the write is committed when this returns, unless the unit of work had
        already written something (then it joins that transaction); what the unit of work
        does after it is a transaction as usual. Call `uow.commit()` all the same: it commits
        on SQLite and runs the after-commit callbacks everywhere.
        """
        check_prefix(prefix)
        if not event.subject.endswith("/") or event.data.get("number") not in ("", None):
            raise ValueError("a numbered event has a subject ending in '/' and an empty data.number")
        if uow.dialect_name != "postgresql":
            session = uow.session
            numbered = self.next(session, prefix, year)
            case_id = session.execute(
                insert(case.table).returning(case.table.c.id),
                {**case.row, "number": numbered.number, "sequence": numbered.sequence},
            ).scalar_one()
            for child in children:
                session.execute(insert(child.table), {**child.row, child.parent_key: case_id})
            uow.publish(_completed(event, numbered.number))
            return numbered
        return self._write_in_one_statement(uow, prefix, year, case, children, event)

    def _write_in_one_statement(self, uow, prefix, year, case, children, event) -> Numbered:
        if self.outbox is None:
            raise RuntimeError("Numbering(counters, outbox=…) is needed to write in one statement")
        key = (
            case.table.name, tuple(case.row),
            tuple((c.table.name, tuple(c.row), c.parent_key) for c in children),
        )
        compiled = self._statements.get(key)
        if compiled is None:
            compiled = self._statements[key] = driver_sql(self._one_statement(case, children))
        sql, constants = compiled
        row = outbox_row(event)
        params = {
            **constants,
            "prefix": prefix,
            "year": year,
            # Everything of the number but its digits, which the counter gives.
            "number_prefix": format_number(prefix, year, 0)[:-DIGITS],
            **{f"c_{k}": v for k, v in case.row.items()},
            **{f"o_{k}": row[k] for k in _OUTBOX_COLUMNS},
        }
        for index, child in enumerate(children):
            params.update({f"k{index}_{k}": v for k, v in child.row.items()})
        # The unit of work's connection, in autocommit for this one statement only, so what
        # the unit of work writes after it is a transaction again. A unit of work that
        # already read or wrote has its transaction open: the statement joins it, and the
        # counter row then stays locked until its commit. One that had not needs no session
        # at all: a pooled connection is enough. Run on the driver: SQLAlchemy's bookkeeping
        # around an execution (cache key, parameter processing, result set-up) cost as much
        # CPU as everything else this write does.
        driver, alone = uow.autocommit_connection()
        if alone:
            driver.autocommit = True
        try:
            number, sequence, _woken = driver.execute(sql, params).fetchone()
        finally:
            if alone and not driver.closed:
                driver.autocommit = False
        uow.events.append(_completed(event, number))
        return Numbered(prefix, year, sequence)

    def _one_statement(self, case: NumberedRow, children: Sequence[ChildRow]):
        counter = self.increment(
            "postgresql", bindparam("prefix", type_=String), bindparam("year", type_=Integer)
        ).cte("counter")
        digits = cast(counter.c.last_value, String)
        # The SQL spelling of format_number: at least DIGITS digits, never cut.
        number = func.concat(
            bindparam("number_prefix", type_=String),
            func.lpad(digits, func.greatest(DIGITS, func.length(digits)), "0"),
        )
        table = case.table
        new_case = (
            insert(table)
            .from_select(
                [*case.row, "number", "sequence"],
                select(*_binds("c_", table, case.row), number, counter.c.last_value),
            )
            .returning(table.c.id, table.c.number, table.c.sequence)
            .cte("new_case")
        )
        ctes = [
            insert(child.table).from_select(
                [*child.row, child.parent_key],
                select(*_binds(f"k{index}_", child.table, child.row), new_case.c.id),
            ).cte(f"new_child_{index}")
            for index, child in enumerate(children)
        ]
        subject = func.concat(bindparam("o_subject", type_=String), new_case.c.number)
        # The paths are written into the statement: as parameters, the driver adapted two
        # arrays for every submission.
        body = func.jsonb_set(
            func.jsonb_set(
                cast(bindparam("o_body", type_=String), JSONB),
                literal_column("'{subject}'::text[]"),
                func.to_jsonb(subject),
            ),
            literal_column("'{data,number}'::text[]"),
            func.to_jsonb(new_case.c.number),
        )
        outbox = self.outbox
        ctes.append(
            insert(outbox).from_select(
                ["event_id", "routing_key", "subject", "body", "created_at", "published_at", "attempts"],
                select(
                    bindparam("o_event_id", type_=String),
                    bindparam("o_routing_key", type_=String),
                    subject,
                    cast(body, Text),
                    bindparam("o_created_at", type_=outbox.c.created_at.type),
                    null(),
                    literal(0),
                ),
            ).cte("new_event")
        )
        # Data-modifying CTEs run whether or not the final select reads them. The notification,
        # delivered when the statement commits, wakes the relay as `UnitOfWork.publish` does.
        wake = func.pg_notify(wakeup_channel(outbox), "")
        return select(new_case.c.number, new_case.c.sequence, wake).add_cte(*ctes)


@dataclass(frozen=True)
class NumberedRow:
    """The row of a new numbered case: its table and its values but `number`/`sequence`."""

    table: Table
    row: dict[str, Any]


@dataclass(frozen=True)
class ChildRow:
    """A row written with the case (say, the applicant), pointing at it by `parent_key`."""

    table: Table
    row: dict[str, Any]
    parent_key: str


_OUTBOX_COLUMNS = ("event_id", "routing_key", "subject", "body", "created_at")


def _binds(prefix: str, table: Table, columns: Iterable[str]) -> list:
    # Each row's values get their own parameter names, as the columns of the rows overlap.
    # The column's type gives each value its cast in the SQL; run on the driver, no bind
    # processing happens, so instants must arrive aware (PostgreSQL stores timestamptz).
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _completed(event: Event, number: str) -> Event:
    return replace(event, subject=f"{event.subject}{number}", data={**event.data, "number": number})
