"""HTTP API of information requests, written notices, objections and disputes.

Views parse, call one handler and shape the response. Who is calling decides what they
see: staff send a bearer token, a citizen the request's secret in `X-Access-Token`. Changes
to a shared record need the record's ETag in `If-Match`.
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, roles_required
from services.common.citizen import (
    ReissueAnswerSchema,
    ReissueSchema,
    citizen_rate_limited,
    reissue_after_answer,
)
from services.common.http import (
    GuardedJsonParser,
    PlainAnswer,
    endpoint_label,
    file_download,
    if_match_doc,
    if_match_header,
    note_in_access_log,
    now,
    paginated,
    public_rate_limited,
    runtime,
    with_etag,
)
from services.ppid import domain, handlers, notice
from services.ppid.privacy import REASON_DOC, REASON_PARAMETERS, given_reason
from services.ppid.schemas import (
    AccessEntrySchema,
    ApplicantDocumentSchema,
    ApplicantQuerySchema,
    ApplicantSchema,
    AssignSchema,
    DecisionSchema,
    DisputeInSchema,
    ExtendSchema,
    NoticeInSchema,
    NoticeSchema,
    ObjectionInSchema,
    ObjectionListQuerySchema,
    ObjectionSchema,
    OfflineRequestSchema,
    ReassignSchema,
    RequestListQuerySchema,
    RequestSchema,
    RequestSummarySchema,
    ResolutionSchema,
    SubmitRequestSchema,
    SubmittedSchema,
    WithdrawSchema,
)

blp = Blueprint(
    "ppid",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Permohonan informasi publik (UU 14/2008): pengajuan, penugasan, perpanjangan, "
        "pemberitahuan tertulis, keberatan dan sengketa informasi."
    ),
)

# Before any `@blp.arguments` below, which bind the parser.
blp.ARGUMENTS_PARSER = GuardedJsonParser()
IF_MATCH_DOC = if_match_doc("ETag data yang terakhir dimuat.")
STAFF = domain.STAFF_ROLES
ACCESS = handlers.ACCESS


# -- requests -----------------------------------------------------------------------------------


# webargs builds a new schema for every request when given a class; the submission is the
# busiest endpoint, and a marshmallow schema keeps no state between loads, so it gets one
# instance for the life of the process.
_SUBMIT_SCHEMA = SubmitRequestSchema()
_SUBMITTED = PlainAnswer(SubmittedSchema)


@blp.route("/requests")
class Requests(MethodView):
    @public_rate_limited
    @blp.arguments(_SUBMIT_SCHEMA)
    @blp.response(201, SubmittedSchema)
    def post(self, data):
        """Ajukan permohonan informasi publik (tanpa akun)

        Jawaban memuat nomor pendaftaran, token akses (hanya sekali), hari ke-0 menurut
        aturan jam kerja, batas waktu pemberitahuan tertulis dan penjelasan perhitungannya.
        """
        submitted = handlers.submit_request(runtime(), data, now=now())
        note_in_access_log(number=submitted["number"], opd=submitted["opd"])
        return _SUBMITTED.response(submitted, 201)

    @roles_required(*STAFF)
    @blp.arguments(RequestListQuerySchema, location="query")
    @blp.response(200, RequestSummarySchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Daftar permohonan yang boleh dilihat petugas (tanpa data pribadi)

        `q` mencari pada nomor, rincian informasi yang diminta dan kode OPD.
        """
        return handlers.list_requests(runtime(), current_principal(), filters, page, now=now())


@blp.route("/requests/offline")
class OfflineRequests(MethodView):
    @roles_required(domain.UTAMA, domain.PELAKSANA)
    @blp.arguments(OfflineRequestSchema)
    @blp.response(201, SubmittedSchema)
    def post(self, data):
        """Catat permohonan yang datang langsung, lewat surat, telepon, surel atau faks

        `submitted_at` adalah waktu permohonan benar-benar diterima.
        """
        submitted = handlers.register_offline_request(runtime(), current_principal(), data, now=now())
        note_in_access_log(number=submitted["number"], opd=submitted["opd"])
        return submitted


