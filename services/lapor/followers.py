"""Followers: a citizen who has the same complaint follows a public report instead of filing
a duplicate. They give an e-mail address (personal data: kept here, never shown, never in
an event) and the address must confirm before any mail of the report reaches it (double
opt-in), so that nobody signs up someone else's address.

A request to follow always gets the same answer, whether the address already follows, waits
for its confirmation or is new: the answer never tells who follows what. A new or still
unconfirmed address is mailed a token (only its hash is stored; asking again replaces it,
never adding a second row); a confirmed address is left as it is. The mailed token confirms
the following and later ends it: one secret, held only by whoever reads that mailbox.

A report that is not public (rahasia) cannot be followed, and does not show that it exists:
the answer is the 404 of an unknown number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.citizen import hash_token, issue_token, normalise_email
from services.common.errors import Conflict, Invalid, NotFound
from services.common.runtime import Runtime
from services.lapor import citizen_mail, domain, records
from services.lapor.models import Follower, Report

MAX_EMAIL = 254
CLOSED = "Laporan ini sudah selesai atau diarsipkan dan tidak dapat diikuti lagi."
REQUESTED = (
    "Permintaan mengikuti laporan {number} diterima. Bila alamat surel tersebut dapat mengikuti "
    "laporan ini, token konfirmasi telah dikirim ke alamat itu; kabar perkembangan baru dikirim "
    "setelah konfirmasi."
)
UNKNOWN_CONFIRMATION = (
    "Token konfirmasi tidak sesuai untuk laporan ini atau sudah digunakan."  # noqa: S105 - a message, not a secret
)
CONFIRMED = (
    "Anda kini mengikuti laporan {number}. Token konfirmasi yang sama dipakai untuk berhenti "
    "mengikuti; simpan surel konfirmasi itu."
)
UNKNOWN_TOKEN = "Token berhenti mengikuti tidak sesuai untuk laporan ini."  # noqa: S105 - a message, not a secret
UNFOLLOWED = "Anda tidak lagi mengikuti laporan {number}."


def _published(session, number: str) -> Report:
    report = records.load_report(session, number)
    if report.privacy not in domain.PUBLISHED_PRIVACIES:
        raise NotFound(records.NOT_FOUND)
    return report


def follow(rt: Runtime, number: str, email: str, *, now: datetime) -> dict[str, Any]:
    """Ask to follow an open public report: the address is mailed a confirmation token
    unless it already follows. The answer is the same either way."""
    address = normalise_email(email)
    if len(address) > MAX_EMAIL:
        # Case folding can lengthen an address the form accepted (ß becomes ss).
        raise Invalid("Alamat surel tidak valid.", {"email": [f"Paling banyak {MAX_EMAIL} karakter."]})
    with rt.uow() as uow:
        session = uow.session
        report = _published(session, number)
        if not domain.is_open(report.status):
            raise Conflict(CLOSED)
        answer = {"number": report.number, "message": REQUESTED.format(number=report.number)}
        known = session.scalars(
            select(Follower).where(Follower.report_id == report.id, Follower.email == address)
        ).one_or_none()
        if known is not None and known.confirmed_at is not None:
            return answer
        secret, token_hash = issue_token()
        if known is None:
            session.add(Follower(report_id=report.id, email=address, token_hash=token_hash, created_at=now))
        else:
            known.token_hash = token_hash
        citizen_mail.queue_follow_confirmation(rt, session, report, address, secret, at=now)
        try:
            uow.commit()
        except IntegrityError:
            # The same address in a request that won the race: its mail carries the token.
            pass
        return answer


def confirm(rt: Runtime, number: str, token: str, *, now: datetime) -> dict[str, Any]:
    """Confirm the following with the mailed token; a used or unknown token changes nothing."""
    with rt.uow() as uow:
        session = uow.session
        report = _published(session, number)
        # A duplicate's followers are copied to its original with their token: both confirm.
        reports = [report.id] if report.duplicate_of_id is None else [report.id, report.duplicate_of_id]
        pending = session.scalars(
            select(Follower).where(
                Follower.report_id.in_(reports),
                Follower.token_hash == hash_token(token),
                Follower.confirmed_at.is_(None),
            )
        ).all()
        if not pending:
            raise NotFound(UNKNOWN_CONFIRMATION)
        for row in pending:
            row.confirmed_at = now
        moved = report.duplicate_of_id in {row.report_id for row in pending}
        # Mails come from the original once the duplicate is linked: name the one followed.
        followed = session.get(Report, report.duplicate_of_id).number if moved else report.number
        uow.commit()
        return {"number": followed, "message": CONFIRMED.format(number=followed)}


def unfollow(rt: Runtime, number: str, token: str) -> dict[str, Any]:
    """Stop following (or drop an unconfirmed request), with the mailed token."""
    with rt.uow() as uow:
        session = uow.session
        report = _published(session, number)
        # The token is 256 random bits: looking its hash up reveals nothing a guess could use.
        match = session.scalars(
            select(Follower).where(Follower.report_id == report.id, Follower.token_hash == hash_token(token))
        ).one_or_none()
        if match is None:
            raise NotFound(UNKNOWN_TOKEN)
        session.delete(match)
        uow.commit()
        return {"message": UNFOLLOWED.format(number=report.number)}
