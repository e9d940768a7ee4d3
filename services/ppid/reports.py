"""The PPID's registers, its annual report and its public transparency figures.

Two halves: queries that read the service's tables into plain facts, and pure functions
that count them. The counting is what an auditor checks, so it is free of I/O and tested
on its own.

- Registers (Perki 1/2021): the request register and the objection register with the
  columns an auditor expects. They hold the applicant's personal data, so only the
  officers who may see a request's applicant read them, and every read is recorded in the
  personal-data access log (UU 27/2022).
- Annual report (UU 14/2008 Pasal 12; due within three months of year end): the number of
  requests, the working days each took, how many were granted in full or in part, how many
  were rejected and why, and the objections and disputes with their outcomes; for the
  regency and for each OPD.
- Transparency: a public list of requests under a subject line an officer wrote (never the
  citizen's own words), and each OPD's on-time rate.
"""

from __future__ import annotations

import io
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.common import spreadsheet
from services.common.calendar import WorkingCalendar
from services.common.listing import count
from services.common.opd import OpdRegistry
from services.common.personal_data import identifying_problems
from services.common.scope import OpdScope
from services.ppid import domain
from services.ppid.dip_models import PublicSubject
from services.ppid.models import Applicant, Dispute, Notice, Objection, Request

UNASSIGNED_LABEL = "Belum ditugaskan (PPID Utama)"
# Working-day bands of the time taken: within the notice limit, within the extension, late.
DAY_BANDS = (("0-5", 0, 5), ("6-10", 6, 10), ("11-17", 11, 17), (">17", 18, None))
# A register export larger than this is refused with a request to narrow the period:
# one response must stay within a web worker's memory and time budget.
MAX_REGISTER_ROWS = 20_000

REQUEST_REGISTER_COLUMNS = (
    ("number", "Nomor Registrasi"),
    ("received_date", "Tanggal Permohonan"),
    ("received_time", "Waktu Diterima"),
    ("day_zero", "Hari ke-0 (Awal Penghitungan)"),
    ("name", "Nama Pemohon"),
    ("address", "Alamat"),
    ("phone", "Nomor Telepon"),
    ("email", "Surel"),
    ("occupation", "Pekerjaan"),
    ("information", "Rincian Informasi yang Diminta"),
    ("purpose", "Tujuan Penggunaan Informasi"),
    ("opd", "OPD"),
    ("held", "Status Informasi"),
    ("form", "Bentuk Informasi"),
    ("access", "Cara Memperoleh"),
    ("decision", "Keputusan"),
    ("rejection_reason", "Alasan Penolakan"),
    ("notice_date", "Tanggal Pemberitahuan Tertulis"),
    ("fee", "Biaya (Rp)"),
    ("days_taken", "Waktu Layanan (hari kerja)"),
)
OBJECTION_REGISTER_COLUMNS = (
    ("number", "Nomor Registrasi Keberatan"),
    ("filed_date", "Tanggal Keberatan"),
    ("applicant", "Nama Pemohon"),
    ("request_number", "Nomor Registrasi Permohonan"),
    ("information", "Informasi yang Diminta"),
    ("purpose", "Tujuan Penggunaan Informasi"),
    ("grounds", "Alasan Keberatan (Pasal 35)"),
    ("opd", "OPD"),
    ("response_due_date", "Batas Tanggapan"),
    ("decision", "Tanggapan Atasan PPID"),
    ("decision_date", "Tanggal Tanggapan"),
    ("reaction", "Tanggapan Pemohon"),
)

HELD_LABELS = {
    domain.GRANTED: "Dikuasai",
    domain.PARTIAL: "Dikuasai",
    domain.REJECTED: "Dikuasai",
    domain.NOT_DOCUMENTED: "Belum didokumentasikan",
    domain.NOT_HELD: "Tidak dikuasai",
}
FORM_LABELS = {"soft_copy": "Softcopy", "hard_copy": "Hardcopy", "inspect": "Tanpa salinan"}


