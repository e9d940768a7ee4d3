"""A citizen's report: its submission, the reporter's view, and a lost token re-issued.

The submission is the hot path of the service (every citizen's form): the report, its
reporter, its first history line, the receipt mail and the `submitted` event are written
with the chassis's numbered write (`services.common.numbering.Numbering.write`), which on
PostgreSQL holds the year's counter row for one statement only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.citizen import (
    CitizenAccess,
    LostToken,
    hash_stored_in,
    issue_token,
    reissue_token,
)
from services.common.errors import Invalid
from services.common.files import inspect_upload
from services.common.mailer import MailContent
from services.common.numbering import ChildRow, NumberedRow
from services.common.runtime import Runtime
from services.lapor import attachments, citizen_mail, domain, records
from services.lapor import events as ev
from services.lapor.models import NUMBER_PREFIX, NUMBERS, HistoryEntry, Report, Reporter

FILES_FIELD = "attachments"
ACCESS = CitizenAccess(case_noun="laporan", service="LAPOR!", staff_roles=domain.STAFF_ROLES)


class NewReport:
    """A report whose row is written without the ORM, as the event builder reads it."""

    def __init__(self, row: dict[str, Any]):
        self.number = ""
        self.status = row["status"]
        self.classification = row["classification"]
        self.category = row["category"]
        self.privacy = row["privacy"]
        self.kecamatan = row["kecamatan"]
        self.lead_opd = None


def submit(rt: Runtime, data: dict[str, Any], *, now: datetime, channel: str = "web") -> dict[str, Any]:
    """File a report: its number, access token and verification due date, at once.

    `data` is a checked form (SubmitReportSchema): category and places known, the point
    inside the regency, a way to reach the reporter.
    """
    days = rt.settings.verification_days
    files = [(f["filename"], f["content_base64"]) for f in data.get("attachments") or ()]
    _check_files(rt, files)
    secret, token_hash = issue_token()
    row: dict[str, Any] = {
        "year": records.local_year(rt, now),
        "channel": channel,
        "classification": data["classification"],
        "category": data["category"],
        "title": data["title"],
        "description": data["description"],
        "incident_date": data.get("incident_date"),
        "latitude": data.get("latitude"),
        "longitude": data.get("longitude"),
        "address": data.get("address"),
        "kecamatan": data.get("kecamatan"),
        "desa": data.get("desa"),
        "privacy": data["privacy"],
        "access_token_hash": token_hash,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    due_at, explanation = domain.explained_working_due(rt.calendar, now, days)
    row.update(status=domain.SUBMITTED, submitted_at=now, verification_due_at=due_at)
    reporter = {"name": data.get("name"), "phone": data.get("phone"), "email": data.get("email")}
    history = {"at": now, "action": "submitted", "actor_kind": records.CITIZEN}
    event = ev.report_event(
        NewReport(row), "submitted", at=now,
        channel=channel, submitted_at=now, verification_due_at=row["verification_due_at"],
        clocks=(ev.verification_clock(records.event_context(rt), row["verification_due_at"]),),
    )
    children = [
        ChildRow(Reporter.__table__, reporter, "report_id"),
        ChildRow(HistoryEntry.__table__, history, "report_id"),
    ]
    receipt = citizen_mail.receipt_child(rt, reporter["email"], secret, now)
    if receipt is not None:
        children.append(receipt)
    with rt.uow() as uow:
        numbered = NUMBERS.write(
            uow, NUMBER_PREFIX, row["year"], NumberedRow(Report.__table__, row), children=children, event=event
        )
        if files:
            report = records.load_report(uow.session, numbered.number)
            attachments.add_attachments(uow.session, rt.files, rt.settings, report, files,
                                        uploaded_by=records.CITIZEN, at=now, field=FILES_FIELD)
        uow.commit()
    presenter = records.presenter(rt)
    number = numbered.number
    return {
        "number": number,
        "access_token": secret,
        "status": row["status"],
        "status_label": domain.STATUS_LABELS[row["status"]],
        "submitted_at": presenter.local(now),
        "due_at": presenter.local(row["verification_due_at"]),
        "due_explanation": explanation,
        "message": (
            f"Laporan Anda tercatat dengan nomor {number}. Admin LAPOR! memverifikasinya dalam "
            f"{days} hari kerja. Simpan token akses ini untuk memantau laporan; token hanya "
            "ditampilkan sekali."
        ),
    }


def _check_files(rt: Runtime, files: list[tuple[str, bytes]]) -> None:
    """Refuse the submission before it is numbered when a file would be refused: on
    PostgreSQL the numbered write commits at once, so nothing may fail after it."""
    if not files:
        return
    limit = rt.settings.max_attachments
    if len(files) > limit:
        message = attachments.too_many(limit, 0)
        raise Invalid(message, {FILES_FIELD: [message]})
    rules = attachments.upload_rules(rt.settings)
    errors: dict[str, list[str]] = {}
    for index, (filename, content) in enumerate(files):
        try:
            inspect_upload(content, filename, rules, field=f"{FILES_FIELD}.{index}")
        except Invalid as refused:
            errors.update(refused.errors or {f"{FILES_FIELD}.{index}": [refused.message]})
    if errors:
        raise Invalid(attachments.FILES_INVALID, errors)


def citizen_view(rt: Runtime, number: str, token: str) -> dict[str, Any]:
    """The reporter's view of their report, opened with its access token."""
    with rt.uow() as uow:
        report = records.load_report(uow.session, number, full=True)
        ACCESS.check(token, report.access_token_hash)
        return records.presenter(rt).citizen(report, records.duplicate_number(uow.session, report))


# -- a lost token -----------------------------------------------------------------------------


def reissue_access_token(rt: Runtime, number: str, email: str) -> bool:
    """Mail a new access token to the reporter if `email` is the address they gave; the old
    token stops working. The caller must not reveal the result (`services.common.citizen`)."""
    return reissue_token(rt, number, email, _LOST_TOKEN)


def _contact_email(session: Session, number: str) -> str | None:
    if not records.looks_like_number(number):
        return None
    return session.scalar(
        select(Reporter.email).join(Report, Report.id == Reporter.report_id).where(Report.number == number)
    )


def _token_mail(number: str, secret: str) -> MailContent:
    return MailContent(
        subject=f"Token akses baru laporan {number}",
        text=(
            "Yth. Pelapor,\n\n"
            f"Kami menerima permintaan token akses baru untuk laporan nomor {number}.\n\n"
            f"Token akses baru Anda:\n\n    {secret}\n\n"
            "Untuk memantau laporan, gunakan nomor laporan dan token ini di layanan LAPOR! "
            "(aplikasi mengirim token pada header X-Access-Token). Token yang lama sudah tidak "
            "berlaku. Simpan token ini dan jangan berikan kepada siapa pun: petugas tidak pernah "
            "memintanya.\n\n"
            "Jika Anda tidak meminta token baru, seseorang yang mengetahui nomor laporan dan "
            "alamat email Anda telah memintanya. Laporan Anda tetap aman: token lama tidak "
            "berlaku lagi dan token baru hanya dikirim ke alamat ini.\n\n"
            "Email ini dikirim otomatis; mohon tidak membalasnya.\n"
        ),
    )


_LOST_TOKEN = LostToken(contact_email=_contact_email, store_hash=hash_stored_in(Report.__table__), mail=_token_mail)
