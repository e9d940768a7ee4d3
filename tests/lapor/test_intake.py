"""Intake through the API on SQLite and PostgreSQL: the submission and its refusals, the
reporter's view with the access token, and the lost token re-issued by e-mail."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from services.common.citizen import wait_detached
from services.lapor.models import HistoryEntry, Report, Reporter
from tests.lapor.support import DESA, KECAMATAN, PERSONAL_STRINGS, REPORT_BODY, WIB, lapor_staff


def test_a_submission_answers_number_token_and_verification_deadline(lapor):
    body = lapor.submit()
    assert re.fullmatch(r"LPR-2026-\d{6}", body["number"])
    assert len(body["access_token"]) >= 40
    assert body["status"] == "submitted"
    assert body["status_label"] == "Menunggu verifikasi"
    # Monday 2 March 2026 09:00: three working days end on Thursday 5 March.
    assert datetime.fromisoformat(body["due_at"]) == datetime(2026, 3, 5, 23, 59, 59, tzinfo=WIB)
    assert body["due_explanation"]["working_days"] == 3
    assert "3 hari kerja" in body["due_explanation"]["summary"]
    assert body["number"] in body["message"] and "hanya ditampilkan sekali" in body["message"]
    with lapor.rt.uow() as uow:
        report = uow.session.scalars(select(Report).where(Report.number == body["number"])).one()
        reporter = uow.session.get(Reporter, report.id)
        history = uow.session.scalars(select(HistoryEntry).where(HistoryEntry.report_id == report.id)).all()
    assert (report.kecamatan, report.desa, report.channel) == (KECAMATAN, DESA, "web")
    assert reporter.name == "Budi Santoso" and reporter.phone == "081277774321"
    assert [h.action for h in history] == ["submitted"]


def test_numbers_run_on_without_gaps(lapor):
    first = lapor.submit()["number"]
    second = lapor.submit()["number"]
    assert int(second[-6:]) == int(first[-6:]) + 1


def test_the_reporter_follows_the_report_with_the_token(lapor):
    submitted = lapor.submit(privacy="rahasia")
    view = lapor.view(submitted["number"], submitted["access_token"])
    assert view["number"] == submitted["number"]
    assert view["title"] == REPORT_BODY["title"]
    assert view["description"] == REPORT_BODY["description"]
    assert view["privacy"] == "rahasia"
    assert view["kecamatan_name"] == "Selat" and view["desa_name"] == "Murung Keramat"
    assert view["category_label"]
    assert view["national_status"] == "Belum diverifikasi"
    assert [h["action"] for h in view["history"]] == ["submitted"]
    assert view["messages"] == []
    # The reporter's own view names nobody: not even themselves.
    text = str(view)
    assert all(s not in text for s in PERSONAL_STRINGS)


def test_the_view_needs_the_right_token(lapor):
    submitted = lapor.submit()
    number = submitted["number"]
    missing = lapor.http.get(f"/api/v1/reports/{number}")
    assert missing.status_code == 401
    assert "X-Access-Token" in missing.get_json()["message"]
    wrong = lapor.citizen("GET", f"/api/v1/reports/{number}", "x" * 43)
    assert wrong.status_code == 403
    assert wrong.get_json()["message"] == "Token akses tidak sesuai untuk laporan ini."
    other = lapor.submit()
    assert lapor.citizen("GET", f"/api/v1/reports/{number}", other["access_token"]).status_code == 403
    unknown = lapor.citizen("GET", "/api/v1/reports/LPR-2026-999999", submitted["access_token"])
    assert unknown.status_code == 404
    assert lapor.citizen("GET", "/api/v1/reports/nonsense", submitted["access_token"]).status_code == 404


def test_every_problem_of_the_form_in_one_answer(lapor):
    response = lapor.http.post("/api/v1/reports", json={
        **REPORT_BODY, "classification": "keluhan", "category": "tidak_ada", "title": "",
        "privacy": "semua", "phone": None, "email": None, "kecamatan": "Atlantis",
        "incident_date": "2026-03-03",
    })
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) >= {"classification", "category", "title", "privacy", "phone", "email",
                           "kecamatan", "incident_date"}
    assert errors["category"] == ["Kategori tidak dikenal."]
    assert errors["incident_date"] == ["Tanggal kejadian tidak boleh setelah hari ini."]


def test_a_point_outside_the_regency_is_refused(lapor):
    # Palangka Raya, the provincial capital: in Central Kalimantan but not in Kapuas.
    response = lapor.http.post("/api/v1/reports", json={**REPORT_BODY, "latitude": -2.21, "longitude": 113.92})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["latitude"] == ["Lokasi berada di luar wilayah Kabupaten Kapuas."]
    assert lapor.http.post("/api/v1/reports", json={**REPORT_BODY, "latitude": None}).status_code == 422


def test_places_by_name_are_stored_as_codes_and_location_is_optional(lapor):
    body = lapor.submit(kecamatan="selat", desa="murung keramat", latitude=None, longitude=None)
    view = lapor.view(body["number"], body["access_token"])
    assert (view["kecamatan"], view["desa"], view["latitude"]) == (KECAMATAN, DESA, None)
    bare = lapor.submit(kecamatan=..., desa=..., latitude=..., longitude=..., address=...)
    assert lapor.view(bare["number"], bare["access_token"])["kecamatan"] is None


def test_unknown_fields_and_bad_phones_are_refused(lapor):
    response = lapor.http.post("/api/v1/reports", json={**REPORT_BODY, "nik": "6203015203900001"})
    assert response.status_code == 422 and response.get_json()["errors"]["nik"] == ["Isian tidak dikenal."]
    response = lapor.http.post("/api/v1/reports", json={**REPORT_BODY, "phone": "12345"})
    assert response.status_code == 422 and "phone" in response.get_json()["errors"]


def test_a_lost_token_is_reissued_to_the_reporters_address_only(lapor):
    submitted = lapor.submit()
    number = submitted["number"]
    for email in ("budi.santoso@example.org", "orang.lain@example.org"):
        response = lapor.http.post(f"/api/v1/reports/{number}/access-token", json={"email": email})
        assert response.status_code == 202
        assert "Bila nomor dan alamat" in response.get_json()["message"] or response.get_json()["message"]
    same = lapor.http.post("/api/v1/reports/LPR-2026-999999/access-token", json={"email": "a@example.org"})
    assert same.status_code == 202
    assert wait_detached(lapor.env.app)
    # Without SMTP no token is rotated: the old one keeps working.
    assert lapor.view(number, submitted["access_token"])["number"] == number


def test_staff_use_the_admin_view_not_the_citizen_one(lapor):
    submitted = lapor.submit()
    response = lapor.http.get(f"/api/v1/reports/{submitted['number']}", headers=lapor_staff())
    assert response.status_code == 401


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_attachments_come_with_the_submission_and_a_lie_refuses_it_whole(lapor):
    import base64

    good = {"filename": "lubang.png", "content_base64": base64.b64encode(_png()).decode()}
    body = lapor.submit(attachments=[good])
    view = lapor.view(body["number"], body["access_token"])
    assert [(a["filename"], a["content_type"], a["uploaded_by"]) for a in view["attachments"]] == [
        ("lubang.png", "image/png", "citizen")]
    lie = {"filename": "foto.jpg", "content_base64": base64.b64encode(b"MZ\x90\x00 not a picture").decode()}
    with lapor.rt.uow() as uow:
        before = uow.session.query(Report).count()
    response = lapor.http.post("/api/v1/reports", json={**REPORT_BODY, "attachments": [good, lie]})
    assert response.status_code == 422
    assert "attachments.1" in response.get_json()["errors"]
    too_many = lapor.http.post("/api/v1/reports", json={**REPORT_BODY, "attachments": [good] * 6})
    assert too_many.status_code == 422 and "attachments" in too_many.get_json()["errors"]
    with lapor.rt.uow() as uow:
        assert uow.session.query(Report).count() == before