# --- periods ---------------------------------------------------------------------


def local_bounds(cal: WorkingCalendar, first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in the regency's time zone."""
    return (
        datetime.combine(first, time(0), tzinfo=cal.tz),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=cal.tz),
    )


# --- facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFact:
    number: str
    opd: str | None
    received_date: date
    status: str
    outcome: str | None
    exemption_clause: str | None
    extended: bool
    late: bool
    days_taken: int | None  # working days to the notice; None until answered


@dataclass(frozen=True)
class ObjectionFact:
    number: str
    opd: str | None
    grounds: tuple[str, ...]
    status: str
    decision: str | None
    late: bool  # answered late, or not answered by its due time


@dataclass(frozen=True)
class DisputeFact:
    opd: str | None
    status: str
    outcome: str | None
    within_window: bool


def request_facts(session: Session, cal: WorkingCalendar, stmt_filter, now: datetime
                  ) -> list[RequestFact]:
    stmt = (
        select(
            Request.number, Request.opd, Request.status, Request.submitted_at,
            Request.received_at, Request.due_at, Request.answered_at, Request.withdrawn_at,
            Request.extended_at, Request.outcome, Request.late_before_reopen,
            Notice.exemption_clause,
        )
        .outerjoin(Notice, (Notice.request_id == Request.id) & Notice.superseded_at.is_(None))
        .order_by(Request.year, Request.sequence)
    )
    facts = []
    for row in session.execute(stmt_filter(stmt)):
        facts.append(
            RequestFact(
                number=row.number,
                opd=row.opd,
                received_date=row.received_at.astimezone(cal.tz).date(),
                status=row.status,
                outcome=row.outcome,
                exemption_clause=row.exemption_clause,
                extended=row.extended_at is not None,
                late=domain.is_late(row, now),
                days_taken=(
                    cal.days_taken(row.submitted_at, row.answered_at)
                    if row.answered_at is not None
                    else None
                ),
            )
        )
    return facts


def objection_facts(session: Session, stmt_filter, now: datetime) -> list[ObjectionFact]:
    stmt = select(
        Objection.number, Objection.opd, Objection.grounds, Objection.status,
        Objection.decision, Objection.decision_late, Objection.decided_at,
        Objection.response_due_at,
    ).order_by(Objection.year, Objection.sequence)
    return [
        ObjectionFact(
            number=row.number,
            opd=row.opd,
            grounds=tuple(g for g in row.grounds.split(",") if g),
            status=row.status,
            decision=row.decision,
            late=bool(row.decision_late) or domain.answer_lapsed(row, now),
        )
        for row in session.execute(stmt_filter(stmt))
    ]


def dispute_facts(session: Session, stmt_filter) -> list[DisputeFact]:
    stmt = select(
        Objection.opd, Dispute.status, Dispute.outcome, Dispute.within_window
    ).join(Objection, Objection.id == Dispute.objection_id).order_by(Dispute.id)
    return [
        DisputeFact(opd=row.opd, status=row.status, outcome=row.outcome,
                    within_window=row.within_window)
        for row in session.execute(stmt_filter(stmt))
    ]


# --- the annual report (pure) --------------------------------------------------------------


def _counts(values: Iterable[str | None], keys: Iterable[str]) -> dict[str, int]:
    found = Counter(v for v in values if v is not None)
    return {key: found.get(key, 0) for key in keys}


