"""The editorial workflow as use cases: each action loads the article, checks the ETag and
the rule (`domain`), changes it, and publishes its event with the clock instructions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.common.concurrency import require_match
from services.common.errors import Invalid
from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.siber import articles, daily_duty, domain, events, presenters, revisions
from services.siber.models import Article

EVENT_OF = {
    "submit": "submitted",
    "resubmit": "resubmitted",
    "claim": "claimed",
    "request_revision": "revision_requested",
    "approve": "approved",
    "schedule": "scheduled",
    "publish": "published",
    "correct": "corrected",
    "take_down": "taken_down",
    "reject": "rejected",
}


def context(rt: Runtime) -> events.EventContext:
    return events.EventContext(editor_opd=rt.settings.editor_opd)


def act(
    rt: Runtime, principal, article_id: int, action: str, data: dict[str, Any] | None = None,
    *, if_match: str | None,
) -> tuple[dict[str, Any], str]:
    """Take `action` on the article as `principal`; answers the staff view and its ETag."""
    data = data or {}
    now = articles.now_of(rt)
    with rt.uow() as uow:
        article = articles.load_for_staff(uow.session, principal, article_id, lock=True)
        require_match(if_match, presenters.article_etag(article))
        actor = domain.actor_of(principal)
        domain.check_author_opd(principal, article.opd)
        domain.check_transition(article.status, action, actor)
        _apply(rt, uow, article, action, data, principal, now)
        result = articles.present(uow.session, article, principal)
        uow.commit()
        return result


def _apply(
    rt: Runtime, uow: UnitOfWork, article: Article, action: str, data: dict[str, Any], principal, now: datetime
) -> None:
    before = article.status
    target = domain.TRANSITIONS[action].target
    clocks: list = []
    fields: dict[str, Any] = {}
    first_submission = False
    if action in ("submit", "resubmit"):
        first_submission = article.submitted_at is None
        article.submitted_at = article.submitted_at or now
        article.last_submitted_at = now
        clocks.append(events.review_started(context(rt), rt.calendar.due_at(now, rt.settings.review_days)))
        fields["submitted_at"] = article.submitted_at
    elif action == "claim":
        article.editor_sub, article.editor_name = principal.sub, principal.name
    elif action == "request_revision":
        article.revision_notes = data["notes"]
    elif action == "approve":
        article.approved_at = now
    elif action == "schedule":
        if data["publish_at"] <= now:
            raise Invalid("Isian tidak valid.", {"publish_at": ["Waktu terbit harus di masa mendatang."]})
        article.scheduled_at = data["publish_at"].astimezone(now.tzinfo)
        fields["scheduled_at"] = article.scheduled_at
    elif action == "publish":
        article.published_at = now
    elif action == "correct":
        # A correction changes only what it names: a blank field leaves the text as it was.
        articles.apply_changes(article, {k: v for k, v in data.items() if k != "note" and v is not None})
        article.corrected_at, article.correction_note = now, data["note"]
    elif action == "take_down":
        article.taken_down_at, article.takedown_reason = now, data["reason"]
    elif action == "reject":
        article.rejected_at, article.rejection_reason = now, data["reason"]
    if domain.NEWSROOM == domain.TRANSITIONS[action].actor and article.editor_sub is None:
        article.editor_sub, article.editor_name = principal.sub, principal.name
    article.status = target
    article.updated_at = now
    if domain.answers_review(before, target):
        clocks.append(events.review_answered())
    if action == "publish":
        fields["published_at"] = now
    uow.session.flush()
    if action == "correct":
        revisions.record(uow.session, article, principal, at=now)
    uow.publish(events.article_event(article, EVENT_OF[action], at=now, clocks=tuple(clocks), **fields))
    if first_submission:
        daily_duty.meet(rt, uow, article.opd, article.id, now)


def publish_due(rt: Runtime, *, limit: int = 50) -> list[int]:
    """Publish the scheduled articles whose time has come; the ids published.

    Rows are claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite's BEGIN IMMEDIATE
    serialises writers), so two workers never publish one article twice, and a worker that
    was down publishes on its first round whatever came due meanwhile.
    """
    now = articles.now_of(rt)
    with rt.uow() as uow:
        due = list(
            uow.session.scalars(
                select(Article)
                .where(Article.status == domain.SCHEDULED, Article.scheduled_at <= now)
                .order_by(Article.scheduled_at, Article.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for article in due:
            article.status = domain.PUBLISHED
            article.published_at = now
            article.updated_at = now
            uow.session.flush()
            uow.publish(
                events.article_event(
                    article, "published", at=now, published_at=now, scheduled_at=article.scheduled_at
                )
            )
        uow.commit()
        return [a.id for a in due]
