"""The shared HTTP conventions, exercised through a throwaway service on a real database."""

import marshmallow as ma
import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from services.common.auth import roles_required
from services.common.calendar_sync import calendar_state_table
from services.common.errors import NotFound
from services.common.events import new_event
from services.common.http import create_flask_app, paginated, public_rate_limited, runtime
from services.common.listing import fetch_page
from services.common.outbox import plumbing_tables

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)
things = Table("thing", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))

blp = Blueprint("things", __name__, url_prefix="/api/v1/things")


class ThingIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))


class ThingOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


@blp.route("")
class Things(MethodView):
    @blp.arguments(ThingIn)
    @blp.response(201, ThingOut)
    @public_rate_limited
    def post(self, body):
        rt = runtime()
        with rt.uow() as uow:
            new_id = uow.session.execute(insert(things).values(**body)).inserted_primary_key[0]
            uow.publish(new_event("test", "thing", "created", subject=f"things/{new_id}", opd=None))
            uow.commit()
        return {"id": new_id, **body}

    @blp.response(200, ThingOut(many=True))
    @paginated(blp)
    def get(self, page):
        with runtime().uow() as uow:
            rows, total = fetch_page(uow.session, select(things).order_by(things.c.id), page, rows=True)
            return [dict(row._mapping) for row in rows], total


@blp.route("/<int:thing_id>")
@roles_required("admin")
def get_thing(thing_id):
    raise NotFound("Data tidak ditemukan.")


@pytest.fixture
def app(database_url, make_chassis_runtime):
    rt = make_chassis_runtime(metadata, database_url, PUBLIC_RATE_LIMIT="3/minute", MAX_BODY_BYTES="2048")
    return create_flask_app(rt, title="Test", description="test", blueprints=[blp])


