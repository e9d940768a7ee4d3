"""Webhook deliveries against a real HTTP receiver and a real database.

Retries are driven with explicit `now` values; signatures are checked with the
`standardwebhooks` reference library.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.common.errors import Conflict
from services.notifier import ssrf, webhook_delivery, webhooks
from services.notifier.models import Base
from services.notifier.webhook_models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.notifier.webhook_sender import Outcome
from tests.notifier import test_webhook_support as support
from tests.notifier.test_webhook_support import ADMIN, DINKES, T0, event

# Fixtures shared by the webhook test modules.
make_runtime = support.make_runtime
receiver = support.receiver


def register(rt, url, patterns=("#.dinkes",), principal=DINKES):
    view, _ = webhooks.create_endpoint(rt, principal, url=url, patterns=list(patterns))
    return SimpleNamespace(**view), view["secret"]


def enqueue(rt, *envelopes, now=None) -> int:
    with rt.uow() as uow:
        added = sum(webhooks.enqueue_for_event(uow.session, e, now=now) for e in envelopes)
        uow.commit()
    return added


def delivery_of(rt, event_id) -> WebhookDelivery:
    with rt.session_factory() as session:
        return session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
        ).one()


def endpoint_of(rt, endpoint_id) -> WebhookEndpoint:
    with rt.session_factory() as session:
        return session.get(WebhookEndpoint, endpoint_id)


def outbox_keys(rt) -> list[str]:
    with rt.engine.connect() as conn:
        return list(
            conn.execute(select(rt.outbox.c.routing_key).order_by(rt.outbox.c.id)).scalars()
        )


def test_migration_matches_the_models(database_url, make_runtime):
    rt = make_runtime(database_url)
    with rt.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": "alembic_version_notifier", "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_matching_events_are_queued_once_per_endpoint(database_url, make_runtime, receiver):
    rt = make_runtime(database_url)
    lapor_dinkes, _ = register(rt, receiver.url("/a"), ["lapor.#.dinkes"])
    all_dinkes, _ = register(rt, receiver.url("/b"), ["#.dinkes"])
    regency, _ = register(rt, receiver.url("/c"), ["ppid.#", "lapor.report.*.disdik"], ADMIN)
    disabled, _ = register(rt, receiver.url("/d"), ["#.dinkes"])
    webhooks.update_endpoint(rt, DINKES, disabled.id, {"enabled": False}, "*")

    report = event("lapor", opd="dinkes")
    request = event("ppid", "request", "submitted", opd="dinkes")
    other = event("lapor", opd="disdik")
    regencywide = event("siber", "article", "published", opd=None)

    assert enqueue(rt, report) == 2
    assert enqueue(rt, report) == 0  # the same event again adds nothing
    assert enqueue(rt, request) == 2
    assert enqueue(rt, other) == 1
    assert enqueue(rt, regencywide) == 0

    with rt.session_factory() as session:
        rows = session.execute(select(WebhookDelivery.endpoint_id, WebhookDelivery.event_id)).all()
    assert sorted(rows) == sorted(
        [
            (lapor_dinkes.id, report["id"]),
            (all_dinkes.id, report["id"]),
            (all_dinkes.id, request["id"]),
            (regency.id, request["id"]),
            (regency.id, other["id"]),
        ]
    )
    delivery = delivery_of(rt, other["id"])
    assert delivery.routing_key == "lapor.report.dispatched.disdik"
    assert delivery.next_attempt_at == T0  # due at the event's time: at once
    assert json.loads(delivery.body) == other


def test_delivery_is_signed_cloudevents_json(sqlite_url, make_runtime, receiver):
    rt = make_runtime(sqlite_url)
    endpoint, secret = register(rt, receiver.url("/in?src=simpul"))
    envelope = event()
    enqueue(rt, envelope)

    assert webhooks.deliver_due(rt, T0) == 1

    (got,) = receiver.requests
    assert got.path == "/in?src=simpul"
    assert got.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
    assert got.headers["webhook-id"] == envelope["id"]
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert Webhook(secret).verify(got.body, got.headers) == envelope
    delivery = delivery_of(rt, envelope["id"])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (SUCCEEDED, 1, 200)
    assert delivery.succeeded_at == T0 and delivery.next_attempt_at is None
    with rt.session_factory() as session:
        (attempt,) = session.scalars(select(WebhookAttempt)).all()
    assert (
        attempt.succeeded and attempt.status_code == 200 and attempt.response_excerpt == "received"
    )
    assert attempt.duration_ms >= 0
    assert webhooks.deliver_due(rt, T0 + timedelta(days=1)) == 0


def test_a_new_delivery_is_due_whatever_instant_the_worker_passes(
    sqlite_url, make_runtime, receiver
):
    rt = make_runtime(sqlite_url)
    register(rt, receiver.url())
    envelope = event(at=datetime.now(UTC))  # happened just now, long after T0
    enqueue(rt, envelope)
    receiver.answer(500)

    assert webhooks.deliver_due(rt, T0) == 1  # a tick for an earlier instant still sends it
    delivery = delivery_of(rt, envelope["id"])
    assert delivery.next_attempt_at == T0 + timedelta(seconds=5)  # retries follow `now`
    assert webhooks.deliver_due(rt, T0) == 0


def test_retries_follow_the_schedule_then_give_up(sqlite_url, make_runtime, receiver):
    rt = make_runtime(sqlite_url)
    endpoint, _ = register(rt, receiver.url())
    envelope = event()
    enqueue(rt, envelope)
    receiver.answer(*[500] * 20)

    now = T0
    for number, delay in enumerate(webhooks.RETRY_SCHEDULE[1:], start=1):
        assert webhooks.deliver_due(rt, now) == 1
        delivery = delivery_of(rt, envelope["id"])
        assert (delivery.status, delivery.attempts) == (PENDING, number)
        assert delivery.next_attempt_at == now + delay
        # Not a moment early.
        assert webhooks.deliver_due(rt, now + delay - timedelta(seconds=1)) == 0
        now += delay
    assert webhooks.deliver_due(rt, now) == 1  # the tenth and last attempt

    delivery = delivery_of(rt, envelope["id"])
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (FAILED, 10, None)
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    assert len(receiver.requests) == 10
    assert {r.headers["webhook-id"] for r in receiver.requests} == {envelope["id"]}
    with rt.session_factory() as session:
        attempts = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [a.number for a in attempts] == list(range(1, 11))
    assert all(a.status_code == 500 and not a.succeeded for a in attempts)
    assert attempts[-1].attempted_at - T0 == timedelta(hours=75, minutes=35, seconds=5)
    # Three days of failure are not yet the five that disable an endpoint.
    assert endpoint_of(rt, endpoint.id).enabled
    assert webhooks.deliver_due(rt, now + timedelta(days=30)) == 0


def test_retry_after_is_honoured_and_success_ends_the_failing_streak(
    sqlite_url, make_runtime, receiver
):
    rt = make_runtime(sqlite_url)
    endpoint, _ = register(rt, receiver.url())
    envelope = event()
    enqueue(rt, envelope)
    receiver.answer(500, (503, {"Retry-After": "3600"}), 200)

    webhooks.deliver_due(rt, T0)
    assert endpoint_of(rt, endpoint.id).failing_since == T0
    webhooks.deliver_due(rt, T0 + timedelta(seconds=5))
    delivery = delivery_of(rt, envelope["id"])
    assert delivery.next_attempt_at == T0 + timedelta(seconds=5, hours=1)
    assert webhooks.deliver_due(rt, T0 + timedelta(minutes=30)) == 0
    assert webhooks.deliver_due(rt, T0 + timedelta(hours=2)) == 1
    assert delivery_of(rt, envelope["id"]).status == SUCCEEDED
    assert endpoint_of(rt, endpoint.id).failing_since is None


def test_redirects_are_failures_and_not_followed(sqlite_url, make_runtime, receiver):
    rt = make_runtime(sqlite_url)
    register(rt, receiver.url())
    envelope = event()
    enqueue(rt, envelope)
    receiver.answer((302, {"Location": receiver.url("/elsewhere")}))

    webhooks.deliver_due(rt, T0)

    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery = delivery_of(rt, envelope["id"])
    assert (delivery.status, delivery.last_status_code) == (PENDING, 302)


def test_gone_disables_the_endpoint_at_once(sqlite_url, make_runtime, receiver):
    rt = make_runtime(sqlite_url)
    endpoint, _ = register(rt, receiver.url())
    watcher, watcher_secret = register(rt, receiver.url("/watch"), ["notifier.webhook.#"], ADMIN)
    waiting, gone = event(number=1), event(number=2)
    enqueue(rt, waiting)
    receiver.answer(500, 410)
    webhooks.deliver_due(rt, T0)  # fails; its retry waits five seconds
    enqueue(rt, gone)

    assert webhooks.deliver_due(rt, T0 + timedelta(seconds=1)) == 1
    stored = endpoint_of(rt, endpoint.id)
    assert not stored.enabled
    assert stored.disabled_reason == "Penerima menjawab 410 Gone."
    assert delivery_of(rt, gone["id"]).status == FAILED
    assert delivery_of(rt, waiting["id"]).status == FAILED  # pending work is dropped too
    assert outbox_keys(rt) == ["notifier.webhook.disabled.dinkes"]
    # A disabled endpoint receives nothing new; a regency system watching endpoints hears
    # of the disabling.
    assert enqueue(rt, event(number=3)) == 0
    assert webhooks.deliver_due(rt, T0 + timedelta(days=1)) == 1
    assert [r.path for r in receiver.requests] == ["/hook", "/hook", "/watch"]
    notice = Webhook(watcher_secret).verify(receiver.requests[2].body, receiver.requests[2].headers)
    assert notice["type"] == "notifier.webhook.disabled"
    assert notice["data"]["endpoint_id"] == endpoint.id


def test_a_long_failing_streak_disables_the_endpoint(sqlite_url, make_runtime, receiver):
    rt = make_runtime(sqlite_url)
    endpoint, _ = register(rt, receiver.url())
    receiver.answer(*[500] * 10)
    early, late = event(number=1), event(number=2, at=T0 + timedelta(days=5))
    enqueue(rt, early, late, now=T0 + timedelta(days=6))

    webhooks.deliver_due(rt, T0)  # first failure starts the streak
    assert endpoint_of(rt, endpoint.id).enabled
    webhooks.deliver_due(rt, T0 + timedelta(days=5))  # five days later, still failing
    stored = endpoint_of(rt, endpoint.id)
    assert not stored.enabled
    assert stored.disabled_reason == "Semua pengiriman gagal selama 5 hari."
    with rt.engine.connect() as conn:
        (body,) = conn.execute(select(rt.outbox.c.body)).scalars()
    data = json.loads(body)["data"]
    assert data["endpoint_id"] == endpoint.id
    assert data["failing_since"].startswith("2026-03-02T09:00:00")


def test_the_guard_is_applied_again_at_delivery_time(
    sqlite_url, make_runtime, receiver, monkeypatch
):
    """DNS rebinding: a name that was public at registration points inside at delivery."""
    rt = make_runtime(
        sqlite_url, NOTIFIER_WEBHOOK_ALLOW_PRIVATE="0", NOTIFIER_WEBHOOK_ALLOWED_HOSTS=""
    )
    answers = {"rebind.example": "93.184.216.34"}

    def getaddrinfo(host, port, *args, **kwargs):
        import socket

        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(ssrf, "_getaddrinfo", getaddrinfo)
    register(rt, receiver.url(host="rebind.example"))
    envelope = event()
    enqueue(rt, envelope)
    answers["rebind.example"] = "127.0.0.1"

    webhooks.deliver_due(rt, T0)

    assert receiver.requests == []
    delivery = delivery_of(rt, envelope["id"])
    assert delivery.status == PENDING and delivery.last_status_code is None
    assert "127.0.0.1" in delivery.last_error and "ditolak" in delivery.last_error


def test_delivery_connects_to_the_resolved_address_with_the_original_host(
    sqlite_url, make_runtime, receiver, monkeypatch
):
    """The address the guard checked is the one connected to: no second lookup."""
    rt = make_runtime(
        sqlite_url,
        NOTIFIER_WEBHOOK_ALLOW_PRIVATE="0",
        NOTIFIER_WEBHOOK_ALLOWED_HOSTS="hooks.dinkes.test",
    )
    calls = []

    def getaddrinfo(host, port, *args, **kwargs):
        import socket

        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(ssrf, "_getaddrinfo", getaddrinfo)
    _, secret = register(rt, receiver.url(host="hooks.dinkes.test"))
    envelope = event()
    enqueue(rt, envelope)

    webhooks.deliver_due(rt, T0)

    (got,) = receiver.requests
    assert got.headers["host"] == f"hooks.dinkes.test:{receiver.port}"
    Webhook(secret).verify(got.body, got.headers)
    assert calls == ["hooks.dinkes.test", "hooks.dinkes.test"]  # registration, delivery


def test_both_secrets_sign_during_the_grace_period(sqlite_url, make_runtime, receiver):
    rt = make_runtime(sqlite_url, clock=lambda: T0)
    endpoint, old = register(rt, receiver.url())
    rotated, _ = webhooks.rotate_secret(rt, DINKES, endpoint.id, grace=timedelta(hours=24))
    new = rotated["secret"]
    assert rotated["previous_secret_expires_at"] == T0 + timedelta(hours=24)  # the runtime's clock
    assert new != old
    enqueue(rt, event(number=1, at=T0 + timedelta(hours=1)))
    webhooks.deliver_due(rt, T0 + timedelta(hours=1))
    enqueue(rt, event(number=2, at=T0 + timedelta(hours=25)))
    webhooks.deliver_due(rt, T0 + timedelta(hours=25))

    during, after = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(during.body, during.headers)
    Webhook(old).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_a_failed_delivery_can_be_redelivered(sqlite_url, make_runtime, receiver):
    clock = support.Clock(T0)
    rt = make_runtime(sqlite_url, clock=clock)
    endpoint, _ = register(rt, receiver.url())
    envelope = event()
    enqueue(rt, envelope)
    receiver.answer(410)
    webhooks.deliver_due(rt, T0)
    delivery = delivery_of(rt, envelope["id"])

    with pytest.raises(Conflict):  # the endpoint must be enabled again first
        webhooks.redeliver(rt, DINKES, endpoint.id, delivery.id)
    fresh = endpoint_of(rt, endpoint.id)
    webhooks.update_endpoint(rt, DINKES, endpoint.id, {"enabled": True}, "*")
    assert endpoint_of(rt, endpoint.id).version > fresh.version
    clock.now = T0 + timedelta(days=1)
    redelivered = webhooks.redeliver(rt, DINKES, endpoint.id, delivery.id)
    assert redelivered["redelivered_at"] == redelivered["next_attempt_at"] == clock.now
    with pytest.raises(Conflict):  # already queued
        webhooks.redeliver(rt, DINKES, endpoint.id, delivery.id)

    assert webhooks.deliver_due(rt, T0 + timedelta(days=1)) == 1
    delivery = delivery_of(rt, envelope["id"])
    assert (delivery.status, delivery.attempts, delivery.redelivered_by) == (
        SUCCEEDED,
        2,
        "dinkes-1",
    )
    assert [r.headers["webhook-id"] for r in receiver.requests] == [envelope["id"]] * 2


def test_two_workers_send_each_delivery_once(database_url, make_runtime, receiver):
    first = make_runtime(database_url)
    second = make_runtime(database_url)  # another process: its own engine and connections
    register(first, receiver.url())
    envelopes = [event(number=n) for n in range(45)]
    enqueue(first, *envelopes)
    receiver.delay = 0.01  # keep both workers busy at the same time

    made: list[int] = []
    barrier = threading.Barrier(2)

    def work(rt):
        barrier.wait()
        made.append(webhooks.deliver_due(rt, T0))

    threads = [threading.Thread(target=work, args=(rt,)) for rt in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(made) == 45 and all(made), made  # both worked, neither sent a row twice
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert sorted(ids) == sorted(e["id"] for e in envelopes)
    with first.session_factory() as session:
        counts = session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert counts == [(SUCCEEDED, 45)] and attempts == 45


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_outcome(
    sqlite_url, make_runtime, receiver
):
    rt = make_runtime(sqlite_url)
    register(rt, receiver.url())
    envelope = event()
    enqueue(rt, envelope)
    config = webhooks.webhook_config(rt.settings)

    stale = webhook_delivery.claim_due(
        rt, T0, config
    )  # a worker claims, then stalls past its lease
    assert webhook_delivery.claim_due(rt, T0 + timedelta(minutes=1), config) == []
    assert webhooks.deliver_due(rt, T0 + webhooks.LEASE) == 1  # another worker takes over
    failed = Outcome(False, 5, status_code=500, error="HTTP 500")
    webhook_delivery.record_outcomes(rt, T0 + webhooks.LEASE, config, [(stale[0], failed)])

    delivery = delivery_of(rt, envelope["id"])
    assert delivery.status == SUCCEEDED
    with rt.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 2
