"""The printable written notice (pemberitahuan tertulis), as HTML and as PDF.

The wording follows the notice form of the Komisi Informasi's service standard (Perki
1/2021): the request it answers, the applicant it is addressed to, what is decided, and for
information given its form, cost and time of provision; for a rejection the Pasal 17 clause
and the consequence test; and in every case the applicant's right to object within 30
working days. Both renderings are built from one content model (`content()`), so the
wording lives in one place. The HTML is a Jinja2 template with autoescaping: every value a
citizen or clerk typed is escaped; the PDF uses reportlab with the same escaping.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.common.calendar import format_date_id, format_instant_id
from services.ppid import domain

_TEMPLATE_DIR = Path(__file__).resolve().parent
_env = Environment(
    loader=FileSystemLoader(str(_TEMPLATE_DIR)),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def rupiah(amount: int) -> str:
    """`Rp 15.000` (Indonesian groups thousands with dots)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_date_id(value.date())
    return format_date_id(value)


def content(document: dict[str, Any]) -> dict[str, Any]:
    """The notice's wording as data: headings, rows and paragraphs in official Indonesian."""
    notice = document["notice"]
    req = document["request"]
    applicant = document["applicant"]
    outcome = notice["outcome"]
    holder = document.get("issuing_opd_name") or "PPID Utama"
    body_name = document.get("regency_name") or "Pemerintah Daerah"
    contact = " / ".join(v for v in (applicant.get("phone"), applicant.get("email")) if v) or "-"

    rows: list[tuple[str, str]] = []
    paragraphs: list[str] = []
    if outcome in domain.RELEASING_OUTCOMES:
        decision = "Informasi dapat diberikan" + (" sebagian" if outcome == domain.PARTIAL else "")
        rows += [
            ("Penguasaan informasi publik", f"Kami ({holder})"),
            ("Bentuk fisik yang tersedia", domain.OBTAIN_METHODS.get(notice["info_format"], "-")),
            ("Cara penyampaian", domain.DELIVERY_METHODS.get(notice["delivery_method"], "-")),
            (
                "Biaya yang dibutuhkan",
                rupiah(notice["fee_amount"])
                + (f" ({notice['fee_details']})" if notice.get("fee_details") else "")
                if notice["fee_amount"]
                else "Tidak dipungut biaya",
            ),
            ("Waktu penyediaan", _day(notice.get("provision_date")) if notice.get("provision_date") else "Bersama pemberitahuan ini"),
        ]
        if outcome == domain.PARTIAL:
            rows += [
                ("Penjelasan penghitaman/pengaburan informasi", notice["redacted_parts"]),
                (
                    "Dasar pengecualian",
                    f"Pasal 17 huruf {notice['exemption_clause']} UU Nomor 14 Tahun 2008 "
                    f"({domain.EXEMPTION_CLAUSES[notice['exemption_clause']]})"
                    + (f"; {notice['exemption_basis']}" if notice.get("exemption_basis") else ""),
                ),
                ("Uji konsekuensi", notice["consequence_test"]),
            ]
        if notice.get("attachments"):
            rows.append(
                ("Dokumen yang diberikan", "; ".join(a["filename"] for a in notice["attachments"]))
            )
    elif outcome == domain.REJECTED:
        decision = "Permohonan informasi ditolak"
        rows += [
            (
                "Pengecualian informasi didasarkan pada",
                f"Pasal 17 huruf {notice['exemption_clause']} UU Nomor 14 Tahun 2008 "
                f"({domain.EXEMPTION_CLAUSES[notice['exemption_clause']]})"
                + (f"; {notice['exemption_basis']}" if notice.get("exemption_basis") else ""),
            ),
            ("Konsekuensi bila informasi dibuka (uji konsekuensi)", notice["consequence_test"]),
        ]
        paragraphs.append(
            "Berdasarkan uji konsekuensi tersebut, membuka informasi yang dimohon dapat "
            "menimbulkan konsekuensi sebagaimana diuraikan di atas. Dengan demikian "
            "permohonan informasi dinyatakan DITOLAK."
        )
    elif outcome == domain.NOT_HELD:
        decision = "Informasi tidak dapat diberikan karena tidak dikuasai"
        rows += [
            ("Penguasaan informasi publik", f"Badan Publik lain, yaitu {notice['holder_body']}"),
        ]
        paragraphs.append(
            "Informasi yang Saudara/i mohon tidak dikuasai oleh kami. Silakan mengajukan "
            f"permohonan kepada {notice['holder_body']} yang menguasai informasi tersebut."
        )
    else:
        decision = "Informasi tidak dapat diberikan karena belum didokumentasikan"
        rows += [
            ("Penguasaan informasi publik", f"Kami ({holder})"),
            ("Informasi didokumentasikan paling lambat", _day(notice["documented_by"])),
        ]
        paragraphs.append(
            "Informasi yang Saudara/i mohon kami kuasai tetapi belum didokumentasikan. "
            "Penyediaan informasi dilakukan setelah informasi selesai didokumentasikan "
            f"paling lambat {_day(notice['documented_by'])}."
        )
    if notice.get("remarks"):
        paragraphs.append(notice["remarks"])
    deadline = document.get("objection_deadline")
    paragraphs.append(
        "Apabila Saudara/i keberatan atas pemberitahuan ini, Saudara/i dapat mengajukan "
        "keberatan kepada Atasan PPID paling lambat 30 (tiga puluh) hari kerja sejak "
        "pemberitahuan ini diterima (Pasal 35 dan 36 UU Nomor 14 Tahun 2008)"
        + (f", yaitu sampai {format_instant_id(deadline)}" if deadline else "")
        + "."
    )
    return {
        "title": "PEMBERITAHUAN TERTULIS",
        "body_name": body_name,
        "issuer": f"Pejabat Pengelola Informasi dan Dokumentasi (PPID) {holder}",
        "letter_number": notice.get("letter_number") or "-",
        "intro": (
            f"Berdasarkan permohonan informasi pada tanggal {_day(req['received_at'])} dengan "
            f"nomor pendaftaran {req['number']}, kami menyampaikan kepada Saudara/i:"
        ),
        "applicant_rows": [
            ("Nama", applicant["name"]),
            ("Alamat", applicant["address"]),
            ("Nomor telepon/surel", contact),
        ],
        "information": req["information"],
        "decision_heading": "Pemberitahuan sebagai berikut:",
        "decision": decision,
        "rows": rows,
        "paragraphs": paragraphs,
        "place_date": f"{_day(notice['issued_at'])}",
        "signature_role": "Pejabat Pengelola Informasi dan Dokumentasi (PPID)",
        "signature_name": notice.get("issued_by_name") or "",
        "late_note": (
            "Pemberitahuan ini disampaikan melewati batas waktu yang ditentukan."
            if notice.get("late")
            else None
        ),
    }


