"""The printables of a PPID desk, as letters with the regency's letterhead.

The written notice (pemberitahuan tertulis), the receipt of a request (tanda bukti
pengajuan) and the Atasan PPID's written answer to an objection (tanggapan atas
keberatan). The wording follows the forms of the Komisi Informasi's service standard (Perki
1/2021): for a notice, the request it answers, the applicant it is addressed to, what is
decided, and for information given its form, cost and time of provision; for a rejection the
Pasal 17 clause and the consequence test; and in every case the applicant's next remedy and
its time limit. Each is built as one `services.common.letters.Letter` and that one model is
printed as HTML and as PDF, so the two look like the same letter and the wording lives in
one place. Values a citizen or clerk typed are escaped by the renderers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.common import letters
from services.common.calendar import format_date_id, format_instant_id
from services.ppid import domain

render_html = letters.render_html
render_pdf = letters.render_pdf


def rupiah(amount: int) -> str:
    """`Rp 15.000` (Indonesian groups thousands with dots)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_date_id(value.date())
    return format_date_id(value)


def notice_letter(document: dict[str, Any]) -> letters.Letter:
    """The notice's wording as a letter: headings, rows and paragraphs in official Indonesian."""
    notice = document["notice"]
    req = document["request"]
    applicant = document["applicant"]
    outcome = notice["outcome"]
    holder = document.get("issuing_opd_name") or "PPID Utama"
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
    issued_on = notice["issued_at"].date()
    blocks = [
        letters.paragraph(
            # The date the request was received (not day zero, which may be the next
            # working day and could fall after a notice issued at once).
            f"Berdasarkan permohonan informasi pada tanggal {_day(req['submitted_at'])} dengan "
            f"nomor pendaftaran {req['number']}{_day_zero_clause(req)}, kami menyampaikan "
            "kepada Saudara/i:"
        ),
        letters.rows(
            [("Nama", applicant["name"]), ("Alamat", applicant["address"]), ("Nomor telepon/surel", contact)]
        ),
        letters.paragraph("Informasi yang dimohon:"),
        letters.quote(req["information"]),
        letters.paragraph("Pemberitahuan sebagai berikut:"),
        letters.strong(decision),
    ]
    if rows:
        blocks.append(letters.rows(rows))
    blocks += [letters.paragraph(text) for text in paragraphs]
    if notice.get("late"):
        blocks.append(letters.note("Pemberitahuan ini disampaikan melewati batas waktu yang ditentukan."))
    role = f"PPID {holder}" if notice.get("issuing_opd") else "PPID Utama"
    regency = document.get("regency")
    return letters.Letter(
        letterhead=letters.letterhead(regency, ppid_office(document.get("issuing_opd_name"))),
        title="PEMBERITAHUAN TERTULIS",
        number=notice.get("letter_number") or None,
        blocks=tuple(blocks),
        signature=letters.Signature(
            role=role,
            signed_on=issued_on,
            place=regency.seat if regency else None,
            name=notice.get("issued_by_name"),
            nip=notice.get("issued_by_nip"),
        ),
        document_title=f"Pemberitahuan Tertulis {req['number']}",
    )


def _day_zero_clause(req: dict[str, Any]) -> str:
    """The day the time limit counts from, when it is not the day the request came in (after
    office hours or on a day off it is the next working day)."""
    received, day_zero = req["submitted_at"].date(), req["received_at"].date()
    if day_zero == received:
        return ""
    return f" (jangka waktu dihitung sejak hari kerja berikutnya, {_day(day_zero)})"


def ppid_office(opd_name: str | None) -> str:
    """The PPID writing: an OPD's (its PPID Pelaksana) or the regency's (the PPID Utama)."""
    return f"Pejabat Pengelola Informasi dan Dokumentasi (PPID) {opd_name or 'Utama'}"




def _place(document: dict[str, Any]) -> str | None:
    regency = document.get("regency")
    return regency.seat if regency else None


def _contact(applicant: dict[str, Any]) -> str:
    return " / ".join(v for v in (applicant.get("phone"), applicant.get("email")) if v) or "-"