def request_figures(requests: Sequence[RequestFact]) -> dict[str, Any]:
    answered = [r for r in requests if r.days_taken is not None]
    days = sorted(r.days_taken for r in answered)
    outcomes = _counts((r.outcome for r in answered), domain.OUTCOMES)
    rejected = [r for r in answered if r.outcome == domain.REJECTED]
    partial = [r for r in answered if r.outcome == domain.PARTIAL]
    bands = {
        label: sum(1 for d in days if d >= low and (high is None or d <= high))
        for label, low, high in DAY_BANDS
    }
    on_time = sum(1 for r in answered if not r.late)
    return {
        "total": len(requests),
        "by_status": _counts((r.status for r in requests), domain.REQUEST_STATUSES),
        "extended": sum(1 for r in requests if r.extended),
        "answered": len(answered),
        "granted_in_full": outcomes[domain.GRANTED],
        "granted_in_part": outcomes[domain.PARTIAL],
        "rejected": outcomes[domain.REJECTED],
        "not_held": outcomes[domain.NOT_HELD],
        "not_documented": outcomes[domain.NOT_DOCUMENTED],
        "outcomes": outcomes,
        "rejection_reasons": _clause_counts(rejected),
        "redaction_reasons": _clause_counts(partial),
        "days_taken": {
            "average": round(statistics.fmean(days), 2) if days else None,
            "median": statistics.median(days) if days else None,
            "max": days[-1] if days else None,
            "bands": bands,
        },
        "on_time": on_time,
        "late_answers": len(answered) - on_time,
        "open_overdue": sum(
            1 for r in requests if r.status in domain.OPEN_STATUSES and r.late
        ),
        "on_time_rate": round(on_time / len(answered), 4) if answered else None,
    }


def _clause_counts(facts: Iterable[RequestFact]) -> list[dict[str, Any]]:
    found = Counter(f.exemption_clause for f in facts if f.exemption_clause)
    return [
        {"clause": clause, "label": domain.EXEMPTION_CLAUSES[clause], "count": found[clause]}
        for clause in sorted(found)
    ]


def objection_figures(objections: Sequence[ObjectionFact],
                      disputes: Sequence[DisputeFact]) -> dict[str, Any]:
    return {
        "objections": {
            "total": len(objections),
            "by_ground": _counts((g for o in objections for g in o.grounds),
                                 domain.OBJECTION_GROUNDS),
            "by_status": _counts((o.status for o in objections), domain.OBJECTION_STATUSES),
            "decisions": _counts((o.decision for o in objections), domain.DECISIONS),
            "late": sum(1 for o in objections if o.late),
        },
        "disputes": {
            "total": len(disputes),
            "by_status": _counts((d.status for d in disputes), domain.DISPUTE_STATUSES),
            "outcomes": _counts((d.outcome for d in disputes), domain.DISPUTE_OUTCOMES),
            "within_window": sum(1 for d in disputes if d.within_window),
        },
    }


def figures(requests, objections, disputes) -> dict[str, Any]:
    return {"requests": request_figures(requests), **objection_figures(objections, disputes)}


def by_opd(requests, objections, disputes, opds: OpdRegistry) -> list[dict[str, Any]]:
    """The figures of each OPD that had a case, in the registry's order; requests not yet
    assigned to any OPD last, under the PPID Utama."""
    codes = {f.opd for f in (*requests, *objections, *disputes)}
    order = [opd.code for opd in opds if opd.code in codes]
    order += sorted(c for c in codes if c is not None and c not in order)
    if None in codes:
        order.append(None)
    rows = []
    for code in order:
        opd = opds.get(code) if code else None
        rows.append(
            {
                "opd": code,
                "name": opd.name if opd else (code or UNASSIGNED_LABEL),
                "short_name": opd.short_name if opd else (code or "Belum ditugaskan"),
                **figures(
                    [r for r in requests if r.opd == code],
                    [o for o in objections if o.opd == code],
                    [d for d in disputes if d.opd == code],
                ),
            }
        )
    return rows


