"""Who a notification step tells: contact roles bound to OPDs, and the staff role that reads
each one's messages in the app.

Which JWT role holds a contact role differs per service (PPID's officer is the
`ppid_pelaksana`); it comes from the registry of services (`config/services.json`), so the
notifier names no service. A service the registry does not list, or a contact role it does
not map, is read by `admin`: a notice always has a reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.common.registry import Registry, load_registry
from services.notifier import domain

# Regency-wide readers, the same for every service.
_HEAD_STAFF = "opd_head"
_SEKDA_STAFF = "sekda"


@dataclass(frozen=True)
class Recipient:
    """A contact role to tell, and the OPD whose contact it is (None: regency level).

    `staff_role` is set for the one who must act, as the clock names them: their in-app
    inbox is that role's (in `inbox_opd`), whatever contact role holds it.
    """

    role: str
    opd: str | None
    staff_role: str | None = None
    inbox_opd: str | None = None


def actor(
    staff: str | None, opd: str | None, service: str, registry: Registry | None = None
) -> Recipient | None:
    """The one who must act on a clock, from the role and OPD its instruction names.

    Their contacts are those of the contact role that holds the staff role for the service
    (the registry maps PPID's `officer` to `ppid_pelaksana`, its `coordinator` to
    `ppid_utama`); a staff role no contact role holds (an Atasan PPID) is reached in its
    in-app inbox in that OPD. None when the clock names no role.
    """
    if staff is None:
        return None
    registry = registry or load_registry()
    held = {v: k for k, v in registry.services[service].staff_roles.items()} if (
        service in registry.services
    ) else {}
    held.setdefault(_HEAD_STAFF, domain.HEAD)
    held.setdefault(_SEKDA_STAFF, domain.SEKDA)
    contact_role = held.get(staff, domain.ACTOR)
    local = contact_role in (domain.OFFICER, domain.HEAD, domain.ACTOR)
    if local and opd is None:
        # An OPD's role with no OPD: the regency coordinator answers for it.
        return Recipient(domain.COORDINATOR, None)
    if local:
        return Recipient(contact_role, opd, staff, opd)
    return Recipient(contact_role, None, staff, None)


def resolve_recipients(
    notify: Iterable[str], clock_opd: str | None, *, actor: Recipient | None = None
) -> list[Recipient]:
    """The roles of a step, bound to OPDs, the one who must act first.

    `officer` is the one who must act when the clock names them (`actor`): an unassigned
    PPID request's officer is the PPID Utama, never a Pelaksana who cannot open it.
    Otherwise `officer` and `head` are the clock's OPD's unless the entry names another OPD
    (`head@diskominfo`); a clock with no OPD has no officer or head, so the regency
    coordinator is told instead. `coordinator` and `sekda` are regency-level.
    """
    out: list[Recipient] = [actor] if actor is not None else []
    for entry in notify:
        match = domain.NOTIFY.match(entry)
        if match is None:
            continue
        role, opd = match.group(1), match.group(3)
        if role == domain.OFFICER and opd is None and actor is not None:
            continue
        if role in (domain.OFFICER, domain.HEAD):
            opd = opd or clock_opd
            recipient = Recipient(role, opd) if opd else Recipient(domain.COORDINATOR, None)
        else:
            recipient = Recipient(role, None)
        if all((r.role, r.opd) != (recipient.role, recipient.opd) for r in out):
            out.append(recipient)
    return out


def staff_role(role: str, service: str, registry: Registry) -> str:
    """The JWT role whose holders read this contact role's messages in the in-app inbox."""
    if role == domain.HEAD:
        return _HEAD_STAFF
    if role == domain.SEKDA:
        return _SEKDA_STAFF
    return registry.staff_role(service, role)


def inbox_address(
    recipient: Recipient, service: str, registry: Registry
) -> tuple[str, str | None]:
    """(staff role, OPD) that an in-app message for this recipient is addressed to."""
    if recipient.staff_role is not None:
        return recipient.staff_role, recipient.inbox_opd
    opd = recipient.opd if recipient.role in (domain.OFFICER, domain.HEAD) else None
    return staff_role(recipient.role, service, registry), opd
