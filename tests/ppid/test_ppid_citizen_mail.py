"""The applicant hears from the regency: the receipt, an extension, the written notice and the
Atasan's decision arrive by e-mail through a real SMTP server, on SQLite and PostgreSQL, in
Bahasa Indonesia; a request without an address mails nothing; a change that is refused mails
nothing; no address reaches the logs or the outbox; the PPID worker sends the queue."""

from __future__ import annotations

import base64
import logging
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from services.common.calendar import format_date_id
from services.common.settings import SettingsError
from services.ppid import __main__ as ppid_main
from services.ppid import citizen_mail
from services.ppid.config import PpidSettings
from services.ppid.models import mail_queue, outbox
from tests.common.smtp_support import smtp_env
from tests.ppid.support import (
    ATASAN,
    PELAKSANA,
    REQUEST_BODY,
    T0,
    WIB,
    PpidClient,
    backend_env,
)

REQ = "/api/v1/requests"
ADDRESS = REQUEST_BODY["email"]
SENDER = "PPID Kabupaten Kapuas <ppid@kapuaskab.go.id>"
TRACKING = "https://ppid.kapuaskab.go.id/permohonan/{number}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mail_env(request, smtp, tmp_path_factory):
    with backend_env(request.param, tmp_path_factory, **smtp_env(smtp, SENDER), PPID_TRACKING_URL=TRACKING) as env:
        yield env


@pytest.fixture
def ppid_mail(mail_env, smtp) -> PpidClient:
    mail_env.clock.set(T0)
    smtp.clear()
    return PpidClient(mail_env)


def send(client: PpidClient) -> None:
    """What the worker's timer does every few seconds."""
    result = citizen_mail.mail_queue_of(client.env.rt).send_due(client.env.rt)
    assert result.retrying == result.failed == 0, result


def only_mail(smtp, subject_part: str):
    found = [m for m in smtp.to(ADDRESS) if subject_part in m["Subject"]]
    assert len(found) == 1, [m["Subject"] for m in smtp.to(ADDRESS)]
    return found[0]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def day_in_words(iso: str) -> str:
    return format_date_id(datetime.fromisoformat(iso).astimezone(WIB).date())


def queued(client: PpidClient) -> int:
    with client.env.rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(mail_queue)).scalar_one()


