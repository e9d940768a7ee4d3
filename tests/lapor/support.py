"""Helpers of the LAPOR! tests: a migrated database and app per backend, staff headers, and
a client that knows the report form. The fixtures in conftest.py build on them.

The clock and the staff tokens are PPID's test helpers (tests.ppid.support): one way to
stand an app on a chosen date and to mint a token for every service's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from services.common.migrations import upgrade
from services.lapor.app import create_app
from services.lapor.config import LaporSettings
from tests.conftest import create_pg_database, drop_pg_database, pg_url_for, service_settings
from tests.ppid.support import T0, WIB, Clock, staff_headers  # noqa: F401 - re-exported for the LAPOR! tests

LAPOR_ADMIN, LIAISON, ADMIN = "lapor_admin", "lapor_liaison", "admin"

# A point in Kuala Kapuas, in kecamatan Selat, kelurahan Murung Keramat.
KECAMATAN, DESA = "62.03.01", "62.03.01.1006"
LATITUDE, LONGITUDE = -3.0, 114.39

REPORT_BODY = {
    "classification": "pengaduan",
    "category": "infrastruktur",
    "title": "Jalan berlubang di depan pasar",
    "description": "Lubang besar di badan jalan depan pasar sudah sebulan tidak diperbaiki.",
    "incident_date": "2026-02-27",
    "latitude": LATITUDE,
    "longitude": LONGITUDE,
    "address": "Jl. Pemuda depan Pasar Kapuas",
    "kecamatan": KECAMATAN,
    "desa": DESA,
    "privacy": "public",
    "name": "Budi Santoso",
    "phone": "0812-7777-4321",
    "email": "budi.santoso@example.org",
}
# What must never appear in an event, a log line or a liaison's view of an anonim report.
PERSONAL_STRINGS = ("Budi Santoso", "77774321", "7777-4321", "budi.santoso")


def lapor_staff(role: str = LAPOR_ADMIN, opd: str | None = None, **kwargs) -> dict:
    """Headers of a LAPOR! officer: an admin (regency-level) or an OPD's liaison."""
    return staff_headers(role, opd, **kwargs)


def submit_report(client, expect: int = 201, **overrides) -> dict:
    """POST a report (REPORT_BODY with `overrides`; `...` drops a field); its 201 body."""
    body = {**REPORT_BODY, **overrides}
    body = {k: v for k, v in body.items() if v is not ...}
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


class LaporClient:
    """The Flask test client with the steps of a report spelled out."""

    def __init__(self, env: SimpleNamespace):
        self.env = env
        self.http = env.client
        self.clock = env.clock
        self.rt = env.rt

    def submit(self, expect: int = 201, **overrides) -> dict:
        return submit_report(self.http, expect, **overrides)

    def staff_get(self, path: str, role: str = LAPOR_ADMIN, opd: str | None = None, **kwargs):
        return self.http.get(path, headers=lapor_staff(role, opd), **kwargs)

    def etag(self, number: str) -> str:
        response = self.staff_get(f"/api/v1/admin/reports/{number}")
        assert response.status_code == 200, response.get_json()
        return response.headers["ETag"]

    def act(self, number: str, action: str, body: dict | None = None, role: str = LAPOR_ADMIN,
            opd: str | None = None, *, etag: str | None = None):
        """POST an admin action on a report with its current ETag (or the given one)."""
        headers = lapor_staff(role, opd)
        headers["If-Match"] = etag if etag is not None else self.etag(number)
        return self.http.post(f"/api/v1/admin/reports/{number}/{action}", json=body or {}, headers=headers)

    def citizen(self, method: str, path: str, token: str, **kwargs):
        return self.http.open(path, method=method, headers={"X-Access-Token": token}, **kwargs)

    def view(self, number: str, token: str) -> dict:
        response = self.citizen("GET", f"/api/v1/reports/{number}", token)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def new_pg_database() -> str:
    return create_pg_database("simpul_lapor")


@contextmanager
def backend_env(backend: str, tmp_path_factory, **env: str) -> Iterator[SimpleNamespace]:
    """A migrated LAPOR! database and app on `backend` ("sqlite" or "postgresql") for a test
    module, disposed and dropped afterwards. `env` adds settings (SMTP, limits)."""
    name = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('lapor') / 'lapor.db'}"
    else:
        name = new_pg_database()
        url = pg_url_for(name)
    built = build_env(url, backend, **env)
    try:
        yield built
    finally:
        built.rt.dispose()
        if name:
            drop_pg_database(name)


def build_env(url: str, backend: str, **env: str) -> SimpleNamespace:
    upgrade("lapor", url)
    settings = service_settings(LaporSettings, "lapor", url, **env)
    clock = Clock()
    app = create_app(settings, clock=clock)
    return SimpleNamespace(
        app=app, client=app.test_client(), rt=app.extensions["simpul"], clock=clock, url=url, backend=backend
    )
