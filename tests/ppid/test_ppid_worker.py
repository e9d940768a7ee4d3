"""`python -m services.ppid migrate` and the worker process, against the real broker."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pika
from sqlalchemy import inspect, select

from services.common import worker as chassis_worker
from services.common.cli import main
from services.common.events import EXCHANGE
from services.common.runtime import build_runtime
from services.ppid import handlers
from services.ppid.__main__ import SERVICE, run_ppid_worker
from services.ppid.config import PpidSettings
from services.ppid.models import Base, calendar_state, outbox
from tests.ppid.support import AMQP_URL, REQUEST_BODY, T0


def test_migrate_command_builds_the_schema_and_seeds_the_calendar(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SIMPUL_ENV", "development")
    monkeypatch.setenv("PPID_DATABASE_URL", url)
    assert main(SERVICE, ["migrate"]) == 0
    rt = build_runtime(PpidSettings.from_env("ppid"), Base.metadata)
    try:
        tables = set(inspect(rt.engine).get_table_names())
        assert {"requests", "applicants", "notices", "objections", "disputes", "personal_data_access"} <= tables
        with rt.engine.connect() as conn:
            assert conn.execute(select(calendar_state.c.id)).scalar() == 1
    finally:
        rt.dispose()


def test_worker_relays_the_outbox(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    from services.common.migrations import upgrade

    upgrade("ppid", url)
    settings = PpidSettings.from_env(
        "ppid", {"SIMPUL_ENV": "development", "PPID_DATABASE_URL": url, "AMQP_URL": AMQP_URL}
    )
    rt = build_runtime(settings, Base.metadata)
    suffix = uuid.uuid4().hex[:8]
    calendar_queue = f"ppid.calendar_test_{suffix}"
    # The real calendar consumer's queue is shared with running systems: use a test one.
    monkeypatch.setattr(
        chassis_worker,
        "calendar_consumer",
        lambda rt: chassis_worker.make_consumer(rt, f"calendar_test_{suffix}", ["notifier.calendar.updated.#"], rt.calendar_sync.handle_event),
    )
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = f"test.ppid.worker.{suffix}"
    channel.queue_declare(queue, exclusive=True)
    channel.queue_bind(queue, EXCHANGE, routing_key="ppid.request.submitted.#")
    submitted = handlers.submit_request(rt, dict(REQUEST_BODY), now=T0)
    stop = threading.Event()
    thread = threading.Thread(target=run_ppid_worker, args=(rt, stop), daemon=True)
    thread.start()
    try:
        body, deadline = None, time.monotonic() + 15
        while body is None and time.monotonic() < deadline:
            method, _props, raw = channel.basic_get(queue, auto_ack=True)
            if method is None:
                connection.sleep(0.1)
                continue
            envelope = json.loads(raw)
            if envelope["subject"] == f"requests/{submitted['number']}":
                body = envelope
        assert body is not None and body["type"] == "ppid.request.submitted"
    finally:
        stop.set()
        thread.join(timeout=40)
        channel.queue_delete(queue)
        channel.queue_delete(calendar_queue)
        channel.queue_delete(f"{calendar_queue}.dead")
        connection.close()
    assert not thread.is_alive()
    check = build_runtime(settings, Base.metadata)
    try:
        with check.engine.connect() as conn:
            assert conn.execute(select(outbox.c.published_at)).scalar() is not None
    finally:
        check.dispose()
