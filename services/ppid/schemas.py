"""Marshmallow schemas of the PPID API, with messages in Bahasa Indonesia.

Input schemas are written in the chassis's form vocabulary (`services.common.forms`):
bodies refuse unknown fields, every message is written for the citizen or clerk filling in
the form, and rules between fields report together with the field errors.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.common.errors import Invalid
from services.common.filenames import FileName
from services.common.forms import (
    MESSAGES,
    Base,
    Base64Bytes,
    Choice,
    Day,
    Flag,
    Nested,
    OpdCode,
    Text,
    When,
    Whole,
    cross_field,
)
from services.common.forms import Email as EmailAddress
from services.common.http import runtime
from services.common.listing import SearchText
from services.ppid import applicant_documents, domain


def _messages(**extra: str) -> dict[str, str]:
    return {**MESSAGES, **extra}


# -- requests ---------------------------------------------------------------------------------


class ApplicantDocumentInSchema(Base):
    """A document the applicant attaches: a scan or photo of an identity card, a power of
    attorney or a legal entity's deed (personal data: shown only to staff with access to
    the request and to the applicant)."""

    kind = Choice(applicant_documents.KINDS, required=True)
    filename = FileName(200, required=True)
    content_type = Choice(applicant_documents.CONTENT_TYPES, required=True)
    content_base64 = Base64Bytes(required=True, error_messages=_messages())


class PowerOfAttorneySchema(Base):
    attorney_name = Text(200, min_length=2, required=True, metadata={"description": "Nama penerima kuasa"})
    letter = Text(200, min_length=3, required=True, metadata={"description": "Nomor dan tanggal surat kuasa"})


class SubmitRequestSchema(Base):
    """The request form of the service standard (Perki 1/2021)."""

    identity_type = Choice(domain.IDENTITY_TYPES, required=True)
    identity_number = Text(
        100,
        required=True,
        metadata={"description": "NIK (16 digit) untuk perorangan; nomor akta pendirian/SK badan hukum."},
    )
    name = Text(200, min_length=2, required=True)
    address = Text(500, min_length=5, required=True)
    phone = Text(30, allow_none=True, load_default=None)
    email = EmailAddress(allow_none=True, load_default=None)
    occupation = Text(100, allow_none=True, load_default=None)
    power_of_attorney = Nested(PowerOfAttorneySchema, allow_none=True, load_default=None)
    information = Text(5000, min_length=10, required=True, metadata={"description": "Rincian informasi yang dibutuhkan"})
    purpose = Text(2000, min_length=5, required=True, metadata={"description": "Tujuan penggunaan informasi"})
    obtain_method = Choice(domain.OBTAIN_METHODS, required=True)
    delivery_method = Choice(domain.DELIVERY_METHODS, required=True)
    requested_opd = OpdCode(
        allow_none=True,
        load_default=None,
        metadata={"description": "OPD yang menurut pemohon menguasai informasi (boleh kosong)"},
    )
    documents = fields.List(
        Nested(ApplicantDocumentInSchema),
        load_default=list,
        error_messages=_messages(),
        metadata={"description": "Salinan KTP, surat kuasa atau akta badan hukum (base64; data pribadi)"},
    )

    # Rules between fields answer together with the field errors (one 422 lists all); each
    # names the fields it reads and waits only for those.

    @cross_field("phone", "email")
    def _contact_given(self, data: dict, **_kwargs) -> None:
        if data.get("phone") is None and data.get("email") is None:
            message = "Isi nomor telepon dan/atau alamat surel."
            raise ValidationError({"phone": [message], "email": [message]})

    @cross_field("email", "delivery_method")
    def _email_for_delivery(self, data: dict, **_kwargs) -> None:
        if data.get("delivery_method") == "email" and data.get("email") is None:
            raise ValidationError("Wajib diisi bila informasi dikirim melalui surel.", "email")

    @cross_field("identity_type", "identity_number")
    def _identity(self, data: dict, **_kwargs) -> None:
        number = data.get("identity_number")
        if number is None:
            return
        if data.get("identity_type") == "nik":
            problem = domain.nik_problem(number.replace(" ", ""))
            if problem:
                raise ValidationError(problem, "identity_number")
        elif len(number) < 3:
            raise ValidationError("Nomor akta/SK badan hukum paling sedikit 3 karakter.", "identity_number")

    @cross_field("phone")
    def _phone_format(self, data: dict, **_kwargs) -> None:
        phone = data.get("phone")
        if phone is not None and domain.normalise_phone(phone) is None:
            raise ValidationError(
                "Nomor telepon tidak valid; contoh 0812-3456-7890 atau +62 513 21234.", "phone"
            )

    @cross_field("documents")
    def _acceptable_documents(self, data: dict, **_kwargs) -> None:
        if not data.get("documents"):
            return  # none attached, as on most forms: nothing to count (the limit is >= 0)
        settings = runtime().settings
        # A document that failed its own fields is reported by them already (None keeps
        # the others' positions).
        documents = [
            (d["filename"], d["content_type"], d["content_base64"])
            if {"filename", "content_type", "content_base64"} <= d.keys()
            else None
            for d in data.get("documents") or ()
        ]
        errors = applicant_documents.document_errors(
            documents, max_count=settings.attachment_max_count, max_bytes=settings.attachment_max_bytes
        )
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data: dict, **_kwargs) -> dict:
        if data.get("identity_type") == "nik":
            data["identity_number"] = data["identity_number"].replace(" ", "")
        if data.get("phone") is not None:
            data["phone"] = domain.normalise_phone(data["phone"])
        if data.get("email") is not None:
            data["email"] = data["email"].strip().lower()
        return data


class OfflineRequestSchema(SubmitRequestSchema):
    """A request received in person, by letter, phone, e-mail or fax, entered by staff."""

    channel = Choice(domain.OFFLINE_CHANNELS, required=True)
    submitted_at = When(required=True, metadata={"description": "Waktu permohonan benar-benar diterima"})

    @cross_field("submitted_at")
    def _plausible_receipt(self, data: dict, **_kwargs) -> None:
        errors = domain.offline_receipt_errors(
            data["submitted_at"], runtime().clock(), runtime().settings.offline_max_age_days
        )
        if errors:
            raise ValidationError(errors)


class ExplanationSchema(Schema):
    received_at = fields.String()
    effective_received_at = fields.String()
    day_zero = fields.String()
    day_zero_moved = fields.Boolean()
    day_zero_reason = fields.String(allow_none=True)
    working_days = fields.Integer()
    # The calendar builds these from plain strings and numbers, so they are written as they
    # are: the submission answers with them, and re-serialising each day cost it CPU.
    office_hours = fields.Raw(metadata={"type": "object", "description": "Jam kerja dan zona waktu"})
    counted_days = fields.Raw(
        metadata={"type": "array", "items": {"type": "object"}, "description": "Hari kerja yang dihitung"}
    )
    skipped_days = fields.Raw(
        metadata={"type": "array", "items": {"type": "object"}, "description": "Hari libur yang dilewati"}
    )
    due_date = fields.String()
    due_at = fields.String()
    summary = fields.String()


class SubmittedSchema(Schema):
    number = fields.String(metadata={"example": "PPID-2026-000123"})
    access_token = fields.String(metadata={"description": "Rahasia untuk memantau permohonan; hanya ditampilkan sekali."})
    status = fields.String()
    status_label = fields.String()
    submitted_at = fields.DateTime()
    received_at = fields.DateTime(metadata={"description": "Hari ke-0 setelah aturan jam kerja"})
    due_at = fields.DateTime()
    due_explanation = fields.Nested(ExplanationSchema)
    opd = fields.String(allow_none=True)
    opd_name = fields.String(allow_none=True)
    message = fields.String()


class RequestSummarySchema(Schema):
    number = fields.String()
    status = fields.String()
    status_label = fields.String()
    channel = fields.String()
    submitted_at = fields.DateTime()
    received_at = fields.DateTime()
    due_at = fields.DateTime()
    extended = fields.Boolean()
    late = fields.Boolean()
    requested_opd = fields.String(allow_none=True)
    opd = fields.String(allow_none=True)
    opd_name = fields.String(allow_none=True)
    information = fields.String()
    outcome = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class ExtensionViewSchema(Schema):
    extended_at = fields.DateTime()
    ground = fields.String()
    ground_label = fields.String()
    reason = fields.String()


class NoticeSummarySchema(Schema):
    outcome = fields.String()
    outcome_label = fields.String()
    issued_at = fields.DateTime()
    late = fields.Boolean()
    days_taken = fields.Integer()


class ObjectionBriefSchema(Schema):
    number = fields.String()
    status = fields.String()
    decision = fields.String(allow_none=True)
    filed_at = fields.DateTime()
    response_due_at = fields.DateTime()


class HistorySchema(Schema):
    occurred_at = fields.DateTime()
    action = fields.String()
    label = fields.String()
    opd = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class RequestSchema(RequestSummarySchema):
    channel_label = fields.String()
    base_due_at = fields.DateTime()
    working_days_left = fields.Integer(allow_none=True)
    purpose = fields.String()
    obtain_method = fields.String()
    obtain_method_label = fields.String()
    delivery_method = fields.String()
    delivery_method_label = fields.String()
    assigned_at = fields.DateTime(allow_none=True)
    extension = fields.Nested(ExtensionViewSchema, allow_none=True)
    notice = fields.Nested(NoticeSummarySchema, allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    reopened_at = fields.DateTime(allow_none=True, metadata={"description": "Dikembalikan kepada PPID karena keberatan diterima Atasan PPID"})
    withdrawal_reason = fields.String(allow_none=True)
    objections = fields.List(fields.Nested(ObjectionBriefSchema))
    history = fields.List(fields.Nested(HistorySchema))
    registered_by = fields.String(allow_none=True, metadata={"description": "Hanya untuk petugas"})
    allowed_actions = fields.List(fields.String(), metadata={"description": "Tindakan yang dapat dilakukan pembaca saat ini: petugas assign, reassign, extend, answer; pemohon withdraw, object"})


class RequestListQuerySchema(Base):
    q = SearchText()
    status = Choice(domain.REQUEST_STATUSES)
    opd = OpdCode()
    unassigned = Flag(metadata={"description": "Hanya yang belum ditugaskan ke OPD"})
    channel = Choice(domain.CHANNELS)
    year = Whole(strict=False, validate=validate.Range(min=2000, max=2999, error="Tahun tidak valid."))
    outcome = Choice(domain.OUTCOMES)
    late = Flag(metadata={"description": "Melewati batas waktu tanpa pemberitahuan"})
    received_from = Day()
    received_to = Day()


class ApplicantDocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class ApplicantSchema(Schema):
    request_number = fields.String()
    identity_type = fields.String()
    identity_number = fields.String()
    name = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    occupation = fields.String(allow_none=True)
    power_of_attorney = fields.Dict(allow_none=True)
    documents = fields.List(fields.Nested(ApplicantDocumentSchema), metadata={"description": "Dokumen yang dilampirkan pemohon"})


class ApplicantQuerySchema(Base):
    reason = Text(500, metadata={"description": "Keperluan membuka data pribadi (dicatat)"})


class AccessEntrySchema(Schema):
    """One read of the applicant's personal data, as the applicant reads it (`privacy.describe`)."""

    accessed_at = fields.DateTime(metadata={"description": "Waktu akses (zona waktu daerah)"})
    when = fields.String(metadata={"description": "Waktu akses dalam kata, mis. Senin, 2 Maret 2026 pukul 09.00 WIB"})
    who = fields.String(metadata={"description": "Siapa: peran dan OPD, mis. PPID Pelaksana Dinas Kesehatan"})
    role = fields.String(allow_none=True)
    opd = fields.String(allow_none=True)
    opd_name = fields.String(allow_none=True)
    purpose = fields.String()
    what = fields.String(metadata={"description": "Apa yang dilakukan dengan data"})
    why = fields.String(allow_none=True, metadata={"description": "Alasan yang disebutkan petugas"})
    summary = fields.String(metadata={"description": "Satu kalimat untuk dibaca pemohon"})


