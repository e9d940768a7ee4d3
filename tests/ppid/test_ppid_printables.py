"""The printables of a PPID desk: the receipt of a request, the written notice and the
Atasan PPID's answer to an objection. Each is one letter printed as HTML and PDF, with the
regency's letterhead, the place and date of signing and the signatory's name and NIP from
the token; each is authorised per object like the case it belongs to."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from services.ppid.models import PersonalDataAccess, Request
from tests.ppid.support import (
    ATASAN,
    PELAKSANA,
    REQUEST_BODY,
    UTAMA,
    WIB,
    staff_headers,
)
from tests.ppid.test_ppid_notice_print import pdf_text
from tests.support import bearer_headers

REQ = "/api/v1/requests"
OBJ = "/api/v1/objections"
LETTERHEAD = ("Pemerintah Kabupaten Kapuas", "Jalan Tambun Bungai Nomor 50, Kuala Kapuas 73514")


REASON = {"X-Access-Reason": "Dicetak untuk diserahkan kepada pemohon"}


def signed(role: str, opd: str | None, name: str, nip: str) -> dict:
    return {**bearer_headers(role, opd, sub=f"{role}-{nip}", name=name, nip=nip), **REASON}


CLERK = signed(PELAKSANA, "dinkes", "Rina Marlina, S.Kom.", "198703122010012003")
HEAD = signed(ATASAN, "dinkes", "dr. Agus Setiawan, M.Kes.", "197505102002121004")


def walk_in(ppid, **overrides) -> dict:
    body = {**REQUEST_BODY, "requested_opd": "dinkes", "channel": "walk_in",
            "submitted_at": "2026-03-02T08:30:00+07:00", **overrides}
    answer = ppid.http.post(f"{REQ}/offline", json=body, headers=CLERK)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def body_text(page: str) -> str:
    """What a reader sees of an HTML letter: the body's text, entities decoded."""
    body = page.split("<body>", 1)[1]
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def both(ppid, path: str, headers: dict) -> tuple[str, str]:
    """The HTML letter's text and the PDF's, after checking both answered."""
    page = ppid.http.get(f"{path}.html", headers=headers)
    assert page.status_code == 200 and page.mimetype == "text/html", page.get_data(as_text=True)[:300]
    pdf = ppid.http.get(f"{path}.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    return body_text(page.get_data(as_text=True)), pdf_text(pdf.data)


def assert_letter(html_text: str, pdf: str, phrases: list[str]) -> None:
    # One letter: the same words in the same order in both renderings.
    assert words(html_text) == words(pdf)
    flat_html, flat_pdf = " ".join(html_text.split()), " ".join(pdf.split())
    for phrase in [*LETTERHEAD, *phrases]:
        assert phrase.lower() in flat_html.lower(), phrase
        assert phrase.lower() in flat_pdf.lower(), phrase


def test_receipt_of_a_walk_in_is_signed_by_the_officer_who_registered_it(ppid):
    submitted = walk_in(ppid)
    number, token = submitted["number"], submitted["access_token"]
    html_text, pdf = both(ppid, f"{REQ}/{number}/receipt", CLERK)
    assert_letter(html_text, pdf, [
        "TANDA BUKTI PENGAJUAN PERMOHONAN INFORMASI PUBLIK",
        f"Nomor: {number}",
        "Datang langsung",
        "Senin, 2 Maret 2026 pukul 08.30 WIB",  # when it was received
        "hari ke-0 adalah Senin, 2 Maret 2026",
        "Senin, 16 Maret 2026",  # the notice is due on day 10
        "Siti Rahmawati",
        "Kuala Kapuas, 2 Maret 2026",
        "Petugas Pelayanan Informasi",
        "Rina Marlina, S.Kom.",
        "NIP. 198703122010012003",
    ])
    # The applicant's own copy is the same letter; another OPD's officer gets none.
    assert both(ppid, f"{REQ}/{number}/receipt", {"X-Access-Token": token})[0] == html_text
    for kind in ("html", "pdf"):
        assert ppid.staff_get(f"{REQ}/{number}/receipt.{kind}", PELAKSANA, "disdik").status_code == 403
        assert ppid.citizen("GET", f"{REQ}/{number}/receipt.{kind}", "salah").status_code == 403
        assert ppid.http.get(f"{REQ}/{number}/receipt.{kind}").status_code == 401
    assert ppid.staff_get(f"{REQ}/PPID-2026-999999/receipt.pdf", UTAMA).status_code == 404


def test_receipt_after_office_hours_names_the_receipt_time_and_the_next_day_zero(ppid):
    ppid.clock.set(datetime(2026, 3, 2, 20, 30, tzinfo=WIB))
    number = walk_in(ppid, submitted_at="2026-03-02T19:10:00+07:00")["number"]
    html_text, pdf = both(ppid, f"{REQ}/{number}/receipt", CLERK)
    assert_letter(html_text, pdf, [
        "Senin, 2 Maret 2026 pukul 19.10 WIB",
        "hari ke-0 adalah Selasa, 3 Maret 2026 karena permohonan diterima di luar hari atau jam kerja",
        "Selasa, 17 Maret 2026",
        "Kuala Kapuas, 2 Maret 2026",
    ])


def test_staff_prints_are_recorded_reads_of_personal_data(ppid):
    submitted = walk_in(ppid)
    number, token = submitted["number"], submitted["access_token"]
    assert ppid.http.get(f"{REQ}/{number}/receipt.pdf", headers=CLERK).status_code == 200
    assert ppid.citizen("GET", f"{REQ}/{number}/receipt.html", token).status_code == 200  # not recorded
    with ppid.env.rt.uow() as uow:
        request_id = uow.session.scalar(select(Request.id).where(Request.number == number))
        purposes = uow.session.scalars(
            select(PersonalDataAccess.purpose).where(PersonalDataAccess.request_id == request_id)
        ).all()
    assert purposes == ["print_receipt"]


def test_a_web_receipt_says_it_needs_no_signature(ppid):
    submitted = ppid.submit(requested_opd="dinkes")
    html_text, pdf = both(ppid, f"{REQ}/{submitted['number']}/receipt", {"X-Access-Token": submitted["access_token"]})
    assert_letter(html_text, pdf, [
        "Formulir daring",
        "Tanda bukti ini diterbitkan secara elektronik dan sah tanpa tanda tangan.",
    ])
    assert "NIP" not in html_text


def test_notice_carries_the_signatory_and_the_place_of_signing(ppid):
    submitted = walk_in(ppid)
    number, token = submitted["number"], submitted["access_token"]
    ppid.clock.set(datetime(2026, 3, 6, 10, tzinfo=WIB))
    path = f"{REQ}/{number}"
    etag = ppid.http.get(path, headers=CLERK).headers["ETag"]
    issued = ppid.http.post(
        f"{path}/notice",
        json={"outcome": "not_held", "holder_body": "Kantor Pertanahan Kabupaten Kapuas",
              "letter_number": "045/PPID-DINKES/III/2026"},
        headers={**CLERK, "If-Match": etag},
    )
    assert issued.status_code == 201, issued.get_json()
    html_text, pdf = both(ppid, f"{path}/notice", {"X-Access-Token": token})
    assert_letter(html_text, pdf, [
        "PEMBERITAHUAN TERTULIS",
        "Nomor: 045/PPID-DINKES/III/2026",
        "Pejabat Pengelola Informasi dan Dokumentasi (PPID) Dinas Kesehatan",
        # The day the request was received, before the notice's own date.
        "permohonan informasi pada tanggal Senin, 2 Maret 2026",
        "Kuala Kapuas, 6 Maret 2026",
        "PPID Dinas Kesehatan",
        "Rina Marlina, S.Kom.",
        "NIP. 198703122010012003",
    ])


@pytest.fixture
def decided(ppid):
    """A walk-in answered on 6 March, objected to on 10 March, decided on 17 March."""
    submitted = walk_in(ppid)
    number, token = submitted["number"], submitted["access_token"]
    ppid.clock.set(datetime(2026, 3, 6, 10, tzinfo=WIB))
    assert ppid.notice(number, {"outcome": "rejected", "exemption_clause": "h",
                                "consequence_test": "Membuka rekam medis mengungkap rahasia pribadi pasien."},
                       PELAKSANA, "dinkes").status_code == 201
    ppid.clock.set(datetime(2026, 3, 10, 10, tzinfo=WIB))
    filed = ppid.citizen("POST", f"{REQ}/{number}/objections", token,
                         json={"grounds": ["a"], "statement": "Saya hanya meminta jumlah pasien per bulan."})
    assert filed.status_code == 201, filed.get_json()
    kbr = filed.get_json()["number"]
    ppid.clock.set(datetime(2026, 3, 17, 10, tzinfo=WIB))
    etag = ppid.http.get(f"{OBJ}/{kbr}", headers=HEAD).headers["ETag"]
    return number, token, kbr, etag


def test_decision_letter_of_the_atasan(ppid, decided):
    _number, token, kbr, etag = decided
    assert ppid.http.get(f"{OBJ}/{kbr}/decision.pdf", headers=HEAD).status_code == 404  # not decided yet
    answer = ppid.http.post(
        f"{OBJ}/{kbr}/decision",
        json={"decision": "upheld", "reasons": "Rekam medis memuat identitas pasien dan tetap dikecualikan."},
        headers={**HEAD, "If-Match": etag},
    )
    assert answer.status_code == 200, answer.get_json()
    html_text, pdf = both(ppid, f"{OBJ}/{kbr}/decision", {"X-Access-Token": token})
    assert_letter(html_text, pdf, [
        "TANGGAPAN ATAS KEBERATAN",
        f"Nomor: {kbr}",
        "Dinas Kesehatan",
        "Selasa, 10 Maret 2026",
        "Keberatan ditolak; keputusan PPID dikuatkan",
        "Rekam medis memuat identitas pasien dan tetap dikecualikan.",
        "Komisi Informasi Provinsi Kalimantan Tengah",
        "14 (empat belas) hari kerja",
        "Kuala Kapuas, 17 Maret 2026",
        "Atasan PPID Dinas Kesehatan",
        "dr. Agus Setiawan, M.Kes.",
        "NIP. 197505102002121004",
    ])
    assert both(ppid, f"{OBJ}/{kbr}/decision", HEAD)[0] == html_text
    for kind in ("html", "pdf"):
        assert ppid.staff_get(f"{OBJ}/{kbr}/decision.{kind}", ATASAN, "disdik").status_code == 403
        assert ppid.citizen("GET", f"{OBJ}/{kbr}/decision.{kind}", "salah").status_code == 403
        assert ppid.http.get(f"{OBJ}/{kbr}/decision.{kind}").status_code == 401


def test_a_letter_without_a_nip_leaves_the_place_for_it(ppid, decided):
    _number, token, kbr, etag = decided
    no_nip = {**staff_headers(ATASAN, "dinkes", name="Kepala Dinas"), **REASON}
    assert ppid.http.post(
        f"{OBJ}/{kbr}/decision",
        json={"decision": "overturned", "reasons": "Jumlah pasien per bulan bukan informasi yang dikecualikan."},
        headers={**no_nip, "If-Match": etag},
    ).status_code == 200
    html_text, pdf = both(ppid, f"{OBJ}/{kbr}/decision", {"X-Access-Token": token})
    assert_letter(html_text, pdf, ["Keberatan diterima", "Kepala Dinas", "NIP. -"])
