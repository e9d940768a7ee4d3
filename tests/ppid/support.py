"""Helpers of the PPID tests: a clock the tests can set, staff tokens, databases, and a
client that knows the request form. The fixtures in conftest.py build on them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import requests

from services.common.migrations import upgrade
from services.ppid.app import create_app
from services.ppid.config import PpidSettings
from tests.conftest import (  # noqa: F401 - the PPID tests take AMQP_URL, drop_pg_database here
    AMQP_URL,
    ROOT,
    create_pg_database,
    drop_pg_database,
    free_port,
    pg_url_for,
)
from tests.support import WIB, AppClient, bearer_headers, build_service_env, service_backend_env

# Monday 2 March 2026, 09:00 WIB: a plain working morning. Day 10 is Monday 16 March.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)

# 6203 = Kabupaten Kapuas; born 12-03-1990 (a woman: 12 + 40 = 52); serial 0001.
NIK = "6203015203900001"
REQUEST_BODY = {
    "identity_type": "nik",
    "identity_number": NIK,
    "name": "Siti Rahmawati",
    "address": "Jl. Tambun Bungai No. 12, Kuala Kapuas",
    "phone": "0812-5555-1234",
    "email": "siti.rahmawati@example.org",
    "occupation": "Peneliti",
    "information": "Salinan laporan realisasi anggaran Dinas Kesehatan tahun 2025.",
    "purpose": "Bahan kajian lembaga swadaya masyarakat tentang layanan kesehatan.",
    "obtain_method": "soft_copy",
    "delivery_method": "email",
}
PERSONAL_STRINGS = (NIK, "Siti Rahmawati", "Tambun Bungai", "55551234", "siti.rahmawati")

UTAMA, PELAKSANA, ATASAN = "ppid_utama", "ppid_pelaksana", "atasan_ppid"


# Staff clients state why they open an applicant's personal data with every request, as the
# regency's desk application does; tests of that rule pass `reason=None`.
STAFF_REASON = "Menindaklanjuti permohonan"


def staff_headers(role: str, opd: str | None = None, *, sub: str | None = None, name: str | None = None,
                  reason: str | None = STAFF_REASON) -> dict:
    headers = bearer_headers(role, opd, sub=sub, name=name)
    if reason is not None:
        headers["X-Access-Reason"] = reason
    return headers


class PpidClient(AppClient):
    """The Flask test client with the steps of a request spelled out."""

    def submit(self, expect: int = 201, **overrides) -> dict:
        body = {**REQUEST_BODY, **overrides}
        body = {k: v for k, v in body.items() if v is not ...}
        response = self.http.post("/api/v1/requests", json=body)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def staff_get(self, path: str, role: str = UTAMA, opd: str | None = None, **kwargs):
        return self.http.get(path, headers=staff_headers(role, opd), **kwargs)

    def etag(self, path: str) -> str:
        response = self.staff_get(path)
        assert response.status_code == 200, response.get_json()
        return response.headers["ETag"]

    def act(self, path: str, body: dict, role: str = UTAMA, opd: str | None = None, *, etag_of: str | None = None, etag: str | None = None):
        """POST a staff action with the current ETag of `etag_of` (or an explicit one)."""
        headers = staff_headers(role, opd)
        if etag is None and etag_of is not None:
            etag = self.etag(etag_of)
        if etag is not None:
            headers["If-Match"] = etag
        return self.http.post(path, json=body, headers=headers)

    def citizen(self, method: str, path: str, token: str, **kwargs):
        return self.http.open(path, method=method, headers={"X-Access-Token": token}, **kwargs)

    def assign(self, number: str, opd: str):
        path = f"/api/v1/requests/{number}"
        return self.act(f"{path}/assignment", {"opd": opd}, etag_of=path)

    def notice(self, number: str, body: dict | None = None, role: str = UTAMA, opd: str | None = None):
        path = f"/api/v1/requests/{number}"
        body = body or {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}
        return self.act(f"{path}/notice", body, role, opd, etag_of=path)

    def stored(self, number: str) -> dict:
        """The staff view, for asserting that a refused change left the record alone."""
        response = self.staff_get(f"/api/v1/requests/{number}")
        assert response.status_code == 200
        body = response.get_json()
        body.pop("working_days_left", None)
        return body


def new_pg_database() -> str:
    return create_pg_database("simpul_ppid")


pg_database_url = pg_url_for


def backend_env(backend: str, tmp_path_factory, **env: str):
    """A migrated PPID database and app on `backend` ("sqlite" or "postgresql") for a test
    module, disposed and dropped afterwards. `env` adds settings (SMTP, tracking link)."""
    return service_backend_env("ppid", build_env, backend, tmp_path_factory, **env)


@contextmanager
def ppid_web_process(work: Path, **env: str) -> Iterator[SimpleNamespace]:
    """`python -m services.ppid web` on a migrated SQLite file under `work`, as `make run`
    starts it, once /healthz answers; yields its base URL, port, database URL and log file."""
    url = f"sqlite:///{work / 'ppid.db'}"
    upgrade("ppid", url)
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
        "SIMPUL_ENV": "development",
        "PPID_DATABASE_URL": url,
        "WEB_CONCURRENCY": "1",
        **env,
    }
    log_path = work / "web.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "services.ppid", "web", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.3)
            yield SimpleNamespace(base=base, port=port, url=url, log=log_path)
        finally:
            process.terminate()
            process.wait(timeout=20)


def build_env(url: str, backend: str, **env: str) -> SimpleNamespace:
    return build_service_env("ppid", PpidSettings, create_app, url, backend, **env)
