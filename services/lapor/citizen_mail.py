"""Mail to the reporter and the followers of a report, at every step of its life.

A reporter who gave an e-mail address hears at each step: the receipt (with the access
token), a question from the admin, verification, disposition, the OPD's follow-up and
progress, completion, a reopening, the closing, and the end of a report that is archived,
postponed or not the regency's. Followers (citizens who follow a public report) hear the
public steps only (`PUBLIC_STEPS`), and nothing of a rahasia report; only followers who
confirmed their address hear anything. A request to follow mails the address its
confirmation token (`queue_follow_confirmation`), the one mail an unconfirmed address gets.

The mails carry personal data (the address, the token), so LAPOR! sends them itself, never
through an event: each is queued in the transaction of the change it reports
(`queue_report_mail`; the receipt as a child row of the numbered submission, whose number
exists only inside that write) and the worker's timer sends it (`mail_queue_of(rt)`). The
text is written when it is sent, from the report as stored (Jinja2 templates
`templates/mail_report.txt|html`, HTML escaped), in Bahasa Indonesia with dates in words in
the regency's time. Without `SMTP_HOST` nothing is queued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.calendar import format_date_id, format_instant_id
from services.common.mailer import (
    MailContent,
    MailQueue,
    QueuedMail,
    mail_templates,
    queued_mail_row,
)
from services.common.numbering import ChildRow
from services.common.runtime import Runtime
from services.lapor import domain, records
from services.lapor.models import Follower, Report, Reporter, ReportMessage, mail_queue

SUBMITTED = "submitted"
CLARIFICATION_REQUESTED = "clarification_requested"
VERIFIED = "verified"
POSTPONED = "postponed"
ARCHIVED = "archived"
REJECTED_AUTHORITY = "rejected_authority"
DISPATCHED = "dispatched"
FOLLOWED_UP = "followed_up"
PROGRESSED = "progressed"
COMPLETED = "completed"
REOPENED = "reopened"
CLOSED = "closed"

REPORTER, FOLLOWER = "reporter", "follower"
FOLLOW_CONFIRMATION = "follow_confirmation"
FOLLOW_CONFIRMATION_SUBJECT = "Konfirmasi mengikuti laporan"

# step -> (subject, what happened, in a sentence the reader understands)
STEPS: dict[str, tuple[str, str]] = {
    SUBMITTED: ("Laporan Anda diterima", "Laporan Anda telah kami terima dan menunggu verifikasi admin LAPOR!."),
    CLARIFICATION_REQUESTED: (
        "Mohon penjelasan tambahan atas laporan",
        "Admin LAPOR! memerlukan penjelasan tambahan sebelum laporan dapat diverifikasi. Batas waktu "
        "verifikasi dihentikan sementara sampai Anda menjawab.",
    ),
    VERIFIED: ("Laporan telah diverifikasi", "Laporan telah diverifikasi oleh admin LAPOR! dan akan diteruskan ke perangkat daerah yang berwenang."),
    POSTPONED: ("Laporan ditunda", "Admin LAPOR! menunda verifikasi laporan."),
    ARCHIVED: ("Laporan diarsipkan", "Admin LAPOR! mengarsipkan laporan dan tidak menindaklanjutinya."),
    REJECTED_AUTHORITY: (
        "Laporan bukan wewenang Pemerintah Kabupaten",
        "Admin LAPOR! menyatakan laporan ini bukan wewenang Pemerintah Kabupaten.",
    ),
    DISPATCHED: ("Laporan diteruskan ke perangkat daerah", "Laporan telah didisposisikan kepada perangkat daerah yang berwenang."),
    FOLLOWED_UP: ("Tindak lanjut atas laporan", "Perangkat daerah telah menyampaikan tindak lanjut atas laporan."),
    PROGRESSED: ("Perkembangan penanganan laporan", "Perangkat daerah mencatat perkembangan penanganan laporan."),
    COMPLETED: ("Laporan selesai ditindaklanjuti", "Perangkat daerah menyatakan laporan selesai ditindaklanjuti."),
    REOPENED: ("Laporan dibuka kembali", "Jawaban atas laporan ditolak pelapor; laporan dikembalikan kepada perangkat daerah."),
    CLOSED: ("Laporan ditutup", "Laporan telah ditutup."),
}
KINDS = tuple(STEPS)
# What followers of a public report hear: the steps whose content is public.
PUBLIC_STEPS = (VERIFIED, DISPATCHED, FOLLOWED_UP, PROGRESSED, COMPLETED, REOPENED, CLOSED)
# The message whose text a step's mail quotes (an officer's words, never the reporter's).
_QUOTED = {
    CLARIFICATION_REQUESTED: "clarification_request",
    FOLLOWED_UP: "follow_up",
    PROGRESSED: "progress",
    COMPLETED: "completion",
}

_env = mail_templates("services.lapor")


def enabled(rt: Runtime) -> bool:
    return bool(rt.settings.smtp_host)


# -- queueing, inside the use case's transaction --------------------------------------------


def receipt_child(rt: Runtime, email: str | None, token: str, at: datetime) -> ChildRow | None:
    """The receipt of a new report with its access token, as a child row of its numbered
    write; None without an address (or with mail off)."""
    if not email or not enabled(rt):
        return None
    row = queued_mail_row(SUBMITTED, email, at=at, params={"token": token, "audience": REPORTER})
    return ChildRow(mail_queue, row, "case_id")


def queue_report_mail(rt: Runtime, session: Session, report: Report, step: str, *, at: datetime) -> int:
    """Queue the mail of `step` to the reporter (if they gave an address) and, for a public
    step of a report that is not rahasia, to its followers. Returns how many were queued.

    Call it in the unit of work of the change, after the change and any message it quotes
    were added (the mail quotes the newest message of that step's kind, as stored)."""
    if step not in STEPS:
        raise ValueError(f"unknown report mail step {step!r}")
    if not enabled(rt):
        return 0
    queue = mail_queue_of(rt)
    count = 0
    email = session.scalar(select(Reporter.email).where(Reporter.report_id == report.id))
    if email:
        queue.queue(session, step, email, at=at, case_id=report.id, params={"audience": REPORTER})
        count += 1
    if step in PUBLIC_STEPS and report.privacy in domain.PUBLISHED_PRIVACIES:
        confirmed = select(Follower.email).where(
            Follower.report_id == report.id, Follower.confirmed_at.is_not(None))
        for address in session.scalars(confirmed):
            queue.queue(session, step, address, at=at, case_id=report.id, params={"audience": FOLLOWER})
            count += 1
    return count


def queue_follow_confirmation(rt: Runtime, session: Session, report: Report, address: str,
                              token: str, *, at: datetime) -> bool:
    """Queue the mail carrying the token that confirms `address` as a follower of `report`;
    False with mail off (the address then cannot confirm)."""
    if not enabled(rt):
        return False
    mail_queue_of(rt).queue(session, FOLLOW_CONFIRMATION, address, at=at, case_id=report.id,
                            params={"token": token, "audience": FOLLOWER})
    return True


# -- sending, in the worker -----------------------------------------------------------------


def mail_queue_of(rt: Runtime) -> MailQueue:
    """LAPOR!'s mail queue, rendering with this runtime's calendar, directory and settings."""
    return MailQueue(mail_queue, lambda session, mail: render(rt, session, mail))


def render(rt: Runtime, session: Session, mail: QueuedMail) -> MailContent | None:
    """The mail a queued row stands for; None when its report is gone."""
    if mail.kind not in STEPS and mail.kind != FOLLOW_CONFIRMATION:
        raise ValueError(f"unknown mail kind {mail.kind!r}")
    report = session.get(Report, mail.case_id) if mail.case_id is not None else None
    if report is None:
        return None
    if mail.kind == FOLLOW_CONFIRMATION:
        return _follow_confirmation(rt, report, mail.params["token"])
    context = _context(rt, session, report, mail.kind, mail.params)
    return MailContent(
        subject=context["subject"],
        text=_env.get_template("mail_report.txt").render(**context),
        html=_env.get_template("mail_report.html").render(**context),
    )


def _follow_confirmation(rt: Runtime, report: Report, token: str) -> MailContent:
    regency = rt.opds.regency
    context = {
        "subject": f"{FOLLOW_CONFIRMATION_SUBJECT}: {report.number}",
        "number": report.number,
        "title": report.title,
        "token": token,
        "regency": regency.name if regency else "Pemerintah Daerah",
    }
    return MailContent(
        subject=context["subject"],
        text=_env.get_template("mail_follow_confirmation.txt").render(**context),
        html=_env.get_template("mail_follow_confirmation.html").render(**context),
    )


def _context(rt: Runtime, session: Session, report: Report, step: str, params: dict[str, Any]) -> dict[str, Any]:
    tz = rt.calendar.tz
    follower = params.get("audience") == FOLLOWER
    subject, happened = STEPS[step]
    quoted_kind = _QUOTED.get(step)
    quoted = None
    if quoted_kind is not None:
        quoted = session.scalar(
            select(ReportMessage.body)
            .where(ReportMessage.report_id == report.id, ReportMessage.kind == quoted_kind)
            .order_by(ReportMessage.id.desc())
            .limit(1)
        )

    def when(instant: datetime | None) -> str | None:
        return format_instant_id(instant.astimezone(tz)) if instant is not None else None

    def day(instant: datetime | None) -> str | None:
        return format_date_id(instant.astimezone(tz).date()) if instant is not None else None

    def opd(code: str | None) -> str | None:
        return rt.opds.name_of(code)

    regency = rt.opds.regency
    url = rt.settings.tracking_url
    return {
        "subject": f"{subject}: {report.number}",
        "happened": happened,
        "follower": follower,
        "number": report.number,
        "title": report.title,
        "status_label": domain.STATUS_LABELS[report.status],
        "token": None if follower else params.get("token"),
        "quoted": quoted,
        "step": step,
        "submitted_at": when(report.submitted_at),
        "verification_due": day(report.verification_due_at),
        "lead_opd": opd(report.lead_opd),
        "follow_up_due": day(report.follow_up_due_at),
        "completion_due": day(report.completion_due_at),
        "reply_due": day(report.reply_due_at),
        "postpone_reason": report.postpone_reason,
        "archive_reason": domain.ARCHIVE_REASON_LABELS.get(report.archive_reason or ""),
        "archive_note": report.archive_note,
        "authority_body": report.authority_body,
        "duplicate_of": records.duplicate_number(session, report),
        "closed_reason": domain.CLOSED_REASON_LABELS.get(report.closed_reason or ""),
        "rating": report.rating,
        "tracking_url": url.format(number=report.number) if url else None,
        "regency": regency.name if regency else "Pemerintah Daerah",
    }
