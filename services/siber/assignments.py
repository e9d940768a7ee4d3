"""Assignments: an editor asks an OPD to cover an upcoming event by a due time
(`siber.assignment` clock); the OPD's article that covers it fulfils it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.common.concurrency import require_match
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.siber import articles, domain, events, presenters
from services.siber.models import Article, Assignment

NOT_FOUND = "Penugasan tidak ditemukan."


def _newsroom_only(principal) -> None:
    if domain.actor_of(principal) != domain.NEWSROOM:
        raise Forbidden("Hanya redaktur Diskominfo yang dapat mengelola penugasan.")


def create(rt: Runtime, principal, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    _newsroom_only(principal)
    now = articles.now_of(rt)
    if data["due_at"] <= now:
        raise Invalid("Isian tidak valid.", {"due_at": ["Batas waktu harus di masa mendatang."]})
    with rt.uow() as uow:
        assignment = Assignment(
            opd=data["opd"], title=data["title"], description=data.get("description") or "",
            event_date=data["event_date"], due_at=data["due_at"].astimezone(now.tzinfo),
            status=domain.OPEN, created_by=principal.sub, created_at=now,
        )
        uow.session.add(assignment)
        uow.session.flush()
        uow.publish(events.assignment_event(
            assignment, "created", at=now,
            clocks=(events.assignment_started(assignment.opd, assignment.due_at),),
        ))
        result = presenters.assignment_view(assignment), presenters.assignment_etag(assignment)
        uow.commit()
        return result


def _load(session, principal, assignment_id: int, *, lock: bool = False) -> Assignment:
    statement = select(Assignment).where(Assignment.id == assignment_id)
    if lock:
        statement = statement.with_for_update()
    assignment = session.scalar(statement)
    if assignment is None or not domain.scope_of(principal).allows(assignment.opd):
        raise NotFound(NOT_FOUND)
    return assignment


def get(rt: Runtime, principal, assignment_id: int) -> tuple[dict[str, Any], str]:
    with rt.uow() as uow:
        assignment = _load(uow.session, principal, assignment_id)
        return presenters.assignment_view(assignment), presenters.assignment_etag(assignment)


def list_assignments(rt: Runtime, principal, filters: dict[str, Any], page: Page) -> tuple[list[dict], int]:
    scope = domain.scope_of(principal).narrowed(filters.get("opd"))
    statement = scope.restrict(select(Assignment).order_by(Assignment.due_at, Assignment.id), Assignment.opd)
    if filters.get("status"):
        statement = statement.where(Assignment.status == filters["status"])
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, statement, page)
        return [presenters.assignment_view(a) for a in rows], total


def fulfil(rt: Runtime, principal, assignment_id: int, article_id: int, *, if_match: str | None
           ) -> tuple[dict[str, Any], str]:
    """The OPD's submitted article covers the assignment (its humas, or an editor)."""
    now = articles.now_of(rt)
    with rt.uow() as uow:
        assignment = _load(uow.session, principal, assignment_id, lock=True)
        require_match(if_match, presenters.assignment_etag(assignment))
        if assignment.status != domain.OPEN:
            raise Conflict("Penugasan ini sudah tidak terbuka.")
        article = uow.session.get(Article, article_id)
        if article is None or not domain.scope_of(principal).allows(article.opd):
            raise Invalid("Isian tidak valid.", {"article_id": ["Berita tidak ditemukan."]})
        if article.opd != assignment.opd:
            raise Invalid("Isian tidak valid.", {"article_id": ["Berita ini milik OPD lain."]})
        if article.status in (domain.DRAFT, domain.REJECTED):
            raise Invalid("Isian tidak valid.", {"article_id": ["Ajukan berita ini lebih dahulu."]})
        assignment.status, assignment.article_id, assignment.fulfilled_at = domain.FULFILLED, article.id, now
        uow.session.flush()
        uow.publish(events.assignment_event(assignment, "fulfilled", at=now, clocks=(events.assignment_done(),)))
        result = presenters.assignment_view(assignment), presenters.assignment_etag(assignment)
        uow.commit()
        return result


def cancel(rt: Runtime, principal, assignment_id: int, *, if_match: str | None) -> tuple[dict[str, Any], str]:
    _newsroom_only(principal)
    now = articles.now_of(rt)
    with rt.uow() as uow:
        assignment = _load(uow.session, principal, assignment_id, lock=True)
        require_match(if_match, presenters.assignment_etag(assignment))
        if assignment.status != domain.OPEN:
            raise Conflict("Penugasan ini sudah tidak terbuka.")
        assignment.status, assignment.cancelled_at = domain.CANCELLED, now
        uow.session.flush()
        uow.publish(events.assignment_event(assignment, "cancelled", at=now, clocks=(events.assignment_withdrawn(),)))
        result = presenters.assignment_view(assignment), presenters.assignment_etag(assignment)
        uow.commit()
        return result
