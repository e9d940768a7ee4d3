"""The notifier's working-day exceptions reach every service through its own database."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import MetaData

from services.common.calendar_sync import calendar_state_table
from services.common.events import new_event
from services.common.outbox import plumbing_tables
from services.common.runtime import build_runtime
from services.common.settings import Settings

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)


@pytest.fixture
def rt(database_url, make_settings):
    runtime = build_runtime(make_settings(Settings, "test", database_url), metadata)
    metadata.create_all(runtime.engine)
    with runtime.uow() as uow:
        runtime.calendar_sync.seed(uow.session)
        uow.commit()
    yield runtime
    runtime.dispose()


def _update(added, at):
    data = {"version": 1, "added": added, "removed": []}
    return new_event("notifier", "calendar", "updated", subject="calendar", opd=None, data=data, time=at).envelope()


def test_an_update_event_changes_the_calendar_after_commit(rt):
    day = date(2026, 12, 31)
    assert rt.calendar.is_working_day(day)
    with rt.uow() as uow:
        rt.calendar_sync.handle_event(uow, _update([{"date": "2026-12-31", "name": "Cuti tambahan"}], datetime.now(UTC)))
        assert rt.calendar.is_working_day(day), "nothing changes before the commit"
        uow.commit()
    assert not rt.calendar.is_working_day(day)
    assert rt.calendar.holiday_name(day) == "Cuti tambahan"


def test_a_web_process_sees_the_change_on_refresh(rt, make_settings, database_url):
    other = build_runtime(make_settings(Settings, "test", database_url), metadata)
    try:
        with rt.uow() as uow:
            rt.calendar_sync.handle_event(uow, _update([{"date": "2026-12-30", "name": "X"}], datetime.now(UTC)))
            uow.commit()
        other.calendar_sync.refresh_if_stale()
        assert not other.calendar.is_working_day(date(2026, 12, 30))
    finally:
        other.dispose()


def test_a_stale_update_does_not_overwrite_a_newer_one(rt):
    now = datetime.now(UTC)
    with rt.uow() as uow:
        rt.calendar_sync.handle_event(uow, _update([{"date": "2026-12-30", "name": "new"}], now))
        uow.commit()
    with rt.uow() as uow:
        rt.calendar_sync.handle_event(uow, _update([], now - timedelta(minutes=5)))
        uow.commit()
    rt.calendar_sync.refresh()
    assert not rt.calendar.is_working_day(date(2026, 12, 30))


def test_an_invalid_list_is_refused_and_changes_nothing(rt):
    with rt.uow() as uow, pytest.raises(ValueError):
        rt.calendar_sync.handle_event(uow, _update([{"date": "not a date", "name": "x"}], datetime.now(UTC)))
    rt.calendar_sync.refresh()
    assert rt.calendar.overrides() == {"added": [], "removed": []}
