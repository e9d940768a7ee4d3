"""`python -m services.common.healthcheck`, the web containers' health check, against a real
chassis web app on a real database: ready once the database is migrated, live as soon as
the process answers, and the port found from the registry, WEB_BIND or PORT. With
`--worker`, the worker containers' check, against heartbeats in a real database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import MetaData, insert, update
from werkzeug.serving import make_server

from services.common import healthcheck
from services.common.calendar_sync import calendar_state_table
from services.common.db import make_engine
from services.common.heartbeat import (
    DISCONNECTED,
    OK,
    RELAY,
    STALE_SECONDS,
    STALLED,
    HeartbeatWriter,
    Part,
    heartbeat_table,
)
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


# -- `--worker`: the worker containers' check, from the heartbeats in the database -----------


@pytest.fixture
def worker_db(database_url):
    """A migrated service database with an outbox and heartbeats, as a worker sees it."""
    metadata = MetaData()
    outbox, _ = plumbing_tables(metadata)
    beats = heartbeat_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield SimpleNamespace(url=database_url, engine=engine, outbox=outbox, beats=beats)
    engine.dispose()


def check_worker(db, *args: str) -> subprocess.CompletedProcess:
    """The check as compose runs it, on this host, with the worker's own settings."""
    return run_check("ppid", "--worker", *args, SIMPUL_ENV="development", PPID_DATABASE_URL=db.url)


def beat(db, states: dict[str, str], *, instance: str | None = None, age: float = 0) -> None:
    """Heartbeats as the worker writes them; `age` seconds old."""
    writer = HeartbeatWriter(db.engine, db.beats, [Part(name, lambda s=s: s) for name, s in states.items()],
                             instance=instance)
    writer.beat()
    if age:
        with db.engine.begin() as conn:
            conn.execute(update(db.beats).where(db.beats.c.instance == writer.instance).values(
                beat_at=datetime.now(UTC) - timedelta(seconds=age)))


HERE = f"{socket.gethostname()}:4242"
PARTS = {RELAY: OK, "consumer:ppid.calendar": OK}


def test_a_worker_reporting_every_part_ok_is_healthy(worker_db):
    beat(worker_db, PARTS)  # this process: this host, another pid than the check's
    result = check_worker(worker_db)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["parts"]["consumer:ppid.calendar"]["state"] == OK


def test_a_worker_without_heartbeats_is_unhealthy(worker_db):
    result = check_worker(worker_db)
    assert result.returncode == 1
    assert "no heartbeat from a worker on" in result.stdout


def test_a_worker_whose_heartbeats_are_stale_is_unhealthy(worker_db):
    # A hung worker (or one killed with -9) stops writing; its last rows said ok.
    beat(worker_db, PARTS, instance=HERE, age=STALE_SECONDS + 5)
    assert check_worker(worker_db).returncode == 1


@pytest.mark.parametrize("part", [RELAY, "consumer:ppid.calendar"])
@pytest.mark.parametrize("state", [DISCONNECTED, STALLED])
def test_a_disconnected_or_stalled_part_makes_the_worker_unhealthy(worker_db, part, state):
    beat(worker_db, {**PARTS, part: state}, instance=HERE)
    result = check_worker(worker_db)
    assert result.returncode == 1
    assert json.loads(result.stdout)["parts"][part]["state"] == state


def test_only_this_hosts_worker_counts(worker_db):
    """Workers of other containers write to the same table: their health is not this one's."""
    beat(worker_db, PARTS, instance="another-container:7")
    assert check_worker(worker_db).returncode == 1
    beat(worker_db, {**PARTS, "consumer:ppid.calendar": DISCONNECTED}, instance="another-container:7")
    beat(worker_db, PARTS, instance=HERE)
    assert check_worker(worker_db).returncode == 0


def test_the_worker_that_wrote_last_on_this_host_is_the_one_running(worker_db):
    """A worker restarted in its container leaves its predecessor's rows for a while."""
    beat(worker_db, {**PARTS, RELAY: DISCONNECTED}, instance=f"{socket.gethostname()}:1", age=10)
    beat(worker_db, PARTS, instance=HERE)
    assert check_worker(worker_db).returncode == 0
    beat(worker_db, {**PARTS, RELAY: DISCONNECTED}, instance=f"{socket.gethostname()}:1")
    assert check_worker(worker_db).returncode == 1


def test_a_relay_standing_by_for_another_that_publishes_is_healthy(worker_db):
    """On PostgreSQL one relay publishes; the others hold no channel until it goes."""
    beat(worker_db, {**PARTS, RELAY: DISCONNECTED}, instance=HERE)
    assert check_worker(worker_db).returncode == 1, "no relay publishes at all"
    beat(worker_db, PARTS, instance="another-container:7")
    result = check_worker(worker_db)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["parts"][RELAY]["standby"] is True
    # A consumer has no such stand-in: every worker's consumers take their share.
    beat(worker_db, {RELAY: DISCONNECTED, "consumer:ppid.calendar": DISCONNECTED}, instance=HERE)
    assert check_worker(worker_db).returncode == 1


def test_a_stuck_outbox_makes_the_worker_unhealthy(worker_db):
    beat(worker_db, PARTS, instance=HERE)
    with worker_db.engine.begin() as conn:
        conn.execute(insert(worker_db.outbox).values(
            event_id="e1", routing_key="ppid.request.submitted.none", subject="requests/1",
            body="{}", created_at=datetime.now(UTC) - timedelta(seconds=120), attempts=0))
    result = check_worker(worker_db)
    assert result.returncode == 0, result.stdout  # under OUTBOX_STUCK_SECONDS (300)
    assert json.loads(result.stdout)["oldest_unsent_seconds"] >= 120
    result = run_check("ppid", "--worker", SIMPUL_ENV="development", PPID_DATABASE_URL=worker_db.url,
                       OUTBOX_STUCK_SECONDS="60")
    assert result.returncode == 1
    assert json.loads(result.stdout)["outbox"] == "stuck"


def test_an_unreachable_database_makes_the_worker_unhealthy(tmp_path):
    missing = SimpleNamespace(url=f"sqlite:///{tmp_path / 'none.db'}")
    result = check_worker(missing)
    assert result.returncode == 1
    assert "OperationalError" in result.stderr