def annual_report(
    year: int,
    requests: Sequence[RequestFact],
    objections: Sequence[ObjectionFact],
    disputes: Sequence[DisputeFact],
    opds: OpdRegistry,
    *,
    today: date,
) -> dict[str, Any]:
    """The Pasal 12 figures for the regency and for each OPD that had a case.

    A year that has not ended is marked provisional: its figures still move.
    """
    per_opd = by_opd(requests, objections, disputes, opds)
    return {
        "year": year,
        "provisional": today <= date(year, 12, 31),
        "regency": opds.regency.name if opds.regency else None,
        "labels": {
            "outcomes": domain.OUTCOMES,
            "objection_grounds": domain.OBJECTION_GROUNDS,
            "objection_decisions": domain.DECISIONS,
            "dispute_outcomes": domain.DISPUTE_OUTCOMES,
        },
        "total": figures(requests, objections, disputes),
        "opds": per_opd,
        "requests": [
            {
                "number": r.number,
                "opd": r.opd,
                "received_date": r.received_date.isoformat(),
                "status": r.status,
                "outcome": r.outcome,
                "days_taken": r.days_taken,
                "late": r.late,
            }
            for r in requests
        ],
    }


def load_annual_report(session: Session, cal: WorkingCalendar, opds: OpdRegistry, year: int,
                       *, opd: str | None, now: datetime) -> dict[str, Any]:
    def only(stmt, column):
        return stmt.where(column == opd) if opd else stmt

    requests = request_facts(
        session, cal, lambda s: only(s.where(Request.year == year), Request.opd), now
    )
    objections = objection_facts(
        session, lambda s: only(s.where(Objection.year == year), Objection.opd), now
    )
    disputes = dispute_facts(
        session,
        lambda s: only(
            s.where(Dispute.filed_on >= date(year, 1, 1), Dispute.filed_on <= date(year, 12, 31)),
            Objection.opd,
        ),
    )
    report = annual_report(year, requests, objections, disputes, opds,
                           today=now.astimezone(cal.tz).date())
    report["opd"] = opd
    return report


# --- on-time rates (pure + query) ----------------------------------------------------------


def on_time_rates(requests: Sequence[RequestFact], opds: OpdRegistry) -> list[dict[str, Any]]:
    """Per OPD: notices given by the due time out of notices given, plus open overdue."""
    rows = []
    for entry in by_opd(requests, (), (), opds):
        figures_ = entry["requests"]
        rows.append(
            {
                "opd": entry["opd"],
                "name": entry["name"],
                "requests": figures_["total"],
                "answered": figures_["answered"],
                "on_time": figures_["on_time"],
                "late": figures_["late_answers"],
                "open_overdue": figures_["open_overdue"],
                "rate": figures_["on_time_rate"],
            }
        )
    return rows


# --- registers -----------------------------------------------------------------------------


def _date(instant: datetime | None, cal: WorkingCalendar) -> date | None:
    return instant.astimezone(cal.tz).date() if instant is not None else None


def decision_label(status: str, outcome: str | None) -> str:
    if outcome:
        return domain.OUTCOMES[outcome]
    if status == domain.WITHDRAWN:
        return "Dicabut pemohon"
    return "Dalam proses"


def rejection_reason(notice: Any | None) -> str | None:
    if notice is None:
        return None
    if notice.outcome in (domain.REJECTED, domain.PARTIAL) and notice.exemption_clause:
        text = (f"Pasal 17 huruf {notice.exemption_clause}: "
                f"{domain.EXEMPTION_CLAUSES[notice.exemption_clause]}")
        if notice.exemption_basis:
            text += f" ({notice.exemption_basis})"
        if notice.outcome == domain.PARTIAL and notice.redacted_parts:
            text = f"Sebagian dihitamkan: {notice.redacted_parts}. {text}"
        return text
    if notice.outcome == domain.NOT_HELD:
        return f"Informasi dikuasai oleh {notice.holder_body}" if notice.holder_body else None
    if notice.outcome == domain.NOT_DOCUMENTED and notice.documented_by:
        return f"Didokumentasikan paling lambat {notice.documented_by.isoformat()}"
    return None