def render_html(document: dict[str, Any]) -> str:
    return _env.get_template("notice.html").render(c=content(document))


def render_pdf(document: dict[str, Any]) -> bytes:
    c = content(document)
    styles = getSampleStyleSheet()
    normal = ParagraphStyle("notice", parent=styles["Normal"], fontSize=10.5, leading=14)
    centre = ParagraphStyle("centre", parent=normal, alignment=1)
    title = ParagraphStyle("title", parent=styles["Title"], fontSize=14, spaceAfter=2)

    def para(text: str, style=normal) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    def table(rows: list[tuple[str, str]]) -> Table:
        data = [[para(label), para(":"), para(value or "-")] for label, value in rows]
        grid = Table(data, colWidths=[5.5 * cm, 0.4 * cm, 10.6 * cm])
        grid.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return grid

    story = [
        para(c["body_name"].upper(), centre),
        para(c["issuer"], centre),
        Spacer(1, 0.4 * cm),
        Paragraph(escape(c["title"]), title),
        para(f"Nomor: {c['letter_number']}", centre),
        Spacer(1, 0.5 * cm),
        para(c["intro"]),
        Spacer(1, 0.2 * cm),
        table(c["applicant_rows"]),
        Spacer(1, 0.3 * cm),
        para("Informasi yang dimohon:"),
        para(c["information"]),
        Spacer(1, 0.3 * cm),
        para(c["decision_heading"]),
        Paragraph(f"<b>{escape(c['decision'])}</b>", normal),
        Spacer(1, 0.2 * cm),
    ]
    if c["rows"]:
        story += [table(c["rows"]), Spacer(1, 0.3 * cm)]
    for text in c["paragraphs"]:
        story += [para(text), Spacer(1, 0.2 * cm)]
    if c["late_note"]:
        story += [para(c["late_note"]), Spacer(1, 0.2 * cm)]
    story += [
        Spacer(1, 0.6 * cm),
        para(c["place_date"]),
        para(c["signature_role"]),
        Spacer(1, 1.6 * cm),
        para(c["signature_name"] or "(.................................)"),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=f"Pemberitahuan Tertulis {document['request']['number']}",
        author=c["issuer"],
        invariant=True,
    ).build(story)
    return buffer.getvalue()
