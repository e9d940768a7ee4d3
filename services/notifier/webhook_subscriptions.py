"""Use cases of webhook subscriptions: register, list, change, rotate the secret, delete,
read the delivery log and redeliver.

Authorisation: an OPD's staff (the roles of `access.WEBHOOK_OPD`, with an `opd` claim)
manage that OPD's endpoints, whose patterns must all end with the OPD's code (so they can
only match its own events); a regency-level `admin` manages every endpoint and may subscribe
to anything; any other token manages none. Another OPD's endpoint is answered as missing.

Every use case returns plain results: the endpoint's view with its ETag, a page of views
with the total, or a delivery's view. The ETag's version is the model's `version_id_col`,
raised by every change an editor can make; the delivery bookkeeping (`failing_since`) leaves
it alone.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from services.common.auth import Principal
from services.common.concurrency import entity_tag, require_match
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.common.scope import ScopeRule
from services.notifier import access, signing, ssrf
from services.notifier.webhook_delivery import disable_endpoint
from services.notifier.webhook_models import (
    PENDING,
    WEBHOOK_DELIVERY_SEARCH,
    WEBHOOK_ENDPOINT_SEARCH,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.notifier.webhook_routing import patterns_problems
from services.notifier.webhook_settings import MAX_GRACE, WebhookConfig, webhook_config

MAX_ENDPOINTS_PER_OWNER = 20
ADMIN_ROLE = access.ADMIN
INVALID = "Isian webhook tidak valid."

_ENDPOINT_FIELDS = (
    "id",
    "opd",
    "url",
    "description",
    "patterns",
    "enabled",
    "disabled_reason",
    "disabled_at",
    "failing_since",
    "previous_secret_expires_at",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
)
_DELIVERY_FIELDS = (
    "id",
    "endpoint_id",
    "event_id",
    "event_type",
    "routing_key",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "last_duration_ms",
    "created_at",
    "succeeded_at",
    "redelivered_at",
    "redelivered_by",
)
_ATTEMPT_FIELDS = (
    "number",
    "attempted_at",
    "succeeded",
    "status_code",
    "error",
    "duration_ms",
    "response_excerpt",
)


# --- views -------------------------------------------------------------------------------


def etag_of(endpoint: WebhookEndpoint) -> str:
    return entity_tag("webhook", endpoint.id, endpoint.version)


def present_endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # The secret is never part of the view; `_with_secret` adds it when it is issued.
    view = {name: getattr(endpoint, name) for name in _ENDPOINT_FIELDS}
    view["patterns"] = list(endpoint.patterns)
    return view


def present_delivery(delivery: WebhookDelivery, *, detail: bool = False) -> dict[str, Any]:
    view = {name: getattr(delivery, name) for name in _DELIVERY_FIELDS}
    if detail:
        view["body"] = delivery.body
        view["attempt_log"] = [
            {name: getattr(attempt, name) for name in _ATTEMPT_FIELDS}
            for attempt in delivery.attempt_log
        ]
    return view


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> tuple[dict[str, Any], str]:
    return present_endpoint(endpoint) | {"secret": secret}, etag_of(endpoint)


# --- endpoints ---------------------------------------------------------------------------


# An OPD's staff manage their own OPD's endpoints; of the regency-level, only an admin, all.
# A token naming an OPD but holding no OPD staff role manages nothing (services.notifier.access).
OWNER_RULE: ScopeRule = access.WEBHOOK_SCOPE


def owner_scope(principal: Principal) -> str | None:
    """The OPD whose endpoints the principal manages, or None for every endpoint (admin)."""
    scope = OWNER_RULE.scope_of(principal)
    if scope.is_empty:
        raise Forbidden("Webhook dikelola oleh staf OPD untuk OPD-nya sendiri, atau oleh admin.")
    return scope.opd


def create_endpoint(
    rt: Runtime,
    principal: Principal,
    *,
    url: str,
    patterns: list[str],
    description: str = "",
    opd: str | None = None,
    config: WebhookConfig | None = None,
) -> tuple[dict[str, Any], str]:
    """Register an endpoint: (its view with the secret, shown this once only; its ETag)."""
    config = config or webhook_config(rt.settings)
    scope = owner_scope(principal)
    if scope is not None and opd not in (None, scope):
        raise Forbidden("Staf OPD hanya dapat mendaftarkan webhook untuk OPD-nya sendiri.")
    owner = scope if scope is not None else opd
    if owner is not None and owner not in rt.opds:
        raise Invalid(INVALID, {"opd": [f"Kode OPD tidak dikenal: {owner}."]})
    errors = patterns_problems(patterns, owner) | _url_problems(url, config)
    if errors:
        raise Invalid(INVALID, errors)
    now = rt.clock()
    secret = signing.new_secret()
    with rt.uow() as uow:
        count = uow.session.scalar(
            select(func.count()).select_from(WebhookEndpoint).where(_owned_by(owner))
        )
        if count >= MAX_ENDPOINTS_PER_OWNER:
            raise Conflict(f"Paling banyak {MAX_ENDPOINTS_PER_OWNER} webhook per pemilik.")
        endpoint = WebhookEndpoint(
            id=str(uuid.uuid4()),
            opd=owner,
            url=url,
            description=description or "",
            patterns=list(patterns),
            secret=secret,
            enabled=True,
            created_at=now,
            created_by=principal.sub,
            updated_at=now,
            updated_by=principal.sub,
        )
        uow.session.add(endpoint)
        uow.commit()
        return _with_secret(endpoint, secret)


def list_endpoints(
    rt: Runtime,
    principal: Principal,
    page: Page,
    *,
    opd: str | None = None,
    enabled: bool | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Endpoints the principal may see, newest first: (this page's views, total); `q`
    searches the description and the OPD."""
    scope = owner_scope(principal)
    stmt = select(WebhookEndpoint)
    if scope is not None:
        stmt = stmt.where(WebhookEndpoint.opd == scope)
    elif opd is not None:
        stmt = stmt.where(WebhookEndpoint.opd == opd)
    if enabled is not None:
        stmt = stmt.where(WebhookEndpoint.enabled.is_(enabled))
    stmt = WEBHOOK_ENDPOINT_SEARCH.apply(stmt, q)
    stmt = stmt.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id)
    with rt.session_factory() as session:
        endpoints, total = fetch_page(session, stmt, page)
        return [present_endpoint(e) for e in endpoints], total


