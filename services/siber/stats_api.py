"""OPD news statistics: a public summary and chart, full detail for the newsroom and the OPDs.

The public sees, per OPD, the working days, the days with a submission, what was published,
the score and the rank. Diskominfo's editors and the administrator see every figure of every
OPD; an OPD's humas and its head see every figure of their own OPD (its rank is still the
rank among all OPDs).
"""

from __future__ import annotations

from datetime import date

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, roles_required
from services.common.http import public_rate_limited, runtime
from services.siber import chart, domain, statistics
from services.siber.public_schemas import (
    DetailQuerySchema,
    PeriodQuerySchema,
    PublicStatisticsSchema,
    StatisticsSchema,
    WeekQuerySchema,
)

blp = Blueprint("siber_statistics", __name__, url_prefix="/api/v1",
                description="Statistik berita OPD: siapa mengirim berita dan siapa diam, skor dan peringkat.")

DETAIL_ROLES = (domain.EDITOR, domain.ADMIN, domain.HUMAS, domain.OPD_HEAD)
CHART_CACHE = "public, max-age=300"


def _today() -> date:
    rt = runtime()
    return rt.clock().astimezone(rt.calendar.tz).date()


def _period(query: dict) -> statistics.Period:
    if query.get("date_from") is not None:
        return statistics.Period(query["date_from"], query["date_to"])
    return statistics.week_of(_today())


@blp.route("/public/statistics")
class PublicStatistics(MethodView):
    @public_rate_limited
    @blp.arguments(PeriodQuerySchema, location="query")
    @blp.response(200, PublicStatisticsSchema)
    def get(self, query):
        """Ringkasan untuk umum: hari kerja dengan berita, berita terbit, skor dan peringkat per OPD"""
        return statistics.public_summary(runtime(), _period(query), today=_today())


@blp.route("/public/statistics/week.svg")
class WeekChart(MethodView):
    @public_rate_limited
    @blp.arguments(WeekQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "Grafik pekan (SVG)",
                                "content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
    def get(self, query):
        """Grafik pekan: hari kerja dengan berita dari hari kerja, per OPD"""
        svg = statistics.week_chart_svg(runtime(), query.get("day") or _today(), today=_today())
        response = Response(svg, content_type=chart.CONTENT_TYPE)
        response.headers["Cache-Control"] = CHART_CACHE
        return response


@blp.route("/statistics")
class Statistics(MethodView):
    @roles_required(*DETAIL_ROLES)
    @blp.arguments(DetailQuerySchema, location="query")
    @blp.response(200, StatisticsSchema)
    def get(self, query):
        """Rincian per OPD: kiriman, terbit, ditolak, foto, median waktu terbit, hari tanpa berita, skor"""
        scope = domain.scope_of(current_principal())
        if query.get("opd"):
            scope.require(query["opd"], "Statistik OPD lain tidak dapat dibuka dengan akun ini.")
            scope = scope.narrowed(query["opd"])
        return statistics.detail(runtime(), scope, _period(query), today=_today())
