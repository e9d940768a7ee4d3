"""The week's statistics over HTTP on SQLite and PostgreSQL: who reported and who went silent,
the public summary and the newsroom's detail, who may read what, and the week's chart."""

import os
from datetime import timedelta

import cairosvg
import pytest

from tests.siber.support import API, EDITOR, HUMAS, OPD_HEAD, T0, SiberClient, headers

MONDAY = T0  # Monday 2 March 2026, 09:00 WIB
FRIDAY_EVENING = T0 + timedelta(days=4, hours=8)
WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


@pytest.fixture(scope="module")
def week(siber_env):
    """Dinkes submits Monday, Tuesday and Wednesday (two published, one rejected); Disdik
    submits Monday and is published on Thursday; every other OPD is silent."""
    siber = SiberClient(siber_env)
    for day in (0, 1):
        siber.published("dinkes", submitted_at=MONDAY + timedelta(days=day),
                        at=MONDAY + timedelta(days=day, hours=2), title=f"Berita dinkes hari {day}")
    siber.clock.set(MONDAY + timedelta(days=2))
    rejected = siber.create("dinkes", title="Berita dinkes yang ditolak")
    siber.submit(rejected["id"])
    assert siber.act(rejected["id"], "reject", {"reason": "Bukan kegiatan OPD."}).status_code == 200
    siber.published("disdik", submitted_at=MONDAY, at=MONDAY + timedelta(days=3, hours=1),
                    title="Berita disdik")
    siber.clock.set(FRIDAY_EVENING)
    return siber


def active_opds(siber) -> int:
    return sum(1 for opd in siber.rt.opds if opd.active)


def rows_by_opd(body):
    return {row["opd"]: row for row in body["opds"]}


def test_public_summary_ranks_who_reported_above_the_silent(week):
    response = week.http.get(f"{API}/public/statistics", query_string=WEEK)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["period"] == {"from": "2026-03-02", "to": "2026-03-08", "working_days": 5}
    rows = rows_by_opd(body)
    assert rows["dinkes"] == {"rank": 1, "opd": "dinkes", "opd_name": "Dinas Kesehatan",
                              "working_days": 5, "days_with_submission": 3, "published": 2,
                              "score": 47.33}
    assert rows["disdik"]["rank"] == 2 and rows["disdik"]["score"] == 34.0
    assert rows["dlh"]["rank"] == 3 and rows["dlh"]["score"] == 0
    assert len(rows) == active_opds(week)
    assert [row["opd"] for row in body["opds"][:2]] == ["dinkes", "disdik"]
    assert not {"submitted", "rejected", "silent_days", "median_hours_to_publication"} & set(rows["dinkes"])


def test_detail_for_the_newsroom_has_every_figure(week):
    response = week.http.get(f"{API}/statistics", query_string=WEEK, headers=headers(EDITOR))
    assert response.status_code == 200, response.get_json()
    rows = rows_by_opd(response.get_json())
    dinkes, disdik = rows["dinkes"], rows["disdik"]
    assert (dinkes["submitted"], dinkes["published"], dinkes["rejected"]) == (3, 2, 1)
    assert dinkes["median_hours_to_publication"] == 2.0
    assert dinkes["silent_days"] == ["2026-03-05", "2026-03-06"]
    assert dinkes["score_parts"] == {"quantity": 16.0, "published_ratio": 13.33, "photo_use": 0.0,
                                     "regularity": 18.0}
    assert dinkes["per_day"] == 1
    assert disdik["median_hours_to_publication"] == 73.0
    assert rows["dlh"]["silent_days"] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05",
                                          "2026-03-06"]


def test_an_opd_reads_its_own_detail_only(week):
    own = week.http.get(f"{API}/statistics", query_string=WEEK, headers=headers(HUMAS, "disdik"))
    assert own.status_code == 200
    assert [(r["opd"], r["rank"]) for r in own.get_json()["opds"]] == [("disdik", 2)]
    head = week.http.get(f"{API}/statistics", query_string={**WEEK, "opd": "dinkes"},
                         headers=headers(OPD_HEAD, "dinkes"))
    assert [r["opd"] for r in head.get_json()["opds"]] == ["dinkes"]
    other = week.http.get(f"{API}/statistics", query_string={**WEEK, "opd": "dinkes"},
                          headers=headers(HUMAS, "disdik"))
    assert other.status_code == 403
    assert week.http.get(f"{API}/statistics", query_string=WEEK).status_code == 401


def test_without_a_period_it_is_this_week_so_far(week):
    week.clock.set(MONDAY + timedelta(days=2, hours=3))  # Wednesday noon
    body = week.http.get(f"{API}/public/statistics").get_json()
    assert body["period"] == {"from": "2026-03-02", "to": "2026-03-08", "working_days": 3}
    assert rows_by_opd(body)["disdik"]["published"] == 0  # published on Thursday
    week.clock.set(FRIDAY_EVENING)


@pytest.mark.parametrize("query", [
    {"from": "2026-03-02"},
    {"to": "2026-03-02"},
    {"from": "2026-03-08", "to": "2026-03-02"},
    {"from": "2025-01-01", "to": "2026-03-02"},
    {"from": "kemarin", "to": "2026-03-02"},
    {"from": "0001-01-01", "to": "0001-01-02"},
    {"from": "2026-03-02", "to": "9999-12-31"},
])
def test_bad_periods_are_422_in_indonesian(week, query):
    for path, auth in ((f"{API}/public/statistics", {}), (f"{API}/statistics", headers(EDITOR))):
        response = week.http.get(path, query_string=query, headers=auth)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"]


def test_the_weeks_chart_shows_who_reported(week):
    response = week.http.get(f"{API}/public/statistics/week.svg", query_string={"day": "2026-03-04"})
    assert response.status_code == 200
    assert response.content_type.startswith("image/svg+xml")
    svg = response.get_data(as_text=True)
    assert "Berita OPD pekan 2–6 Maret 2026" in svg
    assert "3 dari 5 hari" in svg and "1 dari 5 hari" in svg
    assert f"2 OPD mengirim berita, {active_opds(week) - 2} OPD tidak mengirim berita." in svg
    assert svg.index(">Dinkes<") < svg.index(">Disdik<") < svg.index(">DLH<")
    png = cairosvg.svg2png(bytestring=response.data)
    assert png.startswith(b"\x89PNG")
    target = os.environ.get("SIBER_WEEK_PNG")
    if target:
        with open(target, "wb") as output:
            output.write(png)
    assert week.http.get(f"{API}/public/statistics/week.svg",
                         query_string={"day": "besok"}).status_code == 422


def test_an_opds_own_quota_is_what_its_quantity_is_measured_against(week):
    from services.siber.models import OpdQuota

    with week.rt.uow() as uow:
        uow.session.add(OpdQuota(opd="disdik", per_day=2, updated_at=MONDAY))
        uow.commit()
    try:
        rows = rows_by_opd(week.http.get(f"{API}/statistics", query_string=WEEK,
                                         headers=headers(EDITOR)).get_json())
        assert rows["disdik"]["per_day"] == 2
        assert rows["disdik"]["score_parts"]["quantity"] == 4.0  # 40 × 1 / (2 × 5)
        assert rows["dinkes"]["per_day"] == 1
    finally:
        with week.rt.uow() as uow:
            uow.session.delete(uow.session.get(OpdQuota, "disdik"))
            uow.commit()
