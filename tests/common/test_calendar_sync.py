"""The notifier's working-day exceptions reach every service through its own database."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import MetaData

from services.common.calendar_sync import calendar_state_table
from services.common.events import new_event
from services.common.outbox import plumbing_tables

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)


@pytest.fixture
def rt(database_url, make_chassis_runtime):
    return make_chassis_runtime(metadata, database_url)


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


def test_a_web_process_sees_the_change_on_refresh(rt, make_chassis_runtime, database_url):
    # A second process on the same database, which the first has already set up.
    other = make_chassis_runtime(metadata, database_url, migrated=False)
    with rt.uow() as uow:
        rt.calendar_sync.handle_event(uow, _update([{"date": "2026-12-30", "name": "X"}], datetime.now(UTC)))
        uow.commit()
    other.calendar_sync.refresh_if_stale()
    assert not other.calendar.is_working_day(date(2026, 12, 30))


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


# -- snapshots ordered by when the notifier changed them, and the OPD directory -------------


def _snapshot(kind, data, changed, sent):
    entity = "calendar" if kind == "calendar" else "opds"
    subject = "calendar" if kind == "calendar" else "directory/opds"
    payload = {**data, "changed_at": changed.isoformat()}
    return new_event("notifier", entity, "updated", subject=subject, opd=None, data=payload, time=sent).envelope()


def _apply(rt, envelope):
    with rt.uow() as uow:
        rt.calendar_sync.handle_event(uow, envelope)
        uow.commit()


def _stored_versions(rt):
    with rt.uow() as uow:
        directory = rt.calendar_sync.stored_directory(uow.session)
        return rt.calendar_sync.stored_calendar(uow.session).version, directory and directory.version


OPDS = [{"code": "dinkes", "name": "Dinas Kesehatan", "short_name": "Dinkes", "kind": "dinas", "active": True},
        {"code": "dishub", "name": "Dinas Perhubungan", "short_name": "Dishub", "kind": "dinas", "active": False}]


def test_a_repeated_list_changes_nothing_however_late_it_is_sent(rt):
    changed = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    listed = {"version": 3, "added": [{"date": "2026-12-30", "name": "Cuti"}], "removed": []}
    _apply(rt, _snapshot("calendar", listed, changed, changed))
    assert _stored_versions(rt) == (1, None)
    _apply(rt, _snapshot("calendar", listed, changed, changed + timedelta(hours=5)))
    assert _stored_versions(rt)[0] == 1, "a repeat with a later event time is not a change"
    _apply(rt, _snapshot("calendar", {"version": 2, "added": [], "removed": []}, changed - timedelta(days=1), datetime.now(UTC)))
    rt.calendar_sync.refresh()
    assert not rt.calendar.is_working_day(date(2026, 12, 30)), "an older list, sent now, is ignored"


def test_the_registry_follows_the_directory_and_web_processes_on_refresh(rt, make_chassis_runtime, database_url):
    assert "setda" in rt.opds and rt.opds.is_active("dishub"), "before any list: config/opd.json"
    web = make_chassis_runtime(metadata, database_url, migrated=False)
    changed = datetime(2026, 3, 2, 2, 44, tzinfo=UTC)
    _apply(rt, _snapshot("directory", {"version": 2, "opds": OPDS}, changed, changed))
    assert rt.opds.codes() == ("dinkes", "dishub") and not rt.opds.is_active("dishub")
    assert rt.opds.regency.timezone == "Asia/Jakarta"
    web.calendar_sync.refresh_if_stale()
    assert web.opds.codes() == ("dinkes", "dishub")
    # A repeat, then an older list: neither replaces the stored one.
    _apply(rt, _snapshot("directory", {"version": 2, "opds": OPDS}, changed, changed + timedelta(minutes=1)))
    _apply(rt, _snapshot("directory", {"version": 1, "opds": OPDS[:1]}, changed - timedelta(minutes=1), datetime.now(UTC)))
    assert _stored_versions(rt) == (0, 1)
    assert rt.opds.codes() == ("dinkes", "dishub")


def test_a_malformed_directory_is_refused_and_changes_nothing(rt):
    with rt.uow() as uow, pytest.raises(ValueError):
        rt.calendar_sync.handle_event(uow, _snapshot("directory", {"version": 1, "opds": [{"code": "X"}]},
                                                     datetime.now(UTC), datetime.now(UTC)))
    rt.calendar_sync.refresh()
    assert "setda" in rt.opds


def test_the_reference_consumer_forgets_processed_repeats_after_a_day(rt):
    from sqlalchemy import insert, select

    from services.common.calendar_sync import purge_reference_inbox
    from services.common.worker import reference_inbox_timer

    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    rows = [("test.calendar", "old", now - timedelta(days=2)), ("test.calendar", "new", now - timedelta(hours=1)),
            ("test.orders", "other", now - timedelta(days=30))]
    with rt.engine.begin() as conn:
        conn.execute(insert(rt.inbox), [{"consumer": c, "event_id": e, "processed_at": t} for c, e, t in rows])
    assert purge_reference_inbox(rt.engine, rt.inbox, "test.calendar", now) == 1
    with rt.engine.connect() as conn:
        left = set(conn.execute(select(rt.inbox.c.event_id)).scalars())
    assert left == {"new", "other"}, "other consumers' rows are not the reference consumer's to drop"
    assert reference_inbox_timer(rt).name == "reference-inbox-retention"
