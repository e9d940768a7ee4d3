"""Webhook subscriptions for OPD systems: matching events, signed delivery, retries.

An OPD system that cannot speak AMQP registers an endpoint with routing-key patterns, with
the topic-exchange semantics it would have used on RabbitMQ (`*` one word, `#` zero or more):
`lapor.#.dinkes`, `ppid.request.*.dinkes`, `#.dinkes`. The notifier's consumer calls
`enqueue_for_event` for every event in the same transaction that records it, so each matching
endpoint gets exactly one delivery row per event; `deliver_due`, called by the worker's
timer, POSTs due deliveries.

Delivery (Standard Webhooks 1.0):
- The body is the CloudEvents envelope in structured mode, `application/cloudevents+json`
  (the same bytes an AMQP consumer would receive), signed per `signing`.
- 2xx is success. Anything else, a timeout, a refused connection, a redirect (never
  followed) or a target the SSRF guard refuses is a failure, retried after the spec's
  example schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h
  (ten attempts over about three days), or later when a 429/503 asks so with Retry-After.
  After the last attempt the delivery is `failed`; it can be redelivered by hand.
- `410 Gone` disables the endpoint at once. An endpoint whose attempts have all failed for
  `disable_after` (5 days by default, longer than one delivery's whole schedule, so one
  unlucky event never disables an endpoint that otherwise works) is disabled too. Disabling
  fails the endpoint's pending deliveries and publishes `notifier.webhook.disabled`, so the
  OPD can be told through another channel.
- Workers claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, BEGIN IMMEDIATE on
  SQLite) and move them out of reach with a lease before sending, so no transaction stays
  open across a network call and two workers never send the same attempt. A worker that
  dies mid-send leaves the lease to expire and the delivery is tried again: at least once,
  and `webhook-id` (the event id) lets the receiver drop the duplicate.
- The signature timestamp is the real instant of sending (the receiver checks it against
  its own clock), while the schedule follows the `now` the caller passes, so operators and
  tests can drive it.

Authorisation: a staff token with an `opd` claim manages that OPD's endpoints, whose
patterns must all end with the OPD's code (so they can only match its own events); a
regency-level `admin` manages every endpoint and may subscribe to anything.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from services.common.auth import Principal
from services.common.concurrency import entity_tag, require_match
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.common.events import CONTENT_TYPE, NO_OPD, event_time
from services.common.http import paginate
from services.common.runtime import Runtime
from services.common.settings import SettingsError
from services.notifier import signing, ssrf
from services.notifier.events import CATALOGUE
from services.notifier.webhook_models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger("simpul.notifier.webhooks")

# Standard Webhooks 1.0, "Deliverability and reliability": the delay before each attempt,
# counted from the failure of the one before.
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
# A claimed delivery is out of other workers' reach this long; it covers a whole batch of
# sends at the request timeout with room to spare.
LEASE = timedelta(minutes=5)
MAX_PATTERNS = 20
MAX_PATTERN_LENGTH = 255
MAX_ENDPOINTS_PER_OWNER = 20
MAX_GRACE = timedelta(days=7)
EXCERPT_BYTES = 500
USER_AGENT = "Simpul-Notifier-Webhooks/1"
ADMIN_ROLE = "admin"

_WORD = re.compile(r"^(\*|#|[a-z0-9_]+)$")


# --- routing-key patterns (pure) --------------------------------------------------------


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


def next_delay(round_attempts: int) -> timedelta | None:
    """The pause after the `round_attempts`-th failed attempt of a round; None when spent."""
    if round_attempts < len(RETRY_SCHEDULE):
        return RETRY_SCHEDULE[round_attempts]
    return None


# --- configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookConfig:
    egress: ssrf.EgressPolicy = field(default_factory=ssrf.EgressPolicy)
    timeout_seconds: float = 5.0
    secret_grace: timedelta = timedelta(hours=24)
    disable_after: timedelta = timedelta(days=5)
    batch_size: int = 20
    concurrency: int = 8


def webhook_config(settings: Any) -> WebhookConfig:
    """The webhook part of the notifier's settings (fields from `read_webhook_env`)."""
    return WebhookConfig(
        egress=ssrf.EgressPolicy(
            allow_private=settings.webhook_allow_private,
            allowed_hosts=tuple(settings.webhook_allowed_hosts),
            allow_http=settings.webhook_allow_http,
        ),
        timeout_seconds=float(settings.webhook_timeout_seconds),
        secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
        disable_after=timedelta(days=settings.webhook_disable_after_days),
    )


