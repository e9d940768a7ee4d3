"""The notifier's schema comes from its migrations, and they match the models exactly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from services.common.db import make_engine
from services.common.migrations import upgrade
from services.notifier.models import Base


def test_migrations_create_every_table_and_match_the_models(database_url):
    upgrade("notifier", database_url)
    upgrade("notifier", database_url)  # a second run finds nothing to do
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert set(Base.metadata.tables) <= tables
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "version_table": "alembic_version_notifier"},
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_0004_keeps_clocks_as_staff_duties_and_moves_the_shipped_ppid_policy_only(database_url):
    import json

    from alembic import command
    from sqlalchemy import text

    from services.common.migrations import alembic_config

    shipped = ("Kirim pemberitahuan tertulis kepada pemohon melalui aplikasi PPID, atau perpanjang waktu "
               "satu kali (paling lama 7 hari kerja) dengan alasan tertulis (UU 14/2008 Pasal 22 ayat 7 dan 8).")
    upgrade("notifier", database_url, "0003")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            for clock, action in (("ppid.response", shipped), ("lapor.follow_up", "Teks operator.")):
                document = {"label": "x", "action": action, "reminders": [], "breach": {"notify": []},
                            "escalation": []}
                connection.execute(
                    text("INSERT INTO policies (clock, document, version, updated_at, updated_by) "
                         "VALUES (:c, :d, 1, '2026-01-01 00:00:00+00:00', 'seed')"),
                    {"c": clock, "d": json.dumps(document)},
                )
            connection.execute(text(
                "INSERT INTO clocks (subject, clock, service, state, run, created_at, updated_at) VALUES "
                "('requests/A', 'ppid.response', 'ppid', 'running', 1, '2026-01-01 00:00:00+00:00', "
                "'2026-01-01 00:00:00+00:00')"))
        upgrade("notifier", database_url)
        with engine.connect() as connection:
            rows = {c: (json.loads(d) if isinstance(d, str) else d, v) for c, d, v in connection.execute(
                text("SELECT clock, document, version FROM policies"))}
            assert connection.execute(text("SELECT party FROM clocks")).scalar_one() == "staff"
        response, version = rows["ppid.response"]
        assert "perpanjang" not in response["action"] and version == 2
        assert response["action_variants"][0] == {"when": ["extend"], "action": shipped}
        assert rows["lapor.follow_up"] == ({"label": "x", "action": "Teks operator.", "reminders": [],
                                           "breach": {"notify": []}, "escalation": []}, 1)
        command.downgrade(alembic_config("notifier", database_url), "0003")
        upgrade("notifier", database_url)
    finally:
        engine.dispose()


def test_0007_keeps_older_clocks_working_day_and_unpaused_and_goes_back_cleanly(database_url):
    from alembic import command
    from sqlalchemy import text

    from services.common.migrations import alembic_config

    upgrade("notifier", database_url, "0006")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO clocks (subject, clock, service, state, run, party, created_at, updated_at) "
                "VALUES ('reports/A', 'lapor.verification', 'lapor', 'running', 1, 'staff', "
                "'2027-01-01 00:00:00+00:00', '2027-01-01 00:00:00+00:00')"))
        upgrade("notifier", database_url)
        with engine.begin() as connection:
            row = connection.execute(text(
                "SELECT counting, paused_at, paused_seconds, paused_working_days FROM clocks")).one()
            assert tuple(row) == ("working_days", None, 0, 0)
            connection.execute(text("UPDATE clocks SET state = 'paused', "
                                    "paused_at = '2027-01-02 00:00:00+00:00'"))
        command.downgrade(alembic_config("notifier", database_url), "0006")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT state FROM clocks")).scalar_one() == "running"
        upgrade("notifier", database_url)
    finally:
        engine.dispose()


def test_0008_writes_fewer_index_entries_per_new_clock_and_goes_back_cleanly(database_url):
    from alembic import command

    from services.common.migrations import alembic_config

    def indexes(connection):
        inspector = inspect(connection)
        return ({i["name"] for i in inspector.get_indexes("notification_steps")},
                {i["name"] for i in inspector.get_indexes("clocks")})

    upgrade("notifier", database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            steps, clocks = indexes(connection)
        assert "ix_notification_steps_clock_id_state" not in steps
        assert "ix_notification_steps_due" in steps and "ix_clocks_stopped_at" in clocks
        command.downgrade(alembic_config("notifier", database_url), "0007")
        with engine.connect() as connection:
            assert "ix_notification_steps_clock_id_state" in indexes(connection)[0]
        upgrade("notifier", database_url)
        with engine.connect() as connection:
            assert "ix_notification_steps_clock_id_state" not in indexes(connection)[0]
    finally:
        engine.dispose()
