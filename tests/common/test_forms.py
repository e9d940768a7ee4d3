"""The chassis's forms and its one error shape: every 4xx a caller can meet is
`{"code", "status", "message", "errors"?}` with flat dotted field paths, in Bahasa Indonesia,
and a form's problems come back in one answer."""

from __future__ import annotations

import re
import time

import jwt
import marshmallow as ma
import pytest
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate
from sqlalchemy import MetaData

from services.common.auth import login_required, roles_required
from services.common.calendar_sync import calendar_state_table
from services.common.errors import Invalid
from services.common.forms import Base, Base64Bytes, Choice, Text, Whole, cross_field, indonesian
from services.common.http import PAGE, create_flask_app
from services.common.outbox import plumbing_tables
from services.common.settings import Settings

# Words of marshmallow's, webargs', werkzeug's and the old auth messages; none belongs in
# an Indonesian sentence.
ENGLISH = re.compile(
    r"\b(the|is|not|of|and|must|may|field|missing|unknown|invalid|required|shorter|longer|"
    r"greater|less|than|length|authentication|expired|needs|belongs|allowed|found|request|"
    r"please|type|string|integer|number|boolean|list|mapping|body|equal|one)\b",
    re.IGNORECASE,
)


def is_english(text: str) -> bool:
    # Placeholders such as {equal} are filled in before anyone reads the message.
    return bool(ENGLISH.search(re.sub(r"\{[^}]*\}", "", text)))


def english_in(body: dict) -> list[str]:
    texts = [body["message"], *(m for messages in body.get("errors", {}).values() for m in messages)]
    return [text for text in texts if is_english(text)]


# -- the vocabulary --------------------------------------------------------------------------


class Owner(Base):
    letter = fields.String(required=True)


class Part(Base):
    label = fields.String(required=True, validate=validate.Length(min=2, max=10))


