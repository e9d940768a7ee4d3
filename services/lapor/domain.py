"""The rules of a LAPOR! report, free of I/O.

Perpres 76/2013, Permenpan RB 62/2018 and UU 25/2009 set the life of a report
(DOMAIN.md, LAPOR!); every limit is a setting because local SOPs vary:

- the regency's LAPOR! admin verifies a report within 3 working days (or asks the reporter
  for detail, which holds the clock until they answer; postpones it; archives it as spam, a
  duplicate or no public-service matter; or marks it as another body's authority), and
  dispositions it to one lead OPD, with optional supporting OPDs, within the same days;
- the lead OPD's liaison gives a first substantive response and plan within 5 working days,
  or returns a wrongly dispositioned report; the admin dispositions it again;
- the report is completed within 60 calendar days of the complete report (UU 25/2009);
- the reporter rejects the answer (back to the OPD), or accepts and rates it; with no reply
  within 10 working days after completion it closes.

Functions here take and change plain attributes of the report (the ORM row in the service,
a simple namespace in unit tests) and raise the chassis' `DomainError`s with messages in
Bahasa Indonesia. Deadlines are arithmetic over given instants and the working calendar.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from services.common.errors import Conflict, Invalid
from services.common.scope import OpdScope, ScopeRule

# -- roles ---------------------------------------------------------------------------------

ADMIN, LAPOR_ADMIN, LIAISON = "admin", "lapor_admin", "lapor_liaison"
STAFF_ROLES = (LAPOR_ADMIN, LIAISON, ADMIN)
# Regency-level roles: every report, the reporter's identity included.
REGENCY_ROLES = (LAPOR_ADMIN, ADMIN)
SCOPE_RULE = ScopeRule.of(everywhere={LAPOR_ADMIN, ADMIN}, regency=(), own_opd={LIAISON})


def scope_of(staff: Any) -> OpdScope:
    """The OPDs whose reports `staff` reaches: every one for admins, its own for a liaison."""
    return SCOPE_RULE.scope_of(staff)


def is_regency_staff(staff: Any) -> bool:
    return staff is not None and staff.has_role(*REGENCY_ROLES)


# -- vocabularies (stored codes in English, labels for citizens in Indonesian) -------------

SUBMITTED = "submitted"
AWAITING_CLARIFICATION = "awaiting_clarification"
VERIFIED = "verified"
POSTPONED = "postponed"
ARCHIVED = "archived"
NOT_AUTHORITY = "not_authority"
DISPATCHED = "dispatched"
RETURNED = "returned"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CLOSED = "closed"

STATUS_LABELS = {
    SUBMITTED: "Menunggu verifikasi",
    AWAITING_CLARIFICATION: "Menunggu penjelasan pelapor",
    VERIFIED: "Terverifikasi, menunggu disposisi",
    POSTPONED: "Ditunda",
    ARCHIVED: "Diarsipkan",
    NOT_AUTHORITY: "Bukan wewenang Pemerintah Kabupaten",
    DISPATCHED: "Didisposisikan ke OPD",
    RETURNED: "Dikembalikan OPD, menunggu disposisi ulang",
    IN_PROGRESS: "Sedang ditindaklanjuti OPD",
    COMPLETED: "Selesai ditindaklanjuti, menunggu tanggapan pelapor",
    CLOSED: "Ditutup",
}
STATUSES = tuple(STATUS_LABELS)
FINAL_STATUSES = (ARCHIVED, NOT_AUTHORITY, CLOSED)
OPEN_STATUSES = tuple(s for s in STATUSES if s not in FINAL_STATUSES)

# The states SP4N-LAPOR!'s national dashboard shows.
UNVERIFIED_LABEL = "Belum diverifikasi"
NATIONAL_LABELS = {
    SUBMITTED: UNVERIFIED_LABEL,
    AWAITING_CLARIFICATION: UNVERIFIED_LABEL,
    VERIFIED: UNVERIFIED_LABEL,
    RETURNED: UNVERIFIED_LABEL,
    DISPATCHED: "Terdisposisi, belum ditindaklanjuti",
    IN_PROGRESS: "Terdisposisi, dalam proses",
    COMPLETED: "Terdisposisi, selesai",
    CLOSED: "Terdisposisi, selesai",
    POSTPONED: "Ditunda",
    ARCHIVED: "Diarsipkan",
    NOT_AUTHORITY: "Diarsipkan",
}

CLASSIFICATIONS_LABELS = {
    "pengaduan": "Pengaduan",
    "aspirasi": "Aspirasi",
    "permintaan_informasi": "Permintaan informasi",
}
CLASSIFICATIONS = tuple(CLASSIFICATIONS_LABELS)

PUBLIC, ANONIM, RAHASIA = "public", "anonim", "rahasia"
PRIVACY_LABELS = {
    PUBLIC: "Publik: laporan dan nama pelapor dapat dilihat",
    ANONIM: "Anonim: laporan publik, nama pelapor disembunyikan",
    RAHASIA: "Rahasia: laporan tidak dipublikasikan, identitas hanya untuk admin LAPOR! kabupaten",
}
PRIVACIES = tuple(PRIVACY_LABELS)
# Reports the public pages and Open311 may show.
PUBLISHED_PRIVACIES = (PUBLIC, ANONIM)

CHANNELS = ("web", "open311", "national", "staff")

SPAM, DUPLICATE, NOT_PUBLIC_SERVICE = "spam", "duplicate", "not_public_service"
ARCHIVE_REASON_LABELS = {
    SPAM: "Spam atau tidak bermakna",
    DUPLICATE: "Duplikat laporan lain",
    NOT_PUBLIC_SERVICE: "Bukan masalah pelayanan publik",
}
ARCHIVE_REASONS = tuple(ARCHIVE_REASON_LABELS)

ACCEPTED, NO_REPLY = "accepted", "no_reply"
CLOSED_REASON_LABELS = {
    ACCEPTED: "Diterima pelapor",
    NO_REPLY: "Tidak ada tanggapan pelapor dalam batas waktu",
}
CLOSED_REASONS = tuple(CLOSED_REASON_LABELS)

LEAD, SUPPORTING = "lead", "supporting"
DISPOSITION_ROLES = (LEAD, SUPPORTING)

MESSAGE_KINDS = (
    "clarification_request",
    "clarification",
    "follow_up",
    "progress",
    "completion",
    "reporter_reply",
    "rejection",
    "note",
)
# Messages a citizen wrote: never public, never in an event (they may hold personal data).
CITIZEN_MESSAGE_KINDS = ("clarification", "reporter_reply", "rejection")
AUTHOR_KINDS = ("citizen", "admin", "opd", "system")
UPLOADERS = ("citizen", "opd", "admin")

# -- transitions ---------------------------------------------------------------------------

# action -> (statuses it may start from, the status it leaves)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "verify": ((SUBMITTED, POSTPONED), VERIFIED),
    "request_clarification": ((SUBMITTED,), AWAITING_CLARIFICATION),
    "clarify": ((AWAITING_CLARIFICATION,), SUBMITTED),
    "postpone": ((SUBMITTED,), POSTPONED),
    "archive": ((SUBMITTED, POSTPONED), ARCHIVED),
    "reject_authority": ((SUBMITTED, POSTPONED), NOT_AUTHORITY),
    "dispatch": ((VERIFIED,), DISPATCHED),
    "return": ((DISPATCHED,), RETURNED),
    "redispatch": ((RETURNED,), DISPATCHED),
    "follow_up": ((DISPATCHED,), IN_PROGRESS),
    "progress": ((IN_PROGRESS,), IN_PROGRESS),
    "complete": ((IN_PROGRESS,), COMPLETED),
    "reopen": ((COMPLETED,), IN_PROGRESS),
    "rate": ((COMPLETED,), CLOSED),
    "close": ((COMPLETED,), CLOSED),
}

_REFUSALS = {
    "verify": "Hanya laporan yang menunggu verifikasi atau ditunda yang dapat diverifikasi.",
    "request_clarification": "Penjelasan hanya dapat diminta dari laporan yang menunggu verifikasi.",
    "clarify": "Laporan ini tidak sedang menunggu penjelasan dari pelapor.",
    "postpone": "Hanya laporan yang menunggu verifikasi yang dapat ditunda.",
    "archive": "Hanya laporan yang menunggu verifikasi atau ditunda yang dapat diarsipkan.",
    "reject_authority": (
        "Hanya laporan yang menunggu verifikasi atau ditunda yang dapat dinyatakan bukan wewenang."
    ),
    "dispatch": "Hanya laporan terverifikasi yang dapat didisposisikan.",
    "return": "Hanya laporan yang baru didisposisikan dan belum ditindaklanjuti yang dapat dikembalikan.",
    "redispatch": "Hanya laporan yang dikembalikan OPD yang dapat didisposisikan ulang.",
    "follow_up": "Tindak lanjut pertama hanya dapat diberikan atas laporan yang baru didisposisikan.",
    "progress": "Perkembangan hanya dapat dicatat pada laporan yang sedang ditindaklanjuti.",
    "complete": "Hanya laporan yang sedang ditindaklanjuti yang dapat dinyatakan selesai.",
    "reopen": "Jawaban hanya dapat ditolak setelah laporan dinyatakan selesai.",
    "rate": "Penilaian hanya dapat diberikan sekali, setelah laporan dinyatakan selesai.",
    "close": "Hanya laporan yang telah selesai ditindaklanjuti yang dapat ditutup.",
}


def can(action: str, status: str) -> bool:
    """Whether `action` may be taken on a report in `status`."""
    return status in TRANSITIONS[action][0]


def require(action: str, report: Any) -> str:
    """The status `action` leads to from the report's, or a 409 saying why not."""
    sources, target = TRANSITIONS[action]
    if report.status not in sources:
        raise Conflict(
            f"{_REFUSALS[action]} Status laporan saat ini: {STATUS_LABELS.get(report.status, report.status)}."
        )
    return target


