"""Helpers of the SIBER tests: a migrated database and app per backend, staff headers, a
client that knows the newsroom's steps, and a shortcut to a published article.

The fixtures in conftest.py build on them; tests of publishing, feeds and statistics use
`SiberClient.published(...)` to put articles on the record at chosen instants.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from services.siber.app import create_app
from services.siber.config import SiberSettings
from services.siber.models import outbox
from tests.support import WIB, AppClient, bearer_headers, build_service_env, service_backend_env

# Monday 2 March 2026, 09:00 WIB: a plain working morning, office hours already begun.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
HUMAS, EDITOR, ADMIN, OPD_HEAD = "humas", "siber_editor", "admin", "opd_head"
API = "/api/v1"

ARTICLE_BODY: dict[str, Any] = {
    "title": "Dinkes Gelar Posyandu Serentak di Kuala Kapuas",
    "lead": "Dinas Kesehatan menggelar posyandu serentak di 17 kecamatan.",
    "body_html": "<p>Kegiatan dimulai pukul 08.00 WIB.</p><p>Sebanyak 1.200 balita ditimbang.</p>",
    "activity_date": "2026-03-02",
    "place": "Kuala Kapuas",
    "tags": ["kesehatan", "posyandu"],
}

# A bearer token of one staff member: `headers("humas", "dinkes")`, `headers("siber_editor")`.
headers = bearer_headers


class SiberClient(AppClient):
    """The Flask test client with the newsroom's steps spelled out."""

    def create(self, opd: str = "dinkes", expect: int = 201, **overrides) -> dict:
        body = {**ARTICLE_BODY, **overrides}
        body = {k: v for k, v in body.items() if v is not ...}
        response = self.http.post(f"{API}/articles", json=body, headers=headers(HUMAS, opd))
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def get(self, article_id: int, role: str = EDITOR, opd: str | None = None):
        return self.http.get(f"{API}/articles/{article_id}", headers=headers(role, opd))

    def etag(self, article_id: int) -> str:
        response = self.get(article_id)
        assert response.status_code == 200, response.get_json()
        return response.headers["ETag"]

    def update(self, article_id: int, body: dict, role: str = HUMAS, opd: str | None = "dinkes", *, etag: str | None = None):
        h = {**headers(role, opd), "If-Match": etag or self.etag(article_id)}
        return self.http.patch(f"{API}/articles/{article_id}", json=body, headers=h)

    def act(self, article_id: int, action: str, body: dict | None = None, role: str = EDITOR,
            opd: str | None = None, *, etag: str | None = None):
        """POST a workflow action (`submit`, `request-revision`, …) with the current ETag."""
        h = {**headers(role, opd), "If-Match": etag or self.etag(article_id)}
        return self.http.post(f"{API}/articles/{article_id}/{action}", json=body or {}, headers=h)

    def submit(self, article_id: int, opd: str = "dinkes"):
        response = self.act(article_id, "submit", role=HUMAS, opd=opd)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def published(self, opd: str = "dinkes", *, at: datetime | None = None, submitted_at: datetime | None = None,
                  **overrides) -> dict:
        """An article written, submitted and published by the API; `submitted_at` and `at`
        stand the clock at those instants for the two steps (the clock stays at `at`)."""
        if submitted_at or at:
            self.clock.set(submitted_at or at)
        article = self.create(opd, **overrides)
        self.submit(article["id"], opd)
        if at:
            self.clock.set(at)
        response = self.act(article["id"], "publish")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def events(self) -> list[dict]:
        """Every envelope in the outbox, oldest first."""
        with self.rt.engine.connect() as conn:
            return [json.loads(b) for b in conn.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars()]

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.events()]


def backend_env(backend: str, tmp_path_factory, **env: str):
    """A migrated SIBER database and app on `backend` ("sqlite" or "postgresql") for a test
    module, disposed and dropped afterwards; `env` adds settings."""
    env.setdefault("SIBER_FILES_URL", str(tmp_path_factory.mktemp("siber-files")))
    return service_backend_env("siber", build_env, backend, tmp_path_factory, **env)


def build_env(url: str, backend: str, **env: str) -> SimpleNamespace:
    return build_service_env("siber", SiberSettings, create_app, url, backend, **env)
