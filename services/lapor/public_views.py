"""What the public sees of LAPOR!: the reports it may read and their public timeline.

A report is public when its reporter chose `public` or `anonim`; a `rahasia` report does
not exist for anyone without an account (404, as for an unknown number), and neither does
one archived as spam. Nothing here reads the `reporters` table: no name, phone, e-mail or
address of a reporter can reach a public page, a map or an Open311 client. The incident's
own location (point, address, kecamatan, desa) is public. A title or description that
would identify someone (a long run of digits such as a phone number or NIK, an e-mail
address) is withheld with a note, since the reporter may have typed their contact into it.

The timeline is the report's status changes (history entries, without their notes, which
staff write for staff) and the messages an OPD or the admin marked public; never a word
the reporter wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, select

from services.common.errors import NotFound
from services.common.listing import Page, fetch_page
from services.common.personal_data import identifying_problems
from services.common.runtime import Runtime
from services.lapor import categories as category_list
from services.lapor import domain, wilayah
from services.lapor.models import Attachment, HistoryEntry, Report, ReportMessage

NOT_FOUND = "Laporan tidak ditemukan."
WITHHELD = "Teks tidak ditampilkan karena memuat data yang dapat mengenali seseorang."

# A history action and what the public timeline says of it; other actions are not shown.
ACTION_LABELS = {
    "submitted": "Laporan diterima",
    "clarification_requested": "Admin meminta penjelasan tambahan dari pelapor",
    "clarified": "Pelapor memberi penjelasan tambahan",
    "verified": "Laporan diverifikasi",
    "postponed": "Laporan ditunda",
    "archived": "Laporan diarsipkan",
    "rejected_authority": "Laporan bukan wewenang Pemerintah Kabupaten",
    "dispatched": "Laporan didisposisikan ke OPD",
    "returned": "OPD mengembalikan laporan untuk didisposisikan ulang",
    "redispatched": "Laporan didisposisikan ulang ke OPD",
    "followed_up": "OPD memberikan tindak lanjut",
    "progressed": "OPD mencatat perkembangan",
    "completed": "OPD menyatakan laporan selesai ditindaklanjuti",
    "reopened": "Pelapor menolak jawaban; laporan dibuka kembali",
    "rated": "Pelapor menilai tindak lanjut",
    "closed": "Laporan ditutup",
}
# Actions after which GeoReport calls the request closed.
CLOSING_ACTIONS = frozenset({"archived", "rejected_authority", "completed", "rated", "closed"})
# Message kinds staff write; the reporter's own kinds never appear, even if marked public.
STAFF_MESSAGE_KINDS = tuple(k for k in domain.MESSAGE_KINDS if k not in domain.CITIZEN_MESSAGE_KINDS)
STAFF_AUTHORS = ("opd", "admin")


def published():
    """The condition of a report anyone may read."""
    return and_(
        Report.privacy.in_(domain.PUBLISHED_PRIVACIES),
        not_(and_(Report.status == domain.ARCHIVED, Report.archive_reason == domain.SPAM)),
    )


def local_day_bounds(start: date | None, end: date | None, zone) -> list:
    """Conditions on `submitted_at` for local dates `start`..`end`, both included."""
    conditions = []
    if start is not None:
        conditions.append(Report.submitted_at >= datetime.combine(start, time.min, tzinfo=zone))
    if end is not None:
        conditions.append(Report.submitted_at < datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    return conditions


def filtered(statement, filters: Mapping[str, Any], zone):
    """`statement` narrowed by the public filters: opd (lead), category, status,
    kecamatan, and the period of submission (`start`, `end`)."""
    conditions = [published()]
    if filters.get("opd"):
        conditions.append(Report.lead_opd == filters["opd"])
    if filters.get("category"):
        conditions.append(Report.category == filters["category"])
    if filters.get("status"):
        conditions.append(Report.status == filters["status"])
    if filters.get("kecamatan"):
        conditions.append(Report.kecamatan == filters["kecamatan"])
    conditions += local_day_bounds(filters.get("start"), filters.get("end"), zone)
    return statement.where(*conditions)


class Labels:
    """Names for the codes a public view shows: categories, places, OPDs."""

    def __init__(self, rt: Runtime):
        self.opds = rt.opds
        self.categories = category_list.load(rt.settings.categories_file)
        self.places = wilayah.load(rt.settings.wilayah_file)

    def opd_name(self, code: str | None) -> str | None:
        return None if code is None else self.opds.name_of(code) or code


def _public_text(text: str | None) -> str | None:
    if text is None:
        return None
    return WITHHELD if identifying_problems(text) else text


def present(report: Report, labels: Labels) -> dict[str, Any]:
    """The public view of a report: the matter and its handling, nobody's identity."""
    return {
        "number": report.number,
        "classification": report.classification,
        "classification_label": domain.CLASSIFICATIONS_LABELS.get(report.classification),
        "category": report.category,
        "category_label": labels.categories.label(report.category),
        "title": _public_text(report.title),
        "description": _public_text(report.description),
        "incident_date": report.incident_date,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "address": _public_text(report.address),
        "kecamatan": report.kecamatan,
        "kecamatan_name": labels.places.kecamatan_name(report.kecamatan),
        "desa": report.desa,
        "desa_name": labels.places.desa_name(report.desa),
        "anonymous": report.privacy == domain.ANONIM,
        "status": report.status,
        "status_label": domain.STATUS_LABELS.get(report.status, report.status),
        "national_label": domain.NATIONAL_LABELS.get(report.status),
        "lead_opd": report.lead_opd,
        "lead_opd_name": labels.opd_name(report.lead_opd),
        "submitted_at": report.submitted_at,
        "verified_at": report.verified_at,
        "dispatched_at": report.dispatched_at,
        "completed_at": report.completed_at,
        "closed_at": report.closed_at,
        "completion_due_at": report.completion_due_at,
        "updated_at": report.updated_at,
    }


