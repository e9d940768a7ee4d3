"""HTTP API of the reporter's word on their report (with `X-Access-Token`) and of the
followers of a public report.

The reporter replies, rejects the answer or accepts and rates it; each answer is the report
as its reporter sees it. A follower gives an e-mail address, which receives a token that
confirms the following and later ends it.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.citizen import citizen_rate_limited
from services.common.http import note_in_access_log, now, public_rate_limited, runtime
from services.lapor import followers, reporter
from services.lapor.intake import ACCESS
from services.lapor.schemas import CitizenReportSchema
from services.lapor.stage_schemas import (
    ConfirmFollowSchema,
    FollowingSchema,
    FollowRequestedSchema,
    FollowSchema,
    RatingSchema,
    RejectSchema,
    ReplySchema,
    UnfollowedSchema,
    UnfollowSchema,
)

blp = Blueprint(
    "lapor_reporter",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Tanggapan pelapor atas laporannya (balasan, penolakan jawaban, penilaian) dengan token "
        "akses, dan pengikut laporan publik."
    ),
)


@blp.route("/reports/<string:number>/replies")
class Replies(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(ReplySchema)
    @blp.response(200, CitizenReportSchema)
    def post(self, data, number):
        """Kirim balasan atas laporan Anda (pelapor, dengan token akses)"""
        return reporter.reply(runtime(), number, data["message"], token=ACCESS.token(), now=now())


@blp.route("/reports/<string:number>/rejection")
class Rejection(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(RejectSchema)
    @blp.response(200, CitizenReportSchema)
    def post(self, data, number):
        """Tolak jawaban OPD dengan alasan; laporan kembali ditindaklanjuti OPD"""
        return reporter.reject(runtime(), number, data["reason"], token=ACCESS.token(), now=now())


@blp.route("/reports/<string:number>/rating")
class Rating(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(RatingSchema)
    @blp.response(200, CitizenReportSchema)
    def post(self, data, number):
        """Terima jawaban dan beri penilaian 1 sampai 5; laporan ditutup

        Hanya setelah laporan dinyatakan selesai, dan hanya sekali.
        """
        return reporter.rate(
            runtime(), number, data["rating"], data.get("comment"), token=ACCESS.token(), now=now()
        )


@blp.route("/reports/<string:number>/followers")
class Followers(MethodView):
    @public_rate_limited
    @blp.arguments(FollowSchema)
    @blp.response(202, FollowRequestedSchema)
    def post(self, data, number):
        """Minta mengikuti laporan publik; token konfirmasi dikirim ke alamat surel

        Jawabannya selalu sama, baik alamat itu sudah mengikuti maupun belum. Kabar
        perkembangan baru dikirim setelah alamat dikonfirmasi.
        """
        answer = followers.follow(runtime(), number, data["email"], now=now())
        note_in_access_log(number=answer["number"])
        return answer


@blp.route("/reports/<string:number>/followers/confirm")
class ConfirmFollow(MethodView):
    @public_rate_limited
    @blp.arguments(ConfirmFollowSchema)
    @blp.response(200, FollowingSchema)
    def post(self, data, number):
        """Konfirmasi mengikuti laporan dengan token dari surel konfirmasi

        Token yang sama dipakai untuk berhenti mengikuti.
        """
        return followers.confirm(runtime(), number, data["token"], now=now())


@blp.route("/reports/<string:number>/followers/unfollow")
class Unfollow(MethodView):
    @public_rate_limited
    @blp.arguments(UnfollowSchema)
    @blp.response(200, UnfollowedSchema)
    def post(self, data, number):
        """Berhenti mengikuti laporan, dengan token dari surel konfirmasi"""
        return followers.unfollow(runtime(), number, data["token"])
