"""The reporter hears at every step, by e-mail through a real SMTP server, on SQLite and
PostgreSQL, in Bahasa Indonesia; followers hear the public steps of a public report only;
a report without an address mails nobody; a refused step mails nothing; no address reaches
the outbox; the LAPOR! worker's timers send the queue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from services.common.citizen import issue_token, wait_detached
from services.lapor import __main__ as lapor_main
from services.lapor import citizen_mail
from services.lapor.models import Follower, Report, mail_queue, outbox
from tests.common.smtp_support import smtp_env
from tests.lapor.steps import FOLLOW_UP, dispatch, opd_step
from tests.lapor.support import REPORT_BODY, T0, LaporClient, backend_env

ADDRESS = REPORT_BODY["email"]
FOLLOWER = "warga.pengikut@example.org"
SENDER = "LAPOR! Kabupaten Kapuas <lapor@kapuaskab.go.id>"
TRACKING = "https://lapor.kapuaskab.go.id/laporan/{number}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mail_env(request, smtp, tmp_path_factory):
    with backend_env(request.param, tmp_path_factory, **smtp_env(smtp, SENDER), LAPOR_TRACKING_URL=TRACKING) as env:
        yield env


@pytest.fixture
def lapor(mail_env, smtp) -> LaporClient:
    mail_env.clock.set(T0)
    smtp.clear()
    return LaporClient(mail_env)


def send(client: LaporClient) -> None:
    """What the worker's timer does every few seconds."""
    result = citizen_mail.mail_queue_of(client.rt).send_due(client.rt)
    assert result.retrying == result.failed == 0, result


def mails(smtp, address: str, part: str):
    return [m for m in smtp.to(address) if part in m["Subject"]]


def only_mail(smtp, part: str, address: str = ADDRESS):
    found = mails(smtp, address, part)
    assert len(found) == 1, [m["Subject"] for m in smtp.to(address)]
    return found[0]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def follow(client: LaporClient, number: str, email: str = FOLLOWER) -> None:
    with client.rt.uow() as uow:
        report_id = uow.session.scalar(select(Report.id).where(Report.number == number))
        uow.session.add(Follower(report_id=report_id, email=email, token_hash=issue_token()[1], created_at=T0,
                                 confirmed_at=T0))
        uow.commit()


def test_the_receipt_carries_the_number_token_and_deadline(lapor, smtp):
    submitted = lapor.submit()
    number, token = submitted["number"], submitted["access_token"]
    assert smtp.count() == 0  # queued, not sent by the web process
    send(lapor)
    receipt = only_mail(smtp, "Laporan Anda diterima")
    assert receipt["Subject"] == f"Laporan Anda diterima: {number}"
    body = text_of(receipt)
    assert f"Nomor laporan : {number}" in body and f"Judul         : {REPORT_BODY['title']}" in body
    assert "Laporan diterima Senin, 2 Maret 2026 pukul 09.00 WIB" in body
    assert "paling lambat Kamis, 5 Maret 2026" in body
    mailed = re.search(r"Token akses laporan Anda:\s+(\S+)", body).group(1)
    assert mailed == token
    assert lapor.citizen("GET", f"/api/v1/reports/{number}", mailed).status_code == 200
    assert f"{TRACKING.format(number=number)}\n" in body and token not in TRACKING.format(number=number)
    assert token in html_of(receipt)


def test_each_verification_step_is_mailed_and_the_question_quoted(lapor, smtp):
    number = lapor.submit()["number"]
    question = "Mohon sebutkan <patokan> terdekat dari lokasi lubang."
    assert lapor.act(number, "clarification-request", {"question": question}).status_code == 200
    send(lapor)
    asked = only_mail(smtp, "Mohon penjelasan tambahan")
    assert question in text_of(asked) and "sisa waktu verifikasi berjalan kembali" in text_of(asked)
    assert "&lt;patokan&gt;" in html_of(asked)
    assert "Token akses" not in text_of(asked)

    for step, body, subject in (
        ("postpone", {"reason": "Menunggu data dari kecamatan."}, "Laporan ditunda"),
        ("archive", {"reason": "not_public_service", "note": "Urusan pribadi"}, "Laporan diarsipkan"),
        ("not-authority", {"body": "Balai Wilayah Sungai Kalimantan II"}, "bukan wewenang"),
        ("verify", {}, "Laporan telah diverifikasi"),
    ):
        other = lapor.submit()["number"]
        assert lapor.act(other, step, body).status_code == 200
        send(lapor)
        mail = only_mail(smtp, f"{subject}")
        assert other in mail["Subject"]
    assert "Menunggu data dari kecamatan." in text_of(only_mail(smtp, "Laporan ditunda"))
    assert "Bukan masalah pelayanan publik (Urusan pribadi)" in text_of(only_mail(smtp, "diarsipkan"))
    assert "Balai Wilayah Sungai Kalimantan II" in text_of(only_mail(smtp, "bukan wewenang"))


