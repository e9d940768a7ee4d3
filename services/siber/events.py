"""SIBER's events: the types it publishes, and one builder per entity, with their clocks.

Events carry identifiers, states and dates (and the article's title, which is public once
published); never a body, a photo or a person's contact. Clocks (docs/siber.md):

- `siber.review`: an editor answers a submission within `SIBER_REVIEW_DAYS` working days;
  started when an article is (re)submitted, stopped when an editor requests a revision,
  approves, publishes or rejects it. Subject `articles/<id>`.
- `siber.daily_news`: an OPD submits news each working day; started by `siber.quota.opened`
  each working morning, stopped by `siber.quota.met` at the OPD's first submission of the
  day. Subject `duties/<opd>/<YYYY-MM-DD>` (the notifier keys a clock by the event's subject,
  so the stop travels in an event of the duty, published with `siber.article.submitted`).
- `siber.assignment`: the OPD covers an assigned event by its due time; started at
  `assignment.created`, stopped at `assignment.fulfilled` (cancelled with the assignment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.common import sla
from services.common.events import ROUTE_CASE, Event, EventCatalogue
from services.siber.domain import EDITOR, HUMAS

REVIEW_CLOCK = "siber.review"
DAILY_NEWS_CLOCK = "siber.daily_news"
ASSIGNMENT_CLOCK = "siber.assignment"

CATALOGUE = EventCatalogue("siber")
for _entity, _action, _summary in (
    ("article", "submitted", "An OPD submitted an article; the editors' review clock starts."),
    ("article", "claimed", "An editor took the article for review."),
    ("article", "revision_requested", "An editor returned the article to its OPD with notes."),
    ("article", "resubmitted", "The OPD submitted its revision; the review clock starts again."),
    ("article", "approved", "An editor approved the article for publication."),
    ("article", "scheduled", "An editor scheduled the approved article for a time."),
    ("article", "published", "The article is public."),
    ("article", "corrected", "A published article was corrected with a visible note."),
    ("article", "taken_down", "A published article was withdrawn from the public, with a reason."),
    ("article", "rejected", "An editor rejected the article; this is final."),
    ("assignment", "created", "An editor asked an OPD to cover an event by a due time."),
    ("assignment", "fulfilled", "An article of the OPD covered the assigned event."),
    ("assignment", "cancelled", "The editors withdrew the assignment."),
    ("quota", "opened", "A working day began: the OPD owes its daily news."),
    ("quota", "met", "The OPD submitted its first article of the day."),
):
    CATALOGUE.declare(_entity, _action, routes_to=ROUTE_CASE, summary=_summary)


@dataclass(frozen=True)
class EventContext:
    """What the builders need of the runtime: the editors' OPD, the review's length."""

    editor_opd: str


# -- clocks -----------------------------------------------------------------------------------


def review_started(ctx: EventContext, due_at: datetime) -> sla.Instruction:
    return sla.start(REVIEW_CLOCK, due_at, opd=ctx.editor_opd, role=EDITOR)


def review_answered() -> sla.Instruction:
    return sla.stop(REVIEW_CLOCK)


def daily_news_started(opd: str, due_at: datetime) -> sla.Instruction:
    return sla.start(DAILY_NEWS_CLOCK, due_at, opd=opd, role=HUMAS)


def daily_news_met() -> sla.Instruction:
    return sla.stop(DAILY_NEWS_CLOCK)


def assignment_started(opd: str, due_at: datetime) -> sla.Instruction:
    return sla.start(ASSIGNMENT_CLOCK, due_at, opd=opd, role=HUMAS, counting=sla.CALENDAR_DAYS)


def assignment_done() -> sla.Instruction:
    return sla.stop(ASSIGNMENT_CLOCK)


def assignment_withdrawn() -> sla.Instruction:
    return sla.stop(ASSIGNMENT_CLOCK, outcome=sla.CANCELLED)


# -- one builder per entity -------------------------------------------------------------------


def article_event(
    article: Any,
    action: str,
    *,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    **fields: Any,
) -> Event:
    """`siber.article.<action>`: the article's id, slug, title, status and OPD, then `fields`."""
    data = {
        "id": article.id,
        "slug": article.slug,
        "title": article.title,
        "status": article.status,
        "opd": article.opd,
        **fields,
    }
    return _event("article", action, f"articles/{article.id}", article.opd, at, data, clocks)


def assignment_event(
    assignment: Any,
    action: str,
    *,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    **fields: Any,
) -> Event:
    """`siber.assignment.<action>`: the assignment's id, OPD, status, event date and due time."""
    data = {
        "id": assignment.id,
        "opd": assignment.opd,
        "status": assignment.status,
        "event_date": assignment.event_date,
        "due_at": assignment.due_at,
        "article_id": assignment.article_id,
        **fields,
    }
    return _event("assignment", action, f"assignments/{assignment.id}", assignment.opd, at, data, clocks)


def duty_subject(opd: str, day: date) -> str:
    return f"duties/{opd}/{day.isoformat()}"


def quota_event(
    opd: str,
    day: date,
    action: str,
    *,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    **fields: Any,
) -> Event:
    """`siber.quota.<action>`: one OPD's daily duty, `duties/<opd>/<day>`."""
    data = {"opd": opd, "day": day.isoformat(), **fields}
    return _event("quota", action, duty_subject(opd, day), opd, at, data, clocks)


def _event(
    entity: str,
    action: str,
    subject: str,
    opd: str,
    at: datetime,
    data: dict[str, Any],
    clocks: tuple[sla.Instruction, ...],
) -> Event:
    if clocks:
        data["sla"] = sla.instructions(*clocks)
    return CATALOGUE.event(entity, action, subject=subject, opd=opd, time=at, data=data)