def allowed_actions(status: str) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def national_label(status: str) -> str:
    return NATIONAL_LABELS[status]


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


# -- deadlines -----------------------------------------------------------------------------


class Calendar(Protocol):
    tz: Any

    def due_at(self, received_at: datetime, n_working_days: int) -> datetime: ...

    def receipt_instant(self, received_at: datetime) -> datetime: ...

    def working_days_between(self, start: datetime, end: datetime) -> int: ...

    def explained_due(
        self, received_at: datetime, n_working_days: int
    ) -> tuple[datetime, datetime, dict[str, Any]]: ...


_END_OF_DAY = time(23, 59, 59)


def working_due(cal: Calendar, start: datetime, days: int) -> datetime:
    """The end of working day `days` after `start` (day 0 after the office-hours rule)."""
    return cal.due_at(start, days)


def explained_working_due(cal: Calendar, start: datetime, days: int) -> tuple[datetime, dict[str, Any]]:
    """`working_due` and the explanation a reporter is shown, from one count of the
    working days."""
    _day_zero, due_at, explanation = cal.explained_due(start, days)
    return due_at, explanation


def calendar_due(cal: Calendar, start: datetime, days: int) -> datetime:
    """The end (23:59:59 local) of the calendar day `days` after `start`'s local date: the
    completion limit counts every day, weekends and holidays included (UU 25/2009)."""
    local_day = start.astimezone(cal.tz).date() + timedelta(days=days)
    return datetime.combine(local_day, _END_OF_DAY, tzinfo=cal.tz)


