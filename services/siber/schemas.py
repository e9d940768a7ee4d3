"""Marshmallow schemas of SIBER's staff API, on the chassis's Indonesian form fields."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.filenames import FileName
from services.common.forms import Base, Choice, Day, Length, List, OpdCode, Range, Text, When, Whole
from services.common.listing import SearchText
from services.siber import domain

TITLE_MAX = 200
LEAD_MAX = 1000
BODY_MAX = 200_000
TAGS_MAX = 10


def _tags():
    return List(Text(50), validate=Length(max=TAGS_MAX), metadata={"description": "Paling banyak 10 tag"})


class ArticleInSchema(Base):
    title = Text(TITLE_MAX, min_length=5, required=True)
    lead = Text(LEAD_MAX)
    body_html = Text(BODY_MAX, metadata={"description": "HTML; dibersihkan ke sekumpulan tag aman"})
    activity_date = Day()
    place = Text(200)
    tags = _tags()


class ArticleUpdateSchema(Base):
    """Only the fields given change; a blank text clears an optional one."""

    title = Text(TITLE_MAX, min_length=5)
    lead = Text(LEAD_MAX, allow_none=True)
    body_html = Text(BODY_MAX, allow_none=True)
    activity_date = Day(allow_none=True)
    place = Text(200, allow_none=True)
    tags = _tags()


class ArticleListQuerySchema(Base):
    q = SearchText()
    status = Choice(domain.ARTICLE_STATES)
    opd = OpdCode()


class PhotoSchema(Schema):
    id = fields.Integer()
    content_type = fields.String()
    size = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()
    caption = fields.String()
    credit = fields.String()
    position = fields.Integer()
    renditions_ready = fields.Boolean()
    url = fields.String()
    web_url = fields.String(allow_none=True)
    thumb_url = fields.String(allow_none=True)


class ArticleSummarySchema(Schema):
    id = fields.Integer()
    opd = fields.String()
    slug = fields.String()
    title = fields.String()
    status = fields.String()
    status_label = fields.String()
    author_name = fields.String(allow_none=True)
    editor_name = fields.String(allow_none=True)
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    scheduled_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class ArticleSchema(ArticleSummarySchema):
    lead = fields.String()
    body_html = fields.String()
    activity_date = fields.Date(allow_none=True)
    place = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    author_sub = fields.String()
    editor_sub = fields.String(allow_none=True)
    last_submitted_at = fields.DateTime(allow_none=True)
    revision_notes = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    corrected_at = fields.DateTime(allow_none=True)
    correction_note = fields.String(allow_none=True)
    taken_down_at = fields.DateTime(allow_none=True)
    takedown_reason = fields.String(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    version = fields.Integer()
    photos = fields.List(fields.Nested(PhotoSchema))
    allowed_actions = fields.List(
        fields.String(), metadata={"description": "Tindakan alur kerja yang dapat dilakukan pembaca saat ini"}
    )


class NotesSchema(Base):
    notes = Text(5000, required=True)


class ReasonSchema(Base):
    reason = Text(2000, required=True)


class ScheduleSchema(Base):
    publish_at = When(required=True)


class CorrectionSchema(Base):
    note = Text(2000, required=True, metadata={"description": "Catatan koreksi yang tampil bagi pembaca"})
    title = Text(TITLE_MAX, min_length=5)
    lead = Text(LEAD_MAX, allow_none=True)
    body_html = Text(BODY_MAX)


class RevisionSummarySchema(Schema):
    number = fields.Integer()
    status = fields.String()
    title = fields.String()
    author_name = fields.String(allow_none=True)
    author_role = fields.String()
    created_at = fields.DateTime()


class RevisionSchema(RevisionSummarySchema):
    lead = fields.String()
    body_html = fields.String()
    activity_date = fields.Date(allow_none=True)
    place = fields.String(allow_none=True)
    tags = fields.List(fields.String())


class DiffQuerySchema(Base):
    base = Whole(strict=False, required=True, validate=Range(min=1, max=100_000))
    to = Whole(strict=False, required=True, validate=Range(min=1, max=100_000))


class FieldDiffSchema(Schema):
    field = fields.String()
    diff = fields.String(metadata={"description": "Unified diff, baris demi baris"})


class DiffSchema(Schema):
    base = fields.Integer()
    to = fields.Integer()
    changes = fields.List(fields.Nested(FieldDiffSchema))


class CommentInSchema(Base):
    body = Text(5000, required=True)
    parent_id = Whole(validate=Range(min=1, max=2_000_000_000))


class CommentSchema(Schema):
    id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    author_name = fields.String(allow_none=True)
    author_sub = fields.String()
    body = fields.String()
    created_at = fields.DateTime()
    replies = fields.List(fields.Nested(lambda: CommentSchema()))


class AssignmentInSchema(Base):
    opd = OpdCode(required=True)
    title = Text(TITLE_MAX, min_length=5, required=True)
    description = Text(5000)
    event_date = Day(required=True)
    due_at = When(required=True)


class AssignmentListQuerySchema(Base):
    status = Choice(domain.ASSIGNMENT_STATES)
    opd = OpdCode()


class AssignmentSchema(Schema):
    id = fields.Integer()
    opd = fields.String()
    title = fields.String()
    description = fields.String()
    event_date = fields.Date()
    due_at = fields.DateTime()
    status = fields.String()
    article_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    fulfilled_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class CoverSchema(Base):
    article_id = Whole(required=True, validate=Range(min=1, max=2_000_000_000))


class QuotaInSchema(Base):
    per_day = Whole(required=True, validate=Range(min=1, max=20))


class QuotaSchema(Schema):
    opd = fields.String()
    per_day = fields.Integer()


class PhotoMetaSchema(Base):
    caption = Text(500)
    credit = Text(200)
    position = Whole(validate=Range(min=0, max=1000))


class PhotoInSchema(Base):
    filename = FileName(200, required=True, metadata={"example": "posyandu.jpg"})
    content_base64 = fields.String(
        required=True,
        validate=Length(min=1, max=12 * 1024 * 1024),
        metadata={"description": "Isi berkas JPEG, PNG atau WebP, base64"},
    )
    caption = Text(500, required=True)
    credit = Text(200, required=True)
    position = Whole(validate=Range(min=0, max=1000))

