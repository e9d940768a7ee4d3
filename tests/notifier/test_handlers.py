"""The use cases' contract: plain results with their ETag, versions kept by SQLAlchemy,
and the runtime's one clock for every instant they record."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from services.common.auth import Principal
from services.notifier import directory, handlers
from services.notifier.app import create_app
from services.notifier.consumers import events_consumer
from services.notifier.models import ClockHistory, Contact, Policy
from tests.notifier.notifier_support import sla_event, wib

ADMIN = Principal(sub="admin-1", name="Admin", roles=frozenset({"admin"}), opd=None)
FROZEN = wib(2026, 4, 8, 9)


@pytest.fixture
def frozen_rt(migrated, make_rt):
    return make_rt(migrated, clock=lambda: FROZEN)


def _feed_one_clock(rt):
    due = rt.calendar.due_at(wib(2026, 3, 16, 10), 10)
    assert events_consumer(rt).process(sla_event(
        "requests/PPID-2026-000001", at=wib(2026, 3, 16, 10),
        start=[{"clock": "ppid.response", "due_at": due.isoformat()}]))


def test_use_cases_return_plain_results_with_their_etag(rt):
    opd, tag = directory.get_opd(rt, "dinkes")
    assert isinstance(opd, dict) and opd["code"] == "dinkes" and tag == '"1"'
    policy, tag = handlers.get_policy(rt, "ppid.response")
    assert isinstance(policy, dict) and policy["label"] and tag == '"1"'
    assert all(isinstance(p, dict) for p in handlers.list_policies(rt))
    _feed_one_clock(rt)
    [entry] = handlers.timeline(rt, ADMIN, "requests/PPID-2026-000001")
    assert isinstance(entry["clock"], dict) and entry["clock"]["open"] is True
    assert all(isinstance(h, dict) for h in entry["history"] + entry["steps"])


def test_saving_a_policy_unchanged_at_the_same_instant_is_still_a_new_version(frozen_rt):
    document, tag = handlers.get_policy(frozen_rt, "ppid.response")
    body = {k: document[k] for k in ("label", "action", "reminders", "breach", "escalation")}
    saved, tag, created = handlers.put_policy(frozen_rt, ADMIN, "ppid.response", body, tag)
    again, again_tag, _ = handlers.put_policy(frozen_rt, ADMIN, "ppid.response", body, tag)
    assert not created and (saved["version"], again["version"]) == (2, 3)
    assert (tag, again_tag) == ('"2"', '"3"') and again["updated_at"] == FROZEN


def test_a_write_against_a_replaced_version_is_refused_by_the_version_column(rt):
    with rt.uow() as uow:
        stale = uow.session.get(Policy, "ppid.response")
    document, tag = handlers.get_policy(rt, "ppid.response")
    body = {k: document[k] for k in ("label", "action", "reminders", "breach", "escalation")}
    handlers.put_policy(rt, ADMIN, "ppid.response", body, tag)  # another editor, meanwhile
    with rt.uow() as uow:
        stale = uow.session.merge(stale, load=False)
        stale.updated_by = "late"
        with pytest.raises(StaleDataError):
            uow.session.flush()


def test_use_cases_and_the_consumer_stamp_the_runtime_clock(frozen_rt):
    contact, _ = directory.create_contact(frozen_rt, ADMIN, {
        "role": "officer", "opd": "dinkes", "service": "ppid", "name": "Rina",
        "email": "rina@dinkes.kapuaskab.go.id"})
    assert contact["created_at"] == FROZEN
    _feed_one_clock(frozen_rt)
    with frozen_rt.uow() as uow:
        recorded = set(uow.session.scalars(select(ClockHistory.recorded_at)))
        stored = uow.session.get(Contact, contact["id"])
        assert recorded == {FROZEN} and stored.updated_at == FROZEN


def test_the_dashboard_counts_as_of_the_runtime_clock(frozen_rt, auth_header):
    _feed_one_clock(frozen_rt)  # due 7 April: overdue on the frozen 8 April
    client = create_app(frozen_rt.settings, clock=frozen_rt.clock).test_client()
    body = client.get("/api/v1/dashboard", headers=auth_header("sekda")).get_json()
    assert body["at"] == "2026-04-08T09:00:00+07:00"
    assert body["totals"]["overdue"] == 1


def test_the_notifiers_own_events_carry_the_runtime_clocks_time(frozen_rt):
    """Directory changes, the directory list and a met clock are all stamped by the one
    clock, not by the wall clock behind the event factory."""
    directory.create_contact(frozen_rt, ADMIN, {
        "role": "officer", "opd": "dinkes", "service": "ppid", "name": "Rina",
        "email": "rina@dinkes.kapuaskab.go.id"})
    _, tag = directory.get_opd(frozen_rt, "dinkes")
    directory.update_opd(frozen_rt, ADMIN, "dinkes", {"name": "Dinas Kesehatan"}, tag)
    _feed_one_clock(frozen_rt)
    assert events_consumer(frozen_rt).process(sla_event(
        "requests/PPID-2026-000001", at=wib(2026, 3, 20, 10), stop=[{"clock": "ppid.response"}]))
    with frozen_rt.engine.connect() as conn:
        events = [json.loads(body) for body in conn.scalars(select(frozen_rt.outbox.c.body))]
    types = {event["type"] for event in events}
    assert {"notifier.directory.updated", "notifier.opds.updated", "notifier.sla.met"} <= types
    for event in events:
        assert event["time"].startswith("2026-04-08T02:00:00"), (event["type"], event["time"])
