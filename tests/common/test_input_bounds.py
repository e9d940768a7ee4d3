"""Input no service can store or compute with is refused with a 4xx, never a 500: ids and
integers beyond a database integer, dates outside the years a regency works in, NUL
characters, bodies nested deeper than any form, floods of unknown fields. Also the security
headers of every answer and of HTML pages."""

from __future__ import annotations

import json

import pytest
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from services.common import forms
from services.common.calendar_sync import calendar_state_table
from services.common.errors import NotFound
from services.common.http import (
    DOCUMENT_POLICY,
    MAX_JSON_DEPTH,
    create_flask_app,
    paginated,
    runtime,
)
from services.common.listing import fetch_page
from services.common.outbox import plumbing_tables

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)
items = Table("item", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))

blp = Blueprint("items", __name__, url_prefix="/api/v1/items")


class ItemQuery(forms.Base):
    since = forms.Day()
    at = forms.When()
    size = forms.Whole(strict=False)
    q = forms.Text(100)


class Tag(forms.Base):
    label = forms.Text(20)


class ItemIn(forms.Base):
    name = forms.Text(50, required=True)
    count = forms.Whole()
    code = forms.fields.String()
    tags = forms.List(forms.Nested(Tag))


@blp.route("")
class Items(MethodView):
    @blp.arguments(ItemQuery, location="query")
    @blp.response(200)
    @paginated(blp)
    def get(self, query, page):
        with runtime().uow() as uow:
            rows, total = fetch_page(uow.session, select(items).order_by(items.c.id), page, rows=True)
            return [dict(row._mapping) for row in rows], total

    @blp.arguments(ItemIn)
    @blp.response(201)
    def post(self, body):
        return {"name": body["name"]}


@blp.route("/<int:item_id>")
def get_item(item_id):
    with runtime().uow() as uow:
        row = uow.session.execute(select(items).where(items.c.id == item_id)).first()
    if row is None:
        raise NotFound("Data tidak ditemukan.")
    return dict(row._mapping)


@blp.route("/letter.html")
def letter():
    return Response("<html><body><p>Surat</p></body></html>", mimetype="text/html")


@pytest.fixture
def client(database_url, make_chassis_runtime):
    rt = make_chassis_runtime(metadata, database_url)
    return create_flask_app(rt, title="Test", description="test", blueprints=[blp]).test_client()


def test_an_id_beyond_a_database_integer_is_an_unknown_address(client):
    assert client.get("/api/v1/items/2147483647").status_code == 404
    for huge in ("2147483648", "99999999999999999999"):
        response = client.get(f"/api/v1/items/{huge}")
        assert response.status_code == 404
        assert response.get_json()["code"] == 404


def test_path_ids_are_documented_with_their_bounds(client):
    document = client.get("/openapi.json").get_json()
    (parameter,) = document["paths"]["/api/v1/items/{item_id}"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 2147483647}


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=2147483648", "size=99999999999999999999"])
def test_huge_integers_in_a_query_are_a_422(client, query):
    response = client.get(f"/api/v1/items?{query}")
    assert response.status_code == 422
    field = query.split("=")[0]
    assert response.get_json()["errors"][field]


def test_huge_integers_in_a_body_are_a_422(client):
    response = client.post("/api/v1/items", json={"name": "a", "count": 2**63})
    assert response.status_code == 422
    assert response.get_json()["errors"]["count"]


@pytest.mark.parametrize(
    "query",
    ["since=0001-01-01", "since=9999-12-31", "at=0001-01-01T00:00:00%2B07:00", "at=0082-05-01T10:00:00%2B07:00"],
)
def test_dates_outside_the_regencys_years_are_a_422(client, query):
    response = client.get(f"/api/v1/items?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"][query.split("=")[0]] == [forms.DATE_OUT_OF_RANGE]


def test_nul_characters_in_a_query_string_are_a_422(client):
    response = client.get("/api/v1/items?q=a%00b")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"q": [forms.NUL_IN_TEXT]}
    assert client.get("/api/v1/items?a%00=1").status_code == 422


def test_nul_characters_in_plain_text_fields_are_a_422(client):
    response = client.post("/api/v1/items", json={"name": "a", "code": "x\x00y"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"code": [forms.NUL_IN_TEXT]}


def test_nul_characters_in_a_path_are_an_unknown_address(client):
    assert client.get("/api/v1/items/a%00b").status_code == 404


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000, 100_000])
def test_a_body_nested_deeper_than_any_form_is_a_400(client, depth):
    response = client.post(
        "/api/v1/items", data="[" * depth + "]" * depth, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == "Isi permintaan bersarang terlalu dalam."


def test_a_form_nested_as_deep_as_it_is_declared_is_read(client):
    response = client.post("/api/v1/items", json={"name": "a", "tags": [{"label": "x"}]})
    assert response.status_code == 201


def test_unknown_fields_are_reported_capped(client):
    body = {"name": "a", **{f"k{i}": 1 for i in range(50_000)}, "x" * 10_000: 1}
    raw = json.dumps(body).encode()
    response = client.post("/api/v1/items", data=raw, content_type="application/json")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    named = [key for key, value in errors.items() if value == [forms.UNKNOWN_FIELD]]
    assert len(named) == forms.MAX_UNKNOWN_REPORTED
    assert errors["_schema"] == [forms.MORE_UNKNOWN.format(count=50_001 - forms.MAX_UNKNOWN_REPORTED)]
    assert len(response.data) < 4096 < len(raw)


def test_a_long_unknown_key_is_cut(client):
    response = client.post("/api/v1/items", json={"name": "a", "y" * 5000: 1})
    (key,) = response.get_json()["errors"]
    assert key == "y" * forms.MAX_REPORTED_KEY_CHARS + "…"


def test_every_answer_forbids_sniffing_and_html_pages_name_their_sources(client):
    assert client.get("/api/v1/items").headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/api/v1/items/77").headers["X-Content-Type-Options"] == "nosniff"
    page = client.get("/api/v1/items/letter.html")
    assert page.headers["Content-Security-Policy"] == DOCUMENT_POLICY
    assert "script-src" not in DOCUMENT_POLICY and "default-src 'none'" in DOCUMENT_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in client.get("/api/v1/items").headers


def test_the_docs_page_allows_its_own_scripts_and_the_one_inline_script(client):
    docs = client.get("/docs")
    policy = docs.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert docs.headers["X-Content-Type-Options"] == "nosniff"
