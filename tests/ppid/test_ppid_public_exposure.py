"""What PPID shows without a login, and to whom: limits on every public read, tokens of an
unknown OPD, CSV a spreadsheet cannot run, public subject lines that name no one."""

from __future__ import annotations

import csv
import io

import pytest

from services.ppid import domain
from tests.ppid.support import (
    REQUEST_BODY,
    T0,
    PpidClient,
    build_env,
    staff_headers,
)
from tests.support import unauthenticated_views

PELAKSANA, UTAMA = domain.PELAKSANA, domain.UTAMA


@pytest.fixture
def limited(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'public.db'}", "sqlite", PUBLIC_RATE_LIMIT="3/minute")
    env.clock.set(T0)
    yield env
    env.rt.dispose()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/public/requests", 200),
        ("/api/v1/dip", 200),
        ("/api/v1/dip/categories", 200),
        ("/api/v1/dip/999", 404),
        ("/api/v1/dip?q=anggaran", 200),
    ],
)
def test_public_reads_are_rate_limited(limited, path, status):
    codes = [limited.client.get(path).status_code for _ in range(5)]
    assert codes == [status] * 3 + [429] * 2
    refused = limited.client.get(path)
    assert "Retry-After" in refused.headers and refused.get_json()["code"] == 429
    # An office of staff behind one address is not throttled.
    staff = [limited.client.get(path, headers=staff_headers(UTAMA)).status_code for _ in range(5)]
    assert staff == [status] * 5


def test_every_endpoint_reached_without_a_login_is_rate_limited(limited):
    public = list(unauthenticated_views(limited.app))
    assert ("/api/v1/public/requests", "GET") in {(r, m) for r, m, _ in public}
    unlimited = [(r, m) for r, m, f in public if not getattr(f, "rate_limited", False)]
    assert unlimited == []


def test_a_token_naming_an_opd_outside_the_directory_registers_nothing(limited):
    stranger = staff_headers(PELAKSANA, "nosuchopd")
    letter = REQUEST_BODY | {"channel": "letter", "submitted_at": "2026-03-02T08:30:00+07:00"}
    refused = limited.client.post("/api/v1/requests/offline", json=letter, headers=stranger)
    assert refused.status_code == 403
    assert refused.get_json()["message"] == (
        "OPD pada token tidak terdaftar di direktori OPD; minta admin memperbaiki akun Anda."
    )
    assert limited.client.get("/api/v1/requests", headers=stranger).status_code == 403
    listed = limited.client.get("/api/v1/requests", headers=staff_headers(UTAMA))
    assert listed.status_code == 200 and listed.get_json() == []


@pytest.fixture
def ppid_app(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'exposure.db'}", "sqlite")
    env.clock.set(T0)
    yield PpidClient(env)
    env.rt.dispose()


def test_the_register_csv_runs_no_formula_after_a_semicolon_and_keeps_phone_numbers(ppid_app):
    ppid_app.submit(occupation='Guru;=HYPERLINK("http://x";"klik")', requested_opd="dinkes")
    response = ppid_app.http.get("/api/v1/registers/requests?date_from=2026-01-01&format=csv",
                                 headers=staff_headers(UTAMA))
    assert response.status_code == 200, response.get_json()
    text = response.data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    header, row = table[0], table[1]
    assert row[header.index("Pekerjaan")] == 'Guru;\'=HYPERLINK("http://x";"klik")'
    assert row[header.index("Nomor Telepon")] == "+6281255551234"
    # Read as an Indonesian spreadsheet reads it, split on `;`: no cell is a formula.
    for line in csv.reader(io.StringIO(text), delimiter=";"):
        for cell in line:
            assert not cell.lstrip(' "').startswith(("=", "@")), cell


@pytest.mark.parametrize(
    "subject",
    [
        "Permohonan NIK 6203/0152/0390/0001",
        "Permohonan NIK 6203_0152_0390_0001",
        "Hubungi 0812 5555 1234",
        "Balas ke siti (at) example.org",
        "Balas ke siti[at]example[dot]org",
    ],
)
def test_a_public_subject_line_with_disguised_personal_data_is_refused(ppid_app, subject):
    number = ppid_app.submit(requested_opd="dinkes")["number"]
    refused = ppid_app.http.put(f"/api/v1/public/requests/{number}/subject", json={"subject": subject},
                                headers=staff_headers(UTAMA))
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"]["subject"]
    assert ppid_app.http.get("/api/v1/public/requests").get_json()[0]["subject"] != subject


def test_a_subject_line_published_before_the_filter_knew_its_disguise_is_withheld(ppid_app):
    from services.ppid.dip_models import PublicSubject
    from services.ppid.models import Request

    number = ppid_app.submit(requested_opd="dinkes")["number"]
    rt = ppid_app.env.rt
    with rt.uow() as uow:
        request_id = uow.session.query(Request.id).filter(Request.number == number).scalar()
        uow.session.add(PublicSubject(request_id=request_id, subject="Kontak 0812_5555_1234",
                                      set_at=T0, set_by="ppid_utama-kab"))
        uow.commit()
    listed = ppid_app.http.get("/api/v1/public/requests").get_json()
    assert [(r["number"], r["subject"]) for r in listed] == [(number, None)]
