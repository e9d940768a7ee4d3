"""Helpers of the LAPOR! tests: a migrated database and app per backend, staff headers, and
a client that knows the report form. The fixtures in conftest.py build on them.

The staff headers are PPID's (tests.ppid.support): LAPOR! officers state why they open a
reporter's identity as PPID's do an applicant's.
"""

from __future__ import annotations

from types import SimpleNamespace

from services.lapor.app import create_app
from services.lapor.config import LaporSettings
from tests.ppid.support import T0, staff_headers  # noqa: F401 - re-exported for the LAPOR! tests
from tests.support import WIB, AppClient, build_service_env, service_backend_env  # noqa: F401 - WIB re-exported

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


class LaporClient(AppClient):
    """The Flask test client with the steps of a report spelled out."""

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


def backend_env(backend: str, tmp_path_factory, **env: str):
    """A migrated LAPOR! database and app on `backend` ("sqlite" or "postgresql") for a test
    module, disposed and dropped afterwards. `env` adds settings (SMTP, limits)."""
    return service_backend_env("lapor", build_env, backend, tmp_path_factory, **env)


def build_env(url: str, backend: str, **env: str) -> SimpleNamespace:
    return build_service_env("lapor", LaporSettings, create_app, url, backend, **env)
