"""Marshmallow schemas of the notifier's HTTP API (request bodies, query strings, responses).

Request bodies and query strings are `services.common.forms.Base` schemas: unknown fields
are refused and every message, marshmallow's defaults included, is in Bahasa Indonesia.
"""

from __future__ import annotations

from datetime import UTC

from flask import has_app_context
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.common.forms import Base, cross_field
from services.common.http import runtime
from services.common.listing import SearchText
from services.common.opd import KINDS
from services.common.registry import load_registry
from services.notifier import domain
from services.notifier import policy as policy_rules

_OPD = validate.Regexp(domain.OPD_CODE, error="Kode OPD harus huruf kecil, angka atau garis bawah.")
_CLOCK = validate.Regexp(domain.CLOCK_KIND, error="Nama jam harus seperti 'ppid.response'.")


class Instant(fields.DateTime):
    """An instant shown in the regency's time zone with its offset (SQLite stores UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if has_app_context():
            value = value.astimezone(runtime().calendar.tz)
        return value.isoformat()


class QuerySchema(Base):
    # Pagination parameters share the query string; they are read by the pager.
    class Meta:
        unknown = EXCLUDE


# -- policies ----------------------------------------------------------------------------

_NOTIFY_DOC = (
    "Peran penerima: officer (petugas OPD), head (kepala OPD), coordinator (koordinator "
    "layanan tingkat kabupaten), sekda; officer/head boleh diikat ke OPD tertentu, "
    "misalnya head@diskominfo."
)


class ReminderSchema(Base):
    before_working_days = fields.Integer(metadata={"description": "Pagi hari kerja ke-N sebelum hari jatuh tempo."})
    before_working_hours = fields.Float(metadata={"description": "N jam kerja sebelum batas waktu."})
    fraction = fields.Float(metadata={"description": "Setelah bagian ini dari waktu kerja yang tersedia (0-1)."})
    notify = fields.List(fields.String(), metadata={"description": _NOTIFY_DOC})


class BreachSchema(Base):
    notify = fields.List(fields.String(), required=True, metadata={"description": _NOTIFY_DOC})


class EscalationSchema(Base):
    level = fields.Integer(required=True)
    after_working_days = fields.Integer(required=True, metadata={"description": "Hari kerja setelah pemberitahuan keterlambatan."})
    notify = fields.List(fields.String(), required=True, metadata={"description": _NOTIFY_DOC})


class ActionVariantSchema(Base):
    when = fields.List(fields.String(), required=True, metadata={
        "description": "Kode tindakan yang semuanya masih terbuka menurut instruksi jam, misalnya extend."})
    action = fields.String(required=True)


class PolicyInSchema(Base):
    label = fields.String(required=True)
    action = fields.String(required=True, metadata={
        "description": "Tindakan yang selalu dapat dilakukan, juga setelah batas waktu."})
    action_variants = fields.List(fields.Nested(ActionVariantSchema), load_default=list, metadata={
        "description": "Teks tindakan pengganti, dipilih yang pertama bila semua kode `when` masih "
                       "terbuka (sebelum batas waktu, menurut `actions` pada instruksi jam)."})
    reminders = fields.List(fields.Nested(ReminderSchema), load_default=list)
    breach = fields.Nested(BreachSchema, required=True)
    escalation = fields.List(fields.Nested(EscalationSchema), load_default=list)

    @cross_field()
    def _policy_rules(self, data, **kwargs):
        # The policy's own rules (ranges, recipients, level order) are checked here too, so
        # they answer together with the field errors rather than in a second round; the
        # clock's name is the path's and is checked by the use case.
        try:
            policy_rules.parse_policy(domain.DEFAULT_POLICY, data)
        except policy_rules.PolicyError as exc:
            raise ValidationError(exc.errors) from exc


class PolicyOutSchema(Schema):
    clock = fields.String()
    label = fields.String()
    action = fields.String()
    action_variants = fields.List(fields.Dict())
    reminders = fields.List(fields.Dict())
    breach = fields.Dict()
    escalation = fields.List(fields.Dict())
    version = fields.Integer()
    updated_at = Instant()
    updated_by = fields.String()


# -- clocks ------------------------------------------------------------------------------


class ClockQuerySchema(QuerySchema):
    q = SearchText()
    opd = fields.String(validate=_OPD)
    service = fields.String(validate=validate.Length(max=32))
    state = fields.String(validate=validate.OneOf(domain.CLOCK_STATES))
    clock = fields.String(validate=_CLOCK)
    open = fields.Boolean(metadata={"description": "true: belum berhenti; false: sudah berhenti."})


class ClockOutSchema(Schema):
    subject = fields.String()
    clock = fields.String()
    service = fields.String()
    opd = fields.String(allow_none=True)
    role = fields.String(allow_none=True, metadata={"description": "Peran staf yang harus bertindak."})
    party = fields.String(metadata={"description": "staff: tugas OPD; citizen: jangka waktu pemohon."})
    actions = fields.List(fields.String(), allow_none=True)
    counting = fields.String(metadata={"description": "working_days atau calendar_days: cara pemilik menghitung batas waktu."})
    state = fields.String(metadata={"description": "paused: dijeda pemilik perkara, menunggu warga."})
    open = fields.Boolean()
    status_text = fields.String(allow_none=True, metadata={"description": "Sisa waktu, keterlambatan, atau jeda tugas yang masih terbuka."})
    run = fields.Integer()
    first_started_at = Instant(allow_none=True)
    started_at = Instant(allow_none=True)
    due_at = Instant(allow_none=True)
    breached_at = Instant(allow_none=True)
    stopped_at = Instant(allow_none=True)
    late_seconds = fields.Integer(allow_none=True)
    late_working_days = fields.Integer(allow_none=True)
    paused_at = Instant(allow_none=True)
    paused_seconds = fields.Integer(metadata={"description": "Lama jeda seluruhnya, dalam detik."})
    paused_working_days = fields.Integer(metadata={"description": "Hari kerja yang jatuh dalam jeda."})
    last_event_at = Instant(allow_none=True)


class HistoryOutSchema(Schema):
    entry = fields.String()
    at = Instant()
    recorded_at = Instant()
    run = fields.Integer(allow_none=True)
    due_at = Instant(allow_none=True)
    event_id = fields.String(allow_none=True)
    event_type = fields.String(allow_none=True)
    detail = fields.Dict(allow_none=True)


class StepOutSchema(Schema):
    key = fields.String()
    kind = fields.String()
    level = fields.Integer(allow_none=True)
    run = fields.Integer()
    notify = fields.List(fields.String())
    planned_at = Instant()
    send_after = Instant()
    state = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    sent_at = Instant(allow_none=True)
    cancelled_at = Instant(allow_none=True)


class DeliveryOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    case_subject = fields.String(allow_none=True)
    clock = fields.String(allow_none=True)
    opd = fields.String(allow_none=True)
    recipient_role = fields.String()
    recipient_name = fields.String(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    channel = fields.String()
    address = fields.String(allow_none=True)
    title = fields.String()
    status = fields.String()
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    at = Instant()


class TimelineEntrySchema(Schema):
    clock = fields.Nested(ClockOutSchema)
    history = fields.List(fields.Nested(HistoryOutSchema))
    steps = fields.List(fields.Nested(StepOutSchema))
    deliveries = fields.List(fields.Nested(DeliveryOutSchema))


class TimelineOutSchema(Schema):
    subject = fields.String()
    clocks = fields.List(fields.Nested(TimelineEntrySchema))


class DeliveryQuerySchema(QuerySchema):
    q = SearchText()
    opd = fields.String(validate=_OPD)
    subject = fields.String(validate=validate.Length(max=255))
    status = fields.String(validate=validate.OneOf(("sent", "failed", "skipped", "retrying")))


# -- inbox -------------------------------------------------------------------------------


class InboxQuerySchema(QuerySchema):
    q = SearchText()
    unread = fields.Boolean(load_default=False, metadata={"description": "Hanya yang belum dibaca."})


class InboxMessageOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    case_subject = fields.String(allow_none=True)
    clock = fields.String(allow_none=True)
    opd = fields.String(allow_none=True)
    created_at = Instant()
    read = fields.Function(lambda item: item["read_at"] is not None)
    read_at = Instant(allow_none=True)


class InboxPageSchema(Schema):
    unread = fields.Integer(metadata={"description": "Jumlah pesan yang belum dibaca."})
    total = fields.Integer()
    items = fields.List(fields.Nested(InboxMessageOutSchema))


class MarkedSchema(Schema):
    marked = fields.Integer()


# -- directory ---------------------------------------------------------------------------


class OpdInSchema(Base):
    code = fields.String(required=True, validate=_OPD)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    short_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    active = fields.Boolean(load_default=True)


class OpdPatchSchema(Base):
    name = fields.String(validate=validate.Length(min=1, max=200))
    short_name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.String(validate=validate.OneOf(KINDS))
    active = fields.Boolean()


class OpdOutSchema(Schema):
    code = fields.String()
    name = fields.String()
    short_name = fields.String()
    kind = fields.String()
    active = fields.Boolean()
    version = fields.Integer()
    updated_at = Instant()


_PHONE = validate.Regexp(r"^\+?[0-9 ()-]{6,32}$", error="Nomor telepon tidak valid.")


class ContactPatchSchema(Base):
    opd = fields.String(allow_none=True, validate=_OPD)
    role = fields.String(validate=validate.OneOf(domain.CONTACT_ROLES))
    service = fields.String(allow_none=True, validate=validate.OneOf(load_registry().names))
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=_PHONE)
    preferred_channel = fields.String(validate=validate.OneOf(domain.CHANNELS))
    sub = fields.String(allow_none=True, validate=validate.Length(min=1, max=255))
    active = fields.Boolean()


class ContactInSchema(ContactPatchSchema):
    role = fields.String(required=True, validate=validate.OneOf(domain.CONTACT_ROLES))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    preferred_channel = fields.String(load_default=domain.EMAIL, validate=validate.OneOf(domain.CHANNELS))


class ContactOutSchema(Schema):
    id = fields.Integer()
    opd = fields.String(allow_none=True)
    role = fields.String()
    service = fields.String(allow_none=True)
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    preferred_channel = fields.String()
    sub = fields.String(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()
    created_at = Instant()
    updated_at = Instant()


class OpdQuerySchema(QuerySchema):
    q = SearchText()


class ContactQuerySchema(QuerySchema):
    q = SearchText()
    opd = fields.String(validate=_OPD)
    role = fields.String(validate=validate.OneOf(domain.CONTACT_ROLES))


# -- calendar ----------------------------------------------------------------------------


class AddedDaySchema(Schema):
    date = fields.String()
    name = fields.String()


class RemovedDaySchema(Schema):
    date = fields.String()
    reason = fields.String()


class CalendarOutSchema(Schema):
    version = fields.Integer()
    added = fields.List(fields.Nested(AddedDaySchema), metadata={"description": "Hari libur tambahan."})
    removed = fields.List(fields.Nested(RemovedDaySchema), metadata={"description": "Hari libur yang dibatalkan (tetap hari kerja)."})
    rescheduled_clocks = fields.Integer(metadata={"description": "Jam terbuka yang langkahnya dijadwal ulang."})


class CalendarExceptionInSchema(Base):
    date = fields.Date(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("holiday", "working_day")),
                         metadata={"description": "holiday: hari libur tambahan; working_day: hari libur yang dibatalkan."})
    name = fields.String(validate=validate.Length(min=1, max=200))
    reason = fields.String(validate=validate.Length(min=1, max=500))

    @cross_field("type", "name", "reason")
    def _text_for_type(self, data, **kwargs):
        if data.get("type") == "holiday" and not data.get("name"):
            raise ValidationError("Sebutkan nama hari libur.", field_name="name")
        if data.get("type") == "working_day" and not data.get("reason"):
            raise ValidationError("Sebutkan dasar pembatalan hari libur.", field_name="reason")
        if data.get("type") == "holiday" and data.get("reason"):
            raise ValidationError("Hanya untuk working_day.", field_name="reason")
        if data.get("type") == "working_day" and data.get("name"):
            raise ValidationError("Hanya untuk holiday.", field_name="name")


# -- dashboard ---------------------------------------------------------------------------


class DashboardQuerySchema(QuerySchema):
    at = fields.AwareDateTime(metadata={"description": "Saat penghitungan (bawaan: sekarang)."})
    period_from = fields.AwareDateTime(data_key="from", metadata={"description": "Awal periode (bawaan: 30 hari sebelum `at`)."})
    period_to = fields.AwareDateTime(data_key="to", metadata={"description": "Akhir periode, tidak termasuk (bawaan: `at`)."})
    opd = fields.String(validate=_OPD)
    service = fields.String(validate=validate.Length(max=32))


class TallySchema(Schema):
    open = fields.Integer()
    paused = fields.Integer(metadata={"description": "Tugas terbuka yang dijeda, menunggu warga: tidak terlambat."})
    due_soon = fields.Integer(metadata={"description": "Jatuh tempo dalam dua hari kerja."})
    overdue = fields.Integer()
    met = fields.Integer(metadata={"description": "Selesai tepat waktu dalam periode."})
    breached = fields.Integer(metadata={"description": "Selesai terlambat dalam periode."})
    on_time_percent = fields.Float(allow_none=True)
    median_working_days = fields.Float(allow_none=True, metadata={"description": "Median waktu penyelesaian (hari kerja)."})
    score = fields.Float(allow_none=True, metadata={"description": "Tepat waktu / (selesai + masih terlambat), dalam persen."})


class ServiceTallySchema(TallySchema):
    service = fields.String()


class OpdTallySchema(TallySchema):
    opd = fields.String(allow_none=True)
    name = fields.String()
    rank = fields.Integer(allow_none=True)
    services = fields.List(fields.Nested(ServiceTallySchema))


class PeriodSchema(Schema):
    period_from = Instant(data_key="from", attribute="from")
    period_to = Instant(data_key="to", attribute="to")


class DashboardOutSchema(Schema):
    at = Instant()
    period = fields.Nested(PeriodSchema)
    due_soon_until = Instant()
    totals = fields.Nested(TallySchema)
    services = fields.List(fields.Nested(ServiceTallySchema))
    opds = fields.List(fields.Nested(OpdTallySchema))
