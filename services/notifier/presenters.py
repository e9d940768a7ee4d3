"""What the notifier's use cases hand back: plain dictionaries made inside their unit of
work, never ORM rows (docs/chassis.md, "A use case")."""

from __future__ import annotations

from typing import Any

from services.common.db import column_values
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


def clock_view(row: Clock) -> dict[str, Any]:
    return {**column_values(row), "open": row.stopped_at is None}
