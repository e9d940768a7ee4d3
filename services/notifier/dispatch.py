"""Who receives a notification and through which channel, and the record of each delivery.

Each contact of a role is reached through the channel they prefer: email, the in-app inbox
(by their `sub`), or webhook (their OPD's subscriptions receive the notifier's event). On
top of that the role's inbox in the OPD gets one message unless a contact already takes
theirs there, so an OPD with no one in the directory still sees its notices in the app.

Every delivery is one row of the notification log, keyed by recipient: a retried step
skips whoever was already told.

A tick works on a batch of steps at once: `ContactBook` reads the directory once for the
batch, `Deliveries` the log rows of all its steps, and `record_many` writes the batch's
rows in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common.registry import load_registry
from services.notifier import domain
from services.notifier.models import Contact, Delivery
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


class ContactBook:
    """The active contacts, read once for a batch of steps.

    `for_recipient` answers exactly as `directory.contacts_for` does; the directory holds a
    few hundred contacts at most, so a batch reads them all in one statement.
    """

    def __init__(self, session: Session):
        self._by_role: dict[str, list[Contact]] = {}
        for contact in session.scalars(
            select(Contact).where(Contact.active.is_(True)).order_by(Contact.id)
        ):
            self._by_role.setdefault(contact.role, []).append(contact)

    def for_recipient(self, recipient: Recipient, service: str) -> list[Contact]:
        local = recipient.role in (domain.OFFICER, domain.HEAD)
        by_service = recipient.role in (domain.OFFICER, domain.COORDINATOR)
        return [
            c for c in self._by_role.get(recipient.role, ())
            if (not local or c.opd == recipient.opd)
            and (not by_service or c.service is None or c.service == service)
        ]


def targets_for(
    recipients: Iterable[Recipient], service: str, contacts: ContactBook
) -> list[Target]:
    registry = load_registry()
    targets: list[Target] = []
    for recipient in recipients:
        personal_inbox = False
        for contact in contacts.for_recipient(recipient, service):
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


def enabled_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every enabled webhook endpoint, for a batch to match its events against."""
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))))


def webhook_reach(routing_key: str, endpoints: Sequence[WebhookEndpoint]) -> int:
    """How many of these enabled webhook endpoints (`enabled_endpoints`) an event with this
    routing key would reach."""
    opd = routing_key.rsplit(".", 1)[1]
    return sum(
        1 for e in endpoints
        if e.opd in (None, opd) and any(topic_matches(p, routing_key) for p in e.patterns)
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
        session.add(Delivery(**delivery_row(
            target, kind=kind, title=title, status=status, now=now, error=error,
            step_id=step_id, digest_id=digest_id, case_subject=case_subject, clock=clock,
            opd=opd,
        )))
    else:
        row.title = title
        row.status = status
        row.error = _short(error)
        row.attempts = (row.attempts or 0) + 1
        row.at = now
    session.flush()


def _short(error: str | None) -> str | None:
    """The error as the log keeps it: none for an empty one, at most 500 characters."""
    return (error or None) and error[:500]


@dataclass(frozen=True)
class Logged:
    id: int
    status: str


class Deliveries:
    """The log rows of a batch of steps, read in one statement: (step, recipient) -> row."""

    def __init__(self, session: Session, step_ids: Sequence[int]):
        self._rows: dict[tuple[int, str], Logged] = {}
        self._done: dict[int, set[str]] = {}
        if step_ids:
            for row_id, step_id, key, status in session.execute(
                select(Delivery.id, Delivery.step_id, Delivery.recipient_key, Delivery.status)
                .where(Delivery.step_id.in_(list(step_ids)))
            ):
                self._rows[(step_id, key)] = Logged(row_id, status)
                if status in FINAL:
                    self._done.setdefault(step_id, set()).add(key)

    def done(self, step_id: int) -> frozenset[str]:
        return frozenset(self._done.get(step_id, ()))

    def logged(self, step_id: int, key: str) -> Logged | None:
        return self._rows.get((step_id, key))


def delivery_row(
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
) -> dict[str, Any]:
    """The columns of a recipient's first attempt, for `record` and `record_many`."""
    return {
        "step_id": step_id,
        "digest_id": digest_id,
        "kind": kind,
        "case_subject": case_subject,
        "clock": clock,
        "opd": opd,
        "recipient_key": target.key,
        "recipient_role": target.role,
        "contact_id": target.contact_id,
        "recipient_name": target.name,
        "channel": target.channel,
        "address": target.address,
        "title": title,
        "status": status,
        "error": _short(error),
        "attempts": 1,
        "at": now,
    }


def bulk_insert(session: Session, model, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of a model in one statement.

    On PostgreSQL the rows travel as one JSON document that the server unpacks
    (`json_populate_recordset`): a multi-row VALUES with one bound parameter per column and row
    costs more to build and parse on the client than the server takes to insert it. SQLite
    takes an executemany, which it runs in-process.
    """
    if not rows:
        return
    table = model.__table__
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    rowset = func.json_populate_recordset(
        literal_column(f'NULL::"{table.name}"'), cast(bindparam("rows", type_=Text), JSON)
    ).table_valued(*names)
    stmt = insert(table).from_select(names, select(*(rowset.c[name] for name in names)))
    session.execute(stmt, {"rows": json.dumps(rows, default=_json_value)})


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")


def record_many(
    session: Session, rows: list[dict[str, Any]], known: Mapping[int, Deliveries]
) -> None:
    """Write a batch's deliveries: new recipients in one INSERT, earlier attempts updated.

    The steps are claimed by the caller, so no other worker writes their rows meanwhile.
    """
    new = []
    for row in rows:
        logged = known[row["step_id"]].logged(row["step_id"], row["recipient_key"])
        if logged is None:
            new.append(row)
            continue
        session.execute(
            update(Delivery)
            .where(Delivery.id == logged.id)
            .values(title=row["title"], status=row["status"], error=row["error"], at=row["at"],
                    attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    if new:
        bulk_insert(session, Delivery, new)