# -- routing, extension, withdrawal -----------------------------------------------------------


class AssignSchema(Base):
    opd = OpdCode(required=True)


class ReassignSchema(Base):
    opd = OpdCode(required=True)
    reason = Text(1000, min_length=5, required=True)


class ExtendSchema(Base):
    ground = Choice(domain.EXTENSION_GROUNDS, required=True)
    reason = Text(2000, min_length=10, required=True, metadata={"description": "Alasan tertulis perpanjangan"})


class WithdrawSchema(Base):
    reason = Text(1000, allow_none=True, load_default=None)


# -- the written notice ------------------------------------------------------------------------


class AttachmentInSchema(Base):
    filename = FileName(200, required=True)
    content_type = fields.String(required=True, error_messages=_messages())
    content_base64 = Base64Bytes(required=True, error_messages=_messages())


class NoticeInSchema(Base):
    outcome = Choice(domain.OUTCOMES, required=True)
    letter_number = Text(100, allow_none=True, load_default=None)
    issued_at = When(allow_none=True, load_default=None, metadata={"description": "Bila diserahkan lebih awal; bawaan: sekarang"})
    info_format = Choice(domain.OBTAIN_METHODS, allow_none=True, load_default=None)
    delivery_method = Choice(domain.DELIVERY_METHODS, allow_none=True, load_default=None)
    fee_amount = Whole(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=100_000_000, error="Biaya harus antara {min} dan {max} rupiah."),
    )
    fee_details = Text(1000, allow_none=True, load_default=None)
    provision_date = Day(allow_none=True, load_default=None)
    redacted_parts = Text(2000, allow_none=True, load_default=None)
    exemption_clause = Choice(domain.EXEMPTION_CLAUSES, allow_none=True, load_default=None)
    exemption_basis = Text(1000, allow_none=True, load_default=None)
    consequence_test = Text(5000, min_length=10, allow_none=True, load_default=None)
    holder_body = Text(300, min_length=3, allow_none=True, load_default=None)
    documented_by = Day(allow_none=True, load_default=None)
    remarks = Text(2000, allow_none=True, load_default=None)
    attachments = fields.List(
        fields.Nested(AttachmentInSchema), load_default=list, error_messages=_messages()
    )

    @cross_field("outcome")
    def _fits_outcome(self, data: dict, **_kwargs) -> None:
        # The outcome's obligations are the domain's rule; checked here too so that they
        # come back in the same answer as the field errors rather than after them.
        rt = runtime()
        today = rt.clock().astimezone(rt.calendar.tz).date()
        try:
            domain.check_notice(data, today=today, attachments=len(data.get("attachments") or ()))
        except Invalid as exc:
            raise ValidationError(exc.errors or exc.message) from exc

    @cross_field("issued_at")
    def _not_ahead(self, data: dict, **_kwargs) -> None:
        if errors := domain.not_in_future("issued_at", data.get("issued_at"), runtime().clock()):
            raise ValidationError(errors)

    @cross_field("attachments")
    def _acceptable_attachments(self, data: dict, **_kwargs) -> None:
        settings = runtime().settings
        # An attachment that failed its own fields is reported by them already.
        attachments = [
            (a["filename"], a["content_type"], a["content_base64"])
            for a in data.get("attachments") or ()
            if {"filename", "content_type", "content_base64"} <= a.keys()
        ]
        errors = domain.attachment_errors(
            attachments,
            max_count=settings.attachment_max_count,
            max_bytes=settings.attachment_max_bytes,
        )
        if errors:
            raise ValidationError(errors)


class AttachmentOutSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class NoticeSchema(NoticeSummarySchema):
    request_number = fields.String()
    letter_number = fields.String(allow_none=True)
    issuing_opd = fields.String(allow_none=True)
    issuing_opd_name = fields.String(allow_none=True)
    issued_by_name = fields.String(allow_none=True)
    info_format = fields.String(allow_none=True)
    delivery_method = fields.String(allow_none=True)
    fee_amount = fields.Integer()
    fee_details = fields.String(allow_none=True)
    provision_date = fields.Date(allow_none=True)
    redacted_parts = fields.String(allow_none=True)
    exemption_clause = fields.String(allow_none=True)
    exemption_clause_label = fields.String(allow_none=True)
    exemption_basis = fields.String(allow_none=True)
    consequence_test = fields.String(allow_none=True)
    holder_body = fields.String(allow_none=True)
    documented_by = fields.Date(allow_none=True)
    remarks = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentOutSchema))


# -- objections and disputes -------------------------------------------------------------------


class ObjectionInSchema(Base):
    grounds = fields.List(
        Choice(domain.OBJECTION_GROUNDS),
        required=True,
        validate=validate.Length(min=1, max=7, error="Pilih 1 sampai 7 alasan."),
        error_messages=_messages(invalid="Harus berupa daftar huruf alasan, mis. [\"a\", \"g\"]."),
    )
    statement = Text(5000, min_length=10, required=True, metadata={"description": "Uraian keberatan (kasus posisi)"})


