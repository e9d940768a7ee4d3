"""Engines, sessions and the unit of work.

One engine per service process, created by its composition root (never at import time,
never before gunicorn forks). SQLite is the embedded default: WAL lets readers run beside
the one writer, and every transaction starts with BEGIN IMMEDIATE so two writers queue on the
busy timeout instead of failing when a read lock cannot be upgraded.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Table, TypeDecorator, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import ColumnElement, Executable

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled connection that served a request this recently is taken to be alive; one idle
# for longer is pinged before use. (pool_pre_ping would ping on every checkout: a second
# round trip for every request of a busy web worker.)
PING_AFTER_IDLE_SECONDS = 5.0


def normalise_url(url: str) -> str:
    """Accept the `postgresql://` form operators write and use psycopg 3 for it."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def insert_unless_present(
    session: Session, table: Table | type, index_elements: list[str] | None = None
) -> Any:
    """An INSERT into `table` (a Table or a mapped class) that skips rows whose unique key
    (the one of `index_elements`, or any) is already taken, on PostgreSQL and SQLite. Read
    what it inserted with RETURNING: psycopg reports the row count of a refused insert as
    -1."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    echo: bool = False,
    ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS,
) -> Engine:
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        # Error messages would otherwise quote bound values, a citizen's NIK or phone among
        # them, into the logs.
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
    )
    _ping_idle_connections(engine, ping_after_idle_seconds)
    return engine


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use when it sat idle, as a restart of the database
    server (or a firewall dropping quiet connections) kills idle ones unnoticed.

    A dead one is replaced at once (the pool retries the checkout). A connection that dies
    while in use still fails that one request; the pool then replaces every connection
    older than the failure.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
            # The driver began a transaction for the ping; the connection is handed out as
            # idle as it came back, so a caller may still switch it to autocommit.
            dbapi_connection.rollback()
        except Exception as exc:  # noqa: BLE001 - any failure means the connection is gone
            raise DisconnectionError("idle connection no longer answers") from exc
        finally:
            cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE below
        # is the only BEGIN that is ever sent.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # A committed unit of work hands its rows' values on as they were written; reading them
    # again from the database after the commit would only cost a query.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def column_values(row: Any) -> dict[str, Any]:
    """The values of an ORM row's mapped columns, as a plain dictionary.

    What a use case returns in place of the row itself when no presenter of its own is
    needed: the view's schema picks the fields it shows, and nothing touches the row after
    its unit of work ended.
    """
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


# Constraint names that Alembic can find again on every database (SQLite included).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



def one_of(column: str, values) -> str:
    """The SQL of a CHECK constraint keeping `column` to `values`: `status IN ('a', 'b')`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def any_of(column: str, values) -> str:
    """`one_of` as PostgreSQL keeps it cheaply: `status::text = ANY ('{a,b}'::text[])`."""
    return f"{column}::text = ANY ('{{{','.join(values)}}}'::text[])"


class ListedValues(ColumnElement):
    """A CHECK keeping a text column to listed values (or NULL, with `or_null`), for the
    tables a citizen's submission writes: `one_of` on SQLite, `any_of` on PostgreSQL.

    PostgreSQL reads a table's CHECK expressions back from their stored node text and plans
    them again for every INSERT or UPDATE statement. `IN (…)` is stored as an array built
    from one cast constant per value, which each statement parses and folds again; one array
    constant is half the text and nothing to fold: about 120,000 fewer instructions in the
    database per PPID submission (its five listed checks), 150,000 per LAPOR! report (six).
    The values accepted are the same.
    """

    inherit_cache = False

    def __init__(self, column: str, values, *, or_null: bool = False):
        self.column, self.values, self.or_null = column, tuple(values), or_null
        if not all(_PLAIN_VALUE.fullmatch(v) for v in self.values):
            raise ValueError(f"listed values are written unquoted in an array literal: {self.values!r}")

    def sql(self, check) -> str:
        """The constraint's SQL with `check` (`one_of` or `any_of`) for the listed values."""
        test = check(self.column, self.values)
        return f"{self.column} IS NULL OR {test}" if self.or_null else test


_PLAIN_VALUE = re.compile(r"[a-z][a-z0-9_]*")


@compiles(ListedValues)
def _listed_in(element: ListedValues, _compiler, **_kw) -> str:
    return element.sql(one_of)


@compiles(ListedValues, "postgresql")
def _listed_any(element: ListedValues, _compiler, **_kw) -> str:
    return element.sql(any_of)


def rewrite_listed_checks(op, listed: dict[str, tuple[ListedValues, ...]], check) -> None:
    """A migration's step: each table's listed-value CHECKs (named `ck_<table>_<column>`)
    written again with `check` (`any_of` going up, `one_of` going down), on PostgreSQL only:
    SQLite keeps `IN (…)`. One statement per table, so one scan of its rows checks all of
    its new constraints."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in listed.items():
        changes = ", ".join(
            f"DROP CONSTRAINT ck_{table}_{item.column}, "
            f"ADD CONSTRAINT ck_{table}_{item.column} CHECK ({item.sql(check)})"
            for item in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")


def refuse_naive(value: datetime) -> None:
    """Refuse an instant without a zone, as `UtcDateTime` does for whatever writes it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")


def driver_sql(statement: Executable) -> tuple[str, dict[str, Any]]:
    """A PostgreSQL statement as psycopg runs it: its SQL, with psycopg's `%(name)s` parameters,
    and the values of the constant parameters SQLAlchemy gave it.

    For a hot statement run on the driver connection, compiled once by its caller:
    SQLAlchemy's work around each execution (the cache key, the result set-up) can cost
    more than everything else the statement does.
    """
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


class UtcDateTime(TypeDecorator):
    """A `timestamp with time zone` that takes aware datetimes and returns them in UTC.

    SQLite keeps no offset: SQLAlchemy would store an aware value's wall-clock time as it
    is (10:00 WIB and 10:00 UTC alike) and return naive values. Converting to UTC on the
    way in and tagging UTC on the way out makes both databases compare and return the
    same instants. A naive value is refused: guessing its zone moves deadlines by 7 hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def __init__(self) -> None:
        super().__init__()
        # Alembic renders a custom type as `<__module__>.<repr>`; with these two a migration
        # reads `sa.DateTime(timezone=True)`, the column type this is stored as, and needs no
        # import of this module.
        self.__module__ = "sa"

    def __repr__(self) -> str:
        return "DateTime(timezone=True)"

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        refuse_naive(value)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