@blp.route("/requests/<string:number>")
class RequestItem(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.response(200, RequestSchema)
    def get(self, number):
        """Lihat permohonan (petugas, atau pemohon dengan token akses)"""
        staff, token = ACCESS.caller()
        return with_etag(handlers.get_request(runtime(), number, now=now(), staff=staff, token=token))


@blp.route("/requests/<string:number>/access-token")
class AccessToken(MethodView):
    @public_rate_limited
    @blp.arguments(ReissueSchema)
    @blp.response(202, ReissueAnswerSchema)
    def post(self, data, number):
        """Minta token akses baru bila token hilang; dikirim ke alamat email pengajuan

        Jawabannya selalu sama, baik nomor dan alamat cocok maupun tidak. Bila cocok, token
        baru dikirim ke alamat email yang dicantumkan saat pengajuan dan token lama tidak
        berlaku lagi.
        """
        return reissue_after_answer(handlers.reissue_access_token, number, data["email"])


@blp.route("/requests/<string:number>/applicant")
class RequestApplicant(MethodView):
    @roles_required(*STAFF)
    @blp.doc(**REASON_DOC)
    @blp.arguments(ApplicantQuerySchema, location="query")
    @blp.response(200, ApplicantSchema)
    def get(self, query, number):
        """Data pribadi pemohon (setiap akses dicatat untuk pemohon)"""
        return handlers.get_applicant(
            runtime(), current_principal(), number, now=now(), endpoint=endpoint_label(),
            reason=given_reason(query.get("reason")),
        )


@blp.route("/requests/<string:number>/personal-data-access")
class PersonalDataAccessLog(MethodView):
    @public_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.response(200, AccessEntrySchema(many=True))
    def get(self, number):
        """Catatan siapa yang membuka data pribadi pemohon (UU 27/2022), dengan token akses"""
        return handlers.personal_data_accesses(runtime(), number, token=ACCESS.token())


@blp.route("/requests/<string:number>/assignment")
class Assignment(MethodView):
    @roles_required(domain.UTAMA)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(AssignSchema)
    @blp.response(200, RequestSchema)
    def post(self, data, number):
        """Tugaskan permohonan kepada PPID Pelaksana OPD (PPID Utama)"""
        return with_etag(
            handlers.assign(runtime(), current_principal(), number, data["opd"], if_match=if_match_header(), now=now())
        )


@blp.route("/requests/<string:number>/reassignment")
class Reassignment(MethodView):
    @roles_required(domain.UTAMA, domain.PELAKSANA)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ReassignSchema)
    @blp.response(200, RequestSchema)
    def post(self, data, number):
        """Alihkan permohonan ke OPD lain dengan alasan"""
        return with_etag(
            handlers.reassign(
                runtime(), current_principal(), number, data["opd"], data["reason"],
                if_match=if_match_header(), now=now(),
            )
        )


@blp.route("/requests/<string:number>/extension")
class Extension(MethodView):
    @roles_required(domain.UTAMA, domain.PELAKSANA)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ExtendSchema)
    @blp.response(200, RequestSchema)
    def post(self, data, number):
        """Perpanjang waktu jawaban 7 hari kerja, satu kali, dengan alasan tertulis"""
        return with_etag(
            handlers.extend(
                runtime(), current_principal(), number, data["ground"], data["reason"],
                if_match=if_match_header(), now=now(),
            )
        )


@blp.route("/requests/<string:number>/notice")
class NoticeItem(MethodView):
    @roles_required(domain.UTAMA, domain.PELAKSANA)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(NoticeInSchema)
    @blp.response(201, NoticeSchema)
    def post(self, data, number):
        """Terbitkan pemberitahuan tertulis (menutup permohonan)

        Lampiran (dokumen yang diberikan) dikirim base64 dalam `attachments`.
        """
        uploads = [
            handlers.Upload(a["filename"], a["content_type"], a["content_base64"])
            for a in data.pop("attachments")
        ]
        return handlers.issue_notice(
            runtime(), current_principal(), number, data, uploads, if_match=if_match_header(), now=now()
        )

    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.response(200, NoticeSchema)
    def get(self, number):
        """Pemberitahuan tertulis (petugas, atau pemohon dengan token akses)"""
        staff, token = ACCESS.caller()
        return handlers.get_notice(runtime(), number, staff=staff, token=token)


# The printables: (what the use case loads, the letter it makes, the file's name).
PRINTABLES = {
    "notice": (handlers.notice_document, notice.notice_letter, "pemberitahuan"),
    "receipt": (handlers.receipt_document, notice.receipt_letter, "tanda-bukti"),
    "decision": (handlers.decision_document, notice.decision_letter, "tanggapan-keberatan"),
}


