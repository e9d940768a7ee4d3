"""HTTP API of the regency's LAPOR! admins: the list of reports, one report in full (with
the reporter's identity, every read recorded) and the verification steps.

Changes need the report's ETag in `If-Match`. Disposition (also verify-and-dispatch in one
call) is the disposition module's.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, roles_required
from services.common.http import (
    endpoint_label,
    header_text,
    if_match_doc,
    if_match_header,
    paginated,
    runtime,
    with_etag,
)
from services.lapor import admin_queries, domain, verification
from services.lapor.schemas import (
    ArchiveSchema,
    ClarificationRequestSchema,
    NotAuthoritySchema,
    PostponeSchema,
    ReportListQuerySchema,
    ReportSummarySchema,
    StaffReportSchema,
    VerifySchema,
)

blp = Blueprint(
    "lapor_admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Admin LAPOR! kabupaten: daftar laporan, rincian, dan verifikasi.",
)
ADMINS = domain.REGENCY_ROLES
IF_MATCH_DOC = if_match_doc("ETag laporan yang terakhir dimuat.")
REASON_HEADER = "X-Access-Reason"
REASON_DOC = {"parameters": [{
    "in": "header", "name": REASON_HEADER, "required": False,
    "schema": {"type": "string", "maxLength": 500},
    "description": "Keperluan membuka identitas pelapor; dicatat bersama setiap pembacaan.",
}]}


def _reason() -> str | None:
    return (header_text(REASON_HEADER) or "").strip() or None


@blp.route("/reports")
class AdminReports(MethodView):
    @roles_required(*ADMINS)
    @blp.arguments(ReportListQuerySchema, location="query")
    @blp.response(200, ReportSummarySchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Daftar laporan (tanpa data pribadi), terbaru lebih dahulu

        `q` mencari pada nomor, judul dan kategori.
        """
        rt = runtime()
        return admin_queries.list_reports(rt, current_principal(), filters, page, now=rt.clock())


@blp.route("/reports/<string:number>")
class AdminReport(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**REASON_DOC)
    @blp.response(200, StaffReportSchema)
    def get(self, number):
        """Rincian laporan beserta identitas pelapor (setiap pembacaan identitas dicatat)"""
        rt = runtime()
        return with_etag(admin_queries.report_detail(
            rt, current_principal(), number, now=rt.clock(), endpoint=endpoint_label(), reason=_reason(),
        ))


@blp.route("/reports/<string:number>/verify")
class Verify(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(VerifySchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Verifikasi laporan (disposisi dilakukan tersendiri)"""
        rt = runtime()
        return with_etag(verification.verify(
            rt, current_principal(), number, data.get("note"), if_match=if_match_header(), now=rt.clock(),
        ))


@blp.route("/reports/<string:number>/clarification-request")
class ClarificationRequest(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ClarificationRequestSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Minta penjelasan tambahan dari pelapor (batas waktu verifikasi dihentikan sementara)"""
        rt = runtime()
        return with_etag(verification.request_clarification(
            rt, current_principal(), number, data["question"], if_match=if_match_header(), now=rt.clock(),
        ))


@blp.route("/reports/<string:number>/postpone")
class Postpone(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(PostponeSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Tunda laporan dengan alasan"""
        rt = runtime()
        return with_etag(verification.postpone(
            rt, current_principal(), number, data["reason"], if_match=if_match_header(), now=rt.clock(),
        ))


@blp.route("/reports/<string:number>/archive")
class Archive(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ArchiveSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Arsipkan laporan: spam, duplikat laporan lain (sebutkan nomornya), atau bukan
        masalah pelayanan publik"""
        rt = runtime()
        return with_etag(verification.archive(
            rt, current_principal(), number, data["reason"], duplicate_of=data.get("duplicate_of"),
            note=data.get("note"), if_match=if_match_header(), now=rt.clock(),
        ))


@blp.route("/reports/<string:number>/not-authority")
class NotAuthority(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(NotAuthoritySchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Nyatakan laporan bukan wewenang Pemerintah Kabupaten, dengan instansi yang berwenang"""
        rt = runtime()
        return with_etag(verification.reject_authority(
            rt, current_principal(), number, data["body"], data.get("note"),
            if_match=if_match_header(), now=rt.clock(),
        ))
