"""`POST /api/v1/imports/national`: a regency admin imports an SP4N-LAPOR! export.

The body is the export's object (`{"reports": [...]}`); each report is checked on its own
and the answer lists every item's outcome, so one bad item does not refuse the file.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.common.auth import current_principal, roles_required
from services.common.forms import Base, List, When
from services.common.http import runtime
from services.lapor import domain
from services.lapor.national_import import MAX_ITEMS, Actor, import_national

blp = Blueprint(
    "lapor_imports",
    __name__,
    url_prefix="/api/v1",
    description="Impor laporan dari ekspor JSON SP4N-LAPOR! (idempoten pada ID pelacakan nasional).",
)


class NationalExportSchema(Base):
    exported_at = When(load_default=None, allow_none=True)
    reports = List(fields.Raw(), required=True, metadata={
        "description": f"Laporan ekspor SP4N-LAPOR!, paling banyak {MAX_ITEMS} per impor; "
                       "bentuk tiap laporan ada di dokumentasi LAPOR!."})


class ImportItemSchema(Schema):
    index = fields.Integer(required=True)
    national_id = fields.String(allow_none=True)
    outcome = fields.String(required=True, metadata={"enum": ["created", "skipped", "invalid"]})
    number = fields.String(allow_none=True)
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportSummarySchema(Schema):
    created = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    invalid = fields.Integer(required=True)
    items = fields.List(fields.Nested(ImportItemSchema), required=True)


@blp.route("/imports/national")
class NationalImport(MethodView):
    @roles_required(*domain.REGENCY_ROLES)
    @blp.arguments(NationalExportSchema)
    @blp.response(200, ImportSummarySchema)
    def post(self, data):
        """Impor ekspor SP4N-LAPOR!: jumlah dibuat, dilewati (sudah ada) dan tidak valid."""
        return import_national(runtime(), data, Actor("admin", current_principal().sub))
