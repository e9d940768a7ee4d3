"""HTTP API of webhook subscriptions: endpoints, secrets, the delivery log, redelivery.

A secret is shown twice in an endpoint's life at most: when the endpoint is registered and
when it is rotated. Changes to an endpoint carry its ETag in If-Match, so two staff members
(or a staff member and an OPD system's automation) cannot overwrite each other.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.common.auth import current_principal, roles_required
from services.common.forms import Base
from services.common.http import if_match_header, paginated, runtime
from services.common.listing import SearchText
from services.common.opd import OpdCodeField
from services.notifier import access, webhooks
from services.notifier.webhook_models import DELIVERY_STATES

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description=(
        "Langganan webhook bagi sistem OPD yang tidak memakai AMQP. Setiap peristiwa yang "
        "cocok dengan pola routing key dikirim dengan POST sebagai amplop CloudEvents "
        "(`application/cloudevents+json`), bertanda tangan Standard Webhooks: header "
        "`webhook-id` (id peristiwa, sama pada setiap pengulangan), `webhook-timestamp` "
        "(detik Unix percobaan ini) dan `webhook-signature` (`v1,<base64 HMAC-SHA256 dari "
        "'{id}.{timestamp}.{body}'>`, dipisah spasi selama pergantian rahasia). Verifikasi "
        "dengan pustaka standardwebhooks. Jawaban 2xx berarti berhasil; selain itu diulang "
        "setelah 5 dtk, 5 mnt, 30 mnt, 2, 5, 10, 14, 20 dan 24 jam. Jawaban 410 atau "
        "kegagalan terus-menerus selama beberapa hari menonaktifkan webhook. Pengalihan "
        "(3xx) tidak diikuti."
    ),
)


class UtcDateTime(fields.DateTime):
    """A datetime that is always shown with its UTC offset (SQLite stores none)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _opds():
    return runtime().opds


_PATTERNS_DOC = (
    "Pola routing key `<layanan>.<entitas>.<aksi>.<opd>`: `*` satu kata, `#` nol kata atau "
    "lebih. Staf OPD hanya boleh memakai pola yang diakhiri kode OPD-nya, misalnya "
    "`lapor.#.dinkes`."
)


class WebhookEndpointInSchema(Base):
    url = fields.String(
        required=True,
        validate=validate.Length(max=2048),
        metadata={"description": "Alamat https yang menerima POST; dicek terhadap SSRF."},
    )
    patterns = fields.List(
        fields.String(validate=validate.Length(min=1, max=webhooks.MAX_PATTERN_LENGTH)),
        required=True,
        validate=validate.Length(min=1, max=webhooks.MAX_PATTERNS),
        metadata={"description": _PATTERNS_DOC},
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))
    opd = OpdCodeField(
        _opds,
        metadata={"description": "Pemilik webhook (hanya admin); bawaan: OPD pada token."},
    )


class WebhookEndpointPatchSchema(Base):
    url = fields.String(validate=validate.Length(max=2048))
    patterns = fields.List(
        fields.String(validate=validate.Length(min=1, max=webhooks.MAX_PATTERN_LENGTH)),
        validate=validate.Length(min=1, max=webhooks.MAX_PATTERNS),
        metadata={"description": _PATTERNS_DOC},
    )
    description = fields.String(validate=validate.Length(max=500))
    enabled = fields.Boolean(
        metadata={"description": "false menonaktifkan; true mengaktifkan kembali."}
    )


class WebhookEndpointOutSchema(Schema):
    id = fields.String()
    opd = fields.String(allow_none=True)
    url = fields.String()
    description = fields.String()
    patterns = fields.List(fields.String())
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = UtcDateTime(allow_none=True)
    failing_since = UtcDateTime(allow_none=True)
    previous_secret_expires_at = UtcDateTime(
        allow_none=True,
        metadata={"description": "Sampai saat ini rahasia lama masih ikut menandatangani."},
    )
    version = fields.Integer()
    created_at = UtcDateTime()
    created_by = fields.String()
    updated_at = UtcDateTime()


class WebhookEndpointWithSecretSchema(WebhookEndpointOutSchema):
    secret = fields.String(
        metadata={"description": "Rahasia `whsec_…`; hanya ditampilkan sekali ini."}
    )


class WebhookEndpointQuerySchema(Base):
    q = SearchText()
    opd = OpdCodeField(_opds, metadata={"description": "Saring per OPD (admin)."})
    enabled = fields.Boolean()


