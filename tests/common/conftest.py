"""Fixtures of the chassis tests: a runtime over a throwaway service's tables."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData

from services.common.runtime import build_runtime
from services.common.settings import Settings


@pytest.fixture
def make_chassis_runtime(make_settings):
    """Builds the runtime of a throwaway service whose tables are `metadata` (the chassis's
    plumbing tables among them), on `database_url`; disposes of it after the test.

    `migrated=False` leaves the database empty, as a service's is before `migrate`;
    otherwise its tables are created and the working-day calendar seeded, as `migrate` does.
    """
    made = []

    def make(metadata: MetaData, database_url: str, *, migrated: bool = True, **env: str):
        rt = build_runtime(make_settings(Settings, "test", database_url, **env), metadata)
        made.append(rt)
        if migrated:
            metadata.create_all(rt.engine)
            with rt.uow() as uow:
                rt.calendar_sync.seed(uow.session)
                uow.commit()
        return rt

    yield make
    for rt in made:
        rt.dispose()
