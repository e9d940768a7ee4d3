"""Keeps every service's working-day calendar in step with the notifier's exceptions.

Operators add or remove working-day exceptions through the notifier (the calendar's owner),
which publishes `notifier.calendar.updated` with the full list. Each service's worker
stores that list in its own `calendar_state` row; web processes, which never talk to the
broker, re-read the row at most every `refresh_seconds`. So all services agree within a
minute without sharing a database.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common.calendar import WorkingCalendar, parse_overrides
from services.common.db import UtcDateTime
from services.common.events import event_time

CALENDAR_UPDATED = "notifier.calendar.updated"
_ROW_ID = 1


def calendar_state_table(metadata: MetaData) -> Table:
    return Table(
        "calendar_state",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("version", Integer, nullable=False),
        Column("document", Text, nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    )


class CalendarSync:
    def __init__(
        self,
        engine: Engine,
        table: Table,
        calendar: WorkingCalendar,
        seed_file: Path,
        refresh_seconds: float = 30.0,
    ):
        self.engine = engine
        self.table = table
        self.calendar = calendar
        self.seed_file = seed_file
        self.refresh_seconds = refresh_seconds
        self._version: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def seed(self, session: Session) -> None:
        """On first start, the exceptions come from the shipped `config/calendar.json`."""
        if session.scalar(select(self.table.c.id).where(self.table.c.id == _ROW_ID)) is None:
            document = json.loads(self.seed_file.read_text(encoding="utf-8"))
            parse_overrides(document)
            session.execute(
                insert(self.table).values(
                    id=_ROW_ID,
                    version=0,
                    document=json.dumps(_only_overrides(document)),
                    updated_at=datetime(1970, 1, 1, tzinfo=UTC),
                )
            )

    def refresh_if_stale(self) -> None:
        if time.monotonic() - self._checked_at >= self.refresh_seconds:
            self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(self.table.c.version, self.table.c.document).where(
                        self.table.c.id == _ROW_ID
                    )
                ).first()
            if row is not None and row.version != self._version:
                added, removed = parse_overrides(json.loads(row.document))
                self.calendar.set_overrides(added, removed)
                self._version = row.version

    def current(self) -> dict[str, Any]:
        """The exceptions now in force, as the notifier publishes them."""
        return {"version": self._version or 0, **self.calendar.overrides()}

    def store(self, session: Session, document: dict[str, Any], at: datetime) -> bool:
        """Replace the stored exceptions unless a newer list is already there.

        The broker may deliver two updates out of order; the one with the later event time
        wins, so a stale list never overwrites a fresh one.
        """
        document = _only_overrides(document)
        parse_overrides(document)
        self.seed(session)
        current = session.execute(
            select(self.table.c.version, self.table.c.updated_at).where(self.table.c.id == _ROW_ID)
        ).one()
        if at <= current.updated_at:
            return False
        session.execute(
            update(self.table)
            .where(self.table.c.id == _ROW_ID)
            .values(
                version=current.version + 1,
                document=json.dumps(document),
                updated_at=at,
            )
        )
        return True

    def handle_event(self, uow, envelope: dict[str, Any]) -> None:
        """Consumer handler for `notifier.calendar.updated`."""
        if envelope.get("type") != CALENDAR_UPDATED:
            return
        data = envelope.get("data") or {}
        self.store(uow.session, data, event_time(envelope))
        uow.after_commit(self.refresh)


def _only_overrides(document: dict[str, Any]) -> dict[str, Any]:
    return {"added": list(document.get("added", [])), "removed": list(document.get("removed", []))}
