"""SIBER's staff API: authoring, the editorial workflow, revisions, comments, assignments.

Views parse, call one use case and shape the answer. Changes to an article need the ETag
it was loaded with in `If-Match` (412 when someone saved in between).
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import authenticated_principal, current_principal, roles_required
from services.common.citizen import citizen_rate_limited
from services.common.errors import NotFound
from services.common.http import if_match_doc, if_match_header, paginated, runtime, with_etag
from services.siber import (
    articles,
    assignments,
    comments,
    daily_duty,
    domain,
    photos,
    revisions,
    workflow,
)
from services.siber.schemas import (
    ArticleInSchema,
    ArticleListQuerySchema,
    ArticleSchema,
    ArticleSummarySchema,
    ArticleUpdateSchema,
    AssignmentInSchema,
    AssignmentListQuerySchema,
    AssignmentSchema,
    CommentInSchema,
    CommentSchema,
    CorrectionSchema,
    CoverSchema,
    DiffQuerySchema,
    DiffSchema,
    NotesSchema,
    PhotoInSchema,
    PhotoMetaSchema,
    PhotoSchema,
    QuotaInSchema,
    QuotaSchema,
    ReasonSchema,
    RevisionSchema,
    RevisionSummarySchema,
    ScheduleSchema,
)

blp = Blueprint(
    "siber_staff",
    __name__,
    url_prefix="/api/v1",
    description="Ruang redaksi: penulisan berita oleh humas OPD dan alur kerja redaktur Diskominfo.",
)

STAFF = domain.STAFF_ROLES
NEWSROOM = (domain.EDITOR, domain.ADMIN)
IF_MATCH_DOC = if_match_doc(
    "ETag berita yang terakhir dimuat.",
    responses={"412": {"description": "Berita telah diubah orang lain"}, "428": {"description": "If-Match wajib"}},
)


def blueprints() -> list[Blueprint]:
    return [blp]


@blp.route("/articles")
class Articles(MethodView):
    @roles_required(domain.HUMAS)
    @blp.arguments(ArticleInSchema)
    @blp.response(201, ArticleSchema)
    def post(self, data):
        """Tulis draf berita baru untuk OPD sendiri (humas)"""
        return with_etag(articles.create_article(runtime(), current_principal(), data), 201)

    @roles_required(*STAFF)
    @blp.arguments(ArticleListQuerySchema, location="query")
    @blp.response(200, ArticleSummarySchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Daftar berita yang boleh dilihat petugas (humas: OPD sendiri; redaktur: semua)

        `q` mencari pada judul, slug dan kode OPD.
        """
        return articles.list_articles(runtime(), current_principal(), filters, page)


@blp.route("/articles/<int:article_id>")
class ArticleItem(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, ArticleSchema)
    def get(self, article_id):
        """Satu berita, dengan ETag untuk perubahan berikutnya"""
        return with_etag(articles.get_article(runtime(), current_principal(), article_id))

    @roles_required(*STAFF)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ArticleUpdateSchema)
    @blp.response(200, ArticleSchema)
    def patch(self, data, article_id):
        """Ubah isian berita (penulis pada draf atau revisi; redaktur selama ditinjau)"""
        return with_etag(
            articles.update_article(runtime(), current_principal(), article_id, data, if_match=if_match_header())
        )


def _action_view(action: str, schema, summary: str, roles: tuple[str, ...]):
    """One POST endpoint per workflow action, `/articles/<id>/<action>`."""

    if schema is None:

        def post(self, article_id):
            return with_etag(
                workflow.act(runtime(), current_principal(), article_id, action, if_match=if_match_header())
            )

        post = blp.response(200, ArticleSchema)(post)
    else:

        def post(self, data, article_id):
            return with_etag(
                workflow.act(runtime(), current_principal(), article_id, action, data, if_match=if_match_header())
            )

        post = blp.response(200, ArticleSchema)(blp.arguments(schema)(post))
    post.__doc__ = summary
    post = roles_required(*roles)(blp.doc(**IF_MATCH_DOC)(post))
    view = type(f"Article_{action}", (MethodView,), {"post": post})
    blp.route(f"/articles/<int:article_id>/{action.replace('_', '-')}", endpoint=f"article_{action}")(view)


