"""Sending due webhook deliveries: claim, sign and POST, log the attempt, retry or give up.

Called by the worker's tick with its `now`, which drives the schedule (`webhook_schedule`),
so operators and tests can move it. Workers claim due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, BEGIN IMMEDIATE on SQLite) and move them out of reach with a lease before
sending, so no transaction stays open across a network call and two workers never send the
same attempt. A worker that dies mid-send leaves the lease to expire and the delivery is
tried again: at least once, and `webhook-id` (the event id) lets the receiver drop the
duplicate. Every attempt goes to the delivery log (`WebhookAttempt`).

Disabling an endpoint (410, a long failing streak, or staff) fails its pending deliveries and,
when automatic, publishes `notifier.webhook.disabled`, so the OPD can be told through
another channel.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from services.common.outbox import UnitOfWork
from services.common.runtime import Runtime
from services.notifier.events import CATALOGUE
from services.notifier.webhook_models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.notifier.webhook_routing import enqueue_for_event
from services.notifier.webhook_schedule import disabling_reason, next_attempt_after_failure
from services.notifier.webhook_sender import Outcome, send
from services.notifier.webhook_settings import WebhookConfig, webhook_config

log = logging.getLogger("simpul.notifier.webhooks")

# A claimed delivery is out of other workers' reach this long; it covers a whole batch of
# sends at the request timeout with room to spare.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    lease_token: str
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]
    event_id: str
    body: str
    attempt_number: int


def deliver_due(
    rt: Runtime,
    now: datetime,
    *,
    config: WebhookConfig | None = None,
    max_batches: int = 50,
) -> int:
    """Attempt every delivery due at `now`; returns the number of attempts made."""
    config = config or webhook_config(rt.settings)
    made = 0
    for _ in range(max_batches):
        claims = claim_due(rt, now, config)
        if not claims:
            break
        workers = max(1, min(config.concurrency, len(claims)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
            outcomes = list(pool.map(lambda c: _send(c, config), claims))
        record_outcomes(rt, now, config, list(zip(claims, outcomes, strict=True)))
        made += len(claims)
        if len(claims) < config.batch_size:
            break
    return made


def _send(claim: Claim, config: WebhookConfig) -> Outcome:
    return send(
        claim.url,
        claim.secrets,
        claim.event_id,
        claim.body,
        egress=config.egress,
        timeout_seconds=config.timeout_seconds,
    )


def claim_due(rt: Runtime, now: datetime, config: WebhookConfig) -> list[Claim]:
    """Lease a batch of due deliveries to this worker, counting the attempt it will make."""
    with rt.uow() as uow:
        session = uow.session
        rows = session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == PENDING,
                # The first attempt of a round is due at once, whatever instant the caller
                # passes (a tick run for an earlier `now` still sends what just happened).
                or_(WebhookDelivery.round_attempts == 0, WebhookDelivery.next_attempt_at <= now),
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(config.batch_size)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        ).all()
        claims = []
        for delivery, endpoint in rows:
            delivery.lease_token = str(uuid.uuid4())
            delivery.next_attempt_at = now + LEASE
            delivery.attempts += 1
            delivery.round_attempts += 1
            claims.append(
                Claim(
                    delivery_id=delivery.id,
                    lease_token=delivery.lease_token,
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    secrets=signing_secrets(endpoint, now),
                    event_id=delivery.event_id,
                    body=delivery.body,
                    attempt_number=delivery.attempts,
                )
            )
        uow.commit()
        return claims


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The current secret, plus the previous one while its grace period lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


def record_outcomes(
    rt: Runtime, now: datetime, config: WebhookConfig, results: list[tuple[Claim, Outcome]]
) -> None:
    """Log each attempt, settle its delivery, and disable endpoints that are given up on."""
    # Endpoints are locked before their deliveries, in id order, everywhere: two workers
    # (or a worker and an API call) never wait on each other in opposite orders.
    results.sort(key=lambda pair: (pair[0].endpoint_id, pair[0].delivery_id))
    with rt.uow() as uow:
        session = uow.session
        endpoints: dict[str, WebhookEndpoint | None] = {}
        for claim, outcome in results:
            if claim.endpoint_id not in endpoints:
                endpoints[claim.endpoint_id] = session.get(
                    WebhookEndpoint, claim.endpoint_id, with_for_update=True
                )
            endpoint = endpoints[claim.endpoint_id]
            delivery = session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
            if endpoint is None or delivery is None:
                continue  # deleted while the request was in flight
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=claim.attempt_number,
                    attempted_at=now,
                    succeeded=outcome.succeeded,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                    response_excerpt=outcome.excerpt,
                )
            )
            if delivery.lease_token != claim.lease_token:
                # Another worker took the delivery over after our lease ran out; its outcome
                # decides the state, ours stays in the log.
                continue
            _settle(delivery, outcome, now)
            if not endpoint.enabled and delivery.status == PENDING:
                # Sent while the endpoint was being disabled: no retry to a disabled endpoint.
                delivery.status = FAILED
                delivery.next_attempt_at = None
            if outcome.succeeded:
                _set_failing_since(uow, endpoint, None)
            elif endpoint.enabled:
                since = endpoint.failing_since
                if since is None:
                    since = _set_failing_since(uow, endpoint, now)
                reason = disabling_reason(
                    gone=outcome.gone,
                    failing_since=since,
                    now=now,
                    disable_after=config.disable_after,
                )
                if reason is not None:
                    disable_endpoint(uow, endpoint, now, reason)
        uow.commit()


def _set_failing_since(uow: UnitOfWork, endpoint: WebhookEndpoint, value: datetime | None):
    # The failing streak is delivery bookkeeping, not a change to the subscription: written
    # with a statement, so the endpoint's version (its ETag) stays what its editor loaded.
    if endpoint.failing_since != value:
        uow.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(failing_since=value)
            .execution_options(synchronize_session="fetch")
        )
    return value


def _settle(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
    delivery.lease_token = None
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.last_duration_ms = outcome.duration_ms
    if outcome.succeeded:
        delivery.status = SUCCEEDED
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
        return
    delivery.next_attempt_at = next_attempt_after_failure(
        delivery.round_attempts, now, gone=outcome.gone, retry_after=outcome.retry_after
    )
    if delivery.next_attempt_at is None:
        delivery.status = FAILED


def disable_endpoint(
    uow: UnitOfWork,
    endpoint: WebhookEndpoint,
    now: datetime,
    reason: str,
    *,
    automatic: bool = True,
) -> None:
    """Stop deliveries to an endpoint; its pending ones fail and can be redelivered later."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:200]
    endpoint.disabled_at = now
    endpoint.updated_at = now
    uow.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == PENDING,
            # Deliveries in flight are settled by the worker that sent them.
            WebhookDelivery.lease_token.is_(None),
        )
        .values(
            status=FAILED,
            next_attempt_at=None,
            last_error="Endpoint dinonaktifkan sebelum pengiriman berhasil.",
        )
    )
    if automatic:
        log.warning(
            "webhook endpoint disabled", extra={"endpoint_id": endpoint.id, "reason": reason}
        )
        disabled = CATALOGUE.event(
            "webhook",
            "disabled",
            subject=f"webhooks/{endpoint.id}",
            opd=endpoint.opd,
            time=now,
            data={
                "endpoint_id": endpoint.id,
                "reason": endpoint.disabled_reason,
                "disabled_at": now,
                "failing_since": endpoint.failing_since,
            },
        )
        uow.publish(disabled)
        # The notifier hands its own events to subscribers as it publishes them (the copy
        # that comes back through its queue is skipped), so other endpoints hear of it too.
        uow.session.flush()
        enqueue_for_event(uow.session, disabled.envelope(), now=now)