def test_the_applicant_hears_of_the_receipt_extension_notice_and_decision(ppid_mail, smtp):
    client = ppid_mail
    submitted = client.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    path = f"{REQ}/{number}"
    assert smtp.count() == 0  # queued, not sent by the web process
    send(client)

    receipt = only_mail(smtp, "Tanda terima")
    assert receipt["Subject"] == f"Tanda terima permohonan informasi {number}"
    assert receipt["To"] == ADDRESS and receipt["From"].addresses[0].addr_spec == "ppid@kapuaskab.go.id"
    body = text_of(receipt)
    assert f"Nomor permohonan : {number}" in body
    assert "Diterima         : Senin, 2 Maret 2026 pukul 09.00 WIB" in body
    assert "paling lambat Senin, 16 Maret 2026 (10 hari kerja)" in body
    assert "ditangani oleh PPID Pelaksana Dinas Kesehatan" in body
    assert f"https://ppid.kapuaskab.go.id/permohonan/{number}\n" in body
    mailed_token = re.search(r"Token akses permohonan Anda:\s+(\S+)", body).group(1)
    assert mailed_token == token and token not in TRACKING.format(number=number)
    assert client.citizen("GET", path, mailed_token).status_code == 200
    assert token in html_of(receipt) and f'href="https://ppid.kapuaskab.go.id/permohonan/{number}"' in html_of(receipt)

    client.clock.set(datetime(2026, 3, 10, 10, tzinfo=WIB))
    reason = "Data <rekap> anggaran masih dihimpun bidang keuangan."
    extended = client.act(f"{path}/extension", {"ground": "coordination", "reason": reason},
                          PELAKSANA, "dinkes", etag_of=path)
    assert extended.status_code == 200, extended.get_json()
    send(client)
    body = text_of(only_mail(smtp, "Perpanjangan"))
    assert "Batas waktu semula : Senin, 16 Maret 2026" in body
    assert f"Batas waktu baru   : {day_in_words(extended.get_json()['due_at'])} (perpanjangan 7 hari kerja)" in body
    assert "Memerlukan koordinasi dengan Badan Publik atau unit kerja lain." in body and reason in body
    assert "Data &lt;rekap&gt; anggaran" in html_of(only_mail(smtp, "Perpanjangan"))  # data, not markup

    client.clock.set(datetime(2026, 3, 12, 10, tzinfo=WIB))
    notice = {
        "outcome": "granted", "info_format": "soft_copy", "delivery_method": "email", "fee_amount": 15000,
        "fee_details": "Penggandaan 30 lembar",
        "attachments": [{"filename": "LRA Dinkes 2025.pdf", "content_type": "application/pdf",
                         "content_base64": base64.b64encode(b"%PDF-1.4 laporan").decode()}],
    }
    issued = client.notice(number, notice, PELAKSANA, "dinkes")
    assert issued.status_code == 201, issued.get_json()
    send(client)
    body = text_of(only_mail(smtp, "Pemberitahuan tertulis"))
    assert "PPID Pelaksana Dinas Kesehatan telah menerbitkan pemberitahuan tertulis" in body
    assert "Keputusan             : Informasi dapat diberikan seluruhnya" in body
    assert "- Bentuk informasi: Mendapatkan salinan (softcopy)" in body
    assert "- Biaya: Rp15.000 (Penggandaan 30 lembar)" in body
    assert "- LRA Dinkes 2025.pdf" in body and "diunduh dari halaman permohonan" in body
    objection_due = client.citizen("GET", f"{path}/notice", token).get_json()
    assert "mengajukan keberatan kepada Atasan PPID paling lambat Senin, 4 Mei 2026" in body, objection_due

    objection = client.citizen("POST", f"{path}/objections", token,
                               json={"grounds": ["f"], "statement": "Biaya penggandaan terlalu mahal."})
    assert objection.status_code == 201, objection.get_json()
    kbr = objection.get_json()["number"]
    client.clock.set(datetime(2026, 3, 20, 10, tzinfo=WIB))
    opath = f"/api/v1/objections/{kbr}"
    decided = client.act(f"{opath}/decision",
                         {"decision": "upheld", "reasons": "Biaya sesuai standar biaya penggandaan daerah."},
                         ATASAN, "dinkes", etag_of=opath)
    assert decided.status_code == 200, decided.get_json()
    send(client)
    decision = only_mail(smtp, "Tanggapan Atasan PPID")
    assert decision["Subject"] == f"Tanggapan Atasan PPID atas keberatan {kbr}"
    body = text_of(decision)
    assert f"Atasan PPID Dinas Kesehatan telah menanggapi keberatan Anda nomor {kbr}" in body
    assert "Tanggapan     : Keberatan ditolak; keputusan PPID dikuatkan" in body
    assert "Ditanggapi    : Jumat, 20 Maret 2026 pukul 10.00 WIB" in body
    assert "Biaya sesuai standar biaya penggandaan daerah." in body
    window = day_in_words(decided.get_json()["dispute_window_due_at"])
    assert f"kepada Komisi Informasi paling lambat {window} (14 hari kerja" in body

    assert smtp.count() == 4
    send(client)
    assert smtp.count() == 4  # each once
    with client.env.rt.engine.connect() as conn:
        rows = conn.execute(select(mail_queue.c.kind, mail_queue.c.recipient, mail_queue.c.params)).all()
    assert sorted(r.kind for r in rows) == sorted(citizen_mail.KINDS)
    assert all(r.recipient is None and r.params is None for r in rows)  # token and address erased


def test_each_notice_is_mailed_as_issued_when_an_objection_annulled_the_first(ppid_mail, smtp):
    client = ppid_mail
    submitted = client.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    client.clock.set(datetime(2026, 3, 16, 10, tzinfo=WIB))
    rejection = {"outcome": "rejected", "exemption_clause": "a",
                 "consequence_test": "Membuka berkas pemeriksaan menghambat penyidikan."}
    assert client.notice(number, rejection, PELAKSANA, "dinkes").status_code == 201
    client.clock.set(datetime(2026, 3, 30, 10, tzinfo=WIB))
    kbr = client.citizen("POST", f"{REQ}/{number}/objections", token,
                         json={"grounds": ["a"], "statement": "Penyidikan sudah selesai."}).get_json()["number"]
    opath = f"/api/v1/objections/{kbr}"
    client.clock.set(datetime(2026, 4, 14, 10, tzinfo=WIB))
    assert client.act(f"{opath}/decision", {"decision": "overturned", "reasons": "Penyidikan telah dihentikan."},
                      ATASAN, "dinkes", etag_of=opath).status_code == 200
    client.clock.set(datetime(2026, 4, 20, 10, tzinfo=WIB))
    assert client.notice(number, None, PELAKSANA, "dinkes").status_code == 201
    send(client)  # the mails of both notices wait in the queue until now
    first, second = (m for m in smtp.to(ADDRESS) if "Pemberitahuan tertulis" in m["Subject"])
    assert "Tanggal pemberitahuan : Senin, 16 Maret 2026" in text_of(first)
    assert "Permohonan ditolak karena informasi dikecualikan" in text_of(first)
    assert "Tanggal pemberitahuan : Senin, 20 April 2026" in text_of(second)
    assert "Informasi dapat diberikan seluruhnya" in text_of(second)
    decision = text_of(only_mail(smtp, "Tanggapan Atasan PPID"))
    assert "Keberatan diterima; keputusan PPID dibatalkan" in decision
    assert "PPID akan menindaklanjuti permohonan Anda" in decision


