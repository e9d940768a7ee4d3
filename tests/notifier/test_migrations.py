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
