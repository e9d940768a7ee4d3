"""Fixtures for the real components the tests talk to: PostgreSQL, SQLite, RabbitMQ."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pika
import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Published specifications the tests validate against, kept in the repository (see its README).
SCHEMAS = ROOT / "tests" / "data" / "schemas"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def free_port() -> int:
    """A loopback port free right now, for a test server to listen on next."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_url_for(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


def create_pg_database(prefix: str = "simpul_test", *, template: str | None = None) -> str:
    """A new PostgreSQL database with a unique name (a copy of `template` if given)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return name


def drop_pg_database(*names: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_pg_database():
    """Creates fresh PostgreSQL databases and drops them after the test."""
    created: list[str] = []

    def make(prefix: str = "simpul_test") -> str:
        created.append(create_pg_database(prefix))
        return pg_url_for(created[-1])

    yield make
    drop_pg_database(*created)


@pytest.fixture
def pg_url(make_pg_database) -> str:
    return make_pg_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, make_pg_database) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return make_pg_database()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except pika.exceptions.AMQPError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"RabbitMQ is not reachable at {AMQP_URL}: {exc!r}")
    return AMQP_URL


@pytest.fixture
def unique():
    """A short unique suffix for queue and exchange names of one test."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    return SCHEMAS


@pytest.fixture
def make_settings():
    """Settings for a service under test, as its processes would read them from the env."""
    return service_settings


def service_settings(settings_class, service: str, database_url: str, **env: str):
    """`make_settings` for helpers that are not fixtures (module-scoped apps)."""
    environ = {
        "SIMPUL_ENV": "development",
        f"{service.upper()}_DATABASE_URL": database_url,
        "AMQP_URL": AMQP_URL,
        "PUBLIC_RATE_LIMIT": "100000/minute",
        **env,
    }
    return settings_class.from_env(service, environ)


@pytest.fixture(scope="session")
def make_token():
    """Signs a staff JWT the way the development identity provider would."""
    from services.common.auth import mint_token
    from services.common.settings import Settings

    config = Settings.from_env("test", {"SIMPUL_ENV": "development"})

    def make(*roles: str, opd: str | None = None, sub: str = "tester", name: str | None = None):
        return mint_token(config, sub=sub, roles=list(roles), opd=opd, name=name)

    return make


@pytest.fixture(scope="session")
def auth_header(make_token):
    def make(*roles: str, opd: str | None = None, sub: str = "tester") -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(*roles, opd=opd, sub=sub)}"}

    return make


@pytest.fixture(scope="session")
def close_broker_connections():
    """Has the broker itself close the connections a client named `connection_name`.

    Only those connections: other users of the shared broker are left alone. Returns how
    many were closed; skips the test where `rabbitmqctl` is not available.
    """
    import shutil
    import subprocess

    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available on this host")

    def close(connection_name: str) -> int:
        listing = subprocess.run(
            ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pids = [
            line.split("\t", 1)[0]
            for line in listing.splitlines()
            if f'"connection_name","{connection_name}"' in line
        ]
        for pid in pids:
            subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", pid, "test disruption"],
                capture_output=True,
                check=True,
            )
        return len(pids)

    return close



@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server for a test module's mail; `smtp_env(smtp, sender)` points a
    service at it (tests/common/smtp_support.py)."""
    from tests.common.smtp_support import smtp_server

    with smtp_server() as sink:
        yield sink

def schema_validator(schema: dict, *, check_formats: bool = True):
    """The jsonschema validator for the draft a schema names in `$schema`.

    jsonschema recognises the drafts by their `http://` identifiers only; the Compose
    Specification writes `https://`, so the scheme is normalised before the look-up.
    """
    from jsonschema.validators import validator_for

    named = str(schema.get("$schema", "")).replace("https://", "http://", 1)
    cls = validator_for({"$schema": named}, default=None)
    if cls is None:
        raise AssertionError(f"no validator for $schema {schema.get('$schema')!r}")
    return cls(schema, format_checker=cls.FORMAT_CHECKER if check_formats else None)
