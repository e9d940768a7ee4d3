"""Schemas of the public pages: the filters of the list, the map and the statistics, and
the views they answer (no field for anyone's identity exists here)."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields

from services.common.forms import Base, Choice, Day, OpdCode, Range, Text, Whole, cross_field
from services.lapor import domain, geojson

PERIOD_ORDER = "Tanggal akhir tidak boleh sebelum tanggal awal."
# The longest period statistics are computed over at once: ten years of reports.
MAX_PERIOD_DAYS = 3660
PERIOD_TOO_LONG = f"Periode paling lama {MAX_PERIOD_DAYS} hari."


class _Period(Base):
    start = Day(data_key="from", metadata={"description": "Tanggal awal (diterima sejak, waktu setempat)"})
    end = Day(data_key="to", metadata={"description": "Tanggal akhir (diterima sampai dengan, waktu setempat)"})

    @cross_field("start", "end")
    def _ordered(self, data: dict, **_kwargs) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError({"to": [PERIOD_ORDER]})
        if (end - start).days > MAX_PERIOD_DAYS:
            raise ValidationError({"to": [PERIOD_TOO_LONG]})


class PublicFilterSchema(_Period):
    opd = OpdCode(metadata={"description": "Kode OPD penanggung jawab"})
    category = Text(64, metadata={"description": "Kode kategori"})
    status = Choice(domain.STATUSES)
    kecamatan = Text(32, metadata={"description": "Kode kecamatan, mis. 62.03.01"})


class MapQuerySchema(PublicFilterSchema):
    limit = Whole(strict=False, load_default=geojson.MAX_FEATURES,
                  validate=Range(min=1, max=geojson.MAX_FEATURES),
                  metadata={"description": f"Paling banyak titik (1-{geojson.MAX_FEATURES})"})


class StatisticsQuerySchema(_Period):
    opd = OpdCode(metadata={"description": "Hanya satu OPD"})

    @staticmethod
    def period(filters: dict, today: date) -> tuple[date, date]:
        """The period asked for; by default from 1 January of `today`'s year to today."""
        end = filters.get("end") or today
        start = filters.get("start") or date(end.year, 1, 1)
        return (start, end) if start <= end else (start, start)


class TimelineItemSchema(Schema):
    id = fields.String()
    at = fields.DateTime()
    kind = fields.String(metadata={"description": "status (perubahan status) atau response (jawaban OPD/admin)"})
    action = fields.String()
    text = fields.String(allow_none=True)
    opd = fields.String(allow_none=True)
    opd_name = fields.String(allow_none=True)


class PublicReportSchema(Schema):
    number = fields.String()
    classification = fields.String()
    classification_label = fields.String(allow_none=True)
    category = fields.String()
    category_label = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String()
    incident_date = fields.Date(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "Lokasi kejadian (bukan alamat pelapor)"})
    kecamatan = fields.String(allow_none=True)
    kecamatan_name = fields.String(allow_none=True)
    desa = fields.String(allow_none=True)
    desa_name = fields.String(allow_none=True)
    anonymous = fields.Boolean()
    status = fields.String()
    status_label = fields.String()
    national_label = fields.String(allow_none=True)
    lead_opd = fields.String(allow_none=True)
    lead_opd_name = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
    verified_at = fields.DateTime(allow_none=True)
    dispatched_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    completion_due_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class PublicReportDetailSchema(PublicReportSchema):
    timeline = fields.List(fields.Nested(TimelineItemSchema))


class _Figures(Schema):
    received = fields.Integer()
    verification_on_time = fields.Integer()
    verification_counted = fields.Integer()
    verification_on_time_percent = fields.Float(allow_none=True)
    follow_up_on_time = fields.Integer()
    follow_up_counted = fields.Integer()
    follow_up_on_time_percent = fields.Float(allow_none=True)
    completed = fields.Integer()
    median_days_to_complete = fields.Float(allow_none=True)
    satisfaction_average = fields.Float(allow_none=True)
    satisfaction_count = fields.Integer()


class OpdFiguresSchema(_Figures):
    opd = fields.String()
    opd_name = fields.String()


class StatisticsSchema(Schema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    opds = fields.List(fields.Nested(OpdFiguresSchema))
    total = fields.Nested(_Figures)


class GeoJsonSchema(Schema):
    """A FeatureCollection (RFC 7946) of Point features; `total` and `truncated` are
    foreign members saying whether every matching report is on the map."""

    type = fields.String(metadata={"enum": ["FeatureCollection"]})
    features = fields.List(fields.Dict())
    total = fields.Integer()
    truncated = fields.Boolean()
