"""The reporter and the followers hear the steps after verification, by e-mail through a real
SMTP server, on SQLite and PostgreSQL: the disposition, the OPD's response (quoted), its
progress and completion, a reopening and the closing, whether by rating or by the timer.
A follower hears nothing before confirming the address, nor after stopping; a returned
report mails nobody."""

from __future__ import annotations

import re
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


def request_follow(client: LaporClient, number: str, email: str = FOLLOWER) -> dict:
    response = client.http.post(f"/api/v1/reports/{number}/followers", json={"email": email})
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def mailed_token(message) -> str:
    (token,) = re.findall(r"^    (\S{40,})\r?$", message.get_body(("plain",)).get_content(), re.MULTILINE)
    return token


def confirm(client: LaporClient, number: str, token: str):
    return client.http.post(f"/api/v1/reports/{number}/followers/confirm", json={"token": token})


def follow(client: LaporClient, smtp, number: str) -> str:
    """Request, read the confirmation mail, confirm; the token that ends the following."""
    request_follow(client, number)
    (mail,) = delivered(client, smtp)[FOLLOWER]
    token = mailed_token(mail)
    confirmed = confirm(client, number, token)
    assert confirmed.status_code == 200, confirmed.get_json()
    return token


def test_every_step_after_verification_reaches_the_reporter_and_the_followers(lapor, smtp):
    submitted = lapor.submit()
    number, token = submitted["number"], submitted["access_token"]
    follow(lapor, smtp, number)
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
    token = follow(lapor, smtp, number)
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
    follow(lapor, smtp, number)
    dispatch(lapor, number)
    delivered(lapor, smtp)
    returned = opd_act(lapor, number, "return", {"reason": "Ini urusan Dinas PUPR, bukan kami."})
    assert returned.status_code == 200
    assert delivered(lapor, smtp) == {REPORTER: [], FOLLOWER: []}


def test_a_follower_hears_nothing_until_the_address_confirms(lapor, smtp):
    number = lapor.submit()["number"]
    answer = request_follow(lapor, number)
    (first,) = delivered(lapor, smtp)[FOLLOWER]
    assert first["Subject"] == f"Konfirmasi mengikuti laporan: {number}"
    stale = mailed_token(first)

    dispatch(lapor, number)
    assert delivered(lapor, smtp)[FOLLOWER] == []

    # Asking again refreshes the pending request: one row, a new token, the old one dead.
    assert request_follow(lapor, number) == answer
    (second,) = delivered(lapor, smtp)[FOLLOWER]
    token = mailed_token(second)
    assert token != stale
    refused = confirm(lapor, number, stale)
    assert refused.status_code == 404 and "tidak sesuai" in refused.get_json()["message"]
    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    assert delivered(lapor, smtp)[FOLLOWER] == []

    confirmed = confirm(lapor, number, token)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["number"] == number and number in confirmed.get_json()["message"]
    assert confirm(lapor, number, token).status_code == 404
    opd_step(lapor, number, "progress", PROGRESS)
    assert [m["Subject"] for m in delivered(lapor, smtp)[FOLLOWER]] == [
        f"Perkembangan penanganan laporan: {number}"]

    # An address that already follows gets the same answer, no mail, and keeps its token.
    assert request_follow(lapor, number) == answer
    assert delivered(lapor, smtp)[FOLLOWER] == []
    stopped = lapor.http.post(f"/api/v1/reports/{number}/followers/unfollow", json={"token": token})
    assert stopped.status_code == 200


def test_a_confirmed_follower_of_a_duplicate_stays_confirmed_on_the_original(lapor, smtp):
    original = lapor.submit(email="pelapor.pertama@example.org")["number"]
    copy = lapor.submit(email="pelapor.kedua@example.org")["number"]
    follow(lapor, smtp, copy)
    pending = "belum.konfirmasi@example.org"
    request_follow(lapor, copy, pending)
    citizen_mail.mail_queue_of(lapor.rt).send_due(lapor.rt, now=lapor.clock())
    (asked,) = smtp.to(pending)
    response = lapor.act(copy, "archive", {"reason": "duplicate", "duplicate_of": original})
    assert response.status_code == 200, response.get_json()
    delivered(lapor, smtp)
    assert lapor.act(original, "verify", {}).status_code == 200
    citizen_mail.mail_queue_of(lapor.rt).send_due(lapor.rt, now=lapor.clock())
    for address in (FOLLOWER, "pelapor.kedua@example.org"):
        assert [m["Subject"] for m in smtp.to(address)] == [f"Laporan telah diverifikasi: {original}"]
    assert smtp.to(pending) == []

    # The link mailed for the duplicate confirms the follow of the original.
    confirmed = confirm(lapor, copy, mailed_token(asked))
    assert confirmed.status_code == 200 and confirmed.get_json()["number"] == original
    smtp.clear()
    dispatch(lapor, original)
    citizen_mail.mail_queue_of(lapor.rt).send_due(lapor.rt, now=lapor.clock())
    assert [m["Subject"] for m in smtp.to(pending)] == [f"Laporan diteruskan ke perangkat daerah: {original}"]
