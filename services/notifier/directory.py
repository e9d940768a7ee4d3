"""The OPD directory: agencies and the people to tell, by role.

OPDs are seeded from `config/opd.json` on `migrate` (new codes are added; what an admin
edited is kept). Contacts are managed by admins only. Each change publishes
`notifier.directory.updated` naming what changed (never a person's name or address); a
change of an OPD also publishes the whole OPD list, `notifier.opds.updated`, which every
service's OPD registry follows (`services.notifier.reference`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.concurrency import entity_tag, require_match
from services.common.db import column_values
from services.common.errors import Conflict, Invalid, NotFound
from services.common.listing import Page, Search, fetch_page
from services.common.opd import OpdRegistry
from services.common.runtime import Runtime
from services.notifier import domain, outgoing, reference
from services.notifier.models import Contact, DirectoryOpd, touch
from services.notifier.recipients import Recipient


def etag(version: int) -> str:
    return entity_tag(version)


def check_if_match(if_match: str | None, version: int) -> None:
    """Refuse an update made without, or against, the current version (lost updates)."""
    require_match(if_match, etag(version))


# -- seeding -----------------------------------------------------------------------------


def seed_opds(session: Session, registry: OpdRegistry, now: datetime) -> int:
    known = set(session.scalars(select(DirectoryOpd.code)))
    added = 0
    for opd in registry:
        if opd.code not in known:
            session.add(
                DirectoryOpd(
                    code=opd.code,
                    name=opd.name,
                    short_name=opd.short_name,
                    kind=opd.kind,
                    active=True,
                    updated_at=now,
                )
            )
            added += 1
    session.flush()
    return added


# -- lookups used when notifying ----------------------------------------------------------


def contacts_for(session: Session, recipient: Recipient, service: str) -> list[Contact]:
    """Active contacts holding `recipient.role` (for the OPD, for the clock's service)."""
    stmt = select(Contact).where(Contact.role == recipient.role, Contact.active.is_(True))
    if recipient.role in (domain.OFFICER, domain.HEAD):
        stmt = stmt.where(Contact.opd == recipient.opd)
    if recipient.role in (domain.OFFICER, domain.COORDINATOR):
        stmt = stmt.where(or_(Contact.service.is_(None), Contact.service == service))
    return list(session.scalars(stmt.order_by(Contact.id)))


def opd_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(DirectoryOpd.code, DirectoryOpd.name)).all())


# -- OPDs --------------------------------------------------------------------------------


def _opd_event(uow, opd: DirectoryOpd, action: str, now: datetime) -> None:
    outgoing.publish(
        uow,
        outgoing.event(
            "directory",
            "updated",
            subject=f"directory/opds/{opd.code}",
            opd=opd.code,
            data={"entity": "opd", "action": action, "code": opd.code, "active": opd.active,
                  "version": opd.version},
            time=now,
        ),
    )


# What `q` searches in the directory's lists. A contact is found by where it sits (OPD,
# role, service), never by a person's name or address. Both tables hold a few hundred rows
# at most, so no search index stands behind them.
OPD_SEARCH = Search(DirectoryOpd.code, DirectoryOpd.name, DirectoryOpd.short_name,
                    DirectoryOpd.kind)
CONTACT_SEARCH = Search(Contact.opd, Contact.role, Contact.service)


