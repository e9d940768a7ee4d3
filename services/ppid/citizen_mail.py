"""Mail to the applicant: the receipt, the written notice, an extension, the Atasan's decision.

An applicant who gave an e-mail address hears from the regency at each step that changes
what they may expect. The mails carry personal data (the address, the access token), so the
PPID sends them itself, never through an event: each is queued in the transaction of the
change it reports (`services.common.mailer.queue_mail`; the receipt as a child row of the
numbered submission, since the number exists only inside that write) and the worker's timer
sends it (`mail_queue_of(rt).send_due`). A change that rolls back mails nothing; one that
commits is mailed at least once.

A queued row holds the kind, the row it is about (the request, the notice or the objection)
and, for the receipt, the access token; the text is written when it is sent, from the rows
as stored (Jinja2 templates in `templates/mail_*.txt|html`, HTML autoescaped), in Bahasa
Indonesia with dates in words in the regency's time. Without `SMTP_HOST` nothing is queued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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
from services.ppid import domain
from services.ppid.models import Applicant, Notice, Objection, Request, mail_queue

RECEIPT, NOTICE, EXTENSION, DECISION = "receipt", "notice", "extension", "objection_decision"
KINDS = (RECEIPT, NOTICE, EXTENSION, DECISION)

_env = mail_templates("services.ppid")


def enabled(rt: Runtime) -> bool:
    return bool(rt.settings.smtp_host)


# -- queueing, inside the use case's transaction -----------------------------------------------


def receipt_child(rt: Runtime, email: str | None, token: str, at: datetime) -> ChildRow | None:
    """The receipt of a new request, as a child row of its numbered write; None without an
    address (or with mail off)."""
    if not email or not enabled(rt):
        return None
    return ChildRow(mail_queue, queued_mail_row(RECEIPT, email, at=at, params={"token": token}), "case_id")


def queue_for_request(session: Session, rt: Runtime, kind: str, request_id: int, at: datetime,
                      *, case_id: int | None = None) -> bool:
    """Queue `kind` to the applicant of `request_id`, if they gave an address. `case_id` is
    the row the mail is about when it is not the request (an objection)."""
    if not enabled(rt):
        return False
    email = session.scalar(select(Applicant.email).where(Applicant.request_id == request_id))
    if not email:
        return False
    mail_queue_of(rt).queue(session, kind, email, at=at, case_id=case_id if case_id is not None else request_id)
    return True


# -- sending, in the worker --------------------------------------------------------------------


def mail_queue_of(rt: Runtime) -> MailQueue:
    """The PPID's mail queue, rendering with this runtime's calendar, directory and settings."""
    return MailQueue(mail_queue, lambda session, mail: render(rt, session, mail))


def render(rt: Runtime, session: Session, mail: QueuedMail) -> MailContent | None:
    """The mail a queued row stands for; None when its case is gone."""
    words = _Words(rt)
    if mail.kind == DECISION:
        objection = session.scalars(
            select(Objection).where(Objection.id == mail.case_id).options(selectinload(Objection.request))
        ).one_or_none()
        if objection is None:
            return None
        context = _decision(words, objection)
    elif mail.kind == NOTICE:
        # The notice row itself: a request may have had an earlier one, annulled on objection.
        notice = session.scalars(
            select(Notice).where(Notice.id == mail.case_id).options(selectinload(Notice.attachments))
        ).one_or_none()
        request = session.get(Request, notice.request_id) if notice is not None else None
        if request is None:
            return None
        context = _notice(words, request, notice)
    elif mail.kind in (RECEIPT, EXTENSION):
        request = session.get(Request, mail.case_id)
        if request is None:
            return None
        if mail.kind == RECEIPT:
            context = _receipt(words, request, mail.params.get("token"))
        else:
            context = _extension(words, request)
    else:
        raise ValueError(f"unknown mail kind {mail.kind!r}")
    context.update(words.common(context["number"]))
    name = f"mail_{mail.kind}"
    return MailContent(
        subject=context["subject"],
        text=_env.get_template(f"{name}.txt").render(**context),
        html=_env.get_template(f"{name}.html").render(**context),
    )


class _Words:
    """Dates, names and links as the applicant reads them."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.tz = rt.calendar.tz
        regency = rt.opds.regency
        self.regency = regency.name if regency else None

    def when(self, instant: datetime) -> str:
        return format_instant_id(instant.astimezone(self.tz))

    def day(self, instant: datetime) -> str:
        return format_date_id(instant.astimezone(self.tz).date())

    def opd(self, code: str | None) -> str | None:
        return self.rt.opds.name_of(code)

    def desk(self, opd: str | None) -> str:
        """Who answers: an OPD's PPID Pelaksana, or the PPID Utama of the regency."""
        name = self.opd(opd)
        if name:
            return f"PPID Pelaksana {name}"
        return f"PPID Utama {self.regency}" if self.regency else "PPID Utama"

    def link(self, number: str) -> str | None:
        url = self.rt.settings.tracking_url
        return url.format(number=number) if url else None

    def common(self, number: str) -> dict[str, Any]:
        return {"tracking_url": self.link(number), "sender": self.desk(None),
                "regency": self.regency or "Pemerintah Daerah"}


