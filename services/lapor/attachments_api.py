"""Files of a report: upload, list and download, for the reporter (X-Access-Token), the
regency's admins and the OPDs the report is dispositioned to; and the public's files of
a published report (staff files of messages marked public only). The rules are in
`attachments`; every download is an attachment (never shown inline) with nosniff."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.citizen import citizen_rate_limited
from services.common.http import file_download, public_rate_limited, runtime
from services.lapor import attachments
from services.lapor.attachment_schemas import AttachmentSchema, AttachmentUploadSchema
from services.lapor.attachments import ACCESS

blp = Blueprint(
    "lapor_attachments",
    __name__,
    url_prefix="/api/v1",
    description="Lampiran laporan (foto dan PDF): unggah, daftar dan unduh sesuai hak akses.",
)

_FILE_DOC = {"responses": {"200": {"description": "Berkas lampiran (selalu diunduh)",
                                   "content": {"application/octet-stream": {}}}}}


@blp.route("/reports/<string:number>/attachments")
class ReportAttachments(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.response(200, AttachmentSchema(many=True))
    def get(self, number):
        """Lampiran laporan yang boleh dilihat pemanggil."""
        staff, token = ACCESS.caller()
        return attachments.list_attachments(runtime(), staff, token, number)

    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(AttachmentUploadSchema)
    @blp.response(201, AttachmentSchema(many=True))
    def post(self, data, number):
        """Unggah lampiran: pelapor (token), admin LAPOR!, atau OPD yang menerima disposisi."""
        staff, token = ACCESS.caller()
        files = [(item["filename"], item["content_base64"]) for item in data["files"]]
        return attachments.upload(runtime(), staff, token, number, data.get("message_id"), files)


@blp.route("/reports/<string:number>/attachments/<int:attachment_id>")
class ReportAttachment(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc, **_FILE_DOC)
    def get(self, number, attachment_id):
        """Unduh satu lampiran."""
        staff, token = ACCESS.caller()
        return file_download(*attachments.download(runtime(), staff, token, number, attachment_id))


@blp.route("/public/reports/<string:number>/attachments")
class PublicAttachments(MethodView):
    @public_rate_limited
    @blp.response(200, AttachmentSchema(many=True))
    def get(self, number):
        """Lampiran publik: berkas petugas pada pesan yang ditandai publik (laporan publik/anonim)."""
        return attachments.public_list(runtime(), number)


@blp.route("/public/reports/<string:number>/attachments/<int:attachment_id>")
class PublicAttachment(MethodView):
    @public_rate_limited
    @blp.doc(**_FILE_DOC)
    def get(self, number, attachment_id):
        """Unduh satu lampiran publik."""
        return file_download(*attachments.public_download(runtime(), number, attachment_id))
