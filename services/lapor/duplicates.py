"""Duplicate suggestions for an admin verifying a report, and the merge of followers.

A report may repeat one already open: the same category, filed within
`LAPOR_DUPLICATE_WINDOW_DAYS`, and either near the same place (within `NEARBY_METRES`) or
written alike. Likeness is PostgreSQL's trigram similarity (`pg_trgm`) over title and
description where the extension is installed, else `difflib`'s ratio computed here (SQLite).
The two measures are not the same scale, so each has its own threshold. The admin decides;
nothing here archives anything.

Linking a duplicate (verification's archive with reason `duplicate`) calls `merge_followers`
so that whoever followed the duplicate, and its reporter if they gave an e-mail address,
hears about the original instead.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.lapor import domain
from services.lapor.models import Follower, Report, Reporter

NEARBY_METRES = 500.0
# pg_trgm's own default for its `%` operator.
TRIGRAM_THRESHOLD = 0.3
# difflib's ratio counts matching blocks, so unrelated Indonesian texts already share much
# ("jalan", "di", "desa"): its bar is higher.
DIFFLIB_THRESHOLD = 0.55
# Long descriptions add nothing to the likeness but cost quadratic time in difflib.
TEXT_CHARS = 1000
MAX_SUGGESTIONS = 10
EARTH_RADIUS_M = 6_371_008.8

NOT_FOUND = "Laporan tidak ditemukan."


@dataclass(frozen=True)
class Suggestion:
    report_id: int
    distance_m: float | None
    similarity: float | None
    score: float
    reasons: tuple[str, ...]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def report_text(title: str | None, description: str | None) -> str:
    return " ".join(f"{title or ''} {description or ''}".casefold().split())[:TEXT_CHARS]


def text_ratio(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < DIFFLIB_THRESHOLD or matcher.quick_ratio() < DIFFLIB_THRESHOLD:
        return 0.0
    return matcher.ratio()


def judge(distance_m: float | None, similarity: float | None, threshold: float) -> tuple[float, tuple[str, ...]]:
    """(score in 0..1, reasons in Indonesian); score 0 means no suggestion.

    Each signal scores 0.4..0.9 above its bar (nearer, more alike: higher); together they
    combine as independent evidence, 1 - (1 - a)(1 - b), so both signals outrank either
    one, however strong.
    """
    reasons: list[str] = []
    near = 0.0
    if distance_m is not None and distance_m <= NEARBY_METRES:
        near = 0.9 - 0.5 * distance_m / NEARBY_METRES
        reasons.append(f"Lokasi berdekatan (sekitar {round(distance_m)} m).")
    alike = 0.0
    if similarity is not None and similarity >= threshold:
        alike = 0.4 + 0.5 * (min(similarity, 1.0) - threshold) / (1.0 - threshold)
        reasons.append(f"Isi laporan mirip ({round(similarity * 100)}%).")
    if not reasons:
        return 0.0, ()
    return round(1.0 - (1.0 - near) * (1.0 - alike), 3), tuple(reasons)


def has_trigrams(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    return found is not None


def _candidates(session: Session, report: Report, now: datetime, window_days: int):
    since = now - timedelta(days=window_days)
    return (
        select(Report)
        .where(
            Report.id != report.id,
            Report.category == report.category,
            Report.status.in_(domain.OPEN_STATUSES),
            Report.submitted_at >= since,
        )
        .order_by(Report.id.desc())
    )


def suggestions_for(session: Session, report: Report, *, now: datetime, window_days: int,
                    limit: int = MAX_SUGGESTIONS) -> list[tuple[Report, Suggestion]]:
    """The open reports `report` may repeat, best first."""
    statement = _candidates(session, report, now, window_days)
    own_text = report_text(report.title, report.description)
    if has_trigrams(session):
        threshold = TRIGRAM_THRESHOLD
        similarity = func.similarity(
            func.left(func.lower(Report.title + " " + Report.description), TEXT_CHARS), own_text)
        rows = [(row, float(sim)) for row, sim in session.execute(statement.add_columns(similarity))]
    else:
        threshold = DIFFLIB_THRESHOLD
        rows = [(row, text_ratio(own_text, report_text(row.title, row.description)))
                for row in session.scalars(statement)]
    found: list[tuple[Report, Suggestion]] = []
    for row, sim in rows:
        distance = None
        if None not in (report.latitude, report.longitude, row.latitude, row.longitude):
            distance = haversine_m(report.latitude, report.longitude, row.latitude, row.longitude)
        score, reasons = judge(distance, sim, threshold)
        if score > 0:
            found.append((row, Suggestion(row.id, distance, sim, score, reasons)))
    found.sort(key=lambda pair: (-pair[1].score, -pair[0].id))
    return found[:limit]


def present(row: Report, suggestion: Suggestion) -> dict[str, Any]:
    return {
        "number": row.number,
        "title": row.title,
        "status": row.status,
        "category": row.category,
        "kecamatan": row.kecamatan,
        "submitted_at": row.submitted_at,
        "lead_opd": row.lead_opd,
        "score": suggestion.score,
        "distance_m": None if suggestion.distance_m is None else round(suggestion.distance_m, 1),
        "similarity": None if suggestion.similarity is None else round(suggestion.similarity, 3),
        "reasons": list(suggestion.reasons),
    }


def suggest_duplicates(rt, number: str) -> list[dict[str, Any]]:
    """The use case behind `GET /reports/{number}/duplicates` (regency admins only)."""
    with rt.uow() as uow:
        report = uow.session.scalars(select(Report).where(Report.number == number)).one_or_none()
        if report is None:
            raise NotFound(NOT_FOUND)
        pairs = suggestions_for(uow.session, report, now=rt.clock(),
                                window_days=rt.settings.duplicate_window_days)
        return [present(row, suggestion) for row, suggestion in pairs]


# -- linking a duplicate ----------------------------------------------------------------------


def _address_key(email: str) -> str:
    return email.strip().casefold()


def merge_followers(session: Session, duplicate: Report, original: Report) -> int:
    """Make the duplicate's followers, and its reporter if they gave an e-mail address,
    followers of `original`; addresses that already follow it (compared trimmed and
    case-folded) are not added twice. Returns how many were added.

    A moved follower keeps its token hash, the time it started following and whether its
    address is confirmed, so the link it was sent still works; the reporter's follow uses
    their report's token hash (the secret they already hold), dates from their submission
    and counts as confirmed (they filed the report themselves). An address still waiting
    for its confirmation on the original becomes confirmed, with the confirmed follow's
    token, when a confirmed follow of the same address arrives. Runs in the caller's unit
    of work (the archive of the duplicate).
    """
    following = {
        _address_key(row.email): row
        for row in session.scalars(select(Follower).where(Follower.report_id == original.id))
    }
    incoming: list[tuple[str, str, datetime, datetime | None]] = []
    reporter_email = session.scalars(
        select(Reporter.email).where(Reporter.report_id == duplicate.id)).one_or_none()
    if reporter_email:
        incoming.append((reporter_email.strip(), duplicate.access_token_hash, duplicate.submitted_at,
                         duplicate.submitted_at))
    incoming.extend(
        (row.email, row.token_hash, row.created_at, row.confirmed_at)
        for row in session.scalars(
            select(Follower).where(Follower.report_id == duplicate.id).order_by(Follower.id))
    )
    added = 0
    for email, token_hash, since, confirmed_at in incoming:
        known = following.get(_address_key(email))
        if known is not None:
            if known.confirmed_at is None and confirmed_at is not None:
                known.token_hash, known.confirmed_at = token_hash, confirmed_at
            continue
        row = Follower(report_id=original.id, email=email, token_hash=token_hash,
                       created_at=since, confirmed_at=confirmed_at)
        session.add(row)
        following[_address_key(email)] = row
        added += 1
    session.flush()
    return added
