"""The events of an article's life and of a day's duty, read off a real queue bound to
`siber.#`: valid CloudEvents matching docs/events/asyncapi.yaml, every instant in UTC, no
person's name in them, the clocks the notifier needs."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import jsonschema
import pika
import pytest
import yaml
from sqlalchemy import select

from services.common.events import EXCHANGE, routing_keys
from services.common.relay import OutboxRelay
from services.siber import daily_duty
from services.siber.models import outbox
from tests.conftest import AMQP_URL
from tests.event_conventions import instants_not_in_utc
from tests.siber.support import HUMAS, WIB, headers

ROOT = Path(__file__).resolve().parents[2]
AUTHOR_NAME = "Rina Wulandari"


@pytest.fixture
def queue():
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    name = f"test.siber.events.{uuid.uuid4().hex[:8]}"
    channel.queue_declare(name, exclusive=True)
    channel.queue_bind(name, EXCHANGE, routing_key="siber.#")
    yield channel, name
    channel.queue_delete(name)
    connection.close()


def drain(channel, name, expected_ids):
    received, rounds = {}, 200
    while len(received) < len(expected_ids) and rounds:
        method, properties, body = channel.basic_get(name, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.05)
            rounds -= 1
            continue
        envelope = json.loads(body)
        if envelope["id"] in expected_ids:
            received[envelope["id"]] = (method, properties, body, envelope)
    return received


def test_the_events_of_an_article_and_of_the_day_reach_the_broker(siber, queue, schemas_dir):
    channel, name = queue
    siber.clock.set(datetime(2026, 3, 9, 8, 0, 30, tzinfo=WIB))
    daily_duty.open_duties(siber.rt)
    created = siber.http.post("/api/v1/articles", json={"title": "Pasar Murah Jelang Ramadan"},
                              headers=headers(HUMAS, "diskopdag", name=AUTHOR_NAME))
    article_id = created.get_json()["id"]
    siber.clock.set(datetime(2026, 3, 9, 10, 0, tzinfo=WIB))
    siber.submit(article_id, "diskopdag")
    siber.act(article_id, "claim")
    siber.act(article_id, "request-revision", {"notes": "Lengkapi jumlah pedagang."})
    siber.act(article_id, "resubmit", role=HUMAS, opd="diskopdag")
    siber.act(article_id, "approve")
    siber.act(article_id, "publish")

    rt = siber.rt
    with rt.engine.connect() as conn:
        bodies = list(conn.execute(select(outbox.c.body)).scalars())
        expected = set(conn.execute(select(outbox.c.event_id).where(outbox.c.published_at.is_(None))).scalars())
    types, wrong = instants_not_in_utc(bodies)
    assert not wrong, wrong
    relay = OutboxRelay(rt.engine, rt.outbox, AMQP_URL)
    try:
        while relay.relay_once():
            pass
    finally:
        relay.close()
    received = drain(channel, name, expected)
    assert set(received) == expected

    cloudevents = json.loads((schemas_dir / "cloudevents.json").read_text())
    catalogue = yaml.safe_load((ROOT / "docs" / "events" / "asyncapi.yaml").read_text())
    mine = []
    for method, properties, body, envelope in received.values():
        assert AUTHOR_NAME not in body.decode()
        jsonschema.Draft7Validator(cloudevents).validate(envelope)
        documented = {"allOf": [{"$ref": f"#/components/messages/{envelope['type']}/payload"}],
                      "components": catalogue["components"]}
        jsonschema.Draft7Validator(documented, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(envelope)
        assert method.routing_key in routing_keys(envelope)
        assert properties.message_id == envelope["id"] and properties.delivery_mode == 2
        if envelope["opd"] == "diskopdag":
            mine.append(envelope)
    mine.sort(key=lambda e: (e["time"], e["type"] != "siber.quota.opened"))
    assert [(e["type"], e["subject"]) for e in mine] == [
        ("siber.quota.opened", "duties/diskopdag/2026-03-09"),
        ("siber.article.submitted", f"articles/{article_id}"),
        ("siber.quota.met", "duties/diskopdag/2026-03-09"),
        ("siber.article.claimed", f"articles/{article_id}"),
        ("siber.article.revision_requested", f"articles/{article_id}"),
        ("siber.article.resubmitted", f"articles/{article_id}"),
        ("siber.article.approved", f"articles/{article_id}"),
        ("siber.article.published", f"articles/{article_id}"),
    ]
    clocks = [(e["type"], sorted((k, i["clock"]) for k, items in e["data"].get("sla", {}).items() for i in items))
              for e in mine]
    assert clocks == [
        ("siber.quota.opened", [("start", "siber.daily_news")]),
        ("siber.article.submitted", [("start", "siber.review")]),
        ("siber.quota.met", [("stop", "siber.daily_news")]),
        ("siber.article.claimed", []),
        ("siber.article.revision_requested", [("stop", "siber.review")]),
        ("siber.article.resubmitted", [("start", "siber.review")]),
        ("siber.article.approved", [("stop", "siber.review")]),
        ("siber.article.published", []),
    ]
    assert {"siber.quota.opened", "siber.article.published"} <= types
