"""The notifier's one consumer: every event of `simpul.events` (queue `notifier.events`).

For each event: its clock instructions (`data.sla`) are applied, and it is handed to the
webhook subscriptions that match it, all in the consumer's unit of work (the runner commits
it before acking, and its inbox makes a redelivery a no-op). An instruction the notifier
cannot read dead-letters the event with the reason instead of guessing: the instructions are
checked in full (shape, dates within reach of the event, OPDs of the directory) before any
database work, so such an event is refused at once and never holds the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.common.consumer import EventConsumer, PermanentError
from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.common.worker import make_consumer
from services.notifier import clocks, outgoing, sla, webhooks

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


def events_consumer(rt: Runtime) -> EventConsumer:
    return make_consumer(rt, PURPOSE, list(BINDINGS), make_handler(rt), check=make_check(rt))
