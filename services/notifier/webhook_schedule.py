"""When a webhook delivery is tried again, and when an endpoint is given up on (pure).

Standard Webhooks 1.0, "Deliverability and reliability": after a failure the delivery is
tried again immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
(ten attempts over about three days), or later when the receiver asks so with Retry-After.
`410 Gone` ends the delivery and disables the endpoint at once; an endpoint whose attempts
have all failed for `disable_after` is disabled too. That period is longer than one
delivery's whole schedule, so one unlucky event never disables an endpoint that otherwise
works.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The delay before each attempt, counted from the failure of the one before.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# A receiver may ask for a longer pause (429/503 with Retry-After), up to this.
MAX_RETRY_AFTER = timedelta(hours=24)


def next_delay(round_attempts: int) -> timedelta | None:
    """The pause after the `round_attempts`-th failed attempt of a round; None when spent."""
    if round_attempts < len(RETRY_SCHEDULE):
        return RETRY_SCHEDULE[round_attempts]
    return None


def next_attempt_after_failure(
    round_attempts: int, now: datetime, *, gone: bool, retry_after: timedelta | None
) -> datetime | None:
    """When a failed delivery is tried again; None when it has failed for good."""
    delay = None if gone else next_delay(round_attempts)
    if delay is None:
        return None
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay


def disabling_reason(
    *, gone: bool, failing_since: datetime, now: datetime, disable_after: timedelta
) -> str | None:
    """Why a failing endpoint is disabled now, or None while it is still given a chance."""
    if gone:
        return "Penerima menjawab 410 Gone."
    if now - failing_since >= disable_after:
        return f"Semua pengiriman gagal selama {disable_after.days} hari."
    return None