class Form(Base):
    """Declared with plain marshmallow fields and validators, as a newcomer would."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    count = fields.Integer(strict=True, validate=validate.Range(min=1, max=9))
    colour = fields.String(validate=validate.OneOf(["merah", "putih"]))
    email = fields.Email()
    at = fields.AwareDateTime()
    day = fields.Date()
    ratio = fields.Float()
    tags = fields.List(fields.String(validate=validate.Length(max=5)))
    owner = fields.Nested(Owner)
    parts = fields.List(fields.Nested(Part))
    pattern = fields.String(validate=validate.Regexp(r"^[a-z]+$"))
    owners = fields.Nested(Owner, many=True)
    own = fields.String(validate=validate.Length(max=3, error="Pendek saja."))


BAD_FORM = {
    "surplus": 1,
    "count": "3",
    "colour": "biru",
    "email": "bukan-surel",
    "at": "2026-03-16T10:00:00",
    "day": "kemarin",
    "ratio": "x",
    "tags": ["panjang sekali", 3],
    "owner": {},
    "parts": [{"label": "ok"}, {"label": "x", "extra": 1}, "teks"],
    "pattern": "ABC",
    "owners": {"letter": "x"},
    "own": "terlalu",
}


def test_plain_fields_and_validators_on_base_answer_in_indonesian():
    with pytest.raises(ValidationError) as caught:
        Form().load(BAD_FORM)
    messages = caught.value.messages
    assert messages["surplus"] == ["Isian tidak dikenal."]
    assert messages["name"] == ["Wajib diisi."]
    assert messages["count"] == ["Harus berupa bilangan bulat."]
    assert messages["colour"] == ["Pilihan tidak dikenal; gunakan salah satu dari: merah, putih."]
    assert messages["email"] == ["Alamat surel tidak valid."]
    assert messages["at"] == ["Sertakan zona waktu, mis. 2026-03-16T10:00:00+07:00."]
    assert messages["day"] == ["Tanggal tidak valid; gunakan format 2026-03-16."]
    assert messages["ratio"] == ["Harus berupa angka."]
    assert messages["tags"] == {0: ["Panjang paling banyak 5."], 1: ["Harus berupa teks."]}
    assert messages["owner"] == {"letter": ["Wajib diisi."]}
    assert messages["parts"] == {
        1: {"label": ["Panjang harus antara 2 dan 10."], "extra": ["Isian tidak dikenal."]},
        2: {"_schema": ["Data harus berupa objek JSON."]},
    }
    assert messages["pattern"] == ["Format tidak valid."]
    assert messages["owners"] == ["Harus berupa daftar objek JSON."]
    # What the author wrote stays as written.
    assert messages["own"] == ["Pendek saja."]
    with pytest.raises(ValidationError) as small:
        Form().load({"name": "a", "count": 0})
    assert small.value.messages == {"count": ["Harus lebih dari atau sama dengan 1 dan kurang dari atau sama dengan 9."]}


def test_a_schema_not_on_base_is_translated_in_place():
    class Pagination(ma.Schema):
        page = fields.Integer(validate=validate.Range(min=1))

    schema = indonesian(Pagination())
    with pytest.raises(ValidationError) as caught:
        schema.load({"page": 0, "other": 1})
    assert caught.value.messages == {
        "page": ["Harus lebih dari atau sama dengan 1."],
        "other": ["Isian tidak dikenal."],
    }
    # The class itself keeps marshmallow's defaults: only that instance speaks Indonesian.
    with pytest.raises(ValidationError) as english:
        Pagination().load({"page": 0})
    assert english.value.messages == {"page": ["Must be greater than or equal to 1."]}


class Booking(Base):
    kind = Choice(["email", "post"], required=True)
    email = fields.Email(load_default=None)
    first = Whole(required=True)
    last = Whole(required=True)

    @cross_field("kind", "email")
    def _email_for_email(self, data, **_kwargs):
        if data.get("kind") == "email" and data.get("email") is None:
            raise ValidationError("Wajib diisi bila dikirim melalui surel.", "email")

    @cross_field("first", "last")
    def _order(self, data, **_kwargs):
        if data["first"] > data["last"]:
            raise ValidationError({"first": ["Harus sebelum akhir."], "last": ["Harus sesudah awal."]})


def test_rules_between_fields_report_with_the_field_errors():
    with pytest.raises(ValidationError) as caught:
        Booking().load({"kind": "email", "first": 5, "last": 2, "surplus": 1})
    assert caught.value.messages == {
        "surplus": ["Isian tidak dikenal."],
        "email": ["Wajib diisi bila dikirim melalui surel."],
        "first": ["Harus sebelum akhir."],
        "last": ["Harus sesudah awal."],
    }


def test_a_rule_waits_for_the_fields_it_reads():
    # A wrong address is not also called missing; a missing `last` stops the order rule.
    with pytest.raises(ValidationError) as caught:
        Booking().load({"kind": "email", "email": "bukan", "first": 5})
    assert caught.value.messages == {"email": ["Alamat surel tidak valid."], "last": ["Wajib diisi."]}


class Dropping(Base):
    a = Whole(required=True)
    b = Whole(required=True)

    @cross_field()
    def _both(self, data, **_kwargs):
        raise ValidationError({"a": ["Aturan a."], "b": ["Aturan b."]})


def test_what_a_rule_says_about_a_failed_field_is_dropped():
    with pytest.raises(ValidationError) as caught:
        Dropping().load({"a": "x", "b": 1})
    assert caught.value.messages == {"a": ["Harus berupa bilangan bulat."], "b": ["Aturan b."]}


def test_text_trims_and_bounds():
    class Note(Base):
        text = Text(10, min_length=3, required=True)

    assert Note().load({"text": "  abcd  "}) == {"text": "abcd"}
    for value, message in [("  ", "Wajib diisi."), ("ab", "Paling sedikit 3 karakter."),
                            ("x" * 11, "Paling banyak 10 karakter."), (5, "Harus berupa teks.")]:
        with pytest.raises(ValidationError) as caught:
            Note().load({"text": value})
        assert caught.value.messages == {"text": [message]}


# -- the one error shape, through a service ----------------------------------------------------

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)
blp = Blueprint("forms", __name__, url_prefix="/api/v1/forms")


class Query(Base):
    year = Whole(strict=False, validate=validate.Range(min=2000, max=2999))


@blp.route("")
class Forms(MethodView):
    @blp.arguments(Form)
    @blp.response(201)
    def post(self, body):
        return {"name": body["name"]}

    @blp.arguments(Query, location="query")
    @blp.response(200)
    @blp.paginate(**PAGE)
    def get(self, query, pagination_parameters):
        pagination_parameters.item_count = 0
        return []


@blp.route("/staff")
@roles_required("admin")
def staff_only():
    return {"ok": True}


@blp.route("/mine")
@login_required
def mine():
    return {"ok": True}


@blp.route("/raw", methods=["POST"])
def raw():
    return {"got": request.get_json()}


@blp.route("/domain", methods=["POST"])
def domain_error():
    raise Invalid("Isian tidak valid.", {"items": {0: {"name": ["Wajib diisi."]}}, "attachments.1": "Terlalu besar."})


@pytest.fixture
def app(sqlite_url, make_chassis_runtime):
    rt = make_chassis_runtime(metadata, sqlite_url, MAX_BODY_BYTES="2048")
    return create_flask_app(rt, title="Forms", description="forms", blueprints=[blp])


def _expired_token() -> str:
    config = Settings.from_env("test", {"SIMPUL_ENV": "development"})
    now = int(time.time())
    claims = {"sub": "u", "roles": ["admin"], "opd": None, "aud": config.jwt_audience,
              "iss": config.jwt_issuer, "iat": now - 7200, "exp": now - 3600}
    return jwt.encode(claims, config.jwt_secret, algorithm="HS256")


def test_every_4xx_has_the_one_shape_in_indonesian(app, auth_header):
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {_expired_token()}"}
    cases = [
        # (response, status, the field paths of `errors`, or None for no `errors`)
        (client.post("/api/v1/forms", json=BAD_FORM), 422, {
            "surplus", "name", "count", "colour", "email", "at", "day", "ratio", "tags.0",
            "tags.1", "owner.letter", "parts.1.label", "parts.1.extra", "parts.2", "pattern", "owners",
            "own",
        }),
        (client.post("/api/v1/forms", json=[1, 2]), 422, {"_schema"}),
        (client.post("/api/v1/forms", data=b'{"name": ', content_type="application/json"), 400, None),
        (client.get("/api/v1/forms?year=abad"), 422, {"year"}),
        (client.get("/api/v1/forms?page=0"), 422, {"page"}),
        (client.get("/api/v1/forms?page_size=1000"), 422, {"page_size"}),
        (client.get("/api/v1/forms?page=satu"), 422, {"page"}),
        (client.post("/api/v1/forms/domain"), 422, {"items.0.name", "attachments.1"}),
        (client.get("/api/v1/forms/mine"), 401, None),
        (client.get("/api/v1/forms/mine", headers=bearer), 401, None),
        (client.get("/api/v1/forms/mine", headers={"Authorization": "Bearer a.b.c"}), 401, None),
        (client.get("/api/v1/forms/mine", headers={"Authorization": "Basic dTpw"}), 401, None),
        (client.get("/api/v1/forms/staff", headers=auth_header("humas", opd="dinkes")), 403, None),
        (client.get("/api/v1/nowhere"), 404, None),
        (client.delete("/api/v1/forms"), 405, None),
        (client.post("/api/v1/forms", json={"name": "x" * 5000}), 413, None),
        (client.post("/api/v1/forms/raw", data="name=a", content_type="text/plain"), 415, None),
    ]
    for response, status, paths in cases:
        body = response.get_json()
        where = (response.request.method, response.request.url, body)
        assert response.status_code == status, where
        assert set(body) == ({"code", "status", "message"} | ({"errors"} if paths else set())), where
        assert body["code"] == status and body["message"], where
        if paths:
            assert set(body["errors"]) == paths, where
            assert all(isinstance(m, list) and m and all(isinstance(t, str) for t in m)
                       for m in body["errors"].values()), where
        assert english_in(body) == [], where


def test_auth_answers_name_the_problem_in_indonesian(app, auth_header):
    client = app.test_client()
    anonymous = client.get("/api/v1/forms/staff")
    assert anonymous.get_json()["message"].startswith("Perlu masuk")
    expired = client.get("/api/v1/forms/mine", headers={"Authorization": f"Bearer {_expired_token()}"})
    assert "kedaluwarsa" in expired.get_json()["message"]
    assert 'error_description="Token sudah kedaluwarsa' in expired.headers["WWW-Authenticate"]
    wrong_role = client.get("/api/v1/forms/staff", headers=auth_header("humas", opd="dinkes"))
    assert wrong_role.get_json()["message"] == "Tindakan ini memerlukan salah satu peran: admin."


def test_nested_errors_of_a_use_case_come_back_flat(app):
    body = app.test_client().post("/api/v1/forms/domain").get_json()
    assert body["errors"] == {"items.0.name": ["Wajib diisi."], "attachments.1": ["Terlalu besar."]}


# -- PPID: a form's problems in one answer ------------------------------------------------------


@pytest.fixture(scope="module")
def ppid_app(tmp_path_factory):
    from tests.ppid.support import build_env

    env = build_env(f"sqlite:///{tmp_path_factory.mktemp('forms') / 'ppid.db'}", "sqlite")
    yield env
    env.rt.dispose()


def test_a_ppid_submission_lists_every_problem_in_one_answer(ppid_app):
    from tests.ppid.support import REQUEST_BODY

    body = {
        **REQUEST_BODY,
        "name": "S",  # too short
        "address": None,  # not allowed
        "information": 12,  # not text
        "obtain_method": "telepati",  # unknown choice
        "power_of_attorney": {"attorney_name": "Budi"},  # its letter is missing
        "identity_number": "12345",  # NIK rule, between identity_type and identity_number
        "email": None,  # needed when the answer goes by e-mail: a rule between fields
        "favourite_colour": "biru",  # unknown field
    }
    response = ppid_app.client.post("/api/v1/requests", json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {
        "name", "address", "information", "obtain_method", "power_of_attorney.letter",
        "identity_number", "email", "favourite_colour",
    }
    assert "16 digit" in errors["identity_number"][0]
    assert errors["email"] == ["Wajib diisi bila informasi dikirim melalui surel."]
    assert english_in(response.get_json()) == []


def test_a_wrong_email_is_not_also_called_missing(ppid_app):
    from tests.ppid.support import REQUEST_BODY

    response = ppid_app.client.post("/api/v1/requests", json={**REQUEST_BODY, "phone": None, "email": "bukan"})
    assert response.get_json()["errors"] == {"email": ["Alamat surel tidak valid."]}


def test_a_notice_reports_its_outcome_obligations_with_its_field_errors(ppid_app):
    from services.ppid.schemas import NoticeInSchema

    with ppid_app.app.app_context():
        with pytest.raises(ValidationError) as caught:
            NoticeInSchema().load({
                "outcome": "rejected",  # needs exemption_clause and consequence_test
                "fee_amount": "mahal",  # not a number
                "provision_date": "besok",  # not a date; and not for a rejection
                "attachments": [{"filename": "a.pdf"}],  # incomplete; and not for a rejection
            })
    messages = caught.value.messages
    assert set(messages) == {
        "exemption_clause", "consequence_test", "fee_amount", "provision_date", "attachments",
    }
    # A field that failed on its own keeps only its own message.
    assert messages["fee_amount"] == ["Harus berupa bilangan bulat."]
    assert messages["provision_date"] == ["Tanggal tidak valid; gunakan format 2026-03-16."]
    assert set(messages["attachments"][0]) == {"content_type", "content_base64"}


# -- every service's forms ---------------------------------------------------------------------


def _argument_schemas(app) -> dict[str, ma.Schema]:
    """The schema of each `@blp.arguments` of the app's views, by endpoint."""
    found = {}
    for endpoint, view in app.view_functions.items():
        methods = [view]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            methods = [getattr(view_class, name) for name in ("get", "post", "put", "patch", "delete")
                       if hasattr(view_class, name)]
        for method in methods:
            for parameter in getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                schema = parameter["schema"]
                found[f"{endpoint}:{getattr(method, '__name__', '')}"] = (
                    schema() if isinstance(schema, type) else schema
                )
    return found


