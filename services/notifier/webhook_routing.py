"""Which subscription gets which event: routing-key patterns and the delivery queue.

An endpoint subscribes with patterns in the topic-exchange semantics an AMQP consumer would
use (`*` one word, `#` zero or more): `lapor.#.dinkes`, `ppid.request.*.dinkes`, `#.dinkes`.
The notifier's consumer calls `enqueue_for_event` for every event in the transaction that
records it, so each matching endpoint gets exactly one delivery row per event.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common.db import insert_unless_present
from services.common.events import event_time, routing_keys
from services.notifier import signing
from services.notifier.webhook_models import PENDING, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("simpul.notifier.webhooks")

MAX_PATTERNS = 20
MAX_PATTERN_LENGTH = 255

_WORD = re.compile(r"^(\*|#|[a-z0-9_]+)$")


# --- patterns (pure) ---------------------------------------------------------------------


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more words."""
    words = pattern.split(".")
    key = routing_key.split(".")
    # reachable[j]: the pattern words seen so far can consume exactly the first j key words.
    reachable = [True] + [False] * len(key)
    for word in words:
        if word == "#":
            for j in range(1, len(key) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            nxt = [False] * (len(key) + 1)
            for j in range(1, len(key) + 1):
                nxt[j] = reachable[j - 1] and (word == "*" or word == key[j - 1])
            reachable = nxt
    return reachable[len(key)]


def pattern_problem(pattern: Any) -> str | None:
    """Why a pattern is not acceptable, or None."""
    if not isinstance(pattern, str) or not pattern:
        return "Pola wajib diisi."
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"Pola paling panjang {MAX_PATTERN_LENGTH} karakter."
    if not all(_WORD.match(word) for word in pattern.split(".")):
        return (
            "Pola terdiri atas kata huruf kecil, angka atau '_', '*' (satu kata) atau "
            "'#' (nol kata atau lebih), dipisah titik."
        )
    return None


def patterns_problems(patterns: Sequence[str], owner_opd: str | None) -> dict[str, list[str]]:
    """Field errors for an endpoint's pattern list, keyed by position."""
    if not patterns:
        return {"patterns": ["Sertakan paling sedikit satu pola."]}
    if len(patterns) > MAX_PATTERNS:
        return {"patterns": [f"Paling banyak {MAX_PATTERNS} pola."]}
    errors: dict[str, list[str]] = {}
    for index, pattern in enumerate(patterns):
        problem = pattern_problem(pattern)
        if problem is None and owner_opd is not None and pattern.split(".")[-1] != owner_opd:
            # A literal last word can only match keys that end with it, and the last word of
            # a routing key is the OPD: so the endpoint sees its own OPD's events and no more.
            problem = (
                f"Pola harus diakhiri kode OPD Anda: '…{owner_opd}', misalnya '#.{owner_opd}'."
            )
        if problem:
            errors[str(index)] = [problem]
    if not errors and len(set(patterns)) != len(patterns):
        return {"patterns": ["Pola tidak boleh berulang."]}
    return {"patterns": errors} if errors else {}


# --- the delivery queue ------------------------------------------------------------------


def enqueue_for_event(
    session: Session, envelope: dict[str, Any], *, now: datetime | None = None
) -> int:
    """Queue one delivery per enabled endpoint whose patterns match the event.

    Runs in the caller's transaction; a second call for the same event adds nothing. The
    first attempt is due at once: the next `deliver_due` sends it whatever its `now`
    (`next_attempt_at` records the event's time, or `now` if that is earlier, for ordering).
    Without `now` the event's own time stands for it (the notifier's own events, published
    at their `time`). Returns the number of deliveries added.
    """
    event_id = str(envelope.get("id") or "")
    if not signing.is_message_id(event_id):
        log.warning("event id unfit for a webhook id; not delivered", extra={"event_id": event_id})
        return 0
    # A case moving between OPDs was published to both: each OPD's endpoints hear of it.
    keys = routing_keys(envelope)
    opds = sorted({key.rsplit(".", 1)[1] for key in keys})
    candidates = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.opd.is_(None), WebhookEndpoint.opd.in_(opds)),
        )
    ).all()
    matched = []
    for endpoint in candidates:
        key = next((k for k in keys if any(topic_matches(p, k) for p in endpoint.patterns)), None)
        if key is not None:
            matched.append((endpoint, key))
    if not matched:
        return 0
    try:
        happened = event_time(envelope).astimezone(UTC)
    except (KeyError, ValueError):
        happened = None
    current = now if now is not None else happened
    if current is None:
        log.warning(
            "event without a readable time and no instant given; not delivered",
            extra={"event_id": event_id},
        )
        return 0
    due = min(current, happened) if happened is not None else current
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    rows = [
        {
            "endpoint_id": endpoint.id,
            "event_id": event_id,
            "event_type": str(envelope.get("type", ""))[:255],
            "routing_key": key[:255],
            "subject": str(envelope.get("subject") or "")[:255],
            "body": body,
            "status": PENDING,
            "attempts": 0,
            "round_attempts": 0,
            "next_attempt_at": due,
            "created_at": current,
        }
        for endpoint, key in matched
    ]
    table = WebhookDelivery.__table__
    stmt = (
        insert_unless_present(session, table, index_elements=["endpoint_id", "event_id"])
        .values(rows)
        .returning(table.c.id)
    )
    # RETURNING counts what was inserted; rowcount is not reliable for multi-row inserts.
    return len(session.execute(stmt).all())
