"""Marshmallow schemas of the LAPOR! API (intake, the reporter's view, the admin's list,
detail and verification), on the chassis's Indonesian form vocabulary.

A category and a place are checked against the operator's lists (`categories`, `wilayah`),
with the other field errors in one 422.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from services.common.errors import Invalid
from services.common.forms import (
    Base,
    Choice,
    Day,
    Email,
    Flag,
    List,
    Nested,
    Number,
    OpdCode,
    Text,
    cross_field,
)
from services.common.http import runtime
from services.common.listing import SearchText
from services.lapor import domain, records
from services.lapor.attachment_schemas import AttachmentFileSchema

NUMBER_EXAMPLE = "LPR-2026-000123"


def _category_known(code: str) -> None:
    if code not in records.category_list(runtime()):
        raise ValidationError("Kategori tidak dikenal.")


class SubmitReportSchema(Base):
    """The report form: what happened, where, and how to reach the reporter."""

    classification = Choice(domain.CLASSIFICATIONS_LABELS, required=True)
    category = fields.String(
        required=True,
        validate=_category_known,
        metadata={"description": "Kode kategori dari daftar kategori LAPOR! (GET /api/v1/categories)"},
    )
    title = Text(200, min_length=5, required=True)
    description = Text(5000, min_length=10, required=True)
    incident_date = Day(allow_none=True, load_default=None)
    latitude = Number(allow_none=True, load_default=None)
    longitude = Number(allow_none=True, load_default=None)
    address = Text(300, allow_none=True, load_default=None)
    kecamatan = Text(100, allow_none=True, load_default=None,
                     metadata={"description": "Kode (62.03.01) atau nama kecamatan di Kabupaten Kapuas"})
    desa = Text(100, allow_none=True, load_default=None,
                metadata={"description": "Kode atau nama desa/kelurahan"})
    privacy = Choice(domain.PRIVACY_LABELS, required=True)
    name = Text(200, min_length=2, required=True,
                metadata={"description": "Nama pelapor; pada laporan anonim disembunyikan dari siapa pun"})
    phone = Text(30, allow_none=True, load_default=None)
    email = Email(allow_none=True, load_default=None)
    attachments = List(
        Nested(AttachmentFileSchema), load_default=list,
        metadata={"description": "Foto atau PDF pendukung (base64); jumlah dan ukuran dibatasi"},
    )

    @cross_field("phone", "email")
    def _contact_given(self, data: dict, **_kwargs) -> None:
        if data.get("phone") is None and data.get("email") is None:
            message = "Isi nomor telepon dan/atau alamat surel agar laporan dapat dijawab."
            raise ValidationError({"phone": [message], "email": [message]})

    @cross_field("phone")
    def _phone_format(self, data: dict, **_kwargs) -> None:
        phone = data.get("phone")
        if phone is not None:
            normal = domain.normalise_phone(phone)
            if normal is None:
                raise ValidationError("Nomor telepon tidak valid, mis. 0812-3456-7890.", "phone")
            data["phone"] = normal

    @cross_field("latitude", "longitude", "kecamatan", "desa")
    def _location(self, data: dict, **_kwargs) -> None:
        places = records.places(runtime())
        try:
            found = places.check_location(data.get("latitude"), data.get("longitude"),
                                          data.get("kecamatan"), data.get("desa"))
        except Invalid as problem:
            raise ValidationError(problem.errors or {"_schema": [problem.message]}) from problem
        data.update(latitude=found.latitude, longitude=found.longitude,
                    kecamatan=found.kecamatan, desa=found.desa)

    @cross_field("incident_date")
    def _not_in_the_future(self, data: dict, **_kwargs) -> None:
        day = data.get("incident_date")
        if day is not None:
            rt = runtime()
            if day > rt.clock().astimezone(rt.calendar.tz).date():
                raise ValidationError("Tanggal kejadian tidak boleh setelah hari ini.", "incident_date")


class VerificationDueSchema(Schema):
    received_at = fields.String()
    effective_received_at = fields.String()
    day_zero = fields.String()
    day_zero_moved = fields.Boolean()
    day_zero_reason = fields.String(allow_none=True)
    working_days = fields.Integer()
    office_hours = fields.Raw(metadata={"type": "object", "description": "Jam kerja dan zona waktu"})
    counted_days = fields.Raw(metadata={"type": "array", "items": {"type": "object"}})
    skipped_days = fields.Raw(metadata={"type": "array", "items": {"type": "object"}})
    due_date = fields.String()
    due_at = fields.String()
    summary = fields.String()


class SubmittedSchema(Schema):
    number = fields.String(metadata={"example": NUMBER_EXAMPLE})
    access_token = fields.String(metadata={"description": "Rahasia untuk memantau laporan; hanya ditampilkan sekali."})
    status = fields.String()
    status_label = fields.String()
    submitted_at = fields.DateTime()
    due_at = fields.DateTime(metadata={"description": "Batas waktu verifikasi oleh admin LAPOR!"})
    due_explanation = fields.Nested(VerificationDueSchema)
    message = fields.String()


# -- what a report looks like -------------------------------------------------------------


class ReportMessageSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    author_kind = fields.String()
    author_opd = fields.String(allow_none=True)
    author_opd_name = fields.String(allow_none=True)
    author_sub = fields.String(allow_none=True)
    body = fields.String()
    at = fields.DateTime()
    public = fields.Boolean()


class ReportHistorySchema(Schema):
    at = fields.DateTime()
    action = fields.String()
    label = fields.String()
    actor_kind = fields.String()
    actor_sub = fields.String(allow_none=True)
    actor_opd = fields.String(allow_none=True)
    from_opd = fields.String(allow_none=True)
    to_opd = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class ReportAttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    message_id = fields.Integer(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = fields.DateTime()


class DispositionSchema(Schema):
    opd = fields.String()
    opd_name = fields.String(allow_none=True)
    role = fields.String()
    active = fields.Boolean()
    dispatched_at = fields.DateTime()
    dispatched_by = fields.String()
    returned_at = fields.DateTime(allow_none=True)
    return_reason = fields.String(allow_none=True)


class SupportingOpdSchema(Schema):
    opd = fields.String()
    opd_name = fields.String(allow_none=True)


class ReporterSchema(Schema):
    name = fields.String(allow_none=True)
    name_withheld = fields.Boolean(metadata={"description": "Laporan anonim: nama tidak ditampilkan kepada siapa pun"})
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class ReportCoreSchema(Schema):
    number = fields.String(metadata={"example": NUMBER_EXAMPLE})
    national_id = fields.String(allow_none=True)
    channel = fields.String()
    classification = fields.String()
    classification_label = fields.String(allow_none=True)
    category = fields.String()
    category_label = fields.String(allow_none=True)
    title = fields.String()
    privacy = fields.String()
    status = fields.String()
    status_label = fields.String()
    national_status = fields.String()
    kecamatan = fields.String(allow_none=True)
    kecamatan_name = fields.String(allow_none=True)
    desa = fields.String(allow_none=True)
    desa_name = fields.String(allow_none=True)
    lead_opd = fields.String(allow_none=True)
    lead_opd_name = fields.String(allow_none=True)
    submitted_at = fields.DateTime()


class ReportSummarySchema(ReportCoreSchema):
    verification_due_at = fields.DateTime(allow_none=True)
    follow_up_due_at = fields.DateTime(allow_none=True)
    completion_due_at = fields.DateTime(allow_none=True)


class _ReportFullSchema(ReportCoreSchema):
    description = fields.String()
    incident_date = fields.Date(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    address = fields.String(allow_none=True)
    verification_due_at = fields.DateTime(allow_none=True)
    verification_paused_at = fields.DateTime(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    dispatched_at = fields.DateTime(allow_none=True)
    follow_up_due_at = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    completion_due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    reply_due_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    postpone_reason = fields.String(allow_none=True)
    archive_reason = fields.String(allow_none=True)
    archive_reason_label = fields.String(allow_none=True)
    archive_note = fields.String(allow_none=True)
    authority_body = fields.String(allow_none=True)
    duplicate_of = fields.String(allow_none=True, metadata={"description": "Nomor laporan asli"})
    closed_reason = fields.String(allow_none=True)
    closed_reason_label = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    rating_comment = fields.String(allow_none=True)
    rated_at = fields.DateTime(allow_none=True)
    messages = fields.List(fields.Nested(ReportMessageSchema))
    history = fields.List(fields.Nested(ReportHistorySchema))
    attachments = fields.List(fields.Nested(ReportAttachmentSchema))
    actions = fields.List(fields.String())


class CitizenReportSchema(_ReportFullSchema):
    """The reporter's own view."""

    supporting_opds = fields.List(fields.Nested(SupportingOpdSchema))


