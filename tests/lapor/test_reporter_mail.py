"""The reporter and the followers hear the steps after verification, by e-mail through a real
SMTP server, on SQLite and PostgreSQL: the disposition, the OPD's response (quoted), its
progress and completion, a reopening and the closing, whether by rating or by the timer.
A follower who stopped following hears nothing more; a returned report mails nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.lapor import citizen_mail, closing
from tests.common.smtp_support import smtp_env
from tests.lapor.steps import (
    COMPLETION,
    FOLLOW_UP,
    PROGRESS,
    citizen_post,
    dispatch,
    opd_act,
    opd_step,
)
from tests.lapor.support import REPORT_BODY, T0, LaporClient, backend_env

REPORTER = REPORT_BODY["email"]
FOLLOWER = "tetangga.pasar@example.org"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mail_env(request, smtp, tmp_path_factory):
    with backend_env(request.param, tmp_path_factory,
                     **smtp_env(smtp, "LAPOR! Kabupaten Kapuas <lapor@kapuaskab.go.id>")) as env:
        yield env


@pytest.fixture
def lapor(mail_env, smtp) -> LaporClient:
    mail_env.clock.set(T0)
    smtp.clear()
    return LaporClient(mail_env)


def delivered(client: LaporClient, smtp) -> dict[str, list]:
    """Send what is queued, as the worker's timer does; the messages each of the reporter
    and the follower received since the last call."""
    result = citizen_mail.mail_queue_of(client.rt).send_due(client.rt, now=client.clock())
    assert result.retrying == result.failed == 0, result
    received = {address: smtp.to(address) for address in (REPORTER, FOLLOWER)}
    smtp.clear()
    return received


def subjects(client: LaporClient, smtp, address: str = REPORTER) -> list[str]:
    return [m["Subject"] for m in delivered(client, smtp)[address]]


def follow(client: LaporClient, number: str) -> str:
    response = client.http.post(f"/api/v1/reports/{number}/followers", json={"email": FOLLOWER})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def test_every_step_after_verification_reaches_the_reporter_and_the_followers(lapor, smtp):
    submitted = lapor.submit()
    number, token = submitted["number"], submitted["access_token"]
    follow(lapor, number)
    delivered(lapor, smtp)

    dispatch(lapor, number)
    received = delivered(lapor, smtp)
    reporter = [m["Subject"] for m in received[REPORTER]]
    assert reporter == [f"Laporan telah diverifikasi: {number}", f"Laporan diteruskan ke perangkat daerah: {number}"]
    assert [m["Subject"] for m in received[FOLLOWER]] == reporter

    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    (mail,) = delivered(lapor, smtp)[REPORTER]
    assert mail["Subject"] == f"Tindak lanjut atas laporan: {number}"
    assert FOLLOW_UP["response"] in mail.get_body(("plain",)).get_content()

    opd_step(lapor, number, "progress", PROGRESS, "disdik")
    opd_step(lapor, number, "completion", COMPLETION)
    assert subjects(lapor, smtp) == [
        f"Perkembangan penanganan laporan: {number}", f"Laporan selesai ditindaklanjuti: {number}",
    ]

    rejection = {"reason": "Lubang belum diaspal sama sekali."}
    assert citizen_post(lapor, number, "rejection", token, rejection).status_code == 200
    opd_step(lapor, number, "completion", COMPLETION)
    assert citizen_post(lapor, number, "rating", token, {"rating": 5}).status_code == 200
    received = delivered(lapor, smtp)
    assert [m["Subject"] for m in received[REPORTER]] == [
        f"Laporan dibuka kembali: {number}", f"Laporan selesai ditindaklanjuti: {number}", f"Laporan ditutup: {number}",
    ]
    # The reporter's words reach neither the follower nor anyone else's mail.
    assert all(rejection["reason"] not in m.get_body(("plain",)).get_content() for m in received[FOLLOWER])


def test_the_timer_mails_the_closing_and_an_unfollowed_citizen_hears_nothing(lapor, smtp):
    submitted = lapor.submit()
    number = submitted["number"]
    token = follow(lapor, number)
    dispatch(lapor, number)
    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    opd_step(lapor, number, "completion", COMPLETION)
    assert lapor.http.post(f"/api/v1/reports/{number}/followers/unfollow", json={"token": token}).status_code == 200
    delivered(lapor, smtp)

    later = lapor.clock() + timedelta(days=30)
    assert number in closing.close_lapsed(lapor.rt, now=later)
    lapor.clock.set(later)
    received = delivered(lapor, smtp)
    assert [m["Subject"] for m in received[REPORTER]] == [f"Laporan ditutup: {number}"]
    assert received[FOLLOWER] == []


def test_a_return_mails_nobody(lapor, smtp):
    number = lapor.submit()["number"]
    follow(lapor, number)
    dispatch(lapor, number)
    delivered(lapor, smtp)
    returned = opd_act(lapor, number, "return", {"reason": "Ini urusan Dinas PUPR, bukan kami."})
    assert returned.status_code == 200
    assert delivered(lapor, smtp) == {REPORTER: [], FOLLOWER: []}
