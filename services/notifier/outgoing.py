"""The notifier's own events: to the outbox, and straight to webhook subscribers.

Every event the notifier publishes goes to the outbox like any other (OPD systems on AMQP
get it from the broker) and, in the same transaction, to the webhook deliveries of the
endpoints that subscribe to it. The copy that comes back through the notifier's own queue
is therefore not enqueued again (`is_own`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.events import Event
from services.common.outbox import UnitOfWork
from services.notifier import webhooks
from services.notifier.events import CATALOGUE

SERVICE = "notifier"
SOURCE = f"/simpul/{SERVICE}"


def is_own(envelope: dict[str, Any]) -> bool:
    return envelope.get("source") == SOURCE


def publish(uow: UnitOfWork, *events: Event) -> None:
    uow.publish(*events)
    for event in events:
        webhooks.enqueue_for_event(uow.session, event.envelope(), now=event.time)


def event(
    entity: str, action: str, *, subject: str, opd: str | None, data: dict, time: datetime
) -> Event:
    """The event's `time` is the runtime clock's, like every other instant the notifier keeps."""
    return CATALOGUE.event(entity, action, subject=subject, opd=opd, data=data, time=time)
