"""Who receives a notification and through which channel, and the record of each delivery.

Each contact of a role is reached through the channel they prefer: email, the in-app inbox
(by their `sub`), or webhook (their OPD's subscriptions receive the notifier's event). On
top of that the role's inbox in the OPD gets one message unless a contact already takes
theirs there, so an OPD with no one in the directory still sees its notices in the app.

Every delivery is one row of the notification log, keyed by recipient: a retried step
skips whoever was already told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common.registry import load_registry
from services.notifier import directory, domain
from services.notifier.models import Delivery
from services.notifier.recipients import Recipient, inbox_address
from services.notifier.webhook_models import WebhookEndpoint
from services.notifier.webhooks import topic_matches

SENT, FAILED, SKIPPED, RETRYING = "sent", "failed", "skipped", "retrying"
FINAL = (SENT, FAILED, SKIPPED)


@dataclass(frozen=True)
class Target:
    key: str
    role: str
    channel: str
    address: str | None
    contact_id: int | None = None
    name: str | None = None
    sub: str | None = None
    staff_role: str | None = None
    recipient_opd: str | None = None


def _place(opd: str | None) -> str:
    return opd or "kabupaten"


def targets_for(
    session: Session, recipients: Iterable[Recipient], service: str
) -> list[Target]:
    registry = load_registry()
    targets: list[Target] = []
    for recipient in recipients:
        personal_inbox = False
        for contact in directory.contacts_for(session, recipient, service):
            common = {"role": recipient.role, "contact_id": contact.id, "name": contact.name}
            channel = contact.preferred_channel
            if channel == domain.EMAIL and contact.email:
                targets.append(Target(f"contact:{contact.id}:email", channel=channel,
                                      address=contact.email, **common))
            elif channel == domain.INBOX and contact.sub:
                personal_inbox = True
                targets.append(Target(f"contact:{contact.id}:inbox", channel=channel,
                                      address=contact.sub, sub=contact.sub, **common))
            elif channel == domain.WEBHOOK:
                targets.append(Target(f"contact:{contact.id}:webhook", channel=channel,
                                      address=f"langganan webhook {_place(contact.opd)}",
                                      **common))
        if not personal_inbox:
            role, opd = inbox_address(recipient, service, registry)
            targets.append(
                Target(
                    key=f"role:{role}@{_place(opd)}",
                    role=recipient.role,
                    channel=domain.INBOX,
                    address=f"{role}@{_place(opd)}",
                    staff_role=role,
                    recipient_opd=opd,
                )
            )
    unique: dict[str, Target] = {}
    for target in targets:
        unique.setdefault(target.key, target)
    return list(unique.values())


def webhook_reach(session: Session, routing_key: str) -> int:
    """How many enabled webhook endpoints an event with this routing key would reach."""
    opd = routing_key.rsplit(".", 1)[1]
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.opd.is_(None), WebhookEndpoint.opd == opd),
        )
    )
    return sum(1 for e in endpoints if any(topic_matches(p, routing_key) for p in e.patterns))


def done_keys(session: Session, *, step_id: int | None = None, digest_id: int | None = None) -> set[str]:
    column = Delivery.step_id if step_id is not None else Delivery.digest_id
    owner = step_id if step_id is not None else digest_id
    return set(
        session.scalars(
            select(Delivery.recipient_key).where(column == owner, Delivery.status.in_(FINAL))
        )
    )


def record(
    session: Session,
    target: Target,
    *,
    kind: str,
    title: str,
    status: str,
    now: datetime,
    error: str | None = None,
    step_id: int | None = None,
    digest_id: int | None = None,
    case_subject: str | None = None,
    clock: str | None = None,
    opd: str | None = None,
) -> None:
    column = Delivery.step_id if step_id is not None else Delivery.digest_id
    owner = step_id if step_id is not None else digest_id
    row = session.scalars(
        select(Delivery).where(column == owner, Delivery.recipient_key == target.key)
    ).one_or_none()
    if row is None:
        row = Delivery(
            step_id=step_id,
            digest_id=digest_id,
            kind=kind,
            case_subject=case_subject,
            clock=clock,
            opd=opd,
            recipient_key=target.key,
            recipient_role=target.role,
            contact_id=target.contact_id,
            recipient_name=target.name,
            channel=target.channel,
            address=target.address,
            attempts=0,
        )
        session.add(row)
    row.title = title
    row.status = status
    row.error = (error or None) and error[:500]
    row.attempts = (row.attempts or 0) + 1
    row.at = now
    session.flush()
