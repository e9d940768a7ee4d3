"""The notifier's HTTP API: inbox, directory, clocks, deliveries, policies, calendar, dashboard."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from services.notifier import handlers
from services.notifier.models import Policy, Step, outbox
from services.notifier.tick import tick
from tests.notifier.notifier_support import add_contact, sla_event, wib

DUE = wib(2026, 4, 7, 23, 59, 59)


@pytest.fixture
def admin(auth_header):
    return auth_header("admin", sub="admin-1")


def start(feed, subject="requests/PPID-2026-000001", opd="dinkes", at=None, due=DUE, clock="ppid.response"):
    assert feed(sla_event(subject, at=at or wib(2026, 3, 16, 10), opd=opd,
                          start=[{"clock": clock, "due_at": due.isoformat()}]))


def stop(feed, subject, at, opd="dinkes", clock="ppid.response"):
    assert feed(sla_event(subject, at=at, opd=opd, stop=[{"clock": clock}]))


def events(rt, type_):
    with rt.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.body)).scalars()
        return [json.loads(b) for b in rows if json.loads(b)["type"] == type_]


# -- inbox -------------------------------------------------------------------------------


def test_role_messages_reach_every_holder_in_the_opd_and_are_read_per_person(client, rt, feed, auth_header):
    start(feed)
    tick(rt, wib(2026, 4, 2, 9))
    rina = auth_header("ppid_pelaksana", opd="dinkes", sub="rina")
    tono = auth_header("ppid_pelaksana", opd="dinkes", sub="tono")
    other = auth_header("ppid_pelaksana", opd="dinsos", sub="dewi")

    body = client.get("/api/v1/inbox", headers=rina).get_json()
    assert body["unread"] == 1 and body["total"] == 1
    item = body["items"][0]
    assert item["title"].startswith("Pengingat:") and item["read"] is False
    assert item["case_subject"] == "requests/PPID-2026-000001" and "Dinas Kesehatan" in item["body"]
    assert client.get("/api/v1/inbox", headers=other).get_json()["total"] == 0

    read = client.post(f"/api/v1/inbox/{item['id']}/read", headers=rina)
    assert read.status_code == 200 and read.get_json()["read"] is True
    # Read again: the first reading stays, and nothing fails on the row already there.
    again = client.post(f"/api/v1/inbox/{item['id']}/read", headers=rina)
    assert again.status_code == 200 and again.get_json()["read_at"] == read.get_json()["read_at"]
    assert client.get("/api/v1/inbox", headers=rina).get_json()["unread"] == 0
    assert client.get("/api/v1/inbox?unread=true", headers=rina).get_json()["items"] == []
    assert client.get("/api/v1/inbox", headers=tono).get_json()["unread"] == 1
    assert client.post(f"/api/v1/inbox/{item['id']}/read", headers=other).status_code == 404
    assert client.post("/api/v1/inbox/read-all", headers=tono).get_json() == {"marked": 1}
    assert client.get("/api/v1/inbox").status_code == 401


def test_a_contact_who_prefers_the_inbox_gets_a_personal_message(client, rt, feed, admin, auth_header):
    add_contact(client, admin, role="officer", opd="dinkes", service="ppid", name="Rina",
                preferred_channel="inbox", sub="rina")
    start(feed)
    tick(rt, wib(2026, 4, 2, 9))
    assert client.get("/api/v1/inbox", headers=auth_header("sekda", sub="rina")).get_json()["unread"] == 1
    assert client.get("/api/v1/inbox", headers=auth_header("ppid_pelaksana", opd="dinkes", sub="tono")).get_json()["unread"] == 0


# -- directory ---------------------------------------------------------------------------


def test_only_admins_manage_the_directory(client, auth_header):
    assert client.get("/api/v1/directory/opds", headers=auth_header("ppid_utama")).status_code == 403
    assert client.get("/api/v1/directory/contacts").status_code == 401


def test_contacts_are_validated_versioned_and_announced_without_personal_data(client, rt, admin):
    opds = client.get("/api/v1/directory/opds?page_size=100", headers=admin).get_json()
    assert {"dinkes", "diskominfo", "setda"} <= {o["code"] for o in opds}

    bad = client.post("/api/v1/directory/contacts", headers=admin,
                      json={"role": "officer", "name": "Rina", "email": "rina@dinkes.go.id"})
    assert bad.status_code == 422 and "opd" in bad.get_json()["errors"]
    bad = client.post("/api/v1/directory/contacts", headers=admin,
                      json={"role": "sekda", "name": "Hadi", "preferred_channel": "inbox"})
    assert bad.status_code == 422 and "sub" in bad.get_json()["errors"]
    bad = client.post("/api/v1/directory/contacts", headers=admin,
                      json={"role": "officer", "opd": "dinkes", "name": "R", "email": "x", "age": 3})
    assert bad.status_code == 422 and {"email", "age"} <= set(bad.get_json()["errors"])

    created = client.post("/api/v1/directory/contacts", headers=admin,
                          json={"role": "officer", "opd": "dinkes", "service": "ppid",
                                "name": "Rina Wati", "email": "rina@dinkes.kapuaskab.go.id",
                                "phone": "+62 513 21000"})
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    contact = created.get_json()
    url = f"/api/v1/directory/contacts/{contact['id']}"
    assert client.patch(url, json={"name": "Rina W."}, headers=admin).status_code == 428
    assert client.patch(url, json={"name": "Rina W."}, headers={**admin, "If-Match": '"7"'}).status_code == 412
    changed = client.patch(url, json={"name": "Rina W."}, headers={**admin, "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert client.delete(url, headers={**admin, "If-Match": changed.headers["ETag"]}).status_code == 204
    assert client.get(url, headers=admin).status_code == 404

    updates = events(rt, "notifier.directory.updated")
    assert [e["data"]["action"] for e in updates] == ["created", "updated", "deleted"]
    assert all(e["opd"] == "dinkes" for e in updates)
    text = json.dumps(updates)
    assert "Rina" not in text and "rina@" not in text and "21000" not in text

    opd = client.patch("/api/v1/directory/opds/dinkes", json={"short_name": "Dinkes Kapuas"},
                       headers={**admin, "If-Match": '"1"'})
    assert opd.status_code == 200 and opd.get_json()["short_name"] == "Dinkes Kapuas"
    handlers.seed(rt)  # a later `migrate` keeps the edit
    assert client.get("/api/v1/directory/opds/dinkes", headers=admin).get_json()["short_name"] == "Dinkes Kapuas"


# -- clocks and who was told ----------------------------------------------------------------


def test_clocks_are_listed_per_opd_and_each_case_has_a_timeline(client, rt, feed, auth_header, admin):
    add_contact(client, admin, role="officer", opd="dinkes", service="ppid", name="Rina",
                email="rina@dinkes.kapuaskab.go.id")
    start(feed)
    start(feed, subject="requests/PPID-2026-000002", opd="dinsos")
    start(feed, subject="requests/PPID-2026-000003", due=wib(2026, 3, 31, 23, 59, 59))
    stop(feed, "requests/PPID-2026-000003", wib(2026, 3, 30, 10))
    tick(rt, wib(2026, 4, 2, 9))

    utama = auth_header("ppid_utama")
    listed = client.get("/api/v1/clocks?service=ppid&page_size=2", headers=utama)
    assert listed.status_code == 200
    assert json.loads(listed.headers["X-Pagination"])["total"] == 3 and len(listed.get_json()) == 2
    dinkes = auth_header("ppid_pelaksana", opd="dinkes")
    mine = client.get("/api/v1/clocks", headers=dinkes).get_json()
    assert {c["subject"] for c in mine} == {"requests/PPID-2026-000001", "requests/PPID-2026-000003"}
    assert client.get("/api/v1/clocks?opd=dinsos", headers=dinkes).status_code == 403
    open_only = client.get("/api/v1/clocks?open=true&state=running", headers=dinkes).get_json()
    assert [c["subject"] for c in open_only] == ["requests/PPID-2026-000001"]
    assert open_only[0]["due_at"] == "2026-04-07T23:59:59+07:00"

    timeline = client.get("/api/v1/clocks/requests/PPID-2026-000001", headers=dinkes)
    assert timeline.status_code == 200
    entry = timeline.get_json()["clocks"][0]
    assert [h["entry"] for h in entry["history"]] == ["started", "reminded"]
    assert {s["key"]: s["state"] for s in entry["steps"]}["remind:-2wd"] == "sent"
    told = {(d["channel"], d["address"], d["status"]) for d in entry["deliveries"]}
    assert told == {("email", "rina@dinkes.kapuaskab.go.id", "sent"), ("inbox", "ppid_pelaksana@dinkes", "sent")}
    assert client.get("/api/v1/clocks/requests/PPID-2026-000002", headers=dinkes).status_code == 404

    log = client.get("/api/v1/deliveries", headers=dinkes).get_json()
    assert {d["case_subject"] for d in log if d["kind"] != "digest"} == {"requests/PPID-2026-000001"}
    assert client.get("/api/v1/deliveries?opd=dinsos", headers=dinkes).status_code == 403


# -- policies ----------------------------------------------------------------------------


def test_a_policy_edit_reschedules_the_pending_steps_of_open_clocks(client, rt, feed, admin, auth_header):
    # In the future, so that the reminder the edit adds is not already past.
    start(feed, at=wib(2027, 1, 4, 10), due=wib(2027, 1, 18, 23, 59, 59))
    current = client.get("/api/v1/policies/ppid.response", headers=admin)
    assert current.status_code == 200
    document = {k: current.get_json()[k] for k in ("label", "action", "reminders", "breach", "escalation")}
    document["reminders"] = [{"before_working_days": 3, "notify": ["officer"]}]
    document["escalation"][0]["after_working_days"] = 0

    assert client.put("/api/v1/policies/ppid.response", json=document,
                      headers=auth_header("ppid_utama")).status_code == 403
    assert client.put("/api/v1/policies/ppid.response", json=document, headers=admin).status_code == 428
    invalid = client.put("/api/v1/policies/ppid.response", headers={**admin, "If-Match": current.headers["ETag"]},
                         json={**document, "reminders": [{"fraction": 2}]})
    assert invalid.status_code == 422 and "reminders.0.fraction" in invalid.get_json()["errors"]

    saved = client.put("/api/v1/policies/ppid.response", json=document,
                       headers={**admin, "If-Match": current.headers["ETag"]})
    assert saved.status_code == 200 and saved.get_json()["version"] == 2
    with rt.uow() as uow:
        steps = {s.key: (s.state, s.send_after) for s in uow.session.scalars(select(Step))}
    assert steps["remind:-2wd"][0] == "cancelled" and steps["remind:-4wh"][0] == "cancelled"
    assert steps["remind:-3wd"][0] == "pending"
    assert steps["remind:-3wd"][1] == wib(2027, 1, 13, 8)
    assert steps["escalate:1"][1] == wib(2027, 1, 19, 8), "the same morning as the breach"
    assert steps["escalate:1"][0] == "pending"
    assert client.get("/api/v1/clocks/requests/PPID-2026-000001", headers=admin).get_json()["clocks"][0]["history"][-1]["entry"] == "rescheduled"

    created = client.put("/api/v1/policies/siber.daily_report", json=document, headers=admin)
    assert created.status_code == 201
    assert client.delete("/api/v1/policies/default", headers={**admin, "If-Match": "*"}).status_code == 409
    assert client.delete("/api/v1/policies/siber.daily_report", headers={**admin, "If-Match": '"1"'}).status_code == 204
    assert [p["clock"] for p in client.get("/api/v1/policies", headers=auth_header("sekda")).get_json()].count("siber.daily_report") == 0


# -- calendar ----------------------------------------------------------------------------


def test_a_new_holiday_is_published_to_all_services_and_moves_pending_steps(app, client, rt, feed, admin, auth_header):
    start(feed)
    assert client.post("/api/v1/calendar/exceptions", headers=auth_header("ppid_utama"),
                       json={"date": "2026-04-02", "type": "holiday", "name": "Cuti bersama tambahan"}).status_code == 403
    added = client.post("/api/v1/calendar/exceptions", headers=admin,
                        json={"date": "2026-04-02", "type": "holiday", "name": "Cuti bersama tambahan"})
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert body["added"] == [{"date": "2026-04-02", "name": "Cuti bersama tambahan"}]
    assert body["rescheduled_clocks"] == 1
    assert not app.extensions["simpul"].calendar.is_working_day(date(2026, 4, 2)), "this process at once"
    rt.calendar_sync.refresh()
    assert not rt.calendar.is_working_day(date(2026, 4, 2)), "another process on its next refresh"

    with rt.uow() as uow:
        reminder = uow.session.scalars(select(Step).where(Step.key == "remind:-2wd")).one()
        assert reminder.send_after == wib(2026, 4, 1, 8)
    published = events(rt, "notifier.calendar.updated")
    assert published[-1]["data"]["added"] == [{"date": "2026-04-02", "name": "Cuti bersama tambahan"}]
    assert published[-1]["data"]["version"] == body["version"] and published[-1]["opd"] == "none"

    again = client.post("/api/v1/calendar/exceptions", headers=admin,
                        json={"date": "2026-04-02", "type": "working_day", "reason": "SKB"})
    assert again.status_code == 409
    weekend = client.post("/api/v1/calendar/exceptions", headers=admin,
                          json={"date": "2026-04-04", "type": "working_day", "reason": "SKB"})
    assert weekend.status_code == 422
    lebaran = client.post("/api/v1/calendar/exceptions", headers=admin,
                          json={"date": "2026-03-24", "type": "working_day", "reason": "SKB revisi"})
    assert lebaran.status_code == 201 and lebaran.get_json()["removed"][0]["date"] == "2026-03-24"

    removed = client.delete("/api/v1/calendar/exceptions/2026-04-02", headers=admin)
    assert removed.status_code == 200 and removed.get_json()["added"] == []
    assert client.delete("/api/v1/calendar/exceptions/2026-04-02", headers=admin).status_code == 404
    assert app.extensions["simpul"].calendar.is_working_day(date(2026, 4, 2))
    listed = client.get("/api/v1/calendar/exceptions", headers=auth_header("sekda")).get_json()
    assert listed["added"] == [] and [d["date"] for d in listed["removed"]] == ["2026-03-24"]
    with rt.uow() as uow:
        reminder = uow.session.scalars(select(Step).where(Step.key == "remind:-2wd")).one()
        assert reminder.send_after == wib(2026, 4, 2, 8)


# -- dashboard ---------------------------------------------------------------------------


def test_the_dashboard_counts_and_ranks_opds(client, rt, feed, auth_header):
    # dinkes: one met, one breached (closed in March/April), one overdue at the `at` instant.
    start(feed, "requests/A", due=wib(2026, 3, 31, 23, 59, 59))
    stop(feed, "requests/A", wib(2026, 3, 30, 10))
    start(feed, "requests/B", due=wib(2026, 3, 31, 23, 59, 59))
    stop(feed, "requests/B", wib(2026, 4, 2, 10))
    start(feed, "requests/C", due=wib(2026, 4, 6, 23, 59, 59))
    # dinsos: one met, one due soon.
    start(feed, "requests/D", opd="dinsos", due=wib(2026, 4, 1, 23, 59, 59))
    stop(feed, "requests/D", wib(2026, 3, 25, 10), opd="dinsos")
    start(feed, "requests/E", opd="dinsos", due=wib(2026, 4, 9, 23, 59, 59))
    # lapor for dinkes, still open and far off.
    start(feed, "reports/F", due=wib(2026, 5, 29, 23, 59, 59), clock="lapor.completion")

    query = "at=2026-04-08T09:00:00%2B07:00&from=2026-03-01T00:00:00%2B07:00&to=2026-04-08T09:00:00%2B07:00"
    board = client.get(f"/api/v1/dashboard?{query}", headers=auth_header("sekda"))
    assert board.status_code == 200, board.get_json()
    body = board.get_json()
    by_opd = {o["opd"]: o for o in body["opds"]}
    dinkes, dinsos = by_opd["dinkes"], by_opd["dinsos"]
    assert (dinkes["open"], dinkes["overdue"], dinkes["met"], dinkes["breached"]) == (2, 1, 1, 1)
    assert dinkes["on_time_percent"] == 50.0 and dinkes["score"] == pytest.approx(33.3)
    assert (dinsos["open"], dinsos["due_soon"], dinsos["met"], dinsos["score"]) == (1, 1, 1, 100.0)
    assert (dinsos["rank"], dinkes["rank"]) == (1, 2)
    assert body["opds"][0]["opd"] == "dinsos"
    assert by_opd["setda"]["score"] is None and by_opd["setda"]["rank"] is None
    services = {s["service"]: s for s in dinkes["services"]}
    # 16 March to 30 March and to 2 April, across the Lebaran leave: 5 and 8 working days.
    assert services["ppid"]["median_working_days"] == pytest.approx(6.5)
    assert services["lapor"]["open"] == 1
    assert {s["service"] for s in body["services"]} == {"ppid", "lapor"}

    own = client.get(f"/api/v1/dashboard?{query}", headers=auth_header("opd_head", opd="dinkes")).get_json()
    assert [o["opd"] for o in own["opds"]] == ["dinkes"]
    denied = client.get(f"/api/v1/dashboard?{query}&opd=dinsos", headers=auth_header("opd_head", opd="dinkes"))
    assert denied.status_code == 403


def test_the_openapi_document_lists_the_notifier_api(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/api/v1/clocks", "/api/v1/clocks/{subject}", "/api/v1/inbox", "/api/v1/dashboard",
                 "/api/v1/directory/contacts", "/api/v1/policies/{clock}", "/api/v1/calendar/exceptions",
                 "/api/v1/deliveries", "/api/v1/webhooks"):
        assert path in paths, path
    ready = client.get("/readyz")
    assert ready.get_json()["checks"]["database"] == "ok"
    # With no worker beside it nothing would move its events: not ready until one reports.
    assert ready.status_code == 503
    assert "no worker heartbeat" in ready.get_json()["checks"]["worker"]["status"]


def test_policies_are_seeded_once(rt):
    handlers.seed(rt)
    with rt.uow() as uow:
        assert uow.session.get(Policy, "ppid.response").version == 1
