"""The notifier's staff lists search with `q` and keep to the caller's OPD (SQLite and
PostgreSQL, through the API)."""

from __future__ import annotations

import pytest

from services.common.http import create_flask_app
from services.common.listing import MAX_QUERY_LENGTH
from services.common.migrations import upgrade
from services.notifier import webhook_api
from services.notifier.models import (
    CLOCK_SEARCH,
    DELIVERY_SEARCH,
    INBOX_SEARCH,
    Clock,
    Delivery,
    InboxMessage,
)
from services.notifier.tick import tick
from services.notifier.webhook_models import (
    WEBHOOK_DELIVERY_SEARCH,
    WEBHOOK_ENDPOINT_SEARCH,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.notifier import test_webhook_support as webhook_support
from tests.notifier.notifier_support import sla_event, wib
from tests.support import search_plan

# The webhook modules' fixtures: a runtime on a migrated database, a receiving server.
make_runtime = webhook_support.make_runtime
receiver = webhook_support.receiver

DUE = wib(2026, 4, 7, 23, 59, 59)
DBD = "requests/PPID-2026-000001"
ROADS = "requests/PPID-2026-000002"
SCHOOLS = "reports/LPR-2026-000003"


def _start(feed, subject, opd, clock="ppid.response"):
    assert feed(sla_event(subject, at=wib(2026, 3, 16, 10), opd=opd,
                          start=[{"clock": clock, "due_at": DUE.isoformat()}]))


@pytest.fixture
def three_cases(feed):
    _start(feed, DBD, "dinkes")
    _start(feed, ROADS, "dpupr")
    _start(feed, SCHOOLS, "dinkes", clock="lapor.follow_up")


def _subjects(client, path, headers, **query):
    response = client.get(path, headers=headers, query_string={"page_size": 100, **query})
    assert response.status_code == 200, response.get_json()
    return response


def test_clocks_are_found_by_number_service_and_opd(client, three_cases, auth_header):
    admin = auth_header("admin")

    def found(**query):
        return sorted(c["subject"] for c in _subjects(client, "/api/v1/clocks", admin, **query).get_json())

    assert found(q="PPID-2026-000001") == [DBD]
    assert found(q="000002") == [ROADS]
    assert found(q="lapor") == [SCHOOLS]
    assert found(q="dinkes") == sorted([DBD, SCHOOLS])
    assert found(q="dinkes ppid") == [DBD]
    assert found(q="") == sorted([DBD, ROADS, SCHOOLS])
    page = _subjects(client, "/api/v1/clocks", admin, q="dinkes", page_size=1)
    assert len(page.get_json()) == 1 and '"total": 2' in page.headers["X-Pagination"]
    refused = client.get("/api/v1/clocks", headers=admin, query_string={"q": "x" * (MAX_QUERY_LENGTH + 1)})
    assert refused.status_code == 422
    assert f"paling banyak {MAX_QUERY_LENGTH} karakter" in str(refused.get_json())


def test_an_opd_token_finds_only_its_own_opds_clocks(client, three_cases, auth_header):
    dpupr = auth_header("opd_head", opd="dpupr")
    listed = _subjects(client, "/api/v1/clocks", dpupr, q="ppid").get_json()
    assert [c["subject"] for c in listed] == [ROADS]
    assert _subjects(client, "/api/v1/clocks", dpupr, q="dinkes").get_json() == []
    assert client.get(f"/api/v1/clocks/{DBD}", headers=dpupr).status_code == 404
    assert client.get("/api/v1/clocks?opd=dinkes", headers=dpupr).status_code == 403


def test_deliveries_and_the_inbox_are_searched_too(client, rt, three_cases, auth_header):
    tick(rt, wib(2026, 4, 2, 9))  # reminders for all three
    admin = auth_header("admin")
    deliveries = _subjects(client, "/api/v1/deliveries", admin, q="000002").get_json()
    assert deliveries and {d["case_subject"] for d in deliveries} == {ROADS}
    dinkes_only = _subjects(client, "/api/v1/deliveries", auth_header("opd_head", opd="dpupr"),
                            q="dinkes").get_json()
    assert dinkes_only == []

    officer = auth_header("ppid_pelaksana", opd="dinkes", sub="rina")
    every = _subjects(client, "/api/v1/inbox", officer).get_json()
    assert {m["case_subject"] for m in every["items"]} == {DBD}
    found = _subjects(client, "/api/v1/inbox", officer, q="PPID-2026-000001").get_json()
    assert found["total"] == 1 and found["items"][0]["case_subject"] == DBD
    assert found["unread"] == every["unread"]  # the unread count is the whole inbox's
    assert _subjects(client, "/api/v1/inbox", officer, q="LPR").get_json()["total"] == 0


def test_webhook_endpoints_are_found_by_description_and_opd(database_url, make_runtime, receiver,
                                                           auth_header):
    rt = make_runtime(database_url)
    client = create_flask_app(rt, title="Notifier", description="test",
                              blueprints=[webhook_api.blp]).test_client()
    dinkes = auth_header("ppid_pelaksana", opd="dinkes", sub="pelaksana-dinkes")
    disdik = auth_header("opd_head", opd="disdik")
    for headers, opd, description in ((dinkes, "dinkes", "SIMRS rumah sakit"),
                                      (disdik, "disdik", "Dapodik sekolah")):
        created = client.post("/api/v1/webhooks", headers=headers, json={
            "url": receiver.url(), "patterns": [f"#.{opd}"], "description": description})
        assert created.status_code == 201, created.get_json()

    def found(headers, q):
        response = client.get("/api/v1/webhooks", headers=headers, query_string={"q": q})
        assert response.status_code == 200, response.get_json()
        return [e["description"] for e in response.get_json()]

    admin = auth_header("admin")
    assert found(admin, "simrs") == ["SIMRS rumah sakit"]
    assert found(admin, "disdik") == ["Dapodik sekolah"]
    assert found(disdik, "simrs") == []  # another OPD's endpoint stays out of reach
    endpoint = client.get("/api/v1/webhooks", headers=dinkes).get_json()[0]["id"]
    log = client.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=dinkes,
                     query_string={"q": "lapor"})
    assert log.status_code == 200 and log.get_json() == []


def test_the_openapi_documents_q(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/api/v1/clocks", "/api/v1/deliveries", "/api/v1/inbox"):
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert "Kata pencarian" in parameters["q"]["description"]


@pytest.mark.parametrize(
    ("search", "entity", "index"),
    [
        (CLOCK_SEARCH, Clock, "ix_clocks_search"),
        (DELIVERY_SEARCH, Delivery, "ix_notification_log_search"),
        (INBOX_SEARCH, InboxMessage, "ix_inbox_messages_search"),
        (WEBHOOK_ENDPOINT_SEARCH, WebhookEndpoint, "ix_webhook_endpoints_search"),
        (WEBHOOK_DELIVERY_SEARCH, WebhookDelivery, "ix_webhook_deliveries_search"),
    ],
)
def test_postgresql_answers_q_from_the_index_the_migration_built(pg_url, search, entity, index):
    upgrade("notifier", pg_url)
    plan = search_plan(pg_url, search, entity.id, "PPID-2026-000001")
    assert index in plan, plan
