"""The public pages of LAPOR!, without an account: reports, map data and statistics.

Only reports whose reporter chose `public` or `anonim` appear, and nothing of anyone's
identity (`public_views`). Every endpoint is rate-limited per client like the citizen ones.
"""

from __future__ import annotations

import orjson
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.http import paginated, public_rate_limited, runtime
from services.lapor import geojson, public_views, statistics
from services.lapor.public_schemas import (
    GeoJsonSchema,
    MapQuerySchema,
    PublicFilterSchema,
    PublicReportDetailSchema,
    PublicReportSchema,
    StatisticsQuerySchema,
    StatisticsSchema,
)

blp = Blueprint(
    "lapor_public",
    __name__,
    url_prefix="/api/v1/public",
    description=(
        "Halaman publik LAPOR!: daftar, peta dan statistik laporan publik dan anonim, tanpa "
        "data pribadi pelapor. Laporan rahasia tidak pernah ditampilkan."
    ),
)


@blp.route("/reports")
class PublicReports(MethodView):
    @public_rate_limited
    @blp.arguments(PublicFilterSchema, location="query")
    @blp.response(200, PublicReportSchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Daftar laporan publik (terbaru dahulu), dengan penyaring OPD, kategori, status,
        kecamatan dan periode diterima"""
        return public_views.list_reports(runtime(), filters, page)


@blp.route("/reports/<string:number>")
class PublicReport(MethodView):
    @public_rate_limited
    @blp.response(200, PublicReportDetailSchema)
    def get(self, number):
        """Satu laporan publik dengan lini masanya (perubahan status dan jawaban OPD yang
        dinyatakan publik)"""
        return public_views.get_report(runtime(), number)


@blp.route("/map")
class PublicMap(MethodView):
    @public_rate_limited
    @blp.arguments(MapQuerySchema, location="query")
    @blp.response(200, GeoJsonSchema, content_type=geojson.MEDIA_TYPE)
    def get(self, filters):
        """Data peta: GeoJSON FeatureCollection (RFC 7946, [bujur, lintang]) laporan publik
        yang bertitik lokasi, dengan penyaring yang sama dengan daftar"""
        limit = filters.pop("limit")
        views, total = public_views.map_reports(runtime(), filters, limit)
        collection = geojson.feature_collection(views, total=total, limit=limit)
        return Response(orjson.dumps(collection), mimetype=geojson.MEDIA_TYPE)


@blp.route("/statistics")
class PublicStatistics(MethodView):
    @public_rate_limited
    @blp.arguments(StatisticsQuerySchema, location="query")
    @blp.response(200, StatisticsSchema)
    def get(self, filters):
        """Statistik per OPD untuk satu periode: laporan diterima, verifikasi dan tindak lanjut
        tepat waktu (%), median hari penyelesaian, rata-rata kepuasan pelapor

        Rumusnya dijelaskan di docs/lapor.md ("Statistik publik").
        """
        rt = runtime()
        now = rt.clock()
        start, end = StatisticsQuerySchema.period(filters, now.astimezone(rt.calendar.tz).date())
        return statistics.opd_statistics(rt, start, end, now=now, opd=filters.get("opd"))