class WebhookRotateInSchema(Base):
    grace_hours = fields.Integer(
        validate=validate.Range(min=0, max=int(webhooks.MAX_GRACE.total_seconds() // 3600)),
        metadata={"description": "Berapa jam rahasia lama masih ikut menandatangani."},
    )


class WebhookAttemptOutSchema(Schema):
    number = fields.Integer()
    attempted_at = UtcDateTime()
    succeeded = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()
    response_excerpt = fields.String(allow_none=True)


class WebhookDeliveryOutSchema(Schema):
    id = fields.Integer()
    endpoint_id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    routing_key = fields.String()
    subject = fields.String()
    status = fields.String(metadata={"enum": list(DELIVERY_STATES)})
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    last_attempt_at = UtcDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_duration_ms = fields.Integer(allow_none=True)
    created_at = UtcDateTime()
    succeeded_at = UtcDateTime(allow_none=True)
    redelivered_at = UtcDateTime(allow_none=True)
    redelivered_by = fields.String(allow_none=True)


class WebhookDeliveryDetailSchema(WebhookDeliveryOutSchema):
    body = fields.String(metadata={"description": "Isi yang dikirim (amplop CloudEvents)."})
    attempt_log = fields.List(fields.Nested(WebhookAttemptOutSchema))


class WebhookDeliveryQuerySchema(Base):
    q = SearchText()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATES))


@blp.route("")
class Endpoints(MethodView):
    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.arguments(WebhookEndpointQuerySchema, location="query")
    @blp.response(200, WebhookEndpointOutSchema(many=True))
    @paginated(blp)
    def get(self, query, page):
        """Webhook yang boleh Anda lihat (staf OPD: milik OPD-nya; admin: semua)"""
        return webhooks.list_endpoints(
            runtime(),
            current_principal(),
            page,
            opd=query.get("opd"),
            enabled=query.get("enabled"),
            q=query.get("q"),
        )

    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.arguments(WebhookEndpointInSchema)
    @blp.response(201, WebhookEndpointWithSecretSchema)
    def post(self, data):
        """Daftarkan webhook; rahasia penanda tangan hanya ditampilkan sekali"""
        view, etag = webhooks.create_endpoint(
            runtime(),
            current_principal(),
            url=data["url"],
            patterns=data["patterns"],
            description=data.get("description", ""),
            opd=data.get("opd"),
        )
        return view, 201, {"ETag": etag, "Location": f"{blp.url_prefix}/{view['id']}"}


@blp.route("/<string:endpoint_id>")
class EndpointView(MethodView):
    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.response(200, WebhookEndpointOutSchema)
    def get(self, endpoint_id):
        """Satu webhook"""
        view, etag = webhooks.get_endpoint(runtime(), current_principal(), endpoint_id)
        return view, {"ETag": etag}

    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.arguments(WebhookEndpointPatchSchema)
    @blp.response(200, WebhookEndpointOutSchema)
    def patch(self, changes, endpoint_id):
        """Ubah URL, pola, keterangan, atau aktif/nonaktif (wajib If-Match)"""
        view, etag = webhooks.update_endpoint(
            runtime(), current_principal(), endpoint_id, changes, if_match_header()
        )
        return view, {"ETag": etag}

    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.response(204)
    def delete(self, endpoint_id):
        """Hapus webhook beserta log pengirimannya (wajib If-Match)"""
        webhooks.delete_endpoint(runtime(), current_principal(), endpoint_id, if_match_header())


@blp.route("/<string:endpoint_id>/rotate-secret")
class RotateSecret(MethodView):
    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.arguments(WebhookRotateInSchema)
    @blp.response(200, WebhookEndpointWithSecretSchema)
    def post(self, data, endpoint_id):
        """Ganti rahasia; rahasia lama ikut menandatangani selama masa tenggang"""
        grace = data.get("grace_hours")
        view, etag = webhooks.rotate_secret(
            runtime(),
            current_principal(),
            endpoint_id,
            grace=None if grace is None else timedelta(hours=grace),
        )
        return view, {"ETag": etag}


@blp.route("/<string:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.arguments(WebhookDeliveryQuerySchema, location="query")
    @blp.response(200, WebhookDeliveryOutSchema(many=True))
    @paginated(blp)
    def get(self, query, endpoint_id, page):
        """Log pengiriman webhook, terbaru dahulu"""
        return webhooks.list_deliveries(
            runtime(),
            current_principal(),
            endpoint_id,
            page,
            status=query.get("status"),
            q=query.get("q"),
        )


@blp.route("/<string:endpoint_id>/deliveries/<int:delivery_id>")
class DeliveryView(MethodView):
    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.response(200, WebhookDeliveryDetailSchema)
    def get(self, endpoint_id, delivery_id):
        """Satu pengiriman dengan setiap percobaannya"""
        return webhooks.get_delivery(runtime(), current_principal(), endpoint_id, delivery_id)


@blp.route("/<string:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
class Redeliver(MethodView):
    @roles_required(*access.WEBHOOK_MANAGERS)
    @blp.response(202, WebhookDeliveryOutSchema)
    def post(self, endpoint_id, delivery_id):
        """Kirim ulang pengiriman yang sudah selesai (berhasil atau gagal)"""
        return webhooks.redeliver(runtime(), current_principal(), endpoint_id, delivery_id)
