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

A service adds the table to its metadata and numbers inside its unit of work::

    counters = number_counter_table(Base.metadata)
    NUMBERS = Numbering(counters)

    with rt.uow() as uow:
        numbered = NUMBERS.next(uow.session, "LPR", 2026)   # Numbered(…, sequence=42)
        report = Report(number=numbered.number, year=2026, sequence=numbered.sequence, …)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

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


@dataclass(frozen=True)
class Numbered:
    """A number that was given: its parts and its printed form."""

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

    def __init__(self, counters: Table):
        self.counters = counters

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
