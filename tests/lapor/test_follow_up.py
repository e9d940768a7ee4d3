"""The OPD's follow-up through the API, on SQLite and PostgreSQL: the lead OPD's first
response, progress notes of the lead and supporting OPDs, completion with its files, and
an OPD's own list; an OPD the report is not dispositioned to changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import pytest

from services.lapor import domain
from tests.lapor.steps import (
    COMPLETION,
    FOLLOW_UP,
    PROGRESS,
    clocks,
    dispatch,
    last_event,
    opd_act,
    opd_get,
    opd_step,
    stored_file,
    types_of,
)
from tests.lapor.support import LIAISON, WIB, lapor_staff


@pytest.mark.parametrize(("status", "follow_up_due_at", "owed"), [
    ("dispatched", datetime(2026, 3, 9, tzinfo=WIB), True),
    ("in_progress", None, False),
    # Reopened by the reporter: its follow-up clock runs again until the OPD answers.
    ("in_progress", datetime(2026, 3, 9, tzinfo=WIB), True),
    ("returned", None, False),
    ("completed", None, False),
])
def test_when_the_lead_opd_owes_a_response(status, follow_up_due_at, owed):
    report = SimpleNamespace(status=status, follow_up_due_at=follow_up_due_at)
    assert domain.owes_follow_up(report) is owed


def test_first_response_progress_and_completion(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number)
    lapor.clock.set(datetime(2026, 3, 4, 10, tzinfo=WIB))

    view = opd_step(lapor, number, "follow-up", FOLLOW_UP)
    assert view["status"] == "in_progress" and view["first_response_at"]
    message = view["messages"][-1]
    assert message["kind"] == "follow_up" and message["author_opd"] == "dinkes"
    assert FOLLOW_UP["response"] in message["body"] and FOLLOW_UP["plan"] in message["body"]
    _, event = last_event(lapor, number, "followed_up")
    assert set(clocks(event)["stop"]) == {"lapor.follow_up"}

    # The supporting OPD and the lead may both note progress.
    opd_step(lapor, number, "progress", PROGRESS, "disdik")
    view = opd_step(lapor, number, "progress", {"body": "Penambalan dimulai hari ini."}, "dinkes")
    assert [m["author_opd"] for m in view["messages"] if m["kind"] == "progress"] == ["disdik", "dinkes"]
    keys, event = last_event(lapor, number, "progressed")
    assert keys == ["lapor.report.progressed.dinkes"] and "sla" not in event["data"]

    lapor.clock.set(datetime(2026, 3, 16, 10, tzinfo=WIB))
    view = opd_step(lapor, number, "completion", COMPLETION)
    assert view["status"] == "completed"
    # Ten working days from Monday 16 March, over the Nyepi and Lebaran leave (18-24 March).
    assert datetime.fromisoformat(view["reply_due_at"]).date() == lapor.rt.calendar.due_at(
        datetime(2026, 3, 16, 10, tzinfo=WIB), 10
    ).astimezone(WIB).date()
    _, event = last_event(lapor, number, "completed")
    sla = clocks(event)
    assert set(sla["stop"]) == {"lapor.completion"}
    window = sla["start"]["lapor.reporter_reply"]
    assert (window["party"], window["opd"]) == ("citizen", "dinkes") and "role" not in window
    assert types_of(lapor, number)[-4:] == ["followed_up", "progressed", "progressed", "completed"]


def test_a_follow_up_by_an_opd_without_the_disposition_changes_nothing(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number)
    before = lapor.etag(number)
    events = types_of(lapor, number)
    stranger = opd_act(lapor, number, "follow-up", FOLLOW_UP, "dinsos")
    assert stranger.status_code == 404
    assert stranger.get_json()["message"] == "Laporan tidak ditemukan."
    supporting = opd_act(lapor, number, "follow-up", FOLLOW_UP, "disdik")
    assert supporting.status_code == 403
    assert "penanggung jawab" in supporting.get_json()["message"]
    no_opd = lapor.http.post(
        f"/api/v1/opd/reports/{number}/follow-up", json=FOLLOW_UP,
        headers={**lapor_staff(LIAISON, None), "If-Match": before},
    )
    assert no_opd.status_code == 404
    admin = lapor.http.post(
        f"/api/v1/opd/reports/{number}/follow-up", json=FOLLOW_UP, headers={**lapor_staff(), "If-Match": before},
    )
    assert admin.status_code == 403
    assert lapor.etag(number) == before and types_of(lapor, number) == events


def test_steps_out_of_order_and_bad_bodies(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number)
    early = opd_act(lapor, number, "completion", COMPLETION)
    assert early.status_code == 409 and "sedang ditindaklanjuti" in early.get_json()["message"]
    assert opd_act(lapor, number, "progress", PROGRESS).status_code == 409
    missing = opd_act(lapor, number, "follow-up", {"response": "Sudah ditinjau petugas."})
    assert missing.status_code == 422 and missing.get_json()["errors"] == {"plan": ["Wajib diisi."]}
    assert opd_act(lapor, number, "follow-up", FOLLOW_UP, etag='"x"').status_code == 412
    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    twice = opd_act(lapor, number, "follow-up", FOLLOW_UP)
    assert twice.status_code == 409


def test_completion_takes_the_opds_uploaded_files_only(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number)
    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    ids = [stored_file(lapor, number, who, f"foto-{i}.png") for i, who in enumerate(("opd", "opd", "citizen"))]
    refused = opd_act(lapor, number, "completion", {**COMPLETION, "attachment_ids": [ids[0], ids[2], 999999]})
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"attachment_ids.1", "attachment_ids.2"}
    too_many = opd_act(lapor, number, "completion", {**COMPLETION, "attachment_ids": [1, 2, 3, 4, 5, 6]})
    assert too_many.status_code == 422
    view = opd_step(lapor, number, "completion", {**COMPLETION, "attachment_ids": ids[:2]})
    completion = next(m for m in view["messages"] if m["kind"] == "completion")
    assert sorted(a["id"] for a in view["attachments"] if a["message_id"] == completion["id"]) == sorted(ids[:2])
    _, event = last_event(lapor, number, "completed")
    assert event["data"]["attachments"] == 2


def test_an_opd_lists_what_it_leads_or_supports_and_nothing_else(lapor):
    led = lapor.submit(title="Lampu jalan padam di Jalan Seth Adji")["number"]
    supported = lapor.submit(title="Selokan tersumbat di Jalan Mawar")["number"]
    other = lapor.submit(title="Sampah menumpuk di pasar ikan")["number"]
    waiting = lapor.submit(title="Belum didisposisi")["number"]
    dispatch(lapor, led, {"lead_opd": "dishub"})
    dispatch(lapor, supported, {"lead_opd": "dpupr", "supporting_opds": ["dishub"]})
    dispatch(lapor, other, {"lead_opd": "dlh"})

    def listed(opd: str | None = "dishub", staff_role: str = LIAISON, opd_filter: str | None = None,
               **query) -> dict[str, str | None]:
        if opd_filter:
            query["opd"] = opd_filter
        response = lapor.http.get("/api/v1/opd/reports", headers=lapor_staff(staff_role, opd),
                                  query_string={"page_size": 100, **query})
        assert response.status_code == 200, response.get_json()
        return {row["number"]: row["role"] for row in response.get_json()}

    assert listed() == {led: "lead", supported: "supporting"}
    assert listed(role="lead") == {led: "lead"}
    assert listed(q="selokan") == {supported: "supporting"}
    # Asking for another OPD's list gives nothing of it.
    assert listed(opd_filter="dlh") == {}
    everything = listed(None, "lapor_admin")
    assert {led, supported, other} <= set(everything) and waiting not in everything
    assert set(listed(None, "lapor_admin", opd_filter="dlh")) == {other}
    first = lapor.http.get("/api/v1/opd/reports", headers=lapor_staff(LIAISON, "dishub"),
                           query_string={"page_size": 1})
    assert len(first.get_json()) == 1
    assert json.loads(first.headers["X-Pagination"])["total"] == 2
    rows = lapor.http.get("/api/v1/opd/reports", headers=lapor_staff(LIAISON, "dishub")).get_json()
    assert all("reporter" not in row and "name" not in row for row in rows)
    assert opd_get(lapor, other, "dishub").status_code == 404