def test_a_request_without_an_address_mails_nothing(ppid_mail, smtp):
    client = ppid_mail
    submitted = client.submit(requested_opd="dinkes", email=..., delivery_method="in_person")
    path = f"{REQ}/{submitted['number']}"
    before = queued(client)
    client.clock.set(datetime(2026, 3, 10, 10, tzinfo=WIB))
    assert client.act(f"{path}/extension", {"ground": "large_volume", "reason": "Dokumen berjumlah ratusan halaman."},
                      PELAKSANA, "dinkes", etag_of=path).status_code == 200
    assert client.notice(submitted["number"], None, PELAKSANA, "dinkes").status_code == 201
    assert queued(client) == before
    send(client)
    assert smtp.count() == 0


def test_a_refused_change_mails_nothing(ppid_mail, smtp):
    client = ppid_mail
    submitted = client.submit(requested_opd="dinkes")
    send(client)
    smtp.clear()
    path = f"{REQ}/{submitted['number']}"
    before = queued(client)
    stale = client.act(f"{path}/extension", {"ground": "coordination", "reason": "Perlu koordinasi lintas OPD."},
                       PELAKSANA, "dinkes", etag='"basi"')
    assert stale.status_code == 412
    refused = client.notice(submitted["number"], None, PELAKSANA, "disdik")
    assert refused.status_code == 403
    assert queued(client) == before
    send(client)
    assert smtp.count() == 0


def test_no_address_reaches_the_logs_or_the_outbox(ppid_mail, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    client = ppid_mail
    submitted = client.submit(requested_opd="dinkes")
    client.clock.set(datetime(2026, 3, 4, 10, tzinfo=WIB))
    assert client.notice(submitted["number"], None, PELAKSANA, "dinkes").status_code == 201
    send(client)
    assert len(smtp.to(ADDRESS)) == 2
    # The test's own SMTP server logs what it receives (`mail.log`); the services must not.
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.name == "simpul.mail" for r in ours)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    assert "siti.rahmawati" not in logged and submitted["access_token"] not in logged
    with client.env.rt.engine.connect() as conn:
        bodies = " ".join(conn.execute(select(outbox.c.body)).scalars())
    assert "siti.rahmawati" not in bodies and submitted["access_token"] not in bodies


def test_the_ppid_worker_runs_the_mail_timers(ppid_mail, smtp, monkeypatch):
    client = ppid_mail
    started = {}
    monkeypatch.setattr(ppid_main, "run_worker", lambda rt, **kwargs: started.update(kwargs))
    ppid_main.run_ppid_worker(client.env.rt)
    timers = {t.name: t for t in started["timers"]}
    assert set(timers) == {"mail-queue-send", "mail-queue-retention"}
    client.submit()
    timers["mail-queue-send"].run()
    assert len(smtp.to(ADDRESS)) == 1


def test_the_tracking_address_needs_its_number_slot():
    base = {"SIMPUL_ENV": "development"}
    assert PpidSettings.from_env("ppid", {**base, "PPID_TRACKING_URL": TRACKING}).tracking_url == TRACKING
    assert PpidSettings.from_env("ppid", base).tracking_url is None
    for wrong in ("https://ppid.kapuaskab.go.id/permohonan", "ftp://x/{number}",
                  "https://x/{number}/{token}", "https://x/{number}/{number}"):
        with pytest.raises(SettingsError, match="PPID_TRACKING_URL"):
            PpidSettings.from_env("ppid", {**base, "PPID_TRACKING_URL": wrong})
