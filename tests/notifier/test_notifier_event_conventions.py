"""The notifier's events keep the conventions of every service's events, and it takes a case
that moves between OPDs as one event however many copies reach it.

Instants: every type the notifier publishes is written in UTC with `Z`, as PPID's are
(tests/ppid/test_ppid_events.py walks PPID's outbox the same way). Moves: a reassignment is
published under the routing key of the OPD it leaves and of the one it reaches; the
notifier, bound to `#`, gets both copies, applies the event once, and hands it to the
webhook subscribers of both OPDs.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.common.auth import Principal
from services.common.events import new_event
from services.notifier import directory, handlers, ssrf, webhooks
from services.notifier.models import Clock, outbox
from services.notifier.tick import tick
from services.notifier.webhook_delivery import disable_endpoint
from services.notifier.webhook_models import WebhookDelivery, WebhookEndpoint
from services.notifier.webhook_settings import WebhookConfig
from tests.event_conventions import instants_not_in_utc
from tests.notifier.notifier_support import sla_event, wib

ADMIN = Principal(sub="admin-1", name="Admin", roles=frozenset({"admin"}), opd=None)
LOCAL = WebhookConfig(egress=ssrf.EgressPolicy(allow_private=True, allow_http=True))


def _endpoint(rt, opd: str) -> str:
    view, _ = webhooks.create_endpoint(rt, ADMIN, url=f"http://127.0.0.1:9/{opd}",
                                       patterns=[f"#.{opd}"], opd=opd, config=LOCAL)
    return view["id"]


def test_every_instant_the_notifier_publishes_is_utc(rt, feed, smtp):
    directory.create_contact(rt, ADMIN, {"role": "officer", "opd": "dinkes", "service": "ppid",
                                         "name": "Rina", "email": "rina@dinkes.kapuaskab.go.id",
                                         "preferred_channel": "email"})
    received = wib(2026, 3, 16, 10)
    due = rt.calendar.due_at(received, 10)
    # Given in the regency's zone, as a producer computes it.
    for number in ("PPID-2026-000001", "PPID-2026-000002"):
        assert feed(sla_event(f"requests/{number}", at=received,
                              start=[{"clock": "ppid.response", "due_at": due}]))
    assert feed(sla_event("requests/PPID-2026-000002", at=wib(2026, 3, 20, 10),
                          stop=[{"clock": "ppid.response"}]))  # met
    for at in (wib(2026, 4, 2, 8), wib(2026, 4, 8, 8, 5), wib(2026, 4, 9, 9)):
        tick(rt, at)  # a reminder, the breach, the first escalation
    assert feed(sla_event("requests/PPID-2026-000001", at=wib(2026, 4, 16, 10),
                          stop=[{"clock": "ppid.response"}]))  # stopped late
    _, tag = directory.get_opd(rt, "dinkes")
    directory.update_opd(rt, ADMIN, "dinkes", {"name": "Dinas Kesehatan"}, tag)
    handlers.add_calendar_exception(rt, ADMIN, {"date": wib(2026, 12, 28).date(), "type": "holiday",
                                                "name": "Cuti bersama tambahan"})
    endpoint = _endpoint(rt, "dinkes")
    with rt.uow() as uow:
        stored = uow.session.get(WebhookEndpoint, endpoint)
        stored.failing_since = rt.clock() - timedelta(days=3)
        disable_endpoint(uow, stored, rt.clock(), "Penerima menjawab 410 Gone.")
        uow.commit()

    with rt.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body)).scalars().all()
    types, wrong = instants_not_in_utc(bodies)
    assert not wrong, wrong
    assert types == {
        "notifier.sla.reminded", "notifier.sla.breached", "notifier.sla.escalated", "notifier.sla.met",
        "notifier.directory.updated", "notifier.opds.updated", "notifier.calendar.updated",
        "notifier.webhook.disabled",
    }


def test_a_reassignment_is_applied_once_and_reaches_both_opds_webhooks(rt, feed):
    dinkes, disdik, dlh = _endpoint(rt, "dinkes"), _endpoint(rt, "disdik"), _endpoint(rt, "dlh")
    subject = "requests/PPID-2026-000009"
    due = wib(2026, 3, 30, 23, 59, 59)
    assert feed(new_event("ppid", "request", "submitted", subject=subject, opd="dinkes",
                          time=wib(2026, 3, 16, 10),
                          data={"sla": {"start": [{"clock": "ppid.response", "due_at": due,
                                                   "opd": "dinkes"}]}}).envelope())
    moved = new_event("ppid", "request", "reassigned", subject=subject, opd="disdik",
                      from_opd="dinkes", time=wib(2026, 3, 17, 10),
                      data={"previous_opd": "dinkes",
                            "sla": {"start": [{"clock": "ppid.response", "due_at": due,
                                               "opd": "disdik"}]}})
    # The copy routed to `…reassigned.disdik` and the one routed to `…reassigned.dinkes`.
    assert feed(moved.envelope())
    assert not feed(moved.envelope()), "the second copy has no effect"

    with rt.uow() as uow:
        clock = uow.session.scalars(select(Clock).where(Clock.subject == subject)).one()
        assert (clock.opd, clock.state) == ("disdik", "running")
        deliveries = uow.session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.routing_key)
            .where(WebhookDelivery.event_id == moved.id)
        ).all()
    # Dinas Kesehatan's system hears the case left it; Dinas Pendidikan's that it came.
    assert sorted(deliveries) == sorted([
        (dinkes, "ppid.request.reassigned.dinkes"), (disdik, "ppid.request.reassigned.disdik"),
    ])
    assert dlh not in {endpoint for endpoint, _ in deliveries}
