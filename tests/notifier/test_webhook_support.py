"""Shared pieces of the webhook tests: a real HTTP receiver, a migrated runtime, events.

No tests live here; the webhook test modules import these fixtures and helpers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.common.auth import Principal
from services.common.events import new_event
from services.common.migrations import upgrade
from services.common.runtime import build_runtime
from services.notifier.config import NotifierSettings
from services.notifier.models import Base

WebhookSettings = NotifierSettings


class _Server(ThreadingHTTPServer):
    # Two workers send up to 16 requests at once; socketserver's default listen backlog of
    # 5 would drop connection attempts under load and fail a delivery for the harness's sake.
    request_queue_size = 64
    daemon_threads = True


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = Principal(sub="admin-1", name=None, roles=frozenset({"admin"}), opd=None)
DINKES = Principal(sub="dinkes-1", name=None, roles=frozenset({"ppid_pelaksana"}), opd="dinkes")
DISDIK = Principal(sub="disdik-1", name=None, roles=frozenset({"atasan_ppid"}), opd="disdik")


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers as scripted."""

    def __init__(self):
        self.requests: list[Recorded] = []
        # (status, headers) answers, used in order; 200 once they run out.
        self.responses: list[tuple[int, dict[str, str]]] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.requests.append(
                        Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status, headers = receiver.responses.pop(0) if receiver.responses else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "8")
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, *responses: int | tuple[int, dict[str, str]]) -> None:
        for response in responses:
            self.responses.append(response if isinstance(response, tuple) else (response, {}))

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """A runtime clock a test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver():
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def make_runtime(make_settings):
    """A migrated notifier runtime; loopback targets over http allowed unless told otherwise."""
    built = []

    def make(url: str, clock=None, **env: str):
        env = {
            "NOTIFIER_WEBHOOK_ALLOW_PRIVATE": "1",
            "NOTIFIER_WEBHOOK_ALLOW_HTTP": "1",
            **env,
        }
        upgrade("notifier", url)
        settings = make_settings(WebhookSettings, "notifier", url, **env)
        rt = build_runtime(settings, Base.metadata, clock=clock)
        built.append(rt)
        return rt

    yield make
    for rt in built:
        rt.dispose()


def event(
    service: str = "lapor",
    entity: str = "report",
    action: str = "dispatched",
    *,
    opd: str | None = "dinkes",
    at: datetime = T0,
    number: int = 1,
) -> dict:
    return new_event(
        service,
        entity,
        action,
        subject=f"reports/LPR-2026-{number:06d}",
        opd=opd,
        data={"state": "dispatched"},
        time=at,
    ).envelope()