def _receipt(w: _Words, request: Request, token: str | None) -> dict[str, Any]:
    return {
        "subject": f"Tanda terima permohonan informasi {request.number}",
        "number": request.number,
        "token": token,
        "channel": request.channel,
        "channel_label": domain.CHANNELS[request.channel],
        "submitted_at": w.when(request.submitted_at),
        "received_at": w.when(request.received_at),
        "day_zero_moved": request.received_at != request.submitted_at,
        "due_day": w.day(request.base_due_at),
        "notice_days": domain.NOTICE_DAYS,
        "extension_days": domain.EXTENSION_DAYS,
        "information": request.information,
        "desk": w.desk(request.opd) if request.opd else None,
    }


def _extension(w: _Words, request: Request) -> dict[str, Any]:
    return {
        "subject": f"Perpanjangan waktu jawaban permohonan {request.number}",
        "number": request.number,
        "desk": w.desk(request.opd),
        "extended_at": w.when(request.extended_at),
        "previous_due_day": w.day(request.base_due_at),
        "due_day": w.day(request.due_at),
        "extension_days": domain.EXTENSION_DAYS,
        "ground": domain.EXTENSION_GROUNDS.get(request.extension_ground or "", ""),
        "reason": request.extension_reason or "",
    }


def _rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def _notice(w: _Words, request: Request, notice: Notice) -> dict[str, Any]:
    outcome = notice.outcome
    releasing = outcome in domain.RELEASING_OUTCOMES
    return {
        "subject": f"Pemberitahuan tertulis atas permohonan {request.number}",
        "number": request.number,
        "desk": w.desk(notice.issuing_opd),
        "issued_at": w.day(notice.issued_at),
        "letter_number": notice.letter_number,
        "outcome": outcome,
        "outcome_label": domain.OUTCOMES[outcome],
        "releasing": releasing,
        "info_format": domain.OBTAIN_METHODS.get(notice.info_format or ""),
        "delivery_method": domain.DELIVERY_METHODS.get(notice.delivery_method or ""),
        "fee": _rupiah(notice.fee_amount) if notice.fee_amount else None,
        "fee_details": notice.fee_details,
        "provision_date": format_date_id(notice.provision_date) if notice.provision_date else None,
        "redacted_parts": notice.redacted_parts,
        "exemption_clause": notice.exemption_clause,
        "exemption_label": domain.EXEMPTION_CLAUSES.get(notice.exemption_clause or ""),
        "exemption_basis": notice.exemption_basis,
        "consequence_test": notice.consequence_test,
        "holder_body": notice.holder_body,
        "documented_by": format_date_id(notice.documented_by) if notice.documented_by else None,
        "remarks": notice.remarks,
        "attachments": [a.filename for a in notice.attachments],
        "objection_days": domain.OBJECTION_WINDOW_DAYS,
        "objection_deadline": w.day(w.rt.calendar.due_at(notice.issued_at, domain.OBJECTION_WINDOW_DAYS)),
    }


def _decision(w: _Words, objection: Objection) -> dict[str, Any]:
    request = objection.request
    decision = objection.decision or ""
    return {
        "subject": f"Tanggapan Atasan PPID atas keberatan {objection.number}",
        "number": request.number,
        "objection_number": objection.number,
        "filed_at": w.day(objection.filed_at),
        "atasan": f"Atasan PPID {w.opd(objection.opd)}" if w.opd(objection.opd) else "Atasan PPID",
        "decided_at": w.when(objection.decided_at) if objection.decided_at else "",
        "decision": decision,
        "decision_label": domain.DECISIONS.get(decision, ""),
        "reasons": objection.decision_reasons or "",
        "late": bool(objection.decision_late),
        "dispute_days": domain.DISPUTE_WINDOW_DAYS,
        "dispute_deadline": (
            w.day(objection.dispute_window_due_at) if objection.dispute_window_due_at else None
        ),
    }
