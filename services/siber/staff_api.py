"""SIBER's staff API: authoring, the editorial workflow, revisions, comments, assignments.

Views parse, call one use case and shape the answer. Changes to an article need the ETag
it was loaded with in `If-Match` (412 when someone saved in between).
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, roles_required
from services.common.http import if_match_header, paginated, runtime
from services.siber import articles, domain, revisions, workflow
from services.siber.schemas import (
    ArticleInSchema,
    ArticleListQuerySchema,
    ArticleSchema,
    ArticleSummarySchema,
    ArticleUpdateSchema,
    CorrectionSchema,
    DiffQuerySchema,
    DiffSchema,
    NotesSchema,
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
IF_MATCH_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "If-Match",
            "required": True,
            "schema": {"type": "string"},
            "description": "ETag berita yang terakhir dimuat.",
        }
    ],
    "responses": {"412": {"description": "Berita telah diubah orang lain"}, "428": {"description": "If-Match wajib"}},
}


def blueprints() -> list[Blueprint]:
    return [blp]


def _with_etag(result: tuple[dict, str], status: int = 200):
    view, tag = result
    return view, status, {"ETag": tag}


@blp.route("/articles")
class Articles(MethodView):
    @roles_required(domain.HUMAS)
    @blp.arguments(ArticleInSchema)
    @blp.response(201, ArticleSchema)
    def post(self, data):
        """Tulis draf berita baru untuk OPD sendiri (humas)"""
        return _with_etag(articles.create_article(runtime(), current_principal(), data), 201)

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
        return _with_etag(articles.get_article(runtime(), current_principal(), article_id))

    @roles_required(*STAFF)
    @blp.doc(**IF_MATCH_DOC)
    @blp.arguments(ArticleUpdateSchema)
    @blp.response(200, ArticleSchema)
    def patch(self, data, article_id):
        """Ubah isian berita (penulis pada draf atau revisi; redaktur selama ditinjau)"""
        return _with_etag(
            articles.update_article(runtime(), current_principal(), article_id, data, if_match=if_match_header())
        )


def _action_view(action: str, schema, summary: str, roles: tuple[str, ...]):
    """One POST endpoint per workflow action, `/articles/<id>/<action>`."""

    if schema is None:

        def post(self, article_id):
            return _with_etag(
                workflow.act(runtime(), current_principal(), article_id, action, if_match=if_match_header())
            )

        post = blp.response(200, ArticleSchema)(post)
    else:

        def post(self, data, article_id):
            return _with_etag(
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