def _english_messages(schema: ma.Schema, path: str = "") -> list[str]:
    problems = [f"{path}{key}: {message}" for key, message in schema.error_messages.items()
                if is_english(message)]
    for name, field in schema.fields.items():
        problems += _english_in_field(field, f"{path}{name}")
    return problems


def _english_in_field(field: fields.Field, where: str) -> list[str]:
    problems = [f"{where} [{key}]: {message}" for key, message in field.error_messages.items()
                if key != "format" and isinstance(message, str) and is_english(message)]
    for validator in field.validators:
        for attribute in ("error", "message_min", "message_max", "message_all", "message_equal"):
            text = getattr(validator, attribute, None)
            if attribute != "error" and getattr(validator, "error", None):
                continue
            if isinstance(text, str) and is_english(text):
                problems.append(f"{where} {type(validator).__name__}: {text}")
    for inner in [getattr(field, "inner", None), *(getattr(field, "tuple_fields", None) or ()),
                  getattr(field, "key_field", None), getattr(field, "value_field", None)]:
        if isinstance(inner, fields.Field):
            problems += _english_in_field(inner, f"{where}.*")
    if isinstance(field, fields.Nested) and isinstance(field.schema, ma.Schema):
        problems += _english_messages(field.schema, f"{where}.")
    return problems