def get_endpoint(rt: Runtime, principal: Principal, endpoint_id: str) -> tuple[dict[str, Any], str]:
    with rt.session_factory() as session:
        endpoint = _visible(session, principal, endpoint_id)
        return present_endpoint(endpoint), etag_of(endpoint)


def update_endpoint(
    rt: Runtime,
    principal: Principal,
    endpoint_id: str,
    changes: dict[str, Any],
    if_match: str | None,
    *,
    config: WebhookConfig | None = None,
) -> tuple[dict[str, Any], str]:
    """Change url, patterns, description or enabled if If-Match names the current ETag."""
    config = config or webhook_config(rt.settings)
    now = rt.clock()
    # DNS is asked before the row is locked, so no lock waits on a slow resolver.
    errors: dict[str, Any] = _url_problems(changes["url"], config) if "url" in changes else {}
    with rt.uow() as uow:
        endpoint = _visible(uow.session, principal, endpoint_id, lock=True)
        require_match(if_match, etag_of(endpoint))
        if "patterns" in changes:
            errors |= patterns_problems(changes["patterns"], endpoint.opd)
        if errors:
            raise Invalid(INVALID, errors)
        for name in ("url", "description", "patterns"):
            if name in changes:
                setattr(
                    endpoint, name, list(changes[name]) if name == "patterns" else changes[name]
                )
        endpoint.updated_at = now
        endpoint.updated_by = principal.sub
        if changes.get("enabled") is True and not endpoint.enabled:
            endpoint.enabled = True
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
            endpoint.failing_since = None
        elif changes.get("enabled") is False and endpoint.enabled:
            disable_endpoint(
                uow, endpoint, now, f"Dinonaktifkan oleh {principal.sub}.", automatic=False
            )
        uow.commit()
        return present_endpoint(endpoint), etag_of(endpoint)


