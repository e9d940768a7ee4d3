"""Map data of public reports: a GeoJSON FeatureCollection (RFC 7946).

Positions are [longitude, latitude] in WGS 84 (RFC 7946 section 3.1.1), rounded to six
decimals (about 10 cm, section 11.2: more precision says nothing true). A report without a
point has no place on a map and is left out. The collection is bounded: at most `limit`
features, newest first, and its foreign members `total` (reports with a point that match)
and `truncated` say whether the map shows them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MEDIA_TYPE = "application/geo+json"
MAX_FEATURES = 1000
PRECISION = 6
# What a feature says about its report: the public view's fields, no one's identity.
PROPERTIES = (
    "number", "title", "classification", "category", "category_label", "status",
    "status_label", "lead_opd", "lead_opd_name", "kecamatan", "submitted_at",
)


def point(longitude: float | None, latitude: float | None) -> dict[str, Any] | None:
    """A GeoJSON Point, or None for a position that is missing or not on the globe."""
    if longitude is None or latitude is None:
        return None
    if not (-180.0 <= longitude <= 180.0 and -90.0 <= latitude <= 90.0):
        return None
    return {"type": "Point", "coordinates": [round(longitude, PRECISION), round(latitude, PRECISION)]}


def feature(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The feature of one public report view (`latitude`/`longitude` keys), or None."""
    geometry = point(report.get("longitude"), report.get("latitude"))
    if geometry is None:
        return None
    return {
        "type": "Feature",
        "id": report["number"],
        "geometry": geometry,
        "properties": {name: report.get(name) for name in PROPERTIES},
    }


def feature_collection(reports: Iterable[Mapping[str, Any]], *, total: int,
                       limit: int = MAX_FEATURES) -> dict[str, Any]:
    """The collection of at most `limit` of `reports` (already newest first); `total` is
    how many reports with a point match on the whole."""
    features = []
    for report in reports:
        if len(features) >= limit:
            break
        built = feature(report)
        if built is not None:
            features.append(built)
    return {
        "type": "FeatureCollection",
        "features": features,
        "total": total,
        "truncated": total > len(features),
    }
