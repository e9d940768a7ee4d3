"""The migrations build exactly the models' schema, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.siber.models import Base
from tests.siber.support import build_env


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models(backend, tmp_path, make_pg_database):
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else make_pg_database("simpul_siber")
    env = build_env(url, backend, SIBER_FILES_URL=str(tmp_path / "files"))
    try:
        with env.rt.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": "alembic_version_siber"}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        env.rt.dispose()