def _time(instant: datetime, cal: WorkingCalendar) -> str:
    """`20:10 WIB`: the local time with the zone's name, as a clerk writes it."""
    local = instant.astimezone(cal.tz)
    return f"{local:%H:%M} {local.tzname()}"


def request_register(session: Session, cal: WorkingCalendar, scope: OpdScope, *,
                     first: date, last: date) -> tuple[list[int], list[dict]]:
    """(request ids, register rows) of the requests in `scope` received in [first, last],
    oldest first. Registers follow the personal-data rule of the requests themselves, so
    the scope is `domain.scope_of` the reader, narrowed to one OPD when asked.

    A request belongs to the day it was received (its receipt time in the regency's zone),
    not to its day zero: one received this evening is in today's register, and the row
    says both when it arrived and from which day its time is counted."""
    start, end = local_bounds(cal, first, last)
    stmt = (
        select(Request, Applicant, Notice)
        .join(Applicant, Applicant.request_id == Request.id)
        .outerjoin(Notice, (Notice.request_id == Request.id) & Notice.superseded_at.is_(None))
        .where(Request.submitted_at >= start, Request.submitted_at < end)
        .order_by(Request.submitted_at, Request.id)
    )
    stmt = scope.restrict(stmt, Request.opd)
    _check_size(session, stmt)
    ids, rows = [], []
    for req, applicant, notice in session.execute(stmt):
        ids.append(req.id)
        form = notice.info_format if notice is not None and notice.info_format else req.obtain_method
        rows.append(
            {
                "number": req.number,
                "received_date": _date(req.submitted_at, cal),
                "received_time": _time(req.submitted_at, cal),
                "day_zero": _date(req.received_at, cal),
                "name": applicant.name,
                "address": applicant.address,
                "phone": applicant.phone,
                "email": applicant.email,
                "occupation": applicant.occupation,
                "information": req.information,
                "purpose": req.purpose,
                "opd": req.opd,
                "held": HELD_LABELS.get(req.outcome) if req.outcome else None,
                "form": FORM_LABELS[form],
                "access": "Melihat/membaca/mendengarkan/mencatat" if req.obtain_method == "inspect"
                else "Mendapatkan salinan",
                "decision": decision_label(req.status, req.outcome),
                "rejection_reason": rejection_reason(notice),
                "notice_date": _date(notice.issued_at, cal) if notice is not None else None,
                "fee": notice.fee_amount if notice is not None else None,
                "days_taken": (
                    cal.days_taken(req.submitted_at, req.answered_at)
                    if req.answered_at is not None else None
                ),
            }
        )
    return ids, rows


def applicant_reaction(objection: Objection, dispute: Dispute | None, now: datetime,
                       cal: WorkingCalendar) -> str | None:
    """What the applicant did after the Atasan's answer (or its lapse): the register's last
    column. Silence past the 14-working-day window counts as accepting it."""
    if dispute is not None:
        return f"Mengajukan sengketa ke Komisi Informasi pada {dispute.filed_on.isoformat()}"
    if objection.status != domain.DECIDED and not domain.answer_lapsed(objection, now):
        return None
    window = objection.dispute_window_due_at or domain.dispute_window_due(cal, objection)
    if now > window:
        return "Tidak mengajukan sengketa (menerima tanggapan)"
    return "Dalam jangka waktu pengajuan sengketa"


