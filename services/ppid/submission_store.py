"""Writing a new request: the service's hot path, one citizen's form at a time.

A submission writes its request under the year's next gap-free number
(`services.common.numbering`), the applicant, a history line when staff entered it, and its
event, all in one unit of work: the event goes to the outbox through `uow.publish`, built
once the number is known.

The number comes from the year's counter row, which every submission must lock in turn, so
how long that lock is held bounds how many submissions a regency can take per second. The
lock is therefore taken as late as possible and released by the commit soon after:

- on PostgreSQL the counter, the request, the applicant and the history line are one
  statement of data-modifying CTEs (one round trip), built from the models with SQLAlchemy
  once and run on the unit of work's own connection; then the event row and the commit.
- on SQLite, whose writers take the whole database in turn anyway and which has no
  data-modifying CTEs, the same rows are written one statement at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from services.common.events import Event
from services.common.numbering import DIGITS, Numbered, format_number
from services.common.runtime import Runtime
from services.ppid.domain import REQUEST_PREFIX
from services.ppid.models import NUMBERS, Applicant, Request, RequestHistory

_REQUESTS = Request.__table__
_APPLICANTS = Applicant.__table__
_HISTORY = RequestHistory.__table__

REQUEST_COLUMNS = (
    "year", "channel", "status", "submitted_at", "received_at", "base_due_at", "due_at",
    "information", "purpose", "obtain_method", "delivery_method", "requested_opd", "opd",
    "assigned_at", "access_token_hash", "registered_by", "created_at", "updated_at", "version",
)
APPLICANT_COLUMNS = (
    "identity_type", "identity_number", "name", "address", "phone", "email", "occupation",
    "attorney_name", "attorney_letter",
)
HISTORY_COLUMNS = ("occurred_at", "action", "actor_kind", "actor_sub", "opd", "note")


def store_submission(
    rt: Runtime,
    *,
    request_row: dict[str, Any],
    applicant_row: dict[str, Any],
    history_row: dict[str, Any] | None,
    event_for: Callable[[str], Event],
) -> str:
    """Write the submission and its event; return its number, `PPID-<year>-<sequence>`."""
    write = _rows_in_one_statement if rt.engine.dialect.name == "postgresql" else _rows_step_by_step
    with rt.uow() as uow:
        number = write(uow.session, request_row, applicant_row, history_row)
        uow.publish(event_for(number))
        uow.commit()
    return number


# -- PostgreSQL: one statement ---------------------------------------------------------------


def _binds(prefix: str, table, columns: tuple[str, ...]) -> list:
    # Each row's values get their own parameter names, as the columns of the three rows
    # overlap (`opd`). The column's type gives each value its cast in the SQL; run on the
    # driver, no bind processing happens, so instants must arrive aware (the use case's
    # always are; PostgreSQL stores them as timestamptz).
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _one_statement(with_history: bool):
    counter = NUMBERS.increment(
        "postgresql", bindparam("prefix", type_=String), bindparam("year", type_=Integer)
    ).cte("counter")
    digits = cast(counter.c.last_value, String)
    # The SQL spelling of numbering.format_number: at least DIGITS digits, never cut.
    number = func.concat(
        bindparam("number_prefix", type_=String),
        func.lpad(digits, func.greatest(DIGITS, func.length(digits)), "0"),
    )
    new_request = (
        insert(_REQUESTS)
        .from_select(
            [*REQUEST_COLUMNS, "number", "sequence"],
            select(*_binds("r_", _REQUESTS, REQUEST_COLUMNS), number, counter.c.last_value),
        )
        .returning(_REQUESTS.c.id, _REQUESTS.c.number)
        .cte("new_request")
    )
    ctes = [
        insert(_APPLICANTS).from_select(
            [*APPLICANT_COLUMNS, "request_id"],
            select(*_binds("a_", _APPLICANTS, APPLICANT_COLUMNS), new_request.c.id),
        ).cte("new_applicant")
    ]
    if with_history:
        ctes.append(
            insert(_HISTORY).from_select(
                [*HISTORY_COLUMNS, "request_id"],
                select(*_binds("h_", _HISTORY, HISTORY_COLUMNS), new_request.c.id),
            ).cte("new_history")
        )
    # Data-modifying CTEs run whether or not the final select reads them.
    return select(new_request.c.number).add_cte(*ctes)


@cache
def _compiled(with_history: bool) -> tuple[str, dict[str, Any]]:
    """The statement's SQL for psycopg, and the values of the constants bound in it."""
    compiled = _one_statement(with_history).compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


def _rows_in_one_statement(session: Session, request_row, applicant_row, history_row) -> str:
    sql, constants = _compiled(history_row is not None)
    year = request_row["year"]
    params = {
        **constants,
        "prefix": REQUEST_PREFIX,
        "year": year,
        # Everything of the number but its digits, which the counter gives.
        "number_prefix": format_number(REQUEST_PREFIX, year, 0)[:-DIGITS],
        **{f"r_{k}": request_row[k] for k in REQUEST_COLUMNS},
        **{f"a_{k}": applicant_row[k] for k in APPLICANT_COLUMNS},
    }
    if history_row is not None:
        params.update({f"h_{k}": history_row[k] for k in HISTORY_COLUMNS})
    # On the driver connection inside the unit of work's transaction: SQLAlchemy's
    # bookkeeping around an execution (cache key, parameter processing, result set-up) cost
    # as much CPU as everything else this write does.
    driver = session.connection().connection.driver_connection
    return driver.execute(sql, params).fetchone()[0]


# -- SQLite (and any other database): statement by statement ---------------------------------


def _rows_step_by_step(session: Session, request_row, applicant_row, history_row) -> str:
    numbered: Numbered = NUMBERS.next(session, REQUEST_PREFIX, request_row["year"])
    request_id = session.execute(
        insert(_REQUESTS).returning(_REQUESTS.c.id),
        {**request_row, "number": numbered.number, "sequence": numbered.sequence},
    ).scalar_one()
    session.execute(insert(_APPLICANTS), {**applicant_row, "request_id": request_id})
    if history_row is not None:
        session.execute(insert(_HISTORY), {**history_row, "request_id": request_id})
    return numbered.number
