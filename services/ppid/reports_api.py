"""HTTP API of the registers, the annual report and the public transparency figures.

- `/registers/requests`, `/registers/objections`: staff only, as JSON, CSV or XLSX. They
  carry applicants' personal data: the PPID Utama reads every OPD's, a PPID Pelaksana or
  Atasan PPID its own OPD's, every read is written to the personal-data access log in the
  same transaction, and no response may be cached.
- `/reports/annual/<year>` (JSON) and `/reports/annual/<year>.pdf`: public, as Pasal 12
  wants the report published; figures only, no personal data.
- `/public/requests` and `/public/on-time`: public. A request appears under a subject line a
  PPID officer wrote (`PUT /public/requests/<number>/subject`), never the citizen's text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from services.common.auth import Principal, current_principal, roles_required
from services.common.citizen import citizen_rate_limited
from services.common.errors import Forbidden, Invalid, NotFound
from services.common.forms import MESSAGES, Choice, Day, OpdCode, Text, Whole
from services.common.forms import Base as InputSchema
from services.common.http import endpoint_label, now, paginated, runtime
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.common.scope import OpdScope
from services.ppid import domain, reports
from services.ppid.dip import clean_text
from services.ppid.dip_models import PublicSubject
from services.ppid.models import Applicant, Request
from services.ppid.privacy import (
    REASON_DESCRIPTION,
    REASON_DOC,
    REASON_MAX,
    check_reason,
    given_reason,
    record_access,
)

blp = Blueprint(
    "ppid_reports",
    __name__,
    url_prefix="/api/v1",
    description="Register permohonan dan keberatan, laporan tahunan (Pasal 12) dan "
    "transparansi layanan PPID.",
)

REGISTER_ROLES = (domain.UTAMA, domain.PELAKSANA, domain.ATASAN)
FIRST_YEAR = 2008  # UU 14/2008
LAST_YEAR = 2100
SUBJECT_MAX = 200
FORMATS = ("json", "csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# --- schemas ---------------------------------------------------------------------------


class RegisterQuerySchema(InputSchema):
    opd = OpdCode()
    date_from = Day(metadata={"description": "awal periode (bawaan: 1 Januari tahun ini)"})
    date_to = Day(metadata={"description": "akhir periode, inklusif (bawaan: hari ini)"})
    format = Choice(FORMATS, load_default="json")
    reason = Text(REASON_MAX, metadata={"description": REASON_DESCRIPTION})

    @validates_schema
    def _period(self, data, **_kwargs):
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            raise ValidationError("Awal periode harus sebelum akhir periode.", "date_from")


class RegisterColumnSchema(Schema):
    key = fields.String()
    label = fields.String()


class RegisterSchema(Schema):
    register = fields.String()
    opd = fields.String(allow_none=True)
    date_from = fields.Date()
    date_to = fields.Date()
    columns = fields.List(fields.Nested(RegisterColumnSchema))
    rows = fields.List(fields.Dict())


class AnnualReportSchema(Schema):
    year = fields.Integer()
    provisional = fields.Boolean(metadata={"description": "tahun laporan belum berakhir"})
    regency = fields.String(allow_none=True)
    opd = fields.String(allow_none=True)
    labels = fields.Dict()
    total = fields.Dict(metadata={"description": "angka seluruh kabupaten (atau OPD terpilih)"})
    opds = fields.List(fields.Dict(), metadata={"description": "angka per OPD"})
    requests = fields.List(fields.Dict(), metadata={"description": "waktu layanan per permohonan"})


class AnnualQuerySchema(InputSchema):
    opd = OpdCode(metadata={"description": "laporan satu OPD saja"})


class ReportYearQuerySchema(InputSchema):
    year = Whole(
        strict=False,
        validate=validate.Range(FIRST_YEAR, LAST_YEAR, error="Tahun antara {min} dan {max}."),
        metadata={"description": "tahun registrasi (bawaan: tahun ini)"},
    )


class PublicListQuerySchema(ReportYearQuerySchema):
    opd = OpdCode()
    status = Choice(domain.REQUEST_STATUSES)


class PublicRequestSchema(Schema):
    number = fields.String()
    received_date = fields.Date()
    opd = fields.String(allow_none=True)
    opd_name = fields.String(allow_none=True)
    subject = fields.String(
        allow_none=True,
        metadata={"description": "pokok informasi yang diminta, ditulis PPID tanpa data pribadi"},
    )
    status = fields.String()
    status_label = fields.String()
    outcome = fields.String(allow_none=True)
    outcome_label = fields.String(allow_none=True)
    days_taken = fields.Integer(allow_none=True)
    late = fields.Boolean()


class PublicSubjectInSchema(InputSchema):
    subject = fields.String(required=True, error_messages=MESSAGES)


class OnTimeRowSchema(Schema):
    opd = fields.String(allow_none=True)
    name = fields.String()
    requests = fields.Integer()
    answered = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    open_overdue = fields.Integer()
    rate = fields.Float(allow_none=True)


class OnTimeSchema(Schema):
    year = fields.Integer()
    regency = fields.Nested(OnTimeRowSchema)
    opds = fields.List(fields.Nested(OnTimeRowSchema))


# --- use cases -------------------------------------------------------------------------


def _register_scope(staff: Principal, opd: str | None) -> OpdScope:
    """The reader's scope narrowed to the OPD asked for; refused rather than empty, since
    an export of nothing would read as an OPD with no requests."""
    scope = domain.scope_of(staff)
    if scope.is_empty:
        raise Forbidden("Akun Anda tidak terhubung dengan OPD mana pun.")
    if opd:
        scope.require(opd, "Register OPD lain tidak dapat Anda buka.")
    return scope.narrowed(opd)


def read_register(rt: Runtime, staff: Principal, kind: str, query: dict[str, Any], *,
                  at: datetime, endpoint: str, reason: str | None = None) -> dict[str, Any]:
    """The register rows, with the read written to the personal-data access log."""
    reason = check_reason(reason)
    scope = _register_scope(staff, query.get("opd"))
    today = at.astimezone(rt.calendar.tz).date()
    first = query.get("date_from") or date(today.year, 1, 1)
    last = query.get("date_to") or max(today, first)
    purpose = "view_register" if query["format"] == "json" else "export_register"
    if kind == "objections":
        purpose = purpose.replace("_register", "_objection_register")
    with rt.uow() as uow:
        try:
            if kind == "requests":
                ids, rows = reports.request_register(
                    uow.session, rt.calendar, scope, first=first, last=last
                )
                columns = reports.REQUEST_REGISTER_COLUMNS
            else:
                ids, rows = reports.objection_register(
                    uow.session, rt.calendar, scope, first=first, last=last, now=at,
                )
                columns = reports.OBJECTION_REGISTER_COLUMNS
        except reports.RegisterTooLarge as exc:
            raise Invalid(
                f"Register terlalu besar ({exc.args[0]} baris); persempit periode atau pilih OPD.",
                {"date_from": ["Persempit periode."]},
            ) from exc
        record_access(uow.session, staff, ids, purpose=purpose, endpoint=endpoint, at=at, reason=reason)
        uow.commit()
    return {
        "register": kind,
        "opd": query.get("opd"),
        "date_from": first,
        "date_to": last,
        "columns": [{"key": k, "label": label} for k, label in columns],
        "rows": rows,
        "_columns": columns,
    }


def set_public_subject(rt: Runtime, staff: Principal, number: str, text: str, *,
                       at: datetime) -> dict[str, Any]:
    """Publish the subject line of a request, refusing one that could identify someone."""
    subject = clean_text(text)
    if not subject:
        raise Invalid("Pokok informasi wajib diisi.", {"subject": ["Wajib diisi."]})
    if len(subject) > SUBJECT_MAX:
        raise Invalid("Pokok informasi terlalu panjang.",
                      {"subject": [f"Paling banyak {SUBJECT_MAX} karakter."]})
    with rt.uow() as uow:
        session = uow.session
        req = session.scalars(select(Request).where(Request.number == number)).one_or_none()
        if req is None:
            raise NotFound("Permohonan tidak ditemukan.")
        domain.require_handler(staff, req.opd)
        name = session.scalar(select(Applicant.name).where(Applicant.request_id == req.id))
        problems = reports.subject_problems(subject, name)
        if problems:
            raise Invalid("Pokok informasi memuat data yang dapat mengenali seseorang.",
                          {"subject": problems})
        row = session.get(PublicSubject, req.id, with_for_update=True)
        if row is None:
            session.add(PublicSubject(request_id=req.id, subject=subject, set_at=at,
                                      set_by=staff.sub))
        else:
            row.subject, row.set_at, row.set_by = subject, at, staff.sub
        uow.commit()
        return reports.public_row(req, subject, rt.calendar, rt.opds, at)


def public_requests(rt: Runtime, query: dict[str, Any], page: Page, *, at: datetime
                    ) -> tuple[list[dict[str, Any]], int]:
    stmt = reports.public_list_statement(query.get("year"), query.get("opd"), query.get("status"))
    with rt.session_factory() as session:
        rows, total = fetch_page(session, stmt, page, rows=True)
        return [reports.public_row(req, subject, rt.calendar, rt.opds, at)
                for req, subject in rows], total


def _year(rt: Runtime, query: dict[str, Any], at: datetime) -> int:
    return query.get("year") or at.astimezone(rt.calendar.tz).year


def on_time(rt: Runtime, year: int, at: datetime) -> dict[str, Any]:
    with rt.session_factory() as session:
        facts = reports.request_facts(
            session, rt.calendar, lambda s: s.where(Request.year == year), at
        )
    regency = reports.request_figures(facts)
    return {
        "year": year,
        "regency": {
            "opd": None,
            "name": rt.opds.regency.name if rt.opds.regency else "Kabupaten",
            "requests": regency["total"],
            "answered": regency["answered"],
            "on_time": regency["on_time"],
            "late": regency["late_answers"],
            "open_overdue": regency["open_overdue"],
            "rate": regency["on_time_rate"],
        },
        "opds": reports.on_time_rates(facts, rt.opds),
    }


def annual(rt: Runtime, year: int, opd: str | None, at: datetime) -> dict[str, Any]:
    with rt.session_factory() as session:
        return reports.load_annual_report(session, rt.calendar, rt.opds, year, opd=opd, now=at)


# --- views -----------------------------------------------------------------------------


def _register_response(result: dict[str, Any], fmt: str):
    columns = result.pop("_columns")
    if fmt == "json":
        result["rows"] = [
            {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
            for row in result["rows"]
        ]
        return result, 200, NO_STORE
    stem = f"register-{'permohonan' if result['register'] == 'requests' else 'keberatan'}"
    stem += f"-{result['opd'] or 'semua'}-{result['date_from']}_{result['date_to']}"
    if fmt == "csv":
        body = reports.to_csv(columns, result["rows"])
    else:
        title = "Register Permohonan" if result["register"] == "requests" else "Register Keberatan"
        body = reports.to_xlsx(columns, result["rows"], title)
    return Response(
        body,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"', **NO_STORE},
        content_type=MIME[fmt],
    )


_FILES = {
    "text/csv": {"schema": {"type": "string"}},
    MIME["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
}


@blp.route("/registers/requests")
class RequestRegister(MethodView):
    @roles_required(*REGISTER_ROLES)
    @blp.doc(**REASON_DOC)
    @blp.arguments(RegisterQuerySchema, location="query")
    @blp.response(200, RegisterSchema)
    @blp.doc(responses={"200": {"content": _FILES}})
    def get(self, query):
        """Register permohonan informasi (data pribadi; setiap pembacaan dicatat)"""
        return _register_response(read_register(
            runtime(), current_principal(), "requests", query, at=now(), endpoint=endpoint_label(),
            reason=given_reason(query.get("reason")),
        ), query["format"])


@blp.route("/registers/objections")
class ObjectionRegister(MethodView):
    @roles_required(*REGISTER_ROLES)
    @blp.doc(**REASON_DOC)
    @blp.arguments(RegisterQuerySchema, location="query")
    @blp.response(200, RegisterSchema)
    @blp.doc(responses={"200": {"content": _FILES}})
    def get(self, query):
        """Register keberatan (data pribadi; setiap pembacaan dicatat)"""
        return _register_response(read_register(
            runtime(), current_principal(), "objections", query, at=now(), endpoint=endpoint_label(),
            reason=given_reason(query.get("reason")),
        ), query["format"])


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid("Tahun laporan tidak valid.",
                      {"year": [f"Tahun antara {FIRST_YEAR} dan {LAST_YEAR}."]})


@blp.route("/reports/annual/<int:year>")
class AnnualReport(MethodView):
    @citizen_rate_limited
    @blp.arguments(AnnualQuerySchema, location="query")
    @blp.response(200, AnnualReportSchema)
    def get(self, query, year):
        """Laporan tahunan layanan informasi publik (Pasal 12), seluruh kabupaten atau per OPD"""
        _check_year(year)
        return annual(runtime(), year, query.get("opd"), now())


@blp.route("/reports/annual/<int:year>.pdf")
class AnnualReportPdf(MethodView):
    @citizen_rate_limited
    @blp.arguments(AnnualQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, query, year):
        """Laporan tahunan sebagai PDF dengan grafik"""
        _check_year(year)
        at = now()
        rt = runtime()
        report = annual(rt, year, query.get("opd"), at)
        # reportlab's charts load with the first PDF asked for, not with every web worker.
        from services.ppid.report_pdf import render_annual_report

        body = render_annual_report(report, generated_at=at.astimezone(rt.calendar.tz))
        name = f"laporan-ppid-{year}" + (f"-{query['opd']}" if query.get("opd") else "")
        return Response(body, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})


@blp.route("/public/requests")
class PublicRequests(MethodView):
    @citizen_rate_limited
    @blp.arguments(PublicListQuerySchema, location="query")
    @blp.response(200, PublicRequestSchema(many=True))
    @paginated(blp)
    def get(self, query, page):
        """Daftar permohonan untuk publik: tanpa data pribadi pemohon"""
        return public_requests(runtime(), query, page, at=now())


@blp.route("/public/requests/<string:number>/subject")
class PublicSubjectView(MethodView):
    @roles_required(domain.UTAMA, domain.PELAKSANA)
    @blp.arguments(PublicSubjectInSchema)
    @blp.response(200, PublicRequestSchema)
    def put(self, data, number):
        """Tetapkan pokok informasi yang tampil di daftar publik (tanpa data pribadi)"""
        return set_public_subject(runtime(), current_principal(), number, data["subject"],
                                  at=now())


@blp.route("/public/on-time")
class OnTime(MethodView):
    @citizen_rate_limited
    @blp.arguments(ReportYearQuerySchema, location="query")
    @blp.response(200, OnTimeSchema)
    def get(self, query):
        """Ketepatan waktu jawaban per OPD: dijawab tepat waktu dibanding yang dijawab"""
        at = now()
        rt = runtime()
        return on_time(rt, _year(rt, query, at), at)
