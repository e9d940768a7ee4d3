"""PPID's events: the types it publishes, and one builder per entity.

Events carry identifiers, states and dates only, every instant in UTC as the chassis writes
them for every service, and the clock instructions the notifier needs (docs/chassis.md, Events). The
routing key's OPD is the OPD holding the case, or `none` while the PPID Utama has not
assigned it; a clock of an unassigned request is the PPID Utama's, at the PPID Utama's OPD
(`PPID_UTAMA_OPD`, Diskominfo). An assignment and a reassignment move the request: they are
routed to the OPD it reaches and to the one it leaves (`none` for an unassigned request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.common import sla
from services.common.events import ROUTE_CASE, ROUTE_MOVE, Event, EventCatalogue
from services.ppid.domain import ATASAN, PELAKSANA, UTAMA

RESPONSE_CLOCK = "ppid.response"
OBJECTION_CLOCK = "ppid.objection_response"
DISPUTE_CLOCK = "ppid.dispute_window"

CATALOGUE = EventCatalogue("ppid")
for _entity, _action, _summary in (
    ("request", "submitted", "A citizen or a clerk registered a request; its notice clock starts."),
    ("request", "extended", "The one extension of 7 working days."),
    ("request", "answered", "The written notice was issued; the request is closed."),
    ("request", "withdrawn", "The applicant withdrew the request."),
    ("request", "reopened", "The Atasan PPID granted an objection; a new notice clock starts."),
    ("objection", "filed", "The applicant objected to the Atasan PPID."),
    ("objection", "decided", "The Atasan PPID answered; the dispute window opens."),
    ("dispute", "filed", "The applicant took the objection to the Komisi Informasi."),
    ("dispute", "resolved", "The Komisi Informasi settled the dispute."),
):
    CATALOGUE.declare(_entity, _action, routes_to=ROUTE_CASE, summary=_summary)
for _action, _summary in (
    ("assigned", "The PPID Utama handed an unassigned request to an OPD."),
    ("reassigned", "A request moved to the OPD that holds the information."),
):
    CATALOGUE.declare("request", _action, routes_to=ROUTE_MOVE, summary=_summary)


@dataclass(frozen=True)
class EventContext:
    """What the builders need of the runtime: the PPID Utama's OPD (instants need no zone:
    the chassis writes every one in UTC)."""

    utama_opd: str


class Case(Protocol):
    """A request or an objection as the builders read it (an ORM row, or a new case)."""

    number: str
    status: str
    opd: str | None


@dataclass(frozen=True)
class NewCase:
    """A case whose row was written without the ORM (a submission)."""

    number: str
    status: str
    opd: str | None


# -- who must act on each clock -------------------------------------------------------------


# What the one who must act can do to meet the notice duty in time: answer, and extend once
# (Pasal 22 ayat 7 and 8). The notifier proposes an action only while it is listed and the
# clock is not yet due, as an extension must be given before the 10 days end.
ANSWER, EXTEND = "answer", "extend"


def _response_actions(extended: bool) -> tuple[str, ...]:
    return (ANSWER,) if extended else (ANSWER, EXTEND)


def response_clock(
    ctx: EventContext,
    opd: str | None,
    due_at: datetime,
    *,
    started_at: datetime | None = None,
    extendable: bool = True,
) -> sla.Instruction:
    """The written notice: the holding OPD's Pelaksana sends it, the PPID Utama while unassigned.
    `extendable` is false for the new notice an objection granted (`domain.reopen`), which
    the one extension does not cover."""
    owner, role = (opd, PELAKSANA) if opd else (ctx.utama_opd, UTAMA)
    return sla.start(
        RESPONSE_CLOCK, due_at, opd=owner, role=role, started_at=started_at,
        actions=_response_actions(extended=not extendable),
    )


def response_clock_moved(
    ctx: EventContext, opd: str | None, due_at: datetime, *, extended: bool
) -> sla.Instruction:
    """The same duty, now with another OPD or another due date; `extended` once the one
    extension was given, so that nobody is asked to extend again."""
    owner, role = (opd, PELAKSANA) if opd else (ctx.utama_opd, UTAMA)
    return sla.restart(
        RESPONSE_CLOCK, due_at, opd=owner, role=role, actions=_response_actions(extended)
    )


def response_withdrawn() -> sla.Instruction:
    """A withdrawn request ends the notice duty undone: cancelled, neither met nor late."""
    return sla.stop(RESPONSE_CLOCK, outcome=sla.CANCELLED)


def objection_clock(ctx: EventContext, opd: str | None, due_at: datetime) -> sla.Instruction:
    """The answer to an objection is the Atasan PPID's of the OPD holding the request."""
    return sla.start(OBJECTION_CLOCK, due_at, opd=opd or ctx.utama_opd, role=ATASAN)


def dispute_window(ctx: EventContext, opd: str | None, due_at: datetime) -> sla.Instruction:
    """The 14 working days to go to the Komisi Informasi are the applicant's, not a duty."""
    return sla.start(DISPUTE_CLOCK, due_at, opd=opd or ctx.utama_opd, party=sla.CITIZEN)


# -- one builder per entity -------------------------------------------------------------------


def request_event(
    ctx: EventContext,
    request: Case,
    action: str,
    *,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    from_opd: str | None = None,
    **fields: Any,
) -> Event:
    """`ppid.request.<action>`: the request's number, status and OPD, then `fields`.

    `from_opd` is the OPD an assignment or a reassignment takes the request from (None
    while it was unassigned).
    """
    data = {"number": request.number, "status": request.status, "opd": request.opd, **fields}
    return _event(
        ctx, "request", action, f"requests/{request.number}", request.opd, at, data, clocks,
        from_opd=from_opd,
    )


def objection_event(
    ctx: EventContext,
    objection: Case,
    action: str,
    *,
    request_number: str,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    **fields: Any,
) -> Event:
    """`ppid.objection.<action>`: the objection's number, its request, status and OPD."""
    data = {
        "number": objection.number,
        "request_number": request_number,
        "status": objection.status,
        "opd": objection.opd,
        **fields,
    }
    return _event(ctx, "objection", action, f"objections/{objection.number}", objection.opd, at, data, clocks)


def dispute_event(
    ctx: EventContext,
    objection: Case,
    action: str,
    *,
    request_number: str,
    status: str,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    **fields: Any,
) -> Event:
    """`ppid.dispute.<action>`: a dispute is told under the objection it grew from."""
    data = {
        "objection_number": objection.number,
        "request_number": request_number,
        "status": status,
        "opd": objection.opd,
        **fields,
    }
    return _event(ctx, "dispute", action, f"objections/{objection.number}", objection.opd, at, data, clocks)


def _event(
    ctx: EventContext,
    entity: str,
    action: str,
    subject: str,
    opd: str | None,
    at: datetime,
    data: dict[str, Any],
    clocks: tuple[sla.Instruction, ...],
    *,
    from_opd: str | None = None,
) -> Event:
    if clocks:
        data["sla"] = sla.instructions(*clocks)
    declared = CATALOGUE.declared(entity, action)
    # Only a move names the OPD it leaves; the catalogue refuses it on any other type.
    route = {"from_opd": from_opd} if declared and declared.routes_to == ROUTE_MOVE else {}
    return CATALOGUE.event(entity, action, subject=subject, opd=opd, time=at, data=data, **route)
