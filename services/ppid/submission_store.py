"""Writing a new request: the service's hot path, one citizen's form at a time.

A submission writes its request under the year's next gap-free number, the applicant, a
history line when staff entered it, and its event in the outbox. The number comes from the
year's counter row, which every submission must lock in turn; how long that lock is held
bounds how many submissions a regency can take per second.

On PostgreSQL the rows go as one statement of data-modifying CTEs, run in autocommit: one
round trip per submission, and the counter row is locked for that statement only. The
event's number is not known before the counter answers, so the event is serialised with
a stand-in text (NUMBER_SLOT) that the statement replaces with the number it took. The
statement is built from the models with SQLAlchemy once, and run on the pooled psycopg
connection itself: SQLAlchemy's bookkeeping around each execution (cache key, parameter
processing, result set-up) cost as much CPU as everything else the write does.

SQLite has neither a network round trip to save nor data-modifying CTEs, and its writers
take the whole database in turn anyway, so there the same rows are written one statement
at a time in a unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, func, insert, literal, null, select
from sqlalchemy.dialects import postgresql, sqlite

from services.common.events import Event
from services.common.outbox import outbox_row
from services.common.runtime import Runtime
from services.ppid.domain import REQUEST_PREFIX, format_number
from services.ppid.models import Applicant, NumberCounter, Request, RequestHistory, outbox

# Stands for the number in the event until the counter gives one. Event data holds only
# identifiers, states and dates the service writes itself, so this text cannot occur there.
NUMBER_SLOT = "@@number@@"

_COUNTERS = NumberCounter.__table__
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
_OUTBOX_COLUMNS = ("event_id", "routing_key", "subject", "body", "created_at")


def counter_upsert(dialect: str, kind, year):
    """Increment (or start at 1) the counter of `kind` in `year` (values or bound parameters),
    returning the new value."""
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(_COUNTERS)
    return (
        ins.values(kind=kind, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[_COUNTERS.c.kind, _COUNTERS.c.year],
            set_={"last_value": _COUNTERS.c.last_value + 1},
        )
        .returning(_COUNTERS.c.last_value)
    )


def store_submission(
    rt: Runtime,
    *,
    request_row: dict[str, Any],
    applicant_row: dict[str, Any],
    history_row: dict[str, Any] | None,
    event_for: Callable[[str], Event],
) -> str:
    """Write the submission and return its number, `PPID-<year>-<sequence>`."""
    store = _store_in_one_statement if rt.engine.dialect.name == "postgresql" else _store_step_by_step
    return store(rt, request_row, applicant_row, history_row, event_for)


# -- PostgreSQL: one statement ---------------------------------------------------------------


def _binds(prefix: str, table, columns: tuple[str, ...]) -> list:
    # Each row's values get their own parameter names, as the columns of the four rows
    # overlap (`opd`, `created_at`). The column's type gives each value its cast in the SQL;
    # run on the driver, no bind processing happens, so instants must arrive aware (the
    # use case's always are; PostgreSQL stores them as timestamptz).
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _one_statement(with_history: bool):
    counter = counter_upsert(
        "postgresql", bindparam("kind", type_=String), bindparam("year", type_=Integer)
    ).cte("counter")
    digits = cast(counter.c.last_value, String)
    # The SQL spelling of format_number: at least six digits, never cut.
    number = func.concat(
        bindparam("number_prefix", type_=String),
        func.lpad(digits, func.greatest(6, func.length(digits)), "0"),
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
    applicant = insert(_APPLICANTS).from_select(
        [*APPLICANT_COLUMNS, "request_id"],
        select(*_binds("a_", _APPLICANTS, APPLICANT_COLUMNS), new_request.c.id),
    ).cte("new_applicant")
    event = insert(outbox).from_select(
        [*_OUTBOX_COLUMNS, "published_at", "attempts"],
        select(
            bindparam("o_event_id", type_=String),
            bindparam("o_routing_key", type_=String),
            func.replace(bindparam("o_subject", type_=String), NUMBER_SLOT, new_request.c.number),
            func.replace(bindparam("o_body", type_=String), NUMBER_SLOT, new_request.c.number),
            bindparam("o_created_at", type_=outbox.c.created_at.type),
            null(),
            literal(0),
        ),
    ).cte("new_event")
    ctes = [applicant, event]
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


def _store_in_one_statement(rt, request_row, applicant_row, history_row, event_for) -> str:
    sql, constants = _compiled(history_row is not None)
    year = request_row["year"]
    row = outbox_row(event_for(NUMBER_SLOT))
    params = {
        **constants,
        "kind": REQUEST_PREFIX,
        "year": year,
        # Everything of the number but its digits, which the counter gives.
        "number_prefix": format_number(REQUEST_PREFIX, year, 0)[:-6],
        **{f"r_{k}": request_row[k] for k in REQUEST_COLUMNS},
        **{f"a_{k}": applicant_row[k] for k in APPLICANT_COLUMNS},
        **{f"o_{k}": row[k] for k in _OUTBOX_COLUMNS},
    }
    if history_row is not None:
        params.update({f"h_{k}": history_row[k] for k in HISTORY_COLUMNS})
    pooled = rt.engine.raw_connection()
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        return driver.execute(sql, params).fetchone()[0]
    except Exception:
        if driver.broken or driver.closed:
            # As SQLAlchemy does for its own statements: the pool opens a new one.
            pooled.invalidate()
        raise
    finally:
        if not (driver.broken or driver.closed):
            driver.autocommit = False
        pooled.close()


# -- SQLite (and any other database): a unit of work ----------------------------------------


def _store_step_by_step(rt, request_row, applicant_row, history_row, event_for) -> str:
    year = request_row["year"]
    with rt.uow() as uow:
        session = uow.session
        sequence = session.execute(
            counter_upsert(rt.engine.dialect.name, REQUEST_PREFIX, year)
        ).scalar_one()
        number = format_number(REQUEST_PREFIX, year, sequence)
        request_id = session.execute(
            insert(_REQUESTS).returning(_REQUESTS.c.id),
            {**request_row, "number": number, "sequence": sequence},
        ).scalar_one()
        session.execute(insert(_APPLICANTS), {**applicant_row, "request_id": request_id})
        if history_row is not None:
            session.execute(insert(_HISTORY), {**history_row, "request_id": request_id})
        uow.publish(event_for(number))
        uow.commit()
    return number