def test_no_form_of_ppid_or_the_notifier_can_answer_in_english(ppid_app, sqlite_url, make_settings):
    from services.common.migrations import upgrade
    from services.notifier.app import create_app as notifier_app
    from services.notifier.config import NotifierSettings

    upgrade("notifier", sqlite_url)
    notifier = notifier_app(make_settings(NotifierSettings, "notifier", sqlite_url))
    try:
        for app in (ppid_app.app, notifier):
            schemas = _argument_schemas(app)
            assert len(schemas) > 10, sorted(schemas)
            with app.app_context():
                problems = {name: found for name, schema in schemas.items()
                            if (found := _english_messages(schema))}
            assert problems == {}, app.name
    finally:
        notifier.extensions["simpul"].dispose()


def test_a_notifier_policy_reports_its_rules_with_its_field_errors():
    from services.notifier.schemas import PolicyInSchema

    with pytest.raises(ValidationError) as caught:
        PolicyInSchema().load({
            "label": 5,  # not text
            "action": "Jawab permohonan.",
            "breach": {"notify": ["head"]},
            # Two levels out of order: a rule of the policy, not of one field.
            "escalation": [
                {"level": 1, "after_working_days": 5, "notify": ["head"]},
                {"level": 2, "after_working_days": 1, "notify": ["sekda"]},
            ],
        })
    assert caught.value.messages == {
        "label": ["Harus berupa teks."],
        "escalation": ["Tingkat yang lebih tinggi tidak boleh datang lebih awal."],
    }