for _action, _schema, _summary, _roles in (
    ("submit", None, "Ajukan draf kepada redaktur (humas OPD penulis)", (domain.HUMAS,)),
    ("resubmit", None, "Ajukan kembali setelah revisi (humas OPD penulis)", (domain.HUMAS,)),
    ("claim", None, "Ambil berita untuk ditinjau (redaktur)", NEWSROOM),
    ("request_revision", NotesSchema, "Kembalikan kepada penulis dengan catatan revisi (redaktur)", NEWSROOM),
    ("approve", None, "Setujui untuk diterbitkan (redaktur)", NEWSROOM),
    ("schedule", ScheduleSchema, "Jadwalkan penerbitan pada waktu tertentu (redaktur)", NEWSROOM),
    ("publish", None, "Terbitkan sekarang (redaktur)", NEWSROOM),
    ("correct", CorrectionSchema, "Koreksi berita terbit dengan catatan yang tampil (redaktur)", NEWSROOM),
    ("take_down", ReasonSchema, "Turunkan berita terbit dengan alasan; tetap tersimpan (redaktur)", NEWSROOM),
    ("reject", ReasonSchema, "Tolak berita dengan alasan; final (redaktur)", NEWSROOM),
):
    _action_view(_action, _schema, _summary, _roles)


@blp.route("/articles/<int:article_id>/revisions")
class Revisions(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, RevisionSummarySchema(many=True))
    def get(self, article_id):
        """Riwayat revisi berita: setiap penyimpanan penulis atau redaktur"""
        return revisions.list_revisions(runtime(), current_principal(), article_id)


@blp.route("/articles/<int:article_id>/revisions/<int:number>")
class RevisionItem(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, RevisionSchema)
    def get(self, article_id, number):
        """Isi berita pada satu revisi"""
        return revisions.get_revision(runtime(), current_principal(), article_id, number)