def _printed(number: str, printable: str, kind: str) -> Response:
    """A letter for the officer who may see the case, or the applicant with the token;
    the same letter as HTML (to print from the browser) or PDF."""
    load, make_letter, basename = PRINTABLES[printable]
    staff, token = ACCESS.caller()
    letter = make_letter(load(
        runtime(), number, now=now(), endpoint=endpoint_label(), staff=staff, token=token,
        reason=given_reason() if staff is not None else None,
    ))
    if kind == "pdf":
        body, mimetype = notice.render_pdf(letter), "application/pdf"
    else:
        body, mimetype = notice.render_html(letter), "text/html"
    response = Response(body, mimetype=mimetype)
    # The number was matched against a stored one, so the name is plain ASCII.
    response.headers["Content-Disposition"] = f'inline; filename="{basename}-{number}.{kind}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _printable_doc(what: str, mimetype: str) -> dict:
    """A letter's OpenAPI: the citizen's token, or staff with the reason they open it for."""
    return {"parameters": [*ACCESS.doc["parameters"], *REASON_PARAMETERS],
            "responses": {"200": {"description": what, "content": {mimetype: {}}}}}


@blp.route("/requests/<string:number>/notice.html")
class NoticeHtml(MethodView):
    @citizen_rate_limited
    @blp.doc(**_printable_doc("Pemberitahuan tertulis (HTML)", "text/html"))
    def get(self, number):
        """Pemberitahuan tertulis siap cetak (HTML)"""
        return _printed(number, "notice", "html")


@blp.route("/requests/<string:number>/notice.pdf")
class NoticePdf(MethodView):
    @citizen_rate_limited
    @blp.doc(**_printable_doc("Pemberitahuan tertulis (PDF)", "application/pdf"))
    def get(self, number):
        """Pemberitahuan tertulis siap cetak (PDF)"""
        return _printed(number, "notice", "pdf")


@blp.route("/requests/<string:number>/receipt.html")
class ReceiptHtml(MethodView):
    @citizen_rate_limited
    @blp.doc(**_printable_doc("Tanda bukti pengajuan (HTML)", "text/html"))
    def get(self, number):
        """Tanda bukti pengajuan permohonan siap cetak (HTML), ditandatangani petugas penerima"""
        return _printed(number, "receipt", "html")


@blp.route("/requests/<string:number>/receipt.pdf")
class ReceiptPdf(MethodView):
    @citizen_rate_limited
    @blp.doc(**_printable_doc("Tanda bukti pengajuan (PDF)", "application/pdf"))
    def get(self, number):
        """Tanda bukti pengajuan permohonan siap cetak (PDF), ditandatangani petugas penerima"""
        return _printed(number, "receipt", "pdf")