def remaining_working_days(cal: Calendar, paused_at: datetime, due_at: datetime) -> int:
    """Whole working days the verification clock still had when it was held (0 when the
    pause came on or after its due day).

    Counted from the day the pause counts as made on, by the same office-hours rule as the
    answer that resumes it (`working_due`): a question asked on an evening or a weekend and
    answered before the office opens leaves the due date where it was."""
    return max(cal.working_days_between(cal.receipt_instant(paused_at), due_at), 0)


# -- the transitions -----------------------------------------------------------------------


def submit(report: Any, cal: Calendar, now: datetime, verification_days: int) -> None:
    """A new report waits for verification; its clock starts now."""
    report.status = SUBMITTED
    report.submitted_at = now
    report.verification_due_at = working_due(cal, now, verification_days)


def request_clarification(report: Any, cal: Calendar, now: datetime) -> None:
    """Ask the reporter for detail: the verification clock is held with what it had left."""
    report.status = require("request_clarification", report)
    report.verification_remaining_days = remaining_working_days(cal, now, report.verification_due_at)
    report.verification_paused_at = now


def clarify(report: Any, cal: Calendar, now: datetime) -> datetime:
    """The reporter answered: the clock runs again with the working days it had left."""
    report.status = require("clarify", report)
    remaining = report.verification_remaining_days or 0
    report.verification_due_at = working_due(cal, now, remaining)
    report.verification_paused_at = None
    report.verification_remaining_days = None
    return report.verification_due_at


def verify(report: Any, now: datetime) -> None:
    report.status = require("verify", report)
    report.verified_at = now
    report.postpone_reason = None


def postpone(report: Any, reason: str) -> None:
    report.status = require("postpone", report)
    report.postpone_reason = reason


def archive(report: Any, reason: str, note: str | None, now: datetime, duplicate_of: Any = None) -> None:
    """Archive for good: spam, a duplicate (naming the original, an open or earlier report
    that is not itself), or no public-service matter."""
    if reason not in ARCHIVE_REASONS:
        raise Invalid("Alasan pengarsipan tidak dikenal.", {"reason": ["Pilihan tidak dikenal."]})
    if reason == DUPLICATE:
        if duplicate_of is None:
            raise Invalid(
                "Sebutkan nomor laporan aslinya.", {"duplicate_of": ["Wajib diisi untuk laporan duplikat."]}
            )
        if duplicate_of.id == report.id or getattr(duplicate_of, "duplicate_of_id", None) == report.id:
            raise Invalid(
                "Laporan tidak dapat menjadi duplikat dirinya sendiri.",
                {"duplicate_of": ["Sebutkan laporan lain."]},
            )
        if duplicate_of.status == ARCHIVED and duplicate_of.archive_reason == DUPLICATE:
            raise Invalid(
                "Laporan yang disebut juga duplikat; sebutkan laporan aslinya.",
                {"duplicate_of": ["Sebutkan laporan asli, bukan duplikat."]},
            )
    elif duplicate_of is not None:
        raise Invalid(
            "Laporan asli hanya disebut untuk laporan duplikat.",
            {"duplicate_of": ["Hanya untuk alasan duplikat."]},
        )
    report.status = require("archive", report)
    report.archive_reason = reason
    report.archive_note = note
    report.duplicate_of_id = duplicate_of.id if duplicate_of is not None else None
    report.closed_at = now


