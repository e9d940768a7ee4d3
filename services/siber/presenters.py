"""The dictionaries each audience sees of SIBER's records, built inside the unit of work."""

from __future__ import annotations

from typing import Any

from services.common.concurrency import entity_tag
from services.siber import domain
from services.siber.models import Article, Assignment, Comment, Photo, Revision

PHOTO_PATH = "/api/v1/photos/{id}/{variant}"


def article_etag(article: Article) -> str:
    return entity_tag("article", article.id, article.version)


def assignment_etag(assignment: Assignment) -> str:
    return entity_tag("assignment", assignment.id, assignment.version)


def photo_view(photo: Photo) -> dict[str, Any]:
    ready = photo.renditions_ready
    return {
        "id": photo.id,
        "content_type": photo.content_type,
        "size": photo.size,
        "width": photo.width,
        "height": photo.height,
        "caption": photo.caption,
        "credit": photo.credit,
        "position": photo.position,
        "renditions_ready": ready,
        "url": PHOTO_PATH.format(id=photo.id, variant="original"),
        "web_url": PHOTO_PATH.format(id=photo.id, variant="web") if ready else None,
        "thumb_url": PHOTO_PATH.format(id=photo.id, variant="thumb") if ready else None,
    }


def article_summary(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "opd": article.opd,
        "slug": article.slug,
        "title": article.title,
        "status": article.status,
        "status_label": domain.STATE_LABELS[article.status],
        "author_name": article.author_name,
        "editor_name": article.editor_name,
        "created_at": article.created_at,
        "submitted_at": article.submitted_at,
        "published_at": article.published_at,
        "scheduled_at": article.scheduled_at,
        "updated_at": article.updated_at,
    }


def article_view(article: Article, principal, photos: list[Photo]) -> tuple[dict[str, Any], str]:
    """The staff view of an article with its ETag."""
    actor = domain.actor_of(principal)
    view = {
        **article_summary(article),
        "lead": article.lead,
        "body_html": article.body_html,
        "activity_date": article.activity_date,
        "place": article.place,
        "tags": article.tag_names,
        "author_sub": article.author_sub,
        "editor_sub": article.editor_sub,
        "last_submitted_at": article.last_submitted_at,
        "revision_notes": article.revision_notes,
        "approved_at": article.approved_at,
        "corrected_at": article.corrected_at,
        "correction_note": article.correction_note,
        "taken_down_at": article.taken_down_at,
        "takedown_reason": article.takedown_reason,
        "rejected_at": article.rejected_at,
        "rejection_reason": article.rejection_reason,
        "version": article.version,
        "photos": [photo_view(p) for p in photos],
        "allowed_actions": domain.allowed_actions(article.status, actor),
    }
    return view, article_etag(article)


def revision_summary(revision: Revision) -> dict[str, Any]:
    return {
        "number": revision.number,
        "status": revision.status,
        "title": revision.title,
        "author_name": revision.author_name,
        "author_role": revision.author_role,
        "created_at": revision.created_at,
    }


def revision_view(revision: Revision) -> dict[str, Any]:
    return {
        **revision_summary(revision),
        "lead": revision.lead,
        "body_html": revision.body_html,
        "activity_date": revision.activity_date,
        "place": revision.place,
        "tags": [t for t in revision.tags.split(",") if t],
    }


def comment_view(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author_name": comment.author_name,
        "author_sub": comment.author_sub,
        "body": comment.body,
        "created_at": comment.created_at,
        "replies": [],
    }


def assignment_view(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "opd": assignment.opd,
        "title": assignment.title,
        "description": assignment.description,
        "event_date": assignment.event_date,
        "due_at": assignment.due_at,
        "status": assignment.status,
        "article_id": assignment.article_id,
        "created_at": assignment.created_at,
        "fulfilled_at": assignment.fulfilled_at,
        "cancelled_at": assignment.cancelled_at,
    }
