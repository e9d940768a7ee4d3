"""The events of reports' whole lives, read off a real queue bound to `lapor.#`.

The outbox relay publishes what the API wrote; each envelope must be a valid CloudEvent,
match its message in docs/events/asyncapi.yaml, carry the clock instructions the notifier
needs, be routed to both OPDs of a move, and hold no personal data and no text a reporter
wrote: not their name, phone or e-mail, and of a rahasia report not even its title.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from services.lapor.models import outbox
from tests.broker_events import bound_queue, check_delivery, drain, relay_unpublished
from tests.event_conventions import instants_not_in_utc
from tests.lapor.steps import (
    COMPLETION,
    FOLLOW_UP,
    PROGRESS,
    citizen_post,
    dispatch,
    opd_act,
    opd_step,
)
from tests.lapor.support import PERSONAL_STRINGS, REPORT_BODY, WIB

TITLE = "Pungutan liar di loket pelayanan kecamatan"
DESCRIPTION = "Petugas loket meminta uang tambahan untuk mempercepat pembuatan surat keterangan."
ANSWER = "Kejadiannya di loket dua, Senin pagi, petugasnya berkacamata."
REJECTION = "Petugas yang sama masih meminta uang pada hari Jumat."
REPORTER_TEXTS = (TITLE, DESCRIPTION, ANSWER, REJECTION, "Loket dua", "berkacamata")


@pytest.fixture
def queue():
    with bound_queue("lapor") as bound:
        yield bound


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=WIB)


def life_of_a_rahasia_report(lapor) -> str:
    """Submit, ask, answer, verify and dispatch, return, re-dispatch, follow up, progress,
    complete, reject, complete, rate."""
    submitted = lapor.submit(privacy="rahasia", title=TITLE, description=DESCRIPTION)
    number, token = submitted["number"], submitted["access_token"]
    lapor.clock.set(at(3))
    assert lapor.act(number, "clarification-request",
                     {"question": "Di loket mana dan kapan kejadiannya?"}).status_code == 200
    lapor.clock.set(at(4))
    answered = lapor.citizen("POST", f"/api/v1/reports/{number}/clarification", token, json={"answer": ANSWER})
    assert answered.status_code == 200
    lapor.clock.set(at(5))
    dispatch(lapor, number, {"lead_opd": "dinkes", "supporting_opds": ["disdik"]})
    lapor.clock.set(at(6))
    returned = opd_act(lapor, number, "return", {"reason": "Pelayanan di kecamatan bukan urusan Dinas Kesehatan."})
    assert returned.status_code == 200, returned.get_json()
    lapor.clock.set(at(9))
    assert lapor.act(number, "redispatch", {"lead_opd": "inspektorat"}).status_code == 200
    lapor.clock.set(at(10))
    opd_step(lapor, number, "follow-up", FOLLOW_UP, "inspektorat")
    opd_step(lapor, number, "progress", PROGRESS, "inspektorat")
    lapor.clock.set(at(16))
    opd_step(lapor, number, "completion", COMPLETION, "inspektorat")
    lapor.clock.set(at(17))
    assert citizen_post(lapor, number, "rejection", token, {"reason": REJECTION}).status_code == 200
    lapor.clock.set(at(20))
    opd_step(lapor, number, "completion", COMPLETION, "inspektorat")
    lapor.clock.set(at(23))
    assert citizen_post(lapor, number, "rating", token, {"rating": 2, "comment": "Lambat."}).status_code == 200
    return number


def ended_early(lapor) -> dict[str, str]:
    """Reports that end at verification: archived, postponed, not our authority."""
    numbers = {}
    for step, body in (("archive", {"reason": "spam"}), ("postpone", {"reason": "Menunggu data desa."}),
                       ("not-authority", {"body": "Balai Wilayah Sungai Kalimantan II"})):
        number = lapor.submit(privacy="anonim")["number"]
        assert lapor.act(number, step, body).status_code == 200
        numbers[step] = number
    return numbers


def sla(envelope) -> dict[str, dict[str, dict]]:
    return {kind: {item["clock"]: item for item in items} for kind, items in envelope["data"].get("sla", {}).items()}


def test_events_of_reports_lives(lapor, queue, schemas_dir):
    channel, name = queue
    number = life_of_a_rahasia_report(lapor)
    early = ended_early(lapor)
    rt = lapor.rt
    expected = relay_unpublished(rt, outbox)
    received = drain(channel, name, expected)
    assert set(received) == set(expected)

    by_subject: dict[str, list[dict]] = {}
    keys_of: dict[str, list[str]] = {}
    bodies = []
    for copies in received.values():
        for delivery in copies:
            text = delivery.body.decode()
            bodies.append(text)
            for personal in (*PERSONAL_STRINGS, *REPORTER_TEXTS, REPORT_BODY["title"], REPORT_BODY["address"]):
                assert personal.casefold() not in text.casefold(), (personal, delivery.envelope["type"])
            check_delivery(delivery, schemas_dir)
            keys_of.setdefault(delivery.envelope["id"], []).append(delivery.method.routing_key)
        by_subject.setdefault(copies[0].envelope["subject"], []).append(copies[0].envelope)
    _, wrong = instants_not_in_utc(bodies)
    assert wrong == []

    life = sorted(by_subject[f"reports/{number}"], key=lambda e: expected[e["id"]])
    kinds = [e["type"].rsplit(".", 1)[1] for e in life]
    assert kinds == [
        "submitted", "clarification_requested", "clarified", "verified", "dispatched", "returned",
        "redispatched", "followed_up", "progressed", "completed", "reopened", "completed", "rated", "closed",
    ]
    event = {k: e for k, e in zip(kinds, life, strict=True) if k != "completed"}
    assert all(e["data"]["privacy"] == "rahasia" for e in life)

    submitted = event["submitted"]
    assert submitted["opd"] == "none"
    assert sla(submitted) == {"start": {"lapor.verification": {
        "clock": "lapor.verification", "due_at": "2026-03-05T16:59:59Z", "opd": "diskominfo",
        "role": "lapor_admin", "party": "staff", "counting": "working_days"}}}
    assert sla(event["clarification_requested"]) == {"pause": {"lapor.verification": {"clock": "lapor.verification"}}}
    # Asked on Tuesday with two working days left, answered on Wednesday: due on Friday.
    resumed = sla(event["clarified"])["resume"]["lapor.verification"]
    assert resumed["due_at"] == "2026-03-06T16:59:59Z" and resumed["role"] == "lapor_admin"
    assert "sla" not in event["verified"]["data"]

    dispatched = event["dispatched"]
    assert dispatched["opd"] == "dinkes" and dispatched["data"]["supporting_opds"] == ["disdik"]
    assert set(sla(dispatched)["start"]) == {"lapor.follow_up", "lapor.completion"}
    assert sla(dispatched)["start"]["lapor.completion"]["counting"] == "calendar_days"
    assert set(sla(dispatched)["stop"]) == {"lapor.verification"}

    returned = event["returned"]
    assert (returned["opd"], returned["fromopd"]) == ("none", "dinkes")
    assert sorted(keys_of[returned["id"]]) == ["lapor.report.returned.dinkes", "lapor.report.returned.none"]
    redispatched = event["redispatched"]
    assert (redispatched["opd"], redispatched["fromopd"]) == ("inspektorat", "dinkes")
    assert sorted(keys_of[redispatched["id"]]) == [
        "lapor.report.redispatched.dinkes", "lapor.report.redispatched.inspektorat"]
    assert sla(redispatched)["start"]["lapor.follow_up"]["opd"] == "inspektorat"

    assert sla(event["followed_up"])["stop"] == {"lapor.follow_up": {"clock": "lapor.follow_up"}}
    completed = [e for e in life if e["type"] == "lapor.report.completed"]
    window = sla(completed[0])["start"]["lapor.reporter_reply"]
    assert window["party"] == "citizen" and "role" not in window
    assert "lapor.reporter_reply" in sla(event["reopened"])["stop"]
    assert event["rated"]["data"]["rating"] == 2
    assert event["closed"]["data"]["closed_reason"] == "accepted"

    for step, action in (("archive", "archived"), ("postpone", "postponed"), ("not-authority", "rejected_authority")):
        last = sorted(by_subject[f"reports/{early[step]}"], key=lambda e: expected[e["id"]])[-1]
        assert last["type"] == f"lapor.report.{action}"
        assert sla(last) == {"stop": {"lapor.verification": {"clock": "lapor.verification"}}}
        assert last["data"]["privacy"] == "anonim"
    assert "Balai" not in json.dumps(by_subject[f"reports/{early['not-authority']}"])


def test_who_must_act_on_each_lapor_clock():
    from services.lapor import events as ev

    ctx = ev.EventContext(coordinator_opd="diskominfo")
    due = datetime(2026, 3, 5, 23, 59, 59, tzinfo=WIB)
    verification = ev.verification_clock(ctx, due).item
    assert (verification["opd"], verification["role"], verification["party"], verification["counting"]) == (
        "diskominfo", "lapor_admin", "staff", "working_days")
    assert ev.verification_paused().kind == "pause"
    resumed = ev.verification_resumed(ctx, due)
    assert (resumed.kind, resumed.item["role"]) == ("resume", "lapor_admin")
    assert ev.verification_restarted(ctx, due).kind == "start"
    follow_up = ev.follow_up_clock("dinkes", due).item
    assert (follow_up["opd"], follow_up["role"], follow_up["counting"]) == ("dinkes", "lapor_liaison", "working_days")
    assert ev.follow_up_cancelled().item == {"clock": "lapor.follow_up", "outcome": "cancelled"}
    completion = ev.completion_clock("dinkes", due).item
    assert (completion["role"], completion["counting"]) == ("lapor_liaison", "calendar_days")
    assert ev.completion_moved("dpupr", due).item["opd"] == "dpupr"
    window = ev.reply_window("dinkes", due).item
    assert window["party"] == "citizen" and "role" not in window
    assert {i.item["clock"] for i in (ev.verification_done(), ev.follow_up_done(), ev.completion_done(),
                                      ev.reply_window_done())} == {
        "lapor.verification", "lapor.follow_up", "lapor.completion", "lapor.reporter_reply"}


def test_a_report_event_carries_codes_only_and_routes_by_lead_opd():
    from types import SimpleNamespace

    from services.lapor import events as ev

    report = SimpleNamespace(number="LPR-2026-000001", status="dispatched", classification="pengaduan",
                             category="kesehatan", privacy="rahasia", kecamatan="62.03.01", lead_opd="dinkes",
                             title="Nama saya Budi", description="Rahasia")
    event = ev.report_event(report, "dispatched", at=datetime(2026, 3, 2, 9, tzinfo=WIB),
                            supporting_opds=["disdik", "bappeda"])
    assert event.routing_keys == ("lapor.report.dispatched.dinkes",)
    assert event.subject == "reports/LPR-2026-000001"
    assert event.data == {"number": "LPR-2026-000001", "status": "dispatched", "classification": "pengaduan",
                          "category": "kesehatan", "privacy": "rahasia", "kecamatan": "62.03.01",
                          "lead_opd": "dinkes", "supporting_opds": ["bappeda", "disdik"]}
    moved = ev.report_event(report, "redispatched", at=datetime(2026, 3, 2, 9, tzinfo=WIB), from_opd="dpupr")
    assert set(moved.routing_keys) == {"lapor.report.redispatched.dinkes", "lapor.report.redispatched.dpupr"}
    with pytest.raises(ValueError):
        ev.report_event(report, "dispatched", at=datetime(2026, 3, 2, 9, tzinfo=WIB), from_opd="dpupr")
