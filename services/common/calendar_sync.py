"""Keeps every service's calendar and OPD directory in step with the notifier, their owner.

Operators change working-day exceptions and OPDs through the notifier, which publishes the
full list each time: `notifier.calendar.updated` (the exceptions) and `notifier.opds.updated`
(the OPD directory: codes, names, kinds, active flags). Each service's worker stores the
latest of each in its own `calendar_state` table (row 1 the calendar, row 2 the directory);
web processes, which never talk to the broker, re-read the rows at most every
`refresh_seconds`. So all services agree within a minute without sharing a database.

A service whose queue or database is newer than the last change catches up too: the
notifier publishes both lists again every few seconds (`NOTIFIER_REFERENCE_REPUBLISH`), and a
list is applied only when it is newer than the stored one. "Newer" is the instant the list
last changed at the notifier (`data.changed_at`), not a counter: a notifier restored from a
backup stamps its next change with the current time, so it is not ignored by services that
counted further before the restore. Before a service has received a directory, its registry
is `config/opd.json`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common.calendar import WorkingCalendar, parse_overrides
from services.common.db import UtcDateTime
from services.common.events import event_time
from services.common.opd import OpdRegistry, parse_directory

CALENDAR_UPDATED = "notifier.calendar.updated"
DIRECTORY_UPDATED = "notifier.opds.updated"
# What every service's worker binds its reference-data queue to.
REFERENCE_BINDINGS = (f"{CALENDAR_UPDATED}.#", f"{DIRECTORY_UPDATED}.#")
_CALENDAR_ROW = 1
_DIRECTORY_ROW = 2
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
# The lists come again every few seconds and applying one twice changes nothing, so the
# reference consumer's inbox rows are kept a day (enough for any redelivery), not for ever.
REFERENCE_INBOX_RETENTION = timedelta(days=1)


def calendar_state_table(metadata: MetaData) -> Table:
    return Table(
        "calendar_state",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("version", Integer, nullable=False),
        Column("document", Text, nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    )


@dataclass(frozen=True)
class Stored:
    """One stored list: the local version (bumped on every change), the list, and when the
    notifier last changed it."""

    version: int
    document: dict[str, Any]
    changed_at: datetime


class CalendarSync:
    def __init__(
        self,
        engine: Engine,
        table: Table,
        calendar: WorkingCalendar,
        seed_file: Path,
        refresh_seconds: float = 30.0,
        opds: OpdRegistry | None = None,
    ):
        self.engine = engine
        self.table = table
        self.calendar = calendar
        self.seed_file = seed_file
        self.refresh_seconds = refresh_seconds
        self.opds = opds
        self._version: int | None = None
        self._directory_version: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def seed(self, session: Session) -> None:
        """On first start, the exceptions come from the shipped `config/calendar.json`."""
        if self._read(session, _CALENDAR_ROW) is None:
            document = json.loads(self.seed_file.read_text(encoding="utf-8"))
            parse_overrides(document)
            session.execute(
                insert(self.table).values(
                    id=_CALENDAR_ROW,
                    version=0,
                    document=json.dumps(_only_overrides(document)),
                    updated_at=_NEVER,
                )
            )

    def refresh_if_stale(self) -> None:
        if time.monotonic() - self._checked_at >= self.refresh_seconds:
            self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            with self.engine.connect() as conn:
                rows = {
                    row.id: row
                    for row in conn.execute(
                        select(self.table.c.id, self.table.c.version, self.table.c.document)
                    )
                }
            calendar = rows.get(_CALENDAR_ROW)
            if calendar is not None and calendar.version != self._version:
                added, removed = parse_overrides(json.loads(calendar.document))
                self.calendar.set_overrides(added, removed)
                self._version = calendar.version
            directory = rows.get(_DIRECTORY_ROW)
            if (
                self.opds is not None
                and directory is not None
                and directory.version != self._directory_version
            ):
                self.opds.replace(parse_directory(json.loads(directory.document)["opds"]))
                self._directory_version = directory.version

    def current(self) -> dict[str, Any]:
        """The exceptions now in force, as the notifier publishes them."""
        return {"version": self._version or 0, **self.calendar.overrides()}

    def stored_calendar(self, session: Session) -> Stored:
        """The stored exceptions (seeding them first on a database that has none)."""
        self.seed(session)
        return self._read(session, _CALENDAR_ROW)

    def stored_directory(self, session: Session) -> Stored | None:
        """The last OPD directory received, or None before the first."""
        return self._read(session, _DIRECTORY_ROW)

    def store(self, session: Session, document: dict[str, Any], at: datetime) -> bool:
        """Replace the stored exceptions unless a list as new or newer is already there.

        The broker may deliver two updates out of order, and the notifier repeats its list;
        only a list that changed later than the stored one replaces it, so a stale or
        repeated list never overwrites anything.
        """
        document = _only_overrides(document)
        parse_overrides(document)
        self.seed(session)
        return self._store(session, _CALENDAR_ROW, document, at)

    def store_directory(self, session: Session, opds: list[dict[str, Any]], at: datetime) -> bool:
        """Replace the stored OPD directory unless one as new or newer is already there."""
        entries = [
            {"code": o.code, "name": o.name, "short_name": o.short_name, "kind": o.kind,
             "active": o.active}
            for o in parse_directory(opds)
        ]
        return self._store(session, _DIRECTORY_ROW, {"opds": entries}, at)

    def handle_event(self, uow, envelope: dict[str, Any]) -> None:
        """Consumer handler for `notifier.calendar.updated` and `notifier.opds.updated`."""
        kind = envelope.get("type")
        if kind not in (CALENDAR_UPDATED, DIRECTORY_UPDATED):
            return
        data = envelope.get("data") or {}
        at = changed_at(envelope)
        if kind == CALENDAR_UPDATED:
            self.store(uow.session, data, at)
        else:
            self.store_directory(uow.session, data.get("opds"), at)
        uow.after_commit(self.refresh)

    # -- rows ---------------------------------------------------------------------------

    def _read(self, session: Session, row_id: int) -> Stored | None:
        row = session.execute(
            select(self.table.c.version, self.table.c.document, self.table.c.updated_at).where(
                self.table.c.id == row_id
            )
        ).one_or_none()
        if row is None:
            return None
        return Stored(row.version, json.loads(row.document), row.updated_at)

    def _store(self, session: Session, row_id: int, document: dict[str, Any], at: datetime) -> bool:
        current = self._read(session, row_id)
        if current is None:
            session.execute(
                insert(self.table).values(
                    id=row_id, version=1, document=json.dumps(document), updated_at=at
                )
            )
            return True
        if at <= current.changed_at:
            return False
        session.execute(
            update(self.table)
            .where(self.table.c.id == row_id)
            .values(version=current.version + 1, document=json.dumps(document), updated_at=at)
        )
        return True


def purge_reference_inbox(engine: Engine, inbox: Table, consumer: str, now: datetime) -> int:
    """Forget the reference consumer's processed events older than a day; returns how many.

    Only that consumer's rows: other consumers' handlers are not idempotent by themselves.
    """
    with engine.begin() as conn:
        result = conn.execute(
            delete(inbox).where(
                inbox.c.consumer == consumer,
                inbox.c.processed_at < now - REFERENCE_INBOX_RETENTION,
            )
        )
    return result.rowcount


def changed_at(envelope: dict[str, Any]) -> datetime:
    """When the notifier's list last changed; the event's own time for lists sent before
    the notifier said so."""
    raw = (envelope.get("data") or {}).get("changed_at")
    if raw is None:
        return event_time(envelope)
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"changed_at must carry its offset, got {raw!r}")
    return value


def _only_overrides(document: dict[str, Any]) -> dict[str, Any]:
    return {"added": list(document.get("added", [])), "removed": list(document.get("removed", []))}