def _history_item(entry: HistoryEntry, labels: Labels) -> dict[str, Any]:
    opd = entry.to_opd or entry.from_opd or entry.actor_opd
    return {
        "id": f"h{entry.id}",
        "at": entry.at,
        "kind": "status",
        "action": entry.action,
        "text": ACTION_LABELS[entry.action],
        "opd": opd,
        "opd_name": labels.opd_name(opd),
    }


def _message_item(message: ReportMessage, labels: Labels) -> dict[str, Any]:
    return {
        "id": f"m{message.id}",
        "at": message.at,
        "kind": "response",
        "action": message.kind,
        "text": _public_text(message.body),
        "opd": message.author_opd,
        "opd_name": labels.opd_name(message.author_opd),
    }


def in_order(item: dict[str, Any]) -> tuple:
    """Oldest first. A step writes its status change and its message at one instant: the
    change comes first, so the newest item is the OPD's own words."""
    return item["at"], item["kind"] != "status", int(item["id"][1:])


def public_messages():
    return and_(ReportMessage.public.is_(True), ReportMessage.kind.in_(STAFF_MESSAGE_KINDS),
                ReportMessage.author_kind.in_(STAFF_AUTHORS))


def timeline(session, report_ids: list[int], labels: Labels) -> dict[int, list[dict[str, Any]]]:
    """The public timeline of each report, oldest first."""
    found: dict[int, list[dict[str, Any]]] = {report_id: [] for report_id in report_ids}
    if not report_ids:
        return found
    for entry in session.scalars(select(HistoryEntry).where(
            HistoryEntry.report_id.in_(report_ids), HistoryEntry.action.in_(tuple(ACTION_LABELS)))):
        found[entry.report_id].append(_history_item(entry, labels))
    for message in session.scalars(select(ReportMessage).where(
            ReportMessage.report_id.in_(report_ids), public_messages())):
        found[message.report_id].append(_message_item(message, labels))
    for items in found.values():
        items.sort(key=in_order)
    return found


def latest_public_files(session, report_ids: list[int]) -> dict[int, int]:
    """The newest file anyone may download of each report: one an OPD or the admin
    attached to a message they made public (the public attachment list's rule)."""
    if not report_ids:
        return {}
    rows = session.execute(
        select(Attachment.report_id, func.max(Attachment.id))
        .join(ReportMessage, Attachment.message_id == ReportMessage.id)
        .where(Attachment.report_id.in_(report_ids), ReportMessage.public.is_(True),
               ReportMessage.author_kind.in_(STAFF_AUTHORS), Attachment.uploaded_by != "citizen")
        .group_by(Attachment.report_id)
    ).all()
    return {report_id: attachment_id for report_id, attachment_id in rows}


def public_file_path(number: str, attachment_id: int) -> str:
    """Where the public downloads a report's public file (the attachments API)."""
    return f"/api/v1/public/reports/{number}/attachments/{attachment_id}"


# -- use cases ----------------------------------------------------------------------------