def test_unknown_fields_and_validation_give_422_in_the_one_shape(app):
    client = app.test_client()
    response = client.post("/api/v1/things", json={"name": "a", "colour": "red"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert body["errors"]["colour"]
    assert client.post("/api/v1/things", json={}).get_json()["errors"]["name"]


def test_a_body_that_is_not_json_is_a_400_and_text_stays_utf8(app):
    client = app.test_client()
    broken = client.post("/api/v1/things", data=b'{"name": "a",', content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json() == {
        "code": 400, "status": "Bad Request", "message": "Isi permintaan bukan JSON yang sah."
    }
    created = client.post("/api/v1/things", json={"name": "Dinas Pekerjaan Umum – Bidang Bina Marga"})
    assert created.status_code == 201
    # Written as UTF-8, not as \u escapes.
    assert "–".encode() in created.data


def test_created_rows_write_their_event_to_the_outbox(app):
    client = app.test_client()
    assert client.post("/api/v1/things", json={"name": "a"}).status_code == 201
    rt = app.extensions["simpul"]
    with rt.engine.connect() as conn:
        keys = conn.execute(select(rt.outbox.c.routing_key)).scalars().all()
    assert keys == ["test.thing.created.none"]


def test_public_endpoint_refuses_a_flood_with_429(app):
    client = app.test_client()
    codes = [client.post("/api/v1/things", json={"name": f"n{i}"}).status_code for i in range(5)]
    assert codes[:3] == [201, 201, 201]
    assert codes[3:] == [429, 429]
    body = client.post("/api/v1/things", json={"name": "x"}).get_json()
    assert body["code"] == 429 and "Terlalu banyak" in body["message"]


def test_pagination_caps_page_size_and_reports_totals(app):
    rt = app.extensions["simpul"]
    with rt.engine.begin() as conn:
        conn.execute(insert(things), [{"name": f"t{i}"} for i in range(25)])
    client = app.test_client()
    response = client.get("/api/v1/things?page=2&page_size=10")
    assert response.status_code == 200
    assert [t["name"] for t in response.get_json()] == [f"t{i}" for i in range(10, 20)]
    assert '"total": 25' in response.headers["X-Pagination"]
    assert client.get("/api/v1/things?page_size=1000").status_code == 422


def test_errors_share_the_shape_and_auth_is_checked(app, auth_header):
    client = app.test_client()
    assert client.get("/api/v1/things/1").status_code == 401
    assert client.get("/api/v1/things/1", headers=auth_header("humas", opd="dinkes")).status_code == 403
    response = client.get("/api/v1/things/1", headers=auth_header("admin"))
    assert response.status_code == 404
    assert response.get_json() == {"code": 404, "status": "Not Found", "message": "Data tidak ditemukan."}
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404 and missing.get_json()["message"] == "Alamat tidak ditemukan."


def test_body_size_is_bounded(app):
    response = app.test_client().post("/api/v1/things", json={"name": "x" * 5000})
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_request_id_is_echoed_or_made(app):
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert made and " " not in made


def test_readyz_reports_database_and_outbox(app):
    client = app.test_client()
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready" and body["checks"]["database"] == "ok"
    assert body["checks"]["outbox"]["unsent"] == 0


def test_readyz_fails_when_the_outbox_is_stuck(app):
    rt = app.extensions["simpul"]
    from datetime import UTC, datetime, timedelta

    with rt.engine.begin() as conn:
        conn.execute(
            insert(rt.outbox).values(
                event_id="e1", routing_key="k", subject="s", body="{}", attempts=0,
                created_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["outbox"]["status"] == "stuck"


def test_openapi_document_is_served(app):
    client = app.test_client()
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/things" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200


def test_database_errors_do_not_quote_values_into_logs(app):
    from sqlalchemy.exc import IntegrityError

    rt = app.extensions["simpul"]
    with rt.engine.begin() as conn:
        conn.execute(insert(things).values(id=1, name="6203015203900001"))
    try:
        with rt.engine.begin() as conn:
            conn.execute(insert(things).values(id=1, name="6203015203900001"))
    except IntegrityError as exc:
        assert "6203015203900001" not in str(exc)
    else:
        raise AssertionError("the duplicate key was accepted")


def test_access_log_is_json_with_the_request_id_and_no_query(app, capsys):
    import json as _json
    import logging

    from services.common.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:]
    # Bind the log handler to this test's captured stderr (the app set it up in the fixture).
    configure_logging("test", "INFO")
    try:
        app.test_client().get("/api/v1/things?nik=6203015203900001", headers={"X-Request-ID": "req-42"})
    finally:
        root.handlers[:] = saved
    lines = [_json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "simpul.access"]
    assert access and access[-1]["request_id"] == "req-42"
    assert access[-1]["path"] == "/api/v1/things" and access[-1]["status"] == 200
    assert all("6203015203900001" not in _json.dumps(line) for line in lines)


# -- a busy endpoint's answer without marshmallow's dump ---------------------------------


class _Explanation(ma.Schema):
    day = ma.fields.String()
    moved = ma.fields.Boolean()
    days = ma.fields.Integer()
    listed = ma.fields.Raw()


class _Submitted(ma.Schema):
    number = ma.fields.String()
    at = ma.fields.DateTime()
    opd = ma.fields.String(allow_none=True)
    explanation = ma.fields.Nested(_Explanation)


def _submitted(**changes):
    from datetime import datetime, timedelta, timezone

    wib = timezone(timedelta(hours=7))
    data = {
        "number": "PPID-2026-000001",
        "at": datetime(2026, 3, 2, 9, 15, 30, 1234, tzinfo=wib),
        "opd": None,
        "explanation": {"day": "2026-03-02", "moved": False, "days": 10, "listed": [{"a": 1}], "extra": 1},
        "not_in_the_schema": "x",
    }
    return {**data, **changes}


def test_a_plain_answer_is_what_the_schema_dumps():
    from services.common.http import PlainAnswer

    answer = PlainAnswer(_Submitted)
    for data in (_submitted(), _submitted(opd="dinkes"), {"number": "PPID-2026-000002"}):
        assert answer.dump(data) == _Submitted().dump(data)
    assert answer._plan is not None


def test_a_plain_answer_leaves_what_it_cannot_copy_to_marshmallow():
    from services.common.http import PlainAnswer

    class Hooked(_Submitted):
        @ma.post_dump
        def _upper(self, data, **_):
            return {**data, "number": data["number"].lower()}

    hooked = PlainAnswer(Hooked)
    assert hooked._plan is None
    assert hooked.dump(_submitted())["number"] == "ppid-2026-000001"
    # A value of another type than its field's is converted by marshmallow, as before.
    odd = _submitted(number=12, explanation={"day": "x", "moved": 1, "days": "3", "listed": None})
    assert PlainAnswer(_Submitted).dump(odd) == _Submitted().dump(odd)


def test_a_plain_answer_is_sent_with_its_status_as_json(app):
    from services.common.http import PlainAnswer

    with app.test_request_context():
        response = PlainAnswer(_Submitted).response(_submitted(), 201)
    assert response.status_code == 201 and response.mimetype == "application/json"
    assert response.get_json() == _Submitted().dump(_submitted())


def test_the_guarded_parser_reads_the_body_the_input_guard_parsed(app):
    from flask import g

    from services.common.http import GuardedJsonParser

    parser = GuardedJsonParser()
    with app.test_request_context(method="POST", data=b'{"name": "a"}', content_type="application/json"):
        app.preprocess_request()
        assert g.json_body == {"name": "a"}
        g.json_body = {"name": "parsed once"}
        assert parser._raw_load_json(__import__("flask").request) == {"name": "parsed once"}
    # What the guard left to the standard parser (an integer beyond 64 bits) is parsed by webargs.
    with app.test_request_context(method="POST", data=b'{"n": 123456789012345678901234567890}',
                                  content_type="application/json"):
        app.preprocess_request()
        assert "json_body" not in g
        assert parser._raw_load_json(__import__("flask").request) == {"n": 123456789012345678901234567890}


def test_flask_is_asked_about_coroutines_only_for_what_is_not_a_plain_function(app, monkeypatch):
    import functools

    import flask

    asked = []

    def flasks_own(self, func):
        asked.append(func)
        return "Flask's answer"

    monkeypatch.setattr(flask.Flask, "ensure_sync", flasks_own)

    def plain():
        return None

    class View:
        def get(self):
            return None

    async def coroutine():
        return None

    def marked():
        return None

    marked._is_coroutine_marker = object()
    method = View().get
    assert app.ensure_sync(plain) is plain and app.ensure_sync(method) is method
    assert asked == []
    partial = functools.partial(plain)
    for judged in (partial, coroutine, marked):
        assert app.ensure_sync(judged) == "Flask's answer"
    assert asked == [partial, coroutine, marked]
