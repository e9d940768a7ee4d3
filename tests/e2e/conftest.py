"""The real system: gunicorn web processes and workers, as `make run` starts them.

Each service gets a fresh PostgreSQL database; RabbitMQ is the machine's; outgoing mail
goes to a real SMTP server (aiosmtpd) and webhooks to a real HTTP receiver, both on
loopback. Queues the workers declare are purged before and deleted after, so the run
neither sees nor leaves stale messages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
import requests
from aiosmtpd.controller import Controller

from tests.conftest import create_pg_database, drop_pg_database, free_port, pg_url_for

ROOT = Path(__file__).resolve().parents[2]


class MailBox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[dict] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.messages.append(
                {"to": list(envelope.rcpt_tos), "data": envelope.content.decode("utf-8", "replace")}
            )
        return "250 OK"

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.messages)


class Receiver:
    """An OPD system's webhook endpoint: records what it is sent and answers 200."""

    def __init__(self):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class System:
    def __init__(self, env: dict[str, str], ports: dict[str, int], logs: Path):
        self.env = env
        self.ports = ports
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def run(self, service: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", f"services.{service}", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120, check=check,
        )

    def start(self, service: str, role: str) -> None:
        args = ["web", "--bind", f"127.0.0.1:{self.ports[service]}"] if role == "web" else ["worker"]
        log = open(self.logs / f"{service}-{role}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", f"services.{service}", *args],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        )

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url(service) + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{service} web did not become ready; see {self.logs}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def eventually(check, timeout: float = 30.0, interval: float = 0.3):
    """Polls `check()` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


@contextmanager
def own_vhost(amqp_url: str, label: str) -> Iterator[str]:
    """The URL of a virtual host of its own on the machine's broker, deleted afterwards:
    other tests publish events with the same case numbers, which this notifier must not hear."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available on this host")
    name = f"simpul_e2e_{label}_{uuid.uuid4().hex[:8]}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, check=True, timeout=60)  # noqa: S603, S607

    ctl("add_vhost", name)
    try:
        ctl("set_permissions", "-p", name, unquote(urlsplit(amqp_url).username or "guest"), ".*", ".*", ".*")
        yield urlunsplit(urlsplit(amqp_url)._replace(path=f"/{name}"))
    finally:
        ctl("delete_vhost", name)


@contextmanager
def running_system(work: Path, services: list[str], amqp_url: str, *, ready_timeout: float = 120,
                   **env: str) -> Iterator[System]:
    """`services` migrated on fresh PostgreSQL databases, their web and worker processes
    started and ready, with a real SMTP server and webhook receiver on loopback; `env` adds
    or overrides settings. Everything is stopped and dropped afterwards."""
    databases = {s: create_pg_database(f"simpul_e2e_{s}") for s in services}
    mailbox = MailBox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver = Receiver()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
        "SIMPUL_ENV": "development",
        "AMQP_URL": amqp_url,
        "PUBLIC_RATE_LIMIT": "1000/minute",
        "WEB_CONCURRENCY": "1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "NOTIFIER_TICK_SECONDS": "3600",
        "RELAY_POLL_MS": "50",
        **env,
        **{f"{s.upper()}_DATABASE_URL": pg_url_for(db) for s, db in databases.items()},
    }
    system = System(environ, {s: free_port() for s in services}, work)
    system.mailbox, system.receiver = mailbox, receiver
    try:
        for service in services:
            result = system.run(service, "migrate", check=False)
            assert result.returncode == 0, result.stderr[-3000:]
        for service in services:
            system.start(service, "web")
            system.start(service, "worker")
        for service in services:
            try:
                system.wait_ready(service, timeout=ready_timeout)
            except AssertionError:
                pytest.fail(f"{service} did not become ready\n" + dump_logs(system))
        yield system
    finally:
        system.stop()
        smtp.stop()
        receiver.close()
        drop_pg_database(*databases.values())


@pytest.fixture(scope="module")
def system(tmp_path_factory, amqp_url):
    with own_vhost(amqp_url, "ppid") as vhost_url, running_system(
        tmp_path_factory.mktemp("e2e"), ["ppid", "notifier"], vhost_url, ready_timeout=60,
        WEB_CONCURRENCY="2",
        NOTIFIER_WEBHOOK_ALLOW_PRIVATE="1",
        # The scenario backdates a walk-in request to March, as when paper records of the
        # year are entered late; the default allows 60 days.
        PPID_OFFLINE_MAX_AGE_DAYS="400",
    ) as running:
        yield running


def dump_logs(system: System) -> str:
    """The processes' logs and each outbox's state, for a failure message."""
    import psycopg

    parts = [f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(system.logs.glob("*.log"))]
    for service in system.ports:
        url = system.env[f"{service.upper()}_DATABASE_URL"]
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT routing_key, published_at IS NOT NULL, attempts FROM outbox ORDER BY id"
            ).fetchall()
        parts.append(f"--- {service} outbox (routing key, sent, attempts)\n{rows}")
    return "\n".join(parts)


__all__ = ["System", "eventually", "dump_logs", "json", "own_vhost", "running_system"]