def objection_register(session: Session, cal: WorkingCalendar, scope: OpdScope, *,
                       first: date, last: date, now: datetime
                       ) -> tuple[list[int], list[dict]]:
    """(request ids, register rows) of the objections in `scope` filed in [first, last],
    oldest first."""
    start, end = local_bounds(cal, first, last)
    stmt = (
        select(Objection, Request, Applicant.name, Dispute)
        .join(Request, Request.id == Objection.request_id)
        .join(Applicant, Applicant.request_id == Request.id)
        .outerjoin(Dispute, Dispute.objection_id == Objection.id)
        .where(Objection.filed_at >= start, Objection.filed_at < end)
        .order_by(Objection.filed_at, Objection.id)
    )
    stmt = scope.restrict(stmt, Objection.opd)
    _check_size(session, stmt)
    ids, rows = [], []
    for objection, req, name, dispute in session.execute(stmt):
        ids.append(req.id)
        grounds = [g for g in objection.grounds.split(",") if g]
        rows.append(
            {
                "number": objection.number,
                "filed_date": _date(objection.filed_at, cal),
                "applicant": name,
                "request_number": req.number,
                "information": req.information,
                "purpose": req.purpose,
                "grounds": "; ".join(f"{g}. {domain.OBJECTION_GROUNDS[g]}" for g in grounds),
                "opd": objection.opd,
                "response_due_date": _date(objection.response_due_at, cal),
                "decision": domain.DECISIONS[objection.decision] if objection.decision else None,
                "decision_date": _date(objection.decided_at, cal),
                "reaction": applicant_reaction(objection, dispute, now, cal),
            }
        )
    return ids, rows


class RegisterTooLarge(Exception):
    pass


def _check_size(session: Session, stmt: Select) -> None:
    rows = count(session, stmt)
    if rows > MAX_REGISTER_ROWS:
        raise RegisterTooLarge(rows)


# --- the public list -----------------------------------------------------------------------

def subject_problems(subject: str, applicant_name: str | None) -> list[str]:
    """Why a public subject line could identify someone; empty when it may be published.

    A subject says what kind of information was asked for ("Data tenaga kesehatan per
    kecamatan 2025"), never who asked or about whom: long digit runs (NIK, phone, account
    numbers) however they are grouped, e-mail addresses however disguised, and the
    applicant's name are refused (`services.common.personal_data`).
    """
    return identifying_problems(subject, applicant_name)


def public_list_statement(year: int | None, opd: str | None, status: str | None) -> Select:
    stmt = (
        select(Request, PublicSubject.subject)
        .outerjoin(PublicSubject, PublicSubject.request_id == Request.id)
        .order_by(Request.id.desc())
    )
    if year is not None:
        stmt = stmt.where(Request.year == year)
    if opd:
        stmt = stmt.where(Request.opd == opd)
    if status:
        stmt = stmt.where(Request.status == status)
    return stmt


def public_row(req: Request, subject: str | None, cal: WorkingCalendar, opds: OpdRegistry,
               now: datetime) -> dict[str, Any]:
    opd = opds.get(req.opd) if req.opd else None
    return {
        "number": req.number,
        "received_date": _date(req.received_at, cal),
        "opd": req.opd,
        "opd_name": opd.name if opd else None,
        # Checked again as it is shown: a line published before the filter learned a
        # disguise (`6203/0152/…`, `(at)`) is withheld rather than shown.
        "subject": subject if subject and not identifying_problems(subject) else None,
        "status": req.status,
        "status_label": domain.REQUEST_STATUSES[req.status],
        "outcome": req.outcome,
        "outcome_label": domain.OUTCOMES[req.outcome] if req.outcome else None,
        "days_taken": (
            cal.days_taken(req.submitted_at, req.answered_at)
            if req.answered_at is not None else None
        ),
        "late": domain.is_late(req, now),
    }


# --- export formats ------------------------------------------------------------------------

def to_csv(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> bytes:
    """The register as CSV whose cells no spreadsheet runs as formulas
    (`services.common.spreadsheet`)."""
    return spreadsheet.to_csv([label for _, label in columns],
                              ([row.get(key) for key, _ in columns] for row in rows))


def to_xlsx(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]],
            title: str) -> bytes:
    # openpyxl (and lxml under it) costs every web worker some 10 MB when imported with the
    # app, for a download few requests ask for: it is imported by the first one that does.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)
    header = []
    for _, label in columns:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                # Text stays text: openpyxl would otherwise store "=…" as a formula.
                cell.data_type = "s"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
