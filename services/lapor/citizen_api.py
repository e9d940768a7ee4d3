"""HTTP API of the citizen: filing a report, following it with its access token, answering
the admin's question, and asking for a new token by e-mail.

Views parse, call one use case and shape the answer. Every endpoint here is reached without
a bearer token and carries the public rate limit.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.citizen import (
    ReissueAnswerSchema,
    ReissueSchema,
    citizen_rate_limited,
    reissue_after_answer,
)
from services.common.http import (
    GuardedJsonParser,
    PlainAnswer,
    note_in_access_log,
    public_rate_limited,
    runtime,
)
from services.lapor import intake, verification
from services.lapor.schemas import (
    CitizenReportSchema,
    ClarificationAnswerSchema,
    SubmitReportSchema,
    SubmittedSchema,
)

blp = Blueprint(
    "lapor_citizen",
    __name__,
    url_prefix="/api/v1",
    description="Laporan warga (pengaduan, aspirasi, permintaan informasi) tanpa akun.",
)
ACCESS = intake.ACCESS
# Before any `@blp.arguments` below, which bind the parser.
blp.ARGUMENTS_PARSER = GuardedJsonParser()

# The submission is the busiest endpoint; a marshmallow schema keeps no state between
# loads, so it gets one instance for the life of the process.
_SUBMIT_SCHEMA = SubmitReportSchema()
_SUBMITTED = PlainAnswer(SubmittedSchema)


@blp.route("/reports")
class Reports(MethodView):
    @public_rate_limited
    @blp.arguments(_SUBMIT_SCHEMA)
    @blp.response(201, SubmittedSchema)
    def post(self, data):
        """Sampaikan laporan (tanpa akun)

        Jawaban memuat nomor laporan, token akses (hanya sekali), batas waktu verifikasi oleh
        admin LAPOR! dan penjelasan perhitungannya. Lokasi di luar Kabupaten Kapuas ditolak.
        Pilih `anonim` agar nama disembunyikan dari siapa pun, atau `rahasia` agar laporan
        tidak dipublikasikan dan identitas hanya diketahui admin LAPOR! kabupaten.
        """
        rt = runtime()
        submitted = intake.submit(rt, data, now=rt.clock())
        note_in_access_log(number=submitted["number"])
        return _SUBMITTED.response(submitted, 201)


@blp.route("/reports/<string:number>")
class ReportItem(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.response(200, CitizenReportSchema)
    def get(self, number):
        """Pantau laporan Anda dengan token akses

        Memuat status, batas waktu, percakapan dengan admin dan OPD, dan riwayat laporan.
        """
        return intake.citizen_view(runtime(), number, ACCESS.token())


@blp.route("/reports/<string:number>/clarification")
class Clarification(MethodView):
    @citizen_rate_limited
    @blp.doc(**ACCESS.doc)
    @blp.arguments(ClarificationAnswerSchema)
    @blp.response(200, CitizenReportSchema)
    def post(self, data, number):
        """Jawab permintaan penjelasan dari admin LAPOR!

        Setelah dijawab, laporan kembali menunggu verifikasi dengan sisa waktu yang ada saat
        penjelasan diminta.
        """
        rt = runtime()
        return verification.answer_clarification(rt, number, data["answer"], token=ACCESS.token(), now=rt.clock())


@blp.route("/reports/<string:number>/access-token")
class AccessToken(MethodView):
    @public_rate_limited
    @blp.arguments(ReissueSchema)
    @blp.response(202, ReissueAnswerSchema)
    def post(self, data, number):
        """Minta token akses baru bila token hilang; dikirim ke alamat email pelapor

        Jawabannya selalu sama, baik nomor dan alamat cocok maupun tidak. Bila cocok, token
        baru dikirim ke alamat email yang dicantumkan saat melapor dan token lama tidak
        berlaku lagi.
        """
        return reissue_after_answer(intake.reissue_access_token, number, data["email"])
