"""Map data: RFC 7946 FeatureCollections of public report views, [longitude, latitude]."""

from __future__ import annotations

from services.lapor import geojson


def view(number: str, *, latitude=-3.0012345678, longitude=114.3876543219, **extra) -> dict:
    return {"number": number, "title": "Jalan berlubang", "status": "dispatched", "latitude": latitude,
            "longitude": longitude, "kecamatan": "62.03.01", **extra}


def test_positions_are_longitude_then_latitude_rounded_to_six_decimals():
    collection = geojson.feature_collection([view("LPR-2026-000001")], total=1)
    assert collection["type"] == "FeatureCollection"
    (feature,) = collection["features"]
    assert feature["type"] == "Feature"
    assert feature["id"] == "LPR-2026-000001"
    assert feature["geometry"] == {"type": "Point", "coordinates": [114.387654, -3.001235]}
    assert set(feature["properties"]) == set(geojson.PROPERTIES)
    assert collection["truncated"] is False


def test_reports_without_a_point_are_left_out():
    reports = [view("A", latitude=None), view("B", longitude=None), view("C", latitude=95.0), view("D")]
    collection = geojson.feature_collection(reports, total=1)
    assert [f["id"] for f in collection["features"]] == ["D"]


def test_the_collection_is_bounded_and_says_so():
    reports = [view(f"LPR-2026-{n:06d}") for n in range(1, 11)]
    collection = geojson.feature_collection(reports, total=10, limit=3)
    assert [f["id"] for f in collection["features"]] == ["LPR-2026-000001", "LPR-2026-000002", "LPR-2026-000003"]
    assert collection["total"] == 10 and collection["truncated"] is True


def test_properties_hold_only_the_named_public_fields():
    feature = geojson.feature(view("A", reporter_name="Siti", email="siti@example.org"))
    assert "reporter_name" not in feature["properties"] and "email" not in feature["properties"]
