"""The public pages: public and anonim reports only, no one's identity, the filters, the
report's public timeline, the GeoJSON map data and the statistics per OPD."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import schema_validator
from tests.lapor.public_seed import SECRETS, T0, seed_report

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
# RFC 7946 as far as this map uses it: a FeatureCollection of Point features whose
# positions are [longitude, latitude] and whose properties are an object.
GEOJSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"const": "Feature"},
                "id": {"type": ["string", "number"]},
                "properties": {"type": ["object", "null"]},
                "geometry": {
                    "type": "object",
                    "required": ["type", "coordinates"],
                    "properties": {
                        "type": {"const": "Point"},
                        "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "prefixItems": [
                            {"type": "number", "minimum": -180, "maximum": 180},
                            {"type": "number", "minimum": -90, "maximum": 90}],
                            "items": [{"type": "number", "minimum": -180, "maximum": 180},
                                      {"type": "number", "minimum": -90, "maximum": 90}]},
                    },
                },
            },
        }},
    },
}


@pytest.fixture(scope="module")
def seeded(lapor_env):
    rt = lapor_env.rt
    lapor_env.clock.set(T0 + 30 * DAY)
    numbers = {
        "dinkes": seed_report(
            rt, 1, privacy="public", category="kesehatan", status="in_progress", lead_opd="dinkes",
            kecamatan="62.03.01", latitude=-3.0012345, longitude=114.3898765,
            address="Depan Puskesmas Selat", verification_due_at=T0 + 3 * DAY, verified_at=T0 + DAY,
            dispatched_at=T0 + DAY, first_response_at=T0 + 2 * DAY,
            completion_due_at=T0 + 61 * DAY,
            history=(("submitted", T0, {}), ("verified", T0 + DAY, {}),
                     ("dispatched", T0 + DAY + HOUR, {"to_opd": "dinkes"}),
                     ("followed_up", T0 + 2 * DAY, {"actor_opd": "dinkes"})),
            messages=(("follow_up", "opd", "Petugas akan meninjau lokasi.", True, T0 + 2 * DAY),
                      ("note", "opd", "TANGGAPAN-TERTUTUP", False, T0 + 2 * DAY),
                      ("reporter_reply", "citizen", "KATA-PELAPOR", True, T0 + 3 * DAY))),
        "anonim": seed_report(
            rt, 2, privacy="anonim", category="infrastruktur", status="dispatched", lead_opd="dpupr",
            kecamatan="62.03.02", submitted_at=T0 + DAY, verification_due_at=T0 + 4 * DAY,
            verified_at=T0 + 5 * DAY, dispatched_at=T0 + 5 * DAY),
        "rahasia": seed_report(
            rt, 3, privacy="rahasia", category="kesehatan", status="dispatched", lead_opd="dinkes",
            latitude=-3.0, longitude=114.39, verification_due_at=T0 + 3 * DAY, dispatched_at=T0 + DAY),
        "spam": seed_report(
            rt, 4, privacy="public", status="archived", archive_reason="spam", closed_at=T0 + DAY,
            latitude=-3.0, longitude=114.39, verification_due_at=T0 + 3 * DAY),
        "february": seed_report(
            rt, 5, privacy="public", category="kesehatan", status="closed", lead_opd="dinkes",
            submitted_at=T0 - 20 * DAY, verification_due_at=T0 - 17 * DAY, verified_at=T0 - 19 * DAY,
            dispatched_at=T0 - 19 * DAY, first_response_at=T0 - 10 * DAY, completed_at=T0 - 9 * DAY,
            closed_at=T0 - 5 * DAY, closed_reason="accepted", rating=5,
            latitude=-2.99, longitude=114.4, kecamatan="62.03.01",
            description="Hubungi saya di 0813 4444 9876 kapan saja."),
    }
    return numbers


@pytest.fixture
def http(lapor_env, seeded):
    lapor_env.clock.set(T0 + 30 * DAY)
    return lapor_env.client


def numbers_of(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["number"] for item in response.get_json()]


def assert_nothing_secret(response) -> None:
    text = response.get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in text, secret


def test_list_shows_public_and_anonim_reports_only_and_nobody(http, seeded):
    response = http.get("/api/v1/public/reports")
    shown = numbers_of(response)
    assert seeded["dinkes"] in shown and seeded["anonim"] in shown and seeded["february"] in shown
    assert seeded["rahasia"] not in shown and seeded["spam"] not in shown
    assert_nothing_secret(response)
    for item in response.get_json():
        assert not {"name", "phone", "email", "reporter", "rating_comment"} & set(item)
    assert json.loads(response.headers["X-Pagination"])["total"] == len(shown)


def test_a_description_that_would_identify_someone_is_withheld(http, seeded):
    body = http.get(f"/api/v1/public/reports/{seeded['february']}").get_json()
    assert body["description"].startswith("Teks tidak ditampilkan")


@pytest.mark.parametrize("query, expected", [
    ("opd=dinkes", {"dinkes", "february"}),
    ("opd=dpupr", {"anonim"}),
    ("category=infrastruktur", {"anonim"}),
    ("status=closed", {"february"}),
    ("kecamatan=62.03.01", {"dinkes", "february"}),
    ("from=2026-03-02&to=2026-03-02", {"dinkes"}),
    ("from=2026-03-03&to=2026-03-31", {"anonim"}),
    ("to=2026-02-28", {"february"}),
    ("opd=dinkes&status=in_progress&kecamatan=62.03.01", {"dinkes"}),
])
def test_filters(http, seeded, query, expected):
    shown = numbers_of(http.get(f"/api/v1/public/reports?{query}"))
    assert set(shown) == {seeded[key] for key in expected}


@pytest.mark.parametrize("query, field", [
    ("status=unknown", "status"), ("opd=bukan_opd", "opd"), ("from=2026-03-10&to=2026-03-01", "to"),
    ("from=kemarin", "from"), ("page_size=1000", "page_size"),
])
def test_bad_filters_are_refused_in_the_one_error_shape(http, query, field):
    response = http.get(f"/api/v1/public/reports?{query}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and field in body["errors"]


def test_pages(http, seeded):
    first = http.get("/api/v1/public/reports?page_size=2&page=1")
    second = http.get("/api/v1/public/reports?page_size=2&page=2")
    assert len(numbers_of(first)) == 2
    assert not set(numbers_of(first)) & set(numbers_of(second))


def test_one_report_with_its_public_timeline(http, seeded):
    response = http.get(f"/api/v1/public/reports/{seeded['dinkes']}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["lead_opd"] == "dinkes" and body["lead_opd_name"]
    assert body["address"] == "Depan Puskesmas Selat"
    texts = [item["text"] for item in body["timeline"]]
    assert [item["action"] for item in body["timeline"]] == [
        "submitted", "verified", "dispatched", "followed_up", "follow_up"]
    assert "Petugas akan meninjau lokasi." in texts
    assert_nothing_secret(response)


@pytest.mark.parametrize("key", ["rahasia", "spam"])
def test_a_hidden_report_does_not_exist_for_the_public(http, seeded, key):
    response = http.get(f"/api/v1/public/reports/{seeded[key]}")
    assert response.status_code == 404
    assert response.get_json()["message"] == "Laporan tidak ditemukan."
    unknown = http.get("/api/v1/public/reports/LPR-2026-999999")
    assert unknown.status_code == 404 and unknown.get_json() == response.get_json()


def test_map_is_geojson_of_the_filtered_public_reports(http, seeded):
    response = http.get("/api/v1/public/map")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    collection = json.loads(response.get_data())
    schema_validator(GEOJSON).validate(collection)
    by_id = {feature["id"]: feature for feature in collection["features"]}
    assert set(by_id) == {seeded["dinkes"], seeded["february"]}
    assert by_id[seeded["dinkes"]]["geometry"]["coordinates"] == [114.389876, -3.001234]
    assert collection["total"] == 2 and collection["truncated"] is False
    assert_nothing_secret(response)
    only = json.loads(http.get("/api/v1/public/map?status=closed").get_data())
    assert [f["id"] for f in only["features"]] == [seeded["february"]]


def test_map_size_is_bounded(http, seeded):
    collection = json.loads(http.get("/api/v1/public/map?limit=1").get_data())
    assert len(collection["features"]) == 1
    assert collection["total"] == 2 and collection["truncated"] is True
    assert http.get("/api/v1/public/map?limit=100000").status_code == 422


def test_statistics_per_opd(http, seeded):
    response = http.get("/api/v1/public/statistics?from=2026-02-01&to=2026-03-31")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-03-31")
    rows = {row["opd"]: row for row in body["opds"]}
    dinkes = rows["dinkes"]
    # dinkes leads the in-progress report, the closed February one and the rahasia one.
    assert dinkes["received"] == 3
    assert (dinkes["verification_on_time"], dinkes["verification_counted"]) == (3, 3)
    # The rahasia report was never answered and its due passed; the other two were answered.
    assert dinkes["follow_up_counted"] >= 2
    assert dinkes["completed"] == 1 and dinkes["median_days_to_complete"] == 10.0
    assert (dinkes["satisfaction_average"], dinkes["satisfaction_count"]) == (5.0, 1)
    pupr = rows["dpupr"]
    assert pupr["received"] == 1
    assert (pupr["verification_on_time"], pupr["verification_counted"]) == (0, 1)
    assert pupr["verification_on_time_percent"] == 0.0
    assert rows["disdik"]["received"] == 0 and rows["disdik"]["verification_on_time_percent"] is None
    assert body["total"]["received"] == 5
    assert_nothing_secret(response)


def test_statistics_of_one_opd_and_a_period(http, seeded):
    body = http.get("/api/v1/public/statistics?from=2026-03-01&opd=dinkes").get_json()
    assert [row["opd"] for row in body["opds"]] == ["dinkes"]
    assert body["opds"][0]["received"] == 2
    assert http.get("/api/v1/public/statistics?from=2026-03-02&to=2026-03-01").status_code == 422


def test_every_public_and_open311_endpoint_is_rate_limited(lapor_env):
    app = lapor_env.app
    mine = [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(("lapor_public.", "lapor_open311."))]
    assert len(mine) >= 10
    for rule in mine:
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        handlers = ([getattr(view_class, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}]
                    if view_class else [view])
        assert all(getattr(handler, "rate_limited", False) for handler in handlers), rule.rule


def test_open311_routes_are_not_in_the_openapi_document(lapor_env):
    paths = lapor_env.client.get("/openapi.json").get_json()["paths"]
    assert not [path for path in paths if path.startswith("/open311")]
    assert {"/api/v1/public/reports", "/api/v1/public/map", "/api/v1/public/statistics"} <= set(paths)


def test_timeline_order_is_by_instant_then_change_before_words_then_number():
    from services.lapor.public_views import in_order

    at = T0
    items = [{"at": at, "kind": "response", "id": "m2"}, {"at": at, "kind": "status", "id": "h10"},
             {"at": at, "kind": "status", "id": "h9"}, {"at": at - HOUR, "kind": "response", "id": "m1"}]
    assert [item["id"] for item in sorted(items, key=in_order)] == ["m1", "h9", "h10", "m2"]


@pytest.mark.parametrize("privacy, shown", [("public", True), ("anonim", True), ("rahasia", False)])
def test_a_submitted_report_is_public_by_its_reporters_choice_and_never_names_them(http, privacy, shown):
    from tests.lapor.support import PERSONAL_STRINGS, submit_report

    number = submit_report(http, privacy=privacy)["number"]
    listed = http.get("/api/v1/public/reports?page_size=100")
    detail = http.get(f"/api/v1/public/reports/{number}")
    mapped = http.get("/api/v1/public/map")
    assert (number in numbers_of(listed)) is shown
    assert detail.status_code == (200 if shown else 404)
    assert (number in mapped.get_data(as_text=True)) is shown
    for response in (listed, detail, mapped):
        text = response.get_data(as_text=True)
        for personal in PERSONAL_STRINGS:
            assert personal not in text