class StaffReportSchema(_ReportFullSchema):
    """The admin's view: the hops and, where the caller may see it, the reporter."""

    verification_remaining_days = fields.Integer(allow_none=True)
    dispositions = fields.List(fields.Nested(DispositionSchema))
    reporter = fields.Nested(ReporterSchema, allow_none=True)


class ReportListQuerySchema(Base):
    q = SearchText()
    status = Choice(domain.STATUS_LABELS)
    classification = Choice(domain.CLASSIFICATIONS_LABELS)
    category = Text(64)
    privacy = Choice(domain.PRIVACY_LABELS)
    channel = Choice(domain.CHANNELS)
    kecamatan = Text(32)
    lead_opd = OpdCode()
    submitted_from = Day()
    submitted_to = Day()
    overdue = Flag(
        metadata={"description": "Hanya yang melewati batas waktu verifikasi atau tindak lanjut"},
    )


# -- verification -------------------------------------------------------------------------


class ClarificationRequestSchema(Base):
    question = Text(2000, min_length=10, required=True,
                    metadata={"description": "Pertanyaan kepada pelapor; dikirim lewat surel"})


class ClarificationAnswerSchema(Base):
    answer = Text(5000, min_length=5, required=True)


class VerifySchema(Base):
    note = Text(1000, allow_none=True, load_default=None,
                metadata={"description": "Catatan internal, tidak dilihat pelapor"})


class PostponeSchema(Base):
    reason = Text(1000, min_length=5, required=True,
                  metadata={"description": "Alasan penundaan; disampaikan kepada pelapor"})


class ArchiveSchema(Base):
    reason = Choice(domain.ARCHIVE_REASON_LABELS, required=True)
    duplicate_of = fields.String(
        allow_none=True, load_default=None,
        validate=validate.Length(max=20, error="Paling banyak {max} karakter."),
        metadata={"description": "Nomor laporan asli bila alasan `duplicate`", "example": NUMBER_EXAMPLE},
    )
    note = Text(1000, allow_none=True, load_default=None)

    @cross_field("reason", "duplicate_of")
    def _original_for_duplicate(self, data: dict, **_kwargs) -> None:
        if data.get("reason") == domain.DUPLICATE and not data.get("duplicate_of"):
            raise ValidationError("Wajib diisi untuk laporan duplikat.", "duplicate_of")
        if data.get("reason") != domain.DUPLICATE and data.get("duplicate_of"):
            raise ValidationError("Hanya untuk alasan duplikat.", "duplicate_of")


class NotAuthoritySchema(Base):
    body = Text(200, min_length=3, required=True,
                metadata={"description": "Instansi yang berwenang, mis. Balai Wilayah Sungai Kalimantan II"})
    note = Text(1000, allow_none=True, load_default=None)