def read_webhook_env(env: Any, *, dev_mode: bool) -> dict[str, Any]:
    """The webhook fields for a settings class's `_read_own` (same names as its attributes)."""
    allowed_hosts = env.list("NOTIFIER_WEBHOOK_ALLOWED_HOSTS")
    for entry in allowed_hosts:
        if not (ssrf._as_network(entry) or re.fullmatch(r"[A-Za-z0-9.-]{1,253}", entry)):
            raise SettingsError(
                f"NOTIFIER_WEBHOOK_ALLOWED_HOSTS: {entry!r} is not a host name, address or network"
            )
    values = {
        "webhook_allow_private": env.bool("NOTIFIER_WEBHOOK_ALLOW_PRIVATE", False),
        "webhook_allowed_hosts": allowed_hosts,
        "webhook_allow_http": env.bool("NOTIFIER_WEBHOOK_ALLOW_HTTP", dev_mode),
        "webhook_timeout_seconds": env.int("NOTIFIER_WEBHOOK_TIMEOUT_SECONDS", 5),
        "webhook_secret_grace_hours": env.int("NOTIFIER_WEBHOOK_SECRET_GRACE_HOURS", 24),
        "webhook_disable_after_days": env.int("NOTIFIER_WEBHOOK_DISABLE_AFTER_DAYS", 5),
    }
    if not 1 <= values["webhook_timeout_seconds"] <= 60:
        raise SettingsError("NOTIFIER_WEBHOOK_TIMEOUT_SECONDS must be between 1 and 60")
    if not 0 <= values["webhook_secret_grace_hours"] <= MAX_GRACE.days * 24:
        raise SettingsError("NOTIFIER_WEBHOOK_SECRET_GRACE_HOURS must be between 0 and 168")
    if values["webhook_disable_after_days"] < 1:
        raise SettingsError("NOTIFIER_WEBHOOK_DISABLE_AFTER_DAYS must be at least 1")
    return values


# --- enqueueing (called by the notifier's event consumer) ---------------------------------


def routing_key_of(envelope: dict[str, Any]) -> str:
    opd = str(envelope.get("opd") or NO_OPD).lower()
    return f"{envelope.get('type', '')}.{opd}"


def enqueue_for_event(
    session: Session, envelope: dict[str, Any], *, now: datetime | None = None
) -> int:
    """Queue one delivery per enabled endpoint whose patterns match the event.

    Runs in the caller's transaction; a second call for the same event adds nothing. The
    first attempt is due at once: the next `deliver_due` sends it whatever its `now`
    (`next_attempt_at` records the event's time, or now if that is earlier, for ordering).
    Returns the number of deliveries added.
    """
    event_id = str(envelope.get("id") or "")
    if not signing.is_message_id(event_id):
        log.warning("event id unfit for a webhook id; not delivered", extra={"event_id": event_id})
        return 0
    key = routing_key_of(envelope)
    opd = key.rsplit(".", 1)[1]
    candidates = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.opd.is_(None), WebhookEndpoint.opd == opd),
        )
    ).all()
    matched = [e for e in candidates if any(topic_matches(p, key) for p in e.patterns)]
    if not matched:
        return 0
    current = _utc(now) if now is not None else datetime.now(UTC)
    try:
        due = min(current, event_time(envelope).astimezone(UTC))
    except (KeyError, ValueError):
        due = current
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
        for endpoint in matched
    ]
    table = WebhookDelivery.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(table.c.id)
    )
    # RETURNING counts what was inserted; rowcount is not reliable for multi-row inserts.
    return len(session.execute(stmt).all())


