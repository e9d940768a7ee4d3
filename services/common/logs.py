"""JSON logs carrying the request id (web) or the event id (worker).

Log records never carry a citizen's personal data: log identifiers and states, not bodies.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.orjson import OrjsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        request_id = request_id_var.get()
        event_id = event_id_var.get()
        if request_id:
            record.request_id = request_id
        if event_id:
            record.event_id = event_id
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    # orjson: the standard library's encoder made the one access line of a request cost
    # about as much CPU as the rest of its logging and rate limiting together.
    handler.setFormatter(
        OrjsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pika logs every connection attempt at INFO; its warnings are what matter.
    logging.getLogger("pika").setLevel(logging.WARNING)


@contextmanager
def bound_event_id(event_id: str | None):
    token = event_id_var.set(event_id)
    try:
        yield
    finally:
        event_id_var.reset(token)
