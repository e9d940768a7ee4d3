"""Alembic, one migration history per service with its own version table.

A service's `migrations/env.py` is two lines: it calls `run_env()` with its metadata. The
migration scripts are the service's own; this module only runs them.
"""

from __future__ import annotations

import zlib

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Engine, MetaData, text

from services.common.db import is_sqlite, make_engine


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"services.{service}:migrations")
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    cfg = alembic_config(service, database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def revision(service: str, database_url: str, message: str, rev_id: str | None = None) -> None:
    """Autogenerate a new migration script from the service's models (a developer's tool)."""
    cfg = alembic_config(service, database_url)
    upgrade(service, database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    finally:
        engine.dispose()


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py."""
    cfg = context.config
    service = cfg.attributes.get("service") or cfg.get_main_option("service")
    connection = cfg.attributes.get("connection")
    if connection is None:
        engine: Engine = make_engine(cfg.get_main_option("sqlalchemy.url"), pool_size=1)
        with engine.connect() as connection:
            _run(connection, target_metadata, service)
        engine.dispose()
    else:
        _run(connection, target_metadata, service)


def _run(connection, target_metadata: MetaData, service: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=f"alembic_version_{service}",
        render_as_batch=is_sqlite(connection.engine),
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Web and worker may start together: one migrates, the other waits its turn.
            lock_id = zlib.crc32(f"simpul-migrate-{service}".encode())
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        context.run_migrations()
