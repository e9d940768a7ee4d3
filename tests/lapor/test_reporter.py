"""The reporter's word through the API, on SQLite and PostgreSQL: a reply, a rejection that
reopens the report to the lead OPD, acceptance with a rating that closes it (once, and only
after completion), the worker timer closing a report whose reply window passed, and the
requests to follow a public report."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select

from services.lapor import closing
from services.lapor.models import Follower, Report
from tests.lapor.steps import (
    COMPLETION,
    FOLLOW_UP,
    citizen_post,
    clocks,
    completed,
    dispatch,
    last_event,
    opd_act,
    opd_step,
    types_of,
)
from tests.lapor.support import WIB

REJECTION = {"reason": "Lubang baru ditimbun tanah, belum diaspal kembali."}
RATING = {"rating": 4, "comment": "Cepat ditangani, terima kasih."}


def test_reply_reject_reopen_complete_again_and_rate(lapor):
    submitted = completed(lapor)
    number, token = submitted["number"], submitted["access_token"]

    replied = citizen_post(lapor, number, "replies", token, {"message": "Terima kasih, akan saya cek."})
    assert replied.status_code == 200, replied.get_json()
    assert replied.get_json()["status"] == "completed"
    assert replied.get_json()["messages"][-1]["kind"] == "reporter_reply"

    lapor.clock.set(datetime(2026, 3, 5, 10, tzinfo=WIB))
    reopened = citizen_post(lapor, number, "rejection", token, REJECTION)
    assert reopened.status_code == 200, reopened.get_json()
    view = reopened.get_json()
    assert view["status"] == "in_progress" and view["reply_due_at"] is None
    keys, event = last_event(lapor, number, "reopened")
    assert keys == ["lapor.report.reopened.dinkes"]
    sla = clocks(event)
    assert set(sla["stop"]) == {"lapor.reporter_reply"}
    assert sla["start"]["lapor.follow_up"]["opd"] == "dinkes"
    # The completion limit starts again with its first due date (60 days from 2 March).
    assert sla["start"]["lapor.completion"]["due_at"] == "2026-05-01T16:59:59Z"
    assert REJECTION["reason"] not in str(event)

    # The lead OPD answers again, then completes.
    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    _, event = last_event(lapor, number, "followed_up")
    assert set(clocks(event)["stop"]) == {"lapor.follow_up"}
    opd_step(lapor, number, "completion", COMPLETION)

    rated = citizen_post(lapor, number, "rating", token, RATING)
    assert rated.status_code == 200, rated.get_json()
    view = rated.get_json()
    assert (view["status"], view["closed_reason"], view["rating"]) == ("closed", "accepted", 4)
    assert types_of(lapor, number)[-2:] == ["rated", "closed"]
    _, rated_event = last_event(lapor, number, "rated")
    assert rated_event["data"]["rating"] == 4 and RATING["comment"] not in str(rated_event)
    _, closed_event = last_event(lapor, number, "closed")
    assert set(clocks(closed_event)["stop"]) == {"lapor.reporter_reply"}

    second = citizen_post(lapor, number, "rating", token, {"rating": 5})
    assert second.status_code == 409
    assert second.get_json()["message"] == "Laporan ini sudah dinilai."
    late_reply = citizen_post(lapor, number, "replies", token, {"message": "Satu lagi."})
    assert late_reply.status_code == 409


def test_a_reopened_report_completed_without_a_new_response_stops_its_follow_up_clock(lapor):
    submitted = completed(lapor)
    number, token = submitted["number"], submitted["access_token"]
    assert citizen_post(lapor, number, "rejection", token, REJECTION).status_code == 200
    opd_step(lapor, number, "completion", COMPLETION)
    _, event = last_event(lapor, number, "completed")
    assert set(clocks(event)["stop"]) == {"lapor.follow_up", "lapor.completion"}


def test_rating_before_completion_and_bad_ratings_change_nothing(lapor):
    submitted = lapor.submit()
    number, token = submitted["number"], submitted["access_token"]
    dispatch(lapor, number)
    before = lapor.etag(number)
    early = citizen_post(lapor, number, "rating", token, RATING)
    assert early.status_code == 409
    assert "setelah laporan dinyatakan selesai" in early.get_json()["message"]
    assert citizen_post(lapor, number, "rejection", token, REJECTION).status_code == 409
    for rating in (0, 6, "5", 4.5, None):
        response = citizen_post(lapor, number, "rating", token, {"rating": rating})
        assert response.status_code == 422, rating
        assert "rating" in response.get_json()["errors"]
    assert lapor.etag(number) == before


def test_only_the_reports_token_speaks_for_its_reporter(lapor):
    mine = completed(lapor)
    other = lapor.submit()
    number = mine["number"]
    assert lapor.http.post(f"/api/v1/reports/{number}/rating", json=RATING).status_code == 401
    for token in (other["access_token"], "x" * 43):
        for step, body in (("rating", RATING), ("rejection", REJECTION), ("replies", {"message": "Halo"})):
            response = citizen_post(lapor, number, step, token, body)
            assert response.status_code == 403, (step, response.get_json())
    unknown = citizen_post(lapor, "LPR-2026-999999", "rating", mine["access_token"], RATING)
    assert unknown.status_code == 404
    assert lapor.view(number, mine["access_token"])["status"] == "completed"


def test_the_timer_closes_reports_whose_reply_window_passed_once(lapor):
    submitted = completed(lapor)
    number = submitted["number"]
    due = datetime.fromisoformat(lapor.view(number, submitted["access_token"])["reply_due_at"])
    assert number not in closing.close_lapsed(lapor.rt, now=due)
    assert number in closing.close_lapsed(lapor.rt, now=due + timedelta(seconds=1))
    assert number not in closing.close_lapsed(lapor.rt, now=due + timedelta(days=1))

    view = lapor.view(number, submitted["access_token"])
    assert (view["status"], view["closed_reason"]) == ("closed", "no_reply")
    assert types_of(lapor, number).count("closed") == 1
    keys, event = last_event(lapor, number, "closed")
    assert keys == ["lapor.report.closed.dinkes"]
    assert set(clocks(event)["stop"]) == {"lapor.reporter_reply"}
    late = citizen_post(lapor, number, "rating", submitted["access_token"], RATING)
    assert late.status_code == 409


def test_two_workers_close_each_report_once(lapor):
    numbers = [completed(lapor)["number"] for _ in range(4)]
    later = lapor.clock() + timedelta(days=60)
    results: list[list[str]] = []

    def work():
        results.append(closing.close_lapsed(lapor.rt, now=later, batch=2))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    closed = [n for result in results for n in result if n in numbers]
    assert sorted(closed) == sorted(numbers)
    for number in numbers:
        assert types_of(lapor, number).count("closed") == 1


def _follower_rows(lapor, number):
    with lapor.rt.uow() as uow:
        report_id = uow.session.scalars(select(Report.id).where(Report.number == number)).one()
        return [(row.email, row.token_hash, row.confirmed_at) for row in uow.session.scalars(
            select(Follower).where(Follower.report_id == report_id))]


def test_a_request_to_follow_answers_the_same_and_waits_for_confirmation(lapor):
    number = lapor.submit()["number"]
    path = f"/api/v1/reports/{number}/followers"
    first = lapor.http.post(path, json={"email": "Warga.Lain@example.org"})
    assert first.status_code == 202, first.get_json()
    assert "token" not in first.get_json() and "konfirmasi" in first.get_json()["message"]
    again = lapor.http.post(path, json={"email": "warga.lain@EXAMPLE.org"})
    assert (again.status_code, again.get_json()) == (202, first.get_json())
    (row,) = _follower_rows(lapor, number)
    assert row[0] == "warga.lain@example.org" and row[2] is None
    assert lapor.http.post(path, json={"email": "bukan surel"}).status_code == 422
    assert "warga.lain" not in str(types_of(lapor, number))

    wrong = lapor.http.post(f"{path}/confirm", json={"token": "y" * 43})
    assert wrong.status_code == 404
    assert wrong.get_json()["message"] == "Token konfirmasi tidak sesuai untuk laporan ini atau sudah digunakan."
    assert lapor.http.post(f"{path}/confirm", json={"token": "pendek"}).status_code == 422
    assert _follower_rows(lapor, number) == [row]
    assert lapor.http.post(f"{path}/unfollow", json={"token": "y" * 43}).status_code == 404

    anonim = lapor.submit(privacy="anonim")["number"]
    assert lapor.http.post(f"/api/v1/reports/{anonim}/followers", json={"email": "a@example.org"}).status_code == 202
    secret = lapor.submit(privacy="rahasia")["number"]
    hidden = lapor.http.post(f"/api/v1/reports/{secret}/followers", json={"email": "a@example.org"})
    assert hidden.status_code == 404 and hidden.get_json()["message"] == "Laporan tidak ditemukan."
    hidden = lapor.http.post(f"/api/v1/reports/{secret}/followers/confirm", json={"token": "y" * 43})
    assert hidden.status_code == 404 and hidden.get_json()["message"] == "Laporan tidak ditemukan."


def test_a_closed_report_takes_no_followers(lapor):
    submitted = completed(lapor)
    number = submitted["number"]
    assert citizen_post(lapor, number, "rating", submitted["access_token"], RATING).status_code == 200
    refused = lapor.http.post(f"/api/v1/reports/{number}/followers", json={"email": "a@example.org"})
    assert refused.status_code == 409


def test_opd_steps_after_closing_are_refused(lapor):
    submitted = completed(lapor)
    number = submitted["number"]
    assert citizen_post(lapor, number, "rating", submitted["access_token"], RATING).status_code == 200
    assert opd_act(lapor, number, "progress", {"body": "Catatan tambahan."}).status_code == 409
