"""Followers: a citizen who has the same complaint follows a public report instead of filing
a duplicate. They give an e-mail address (personal data: kept here, never shown, never in
an event) and receive a token that ends the following; only its hash is stored.

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
from services.lapor import domain, records
from services.lapor.models import Follower, Report

MAX_EMAIL = 254
ALREADY_FOLLOWING = "Alamat surel ini sudah mengikuti laporan ini."
CLOSED = "Laporan ini sudah selesai atau diarsipkan dan tidak dapat diikuti lagi."
UNKNOWN_TOKEN = "Token berhenti mengikuti tidak sesuai untuk laporan ini."  # noqa: S105 - a message, not a secret
FOLLOWING = (
    "Anda mengikuti laporan {number}. Simpan token ini untuk berhenti mengikuti; token hanya "
    "ditampilkan sekali."
)
UNFOLLOWED = "Anda tidak lagi mengikuti laporan {number}."


def _published(session, number: str) -> Report:
    report = records.load_report(session, number)
    if report.privacy not in domain.PUBLISHED_PRIVACIES:
        raise NotFound(records.NOT_FOUND)
    return report


def follow(rt: Runtime, number: str, email: str, *, now: datetime) -> dict[str, Any]:
    """Follow an open public report; the answer carries the token to stop following."""
    address = normalise_email(email)
    if len(address) > MAX_EMAIL:
        # Case folding can lengthen an address the form accepted (ß becomes ss).
        raise Invalid("Alamat surel tidak valid.", {"email": [f"Paling banyak {MAX_EMAIL} karakter."]})
    with rt.uow() as uow:
        session = uow.session
        report = _published(session, number)
        if not domain.is_open(report.status):
            raise Conflict(CLOSED)
        known = session.scalar(
            select(Follower.id).where(Follower.report_id == report.id, Follower.email == address)
        )
        if known is not None:
            raise Conflict(ALREADY_FOLLOWING)
        secret, token_hash = issue_token()
        session.add(Follower(report_id=report.id, email=address, token_hash=token_hash, created_at=now))
        try:
            uow.commit()
        except IntegrityError as exc:  # the same address, in a request that won the race
            raise Conflict(ALREADY_FOLLOWING) from exc
        return {"number": report.number, "token": secret, "message": FOLLOWING.format(number=report.number)}


def unfollow(rt: Runtime, number: str, token: str) -> dict[str, Any]:
    """Stop following, with the token the following gave."""
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
