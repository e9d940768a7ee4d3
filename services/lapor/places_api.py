"""The lists a report form is filled from: Kapuas's kecamatan with their desa and kelurahan
(with the simplified boundary, for a map that shows where reports are accepted) and the
report categories. Public and the same for everyone; both come from configuration files."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.common.http import public_rate_limited, runtime
from services.lapor import categories, wilayah

blp = Blueprint(
    "lapor_places",
    __name__,
    url_prefix="/api/v1",
    description="Daftar kecamatan, desa/kelurahan dan kategori untuk formulir laporan.",
)


class DesaSchema(Schema):
    code = fields.String(required=True, metadata={"example": "62.03.01.1007"})
    name = fields.String(required=True, metadata={"example": "Selat Hilir"})
    kind = fields.String(required=True, metadata={"enum": ["desa", "kelurahan"]})


class KecamatanSchema(Schema):
    code = fields.String(required=True, metadata={"example": "62.03.01"})
    name = fields.String(required=True, metadata={"example": "Selat"})
    desa = fields.List(fields.Nested(DesaSchema), required=True)


class BoundarySchema(Schema):
    type = fields.String(required=True, metadata={"enum": ["Polygon"]})
    coordinates = fields.List(fields.List(fields.List(fields.Float())), required=True)
    note = fields.String(required=True)


class WilayahSchema(Schema):
    regency = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    source = fields.String(required=True)
    boundary = fields.Nested(BoundarySchema, required=True)
    kecamatan = fields.List(fields.Nested(KecamatanSchema), required=True)


class CategorySchema(Schema):
    code = fields.String(required=True, metadata={"example": "infrastruktur"})
    label = fields.String(required=True, metadata={"example": "Infrastruktur jalan dan jembatan"})


@blp.route("/wilayah")
class Wilayah(MethodView):
    @public_rate_limited
    @blp.response(200, WilayahSchema)
    def get(self):
        """Kecamatan dan desa/kelurahan Kabupaten Kapuas (kode Kemendagri) dan batas wilayahnya
        yang disederhanakan (GeoJSON, [bujur, lintang])."""
        places = wilayah.load(runtime().settings.wilayah_file)
        return {
            "regency": places.regency,
            "source": places.source,
            "boundary": {"type": "Polygon", "coordinates": [[list(p) for p in places.boundary]],
                         "note": places.boundary_note},
            "kecamatan": places.as_list(),
        }


@blp.route("/categories")
class Categories(MethodView):
    @public_rate_limited
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """Kategori laporan."""
        return categories.load(runtime().settings.categories_file).as_list()
