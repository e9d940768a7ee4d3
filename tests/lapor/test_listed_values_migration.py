"""Migration 0004 on PostgreSQL: the reports' listed values are stored as one array constant,
as the models write them; the values refused stay refused, and going back restores the IN
lists. compare_metadata does not compare CHECK constraints, hence this test."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, text
from sqlalchemy.dialects import postgresql

from services.common.db import make_engine
from services.common.migrations import alembic_config, upgrade
from services.lapor.models import Base
from tests.lapor.support import LaporClient, backend_env


def _stored_checks(conn, table: str) -> dict[str, str]:
    rows = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'c' AND conrelid = CAST(:table AS regclass)"
    ), {"table": table})
    return dict(rows.all())


def _model_checks(conn) -> dict[str, str]:
    """The model's CHECK constraints of reports as PostgreSQL stores them, added to an empty
    copy of the table."""
    dialect = postgresql.psycopg.dialect()
    conn.execute(text("CREATE TEMP TABLE probe_reports (LIKE reports)"))
    for constraint in Base.metadata.tables["reports"].constraints:
        if isinstance(constraint, CheckConstraint):
            name = dialect.identifier_preparer.format_constraint(constraint)
            sql = constraint.sqltext.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            conn.execute(text(f"ALTER TABLE probe_reports ADD CONSTRAINT {name} CHECK ({sql})"))
    checks = _stored_checks(conn, "probe_reports")
    conn.execute(text("DROP TABLE probe_reports"))
    return checks


def _downgrade(url: str, revision: str) -> None:
    cfg = alembic_config("lapor", url)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


def test_reports_keep_the_models_checks_as_array_constants(tmp_path_factory):
    with backend_env("postgresql", tmp_path_factory) as env:
        LaporClient(env).submit()
        env.rt.engine.dispose()
        engine = make_engine(env.url, pool_size=1)
        try:
            with engine.begin() as conn:
                stored, modelled = _stored_checks(conn, "reports"), _model_checks(conn)
            assert stored == modelled
            assert stored["ck_reports_closed_reason"] == (
                "CHECK (((closed_reason IS NULL) OR "
                "((closed_reason)::text = ANY ('{accepted,no_reply}'::text[]))))"
            )
            for column, value in (("status", "lost"), ("privacy", "bocor"), ("archive_reason", "bosan")):
                with pytest.raises(Exception, match=f"ck_reports_{column}"), engine.begin() as conn:
                    conn.execute(text(f"UPDATE reports SET {column} = :v"), {"v": value})
            with engine.begin() as conn:
                conn.execute(text("UPDATE reports SET archive_reason = NULL, closed_reason = NULL"))

            _downgrade(env.url, "0003")
            with engine.connect() as conn:
                downgraded = _stored_checks(conn, "reports")
            assert downgraded["ck_reports_closed_reason"] == (
                "CHECK (((closed_reason IS NULL) OR ((closed_reason)::text = ANY "
                "((ARRAY['accepted'::character varying, 'no_reply'::character varying])::text[]))))"
            )
            assert set(downgraded) == set(stored)
            upgrade("lapor", env.url)
            with engine.connect() as conn:
                assert _stored_checks(conn, "reports") == stored
        finally:
            engine.dispose()
