"""The reference data the notifier owns for every service: calendar exceptions, OPD directory.

Each change publishes the full list at once (`notifier.calendar.updated`,
`notifier.opds.updated`), and the worker publishes both again every
`NOTIFIER_REFERENCE_REPUBLISH` so that a service whose queue or database is newer than the
last change catches up without an operator (`services.common.calendar_sync` applies a list
only when it changed later than the stored one). The repeats go to the broker only: webhook
subscribers hear of real changes, not of every repeat.

The directory carries reference data only (codes, names, kinds, active flags), never a
contact or anything else about a person.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.events import Event
from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.notifier import outgoing
from services.notifier.models import DirectoryOpd


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def calendar_data(session: Session, rt: Runtime) -> dict[str, Any]:
    """The exceptions in force, as `notifier.calendar.updated` carries them."""
    stored = rt.calendar_sync.stored_calendar(session)
    return {
        "version": stored.version,
        "changed_at": _instant(stored.changed_at),
        **{
            key: sorted(stored.document.get(key, []), key=lambda e: e["date"])
            for key in ("added", "removed")
        },
    }


def directory_data(session: Session, rt: Runtime) -> dict[str, Any] | None:
    """The OPD directory, as `notifier.opds.updated` carries it; None while it is empty.

    OPDs keep the order services already know (config/opd.json's, which reports follow);
    OPDs an admin added come after them, by code.
    """
    rows = list(session.scalars(select(DirectoryOpd)))
    if not rows:
        return None
    known = {code: index for index, code in enumerate(rt.opds.codes())}
    rows.sort(key=lambda r: (known.get(r.code, len(known)), r.code))
    return {
        # Every edit of an OPD raises its version, so the sum counts the directory's changes.
        "version": sum(r.version for r in rows),
        "changed_at": _instant(max(r.updated_at for r in rows)),
        "opds": [
            {"code": r.code, "name": r.name, "short_name": r.short_name, "kind": r.kind,
             "active": r.active}
            for r in rows
        ],
    }


def calendar_event(data: dict[str, Any], now: datetime) -> Event:
    return outgoing.event("calendar", "updated", subject="calendar", opd=None, data=data, time=now)


def directory_event(data: dict[str, Any], now: datetime) -> Event:
    return outgoing.event(
        "opds", "updated", subject="directory/opds", opd=None, data=data, time=now
    )


def publish_directory(uow: UnitOfWork, rt: Runtime) -> None:
    """After an OPD changed, in the same unit of work: the whole directory as it now is."""
    data = directory_data(uow.session, rt)
    if data is not None:
        outgoing.publish(uow, directory_event(data, rt.clock()))


def republish(rt: Runtime) -> int:
    """Both lists again, for late joiners; returns how many were published.

    A calendar no operator has changed yet is not repeated: every service starts from the
    same shipped file.
    """
    now = rt.clock()
    with rt.uow() as uow:
        events = []
        calendar = calendar_data(uow.session, rt)
        if calendar["version"] > 0:
            events.append(calendar_event(calendar, now))
        directory = directory_data(uow.session, rt)
        if directory is not None:
            events.append(directory_event(directory, now))
        if events:
            uow.publish(*events)
            uow.commit()
    return len(events)
