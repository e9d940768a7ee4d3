"""Authoring: a humas writes its OPD's articles; an editor edits what waits for the newsroom.

Every save carries the ETag it was based on (If-Match): a stale one is refused with 412, so
two people editing one article cannot overwrite each other. Every save is a revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.common.concurrency import require_match
from services.common.errors import Forbidden, NotFound
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.siber import domain, presenters, revisions
from services.siber.models import ARTICLE_SEARCH, Article, ArticleTag, Photo
from services.siber.sanitize import sanitize_html

NOT_FOUND = "Berita tidak ditemukan."
TEXT_FIELDS = ("title", "lead", "body_html", "activity_date", "place")


def now_of(rt: Runtime) -> datetime:
    """The service's now in UTC, as every answer and event spells instants."""
    return rt.clock().astimezone(UTC)


def load_for_staff(session: Session, principal, article_id: int, *, lock: bool = False) -> Article:
    """The article if `principal` may see it; another OPD's article is not found (its
    existence is no business of theirs)."""
    statement = select(Article).where(Article.id == article_id)
    if lock:
        statement = statement.with_for_update()
    article = session.scalar(statement)
    if article is None or not domain.scope_of(principal).allows(article.opd):
        raise NotFound(NOT_FOUND)
    return article


def photos_of(session: Session, article_id: int) -> list[Photo]:
    return list(
        session.scalars(select(Photo).where(Photo.article_id == article_id).order_by(Photo.position, Photo.id))
    )


def present(session: Session, article: Article, principal) -> tuple[dict[str, Any], str]:
    return presenters.article_view(article, principal, photos_of(session, article.id))


def create_article(rt: Runtime, principal, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A new draft of the principal's own OPD."""
    if domain.actor_of(principal) != domain.AUTHOR:
        raise Forbidden("Hanya operator humas OPD yang dapat menulis berita.")
    now = now_of(rt)
    with rt.uow() as uow:
        article = Article(
            opd=principal.opd,
            # The slug ends with the id, known only after the insert: a random interim slug
            # holds the unique column until then.
            slug=f"draf-{uuid4().hex}",
            title=data["title"],
            lead=data.get("lead") or "",
            body_html=sanitize_html(data.get("body_html") or ""),
            activity_date=data.get("activity_date"),
            place=data.get("place"),
            status=domain.DRAFT,
            author_sub=principal.sub,
            author_name=principal.name,
            created_at=now,
            updated_at=now,
            tags=[ArticleTag(tag=t) for t in domain.normalise_tags(data.get("tags") or [])],
        )
        uow.session.add(article)
        uow.session.flush()
        article.slug = domain.unique_slug(domain.slugify(article.title), article.id)
        uow.session.flush()
        revisions.record(uow.session, article, principal, at=now)
        result = present(uow.session, article, principal)
        uow.commit()
        return result


def get_article(rt: Runtime, principal, article_id: int) -> tuple[dict[str, Any], str]:
    with rt.uow() as uow:
        return present(uow.session, load_for_staff(uow.session, principal, article_id), principal)


def list_articles(rt: Runtime, principal, filters: dict[str, Any], page: Page) -> tuple[list[dict], int]:
    scope = domain.scope_of(principal).narrowed(filters.get("opd"))
    statement = scope.restrict(select(Article).order_by(Article.updated_at.desc(), Article.id.desc()), Article.opd)
    if filters.get("status"):
        statement = statement.where(Article.status == filters["status"])
    statement = ARTICLE_SEARCH.apply(statement, filters.get("q"))
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, statement.options(selectinload(Article.tags)), page)
        return [presenters.article_summary(a) for a in rows], total


def update_article(
    rt: Runtime, principal, article_id: int, data: dict[str, Any], *, if_match: str | None
) -> tuple[dict[str, Any], str]:
    """Change the given fields of an article its principal may edit now; one revision."""
    now = now_of(rt)
    with rt.uow() as uow:
        article = load_for_staff(uow.session, principal, article_id, lock=True)
        require_match(if_match, presenters.article_etag(article))
        actor = domain.actor_of(principal)
        domain.check_author_opd(principal, article.opd)
        domain.check_editable(article.status, actor)
        apply_changes(article, data)
        if actor == domain.NEWSROOM and article.editor_sub is None:
            article.editor_sub, article.editor_name = principal.sub, principal.name
        article.updated_at = now
        uow.session.flush()
        revisions.record(uow.session, article, principal, at=now)
        result = present(uow.session, article, principal)
        uow.commit()
        return result


def apply_changes(article: Article, data: dict[str, Any]) -> None:
    """Write the given fields; the body is sanitised, the tags normalised."""
    for field in TEXT_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field == "body_html":
            value = sanitize_html(value or "")
        elif field == "lead":
            value = value or ""
        if field == "title" and value is None:
            continue
        setattr(article, field, value)
    if "tags" in data:
        wanted = domain.normalise_tags(data["tags"] or [])
        article.tags[:] = [t for t in article.tags if t.tag in wanted]
        kept = set(article.tag_names)
        article.tags.extend(ArticleTag(tag=t) for t in wanted if t not in kept)
