"""The in-app inbox: messages for one staff user (by `sub`) or for a role in an OPD.

A message addressed to a role reaches every holder of that role in that OPD (or, with no
OPD, every regency-level holder), so an OPD that has not registered its people in the
directory still sees its notices. Read marks are per person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.db import insert_unless_present
from services.common.errors import NotFound
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.notifier import email as email_channel
from services.notifier.messages import Notice
from services.notifier.models import INBOX_SEARCH, InboxMessage, InboxRead


def post(session: Session, notice: Notice, **recipient_and_case: Any) -> InboxMessage:
    """Add the message of `notice`; the keywords are `message_row`'s."""
    message = InboxMessage(**message_row(notice, **recipient_and_case))
    session.add(message)
    session.flush()
    return message


def message_row(
    notice: Notice,
    *,
    sub: str | None = None,
    role: str | None = None,
    recipient_opd: str | None = None,
    case_subject: str | None = None,
    clock: str | None = None,
    opd: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a message: to the person `sub`, or else to everyone of `role` (at
    `recipient_opd`); for `post`, and for a tick's one INSERT of a batch's messages."""
    return {
        "recipient_sub": sub,
        "recipient_role": None if sub else role,
        "recipient_opd": None if sub else recipient_opd,
        "kind": notice.kind,
        "case_subject": case_subject,
        "clock": clock,
        "opd": opd,
        "title": notice.title,
        "body": email_channel.render_text(notice),
        "created_at": now,
    }


def as_item(message: InboxMessage, read_at: datetime | None) -> dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "case_subject": message.case_subject,
        "clock": message.clock,
        "opd": message.opd,
        "created_at": message.created_at,
        "read_at": read_at,
    }


def _visible_to(principal: Principal):
    by_role = InboxMessage.recipient_role.in_(sorted(principal.roles))
    if principal.opd:
        by_role = and_(by_role, InboxMessage.recipient_opd == principal.opd)
    else:
        by_role = and_(by_role, InboxMessage.recipient_opd.is_(None))
    return or_(InboxMessage.recipient_sub == principal.sub, by_role)


def _read_by(principal: Principal):
    return (
        select(InboxRead.message_id)
        .where(InboxRead.message_id == InboxMessage.id, InboxRead.sub == principal.sub)
        .correlate(InboxMessage)
        .exists()
    )


def list_messages(
    rt: Runtime, principal: Principal, page: Page, *, unread_only: bool = False,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int, int]:
    """(page of messages with their read state, total matching, unread count); `q`
    searches the title, the case subject, the clock and the OPD."""
    with rt.uow() as uow:
        session = uow.session
        visible = _visible_to(principal)
        unread = session.scalar(
            select(func.count()).select_from(InboxMessage).where(visible, ~_read_by(principal))
        )
        where = [visible]
        if unread_only:
            where.append(~_read_by(principal))
        searched = INBOX_SEARCH.where(q)
        if searched is not None:
            where.append(searched)
        rows, total = fetch_page(
            session,
            select(InboxMessage, InboxRead.read_at)
            .outerjoin(
                InboxRead,
                and_(InboxRead.message_id == InboxMessage.id, InboxRead.sub == principal.sub),
            )
            .where(*where)
            .order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc()),
            page,
            rows=True,
        )
        items = [as_item(m, read_at) for m, read_at in rows]
        return items, total, unread or 0


def _insert_read(session: Session, message_ids: list[int], sub: str, now: datetime) -> None:
    if not message_ids:
        return
    rows = [{"message_id": i, "sub": sub, "read_at": now} for i in message_ids]
    session.execute(insert_unless_present(session, InboxRead).values(rows))


def mark_read(rt: Runtime, principal: Principal, message_id: int) -> dict[str, Any]:
    now = rt.clock()
    with rt.uow() as uow:
        message = uow.session.scalars(
            select(InboxMessage).where(InboxMessage.id == message_id, _visible_to(principal))
        ).one_or_none()
        if message is None:
            raise NotFound("Pesan tidak ditemukan.")
        _insert_read(uow.session, [message.id], principal.sub, now)
        uow.commit()
        read_at = uow.session.scalar(
            select(InboxRead.read_at).where(
                InboxRead.message_id == message.id, InboxRead.sub == principal.sub
            )
        )
        return as_item(message, read_at)


def mark_all_read(rt: Runtime, principal: Principal) -> int:
    now = rt.clock()
    with rt.uow() as uow:
        ids = list(
            uow.session.scalars(
                select(InboxMessage.id).where(_visible_to(principal), ~_read_by(principal))
            )
        )
        _insert_read(uow.session, ids, principal.sub, now)
        uow.commit()
        return len(ids)