@blp.route("/requests/<string:number>/applicant/documents")
class ApplicantDocuments(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(ApplicantQuerySchema, location="query")
    @blp.response(200, ApplicantDocumentSchema(many=True))
    def get(self, query, number):
        """Dokumen yang dilampirkan pemohon (petugas yang berwenang, dicatat; atau pemohon dengan token akses)"""
        staff, token = ACCESS.caller()
        return handlers.list_applicant_documents(
            runtime(), number, now=now(), endpoint=endpoint_label(), staff=staff, token=token,
            reason=given_reason(query.get("reason")) if staff is not None else None,
        )


@blp.route("/requests/<string:number>/applicant/documents/<int:document_id>")
class ApplicantDocumentItem(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc, responses={"200": {"description": "Berkas dokumen pemohon"}})
    @blp.arguments(ApplicantQuerySchema, location="query")
    def get(self, query, number, document_id):
        """Unduh dokumen yang dilampirkan pemohon (setiap unduhan petugas dicatat untuk pemohon)"""
        staff, token = ACCESS.caller()
        return file_download(
            *handlers.get_applicant_document(
                runtime(), number, document_id, now=now(), endpoint=endpoint_label(), staff=staff,
                token=token, reason=given_reason(query.get("reason")) if staff is not None else None,
            )
        )


@blp.route("/requests/<string:number>/notice/attachments/<int:attachment_id>")
class NoticeAttachment(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc, responses={"200": {"description": "Berkas lampiran"}})
    def get(self, number, attachment_id):
        """Unduh lampiran pemberitahuan tertulis"""
        staff, token = ACCESS.caller()
        filename, content_type, content = handlers.get_attachment(
            runtime(), number, attachment_id, staff=staff, token=token
        )
        return file_download(filename, content_type, content)


@blp.route("/requests/<string:number>/withdrawal")
class Withdrawal(MethodView):
    @public_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(WithdrawSchema)
    @blp.response(200, RequestSchema)
    def post(self, data, number):
        """Cabut permohonan (pemohon, dengan token akses)"""
        return handlers.withdraw(runtime(), number, data.get("reason"), token=ACCESS.token(), now=now())


@blp.route("/requests/<string:number>/objections")
class RequestObjections(MethodView):
    @public_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(ObjectionInSchema)
    @blp.response(201, ObjectionSchema)
    def post(self, data, number):
        """Ajukan keberatan kepada Atasan PPID (Pasal 35 huruf a-g), dengan token akses"""
        return handlers.file_objection(
            runtime(), number, data["grounds"], data["statement"], token=ACCESS.token(), now=now()
        )


# -- objections ---------------------------------------------------------------------------------


@blp.route("/objections")
class Objections(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(ObjectionListQuerySchema, location="query")
    @blp.response(200, ObjectionSchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Daftar keberatan yang boleh dilihat petugas

        `q` mencari pada nomor dan kode OPD keberatan, serta nomor dan rincian informasi
        permohonannya.
        """
        return handlers.list_objections(runtime(), current_principal(), filters, page, now=now())


@blp.route("/objections/<string:number>")
class ObjectionItem(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.response(200, ObjectionSchema)
    def get(self, number):
        """Lihat keberatan (petugas, atau pemohon dengan token akses permohonannya)"""
        staff, token = ACCESS.caller()
        return with_etag(handlers.get_objection(runtime(), number, now=now(), staff=staff, token=token))


@blp.route("/objections/<string:number>/decision")
class Decision(MethodView):
    @roles_required(domain.ATASAN)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(DecisionSchema)
    @blp.response(200, ObjectionSchema)
    def post(self, data, number):
        """Tanggapan tertulis Atasan PPID atas keberatan"""
        return with_etag(
            handlers.decide_objection(
                runtime(), current_principal(), number, data["decision"], data["reasons"],
                if_match=if_match_header(), now=now(),
            )
        )


@blp.route("/objections/<string:number>/decision.html")
class DecisionHtml(MethodView):
    @citizen_rate_limited
    @blp.doc(**_printable_doc("Tanggapan atas keberatan (HTML)", "text/html"))
    def get(self, number):
        """Tanggapan tertulis Atasan PPID atas keberatan, siap cetak (HTML)"""
        return _printed(number, "decision", "html")


@blp.route("/objections/<string:number>/decision.pdf")
class DecisionPdf(MethodView):
    @citizen_rate_limited
    @blp.doc(**_printable_doc("Tanggapan atas keberatan (PDF)", "application/pdf"))
    def get(self, number):
        """Tanggapan tertulis Atasan PPID atas keberatan, siap cetak (PDF)"""
        return _printed(number, "decision", "pdf")


@blp.route("/objections/<string:number>/dispute")
class DisputeItem(MethodView):
    @roles_required(domain.UTAMA)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(DisputeInSchema)
    @blp.response(201, ObjectionSchema)
    def post(self, data, number):
        """Catat sengketa informasi yang diajukan pemohon ke Komisi Informasi (PPID Utama)"""
        return with_etag(
            handlers.record_dispute(
                runtime(), current_principal(), number, data["filed_on"], data.get("register_number"),
                if_match=if_match_header(), now=now(),
            ),
            201,
        )


@blp.route("/objections/<string:number>/dispute/resolution")
class DisputeResolution(MethodView):
    @roles_required(domain.UTAMA)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ResolutionSchema)
    @blp.response(200, ObjectionSchema)
    def post(self, data, number):
        """Catat putusan atau hasil mediasi Komisi Informasi (PPID Utama)"""
        return with_etag(
            handlers.resolve_dispute(
                runtime(), current_principal(), number, data["outcome"], data["resolved_on"],
                data.get("summary"), if_match=if_match_header(), now=now(),
            )
        )

