"""HTTP API of disposition and follow-up: the admin's disposition and re-disposition, the
hops of a report, and the OPD liaison's steps and list.

Views parse, call one use case and shape the answer. Every step changes a shared record,
so it needs the report's ETag in `If-Match`; its answer is the report with its new ETag.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, roles_required
from services.common.http import if_match_doc, if_match_header, now, paginated, runtime, with_etag
from services.lapor import disposition, domain, follow_up
from services.lapor.schemas import DispositionSchema, StaffReportSchema
from services.lapor.stage_schemas import (
    CompletionSchema,
    DispatchSchema,
    FollowUpSchema,
    OpdListQuerySchema,
    OpdReportSchema,
    ProgressSchema,
    ReturnSchema,
)

blp = Blueprint(
    "lapor_disposition",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Disposisi laporan ke OPD dan tindak lanjutnya: disposisi dan disposisi ulang oleh admin "
        "LAPOR!, pengembalian, tindak lanjut, perkembangan dan penyelesaian oleh admin penghubung OPD."
    ),
)

IF_MATCH_DOC = if_match_doc("ETag laporan yang terakhir dimuat.")
ADMINS = domain.REGENCY_ROLES
STAFF = domain.STAFF_ROLES


# -- the admin's disposition -------------------------------------------------------------------


@blp.route("/admin/reports/<string:number>/dispatch")
class Dispatch(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(DispatchSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Disposisikan laporan ke OPD penanggung jawab (dan OPD pendukung)

        Laporan yang belum diverifikasi atau ditunda sekaligus diverifikasi. Batas tindak
        lanjut OPD mulai berjalan.
        """
        return with_etag(disposition.dispatch(
            runtime(), current_principal(), number, data, if_match=if_match_header(), now=now()
        ))


@blp.route("/admin/reports/<string:number>/redispatch")
class Redispatch(MethodView):
    @roles_required(*ADMINS)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(DispatchSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Disposisikan ulang laporan yang dikembalikan OPD

        Batas tindak lanjut dimulai lagi untuk OPD yang baru; batas penyelesaian tetap.
        """
        return with_etag(disposition.redispatch(
            runtime(), current_principal(), number, data, if_match=if_match_header(), now=now()
        ))


@blp.route("/admin/reports/<string:number>/dispositions")
class Dispositions(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, DispositionSchema(many=True))
    def get(self, number):
        """Riwayat disposisi laporan: setiap OPD yang pernah menerimanya"""
        return disposition.list_dispositions(runtime(), current_principal(), number)


# -- the OPD's steps ---------------------------------------------------------------------------


@blp.route("/opd/reports")
class OpdReports(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(OpdListQuerySchema, location="query")
    @blp.response(200, OpdReportSchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Laporan yang didisposisikan ke OPD Anda (sebagai OPD utama atau pendukung)

        Tanpa identitas pelapor. `q` mencari pada nomor, judul dan kategori.
        """
        return follow_up.list_for_opd(runtime(), current_principal(), filters, page)


@blp.route("/opd/reports/<string:number>")
class OpdReport(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, StaffReportSchema)
    def get(self, number):
        """Laporan yang didisposisikan ke OPD Anda, dengan ETag untuk langkah berikutnya

        Identitas pelapor anonim atau rahasia tidak pernah ditampilkan kepada OPD.
        """
        return with_etag(follow_up.get_for_opd(runtime(), current_principal(), number))


@blp.route("/opd/reports/<string:number>/return")
class Return(MethodView):
    @roles_required(domain.LIAISON)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ReturnSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Kembalikan laporan yang salah disposisi, dengan alasan (OPD penanggung jawab)"""
        return with_etag(disposition.return_report(
            runtime(), current_principal(), number, data["reason"], if_match=if_match_header(), now=now()
        ))


@blp.route("/opd/reports/<string:number>/follow-up")
class FollowUp(MethodView):
    @roles_required(domain.LIAISON)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(FollowUpSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Tindak lanjut pertama beserta rencana penyelesaian (OPD penanggung jawab)"""
        return with_etag(follow_up.follow_up(
            runtime(), current_principal(), number, data, if_match=if_match_header(), now=now()
        ))


@blp.route("/opd/reports/<string:number>/progress")
class Progress(MethodView):
    @roles_required(domain.LIAISON)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ProgressSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Catat perkembangan penanganan (OPD penanggung jawab atau pendukung)"""
        return with_etag(follow_up.progress(
            runtime(), current_principal(), number, data, if_match=if_match_header(), now=now()
        ))


@blp.route("/opd/reports/<string:number>/completion")
class Completion(MethodView):
    @roles_required(domain.LIAISON)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(CompletionSchema)
    @blp.response(200, StaffReportSchema)
    def post(self, data, number):
        """Nyatakan laporan selesai dengan hasil penyelesaiannya (OPD penanggung jawab)

        Lampiran yang sudah diunggah OPD untuk laporan ini disebut dengan `attachment_ids`.
        Batas waktu tanggapan pelapor mulai berjalan.
        """
        return with_etag(follow_up.complete(
            runtime(), current_principal(), number, data, if_match=if_match_header(), now=now()
        ))