def test_a_clerks_dates_and_attachments_come_back_with_the_field_errors(ppid_app):
    """Rules that need the clock or the settings (a receipt or notice date ahead of now, a
    walk-in entered long after, attachments that are too many or not what they claim) are
    answered with the other field errors, not in a second round after them."""
    from services.ppid.schemas import NoticeInSchema, OfflineRequestSchema
    from tests.ppid.support import REQUEST_BODY, T0

    ppid_app.clock.set(T0)
    with ppid_app.app.app_context():
        with pytest.raises(ValidationError) as notice:
            NoticeInSchema().load({
                "outcome": "granted",
                "info_format": "soft_copy",
                "delivery_method": "email",
                "fee_amount": "mahal",
                "issued_at": "2026-03-03T09:00:00+07:00",  # the day after "now"
                "attachments": [
                    {"filename": "surat.pdf", "content_type": "application/pdf",
                     "content_base64": "bm90IGEgcGRm"},  # "not a pdf"
                ],
            })
        with pytest.raises(ValidationError) as ahead:
            OfflineRequestSchema().load(
                {**REQUEST_BODY, "name": "S", "channel": "letter",
                 "submitted_at": "2026-03-03T09:00:00+07:00"})
        with pytest.raises(ValidationError) as stale:
            OfflineRequestSchema().load(
                {**REQUEST_BODY, "channel": "letter", "submitted_at": "2025-01-02T09:00:00+07:00"})
    assert set(notice.value.messages) == {"fee_amount", "issued_at", "attachments.0"}
    assert "tidak sesuai" in notice.value.messages["attachments.0"][0]
    assert notice.value.messages["issued_at"] == ["Tidak boleh di masa depan."]
    assert set(ahead.value.messages) == {"name", "submitted_at"}
    assert "hari yang lalu" in stale.value.messages["submitted_at"][0]


def test_base64_bytes_decodes_strict_base64_and_names_a_bad_one():
    class Upload(Base):
        content_base64 = Base64Bytes(required=True)

    assert Upload().load({"content_base64": "aGFsbw=="}) == {"content_base64": b"halo"}
    with pytest.raises(ValidationError) as refused:
        Upload().load({"content_base64": "bukan base64!"})
    assert refused.value.messages == {"content_base64": ["Isi berkas harus dikodekan base64."]}
