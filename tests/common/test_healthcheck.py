"""`python -m services.common.healthcheck`, the web containers' health check, against a real
chassis web app on a real database: ready once the database is migrated, live as soon as
the process answers, and the port found from the registry, WEB_BIND or PORT."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import MetaData
from werkzeug.serving import make_server

from services.common import healthcheck
from services.common.calendar_sync import calendar_state_table
from services.common.heartbeat import heartbeat_table
from services.common.http import create_flask_app
from services.common.outbox import plumbing_tables
from tests.conftest import ROOT, free_port


def _metadata(*, heartbeats: bool = False) -> MetaData:
    metadata = MetaData()
    plumbing_tables(metadata)
    calendar_state_table(metadata)
    if heartbeats:
        heartbeat_table(metadata)
    return metadata


@pytest.fixture
def serve(make_chassis_runtime, database_url):
    """Serves a throwaway chassis app on a free port; `migrated=False` leaves its database
    empty, as a container is before `migrate` has run."""
    servers = []

    def start(*, migrated: bool = True, heartbeats: bool = False) -> int:
        rt = make_chassis_runtime(_metadata(heartbeats=heartbeats), database_url, migrated=migrated)
        app = create_flask_app(rt, title="Test", description="test", blueprints=[])
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.shutdown()


def run_check(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "WEB_BIND")}
    return subprocess.run(
        [sys.executable, "-m", "services.common.healthcheck", *args],
        cwd=ROOT, env={**environ, **env}, capture_output=True, text=True, timeout=60,
    )


def test_a_migrated_service_is_healthy(serve):
    port = serve()
    assert run_check(PORT=str(port)).returncode == 0
    assert run_check("--live", PORT=str(port)).returncode == 0


def test_before_its_migrations_a_service_is_live_but_not_ready(serve):
    port = serve(migrated=False)
    assert run_check(PORT=str(port)).returncode == 1
    assert run_check("--live", PORT=str(port)).returncode == 0


def test_a_web_waiting_for_its_worker_is_healthy_though_not_yet_ready(serve):
    """compose starts the worker once the web is healthy: the check must not wait for the
    heartbeats only the worker writes."""
    port = serve(heartbeats=True)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as live:
        assert live.status == 200
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz")
        raise AssertionError("/readyz must be 503 without a worker")
    except urllib.error.HTTPError as exc:
        assert exc.code == 503
    assert run_check(PORT=str(port)).returncode == 0


def test_nothing_listening_is_unhealthy():
    port = free_port()
    assert run_check(PORT=str(port)).returncode == 1
    assert run_check("--live", PORT=str(port)).returncode == 1


def test_a_named_service_is_checked_on_its_own_port(serve):
    port = serve()
    # WEB_BIND moves the service off its registered port: the check follows it.
    assert run_check("ppid", WEB_BIND=f"0.0.0.0:{port}").returncode == 0
    assert healthcheck.port_of("ppid", {}) == 8001
    assert healthcheck.port_of("notifier", {"PORT": "5100"}) == 8004, "honcho's PORT is not it"
    assert healthcheck.port_of(None, {"PORT": "5100"}) == 5100


def test_an_unknown_service_is_refused_by_name():
    result = run_check("nosuchservice")
    assert result.returncode == 1
    assert "'nosuchservice' is not in config/services.json" in result.stderr
