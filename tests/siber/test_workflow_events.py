"""The events of an article's life and of a day's duty, read off a real queue bound to
`siber.#`: valid CloudEvents matching docs/events/asyncapi.yaml, every instant in UTC, no
person's name in them, the clocks the notifier needs."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from services.siber import daily_duty
from services.siber.models import outbox
from tests.broker_events import bound_queue, check_delivery, drain, relay_unpublished
from tests.event_conventions import instants_not_in_utc
from tests.siber.support import HUMAS, WIB, headers

AUTHOR_NAME = "Rina Wulandari"


@pytest.fixture
def queue():
    with bound_queue("siber") as bound:
        yield bound


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
    types, wrong = instants_not_in_utc(bodies)
    assert not wrong, wrong
    expected = relay_unpublished(rt, outbox)
    received = drain(channel, name, expected)
    assert set(received) == set(expected)

    mine = []
    for delivery, *_ in received.values():
        assert AUTHOR_NAME not in delivery.body.decode()
        check_delivery(delivery, schemas_dir)
        if delivery.envelope["opd"] == "diskopdag":
            mine.append(delivery.envelope)
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
