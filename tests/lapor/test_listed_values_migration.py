"""Migration 0004 on PostgreSQL: the reports' listed values are stored as one array constant,
as the models write them; the values refused stay refused, and going back restores the IN
lists. compare_metadata does not compare CHECK constraints, hence this test."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from services.common.db import make_engine
from services.common.migrations import alembic_config, upgrade
from services.lapor.models import Base
from tests.lapor.support import LaporClient, backend_env
from tests.support import model_checks, stored_checks


def test_reports_keep_the_models_checks_as_array_constants(tmp_path_factory):
    with backend_env("postgresql", tmp_path_factory) as env:
        LaporClient(env).submit()
        env.rt.engine.dispose()
        engine = make_engine(env.url, pool_size=1)
        try:
            with engine.begin() as conn:
                stored = stored_checks(conn, ["reports"])
                modelled = model_checks(conn, Base.metadata, ["reports"])
            assert stored == modelled
            assert stored["reports", "ck_reports_closed_reason"] == (
                "CHECK (((closed_reason IS NULL) OR "
                "((closed_reason)::text = ANY ('{accepted,no_reply}'::text[]))))"
            )
            for column, value in (("status", "lost"), ("privacy", "bocor"), ("archive_reason", "bosan")):
                with pytest.raises(Exception, match=f"ck_reports_{column}"), engine.begin() as conn:
                    conn.execute(text(f"UPDATE reports SET {column} = :v"), {"v": value})
            with engine.begin() as conn:
                conn.execute(text("UPDATE reports SET archive_reason = NULL, closed_reason = NULL"))

            command.downgrade(alembic_config("lapor", env.url), "0003")
            with engine.connect() as conn:
                downgraded = stored_checks(conn, ["reports"])
            assert downgraded["reports", "ck_reports_closed_reason"] == (
                "CHECK (((closed_reason IS NULL) OR ((closed_reason)::text = ANY "
                "((ARRAY['accepted'::character varying, 'no_reply'::character varying])::text[]))))"
            )
            assert set(downgraded) == set(stored)
            upgrade("lapor", env.url)
            with engine.connect() as conn:
                assert stored_checks(conn, ["reports"]) == stored
        finally:
            engine.dispose()
