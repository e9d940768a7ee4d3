"""The forms of LAPOR!'s files: an upload as JSON (the file in base64, as every body of the
API is JSON) and the description of a stored file. Intake may nest `AttachmentFileSchema`
in its own form and hand the decoded files to `attachments.add_attachments`."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.filenames import FileName
from services.common.forms import MESSAGES, Base, Base64Bytes, List, Nested, Whole


class AttachmentFileSchema(Base):
    filename = FileName(200, required=True, metadata={"description": "Nama berkas, mis. foto-jalan.jpg"})
    content_base64 = Base64Bytes(
        required=True,
        error_messages={**MESSAGES, "invalid": "Harus berupa teks base64."},
        metadata={"description": "Isi berkas (JPEG, PNG, WebP atau PDF) dalam base64"},
    )


class AttachmentUploadSchema(Base):
    message_id = Whole(load_default=None, allow_none=True, metadata={
        "description": "Pesan yang dilampiri; kosong: berkas pelapor pada laporannya, atau berkas "
                       "petugas yang menunggu pesannya (mis. `attachment_ids` penyelesaian)"})
    files = List(Nested(AttachmentFileSchema), required=True)


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    message_id = fields.Integer(allow_none=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    uploaded_at = fields.AwareDateTime(required=True)
    uploaded_by = fields.String(required=True, metadata={"enum": ["citizen", "opd", "admin"]})
