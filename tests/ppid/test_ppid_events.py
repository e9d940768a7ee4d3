"""The events of a request's whole life, read off a real queue bound to `ppid.#`.

The outbox relay publishes what the API wrote; each envelope must be a valid CloudEvent,
match its message in docs/events/asyncapi.yaml, carry the clock instructions the notifier
needs, and hold no personal data.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pika
import pytest
from sqlalchemy import select

from services.common.events import EXCHANGE
from services.ppid import events as ppid_events
from services.ppid.events import EventContext
from services.ppid.models import outbox
from tests.broker_events import bound_queue, check_delivery, drain, relay_all, relay_unpublished
from tests.event_conventions import instants_not_in_utc
from tests.ppid.support import AMQP_URL, ATASAN, PELAKSANA, PERSONAL_STRINGS, WIB

REQ, OBJ = "/api/v1/requests", "/api/v1/objections"


@pytest.fixture
def queue():
    with bound_queue("ppid") as bound:
        yield bound


def life_of_a_request(ppid):
    """Submit, assign, extend, answer late, object, decide, dispute; plus a withdrawal and a
    reassignment. Returns the numbers involved."""
    first = ppid.submit()
    number, token = first["number"], first["access_token"]
    path = f"{REQ}/{number}"
    ppid.clock.set(datetime(2026, 3, 3, 10, tzinfo=WIB))
    assert ppid.assign(number, "dinkes").status_code == 200
    ppid.clock.set(datetime(2026, 3, 13, 10, tzinfo=WIB))
    extension = {"ground": "large_volume", "reason": "Dokumen berjumlah ratusan halaman."}
    assert ppid.act(f"{path}/extension", extension, PELAKSANA, "dinkes", etag_of=path).status_code == 200
    ppid.clock.set(datetime(2026, 4, 2, 10, tzinfo=WIB))
    rejection = {"outcome": "rejected", "exemption_clause": "h", "consequence_test": "Membuka data mengungkap rahasia pribadi."}
    assert ppid.notice(number, rejection, PELAKSANA, "dinkes").status_code == 201
    objection = {"grounds": ["a", "g"], "statement": "Informasi menyangkut anggaran publik."}
    filed = ppid.citizen("POST", f"{path}/objections", token, json=objection)
    assert filed.status_code == 201
    kbr = filed.get_json()["number"]
    ppid.clock.set(datetime(2026, 4, 20, 10, tzinfo=WIB))
    decision = {"decision": "upheld", "reasons": "Rahasia pribadi dilindungi Pasal 17 huruf h."}
    assert ppid.act(f"{OBJ}/{kbr}/decision", decision, ATASAN, "dinkes", etag_of=f"{OBJ}/{kbr}").status_code == 200
    ppid.clock.set(datetime(2026, 4, 27, 10, tzinfo=WIB))
    assert ppid.act(f"{OBJ}/{kbr}/dispute", {"filed_on": "2026-04-27"}, etag_of=f"{OBJ}/{kbr}").status_code == 201
    ppid.clock.set(datetime(2026, 6, 1, 10, tzinfo=WIB))
    resolution = {"outcome": "rejected", "resolved_on": "2026-05-29"}
    assert ppid.act(f"{OBJ}/{kbr}/dispute/resolution", resolution, etag_of=f"{OBJ}/{kbr}").status_code == 200

    ppid.clock.set(datetime(2026, 6, 2, 10, tzinfo=WIB))
    second = ppid.submit(requested_opd="disdik")
    ppid.citizen("POST", f"{REQ}/{second['number']}/withdrawal", second["access_token"], json={})
    third = ppid.submit(requested_opd="disdik")
    move = {"opd": "dlh", "reason": "Data kualitas air dikuasai DLH."}
    moved = ppid.act(f"{REQ}/{third['number']}/reassignment", move, etag_of=f"{REQ}/{third['number']}")
    assert moved.status_code == 200
    return number, kbr, second["number"], third["number"]


def test_events_of_a_request_life(ppid, queue, schemas_dir):
    channel, name = queue
    number, kbr, withdrawn, reassigned = life_of_a_request(ppid)
    rt = ppid.env.rt
    expected = relay_unpublished(rt, outbox)
    received = drain(channel, name, expected)
    assert set(received) == set(expected)

    by_subject: dict[str, list[dict]] = {}
    for delivery, *_ in received.values():
        text = delivery.body.decode()
        for personal in PERSONAL_STRINGS:
            assert personal not in text, (personal, delivery.envelope["type"])
        check_delivery(delivery, schemas_dir)
        by_subject.setdefault(delivery.envelope["subject"], []).append(delivery.envelope)

    def events(subject):
        return sorted(by_subject[subject], key=lambda e: e["time"])

    life = events(f"requests/{number}")
    assert [e["type"] for e in life] == [
        "ppid.request.submitted", "ppid.request.assigned", "ppid.request.extended", "ppid.request.answered",
    ]
    submitted, assigned, extended, answered = life
    assert submitted["opd"] == "none" and submitted["data"]["opd"] is None
    assert submitted["data"]["sla"] == {
        "start": [
            {
                "clock": "ppid.response",
                "due_at": "2026-03-16T16:59:59Z",
                "opd": "diskominfo",
                "role": "ppid_utama",
                "party": "staff",
                "counting": "working_days",
                "started_at": submitted["data"]["received_at"],
                "actions": ["answer", "extend"],
            }
        ]
    }
    assert assigned["opd"] == "dinkes"
    assert assigned["data"]["sla"]["start"] == [{
        "clock": "ppid.response", "due_at": "2026-03-16T16:59:59Z", "opd": "dinkes",
        "role": "ppid_pelaksana", "party": "staff", "counting": "working_days",
        "actions": ["answer", "extend"],
    }]
    # Once extended, the one extension is no longer offered to whoever must act.
    assert extended["data"]["sla"]["start"][0]["actions"] == ["answer"]
    assert extended["data"]["due_at"] == "2026-04-01T16:59:59Z"
    assert extended["data"]["sla"]["start"][0]["due_at"] == "2026-04-01T16:59:59Z"
    assert (extended["data"]["sla"]["start"][0]["opd"], extended["data"]["sla"]["start"][0]["role"]) == (
        "dinkes", "ppid_pelaksana")
    assert answered["data"]["outcome"] == "rejected" and answered["data"]["late"] is True
    assert answered["data"]["sla"] == {"stop": [{"clock": "ppid.response"}]}

    objection = events(f"objections/{kbr}")
    assert [e["type"] for e in objection] == [
        "ppid.objection.filed", "ppid.objection.decided", "ppid.dispute.filed", "ppid.dispute.resolved",
    ]
    filed, decided, dispute, resolved = objection
    assert filed["data"]["grounds"] == ["a", "g"] and filed["opd"] == "dinkes"
    assert filed["data"]["sla"]["start"] == [{
        "clock": "ppid.objection_response", "due_at": filed["data"]["response_due_at"], "opd": "dinkes",
        "role": "atasan_ppid", "party": "staff", "counting": "working_days",
    }]
    assert decided["data"]["sla"]["stop"] == [{"clock": "ppid.objection_response"}]
    assert decided["data"]["sla"]["start"][0]["clock"] == "ppid.dispute_window"
    assert decided["data"]["sla"]["start"][0]["due_at"] == decided["data"]["dispute_window_due_at"]
    # The window is the applicant's: no staff role must act, and it never counts against an OPD.
    assert decided["data"]["sla"]["start"][0]["party"] == "citizen"
    assert "role" not in decided["data"]["sla"]["start"][0]
    assert dispute["data"]["sla"] == {"stop": [{"clock": "ppid.dispute_window"}]}
    assert resolved["data"]["outcome"] == "rejected" and "sla" not in resolved["data"]

    gone = events(f"requests/{withdrawn}")
    assert [e["type"] for e in gone] == ["ppid.request.submitted", "ppid.request.withdrawn"]
    # A withdrawal ends the duty undone: cancelled, never counted as met.
    assert gone[0]["opd"] == "disdik" and gone[1]["data"]["sla"] == {
        "stop": [{"clock": "ppid.response", "outcome": "cancelled"}]}
    moved = events(f"requests/{reassigned}")
    assert moved[-1]["type"] == "ppid.request.reassigned"
    assert moved[-1]["opd"] == "dlh" and moved[-1]["data"]["previous_opd"] == "disdik"
    assert moved[-1]["fromopd"] == "disdik" and assigned["fromopd"] == "none"
    assert [(c["clock"], c["opd"], c["role"]) for c in moved[-1]["data"]["sla"]["start"]] == [
        ("ppid.response", "dlh", "ppid_pelaksana")]


def test_who_must_act_on_each_ppid_clock():
    ctx = EventContext(utama_opd="diskominfo")
    due = datetime(2026, 3, 16, 23, 59, 59, tzinfo=WIB)
    unassigned = ppid_events.response_clock(ctx, None, due)
    assert (unassigned.item["opd"], unassigned.item["role"]) == ("diskominfo", "ppid_utama")
    held = ppid_events.response_clock_moved(ctx, "dinkes", due, extended=False)
    assert (held.kind, held.item["opd"], held.item["role"]) == ("start", "dinkes", "ppid_pelaksana")
    # An objection to a request nobody was assigned is answered by the regency-level Atasan.
    objection = ppid_events.objection_clock(ctx, None, due).item
    assert (objection["opd"], objection["role"], objection["party"]) == ("diskominfo", "atasan_ppid", "staff")
    window = ppid_events.dispute_window(ctx, "dinkes", due).item
    assert window["party"] == "citizen" and "role" not in window
    assert {c.item["counting"] for c in (unassigned, held)} == {"working_days"}


def test_ppid_builds_only_the_types_it_declares():
    ctx = EventContext(utama_opd="diskominfo")
    at = datetime(2026, 3, 2, 9, tzinfo=WIB)
    case = ppid_events.NewCase("PPID-2026-000001", "received", None)
    event = ppid_events.request_event(ctx, case, "submitted", at=at, received_at=at.astimezone(UTC))
    assert event.routing_key == "ppid.request.submitted.none"
    assert event.data["received_at"] == "2026-03-02T02:00:00Z"
    with pytest.raises(ValueError, match="not declared"):
        ppid_events.request_event(ctx, case, "deleted", at=at)


@pytest.fixture
def opd_queues():
    """Queues on the real exchange as two OPD systems bind them: `#.dinkes` and `#.disdik`."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    names = {}
    for opd in ("dinkes", "disdik"):
        names[opd] = f"test.ppid.{opd}.{uuid.uuid4().hex[:8]}"
        channel.queue_declare(names[opd], exclusive=True)
        channel.queue_bind(names[opd], EXCHANGE, routing_key=f"#.{opd}")
    yield channel, names
    for name in names.values():
        channel.queue_delete(name)
    connection.close()


