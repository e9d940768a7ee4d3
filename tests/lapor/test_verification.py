"""The admins' verification through the API on SQLite and PostgreSQL: each step, its refusals,
its history, its event and clock instruction, and the reporter's answer resuming the clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.lapor.steps import clocks, last_event, types_of
from tests.lapor.support import LIAISON, WIB, lapor_staff

QUESTION = {"question": "Mohon sebutkan nama jalan dan patokan terdekat lokasi lubang."}


def staff_view(lapor, number: str) -> dict:
    response = lapor.staff_get(f"/api/v1/admin/reports/{number}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_verify(lapor):
    number = lapor.submit()["number"]
    response = lapor.act(number, "verify", {"note": "Lengkap."})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "verified" and body["verified_at"]
    assert response.headers["ETag"] == lapor.etag(number)
    assert [h["action"] for h in body["history"]] == ["submitted", "verified"]
    assert body["history"][-1]["note"] == "Lengkap."
    keys, event = last_event(lapor, number, "verified")
    assert keys == ["lapor.report.verified.none"]
    # The verification duty runs on until the disposition.
    assert "sla" not in event["data"]


def test_changes_need_the_current_etag(lapor):
    number = lapor.submit()["number"]
    headers = lapor_staff()
    missing = lapor.http.post(f"/api/v1/admin/reports/{number}/verify", json={}, headers=headers)
    assert missing.status_code == 428
    stale = lapor.act(number, "verify", {}, etag='"LPR-2026-000001-0"')
    assert stale.status_code == 412
    assert staff_view(lapor, number)["status"] == "submitted"


def test_clarification_pauses_and_the_answer_resumes_with_what_was_left(lapor):
    submitted = lapor.submit()
    number, token = submitted["number"], submitted["access_token"]
    lapor.clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=WIB))  # Tuesday: 2 working days left
    response = lapor.act(number, "clarification-request", QUESTION)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "awaiting_clarification"
    assert body["verification_remaining_days"] == 2
    _, paused = last_event(lapor, number, "clarification_requested")
    assert clocks(paused) == {"pause": {"lapor.verification": {"clock": "lapor.verification"}}}
    assert paused["data"]["remaining_working_days"] == 2
    # The reporter sees the question and answers it a week later.
    view = lapor.view(number, token)
    assert [m["kind"] for m in view["messages"]] == ["clarification_request"]
    assert view["messages"][0]["body"] == QUESTION["question"]
    assert view["actions"] == ["clarify", "reply"]
    lapor.clock.set(datetime(2026, 3, 10, 14, 0, tzinfo=WIB))
    answer = lapor.citizen("POST", f"/api/v1/reports/{number}/clarification", token,
                           json={"answer": "Jl. Pemuda, depan toko emas Kapuas Jaya."})
    assert answer.status_code == 200, answer.get_json()
    view = answer.get_json()
    assert view["status"] == "submitted"
    assert datetime.fromisoformat(view["verification_due_at"]) == datetime(2026, 3, 12, 23, 59, 59, tzinfo=WIB)
    _, resumed = last_event(lapor, number, "clarified")
    item = clocks(resumed)["resume"]["lapor.verification"]
    assert item["due_at"] == "2026-03-12T16:59:59Z"
    assert (item["opd"], item["role"], item["party"]) == ("diskominfo", "lapor_admin", "staff")
    assert "Kapuas Jaya" not in str(resumed)  # the reporter's words stay in the service
    assert [h["action"] for h in view["history"]] == ["submitted", "clarification_requested", "clarified"]


def test_the_answer_needs_the_token_and_a_question(lapor):
    submitted = lapor.submit()
    number, token = submitted["number"], submitted["access_token"]
    path = f"/api/v1/reports/{number}/clarification"
    assert lapor.citizen("POST", path, token, json={"answer": "Sudah jelas semua."}).status_code == 409
    lapor.act(number, "clarification-request", QUESTION)
    assert lapor.http.post(path, json={"answer": "Jawaban tanpa token."}).status_code == 401
    assert lapor.citizen("POST", path, "salah" * 9, json={"answer": "Jawaban token salah."}).status_code == 403
    assert lapor.citizen("POST", path, token, json={"answer": ""}).status_code == 422
    assert staff_view(lapor, number)["status"] == "awaiting_clarification"


def test_postpone_then_take_it_up_again(lapor):
    number = lapor.submit()["number"]
    response = lapor.act(number, "postpone", {"reason": "Menunggu data dari kecamatan."})
    assert response.status_code == 200
    assert response.get_json()["postpone_reason"] == "Menunggu data dari kecamatan."
    _, event = last_event(lapor, number, "postponed")
    assert clocks(event) == {"stop": {"lapor.verification": {"clock": "lapor.verification"}}}
    assert lapor.act(number, "postpone", {"reason": "Sekali lagi ditunda."}).status_code == 409
    verified = lapor.act(number, "verify", {})
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"


@pytest.mark.parametrize("reason", ["spam", "not_public_service"])
def test_archive(lapor, reason):
    number = lapor.submit()["number"]
    response = lapor.act(number, "archive", {"reason": reason, "note": "Tidak relevan."})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["archive_reason"], body["national_status"]) == ("archived", reason, "Diarsipkan")
    _, event = last_event(lapor, number, "archived")
    assert event["data"]["archive_reason"] == reason and "duplicate_of" not in event["data"]
    assert "stop" in clocks(event)
    # Final: nothing else can be done with it.
    assert lapor.act(number, "verify", {}).status_code == 409


def test_archive_as_a_duplicate_names_the_original(lapor):
    original = lapor.submit()["number"]
    copy = lapor.submit()
    number = copy["number"]
    missing = lapor.act(number, "archive", {"reason": "duplicate"})
    assert missing.status_code == 422 and "duplicate_of" in missing.get_json()["errors"]
    unknown = lapor.act(number, "archive", {"reason": "duplicate", "duplicate_of": "LPR-2026-999999"})
    assert unknown.status_code == 422
    itself = lapor.act(number, "archive", {"reason": "duplicate", "duplicate_of": number})
    assert itself.status_code == 422
    spam_with_original = lapor.act(number, "archive", {"reason": "spam", "duplicate_of": original})
    assert spam_with_original.status_code == 422
    response = lapor.act(number, "archive", {"reason": "duplicate", "duplicate_of": original})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["duplicate_of"] == original
    _, event = last_event(lapor, number, "archived")
    assert event["data"]["duplicate_of"] == original
    assert lapor.view(number, copy["access_token"])["duplicate_of"] == original
    assert staff_view(lapor, original)["history"][-1]["action"] == "linked_duplicate"


def test_not_our_authority_names_the_body(lapor):
    submitted = lapor.submit()
    number = submitted["number"]
    response = lapor.act(number, "not-authority", {"body": "Balai Wilayah Sungai Kalimantan II"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "not_authority"
    view = lapor.view(number, submitted["access_token"])
    assert view["authority_body"] == "Balai Wilayah Sungai Kalimantan II"
    _, event = last_event(lapor, number, "rejected_authority")
    assert "Balai" not in str(event) and "stop" in clocks(event)


def test_only_the_regency_admins_verify(lapor):
    number = lapor.submit()["number"]
    etag = lapor.etag(number)
    for role, opd in ((LIAISON, "dinkes"), ("ppid_utama", None)):
        response = lapor.act(number, "verify", {}, role=role, opd=opd, etag=etag)
        assert response.status_code == 403, response.get_json()
    anonymous = lapor.http.post(f"/api/v1/admin/reports/{number}/verify", json={}, headers={"If-Match": etag})
    assert anonymous.status_code == 401
    assert lapor.act(number, "verify", {}, role="admin", etag=etag).status_code == 200


def test_refused_steps_leave_the_report_as_it_was(lapor):
    number = lapor.submit()["number"]
    before = staff_view(lapor, number)
    assert lapor.act(number, "postpone", {"reason": ""}).status_code == 422
    assert lapor.act(number, "archive", {"reason": "bosan"}).status_code == 422
    assert lapor.act(number, "clarification-request", {"question": "?"}).status_code == 422
    assert lapor.act(number, "not-authority", {}).status_code == 422
    assert lapor.act(number, "verify", {"unknown": 1}).status_code == 422
    after = staff_view(lapor, number)
    assert after["status"] == before["status"] and after["history"] == before["history"]
    assert types_of(lapor, number) == ["submitted"]


def test_actions_on_unknown_reports_are_404(lapor):
    response = lapor.act("LPR-2026-999999", "verify", {}, etag='"x"')
    assert response.status_code == 404
    assert response.get_json()["message"] == "Laporan tidak ditemukan."


def test_submission_event_starts_the_verification_clock(lapor):
    number = lapor.submit()["number"]
    keys, event = last_event(lapor, number, "submitted")
    assert keys == ["lapor.report.submitted.none"]
    item = clocks(event)["start"]["lapor.verification"]
    assert item == {"clock": "lapor.verification", "due_at": "2026-03-05T16:59:59Z", "opd": "diskominfo",
                    "role": "lapor_admin", "party": "staff", "counting": "working_days"}
    data = event["data"]
    assert (data["number"], data["status"], data["privacy"], data["lead_opd"]) == (number, "submitted", "public", None)
    assert datetime.fromisoformat(data["verification_due_at"].replace("Z", "+00:00")) == datetime(
        2026, 3, 5, 23, 59, 59, tzinfo=WIB)
    assert event["time"] == "2026-03-02T02:00:00Z"
