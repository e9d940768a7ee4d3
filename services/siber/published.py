"""What the public reads: published articles, their feeds and the sitemap.

Only articles in a public state (`domain.PUBLIC_STATES`) are ever loaded here; a taken-down
article's slug answers 410 with its reason and date, never its body, and every other state
answers 404 as if the slug did not exist. Comments and revisions are not read at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from sqlalchemy import Select, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, defer

from services.common.calendar import format_date_id
from services.common.errors import DomainError, NotFound
from services.common.listing import Page, Search, fetch_page, search_terms
from services.common.runtime import Runtime
from services.siber import domain, feeds, presenters, sitemap
from services.siber.models import Article, ArticleTag, Photo

FEED_SIZE = 50
# The day the feeds' tag: URIs were minted; fixed, so their ids never change.
FEED_EPOCH = date(2026, 1, 1)
PHOTO_PATH = presenters.PHOTO_PATH
NOT_FOUND = "Berita tidak ditemukan."
LIKE_SEARCH = Search(Article.title, Article.lead, Article.body_html, Article.place)


class Gone(DomainError):
    status = 410


@dataclass(frozen=True)
class FeedScope:
    """Which published articles a feed or a list holds: all, one OPD's, or one tag's."""

    opd: str | None = None
    tag: str | None = None

    @property
    def path(self) -> str:
        if self.opd:
            return f"opd/{self.opd}"
        if self.tag:
            return f"tags/{self.tag}"
        return "all"


# --- full-text search --------------------------------------------------------------------


@lru_cache(maxsize=8)
def text_search_config(engine: Engine) -> str:
    """'indonesian' (stemmed, stop words dropped) where the server has it, else 'simple'."""
    with engine.connect() as connection:
        found = connection.scalar(text("SELECT 1 FROM pg_ts_config WHERE cfgname = 'indonesian'"))
    return "indonesian" if found else "simple"


def _document(config: str):
    # `config` is one of two fixed names, so it is spelled into the SQL as a literal.
    parts = [func.coalesce(column, text("''")) for column in LIKE_SEARCH.columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(text("' '")).op("||")(part)
    return func.to_tsvector(text(f"'{config}'::regconfig"), joined)


def _searched(session: Session, statement: Select, q: str | None) -> Select:
    terms = search_terms(q)
    if not terms:
        return statement.order_by(Article.published_at.desc(), Article.id.desc())
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return LIKE_SEARCH.apply(statement, q).order_by(
            Article.published_at.desc(), Article.id.desc())
    config = text_search_config(bind.engine if hasattr(bind, "engine") else bind)
    # Terms hold letters and digits only, so nothing in them is tsquery syntax.
    query = func.to_tsquery(text(f"'{config}'::regconfig"), " & ".join(f"{t}:*" for t in terms))
    document = _document(config)
    return statement.where(document.op("@@")(query)).order_by(
        func.ts_rank(document, query).desc(), Article.published_at.desc(), Article.id.desc())


# --- presenting ----------------------------------------------------------------------------


def article_url(rt: Runtime, slug: str) -> str:
    return f"{rt.settings.public_url}/berita/{quote(slug)}"


def _authority(rt: Runtime) -> str:
    return urlsplit(rt.settings.public_url).hostname or "localhost"


def entry_id(rt: Runtime, article: Article) -> str:
    return feeds.tag_uri(_authority(rt), article.published_at, f"siber/articles/{article.id}")


def last_change(article: Article) -> datetime:
    return max(filter(None, (article.published_at, article.corrected_at)))


def _opd_name(rt: Runtime, code: str) -> str:
    return rt.opds.name_of(code) or code


def _photo(photo: Photo) -> dict[str, Any]:
    return {
        "caption": photo.caption,
        "credit": photo.credit,
        "width": photo.width,
        "height": photo.height,
        "url": PHOTO_PATH.format(id=photo.id, variant="web"),
        "thumb_url": PHOTO_PATH.format(id=photo.id, variant="thumb"),
    }


def _summary(rt: Runtime, article: Article, thumb: Photo | None) -> dict[str, Any]:
    return {
        "slug": article.slug,
        "title": article.title,
        "lead": article.lead,
        "opd": article.opd,
        "opd_name": _opd_name(rt, article.opd),
        "tags": article.tag_names,
        "published_at": article.published_at,
        "updated_at": last_change(article),
        "corrected": article.corrected_at is not None,
        "url": article_url(rt, article.slug),
        "thumb_url": PHOTO_PATH.format(id=thumb.id, variant="thumb") if thumb else None,
    }


def _ready_photos(session: Session, article_ids: Sequence[int]) -> dict[int, list[Photo]]:
    if not article_ids:
        return {}
    rows = session.scalars(
        select(Photo).where(Photo.article_id.in_(article_ids), Photo.renditions_ready.is_(True))
        .order_by(Photo.article_id, Photo.position, Photo.id)
    ).all()
    grouped: dict[int, list[Photo]] = {}
    for photo in rows:
        grouped.setdefault(photo.article_id, []).append(photo)
    return grouped


# --- use cases -----------------------------------------------------------------------------


def _published(scope: FeedScope) -> Select:
    statement = select(Article).where(Article.status.in_(domain.PUBLIC_STATES))
    if scope.opd:
        statement = statement.where(Article.opd == scope.opd)
    if scope.tag:
        statement = statement.where(Article.id.in_(
            select(ArticleTag.article_id).where(ArticleTag.tag == scope.tag)))
    return statement


def list_articles(rt: Runtime, scope: FeedScope, q: str | None, page: Page
                  ) -> tuple[list[dict[str, Any]], int]:
    with rt.session_factory() as session:
        # A summary shows no body: the list does not read the longest column.
        statement = _searched(session, _published(scope), q).options(defer(Article.body_html))
        articles, total = fetch_page(session, statement, page)
        photos = _ready_photos(session, [a.id for a in articles])
        return [_summary(rt, a, (photos.get(a.id) or [None])[0]) for a in articles], total


def get_article(rt: Runtime, slug: str) -> dict[str, Any]:
    with rt.session_factory() as session:
        article = session.scalars(select(Article).where(Article.slug == slug)).one_or_none()
        if article is None or article.status not in (*domain.PUBLIC_STATES, domain.TAKEN_DOWN):
            raise NotFound(NOT_FOUND)
        if article.status == domain.TAKEN_DOWN:
            when = article.taken_down_at.astimezone(rt.calendar.tz).date()
            raise Gone(f"Berita ini telah diturunkan pada {format_date_id(when)}. "
                       f"Alasan: {article.takedown_reason or 'tidak disebutkan'}")
        photos = _ready_photos(session, [article.id]).get(article.id, [])
        return {
            **_summary(rt, article, photos[0] if photos else None),
            "body_html": article.body_html,
            "activity_date": article.activity_date,
            "place": article.place,
            "corrected_at": article.corrected_at,
            "correction_note": article.correction_note,
            "photos": [_photo(p) for p in photos],
        }


# --- feeds and the sitemap ------------------------------------------------------------------


@dataclass(frozen=True)
class FeedValidators:
    etag: str
    last_modified: datetime | None


def _feed_rows(session: Session, scope: FeedScope) -> list[Article]:
    statement = _published(scope).order_by(Article.published_at.desc(), Article.id.desc())
    return list(session.scalars(statement.limit(FEED_SIZE)).all())


def _feed_info(rt: Runtime, scope: FeedScope) -> feeds.FeedInfo:
    regency = rt.opds.regency.name if rt.opds.regency else "Pemerintah Kabupaten"
    title = f"Berita {regency}"
    if scope.opd:
        title = f"Berita {_opd_name(rt, scope.opd)}"
    elif scope.tag:
        title = f"Berita {regency}: {scope.tag}"
    base = f"{rt.settings.public_url}/api/v1/public/feeds/{scope.path}"
    return feeds.FeedInfo(
        id=feeds.tag_uri(_authority(rt), datetime.combine(FEED_EPOCH, datetime.min.time(),
                                                          tzinfo=rt.calendar.tz),
                         f"siber/feeds/{scope.path}"),
        title=title,
        description=f"Berita kegiatan perangkat daerah {regency}",
        home_url=f"{rt.settings.public_url}/",
        feed_urls={kind: f"{base}.{kind}" for kind in feeds.FORMATS},
        author=regency,
    )


def _entries(rt: Runtime, session: Session, articles: Sequence[Article]) -> list[feeds.FeedEntry]:
    photos = _ready_photos(session, [a.id for a in articles])
    entries = []
    for article in articles:
        first = (photos.get(article.id) or [None])[0]
        body = article.body_html
        if article.correction_note:
            body = f"{body}<p><em>Koreksi: {escape(article.correction_note)}</em></p>"
        entries.append(feeds.FeedEntry(
            id=entry_id(rt, article),
            url=article_url(rt, article.slug),
            title=article.title,
            summary=article.lead,
            content_html=body,
            published=article.published_at.astimezone(rt.calendar.tz),
            updated=last_change(article).astimezone(rt.calendar.tz),
            author=_opd_name(rt, article.opd),
            tags=tuple(article.tag_names),
            image=(rt.settings.public_url + PHOTO_PATH.format(id=first.id, variant="web")
                   if first else None),
        ))
    return entries


def feed_validators(rt: Runtime, scope: FeedScope, kind: str) -> FeedValidators:
    """The feed's ETag and Last-Modified, read from the few columns they depend on."""
    with rt.session_factory() as session:
        statement = _published(scope).with_only_columns(
            Article.id, Article.published_at, Article.corrected_at
        ).order_by(Article.published_at.desc(), Article.id.desc()).limit(FEED_SIZE)
        rows = session.execute(statement).all()
    authority = _authority(rt)
    stand_ins = [
        feeds.FeedEntry(
            id=feeds.tag_uri(authority, row.published_at, f"siber/articles/{row.id}"), url="",
            title="", summary="", content_html="", author="", published=row.published_at,
            updated=max(filter(None, (row.published_at, row.corrected_at))))
        for row in rows
    ]
    return FeedValidators(feeds.etag(kind, scope.path, stand_ins), feeds.last_modified(stand_ins))


def feed(rt: Runtime, scope: FeedScope, kind: str, *, at: datetime) -> bytes | dict:
    with rt.session_factory() as session:
        entries = _entries(rt, session, _feed_rows(session, scope))
        return feeds.render(kind, _feed_info(rt, scope), entries, built_at=at)


def sitemap_document(rt: Runtime) -> bytes:
    with rt.session_factory() as session:
        rows = session.execute(
            select(Article.slug, Article.published_at, Article.corrected_at)
            .where(Article.status.in_(domain.PUBLIC_STATES))
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(sitemap.MAX_URLS)
        ).all()
    return sitemap.sitemap(
        (article_url(rt, row.slug), max(filter(None, (row.published_at, row.corrected_at))))
        for row in rows
    )
