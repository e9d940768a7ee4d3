"""The worker's parts come back quickly after a broker restart: capped back-off for the
relay and every consumer, and pika's own connection noise silenced."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import MetaData

from services.common import worker
from services.common.calendar_sync import calendar_state_table
from services.common.consumer import RECONNECT_BACKOFF_CAP
from services.common.outbox import plumbing_tables

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)


class RecordingRelay:
    made: list[dict] = []

    def __init__(self, *args, **options):
        RecordingRelay.made.append(options)

    def run(self, stop):
        stop.wait()

    def purge_sent(self, _age):
        return 0


def test_the_relay_and_consumers_reconnect_within_the_cap_and_pika_noise_is_dropped(
    sqlite_url, make_chassis_runtime, monkeypatch
):
    rt = make_chassis_runtime(metadata, sqlite_url)
    monkeypatch.setattr(worker, "OutboxRelay", RecordingRelay)
    consumer = worker.make_consumer(rt, "probe", ["x.#"], lambda uow, envelope: None)
    assert consumer.max_backoff == RECONNECT_BACKOFF_CAP <= 5.0
    stop = threading.Event()
    stop.set()  # every part starts and ends at once
    worker.run_worker(rt, stop=stop)
    assert RecordingRelay.made[-1]["max_backoff"] == RECONNECT_BACKOFF_CAP
    record = logging.LogRecord(
        "pika.adapters.utils.connection_workflow", logging.ERROR, __file__, 1,
        "TCP Connection attempt failed: %r", (ConnectionRefusedError(111),), None,
    )
    assert not logging.getLogger("pika.adapters.utils.connection_workflow").filter(record)
