"""`GET /api/v1/reports/{number}/duplicates`: what a verifying admin may be looking at twice.

Regency admins only (`lapor_admin`, `admin`): the suggestions name other reports, whoever
their OPD is. Suggestions only; linking one is verification's archive with reason `duplicate`.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.common.auth import roles_required
from services.common.http import runtime
from services.lapor import domain
from services.lapor.duplicates import NEARBY_METRES, suggest_duplicates

blp = Blueprint(
    "lapor_duplicates",
    __name__,
    url_prefix="/api/v1",
    description="Saran laporan ganda untuk admin LAPOR! yang memverifikasi.",
)


class DuplicateSuggestionSchema(Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    category = fields.String(required=True)
    kecamatan = fields.String(allow_none=True)
    lead_opd = fields.String(allow_none=True)
    submitted_at = fields.AwareDateTime(required=True)
    score = fields.Float(required=True, metadata={"description": "0..1, makin tinggi makin mirip"})
    distance_m = fields.Float(allow_none=True, metadata={"description": "Jarak lokasi (meter)"})
    similarity = fields.Float(allow_none=True, metadata={"description": "Kemiripan teks (0..1)"})
    reasons = fields.List(fields.String(), required=True)


@blp.route("/reports/<string:number>/duplicates")
class Duplicates(MethodView):
    @roles_required(*domain.REGENCY_ROLES)
    @blp.response(200, DuplicateSuggestionSchema(many=True))
    @blp.doc(description=(
        "Laporan terbuka (belum ditutup atau diarsipkan) pada kategori yang sama dalam "
        f"LAPOR_DUPLICATE_WINDOW_DAYS hari terakhir yang lokasinya berdekatan (sekitar "
        f"{int(NEARBY_METRES)} m) atau isinya mirip, diurutkan dari skor tertinggi."))
    def get(self, number):
        return suggest_duplicates(runtime(), number)