@blp.route("/articles/<int:article_id>/diff")
class RevisionDiff(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(DiffQuerySchema, location="query")
    @blp.response(200, DiffSchema)
    def get(self, query, article_id):
        """Perbedaan antara dua revisi, per isian (unified diff)"""
        return revisions.diff(runtime(), current_principal(), article_id, query["base"], query["to"])


# -- photos -------------------------------------------------------------------------------------


@blp.route("/articles/<int:article_id>/photos")
class ArticlePhotos(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(PhotoInSchema)
    @blp.response(201, PhotoSchema)
    def post(self, data, article_id):
        """Unggah foto berita (JPEG, PNG atau WebP, base64) dengan keterangan dan kredit

        Jenis berkas diperiksa dari isinya; metadata dan lokasi GPS dibuang. Versi web dan
        gambar kecil dibuat oleh worker (`renditions_ready`).
        """
        return photos.upload(runtime(), current_principal(), article_id, data)


@blp.route("/photos/<int:photo_id>")
class PhotoItem(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(PhotoMetaSchema)
    @blp.response(200, PhotoSchema)
    def patch(self, data, photo_id):
        """Ubah keterangan, kredit atau urutan foto"""
        return photos.update(runtime(), current_principal(), photo_id, data)

    @roles_required(*STAFF)
    @blp.response(204)
    def delete(self, photo_id):
        """Lepaskan foto dari berita"""
        photos.remove(runtime(), current_principal(), photo_id)


@blp.route("/photos/<int:photo_id>/<string:variant>")
class PhotoContent(MethodView):
    # Staff with a valid token are not throttled: a whole newsroom shares one address.
    @citizen_rate_limited
    @blp.doc(responses={"200": {"description": "Berkas gambar", "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
    def get(self, photo_id, variant):
        """Berkas foto: `original`, `web` atau `thumb` (publik untuk berita terbit)"""
        if variant not in photos.VARIANTS:
            raise NotFound(photos.NOT_FOUND)
        data, content_type = photos.content(runtime(), authenticated_principal(), photo_id, variant)
        response = Response(data, mimetype=content_type)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


# -- comments -----------------------------------------------------------------------------------


@blp.route("/articles/<int:article_id>/comments")
class ArticleComments(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, CommentSchema(many=True))
    def get(self, article_id):
        """Komentar redaksi berbentuk utas (hanya untuk petugas)"""
        return comments.thread(runtime(), current_principal(), article_id)

    @roles_required(*STAFF)
    @blp.arguments(CommentInSchema)
    @blp.response(201, CommentSchema)
    def post(self, data, article_id):
        """Tulis komentar, atau balas komentar lain dengan `parent_id`"""
        return comments.add_comment(runtime(), current_principal(), article_id, data)


# -- assignments --------------------------------------------------------------------------------


@blp.route("/assignments")
class Assignments(MethodView):
    @roles_required(*NEWSROOM)
    @blp.arguments(AssignmentInSchema)
    @blp.response(201, AssignmentSchema)
    def post(self, data):
        """Tugaskan OPD meliput kegiatan mendatang dengan batas waktu (redaktur)"""
        return with_etag(assignments.create(runtime(), current_principal(), data), 201)

    @roles_required(*STAFF)
    @blp.arguments(AssignmentListQuerySchema, location="query")
    @blp.response(200, AssignmentSchema(many=True))
    @paginated(blp)
    def get(self, filters, page):
        """Daftar penugasan (humas: OPD sendiri; redaktur: semua)"""
        return assignments.list_assignments(runtime(), current_principal(), filters, page)


@blp.route("/assignments/<int:assignment_id>")
class AssignmentItem(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, AssignmentSchema)
    def get(self, assignment_id):
        """Satu penugasan, dengan ETag"""
        return with_etag(assignments.get(runtime(), current_principal(), assignment_id))


@blp.route("/assignments/<int:assignment_id>/fulfilment")
class AssignmentFulfilment(MethodView):
    @roles_required(*STAFF)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(CoverSchema)
    @blp.response(200, AssignmentSchema)
    def post(self, data, assignment_id):
        """Tandai penugasan terpenuhi oleh berita OPD yang sudah diajukan"""
        return with_etag(assignments.fulfil(
            runtime(), current_principal(), assignment_id, data["article_id"], if_match=if_match_header()
        ))


@blp.route("/assignments/<int:assignment_id>/cancellation")
class AssignmentCancellation(MethodView):
    @roles_required(*NEWSROOM)
    @blp.doc(**IF_MATCH_DOC)
    @blp.response(200, AssignmentSchema)
    def post(self, assignment_id):
        """Batalkan penugasan (redaktur)"""
        return with_etag(assignments.cancel(runtime(), current_principal(), assignment_id, if_match=if_match_header()))


# -- daily quotas -------------------------------------------------------------------------------


@blp.route("/quotas")
class Quotas(MethodView):
    @roles_required(*STAFF, domain.OPD_HEAD)
    @blp.response(200, QuotaSchema(many=True))
    def get(self):
        """Kuota berita harian setiap OPD aktif"""
        return daily_duty.quotas(runtime())


@blp.route("/quotas/<string:opd>")
class QuotaItem(MethodView):
    @roles_required(*NEWSROOM)
    @blp.arguments(QuotaInSchema)
    @blp.response(200, QuotaSchema)
    def put(self, data, opd):
        """Tetapkan kuota berita harian satu OPD (redaktur)"""
        if opd not in runtime().opds:
            raise NotFound("OPD tidak dikenal.")
        return daily_duty.set_quota(runtime(), current_principal(), opd, data["per_day"])
