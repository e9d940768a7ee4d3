"""The migration of followers' confirmation, on SQLite and PostgreSQL: rows of the old flow
become confirmed, and going back drops the requests still waiting for confirmation."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from services.common.db import make_engine
from services.common.migrations import alembic_config, upgrade
from services.lapor.models import Base, Follower, Report
from tests.lapor.support import T0


def _migrate(url: str, step, revision: str) -> None:
    cfg = alembic_config("lapor", url)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg.attributes["connection"] = connection
            step(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


def _columns(lapor) -> set[str]:
    return {column["name"] for column in inspect(lapor.rt.engine).get_columns("followers")}


def test_followers_of_the_old_flow_become_confirmed_and_pending_ones_do_not_survive_a_downgrade(lapor):
    number = lapor.submit()["number"]
    with lapor.rt.uow() as uow:
        report_id = uow.session.query(Report.id).filter(Report.number == number).scalar()
        uow.session.add_all([
            Follower(report_id=report_id, email="sudah@example.org", token_hash="a" * 64, created_at=T0,
                     confirmed_at=T0),
            Follower(report_id=report_id, email="menunggu@example.org", token_hash="b" * 64, created_at=T0),
        ])
        uow.commit()
    lapor.rt.engine.dispose()

    _migrate(lapor.env.url, command.downgrade, "0002")
    assert "confirmed_at" not in _columns(lapor)
    with lapor.rt.engine.begin() as conn:
        assert conn.execute(text("SELECT email FROM followers")).scalars().all() == ["sudah@example.org"]
        conn.execute(text(
            "INSERT INTO followers (report_id, email, token_hash, created_at) VALUES (:r, :e, :h, :c)"),
            {"r": report_id, "e": "lama@example.org", "h": "c" * 64, "c": T0})
    lapor.rt.engine.dispose()

    upgrade("lapor", lapor.env.url)
    assert "confirmed_at" in _columns(lapor)
    with lapor.rt.uow() as uow:
        rows = {row.email: row.confirmed_at for row in uow.session.query(Follower)}
    assert rows == {"sudah@example.org": T0, "lama@example.org": T0}


def test_the_migrated_followers_table_matches_the_model(lapor):
    with lapor.rt.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": "alembic_version_lapor"})
        assert [diff for diff in compare_metadata(context, Base.metadata) if "followers" in repr(diff)] == []
