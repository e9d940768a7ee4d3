"""LAPOR!'s events: the types it publishes, and the one builder of a report's event.

Events carry identifiers, states, codes and dates only, every instant in UTC as the chassis
writes them, and the clock instructions the notifier needs (docs/chassis.md, Events). Never
the reporter's name, phone or e-mail, never what a reporter wrote (it may name people), and
of a rahasia report not even its title or description: `data` holds no free text at all.

The routing key's OPD is the lead OPD while the report is dispositioned, else `none`. A
return and a re-disposition move the report and are routed to both OPDs: a return from the
returning OPD to `none`, a re-disposition from the OPD that returned it to the new lead OPD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.common import sla
from services.common.events import ROUTE_CASE, ROUTE_MOVE, Event, EventCatalogue
from services.lapor.domain import LAPOR_ADMIN, LIAISON

VERIFICATION_CLOCK = "lapor.verification"
FOLLOW_UP_CLOCK = "lapor.follow_up"
COMPLETION_CLOCK = "lapor.completion"
REPLY_CLOCK = "lapor.reporter_reply"

CATALOGUE = EventCatalogue("lapor")
for _action, _summary in (
    ("submitted", "A report was filed; its verification clock starts."),
    ("clarification_requested", "The admin asked the reporter for detail; verification is held."),
    ("clarified", "The reporter answered; verification runs again with the time it had left."),
    ("verified", "The admin verified the report."),
    ("postponed", "The admin postponed (tunda) the report with a reason."),
    ("archived", "The admin archived the report: spam, a duplicate or no public-service matter."),
    ("rejected_authority", "The admin marked the report as another body's authority."),
    ("dispatched", "The admin dispositioned the report to its lead OPD (and supporting OPDs)."),
    ("followed_up", "The lead OPD gave its first substantive response and plan."),
    ("progressed", "An OPD recorded progress on the report."),
    ("completed", "The lead OPD completed the report; the reporter's window opens."),
    ("reopened", "The reporter rejected the answer; the report is back with the lead OPD."),
    ("closed", "The report closed: accepted by the reporter, or no reply in time."),
    ("rated", "The reporter rated the answer (1-5)."),
):
    CATALOGUE.declare("report", _action, routes_to=ROUTE_CASE, summary=_summary)
for _action, _summary in (
    ("returned", "The lead OPD returned a wrongly dispositioned report to the admin."),
    ("redispatched", "The admin dispositioned a returned report to another OPD."),
):
    CATALOGUE.declare("report", _action, routes_to=ROUTE_MOVE, summary=_summary)


@dataclass(frozen=True)
class EventContext:
    """What the builders need of the runtime: the coordinator OPD, whose LAPOR! admins own
    the verification clock."""

    coordinator_opd: str


class ReportLike(Protocol):
    number: str
    status: str
    classification: str
    category: str
    privacy: str
    kecamatan: str | None
    lead_opd: str | None


# -- clocks --------------------------------------------------------------------------------


def verification_clock(ctx: EventContext, due_at: datetime) -> sla.Instruction:
    return sla.start(VERIFICATION_CLOCK, due_at, opd=ctx.coordinator_opd, role=LAPOR_ADMIN)


def verification_restarted(ctx: EventContext, due_at: datetime) -> sla.Instruction:
    return sla.restart(VERIFICATION_CLOCK, due_at, opd=ctx.coordinator_opd, role=LAPOR_ADMIN)


def verification_paused() -> sla.Instruction:
    return sla.pause(VERIFICATION_CLOCK)


def verification_resumed(ctx: EventContext, due_at: datetime) -> sla.Instruction:
    return sla.resume(VERIFICATION_CLOCK, due_at, opd=ctx.coordinator_opd, role=LAPOR_ADMIN)


def verification_done() -> sla.Instruction:
    return sla.stop(VERIFICATION_CLOCK)


def follow_up_clock(opd: str, due_at: datetime) -> sla.Instruction:
    return sla.start(FOLLOW_UP_CLOCK, due_at, opd=opd, role=LIAISON)


def follow_up_restarted(opd: str, due_at: datetime) -> sla.Instruction:
    return sla.restart(FOLLOW_UP_CLOCK, due_at, opd=opd, role=LIAISON)


def follow_up_done() -> sla.Instruction:
    return sla.stop(FOLLOW_UP_CLOCK)


def follow_up_cancelled() -> sla.Instruction:
    """A returned report ends the OPD's duty undone: it was not theirs."""
    return sla.stop(FOLLOW_UP_CLOCK, outcome=sla.CANCELLED)


def completion_clock(opd: str, due_at: datetime) -> sla.Instruction:
    return sla.start(COMPLETION_CLOCK, due_at, opd=opd, role=LIAISON, counting=sla.CALENDAR_DAYS)


def completion_moved(opd: str, due_at: datetime) -> sla.Instruction:
    """The same limit (from the complete report), with another OPD or started again."""
    return sla.restart(COMPLETION_CLOCK, due_at, opd=opd, role=LIAISON, counting=sla.CALENDAR_DAYS)


def completion_done() -> sla.Instruction:
    return sla.stop(COMPLETION_CLOCK)


def reply_window(opd: str, due_at: datetime) -> sla.Instruction:
    """The reporter's time to reply: a citizen's window, never an OPD's duty."""
    return sla.start(REPLY_CLOCK, due_at, opd=opd, party=sla.CITIZEN)


def reply_window_done() -> sla.Instruction:
    return sla.stop(REPLY_CLOCK)


# -- the builder ---------------------------------------------------------------------------


def report_data(report: ReportLike, supporting_opds: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """What every event of a report says about it: codes and states, no text."""
    return {
        "number": report.number,
        "status": report.status,
        "classification": report.classification,
        "category": report.category,
        "privacy": report.privacy,
        "kecamatan": report.kecamatan,
        "lead_opd": report.lead_opd,
        "supporting_opds": sorted(supporting_opds),
    }


def report_event(
    report: ReportLike,
    action: str,
    *,
    at: datetime,
    clocks: tuple[sla.Instruction, ...] = (),
    supporting_opds: tuple[str, ...] | list[str] = (),
    from_opd: str | None = None,
    opd: str | None = None,
    **fields: Any,
) -> Event:
    """`lapor.report.<action>`: the report's codes, states and `fields` (dates, codes).

    Routed to the lead OPD (or `opd` when given: a return is routed to `none`); a move
    (`returned`, `redispatched`) names the OPD it leaves in `from_opd`.
    """
    data = {**report_data(report, supporting_opds), **fields}
    if clocks:
        data["sla"] = sla.instructions(*clocks)
    declared = CATALOGUE.declared("report", action)
    if declared is None:
        raise KeyError(f"{CATALOGUE.service}.report.{action}")
    # A move needs the OPD it leaves, and only a move takes one: the catalogue refuses both.
    route = {"from_opd": from_opd} if declared.routes_to == ROUTE_MOVE or from_opd is not None else {}
    target = opd if opd is not None else report.lead_opd
    return CATALOGUE.event(
        "report", action, subject=f"reports/{report.number}", opd=target, time=at, data=data, **route
    )
