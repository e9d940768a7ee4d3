"""Every save of an article is a revision; any two can be compared line by line (difflib)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.common.runtime import Runtime
from services.siber import articles, domain, presenters
from services.siber.models import Article, Revision

DIFFED_FIELDS = ("title", "lead", "body_html", "activity_date", "place", "tags")
# Block-level tags end a line, so a diff of the body reads paragraph by paragraph.
_BLOCK_END = re.compile(r"(</(?:p|h2|h3|h4|li|blockquote|tr|table|ul|ol)>|<br\s*/?>|<hr\s*/?>)")


def record(session: Session, article: Article, principal, *, at) -> Revision:
    """A revision of `article` as it stands now, by `principal` (the article row is locked)."""
    last = session.scalar(select(func.max(Revision.number)).where(Revision.article_id == article.id)) or 0
    revision = Revision(
        article_id=article.id,
        number=last + 1,
        status=article.status,
        title=article.title,
        lead=article.lead,
        body_html=article.body_html,
        activity_date=article.activity_date,
        place=article.place,
        tags=",".join(article.tag_names),
        author_sub=principal.sub,
        author_name=principal.name,
        author_role=domain.actor_of(principal) or "system",
        created_at=at,
    )
    session.add(revision)
    return revision


def list_revisions(rt: Runtime, principal, article_id: int) -> list[dict[str, Any]]:
    with rt.uow() as uow:
        articles.load_for_staff(uow.session, principal, article_id)
        rows = uow.session.scalars(
            select(Revision).where(Revision.article_id == article_id).order_by(Revision.number)
        )
        return [presenters.revision_summary(r) for r in rows]


def get_revision(rt: Runtime, principal, article_id: int, number: int) -> dict[str, Any]:
    with rt.uow() as uow:
        articles.load_for_staff(uow.session, principal, article_id)
        return presenters.revision_view(_one(uow.session, article_id, number))


def diff(rt: Runtime, principal, article_id: int, base: int, to: int) -> dict[str, Any]:
    """What changed from revision `base` to revision `to`, field by field (unified diff)."""
    with rt.uow() as uow:
        articles.load_for_staff(uow.session, principal, article_id)
        old = presenters.revision_view(_one(uow.session, article_id, base))
        new = presenters.revision_view(_one(uow.session, article_id, to))
    changes = []
    for field in DIFFED_FIELDS:
        before, after = _lines(field, old[field]), _lines(field, new[field])
        if before != after:
            lines = difflib.unified_diff(before, after, f"revisi {base}", f"revisi {to}", lineterm="", n=2)
            changes.append({"field": field, "diff": "\n".join(lines)})
    return {"base": base, "to": to, "changes": changes}


def _lines(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if field == "tags":
        return list(value)
    text = str(value)
    if field == "body_html":
        text = _BLOCK_END.sub(r"\1\n", text)
    return [line for line in text.splitlines() if line.strip()]


def _one(session: Session, article_id: int, number: int) -> Revision:
    revision = session.scalar(
        select(Revision).where(Revision.article_id == article_id, Revision.number == number)
    )
    if revision is None:
        raise NotFound(f"Revisi {number} tidak ditemukan pada berita ini.")
    return revision
