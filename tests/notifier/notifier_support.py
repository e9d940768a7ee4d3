"""Helpers shared by the notifier's tests (imported by name: pytest puts this folder on the path)."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from services.common import sla
from services.common.events import new_event

WIB = ZoneInfo("Asia/Jakarta")


def wib(y, m, d, hh=0, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=WIB)


class SmtpSink:
    """Collects what a real SMTP server received; some addresses can be made to fail."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply ("451 ..." or "550 ...")
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self._lock:
            return [m for rcpts, m in self.messages if address in rcpts]

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


def sla_event(
    subject: str,
    *,
    at: datetime,
    start: list[dict] | None = None,
    stop: list[dict] | None = None,
    opd: str | None = "dinkes",
    service: str = "ppid",
    entity: str = "request",
    action: str = "updated",
) -> dict:
    sla: dict = {}
    if start is not None:
        # Instants written as text in the tests' own zone travel as events write them (UTC).
        sla["start"] = [
            {k: datetime.fromisoformat(v) if k in ("due_at", "started_at") and isinstance(v, str) else v
             for k, v in item.items()}
            for item in start
        ]
    if stop is not None:
        sla["stop"] = stop
    return new_event(service, entity, action, subject=subject, opd=opd, data={"sla": sla},
                     time=at).envelope()


def clock_event(
    subject: str,
    *instructions: sla.Instruction,
    at: datetime,
    opd: str | None = "dinkes",
    service: str = "lapor",
    entity: str = "report",
    action: str = "updated",
) -> dict:
    """An envelope whose `data.sla` is built as the owning services build it."""
    return new_event(service, entity, action, subject=subject, opd=opd,
                     data={"sla": sla.instructions(*instructions)}, time=at).envelope()


def add_contact(client, admin_header, **body) -> dict:
    response = client.post("/api/v1/directory/contacts", json=body, headers=admin_header)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
