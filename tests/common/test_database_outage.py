"""A web process while its PostgreSQL refuses connections: alive, and honest about it."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from services.common.http import DATABASE_RETRY_AFTER_SECONDS, create_flask_app
from tests.common.test_http import blp, metadata
from tests.conftest import PG_ADMIN_URL


def _allow_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


@pytest.fixture
def outage(pg_url, make_chassis_runtime):
    """An app on a real database, and a switch that makes that database unreachable."""
    rt = make_chassis_runtime(metadata, pg_url)
    app = create_flask_app(rt, title="Test", description="test", blueprints=[blp])
    database = pg_url.rsplit("/", 1)[1]

    def cut() -> None:
        _allow_connections(database, False)
        rt.engine.dispose()
        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal proves the cut
            with rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

    yield app, cut
    _allow_connections(database, True)


def test_liveness_does_not_depend_on_the_database(outage):
    app, cut = outage
    cut()
    client = app.test_client()
    # The calendar refresh is due on the first request: it must not run for liveness.
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"].startswith("error")
    assert client.get("/openapi.json").status_code == 200


def test_requests_needing_the_database_get_503_with_retry_after(outage):
    app, cut = outage
    client = app.test_client()
    assert client.post("/api/v1/things", json={"name": "before"}).status_code == 201
    cut()
    for response in (
        client.post("/api/v1/things", json={"name": "during"}),
        client.get("/api/v1/things"),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
        body = response.get_json()
        assert body["code"] == 503 and body["status"] == "Service Unavailable"
        assert "basis data" in body["message"]
