"""Editorial comments, threaded on an article and private to staff (never public)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common.errors import Invalid
from services.common.runtime import Runtime
from services.siber import articles, presenters
from services.siber.models import Comment


def add_comment(rt: Runtime, principal, article_id: int, data: dict[str, Any]) -> dict[str, Any]:
    now = articles.now_of(rt)
    with rt.uow() as uow:
        article = articles.load_for_staff(uow.session, principal, article_id)
        parent_id = data.get("parent_id")
        if parent_id is not None:
            parent = uow.session.get(Comment, parent_id)
            if parent is None or parent.article_id != article.id:
                raise Invalid("Isian tidak valid.", {"parent_id": ["Komentar yang dibalas tidak ada pada berita ini."]})
        comment = Comment(
            article_id=article.id, parent_id=parent_id, author_sub=principal.sub,
            author_name=principal.name, body=data["body"], created_at=now,
        )
        uow.session.add(comment)
        uow.session.flush()
        view = presenters.comment_view(comment)
        uow.commit()
        return view


def thread(rt: Runtime, principal, article_id: int) -> list[dict[str, Any]]:
    """The article's comments as a tree: top-level comments oldest first, each with its replies."""
    with rt.uow() as uow:
        articles.load_for_staff(uow.session, principal, article_id)
        rows = list(uow.session.scalars(
            select(Comment).where(Comment.article_id == article_id).order_by(Comment.created_at, Comment.id)
        ))
        views = {c.id: presenters.comment_view(c) for c in rows}
    roots = []
    for view in views.values():
        parent = views.get(view["parent_id"]) if view["parent_id"] else None
        (parent["replies"] if parent else roots).append(view)
    return roots
