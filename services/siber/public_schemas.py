"""Schemas of the public reading API and of the statistics, on the chassis's form vocabulary."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

from services.common.forms import Base, Day, OpdCode, Text, cross_field
from services.common.listing import SearchText

MAX_PERIOD_DAYS = 366


class PublicArticleQuerySchema(Base):
    opd = OpdCode(metadata={"description": "Hanya berita OPD ini (kode OPD)."})
    tag = Text(50, metadata={"description": "Hanya berita dengan tag ini."})
    q = SearchText()


class PublicPhotoSchema(Schema):
    caption = fields.String()
    credit = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    url = fields.String()
    thumb_url = fields.String()


class PublicArticleSummarySchema(Schema):
    slug = fields.String()
    title = fields.String()
    lead = fields.String()
    opd = fields.String()
    opd_name = fields.String()
    tags = fields.List(fields.String())
    published_at = fields.DateTime()
    updated_at = fields.DateTime()
    corrected = fields.Boolean()
    url = fields.String()
    thumb_url = fields.String(allow_none=True)


class PublicArticleSchema(PublicArticleSummarySchema):
    body_html = fields.String()
    activity_date = fields.Date(allow_none=True)
    place = fields.String(allow_none=True)
    corrected_at = fields.DateTime(allow_none=True)
    correction_note = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(PublicPhotoSchema))


class PeriodQuerySchema(Base):
    """A period of whole days in the regency's zone; without one, this week so far."""

    date_from = Day(data_key="from", metadata={"description": "Hari pertama (termasuk)."})
    date_to = Day(data_key="to", metadata={"description": "Hari terakhir (termasuk)."})

    @cross_field("date_from", "date_to")
    def _period(self, data: dict, **_kwargs) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if (start is None) != (end is None):
            message = "Isi tanggal awal dan akhir periode bersama-sama."
            raise ValidationError({"from": [message], "to": [message]})
        if start is None:
            return
        if end < start:
            raise ValidationError("Tanggal akhir tidak boleh sebelum tanggal awal.", "to")
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise ValidationError(f"Periode paling panjang {MAX_PERIOD_DAYS} hari.", "to")


class DetailQuerySchema(PeriodQuerySchema):
    opd = OpdCode(metadata={"description": "Hanya OPD ini."})


class WeekQuerySchema(Base):
    day = Day(metadata={"description": "Satu hari dalam pekan yang digambar; tanpa ini, pekan ini."})


class PeriodSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    working_days = fields.Integer()


class PublicOpdFiguresSchema(Schema):
    rank = fields.Integer()
    opd = fields.String()
    opd_name = fields.String()
    working_days = fields.Integer()
    days_with_submission = fields.Integer()
    published = fields.Integer()
    score = fields.Float()


class ScorePartsSchema(Schema):
    quantity = fields.Float()
    published_ratio = fields.Float()
    photo_use = fields.Float()
    regularity = fields.Float()


class OpdFiguresSchema(PublicOpdFiguresSchema):
    per_day = fields.Integer()
    submitted = fields.Integer()
    rejected = fields.Integer()
    photos = fields.Integer()
    published_with_photo = fields.Integer()
    median_hours_to_publication = fields.Float(allow_none=True)
    silent_days = fields.List(fields.Date())
    score_parts = fields.Nested(ScorePartsSchema)


class PublicStatisticsSchema(Schema):
    period = fields.Nested(PeriodSchema)
    opds = fields.List(fields.Nested(PublicOpdFiguresSchema))


class StatisticsSchema(Schema):
    period = fields.Nested(PeriodSchema)
    opds = fields.List(fields.Nested(OpdFiguresSchema))
