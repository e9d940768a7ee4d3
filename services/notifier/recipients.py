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

from services.common.registry import Registry
from services.notifier import domain

# Regency-wide readers, the same for every service.
_HEAD_STAFF = "opd_head"
_SEKDA_STAFF = "sekda"


@dataclass(frozen=True)
class Recipient:
    """A contact role to tell, and the OPD whose contact it is (None: regency level)."""

    role: str
    opd: str | None


def resolve_recipients(notify: Iterable[str], clock_opd: str | None) -> list[Recipient]:
    """The roles of a step, bound to OPDs.

    `officer` and `head` are the clock's OPD's unless the entry names another OPD
    (`head@diskominfo`); a clock with no OPD has no officer or head, so the regency
    coordinator is told instead. `coordinator` and `sekda` are regency-level.
    """
    out: list[Recipient] = []
    for entry in notify:
        match = domain.NOTIFY.match(entry)
        if match is None:
            continue
        role, opd = match.group(1), match.group(3)
        if role in (domain.OFFICER, domain.HEAD):
            opd = opd or clock_opd
            recipient = Recipient(role, opd) if opd else Recipient(domain.COORDINATOR, None)
        else:
            recipient = Recipient(role, None)
        if recipient not in out:
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
    opd = recipient.opd if recipient.role in (domain.OFFICER, domain.HEAD) else None
    return staff_role(recipient.role, service, registry), opd
