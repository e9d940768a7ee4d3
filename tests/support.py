"""Helpers every service's tests share: a clock the tests can set, a staff member's bearer
token, and a migrated database and app per backend for a test module.

Each service's `tests/<service>/support.py` binds these to its own settings and app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, select, text
from sqlalchemy.dialects import postgresql

from services.common.auth import mint_token
from services.common.db import make_engine
from services.common.migrations import upgrade
from services.common.settings import Settings
from tests.conftest import create_pg_database, drop_pg_database, pg_url_for, service_settings

WIB = ZoneInfo("Asia/Jakarta")

_TOKEN_CONFIG = Settings.from_env("test", {"SIMPUL_ENV": "development"})


class Clock:
    """The app's idea of now: a fixed instant the test sets, or the wall clock."""

    def __init__(self) -> None:
        self.value: datetime | None = None

    def __call__(self) -> datetime:
        return self.value or datetime.now(UTC)

    def set(self, value: datetime) -> None:
        self.value = value

    def advance(self, **delta) -> datetime:
        self.value = self() + timedelta(**delta)
        return self.value



class AppClient:
    """A service's test env as its tests drive it: the Flask test client, the clock and the
    runtime; each service's client adds its steps."""

    def __init__(self, env: SimpleNamespace):
        self.env = env
        self.http = env.client
        self.clock = env.clock
        self.rt = env.rt

def bearer_headers(role: str, opd: str | None = None, *, sub: str | None = None, name: str | None = None,
                   nip: str | None = None) -> dict:
    """The bearer token of one staff member: `bearer_headers("humas", "dinkes")`."""
    token = mint_token(
        _TOKEN_CONFIG,
        sub or f"{role}-{opd or 'kab'}",
        [role],
        opd,
        name=name or " ".join(part for part in ("Petugas", role, opd) if part),
        nip=nip,
    )
    return {"Authorization": f"Bearer {token}"}


def build_service_env(service: str, settings_class, create_app: Callable, url: str, backend: str,
                      **env: str) -> SimpleNamespace:
    """`service` migrated on `url` and its app on a settable clock, with a test client."""
    upgrade(service, url)
    settings = service_settings(settings_class, service, url, **env)
    clock = Clock()
    app = create_app(settings, clock=clock)
    return SimpleNamespace(
        app=app, client=app.test_client(), rt=app.extensions["simpul"], clock=clock, url=url, backend=backend
    )


@contextmanager
def service_backend_env(service: str, build: Callable[..., SimpleNamespace], backend: str, tmp_path_factory,
                        **env: str) -> Iterator[SimpleNamespace]:
    """`build(url, backend, **env)` on a fresh database of `backend` ("sqlite" or
    "postgresql") for a test module, disposed and dropped afterwards."""
    name = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(service) / f'{service}.db'}"
    else:
        name = create_pg_database(f"simpul_{service}")
        url = pg_url_for(name)
    built = build(url, backend, **env)
    try:
        yield built
    finally:
        built.rt.dispose()
        if name:
            drop_pg_database(name)


def search_plan(url: str, search, column, term: str) -> str:
    """PostgreSQL's plan for `search` (a `services.common.listing.Search`) of `term` over
    `select(column)` on the migrated database at `url`.

    An empty table never tempts the planner into an index, so sequential scans are
    forbidden: the plan names the migrated index only if the query's expression is its.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            compiled = search.apply(select(column), term).compile(conn)
            return "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
    finally:
        engine.dispose()


def unauthenticated_views(app):
    """(rule, method, view function) of every API operation a caller reaches without a
    bearer token."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            function = getattr(view_class, method.lower()) if view_class else view
            doc = getattr(function, "_apidoc", {}).get("manual_doc", {})
            if "security" not in doc:
                yield rule.rule, method, function


def stored_checks(conn, tables) -> dict[tuple[str, str], str]:
    """{(table, constraint name): definition} of the CHECK constraints PostgreSQL keeps on
    `tables` (a `probe_` prefix, of `model_checks`' copies, left out of the table's name)."""
    rows = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'c' AND conrelid::regclass::text = ANY(:tables)"
    ), {"tables": list(tables)})
    return {(table.removeprefix("probe_"), name): definition for table, name, definition in rows}


def model_checks(conn, metadata, tables) -> dict[tuple[str, str], str]:
    """The models' CHECK constraints of `tables` as PostgreSQL stores them, added to empty
    copies of the tables, which are dropped again (compare_metadata does not compare CHECK
    constraints)."""
    dialect = postgresql.psycopg.dialect()
    for table in tables:
        conn.execute(text(f"CREATE TEMP TABLE probe_{table} (LIKE {table})"))
        for constraint in metadata.tables[table].constraints:
            if isinstance(constraint, CheckConstraint):
                name = dialect.identifier_preparer.format_constraint(constraint)
                sql = constraint.sqltext.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
                conn.execute(text(f"ALTER TABLE probe_{table} ADD CONSTRAINT {name} CHECK ({sql})"))
    checks = stored_checks(conn, [f"probe_{table}" for table in tables])
    conn.execute(text(f"DROP TABLE {', '.join(f'probe_{table}' for table in tables)}"))
    return checks