def copies_of(channel, queue, event_id, quiet=1.0, limit=15.0):
    """The routing keys of the copies of one event that reached the queue (other tests
    share the exchange): read until the queue was quiet for a while."""
    found, idle, deadline = [], 0.0, time.monotonic() + limit
    while idle < quiet and time.monotonic() < deadline:
        method, _properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.1)
            idle += 0.1
            continue
        idle = 0.0
        if json.loads(body).get("id") == event_id:
            found.append(method.routing_key)
    return found


def test_a_reassignment_reaches_the_opd_it_leaves_and_the_one_it_reaches(ppid, opd_queues):
    channel, queues = opd_queues
    request = ppid.submit(requested_opd="dinkes")
    path = f"{REQ}/{request['number']}"
    move = {"opd": "disdik", "reason": "Data sekolah dikuasai Dinas Pendidikan."}
    assert ppid.act(f"{path}/reassignment", move, etag_of=path).status_code == 200
    rt = ppid.env.rt
    with rt.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.event_id, outbox.c.routing_key, outbox.c.body)
            .where(outbox.c.subject == f"requests/{request['number']}", outbox.c.routing_key.like("ppid.request.reassigned.%"))
            .order_by(outbox.c.id)
        ).all()
    assert [r.routing_key for r in rows] == ["ppid.request.reassigned.disdik", "ppid.request.reassigned.dinkes"]
    assert len({r.event_id for r in rows}) == 1 and len({r.body for r in rows}) == 1
    relay_all(rt)
    event_id = rows[0].event_id
    # Dinas Kesehatan's system hears the case left it; Dinas Pendidikan's that it came.
    assert copies_of(channel, queues["dinkes"], event_id) == ["ppid.request.reassigned.dinkes"]
    assert copies_of(channel, queues["disdik"], event_id) == ["ppid.request.reassigned.disdik"]
    envelope = json.loads(rows[0].body)
    assert (envelope["opd"], envelope["fromopd"], envelope["data"]["previous_opd"]) == ("disdik", "dinkes", "dinkes")


def test_every_instant_ppid_publishes_is_utc(ppid):
    # Envelope `time` and every instant in `data`, clock instructions included.
    life_of_a_request(ppid)
    with ppid.env.rt.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body)).scalars().all()
    types, wrong = instants_not_in_utc(bodies)
    assert not wrong, wrong
    assert {"ppid.request.submitted", "ppid.request.assigned", "ppid.request.reassigned", "ppid.request.extended",
            "ppid.request.answered", "ppid.request.withdrawn", "ppid.objection.filed", "ppid.objection.decided",
            "ppid.dispute.filed", "ppid.dispute.resolved"} <= types