class DecisionSchema(Base):
    decision = Choice(domain.DECISIONS, required=True)
    reasons = Text(5000, min_length=10, required=True)


class DisputeInSchema(Base):
    filed_on = Day(required=True, metadata={"description": "Tanggal sengketa didaftarkan di Komisi Informasi"})
    register_number = Text(100, allow_none=True, load_default=None)


class ResolutionSchema(Base):
    outcome = Choice(domain.DISPUTE_OUTCOMES, required=True)
    resolved_on = Day(required=True)
    summary = Text(5000, allow_none=True, load_default=None)


class DisputeSchema(Schema):
    register_number = fields.String(allow_none=True)
    filed_on = fields.Date()
    within_window = fields.Boolean()
    status = fields.String()
    status_label = fields.String()
    outcome = fields.String(allow_none=True)
    outcome_label = fields.String(allow_none=True)
    resolved_on = fields.Date(allow_none=True)
    resolution_summary = fields.String(allow_none=True)


class ObjectionSchema(Schema):
    number = fields.String(metadata={"example": "KBR-2026-000001"})
    request_number = fields.String()
    opd = fields.String(allow_none=True)
    opd_name = fields.String(allow_none=True)
    grounds = fields.List(fields.String())
    ground_labels = fields.List(fields.String())
    statement = fields.String()
    ground_arose_at = fields.DateTime()
    filing_deadline = fields.DateTime()
    filed_at = fields.DateTime()
    received_at = fields.DateTime()
    response_due_at = fields.DateTime()
    status = fields.String()
    status_label = fields.String()
    decision = fields.String(allow_none=True)
    decision_label = fields.String(allow_none=True)
    decision_reasons = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decided_by_name = fields.String(allow_none=True)
    late = fields.Boolean()
    answer_lapsed = fields.Boolean()
    dispute_window_due_at = fields.DateTime(allow_none=True)
    dispute = fields.Nested(DisputeSchema, allow_none=True)
    request_status = fields.String(metadata={"description": "Hanya untuk petugas"})


class ObjectionListQuerySchema(Base):
    q = SearchText()
    status = Choice(domain.OBJECTION_STATUSES)
    opd = OpdCode()
    year = Whole(strict=False, validate=validate.Range(min=2000, max=2999, error="Tahun tidak valid."))
    decision = Choice(domain.DECISIONS)
