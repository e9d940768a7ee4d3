"""The printable written notice: official wording per outcome, escaping, HTML and PDF."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import datetime

import pytest

from services.ppid import notice as printing
from tests.ppid.support import PELAKSANA, WIB

REQ = "/api/v1/requests"

OUTCOMES = {
    "granted": (
        {"outcome": "granted", "info_format": "hard_copy", "delivery_method": "post", "fee_amount": 15000,
         "fee_details": "Penyalinan 60 lembar dan ongkos kirim pos"},
        ["Informasi dapat diberikan", "Rp 15.000", "Penyalinan 60 lembar", "Mendapatkan salinan (hardcopy)"],
    ),
    "partially_granted": (
        {"outcome": "partially_granted", "info_format": "soft_copy", "delivery_method": "email",
         "redacted_parts": "Nomor rekening penerima bantuan", "exemption_clause": "h",
         "consequence_test": "Membuka nomor rekening mengungkap rahasia pribadi penerima."},
        ["Informasi dapat diberikan sebagian", "Penjelasan penghitaman/pengaburan informasi",
         "Nomor rekening penerima bantuan", "Pasal 17 huruf h", "Tidak dipungut biaya"],
    ),
    "rejected": (
        {"outcome": "rejected", "exemption_clause": "a",
         "consequence_test": "Membuka berkas menghambat penyidikan yang sedang berjalan."},
        ["Permohonan informasi ditolak", "Pasal 17 huruf a", "menghambat proses penegakan hukum",
         "dinyatakan DITOLAK", "uji konsekuensi"],
    ),
    "not_held": (
        {"outcome": "not_held", "holder_body": "Kantor Pertanahan Kabupaten Kapuas"},
        ["tidak dikuasai", "Badan Publik lain, yaitu Kantor Pertanahan Kabupaten Kapuas"],
    ),
    "not_documented": (
        {"outcome": "not_documented", "documented_by": "2026-04-30"},
        ["belum didokumentasikan", "Kamis, 30 April 2026"],
    ),
}


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_official_wording_per_outcome(ppid, outcome):
    body, phrases = OUTCOMES[outcome]
    submitted = ppid.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    ppid.clock.set(datetime(2026, 3, 6, 10, tzinfo=WIB))
    issued = ppid.notice(number, body | {"letter_number": "045/PPID/III/2026"}, PELAKSANA, "dinkes")
    assert issued.status_code == 201, issued.get_json()
    html = ppid.citizen("GET", f"{REQ}/{number}/notice.html", token)
    assert html.status_code == 200 and html.mimetype == "text/html"
    text = html.get_data(as_text=True)
    for phrase in [
        "PEMBERITAHUAN TERTULIS",
        "Nomor: 045/PPID/III/2026",
        f"nomor pendaftaran {number}",
        "Senin, 2 Maret 2026",
        "Siti Rahmawati",
        "Dinas Kesehatan",
        "Pemerintah Kabupaten Kapuas",
        "paling lambat 30 (tiga puluh) hari kerja",
        "Senin, 27 April 2026",  # 30 working days from Friday 6 March (18-24 March off)
        *phrases,
    ]:
        assert phrase in text, phrase
    pdf = ppid.citizen("GET", f"{REQ}/{number}/notice.pdf", token)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    assert "PEMBERITAHUAN TERTULIS" in pdf_text(pdf.data)
    assert number in pdf_text(pdf.data)


def pdf_text(data: bytes) -> str:
    """The text operands of every page stream (reportlab writes them ASCII85 + Flate)."""
    chunks = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = raw.strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw[:-2])
        try:
            chunks.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            chunks.append(raw.decode("latin-1"))
    strings = [m for chunk in chunks for m in re.findall(r"\(((?:\\.|[^\\)])*)\)\s*Tj", chunk)]
    return " ".join(re.sub(r"\\(.)", r"\1", m) for m in strings)


def test_what_people_typed_is_escaped(ppid):
    submitted = ppid.submit(
        name="<script>alert('nama')</script>",
        information="Data <b>tebal</b> & <img src=x onerror=alert(1)> anggaran",
        requested_opd="dinkes",
    )
    number, token = submitted["number"], submitted["access_token"]
    ppid.notice(number, {"outcome": "not_held", "holder_body": "<iframe>BPN</iframe>"}, PELAKSANA, "dinkes")
    text = ppid.citizen("GET", f"{REQ}/{number}/notice.html", token).get_data(as_text=True)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<img" not in text and "<iframe>" not in text and "&lt;iframe&gt;" in text
    assert "&amp;" in text
    pdf = ppid.citizen("GET", f"{REQ}/{number}/notice.pdf", token)
    # Shown as the literal text typed (reportlab splits it into several text runs).
    assert pdf.status_code == 200 and "<script>alert('nama')</script>" in pdf_text(pdf.data).replace(" ", "")


def test_no_notice_yet_and_staff_access(ppid):
    submitted = ppid.submit(requested_opd="disdik")
    number = submitted["number"]
    assert ppid.citizen("GET", f"{REQ}/{number}/notice.html", submitted["access_token"]).status_code == 404
    assert ppid.citizen("GET", f"{REQ}/{number}/notice", submitted["access_token"]).status_code == 404
    ppid.notice(number, None, PELAKSANA, "disdik")
    assert ppid.staff_get(f"{REQ}/{number}/notice.pdf", PELAKSANA, "disdik").status_code == 200
    assert ppid.staff_get(f"{REQ}/{number}/notice.pdf", PELAKSANA, "dinkes").status_code == 403
    assert ppid.staff_get(f"{REQ}/{number}/notice", PELAKSANA, "disdik").get_json()["outcome"] == "granted"


def test_rupiah():
    assert printing.rupiah(1500000) == "Rp 1.500.000"
    assert printing.rupiah(0) == "Rp 0"
