"""The notifier's consumer: clock instructions applied in event-time order, exactly once.

Envelopes are built with `new_event` and handed to the consumer's unit of work as the
runner does (`EventConsumer.process`: inbox row, handler, commit).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from services.common.consumer import PermanentError
from services.notifier.models import Clock, ClockHistory, Step, inbox, outbox
from services.notifier.tick import tick
from services.notifier.webhook_models import WebhookDelivery, WebhookEndpoint
from tests.notifier.notifier_support import sla_event, wib

SUBJECT = "requests/PPID-2026-000042"
DUE = wib(2026, 4, 7, 23, 59, 59)


def start(at, due=DUE, opd="dinkes"):
    return sla_event(SUBJECT, at=at, opd=opd,
                     start=[{"clock": "ppid.response", "due_at": due.isoformat()}])


def stop(at):
    return sla_event(SUBJECT, at=at, stop=[{"clock": "ppid.response"}])


def clock_row(rt):
    with rt.uow() as uow:
        return uow.session.scalars(select(Clock).where(Clock.subject == SUBJECT)).one()


def history(rt):
    with rt.uow() as uow:
        return list(uow.session.scalars(select(ClockHistory.entry).order_by(ClockHistory.id)))


def endpoint(rt, patterns):
    now = datetime.now(UTC)
    with rt.uow() as uow:
        uow.session.add(WebhookEndpoint(
            id=str(uuid.uuid4()), opd=None, url="https://sistem.dinkes.example/simpul",
            description="", patterns=patterns, secret="whsec_" + "A" * 43, enabled=True,
            version=1, created_at=now, created_by="t", updated_at=now, updated_by="t",
        ))
        uow.commit()


def deliveries(rt):
    with rt.uow() as uow:
        return list(uow.session.scalars(select(WebhookDelivery.event_type).order_by(WebhookDelivery.id)))


def test_a_start_opens_a_clock_with_its_steps(rt, feed):
    assert feed(start(wib(2026, 3, 16, 10)))
    clock = clock_row(rt)
    assert (clock.clock, clock.service, clock.opd, clock.state, clock.run) == (
        "ppid.response", "ppid", "dinkes", "running", 1)
    with rt.uow() as uow:
        keys = list(uow.session.scalars(select(Step.key).order_by(Step.send_after)))
    assert keys == ["remind:-2wd", "remind:-4wh", "breach", "escalate:1", "escalate:2", "escalate:3"]
    assert history(rt) == ["started"]


def test_a_redelivered_event_has_no_second_effect(rt, feed):
    envelope = start(wib(2026, 3, 16, 10))
    assert feed(envelope) is True
    assert feed(envelope) is False
    assert history(rt) == ["started"]
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Step)) == 6


def test_a_stale_start_arriving_after_a_stop_is_recorded_but_changes_nothing(rt, feed):
    feed(start(wib(2026, 3, 16, 10)))
    feed(stop(wib(2026, 4, 6, 10)))
    # A restart sent on 1 April (an extension) arrives after the answer of 6 April.
    feed(start(wib(2026, 4, 1, 9), due=wib(2026, 4, 16, 23, 59, 59)))
    clock = clock_row(rt)
    assert (clock.state, clock.run) == ("met", 1)
    assert clock.due_at.replace(tzinfo=UTC) == DUE
    assert history(rt) == ["started", "stopped", "stale"]


def test_a_stop_that_overtakes_its_start_is_judged_once_the_start_arrives(rt, feed):
    assert feed(stop(wib(2026, 4, 9, 10)))
    assert clock_row(rt).state == "stopped"
    assert feed(start(wib(2026, 3, 16, 10)))
    clock = clock_row(rt)
    assert (clock.state, clock.late_working_days, clock.opd) == ("breached", 2, "dinkes")
    assert history(rt) == ["stopped_unstarted", "resolved"]
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Step)) == 0


def test_instructions_of_one_event_stop_first_then_start(rt, feed):
    feed(sla_event("reports/LPR-2026-000001", at=wib(2026, 3, 16, 10), service="lapor",
                   entity="report", action="submitted", opd=None,
                   start=[{"clock": "lapor.verification", "due_at": wib(2026, 3, 25, 23, 59, 59).isoformat()}]))
    feed(sla_event("reports/LPR-2026-000001", at=wib(2026, 3, 17, 9), service="lapor",
                   entity="report", action="dispatched", opd="dinsos",
                   stop=[{"clock": "lapor.verification"}],
                   start=[{"clock": "lapor.follow_up", "due_at": wib(2026, 3, 31, 23, 59, 59).isoformat()}]))
    with rt.uow() as uow:
        rows = dict(uow.session.execute(select(Clock.clock, Clock.state)).all())
        opds = dict(uow.session.execute(select(Clock.clock, Clock.opd)).all())
    assert rows == {"lapor.verification": "met", "lapor.follow_up": "running"}
    assert opds == {"lapor.verification": None, "lapor.follow_up": "dinsos"}


@pytest.mark.parametrize(
    "sla",
    [
        {"start": [{"clock": "ppid.response", "due_at": "tomorrow"}]},
        {"stop": "ppid.response"},
        "ppid.response",
    ],
)
def test_malformed_instructions_are_refused_for_dead_lettering(rt, feed, sla):
    envelope = sla_event(SUBJECT, at=wib(2026, 3, 16, 10), start=[])
    envelope["data"]["sla"] = sla
    with pytest.raises(PermanentError, match="data.sla"):
        feed(envelope)
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Clock)) == 0
        assert uow.session.scalar(select(func.count()).select_from(inbox)) == 0, "rolled back"


def test_every_event_reaches_matching_webhooks_and_own_events_are_not_queued_twice(rt, feed, smtp):
    endpoint(rt, ["ppid.#.dinkes", "notifier.sla.*.dinkes"])
    assert feed(start(wib(2026, 3, 16, 10)))
    plain = sla_event("requests/PPID-2026-000043", at=wib(2026, 3, 16, 11), start=[])
    plain["data"] = {"status": "received"}
    assert feed(plain)
    elsewhere = sla_event("requests/PPID-2026-000044", at=wib(2026, 3, 16, 12), opd="dinsos",
                          start=[{"clock": "ppid.response", "due_at": DUE.isoformat()}])
    assert feed(elsewhere)
    assert deliveries(rt) == ["ppid.request.updated", "ppid.request.updated"]

    # The reminder is handed to the subscription when it is published ...
    summary = tick(rt, wib(2026, 4, 2, 9))
    assert len(summary.sent) >= 1
    assert deliveries(rt).count("notifier.sla.reminded") == 1
    # ... so the copy that comes back through the notifier's own queue adds nothing.
    with rt.engine.connect() as conn:
        body = conn.execute(
            select(outbox.c.body).where(outbox.c.routing_key == "notifier.sla.reminded.dinkes")
        ).scalars().first()
    assert feed(json.loads(body))
    assert deliveries(rt).count("notifier.sla.reminded") == 1
