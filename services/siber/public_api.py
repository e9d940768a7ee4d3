"""The public reading API: published articles, feeds and the sitemap.

A published article's photos are served by the photo endpoint of the staff API, which
answers everyone for a published article.

Views only shape the HTTP answer; what is read and who may see it is `published`'s. Feeds
answer a conditional GET (If-None-Match, else If-Modified-Since) with 304 before anything
is built, from validators read off three columns.
"""

from __future__ import annotations

import orjson
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.http import unquote_etag

from services.common.errors import NotFound
from services.common.http import now, paginated, public_rate_limited, runtime
from services.siber import domain, feeds, published, sitemap
from services.siber.public_schemas import (
    PublicArticleQuerySchema,
    PublicArticleSchema,
    PublicArticleSummarySchema,
)

blp = Blueprint("siber_public", __name__, url_prefix="/api/v1/public",
                description="Berita yang telah terbit, untuk umum: daftar, pencarian, umpan, peta situs.")

FEED_CACHE = "public, max-age=300"
KINDS = "any(rss, atom, json)"
# JSON Feed 1.1's required members; the rest are documented by the specification itself.
_JSON_FEED = {"type": "object", "required": ["version", "title", "items"],
              "properties": {"version": {"type": "string"}, "title": {"type": "string"},
                             "items": {"type": "array", "items": {
                                 "type": "object", "required": ["id"],
                                 "properties": {"id": {"type": "string"}}}}}}
_FEED_CONTENT = {
    "application/rss+xml": {"schema": {"type": "string"}},
    "application/atom+xml": {"schema": {"type": "string"}},
    "application/feed+json": {"schema": _JSON_FEED},
}
FEED_DOC = {
    "responses": {
        "200": {"description": "Umpan berita", "content": _FEED_CONTENT},
        "304": {"description": "Umpan tidak berubah sejak salinan yang dimiliki pembaca."},
        "404": {"description": "OPD atau tag tidak dikenal."},
    }
}


@blp.route("/articles")
class PublicArticles(MethodView):
    @public_rate_limited
    @blp.arguments(PublicArticleQuerySchema, location="query")
    @blp.response(200, PublicArticleSummarySchema(many=True))
    @paginated(blp)
    def get(self, query, page):
        """Berita yang telah terbit, terbaru dahulu; per OPD, per tag, atau dengan pencarian"""
        tag = domain.normalise_tag(query["tag"]) if query.get("tag") else None
        if query.get("tag") and not tag:
            return [], 0
        scope = published.FeedScope(opd=query.get("opd"), tag=tag)
        return published.list_articles(runtime(), scope, query.get("q"), page)


@blp.route("/articles/<string:slug>")
class PublicArticle(MethodView):
    @public_rate_limited
    @blp.response(200, PublicArticleSchema)
    @blp.alt_response(404, description="Tidak ada berita terbit dengan alamat ini.")
    @blp.alt_response(410, description="Berita telah diturunkan; pesan menyebut tanggal dan alasannya.")
    def get(self, slug):
        """Satu berita yang telah terbit, dengan foto dan catatan koreksinya"""
        return published.get_article(runtime(), slug)


def _not_modified(validators: published.FeedValidators) -> bool:
    tag, _weak = unquote_etag(validators.etag)
    if request.if_none_match:
        return request.if_none_match.contains_weak(tag)
    since = request.if_modified_since
    if since is None or validators.last_modified is None:
        return False
    return validators.last_modified.replace(microsecond=0) <= since


def _feed_response(scope: published.FeedScope, kind: str) -> Response:
    rt = runtime()
    validators = published.feed_validators(rt, scope, kind)
    if _not_modified(validators):
        response = Response(status=304)
    else:
        document = published.feed(rt, scope, kind, at=now())
        body = orjson.dumps(document) if isinstance(document, dict) else document
        response = Response(body, content_type=feeds.CONTENT_TYPES[kind])
    tag, weak = unquote_etag(validators.etag)
    response.set_etag(tag, weak=weak)
    if validators.last_modified is not None:
        response.last_modified = validators.last_modified
    response.headers["Cache-Control"] = FEED_CACHE
    return response


def _known_opd(opd: str) -> str:
    if opd not in runtime().opds:
        raise NotFound("OPD tidak dikenal.")
    return opd


def _known_tag(tag: str) -> str:
    normal = domain.normalise_tag(tag)
    if not normal or normal != tag:
        raise NotFound("Tag tidak dikenal; tag ditulis huruf kecil dengan tanda hubung.")
    return normal


@blp.route(f"/feeds/all.<{KINDS}:kind>")
class AllFeed(MethodView):
    @public_rate_limited
    @blp.doc(**FEED_DOC)
    def get(self, kind):
        """Umpan semua berita terbit: RSS 2.0, Atom atau JSON Feed 1.1"""
        return _feed_response(published.FeedScope(), kind)


@blp.route(f"/feeds/opd/<string:opd>.<{KINDS}:kind>")
class OpdFeed(MethodView):
    @public_rate_limited
    @blp.doc(**FEED_DOC)
    def get(self, opd, kind):
        """Umpan berita satu OPD"""
        return _feed_response(published.FeedScope(opd=_known_opd(opd)), kind)


@blp.route(f"/feeds/tags/<string:tag>.<{KINDS}:kind>")
class TagFeed(MethodView):
    @public_rate_limited
    @blp.doc(**FEED_DOC)
    def get(self, tag, kind):
        """Umpan berita dengan satu tag"""
        return _feed_response(published.FeedScope(tag=_known_tag(tag)), kind)


@blp.route("/sitemap.xml")
class Sitemap(MethodView):
    @public_rate_limited
    @blp.doc(responses={"200": {"description": "Peta situs (sitemaps.org 0.9)",
                                "content": {"application/xml": {"schema": {"type": "string"}}}}})
    def get(self):
        """Peta situs berita yang telah terbit"""
        response = Response(published.sitemap_document(runtime()), content_type=sitemap.CONTENT_TYPE)
        response.headers["Cache-Control"] = FEED_CACHE
        return response
