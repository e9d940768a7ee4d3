"""A real SMTP server for tests (aiosmtpd on a free local port) that keeps what it receives
and counts the connections it served."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tests.notifier.notifier_support import SmtpSink


class CountingSink(SmtpSink):
    """`SmtpSink` that also counts SMTP sessions (one EHLO or HELO per connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.port = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self._lock:
            self.sessions += 1
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        with self._lock:
            self.sessions += 1
        return f"250 {server.hostname}"


@contextmanager
def smtp_server() -> Iterator[CountingSink]:
    sink = CountingSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def smtp_env(sink: CountingSink, sender: str) -> dict[str, str]:
    """The settings that send a service's mail from `sender` to `sink`, giving up quickly."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_FROM": sender, "SMTP_TIMEOUT_SECONDS": "5"}
