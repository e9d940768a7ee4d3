"""The notifier's one consumer: every event of `simpul.events` (queue `notifier.events`).

For each event: its clock instructions (`data.sla`) are applied, and it is handed to the
webhook subscriptions that match it, all in the consumer's unit of work (the runner commits
it before acking, and its inbox makes a redelivery a no-op). An instruction the notifier
cannot read dead-letters the event with the reason instead of guessing: the instructions are
checked in full (shape, dates within reach of the event, OPDs of the directory) before any
database work, so such an event is refused at once and never holds the queue.

When messages wait in the prefetch window the chassis hands a group of them to
`make_group_handler`'s handler in one unit of work: their clocks are locked in one
statement and written in bulk (`clocks.ClockBatch`), the policies are read once, and the
webhook subscriptions are looked up once. A group that touches one clock twice is applied
event by event, in order, since each event must see what the one before it did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def make_check(rt: Runtime) -> Callable[[dict[str, Any]], sla.Instructions | None]:
    """The clock instructions of an envelope, checked; PermanentError if they cannot be."""
    known = knows_opd(rt)

    def check(envelope: dict[str, Any]) -> sla.Instructions | None:
        try:
            return sla.parse_sla(envelope, knows_opd=known)
        except sla.SlaError as exc:
            raise PermanentError(f"data.sla: {exc}") from exc

    return check


def make_handler(rt: Runtime) -> Callable[[UnitOfWork, dict[str, Any]], None]:
    check = make_check(rt)

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


def _has_endpoints(session: Session) -> bool:
    return session.scalars(
        select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True)).limit(1)
    ).first() is not None


def make_group_handler(rt: Runtime) -> Callable[[UnitOfWork, Sequence[dict[str, Any]]], None]:
    """Handles several events in one unit of work, with the effects of `make_handler`'s."""
    check = make_check(rt)
    handle = make_handler(rt)

    def handle_group(uow: UnitOfWork, envelopes: Sequence[dict[str, Any]]) -> None:
        parsed = [(envelope, check(envelope)) for envelope in envelopes]
        keys = [key for _e, instructions in parsed if instructions for key in clock_keys(instructions)]
        if len(set(keys)) != len(keys):
            for envelope in envelopes:
                with bound_event_id(str(envelope.get("id"))):
                    handle(uow, envelope)
            return
        now = rt.clock()
        batch = clocks.ClockBatch(uow.session, set(keys))
        for envelope, instructions in parsed:
            if instructions is not None:
                outcomes = clocks.apply_instructions(
                    uow, rt.calendar, instructions, envelope, now=now, batch=batch
                )
                with bound_event_id(str(envelope.get("id"))):
                    log.info("clock instructions applied", extra={"outcomes": outcomes})
        batch.finish()
        # Most systems have no webhook endpoint: one look for the group spares every event
        # its own search for a subscription.
        if not _has_endpoints(uow.session):
            return
        for envelope in envelopes:
            if not outgoing.is_own(envelope):
                webhooks.enqueue_for_event(uow.session, envelope)

    return handle_group


def events_consumer(rt: Runtime) -> EventConsumer:
    return make_consumer(
        rt,
        PURPOSE,
        list(BINDINGS),
        make_handler(rt),
        check=make_check(rt),
        group_handler=make_group_handler(rt),
    )