def list_opds(
    rt: Runtime, page: Page, *, q: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the directory's OPDs by code, total); `q` searches the code, the names
    and the kind."""
    stmt = OPD_SEARCH.apply(select(DirectoryOpd), q).order_by(DirectoryOpd.code)
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, stmt, page)
        return [column_values(row) for row in rows], total


def get_opd(rt: Runtime, code: str) -> tuple[dict[str, Any], str]:
    """The OPD and its ETag."""
    with rt.uow() as uow:
        opd = uow.session.get(DirectoryOpd, code)
        if opd is None:
            raise NotFound("OPD tidak ditemukan.")
        return column_values(opd), etag(opd.version)


def create_opd(
    rt: Runtime, principal: Principal, body: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    now = rt.clock()
    with rt.uow() as uow:
        if uow.session.get(DirectoryOpd, body["code"]) is not None:
            raise Conflict("Kode OPD sudah terdaftar.")
        opd = DirectoryOpd(**{"active": True, **body}, updated_at=now)
        uow.session.add(opd)
        uow.session.flush()
        _opd_event(uow, opd, "created", now)
        reference.publish_directory(uow, rt)
        uow.commit()
        return column_values(opd), etag(opd.version)


def update_opd(
    rt: Runtime, principal: Principal, code: str, changes: dict[str, Any], if_match: str | None
) -> tuple[dict[str, Any], str]:
    with rt.uow() as uow:
        opd = uow.session.scalars(
            select(DirectoryOpd).where(DirectoryOpd.code == code).with_for_update()
        ).one_or_none()
        if opd is None:
            raise NotFound("OPD tidak ditemukan.")
        check_if_match(if_match, opd.version)
        for name, value in changes.items():
            setattr(opd, name, value)
        now = rt.clock()
        touch(opd, now)
        uow.session.flush()
        _opd_event(uow, opd, "updated", now)
        reference.publish_directory(uow, rt)
        uow.commit()
        return column_values(opd), etag(opd.version)


# -- contacts ----------------------------------------------------------------------------


def _contact_event(uow, contact: Contact, action: str, now: datetime) -> None:
    outgoing.publish(
        uow,
        outgoing.event(
            "directory",
            "updated",
            subject=f"directory/contacts/{contact.id}",
            opd=contact.opd,
            data={
                "entity": "contact",
                "action": action,
                "contact_id": contact.id,
                "role": contact.role,
                "service": contact.service,
                "opd": contact.opd,
                "preferred_channel": contact.preferred_channel,
                "active": contact.active,
                "version": contact.version,
            },
            time=now,
        ),
    )


def validate_contact(session: Session, values: dict[str, Any]) -> None:
    """The rules a contact must satisfy as a whole (field shapes are the schema's job)."""
    errors: dict[str, list[str]] = {}
    role, opd = values.get("role"), values.get("opd")
    if role in (domain.OFFICER, domain.HEAD):
        if not opd:
            errors.setdefault("opd", []).append("Petugas dan kepala OPD wajib menyebut OPD-nya.")
        elif session.get(DirectoryOpd, opd) is None:
            errors.setdefault("opd", []).append(f"Kode OPD tidak dikenal: {opd}.")
    elif opd:
        errors.setdefault("opd", []).append(
            "Koordinator dan Sekretaris Daerah berada di tingkat kabupaten: kosongkan OPD."
        )
    if values.get("service") is not None and role in (domain.HEAD, domain.SEKDA):
        errors.setdefault("service", []).append("Hanya petugas dan koordinator yang per layanan.")
    channel = values.get("preferred_channel")
    if channel == domain.EMAIL and not values.get("email"):
        errors.setdefault("email", []).append("Saluran email memerlukan alamat email.")
    if channel == domain.INBOX and not values.get("sub"):
        errors.setdefault("sub", []).append("Kotak masuk aplikasi memerlukan identitas pengguna (sub).")
    if errors:
        raise Invalid("Isian kontak tidak valid.", errors)


def list_contacts(
    rt: Runtime, page: Page, *, opd: str | None = None, role: str | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the contacts by OPD and role, total); `q` searches the OPD, the role and
    the service."""
    stmt = CONTACT_SEARCH.apply(select(Contact), q)
    if opd:
        stmt = stmt.where(Contact.opd == opd)
    if role:
        stmt = stmt.where(Contact.role == role)
    with rt.uow() as uow:
        rows, total = fetch_page(
            uow.session, stmt.order_by(Contact.opd, Contact.role, Contact.id), page
        )
        return [column_values(row) for row in rows], total


def get_contact(rt: Runtime, contact_id: int) -> tuple[dict[str, Any], str]:
    """The contact and its ETag."""
    with rt.uow() as uow:
        contact = uow.session.get(Contact, contact_id)
        if contact is None:
            raise NotFound("Kontak tidak ditemukan.")
        return column_values(contact), etag(contact.version)


def create_contact(
    rt: Runtime, principal: Principal, body: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    now = rt.clock()
    with rt.uow() as uow:
        values = {"active": True, "service": None, "opd": None, "email": None, "phone": None,
                  "sub": None, "preferred_channel": domain.EMAIL, **body}
        validate_contact(uow.session, values)
        contact = Contact(**values, created_at=now, updated_at=now)
        uow.session.add(contact)
        uow.session.flush()
        _contact_event(uow, contact, "created", now)
        uow.commit()
        return column_values(contact), etag(contact.version)


_CONTACT_FIELDS = ("opd", "role", "service", "name", "email", "phone", "preferred_channel",
                   "sub", "active")


def update_contact(
    rt: Runtime, principal: Principal, contact_id: int, changes: dict[str, Any],
    if_match: str | None,
) -> tuple[dict[str, Any], str]:
    with rt.uow() as uow:
        contact = uow.session.scalars(
            select(Contact).where(Contact.id == contact_id).with_for_update()
        ).one_or_none()
        if contact is None:
            raise NotFound("Kontak tidak ditemukan.")
        check_if_match(if_match, contact.version)
        values = {name: getattr(contact, name) for name in _CONTACT_FIELDS}
        values.update(changes)
        validate_contact(uow.session, values)
        for name, value in changes.items():
            setattr(contact, name, value)
        now = rt.clock()
        touch(contact, now)
        uow.session.flush()
        _contact_event(uow, contact, "updated", now)
        uow.commit()
        return column_values(contact), etag(contact.version)


def delete_contact(
    rt: Runtime, principal: Principal, contact_id: int, if_match: str | None
) -> None:
    with rt.uow() as uow:
        contact = uow.session.scalars(
            select(Contact).where(Contact.id == contact_id).with_for_update()
        ).one_or_none()
        if contact is None:
            raise NotFound("Kontak tidak ditemukan.")
        check_if_match(if_match, contact.version)
        _contact_event(uow, contact, "deleted", rt.clock())
        uow.session.delete(contact)
        uow.commit()