# --- delivery (called by the worker's timer) --------------------------------------------


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    lease_token: str
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]
    event_id: str
    body: str
    attempt_number: int


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    retry_after: timedelta | None = None

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def deliver_due(
    rt: Runtime,
    now: datetime,
    *,
    config: WebhookConfig | None = None,
    max_batches: int = 50,
) -> int:
    """Attempt every delivery due at `now`; returns the number of attempts made."""
    config = config or webhook_config(rt.settings)
    now = _utc(now)
    made = 0
    for _ in range(max_batches):
        claims = _claim(rt, now, config)
        if not claims:
            break
        workers = max(1, min(config.concurrency, len(claims)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
            outcomes = list(
                pool.map(lambda c: send(c.url, c.secrets, c.event_id, c.body, config), claims)
            )
        _record(rt, now, config, list(zip(claims, outcomes, strict=True)))
        made += len(claims)
        if len(claims) < config.batch_size:
            break
    return made


def _claim(rt: Runtime, now: datetime, config: WebhookConfig) -> list[_Claim]:
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
                _Claim(
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
    expires = _utc_or_none(endpoint.previous_secret_expires_at)
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


class _PinnedAdapter(HTTPAdapter):
    """Connects to an address the SSRF guard checked, while keeping the URL's host name for
    the Host header, TLS SNI and certificate verification (no second DNS lookup)."""

    def __init__(self, address: str, hostname: str):
        self._address = address
        self._hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self._address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return host_params, pool_kwargs


def send(
    url: str, secrets_: Sequence[str], event_id: str, body: str, config: WebhookConfig
) -> Outcome:
    """One signed POST; never raises for a network or receiver failure."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = ssrf.resolve(url, config.egress)
    except ssrf.UnsafeUrl as exc:
        return Outcome(False, elapsed(), error=_clip(f"Tujuan ditolak: {exc}"))
    headers = signing.headers(secrets_, event_id, int(time.time()), body)
    headers.update(
        {
            "Content-Type": f"{CONTENT_TYPE}; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Host": target.host_header,
        }
    )
    http = requests.Session()
    # No proxies from the environment: a proxy would reach the target on our behalf and
    # the address check above would guard nothing.
    http.trust_env = False
    http.mount(f"{target.scheme}://", _PinnedAdapter(str(target.addresses[0]), target.host))
    try:
        with http.post(
            url,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=config.timeout_seconds,
            allow_redirects=False,
            stream=True,
        ) as response:
            excerpt = _excerpt(response)
            code = response.status_code
            ok = 200 <= code < 300
            return Outcome(
                ok,
                elapsed(),
                status_code=code,
                error=None if ok else f"HTTP {code}",
                excerpt=excerpt,
                retry_after=_retry_after(response) if code in (429, 503) else None,
            )
    except requests.Timeout:
        return Outcome(
            False, elapsed(), error=f"Tidak ada jawaban dalam {config.timeout_seconds:g} detik."
        )
    except requests.RequestException as exc:
        return Outcome(
            False, elapsed(), error=_clip(f"Gagal terhubung: {type(exc).__name__}: {exc}")
        )
    finally:
        http.close()


def _excerpt(response: requests.Response) -> str | None:
    try:
        raw = response.raw.read(EXCERPT_BYTES, decode_content=True)
    except Exception:  # noqa: BLE001 - the excerpt is a debugging aid, never a failure
        return None
    return raw.decode("utf-8", errors="replace")[:EXCERPT_BYTES] if raw else None


def _retry_after(response: requests.Response) -> timedelta | None:
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return min(timedelta(seconds=int(raw)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when - datetime.now(UTC), timedelta(0)), MAX_RETRY_AFTER)


def _record(
    rt: Runtime, now: datetime, config: WebhookConfig, results: list[tuple[_Claim, Outcome]]
) -> None:
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
            _apply_outcome(delivery, outcome, now)
            if not endpoint.enabled and delivery.status == PENDING:
                # Sent while the endpoint was being disabled: no retry to a disabled endpoint.
                delivery.status = FAILED
                delivery.next_attempt_at = None
            if outcome.succeeded:
                endpoint.failing_since = None
            elif endpoint.enabled:
                since = _utc_or_none(endpoint.failing_since)
                if since is None:
                    endpoint.failing_since = since = now
                if outcome.gone:
                    _disable(uow, endpoint, now, "Penerima menjawab 410 Gone.")
                elif now - since >= config.disable_after:
                    days = config.disable_after.days
                    _disable(uow, endpoint, now, f"Semua pengiriman gagal selama {days} hari.")
        uow.commit()


def _apply_outcome(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
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
    delay = None if outcome.gone else next_delay(delivery.round_attempts)
    if delay is None:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        return
    if outcome.retry_after is not None:
        delay = max(delay, outcome.retry_after)
    delivery.next_attempt_at = now + delay


def _disable(
    uow, endpoint: WebhookEndpoint, now: datetime, reason: str, *, automatic: bool = True
) -> None:
    """Stop deliveries to an endpoint; its pending ones fail and can be redelivered later."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:200]
    endpoint.disabled_at = now
    endpoint.version += 1
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
                "failing_since": _utc_or_none(endpoint.failing_since),
            },
        )
        uow.publish(disabled)
        # The notifier hands its own events to subscribers as it publishes them (the copy
        # that comes back through its queue is skipped), so other endpoints hear of it too.
        uow.session.flush()
        enqueue_for_event(uow.session, disabled.envelope(), now=now)


# --- use cases for the HTTP API --------------------------------------------------------


def owner_scope(principal: Principal) -> str | None:
    """The OPD whose endpoints the principal manages, or None for every endpoint (admin)."""
    if principal.opd:
        return principal.opd
    if principal.has_role(ADMIN_ROLE):
        return None
    raise Forbidden("Webhook dikelola oleh staf OPD untuk OPD-nya sendiri, atau oleh admin.")


def etag_of(endpoint: WebhookEndpoint) -> str:
    return entity_tag("webhook", endpoint.id, endpoint.version)


def create_endpoint(
    rt: Runtime,
    principal: Principal,
    *,
    url: str,
    patterns: list[str],
    description: str = "",
    opd: str | None = None,
    config: WebhookConfig | None = None,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is shown this once only."""
    config = config or webhook_config(rt.settings)
    scope = owner_scope(principal)
    if scope is not None and opd not in (None, scope):
        raise Forbidden("Staf OPD hanya dapat mendaftarkan webhook untuk OPD-nya sendiri.")
    owner = scope if scope is not None else opd
    if owner is not None and owner not in rt.opds:
        raise Invalid("Isian webhook tidak valid.", {"opd": [f"Kode OPD tidak dikenal: {owner}."]})
    errors = patterns_problems(patterns, owner) | _url_problems(url, config)
    if errors:
        raise Invalid("Isian webhook tidak valid.", errors)
    when = _utc(now) if now is not None else datetime.now(UTC)
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
            version=1,
            created_at=when,
            created_by=principal.sub,
            updated_at=when,
            updated_by=principal.sub,
        )
        uow.session.add(endpoint)
        uow.commit()
        return endpoint, secret


def list_endpoints(
    rt: Runtime, principal: Principal, page, *, opd: str | None = None, enabled: bool | None = None
) -> list[WebhookEndpoint]:
    """Endpoints the principal may see, newest first (`page`: flask-smorest pagination)."""
    scope = owner_scope(principal)
    stmt = select(WebhookEndpoint)
    if scope is not None:
        stmt = stmt.where(WebhookEndpoint.opd == scope)
    elif opd is not None:
        stmt = stmt.where(WebhookEndpoint.opd == opd)
    if enabled is not None:
        stmt = stmt.where(WebhookEndpoint.enabled.is_(enabled))
    stmt = stmt.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id)
    with rt.session_factory() as session:
        return paginate(session, stmt, page)


def get_endpoint(rt: Runtime, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    with rt.session_factory() as session:
        return _visible(session, principal, endpoint_id)


def update_endpoint(
    rt: Runtime,
    principal: Principal,
    endpoint_id: str,
    changes: dict[str, Any],
    if_match: str | None,
    *,
    config: WebhookConfig | None = None,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Change url, patterns, description or enabled if If-Match names the current ETag."""
    config = config or webhook_config(rt.settings)
    when = _utc(now) if now is not None else datetime.now(UTC)
    # DNS is asked before the row is locked, so no lock waits on a slow resolver.
    errors: dict[str, Any] = _url_problems(changes["url"], config) if "url" in changes else {}
    with rt.uow() as uow:
        endpoint = _visible(uow.session, principal, endpoint_id, lock=True)
        require_match(if_match, etag_of(endpoint))
        if "patterns" in changes:
            errors |= patterns_problems(changes["patterns"], endpoint.opd)
        if errors:
            raise Invalid("Isian webhook tidak valid.", errors)
        for name in ("url", "description", "patterns"):
            if name in changes:
                setattr(
                    endpoint, name, list(changes[name]) if name == "patterns" else changes[name]
                )
        if changes.get("enabled") is True and not endpoint.enabled:
            endpoint.enabled = True
            endpoint.disabled_reason = None
            endpoint.disabled_at = None
            endpoint.failing_since = None
        elif changes.get("enabled") is False and endpoint.enabled:
            _disable(uow, endpoint, when, f"Dinonaktifkan oleh {principal.sub}.", automatic=False)
        endpoint.version += 1
        endpoint.updated_at = when
        endpoint.updated_by = principal.sub
        uow.commit()
        return endpoint


def rotate_secret(
    rt: Runtime,
    principal: Principal,
    endpoint_id: str,
    *,
    grace: timedelta | None = None,
    config: WebhookConfig | None = None,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Issue a new secret; the old one keeps signing alongside it for `grace`."""
    config = config or webhook_config(rt.settings)
    grace = config.secret_grace if grace is None else grace
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise Invalid("Isian tidak valid.", {"grace_hours": ["Antara 0 dan 168 jam."]})
    when = _utc(now) if now is not None else datetime.now(UTC)
    secret = signing.new_secret()
    with rt.uow() as uow:
        endpoint = _visible(uow.session, principal, endpoint_id, lock=True)
        if grace > timedelta(0):
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = when + grace
        else:
            endpoint.previous_secret = None
            endpoint.previous_secret_expires_at = None
        endpoint.secret = secret
        endpoint.version += 1
        endpoint.updated_at = when
        endpoint.updated_by = principal.sub
        uow.commit()
        return endpoint, secret


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


def list_deliveries(
    rt: Runtime, principal: Principal, endpoint_id: str, page, *, status: str | None = None
) -> list[WebhookDelivery]:
    """An endpoint's delivery log, newest first."""
    with rt.session_factory() as session:
        _visible(session, principal, endpoint_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        return paginate(session, stmt.order_by(WebhookDelivery.id.desc()), page)


def get_delivery(
    rt: Runtime, principal: Principal, endpoint_id: str, delivery_id: int
) -> WebhookDelivery:
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
        return delivery


def redeliver(
    rt: Runtime,
    principal: Principal,
    endpoint_id: str,
    delivery_id: int,
    *,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Queue a finished delivery again, due at once, with a fresh retry schedule."""
    when = _utc(now) if now is not None else datetime.now(UTC)
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
        delivery.next_attempt_at = when
        delivery.lease_token = None
        delivery.redelivered_at = when
        delivery.redelivered_by = principal.sub
        uow.commit()
        return delivery


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


# --- small helpers ---------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("webhook instants must be timezone-aware")
    return moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive values of what was stored as UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clip(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
