"""Lists: plain pages answered with their total, and one search `q` on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select, text
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.errors import Invalid
from services.common.http import paginated
from services.common.listing import (
    MAX_QUERY_LENGTH,
    Page,
    Search,
    SearchText,
    fetch_page,
    search_index_ddl,
    search_terms,
)

metadata = MetaData()
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False),
    Column("subject", String(255)),
    Column("information", Text, nullable=False),
    Column("opd", String(32)),
)
SEARCH = Search(cases.c.number, cases.c.subject, cases.c.information, cases.c.opd)
SEARCH.index("ix_cases_search")

ROWS = [
    {"number": "PPID-2026-000001", "subject": "requests/PPID-2026-000001",
     "information": "Data kasus DBD per kecamatan tahun 2025", "opd": "dinkes"},
    {"number": "PPID-2026-000002", "subject": "requests/PPID-2026-000002",
     "information": "Anggaran pembangunan jalan Kuala-Kapuas", "opd": "dpupr"},
    {"number": "PPID-2026-000003", "subject": None,
     "information": "Jumlah sekolah dasar negeri (100% terakreditasi?)", "opd": None},
]


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(cases), ROWS)
    yield engine
    engine.dispose()


def _numbers(engine, q, page=Page(0, 50)):
    stmt = SEARCH.apply(select(cases.c.number).order_by(cases.c.id), q)
    with Session(engine) as session:
        rows, total = fetch_page(session, stmt, page)
    return rows, total


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("DBD", ["PPID-2026-000001"]),
        ("dbd", ["PPID-2026-000001"]),
        ("kasus dbd", ["PPID-2026-000001"]),
        ("dbd jalan", []),  # every word must match
        ("PPID-2026-000002", ["PPID-2026-000002"]),
        ("000003", ["PPID-2026-000003"]),
        ("kapuas", ["PPID-2026-000002"]),  # a part of a hyphenated word
        ("dpupr", ["PPID-2026-000002"]),  # the OPD code
        ("anggar", ["PPID-2026-000002"]),  # the start of a word
        ("100%", ["PPID-2026-000003"]),  # % is no wildcard
        ("", ["PPID-2026-000001", "PPID-2026-000002", "PPID-2026-000003"]),
        ("  -- ", ["PPID-2026-000001", "PPID-2026-000002", "PPID-2026-000003"]),
        (None, ["PPID-2026-000001", "PPID-2026-000002", "PPID-2026-000003"]),
        ("sengketa", []),
    ],
)
def test_search_finds_rows_by_every_word_on_both_databases(engine, q, expected):
    rows, total = _numbers(engine, q)
    assert rows == expected
    assert total == len(expected)


@pytest.mark.parametrize("q", ["DBD", "dbd 2025", "ppid"])
def test_a_search_never_widens_the_other_conditions(engine, q):
    # A search over several columns is an OR inside; beside an OPD condition it must stay
    # one term of the AND, or another OPD's rows would match through it.
    stmt = SEARCH.apply(select(cases.c.number).where(cases.c.opd == "dpupr"), q)
    with Session(engine) as session:
        found = session.scalars(stmt).all()
    assert all(number == "PPID-2026-000002" for number in found)
    assert "PPID-2026-000001" not in found


def test_a_page_is_cut_after_the_search_and_the_total_counts_every_page(engine):
    assert _numbers(engine, "ppid", Page(1, 1)) == (["PPID-2026-000002"], 3)
    assert _numbers(engine, "ppid", Page(5, 10)) == ([], 3)


def test_postgresql_answers_a_search_from_the_gin_index(pg_url):
    engine = make_engine(pg_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(cases), ROWS * 50)
            conn.execute(text("ANALYZE cases"))
            # A few hundred rows fit one page, where a sequential scan is cheaper: forbid
            # it to learn whether the query's expression is the index's at all.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            stmt = SEARCH.apply(select(cases.c.id), "dbd")
            compiled = stmt.compile(engine)
            # The statement as the application sends it, its words as a bound value.
            plan = "\n".join(
                conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
            )
        assert "ix_cases_search" in plan, plan
    finally:
        engine.dispose()


def test_a_migration_writes_the_index_the_model_declares():
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    declared = next(i for i in cases.indexes if i.name == "ix_cases_search")
    assert search_index_ddl("ix_cases_search", "cases", ["number", "subject", "information", "opd"]) == str(
        CreateIndex(declared).compile(dialect=postgresql.dialect())
    )


def test_sqlite_has_no_search_index(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        metadata.create_all(engine)
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars()
            assert "ix_cases_search" not in set(names)
    finally:
        engine.dispose()


def test_search_terms_are_words_and_an_overlong_query_is_refused_in_indonesian():
    assert search_terms("  DBD, Kuala-Kapuas  dbd ") == ["dbd", "kuala", "kapuas"]
    assert search_terms("%_'\":*&|!") == []
    assert search_terms(None) == []
    assert search_terms("x" * MAX_QUERY_LENGTH) == ["x" * MAX_QUERY_LENGTH]
    with pytest.raises(Invalid) as refused:
        search_terms("x" * (MAX_QUERY_LENGTH + 1))
    assert refused.value.errors == {"q": [f"Kata pencarian paling banyak {MAX_QUERY_LENGTH} karakter."]}


def test_the_q_field_bounds_and_documents_the_parameter():
    class Query(Schema):
        q = SearchText()

    assert Query().load({}) == {"q": None}
    assert Query().load({"q": "  "}) == {"q": None}
    assert Query().load({"q": " DBD "}) == {"q": "DBD"}
    with pytest.raises(ValidationError) as refused:
        Query().load({"q": "x" * (MAX_QUERY_LENGTH + 1)})
    assert refused.value.messages == {"q": [f"Kata pencarian paling banyak {MAX_QUERY_LENGTH} karakter."]}
    assert "Kata pencarian" in Query().fields["q"].metadata["description"]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0)])
def test_a_page_is_never_negative_or_empty(offset, limit):
    with pytest.raises(ValueError):
        Page(offset, limit)


def test_the_http_adapter_hands_the_view_a_page_and_reports_the_total():
    app = Flask("listing-test")
    app.config.update(API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("pages", __name__, url_prefix="/pages")
    seen: list[Page] = []

    class Out(Schema):
        n = fields.Integer()

    @blp.route("")
    class Pages(MethodView):
        @blp.response(200, Out(many=True))
        @paginated(blp)
        def get(self, page):
            seen.append(page)
            return [{"n": n} for n in range(page.offset, page.offset + page.limit)], 95

    api.register_blueprint(blp)
    response = app.test_client().get("/pages?page=3&page_size=10")
    assert response.status_code == 200
    assert seen == [Page(offset=20, limit=10)]
    assert [row["n"] for row in response.get_json()] == list(range(20, 30))
    assert '"total": 95' in response.headers["X-Pagination"]
    assert '"last_page": 10' in response.headers["X-Pagination"]
    # The bounds stay flask-smorest's, documented in the OpenAPI as before.
    parameters = api.spec.to_dict()["paths"]["/pages"]["get"]["parameters"]
    assert {p["name"] for p in parameters} >= {"page", "page_size"}
