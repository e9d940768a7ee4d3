"""What the notifier's use cases hand back: plain dictionaries made inside their unit of
work, never ORM rows (docs/chassis.md, "A use case")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.calendar import WorkingCalendar
from services.common.db import column_values
from services.notifier import domain, messages
from services.notifier.models import Clock, Policy

_DOCUMENT_KEYS = ("label", "action", "reminders", "breach", "escalation")


def policy_view(row: Policy) -> dict[str, Any]:
    """A policy's document with its record fields beside it."""
    return {
        "clock": row.clock,
        **{key: row.document[key] for key in _DOCUMENT_KEYS},
        "action_variants": row.document.get("action_variants", []),
        "version": row.version,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }


def clock_view(row: Clock, now: datetime, cal: WorkingCalendar) -> dict[str, Any]:
    return {**column_values(row), "open": row.stopped_at is None,
            "status_text": status_text(row, now, cal)}


def status_text(row: Clock, now: datetime, cal: WorkingCalendar) -> str | None:
    """Where an open staff duty stands, counted as its owner counts it; None once it ended
    or for a citizen's window, which nobody on the staff has to watch."""
    if row.stopped_at is not None or row.due_at is None or row.party == domain.CITIZEN:
        return None
    if row.state == domain.PAUSED and row.paused_at is not None:
        return messages.paused_text(row.paused_at, cal)
    counting = row.counting or domain.WORKING_DAYS
    if row.due_at < now:
        return messages.lateness_text(row.due_at, now, cal, counting)
    return messages.remaining_text(row.due_at, now, cal, counting)