def receipt_letter(document: dict[str, Any]) -> letters.Letter:
    """The receipt of a request (tanda bukti pengajuan permohonan informasi publik): what was
    asked, when it was received, day zero and the date the written notice is due."""
    req = document["request"]
    applicant = document["applicant"]
    opd_name = document.get("opd_name")
    submitted_at: datetime = req["submitted_at"]
    received_at: datetime = req["received_at"]
    rows = [
        ("Diterima melalui", domain.CHANNELS.get(req["channel"], req["channel"])),
        ("Waktu diterima", format_instant_id(submitted_at)),
        ("Nama pemohon", applicant["name"]),
        ("Alamat", applicant["address"]),
        ("Pekerjaan", applicant.get("occupation") or "-"),
        ("Nomor telepon/surel", _contact(applicant)),
    ]
    if applicant.get("attorney_name"):
        rows.append(("Kuasa pemohon", applicant["attorney_name"]))
    rows += [
        ("Rincian informasi yang dibutuhkan", req["information"]),
        ("Tujuan penggunaan informasi", req["purpose"]),
        ("Cara memperoleh informasi", domain.OBTAIN_METHODS.get(req["obtain_method"], "-")),
        ("Cara mendapatkan salinan", domain.DELIVERY_METHODS.get(req["delivery_method"], "-")),
        ("Ditangani oleh", f"PPID {opd_name}" if opd_name else "PPID Utama"),
    ]
    if document.get("documents"):
        rows.append(("Dokumen yang dilampirkan", "; ".join(document["documents"])))
    counted_from = (
        f"hari ke-0 adalah {_day(received_at)}"
        + (
            " karena permohonan diterima di luar hari atau jam kerja"
            if received_at.date() != submitted_at.date()
            else ""
        )
    )
    blocks = [
        letters.paragraph("Telah diterima permohonan informasi publik dengan keterangan sebagai berikut:"),
        letters.rows(rows),
        letters.paragraph(
            "Pemberitahuan tertulis atas permohonan ini disampaikan paling lambat 10 (sepuluh) "
            f"hari kerja sejak permohonan diterima ({counted_from}), yaitu pada "
            f"{format_instant_id(req['due_at'])}. Jangka waktu tersebut dapat diperpanjang "
            "paling lama 7 (tujuh) hari kerja dengan pemberitahuan tertulis yang memuat "
            "alasannya (Pasal 22 ayat (7) dan (8) UU Nomor 14 Tahun 2008)."
        ),
        letters.paragraph(
            f"Simpan tanda bukti ini. Sebutkan nomor pendaftaran {req['number']} setiap kali "
            "menanyakan perkembangan permohonan atau mengajukan keberatan."
        ),
    ]
    officer = document.get("registered_by_name")
    signature = letters.Signature(
        role="Petugas Pelayanan Informasi",
        signed_on=submitted_at.date(),
        place=_place(document),
        name=officer,
        nip=document.get("registered_by_nip"),
        unsigned_note=(
            None
            if req["channel"] != "web"
            else "Tanda bukti ini diterbitkan secara elektronik dan sah tanpa tanda tangan."
        ),
    )
    return letters.Letter(
        letterhead=letters.letterhead(document.get("regency"), ppid_office(opd_name)),
        title="TANDA BUKTI PENGAJUAN PERMOHONAN INFORMASI PUBLIK",
        number=req["number"],
        blocks=tuple(blocks),
        signature=signature,
        document_title=f"Tanda Bukti Pengajuan {req['number']}",
    )


# What the Atasan's answer means for the request, in the applicant's terms.
_DECISION_CONSEQUENCES = {
    domain.UPHELD: "Dengan demikian keputusan PPID atas permohonan informasi Saudara/i tetap berlaku.",
    domain.OVERTURNED: (
        "Dengan demikian keputusan PPID atas permohonan informasi Saudara/i dibatalkan, dan PPID "
        "menindaklanjuti permohonan tersebut sesuai tanggapan ini dengan pemberitahuan tertulis "
        "yang baru."
    ),
    domain.SETTLED: "Keberatan Saudara/i diselesaikan secara musyawarah sebagaimana diuraikan di atas.",
}


def decision_letter(document: dict[str, Any]) -> letters.Letter:
    """The Atasan PPID's written answer to an objection (Pasal 36), with the applicant's
    right to take the dispute to the Komisi Informasi within 14 working days (Pasal 37)."""
    objection = document["objection"]
    req = document["request"]
    applicant = document["applicant"]
    regency = document.get("regency")
    opd_name = objection.get("opd_name")
    commission = (
        f"Komisi Informasi Provinsi {regency.province}" if regency else "Komisi Informasi Provinsi"
    )
    blocks = [
        letters.paragraph(
            f"Berdasarkan keberatan yang Saudara/i ajukan pada tanggal {_day(objection['filed_at'])} "
            f"dengan nomor {objection['number']} atas permohonan informasi nomor "
            f"{req['number']}, Atasan PPID menyampaikan tanggapan kepada:"
        ),
        letters.rows(
            [
                ("Nama", applicant["name"]),
                ("Alamat", applicant["address"]),
                ("Nomor telepon/surel", _contact(applicant)),
            ]
        ),
        letters.paragraph("Alasan keberatan (Pasal 35 ayat (1) UU Nomor 14 Tahun 2008):"),
        letters.rows(
            [
                (f"huruf {ground}", label)
                for ground, label in zip(objection["grounds"], objection["ground_labels"], strict=True)
            ]
        ),
        letters.paragraph("Uraian keberatan:"),
        letters.quote(objection["statement"]),
        letters.paragraph("Atas keberatan tersebut, Atasan PPID memutuskan:"),
        letters.strong(objection["decision_label"]),
        letters.paragraph("Pertimbangan:"),
        letters.quote(objection["decision_reasons"] or "-"),
        letters.paragraph(_DECISION_CONSEQUENCES[objection["decision"]]),
    ]
    window = objection.get("dispute_window_due_at")
    blocks.append(
        letters.paragraph(
            "Apabila Saudara/i tidak puas dengan tanggapan ini, Saudara/i dapat mengajukan "
            f"permohonan penyelesaian sengketa informasi publik kepada {commission} paling "
            "lambat 14 (empat belas) hari kerja sejak tanggapan ini diterima (Pasal 37 ayat (2) "
            "UU Nomor 14 Tahun 2008)"
            + (f", yaitu sampai {format_instant_id(window)}" if window else "")
            + "."
        )
    )
    if objection.get("late"):
        blocks.append(letters.note("Tanggapan ini disampaikan melewati batas waktu 30 (tiga puluh) hari kerja."))
    return letters.Letter(
        # An OPD's Atasan writes as the head of that OPD.
        letterhead=letters.letterhead(
            regency, opd_name or "Atasan Pejabat Pengelola Informasi dan Dokumentasi (PPID)"
        ),
        title="TANGGAPAN ATAS KEBERATAN",
        number=objection["number"],
        blocks=tuple(blocks),
        signature=letters.Signature(
            role=f"Atasan PPID {opd_name}" if opd_name else "Atasan PPID",
            signed_on=objection["decided_at"].date(),
            place=_place(document),
            name=objection.get("decided_by_name"),
            nip=document.get("decided_by_nip"),
        ),
        document_title=f"Tanggapan atas Keberatan {objection['number']}",
    )