def rotate_secret(
    rt: Runtime,
    principal: Principal,
    endpoint_id: str,
    *,
    grace: timedelta | None = None,
    config: WebhookConfig | None = None,
) -> tuple[dict[str, Any], str]:
    """Issue a new secret; the old one keeps signing alongside it for `grace`."""
    config = config or webhook_config(rt.settings)
    grace = config.secret_grace if grace is None else grace
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise Invalid("Isian tidak valid.", {"grace_hours": ["Antara 0 dan 168 jam."]})
    now = rt.clock()
    secret = signing.new_secret()
    with rt.uow() as uow:
        endpoint = _visible(uow.session, principal, endpoint_id, lock=True)
        if grace > timedelta(0):
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = now + grace
        else:
            endpoint.previous_secret = None
            endpoint.previous_secret_expires_at = None
        endpoint.secret = secret
        endpoint.updated_at = now
        endpoint.updated_by = principal.sub
        uow.commit()
        return _with_secret(endpoint, secret)


def delete_endpoint(
    rt: Runtime, principal: Principal, endpoint_id: str, if_match: str | None
) -> None:
    """Remove an endpoint with its delivery log."""
    with rt.uow() as uow:
        endpoint = _visible(uow.session, principal, endpoint_id, lock=True)
        require_match(if_match, etag_of(endpoint))
        # Explicit, so the log goes on SQLite connections without foreign-key enforcement too.
        delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
        uow.session.execute(
            WebhookAttempt.__table__.delete().where(WebhookAttempt.delivery_id.in_(delivery_ids))
        )
        uow.session.execute(
            WebhookDelivery.__table__.delete().where(WebhookDelivery.endpoint_id == endpoint.id)
        )
        uow.session.delete(endpoint)
        uow.commit()


# --- the delivery log --------------------------------------------------------------------


def list_deliveries(
    rt: Runtime,
    principal: Principal,
    endpoint_id: str,
    page: Page,
    *,
    status: str | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """An endpoint's delivery log, newest first: (this page's views, total); `q` searches
    the event type, the subject and the routing key."""
    with rt.session_factory() as session:
        _visible(session, principal, endpoint_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        stmt = WEBHOOK_DELIVERY_SEARCH.apply(stmt, q)
        deliveries, total = fetch_page(session, stmt.order_by(WebhookDelivery.id.desc()), page)
        return [present_delivery(d) for d in deliveries], total


def get_delivery(
    rt: Runtime, principal: Principal, endpoint_id: str, delivery_id: int
) -> dict[str, Any]:
    """One delivery with every attempt made for it."""
    with rt.session_factory() as session:
        _visible(session, principal, endpoint_id)
        delivery = session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
            .options(selectinload(WebhookDelivery.attempt_log))
        )
        if delivery is None:
            raise NotFound("Pengiriman webhook tidak ditemukan.")
        return present_delivery(delivery, detail=True)


def redeliver(
    rt: Runtime, principal: Principal, endpoint_id: str, delivery_id: int
) -> dict[str, Any]:
    """Queue a finished delivery again, due at once, with a fresh retry schedule."""
    now = rt.clock()
    with rt.uow() as uow:
        endpoint = _visible(uow.session, principal, endpoint_id, lock=True)
        delivery = uow.session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
            .with_for_update()
        )
        if delivery is None:
            raise NotFound("Pengiriman webhook tidak ditemukan.")
        if not endpoint.enabled:
            raise Conflict("Aktifkan kembali webhook ini sebelum mengirim ulang.")
        if delivery.status == PENDING:
            raise Conflict("Pengiriman ini masih dalam antrean.")
        delivery.status = PENDING
        delivery.round_attempts = 0
        delivery.next_attempt_at = now
        delivery.lease_token = None
        delivery.redelivered_at = now
        delivery.redelivered_by = principal.sub
        uow.commit()
        return present_delivery(delivery)


# --- helpers -----------------------------------------------------------------------------


def _visible(
    session: Session, principal: Principal, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    scope = owner_scope(principal)
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock or None)
    # Another OPD's endpoint is reported as missing: its existence is not this OPD's business.
    if endpoint is None or (scope is not None and endpoint.opd != scope):
        raise NotFound("Webhook tidak ditemukan.")
    return endpoint


def _owned_by(owner: str | None):
    return WebhookEndpoint.opd.is_(None) if owner is None else WebhookEndpoint.opd == owner


def _url_problems(url: str, config: WebhookConfig) -> dict[str, list[str]]:
    try:
        ssrf.resolve(url, config.egress)
    except ssrf.UnsafeUrl as exc:
        return {"url": [str(exc)]}
    return {}
