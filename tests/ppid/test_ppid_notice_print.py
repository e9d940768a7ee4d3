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


# -- attachment names a header cannot carry, downloaded through a real gunicorn ----------------

AWKWARD_NAMES = {
    "euro": ("Rekap biaya €.pdf", "Rekap biaya €.pdf"),
    "del": ("anggaran\x7f2025.pdf", "anggaran2025.pdf"),
    "line_separator": ("laporan\u2028tahunan.pdf", "laporantahunan.pdf"),
}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Pe\u0301rencanaan  Dinkes\u00a0.pdf", "P\u00e9rencanaan Dinkes .pdf"),  # NFC, one plain space
        ("\u202egpj.exe.pdf", "gpj.exe.pdf"),  # a right-to-left override cannot disguise it
        ("a\u2029b\x00c\x1b.txt", "abc.txt"),
        ("x" * 250 + ".xlsx", "x" * 195 + ".xlsx"),  # cut to 200, the extension kept
        ("\x7f\u2028", ""),
    ],
)
def test_file_names_are_normalised(raw, clean):
    from services.common.filenames import normalise_filename

    assert normalise_filename(raw) == clean


@pytest.fixture(scope="module")
def gunicorn_ppid(tmp_path_factory):
    """`python -m services.ppid web` on a migrated SQLite file, as `make run` starts it."""
    from tests.ppid.support import ppid_web_process

    with ppid_web_process(tmp_path_factory.mktemp("gunicorn"), PUBLIC_RATE_LIMIT="1000/minute") as web:
        yield web.base, web.url, web.log


def test_awkward_attachment_names_download_through_gunicorn(gunicorn_ppid):
    """Names with €, DEL or U+2028 were stored as typed and every download was a 500:
    gunicorn refuses such a Content-Disposition. Now they are normalised at upload and sent
    per RFC 6266 (an ASCII `filename` and a UTF-8 `filename*`)."""
    from urllib.parse import unquote

    import requests

    from tests.ppid.support import REQUEST_BODY, staff_headers

    base, _url, log = gunicorn_ppid
    submitted = requests.post(f"{base}{REQ}", json={**REQUEST_BODY, "requested_opd": "dinkes"}, timeout=10)
    assert submitted.status_code == 201, submitted.text
    number, token = submitted.json()["number"], submitted.json()["access_token"]
    staff = staff_headers(PELAKSANA, "dinkes")
    current = requests.get(f"{base}{REQ}/{number}", headers=staff, timeout=10)
    assert current.status_code == 200, current.text
    etag = current.headers["ETag"]
    content = b"%PDF-1.4 lampiran"
    issued = requests.post(
        f"{base}{REQ}/{number}/notice",
        json={
            "outcome": "granted", "info_format": "soft_copy", "delivery_method": "email",
            "attachments": [
                {"filename": raw, "content_type": "application/pdf",
                 "content_base64": base64.b64encode(content).decode()}
                for raw, _ in AWKWARD_NAMES.values()
            ],
        },
        headers={**staff, "If-Match": etag},
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    attachments = issued.json()["attachments"]
    assert [a["filename"] for a in attachments] == [clean for _, clean in AWKWARD_NAMES.values()]
    for attachment, (_raw, clean) in zip(attachments, AWKWARD_NAMES.values(), strict=True):
        path = f"{base}{REQ}/{number}/notice/attachments/{attachment['id']}"
        for headers in ({"X-Access-Token": token}, staff):
            download = requests.get(path, headers=headers, timeout=10)
            assert download.status_code == 200, (clean, download.text, log.read_text()[-2000:])
            assert download.content == content
            disposition = download.headers["Content-Disposition"]
            assert disposition.startswith("attachment;")
            disposition.encode("ascii")  # the header itself is plain ASCII
            if clean.isascii():
                assert f'filename="{clean}"' in disposition or f"filename={clean}" in disposition
            else:
                assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == clean


def test_names_stored_before_normalisation_still_download(gunicorn_ppid):
    """A row written before uploads were normalised keeps its raw name; it is cleaned when
    served, so the document released to the citizen is not lost."""
    import requests
    from sqlalchemy import create_engine, text

    from tests.ppid.support import REQUEST_BODY, staff_headers

    base, url, log = gunicorn_ppid
    submitted = requests.post(f"{base}{REQ}", json={**REQUEST_BODY, "requested_opd": "dinkes"}, timeout=10)
    number, token = submitted.json()["number"], submitted.json()["access_token"]
    staff = staff_headers(PELAKSANA, "dinkes")
    current = requests.get(f"{base}{REQ}/{number}", headers=staff, timeout=10)
    assert current.status_code == 200, current.text
    etag = current.headers["ETag"]
    issued = requests.post(
        f"{base}{REQ}/{number}/notice",
        json={"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email",
              "attachments": [{"filename": "data.pdf", "content_type": "application/pdf",
                               "content_base64": base64.b64encode(b"%PDF-1.4 x").decode()}]},
        headers={**staff, "If-Match": etag},
        timeout=10,
    )
    attachment_id = issued.json()["attachments"][0]["id"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE notice_attachments SET filename = :name WHERE id = :id"),
            {"name": "data\x7f€\u2028lama.pdf", "id": attachment_id},
        )
    engine.dispose()
    download = requests.get(
        f"{base}{REQ}/{number}/notice/attachments/{attachment_id}",
        headers={"X-Access-Token": token},
        timeout=10,
    )
    assert download.status_code == 200, (download.text, log.read_text()[-2000:])
    assert "filename*=UTF-8''data%E2%82%AClama.pdf" in download.headers["Content-Disposition"]
