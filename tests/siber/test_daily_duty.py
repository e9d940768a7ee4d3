"""The daily duty (`siber.daily_news`): opened once per OPD per working day by the worker,
met by the OPD's first submission of the day, never twice with two workers or after a restart."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select

from services.siber import daily_duty
from services.siber.models import DailyDuty
from tests.siber.support import WIB


def _clean(siber):
    with siber.rt.engine.begin() as conn:
        conn.execute(delete(DailyDuty))


def _duty_events(siber, day: str) -> list[dict]:
    return [e for e in siber.events() if e["type"].startswith("siber.quota") and e["data"]["day"] == day]


def test_the_morning_opener_opens_one_duty_per_active_opd_and_only_once(siber):
    _clean(siber)
    siber.clock.set(datetime(2026, 3, 3, 7, 30, tzinfo=WIB))  # before office hours
    assert daily_duty.open_duties(siber.rt) == []
    siber.clock.set(datetime(2026, 3, 3, 8, 1, tzinfo=WIB))
    opened = daily_duty.open_duties(siber.rt)
    active = [o.code for o in siber.rt.opds if siber.rt.opds.is_active(o.code)]
    assert sorted(opened) == sorted(active)
    assert daily_duty.open_duties(siber.rt) == []  # a second worker, or the next round
    events = _duty_events(siber, "2026-03-03")
    assert len(events) == len(active)
    dinkes = next(e for e in events if e["opd"] == "dinkes")
    assert dinkes["subject"] == "duties/dinkes/2026-03-03"
    start = dinkes["data"]["sla"]["start"][0]
    assert start == {"clock": "siber.daily_news", "due_at": "2026-03-03T09:00:00Z", "opd": "dinkes",
                     "role": "humas", "party": "staff", "counting": "working_days"}


def test_no_duty_on_a_day_off_or_after_office_hours(siber):
    _clean(siber)
    siber.clock.set(datetime(2026, 3, 7, 9, 0, tzinfo=WIB))  # Saturday
    assert daily_duty.open_duties(siber.rt) == []
    siber.clock.set(datetime(2026, 3, 18, 9, 0, tzinfo=WIB))  # cuti bersama Nyepi
    assert daily_duty.open_duties(siber.rt) == []
    siber.clock.set(datetime(2026, 3, 4, 16, 30, tzinfo=WIB))
    assert daily_duty.open_duties(siber.rt) == []


def test_the_first_submission_of_the_day_meets_the_duty_and_later_ones_do_not(siber):
    _clean(siber)
    siber.clock.set(datetime(2026, 3, 5, 8, 5, tzinfo=WIB))
    daily_duty.open_duties(siber.rt)
    first, second = siber.create("dlh"), siber.create("dlh")
    siber.clock.set(datetime(2026, 3, 5, 10, 0, tzinfo=WIB))
    siber.submit(first["id"], "dlh")
    siber.submit(second["id"], "dlh")
    events = [e for e in _duty_events(siber, "2026-03-05") if e["opd"] == "dlh"]
    assert [e["type"] for e in events] == ["siber.quota.opened", "siber.quota.met"]
    assert events[1]["data"]["sla"] == {"stop": [{"clock": "siber.daily_news"}]}
    assert events[1]["data"]["article_id"] == first["id"]
    with siber.rt.engine.connect() as conn:
        duty = conn.execute(select(DailyDuty).where(DailyDuty.opd == "dlh", DailyDuty.day == datetime(2026, 3, 5).date())).one()
    assert duty.article_id == first["id"] and duty.met_at is not None


def test_a_submission_before_the_opener_opens_and_meets_the_duty_itself(siber):
    _clean(siber)
    siber.clock.set(datetime(2026, 3, 6, 7, 0, tzinfo=WIB))
    article = siber.create("disdik")
    siber.submit(article["id"], "disdik")
    events = [e for e in _duty_events(siber, "2026-03-06") if e["opd"] == "disdik"]
    assert [e["type"] for e in events] == ["siber.quota.opened", "siber.quota.met"]
    siber.clock.set(datetime(2026, 3, 6, 8, 1, tzinfo=WIB))
    opened = daily_duty.open_duties(siber.rt)
    assert "disdik" not in opened and "dinkes" in opened
    # a resubmission is no first submission: nothing more for bappeda
    assert [e["type"] for e in _duty_events(siber, "2026-03-06") if e["opd"] == "disdik"] == [
        "siber.quota.opened", "siber.quota.met"]


def test_quotas_default_to_the_setting_and_editors_change_one(siber):
    from tests.siber.support import API, EDITOR, HUMAS, headers

    listed = siber.http.get(f"{API}/quotas", headers=headers(HUMAS, "dinkes")).get_json()
    assert {"opd": "dinkes", "per_day": 1} in listed
    assert siber.http.put(f"{API}/quotas/dinkes", json={"per_day": 2}, headers=headers(HUMAS, "dinkes")).status_code == 403
    changed = siber.http.put(f"{API}/quotas/dinkes", json={"per_day": 2}, headers=headers(EDITOR))
    assert changed.status_code == 200 and changed.get_json() == {"opd": "dinkes", "per_day": 2}
    assert {"opd": "dinkes", "per_day": 2} in siber.http.get(f"{API}/quotas", headers=headers(EDITOR)).get_json()
    assert siber.http.put(f"{API}/quotas/tidakada", json={"per_day": 2}, headers=headers(EDITOR)).status_code == 404
    assert siber.http.put(f"{API}/quotas/dinkes", json={"per_day": 0}, headers=headers(EDITOR)).status_code == 422


def test_an_operator_may_open_the_day_before_office_hours_but_never_after_them(siber):
    _clean(siber)
    early = datetime(2026, 3, 10, 6, 0, tzinfo=WIB)
    assert daily_duty.open_duties(siber.rt, early) == []
    assert "dinkes" in daily_duty.open_duties(siber.rt, early, before_office_hours=True)
    late = datetime(2026, 3, 11, 16, 0, tzinfo=WIB)
    assert daily_duty.open_duties(siber.rt, late, before_office_hours=True) == []


def test_the_open_duties_command(siber, monkeypatch, capsys):
    from services.common.cli import main
    from services.siber.__main__ import SERVICE

    _clean(siber)
    monkeypatch.setenv("SIMPUL_ENV", "development")
    monkeypatch.setenv("SIBER_DATABASE_URL", siber.env.url)
    assert main(SERVICE, ["open-duties", "--now", "2026-03-12T07:45:00+07:00"]) == 0
    assert "dinkes" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["opened"]
    assert [e["opd"] for e in _duty_events(siber, "2026-03-12")].count("dinkes") == 1
