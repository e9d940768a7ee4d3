"""The notifier's one consumer: every event of `simpul.events` (queue `notifier.events`).

For each event: its clock instructions (`data.sla`) are applied, and it is handed to the
webhook subscriptions that match it, all in the consumer's unit of work (the runner commits
it before acking, and its inbox makes a redelivery a no-op). An instruction the notifier
cannot read dead-letters the event with the reason instead of guessing: the instructions are
checked in full (shape, dates within reach of the event, OPDs of the directory) before any
database work, so such an event is refused at once and never holds the queue.

When messages wait in the prefetch window the chassis hands a group of them to
`make_group_handler`'s handler in one unit of work (`clocks.ClockBatch`): their clocks are
locked in one statement; their policies, the ids of the clocks they may create and whether
any webhook endpoint is enabled are read in one more; the new clocks, history and steps are
written in a third (on PostgreSQL; SQLite takes a few). A group that touches one clock
twice is applied event by event, in order, since each event must see what the one before
it did. The consumer and the handlers share one check, which reads each envelope's
instructions once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import exists

from services.common.consumer import EventConsumer, PermanentError
from services.common.logs import bound_event_id
from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.common.worker import make_consumer
from services.notifier import clocks, outgoing, sla, webhooks
from services.notifier.webhook_models import WebhookEndpoint

log = logging.getLogger(__name__)
PURPOSE = "events"
BINDINGS = ("#",)


def knows_opd(rt: Runtime) -> Callable[[str], bool]:
    """Whether a code is in the OPD directory, as the service's registry follows it.

    An OPD added moments ago may not have reached this process yet: an unknown code
    reloads the stored directory (at most every half minute) before it is refused.
    """

    def known(code: str) -> bool:
        if code in rt.opds:
            return True
        rt.calendar_sync.refresh_if_stale()
        return code in rt.opds

    return known


Check = Callable[[dict[str, Any]], sla.Instructions | None]
# Envelopes whose reading a check keeps; a consumer's window holds fewer.
_REMEMBERED = 256


def make_check(rt: Runtime) -> Check:
    """The clock instructions of an envelope, checked; PermanentError if they cannot be.

    The consumer checks each message before its unit of work, and the handler reads the
    same instructions in it: the reading of the envelopes checked last is kept (by the
    envelope's identity, never by its id, which a forged copy could share), so a check and
    the handlers made with it read an envelope once.
    """
    known = knows_opd(rt)
    recent: dict[int, tuple[dict[str, Any], sla.Instructions | None]] = {}

    def check(envelope: dict[str, Any]) -> sla.Instructions | None:
        seen = recent.get(id(envelope))
        if seen is not None and seen[0] is envelope:
            return seen[1]
        try:
            instructions = sla.parse_sla(envelope, knows_opd=known)
        except sla.SlaError as exc:
            raise PermanentError(f"data.sla: {exc}") from exc
        if len(recent) >= _REMEMBERED:
            recent.clear()
        recent[id(envelope)] = (envelope, instructions)
        return instructions

    return check


def make_handler(rt: Runtime, check: Check | None = None) -> Callable[[UnitOfWork, dict[str, Any]], None]:
    check = check or make_check(rt)

    def handle(uow: UnitOfWork, envelope: dict[str, Any]) -> None:
        instructions = check(envelope)
        if instructions is not None:
            outcomes = clocks.apply_instructions(
                uow, rt.calendar, instructions, envelope, now=rt.clock()
            )
            log.info("clock instructions applied", extra={"outcomes": outcomes})
        # The notifier's own events were handed to the subscriptions when they were
        # published; the copy coming back through the broker must not be queued twice.
        if not outgoing.is_own(envelope):
            webhooks.enqueue_for_event(uow.session, envelope)

    return handle


def clock_keys(instructions: sla.Instructions) -> list[tuple[str, str]]:
    """Every (subject, clock kind) an event's instructions touch."""
    kinds = [
        item.clock
        for items in (instructions.stops, instructions.pauses, instructions.resumes, instructions.starts)
        for item in items
    ]
    return [(instructions.subject, kind) for kind in kinds]


# Whether any webhook endpoint is enabled, asked with the group's policies.
_ENDPOINTS = exists().where(WebhookEndpoint.enabled.is_(True))


def make_group_handler(
    rt: Runtime, check: Check | None = None
) -> Callable[[UnitOfWork, Sequence[dict[str, Any]]], None]:
    """Handles several events in one unit of work, with the effects of `make_handler`'s."""
    check = check or make_check(rt)
    handle = make_handler(rt, check)

    def handle_group(uow: UnitOfWork, envelopes: Sequence[dict[str, Any]]) -> None:
        parsed = [(envelope, check(envelope)) for envelope in envelopes]
        keys = [key for _e, instructions in parsed if instructions for key in clock_keys(instructions)]
        if len(set(keys)) != len(keys):
            for envelope in envelopes:
                with bound_event_id(str(envelope.get("id"))):
                    handle(uow, envelope)
            return
        now = rt.clock()
        batch = clocks.ClockBatch(uow.session, set(keys), also={"endpoints": _ENDPOINTS})
        outcomes: dict[str, list[str]] = {}
        for envelope, instructions in parsed:
            if instructions is not None:
                outcomes[str(envelope.get("id"))] = clocks.apply_instructions(
                    uow, rt.calendar, instructions, envelope, now=now, batch=batch
                )
        batch.finish()
        # One line for the group, each event's outcomes under its id.
        log.info("clock instructions applied", extra={"outcomes_by_event": outcomes})
        # Most systems have no webhook endpoint: one look for the group spares every event
        # its own search for a subscription.
        if not batch.answers["endpoints"]:
            return
        for envelope in envelopes:
            if not outgoing.is_own(envelope):
                webhooks.enqueue_for_event(uow.session, envelope)

    return handle_group


def events_consumer(rt: Runtime) -> EventConsumer:
    check = make_check(rt)
    return make_consumer(
        rt,
        PURPOSE,
        list(BINDINGS),
        make_handler(rt, check),
        check=check,
        group_handler=make_group_handler(rt, check),
    )