def list_reports(rt: Runtime, filters: Mapping[str, Any], page: Page) -> tuple[list[dict], int]:
    labels = Labels(rt)
    statement = filtered(select(Report), filters, rt.calendar.tz).order_by(Report.id.desc())
    with rt.uow() as uow:
        reports, total = fetch_page(uow.session, statement, page)
        return [present(report, labels) for report in reports], total


def get_report(rt: Runtime, number: str) -> dict[str, Any]:
    labels = Labels(rt)
    with rt.uow() as uow:
        report = uow.session.scalars(select(Report).where(Report.number == number, published())).one_or_none()
        if report is None:
            raise NotFound(NOT_FOUND)
        view = present(report, labels)
        view["timeline"] = timeline(uow.session, [report.id], labels)[report.id]
        return view


def map_reports(rt: Runtime, filters: Mapping[str, Any], limit: int) -> tuple[list[dict], int]:
    """Up to `limit` public reports with a point, newest first, and how many match."""
    labels = Labels(rt)
    statement = filtered(select(Report), filters, rt.calendar.tz).where(
        Report.latitude.is_not(None), Report.longitude.is_not(None)).order_by(Report.id.desc())
    with rt.uow() as uow:
        reports, total = fetch_page(uow.session, statement, Page(0, limit))
        return [present(report, labels) for report in reports], total


def status_after(action: str, current_open: bool) -> bool:
    """Whether a report is open after a timeline item (`current_open` for a message)."""
    if action in CLOSING_ACTIONS:
        return False
    if action in ACTION_LABELS:
        return True
    return current_open


def updates_between(rt: Runtime, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    """Public timeline items of public reports in [start, end], oldest first, at most
    `limit`, each with its report's number and whether the report was open after it (for a
    status change, what the change made it; for a message, as the report stands now)."""
    labels = Labels(rt)
    with rt.uow() as uow:
        session = uow.session
        history = session.execute(
            select(HistoryEntry, Report.number).join(Report, Report.id == HistoryEntry.report_id)
            .where(published(), HistoryEntry.action.in_(tuple(ACTION_LABELS)),
                   HistoryEntry.at >= start, HistoryEntry.at <= end)
            .order_by(HistoryEntry.at, HistoryEntry.id).limit(limit)
        ).all()
        messages = session.execute(
            select(ReportMessage, Report.number, Report.status).join(Report, Report.id == ReportMessage.report_id)
            .where(published(), public_messages(), ReportMessage.at >= start, ReportMessage.at <= end)
            .order_by(ReportMessage.at, ReportMessage.id).limit(limit)
        ).all()
        items = [{**_history_item(entry, labels), "number": number,
                  "open": status_after(entry.action, True)} for entry, number in history]
        items += [{**_message_item(message, labels), "number": number,
                   "open": status not in domain.FINAL_STATUSES and status != domain.COMPLETED}
                  for message, number, status in messages]
    items.sort(key=in_order)
    return items[:limit]


def find_numbers(rt: Runtime, numbers: list[str]) -> set[str]:
    """Which of `numbers` are public reports."""
    with rt.uow() as uow:
        return set(uow.session.scalars(select(Report.number).where(Report.number.in_(numbers), published())))


def open311_reports(rt: Runtime, *, numbers: list[str] | None = None, categories: list[str] | None = None,
                    start: datetime | None = None, end: datetime | None = None,
                    statuses: tuple[str, ...] | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Public report views with their timelines, newest first, for GeoReport's requests."""
    labels = Labels(rt)
    statement = select(Report).where(published())
    if numbers is not None:
        statement = statement.where(Report.number.in_(numbers))
    else:
        if categories:
            statement = statement.where(Report.category.in_(categories))
        if start is not None:
            statement = statement.where(Report.submitted_at >= start)
        if end is not None:
            statement = statement.where(Report.submitted_at <= end)
        if statuses is not None:
            statement = statement.where(Report.status.in_(statuses))
    statement = statement.order_by(Report.submitted_at.desc(), Report.id.desc()).limit(limit)
    with rt.uow() as uow:
        reports = list(uow.session.scalars(statement))
        ids = [r.id for r in reports]
        timelines = timeline(uow.session, ids, labels)
        files = latest_public_files(uow.session, ids)
        views = []
        for report in reports:
            view = present(report, labels)
            view["timeline"] = timelines[report.id]
            found = files.get(report.id)
            view["media_path"] = public_file_path(report.number, found) if found else None
            views.append(view)
        return views