def test_followers_hear_the_public_steps_of_public_reports_only(lapor, smtp):
    asked = lapor.submit()["number"]
    follow(lapor, asked)
    assert lapor.act(asked, "clarification-request", {"question": "Di mana tepatnya lokasinya?"}).status_code == 200
    public = lapor.submit()["number"]
    hidden = lapor.submit(privacy="rahasia")["number"]
    for number in (public, hidden):
        follow(lapor, number)
        assert lapor.act(number, "verify", {}).status_code == 200
    send(lapor)
    # A question to the reporter is theirs alone, and a rahasia report has no public steps.
    followed = smtp.to(FOLLOWER)
    assert [m["Subject"] for m in followed] == [f"Laporan telah diverifikasi: {public}"]
    body = text_of(followed[0])
    assert body.startswith("Yth. Pengikut laporan LAPOR!,") and "token akses" not in body.casefold()
    dispatch(lapor, public, {"lead_opd": "dinkes"})
    opd_step(lapor, public, "follow-up", FOLLOW_UP)
    send(lapor)
    assert [m["Subject"].split(":")[0] for m in smtp.to(FOLLOWER)][1:] == [
        "Laporan diteruskan ke perangkat daerah", "Tindak lanjut atas laporan"]
    assert FOLLOW_UP["response"] in text_of(smtp.to(FOLLOWER)[-1])


def test_no_address_no_mail_and_a_refused_step_queues_nothing(lapor, smtp):
    def count() -> int:
        with lapor.rt.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(mail_queue)).scalar_one()

    before = count()
    number = lapor.submit(email=None)["number"]
    assert count() == before
    assert lapor.act(number, "verify", {}).status_code == 200
    assert count() == before
    with_address = lapor.submit()["number"]
    queued = count()
    assert lapor.act(with_address, "dispatch", {"lead_opd": "dinkes"}, etag='"stale"').status_code == 412
    assert lapor.act(with_address, "postpone", {"reason": ""}).status_code == 422
    assert count() == queued


def test_no_address_reaches_the_outbox(lapor):
    lapor.submit()
    with lapor.rt.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body)).scalars().all()
    assert bodies and not any(ADDRESS in body or FOLLOWER in body for body in bodies)


def test_a_lost_token_is_mailed_and_replaces_the_old_one(lapor, smtp):
    submitted = lapor.submit()
    number, old = submitted["number"], submitted["access_token"]
    wrong = lapor.http.post(f"/api/v1/reports/{number}/access-token", json={"email": "lain@example.org"})
    right = lapor.http.post(f"/api/v1/reports/{number}/access-token", json={"email": ADDRESS.upper()})
    assert wrong.status_code == right.status_code == 202 and wrong.get_json() == right.get_json()
    assert wait_detached(lapor.env.app)
    mail = only_mail(smtp, "Token akses baru")
    new = re.search(r"Token akses baru Anda:\s+(\S+)", text_of(mail)).group(1)
    assert lapor.citizen("GET", f"/api/v1/reports/{number}", new).status_code == 200
    assert lapor.citizen("GET", f"/api/v1/reports/{number}", old).status_code == 403


def test_the_worker_sends_the_queue_with_its_timers(lapor):
    names = [timer.name for timer in lapor_main.worker_timers(lapor.rt)]
    assert {"mail-queue-send", "mail-queue-retention"} <= set(names), names


def test_a_duplicates_reporter_and_followers_follow_the_original(lapor, smtp):
    original = lapor.submit(email="pelapor.pertama@example.org")["number"]
    copy = lapor.submit()["number"]
    follow(lapor, copy)
    response = lapor.act(copy, "archive", {"reason": "duplicate", "duplicate_of": original})
    assert response.status_code == 200, response.get_json()
    send(lapor)
    told = text_of(only_mail(smtp, "Laporan diarsipkan"))
    assert f"Laporan yang sama telah disampaikan dengan nomor {original}." in told
    assert "kini mengikuti laporan tersebut" in told
    smtp.clear()
    assert lapor.act(original, "verify", {}).status_code == 200
    send(lapor)
    for address in (ADDRESS, FOLLOWER):
        assert [m["Subject"] for m in smtp.to(address)] == [f"Laporan telah diverifikasi: {original}"]
