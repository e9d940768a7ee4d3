"""The dictionaries each audience sees of a report, built inside the unit of work that
loaded the rows.

- The reporter (`citizen`): their report, its conversation and its history, without the
  names of officers and without internal notes.
- Staff (`staff_summary`, `staff_detail`): the report and its hops between OPDs; the
  reporter's identity only where the caller passes it in (`identity`), which the use case
  decides and records (access rules, UU 27/2022).

Instants are shown in the regency's time zone, places and categories with their names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.calendar import WorkingCalendar
from services.common.opd import OpdRegistry
from services.lapor import domain
from services.lapor.attachments import neutral_filename
from services.lapor.categories import Categories
from services.lapor.models import Report
from services.lapor.wilayah import Wilayah

# History actions as the reporter reads them.
HISTORY_LABELS = {
    "submitted": "Laporan diterima",
    "clarification_requested": "Admin meminta penjelasan tambahan",
    "clarified": "Pelapor memberikan penjelasan",
    "verified": "Laporan diverifikasi",
    "postponed": "Laporan ditunda",
    "archived": "Laporan diarsipkan",
    "rejected_authority": "Laporan dinyatakan bukan wewenang Pemerintah Kabupaten",
    "dispatched": "Laporan didisposisikan ke OPD",
    "returned": "OPD mengembalikan laporan karena bukan wewenangnya",
    "redispatched": "Laporan didisposisikan ulang ke OPD lain",
    "followed_up": "OPD memberikan tindak lanjut",
    "progressed": "OPD mencatat perkembangan",
    "completed": "OPD menyatakan laporan selesai",
    "reopened": "Pelapor menolak jawaban; laporan dikembalikan ke OPD",
    "closed": "Laporan ditutup",
    "rated": "Pelapor memberikan penilaian",
    "replied": "Pelapor mengirim tanggapan",
    "linked_duplicate": "Laporan lain digabungkan sebagai duplikat laporan ini",
}
MESSAGE_LABELS = {
    "clarification_request": "Permintaan penjelasan",
    "clarification": "Penjelasan pelapor",
    "follow_up": "Tindak lanjut",
    "progress": "Perkembangan",
    "completion": "Penyelesaian",
    "reporter_reply": "Tanggapan pelapor",
    "rejection": "Penolakan jawaban oleh pelapor",
    "note": "Catatan internal",
}


class Presenter:
    def __init__(self, cal: WorkingCalendar, opds: OpdRegistry, categories: Categories, places: Wilayah):
        self.cal = cal
        self.opds = opds
        self.categories = categories
        self.places = places

    def local(self, instant: datetime | None) -> datetime | None:
        return instant.astimezone(self.cal.tz) if instant is not None else None

    def opd_name(self, code: str | None) -> str | None:
        return self.opds.name_of(code)

    # -- pieces ----------------------------------------------------------------------------

    def _core(self, report: Report) -> dict[str, Any]:
        return {
            "number": report.number,
            "national_id": report.national_id,
            "channel": report.channel,
            "classification": report.classification,
            "classification_label": domain.CLASSIFICATIONS_LABELS.get(report.classification),
            "category": report.category,
            "category_label": self.categories.label(report.category),
            "title": report.title,
            "privacy": report.privacy,
            "status": report.status,
            "status_label": domain.STATUS_LABELS[report.status],
            "national_status": domain.national_label(report.status),
            "kecamatan": report.kecamatan,
            "kecamatan_name": self.places.kecamatan_name(report.kecamatan),
            "desa": report.desa,
            "desa_name": self.places.desa_name(report.desa),
            "lead_opd": report.lead_opd,
            "lead_opd_name": self.opd_name(report.lead_opd),
            "submitted_at": self.local(report.submitted_at),
        }

    def _dates(self, report: Report) -> dict[str, Any]:
        return {
            "verification_due_at": self.local(report.verification_due_at),
            "verification_paused_at": self.local(report.verification_paused_at),
            "verified_at": self.local(report.verified_at),
            "dispatched_at": self.local(report.dispatched_at),
            "follow_up_due_at": self.local(report.follow_up_due_at),
            "first_response_at": self.local(report.first_response_at),
            "completion_due_at": self.local(report.completion_due_at),
            "completed_at": self.local(report.completed_at),
            "reply_due_at": self.local(report.reply_due_at),
            "closed_at": self.local(report.closed_at),
        }

    def _outcome(self, report: Report) -> dict[str, Any]:
        return {
            "postpone_reason": report.postpone_reason,
            "archive_reason": report.archive_reason,
            "archive_reason_label": domain.ARCHIVE_REASON_LABELS.get(report.archive_reason or ""),
            "archive_note": report.archive_note,
            "authority_body": report.authority_body,
            "closed_reason": report.closed_reason,
            "closed_reason_label": domain.CLOSED_REASON_LABELS.get(report.closed_reason or ""),
            "rating": report.rating,
            "rating_comment": report.rating_comment,
            "rated_at": self.local(report.rated_at),
        }

    def _body(self, report: Report) -> dict[str, Any]:
        return {
            "description": report.description,
            "incident_date": report.incident_date,
            "latitude": report.latitude,
            "longitude": report.longitude,
            "address": report.address,
        }

    def _attachments(self, report: Report, hidden_messages: set[int] = frozenset(), *,
                     citizen: bool = False, neutral_names: bool = False) -> list[dict[str, Any]]:
        # The reporter does not see staff files no message carries yet; a viewer who may not
        # know an anonim/rahasia reporter sees their files under neutral names.
        return [
            {
                "id": a.id,
                "filename": neutral_filename(a) if neutral_names and a.uploaded_by == "citizen" else a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "message_id": a.message_id,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": self.local(a.uploaded_at),
            }
            for a in report.attachments
            if a.message_id not in hidden_messages
            and not (citizen and a.message_id is None and a.uploaded_by != "citizen")
        ]

    def _message(self, message, *, staff: bool) -> dict[str, Any]:
        view = {
            "id": message.id,
            "kind": message.kind,
            "kind_label": MESSAGE_LABELS[message.kind],
            "author_kind": message.author_kind,
            "author_opd": message.author_opd,
            "author_opd_name": self.opd_name(message.author_opd),
            "body": message.body,
            "at": self.local(message.at),
            "public": message.public,
        }
        if staff:
            view["author_sub"] = message.author_sub
        return view

    def _history(self, entry, *, staff: bool) -> dict[str, Any]:
        view = {
            "at": self.local(entry.at),
            "action": entry.action,
            "label": HISTORY_LABELS.get(entry.action, entry.action),
            "actor_kind": entry.actor_kind,
            "from_opd": entry.from_opd,
            "to_opd": entry.to_opd,
        }
        if staff:
            view.update(actor_sub=entry.actor_sub, actor_opd=entry.actor_opd, note=entry.note)
        return view

    def _dispositions(self, report: Report) -> list[dict[str, Any]]:
        return [
            {
                "opd": d.opd,
                "opd_name": self.opd_name(d.opd),
                "role": d.role,
                "active": d.active,
                "dispatched_at": self.local(d.dispatched_at),
                "dispatched_by": d.dispatched_by,
                "returned_at": self.local(d.returned_at),
                "return_reason": d.return_reason,
            }
            for d in report.dispositions
        ]

    # -- audiences -------------------------------------------------------------------------

    def citizen(self, report: Report, duplicate_of: str | None = None) -> dict[str, Any]:
        """The reporter's view, opened with the access token; `duplicate_of` is the number
        of the original when the report was archived as its duplicate."""
        return {
            **self._core(report),
            **self._body(report),
            **self._dates(report),
            **self._outcome(report),
            "duplicate_of": duplicate_of,
            "supporting_opds": [
                {"opd": d.opd, "opd_name": self.opd_name(d.opd)}
                for d in report.dispositions if d.active and d.role == domain.SUPPORTING
            ],
            "messages": [self._message(m, staff=False) for m in report.messages if m.kind != "note"],
            "history": [self._history(h, staff=False) for h in report.history],
            "attachments": self._attachments(report, {m.id for m in report.messages if m.kind == "note"},
                                             citizen=True),
            "actions": [a for a in domain.allowed_actions(report.status) if a in CITIZEN_ACTIONS]
            + (["reply"] if domain.is_open(report.status) else []),
        }

    def staff_summary(self, report: Report) -> dict[str, Any]:
        """A row of a staff list: no text the reporter wrote beyond the title."""
        return {
            **self._core(report),
            "verification_due_at": self.local(report.verification_due_at),
            "follow_up_due_at": self.local(report.follow_up_due_at),
            "completion_due_at": self.local(report.completion_due_at),
        }

    def staff_detail(self, report: Report, identity: dict[str, Any] | None,
                     duplicate_of: str | None = None) -> dict[str, Any]:
        """The full record for staff; `identity` is the reporter's, when the caller may see it."""
        return {
            **self._core(report),
            **self._body(report),
            **self._dates(report),
            **self._outcome(report),
            "duplicate_of": duplicate_of,
            "verification_remaining_days": report.verification_remaining_days,
            "dispositions": self._dispositions(report),
            "messages": [self._message(m, staff=True) for m in report.messages],
            "history": [self._history(h, staff=True) for h in report.history],
            "attachments": self._attachments(
                report, neutral_names=identity is None and report.privacy != domain.PUBLIC),
            "actions": domain.allowed_actions(report.status),
            "reporter": identity,
        }


# What the reporter can do, by action name of domain.TRANSITIONS; a plain reply is open on
# every report that is not final.
CITIZEN_ACTIONS = ("clarify", "reopen", "rate")


def identity(reporter, privacy: str) -> dict[str, Any]:
    """The reporter as the regency's admins see them. An anonim reporter's name is hidden
    from everyone, admins included; their contact stays, so they can still be answered."""
    withheld = privacy == domain.ANONIM
    return {
        "name": None if withheld else reporter.name,
        "name_withheld": withheld,
        "phone": reporter.phone,
        "email": reporter.email,
    }
