"""The SIBER worker against the real database and broker: `migrate`, then the timers that
open the day's duties, publish scheduled articles on time (also after a restart, and once
with two workers) and make the photos' renditions."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import inspect, select

from services.common import worker as chassis_worker
from services.common.cli import main
from services.common.runtime import build_runtime
from services.siber import workflow
from services.siber.__main__ import SERVICE, run_siber_worker
from services.siber.config import SiberSettings
from services.siber.models import Article, Base, DailyDuty, Photo
from tests.broker_events import delete_consumer_queues
from tests.siber.support import API, HUMAS, WIB, headers
from tests.siber.test_photos import png_bytes


def test_migrate_builds_the_schema(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SIMPUL_ENV", "development")
    monkeypatch.setenv("SIBER_DATABASE_URL", url)
    assert main(SERVICE, ["migrate"]) == 0
    rt = build_runtime(SiberSettings.from_env("siber"), Base.metadata)
    try:
        tables = set(inspect(rt.engine).get_table_names())
        assert {"articles", "article_tags", "photos", "article_revisions", "article_comments", "assignments",
                "opd_quotas", "daily_duties", "outbox", "worker_heartbeats"} <= tables
    finally:
        rt.dispose()


def _scheduled(siber, at: datetime, count: int) -> list[int]:
    ids = []
    for n in range(count):
        article = siber.create("dinkes", title=f"Berita terjadwal nomor {n + 1}")
        siber.submit(article["id"])
        siber.act(article["id"], "approve")
        response = siber.act(article["id"], "schedule", {"publish_at": at.isoformat()})
        assert response.status_code == 200, response.get_json()
        ids.append(article["id"])
    return ids


def test_two_workers_publish_each_due_article_once(siber):
    at = datetime(2026, 3, 2, 13, 0, tzinfo=WIB)
    ids = _scheduled(siber, at, 12)
    siber.clock.set(at + timedelta(seconds=5))
    with ThreadPoolExecutor(max_workers=2) as pool:
        rounds = list(pool.map(lambda _: workflow.publish_due(siber.rt, limit=5), range(6)))
    published = [i for done in rounds for i in done]
    assert sorted(published) == sorted(ids)
    events = [e for e in siber.events() if e["type"] == "siber.article.published" and e["data"]["id"] in ids]
    assert len(events) == len(ids)


def test_the_worker_process_does_its_rounds_and_catches_up_after_a_restart(siber, monkeypatch):
    # The day's duties, an article scheduled for a time that passed while no worker ran, a photo.
    suffix = uuid.uuid4().hex[:8]
    built = []

    def calendar_consumer(rt):
        consumer = chassis_worker.make_consumer(rt, f"calendar_test_{suffix}", ["notifier.calendar.updated.#"],
                                                rt.calendar_sync.handle_event)
        built.append(consumer)
        return consumer

    monkeypatch.setattr(chassis_worker, "calendar_consumer", calendar_consumer)
    at = datetime(2026, 3, 2, 10, 0, tzinfo=WIB)
    [due] = _scheduled(siber, at, 1)
    article = siber.create("dinkes")
    body = {"filename": "a.png", "content_base64": base64.b64encode(png_bytes()).decode(),
            "caption": "Kegiatan", "credit": "Humas"}
    photo = siber.http.post(f"{API}/articles/{article['id']}/photos", json=body, headers=headers(HUMAS, "dinkes"))
    siber.clock.set(datetime(2026, 3, 3, 9, 30, tzinfo=WIB))  # the next morning
    stop = threading.Event()
    thread = threading.Thread(target=run_siber_worker, args=(siber.rt, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with siber.rt.engine.connect() as conn:
                status = conn.execute(select(Article.status).where(Article.id == due)).scalar()
                ready = conn.execute(select(Photo.renditions_ready).where(Photo.id == photo.get_json()["id"])).scalar()
                duties = conn.execute(select(DailyDuty.opd).where(DailyDuty.day == datetime(2026, 3, 3).date())).all()
            if status == "published" and ready and duties:
                break
            time.sleep(0.3)
        assert (status, ready) == ("published", True)
        assert ("dinkes",) in duties
    finally:
        stop.set()
        thread.join(timeout=40)
        delete_consumer_queues(*built)
    assert not thread.is_alive()