def reject_authority(report: Any, body: str, now: datetime) -> None:
    """Not the regency's matter: the body whose authority it is is named for the reporter."""
    report.status = require("reject_authority", report)
    report.authority_body = body
    report.closed_at = now


def dispatch(report: Any, lead_opd: str, cal: Calendar, now: datetime, follow_up_days: int,
             completion_days: int) -> None:
    """To the lead OPD: its follow-up clock starts, and the completion limit counts from
    the verification (the complete report), in calendar days."""
    report.status = require("dispatch", report)
    report.lead_opd = lead_opd
    report.dispatched_at = now
    report.follow_up_due_at = working_due(cal, now, follow_up_days)
    report.completion_due_at = calendar_due(cal, report.verified_at or now, completion_days)


def return_report(report: Any, now: datetime, cal: Calendar, verification_days: int) -> str:
    """The lead OPD says it is not theirs; the admin must disposition it again, on the
    verification clock restarted. Answers the OPD it left."""
    report.status = require("return", report)
    left = report.lead_opd
    report.lead_opd = None
    report.follow_up_due_at = None
    report.verification_due_at = working_due(cal, now, verification_days)
    return left


def redispatch(report: Any, lead_opd: str, cal: Calendar, now: datetime, follow_up_days: int) -> None:
    """To another OPD, with a new follow-up clock; the completion limit stays as it was."""
    report.status = require("redispatch", report)
    report.lead_opd = lead_opd
    report.dispatched_at = now
    report.follow_up_due_at = working_due(cal, now, follow_up_days)


def follow_up(report: Any, now: datetime) -> None:
    report.status = require("follow_up", report)
    report.first_response_at = now
    report.follow_up_due_at = None


def owes_follow_up(report: Any) -> bool:
    """Whether the lead OPD still owes a substantive response: a fresh disposition, or a
    report the reporter reopened, whose follow-up clock runs again until it is answered."""
    if report.status == DISPATCHED:
        return True
    return report.status == IN_PROGRESS and report.follow_up_due_at is not None


def progress(report: Any) -> None:
    require("progress", report)


def complete(report: Any, cal: Calendar, now: datetime, reply_days: int) -> None:
    """Done: the reporter's window to reply opens."""
    report.status = require("complete", report)
    report.completed_at = now
    report.reply_due_at = working_due(cal, now, reply_days)


def reopen(report: Any, cal: Calendar, now: datetime, follow_up_days: int) -> None:
    """The reporter rejects the answer: back to the lead OPD, which must follow up again."""
    report.status = require("reopen", report)
    report.completed_at = None
    report.reply_due_at = None
    report.follow_up_due_at = working_due(cal, now, follow_up_days)


def rate(report: Any, rating: int, comment: str | None, now: datetime) -> None:
    """The reporter accepts the answer and rates it (1-5); the report closes."""
    if report.rating is not None:
        raise Conflict("Laporan ini sudah dinilai.")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise Invalid("Penilaian harus 1 sampai 5.", {"rating": ["Harus 1 sampai 5."]})
    report.status = require("rate", report)
    report.rating = rating
    report.rating_comment = comment
    report.rated_at = now
    report.closed_at = now
    report.closed_reason = ACCEPTED
    report.reply_due_at = None


def close_unanswered(report: Any, now: datetime) -> None:
    """The reporter's window passed without a reply."""
    target = require("close", report)
    if report.reply_due_at is not None and now <= report.reply_due_at:
        raise Conflict("Batas waktu tanggapan pelapor belum berakhir.")
    report.status = target
    report.closed_at = now
    report.closed_reason = NO_REPLY
    report.reply_due_at = None


# -- the reporter's contact ------------------------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^(?:\+62|62|0)(\d{7,13})$")


def normalise_phone(raw: str) -> str | None:
    """An Indonesian phone number as `0…` digits, or None when it is not one."""
    match = _PHONE.match(_PHONE_JUNK.sub("", raw))
    return f"0{match.group(1)}" if match else None
