"""The admins' list and detail on SQLite and PostgreSQL: filters, search and pages without
personal data; the reporter's identity in the detail for the regency's admins only, every
read recorded."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from services.lapor.models import PersonalDataAccess, Report
from tests.lapor.support import LIAISON, PERSONAL_STRINGS, WIB, lapor_staff

LIST = "/api/v1/admin/reports"


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [row["number"] for row in response.get_json()]


def test_the_list_filters_searches_and_pages_without_personal_data(lapor):
    road = lapor.submit(title="Jembatan kayu Desa Sei Asam rusak parah", category="infrastruktur")["number"]
    school = lapor.submit(title="Atap ruang kelas SD bocor saat hujan", category="pendidikan",
                          classification="aspirasi", privacy="anonim")["number"]
    lapor.act(road, "verify", {})
    mine = {road, school}
    assert numbers(lapor.staff_get(f"{LIST}?q=jembatan sei")) [:1] == [road]
    assert school in numbers(lapor.staff_get(f"{LIST}?category=pendidikan"))
    assert road not in numbers(lapor.staff_get(f"{LIST}?category=pendidikan"))
    assert road in numbers(lapor.staff_get(f"{LIST}?status=verified"))
    assert school not in numbers(lapor.staff_get(f"{LIST}?status=verified"))
    assert school in numbers(lapor.staff_get(f"{LIST}?privacy=anonim&classification=aspirasi"))
    assert mine <= set(numbers(lapor.staff_get(f"{LIST}?kecamatan=62.03.01&submitted_from=2026-03-02&submitted_to=2026-03-02")))
    assert not mine & set(numbers(lapor.staff_get(f"{LIST}?submitted_from=2026-03-03")))
    # The reporter's identity is searched by no one.
    assert numbers(lapor.staff_get(f"{LIST}?q=Budi")) == []
    page = lapor.staff_get(f"{LIST}?page=1&page_size=1")
    assert len(page.get_json()) == 1 and json.loads(page.headers["X-Pagination"])["total"] >= 2
    body = lapor.staff_get(LIST).get_data(as_text=True)
    assert all(s not in body for s in PERSONAL_STRINGS)
    assert "description" not in lapor.staff_get(LIST).get_json()[0]


def test_overdue_lists_what_passed_its_verification_time(lapor):
    number = lapor.submit()["number"]
    lapor.clock.set(datetime(2026, 3, 6, 9, tzinfo=WIB))  # Friday: the Thursday deadline passed
    assert number in numbers(lapor.staff_get(f"{LIST}?overdue=true"))
    assert number not in numbers(lapor.staff_get(f"{LIST}?overdue=false"))


def test_bad_filters_are_422(lapor):
    for query in ("status=selesai", "page_size=0", "submitted_from=kemarin", "lead_opd=tidak_ada",
                  "q=" + "x" * 101):
        response = lapor.staff_get(f"{LIST}?{query}")
        assert response.status_code == 422, (query, response.get_json())


def test_only_regency_admins_use_the_admin_list_and_detail(lapor):
    number = lapor.submit()["number"]
    for headers in (lapor_staff(LIAISON, "dinkes"), lapor_staff("ppid_utama")):
        assert lapor.http.get(LIST, headers=headers).status_code == 403
        assert lapor.http.get(f"{LIST}/{number}", headers=headers).status_code == 403
    assert lapor.http.get(LIST).status_code == 401
    assert lapor.http.get(LIST, headers=lapor_staff("admin")).status_code == 200


def test_the_detail_shows_the_reporter_to_admins_and_records_each_read(lapor):
    submitted = lapor.submit(privacy="rahasia")
    number = submitted["number"]
    response = lapor.http.get(f"{LIST}/{number}", headers={
        **lapor_staff(sub="admin-kab-1", name="Rina Admin"), "X-Access-Reason": "Verifikasi laporan"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["reporter"] == {"name": "Budi Santoso", "name_withheld": False, "phone": "081277774321",
                                "email": "budi.santoso@example.org"}
    assert body["privacy"] == "rahasia" and response.headers["ETag"]
    no_reason = lapor_staff("admin", sub="sysadmin", reason=None)
    assert lapor.http.get(f"{LIST}/{number}", headers=no_reason).status_code == 200
    with lapor.rt.uow() as uow:
        report_id = uow.session.scalar(select(Report.id).where(Report.number == number))
        reads = uow.session.scalars(
            select(PersonalDataAccess).where(PersonalDataAccess.report_id == report_id).order_by(PersonalDataAccess.id)
        ).all()
        rows = [(r.actor_sub, r.actor_name, r.actor_roles, r.purpose, r.endpoint, r.reason) for r in reads]
    assert rows == [
        ("admin-kab-1", "Rina Admin", "lapor_admin", "view_reporter",
         "GET /api/v1/admin/reports/<string:number>", "Verifikasi laporan"),
        ("sysadmin", "Petugas admin", "admin", "view_reporter", "GET /api/v1/admin/reports/<string:number>", None),
    ]


def test_a_refused_read_records_nothing_and_steps_do_not_show_the_reporter(lapor):
    number = lapor.submit()["number"]
    assert lapor.http.get(f"{LIST}/{number}", headers=lapor_staff(LIAISON, "dinkes")).status_code == 403
    assert lapor.http.get(f"{LIST}/LPR-2026-999999", headers=lapor_staff()).status_code == 404
    verified = lapor.act(number, "verify", {})
    assert verified.get_json()["reporter"] is None
    with lapor.rt.uow() as uow:
        report_id = uow.session.scalar(select(Report.id).where(Report.number == number))
        count = uow.session.query(PersonalDataAccess).filter_by(report_id=report_id).count()
    # Only lapor.act's own ETag read (the detail) was recorded.
    assert count == 1


def test_an_anonim_reporters_name_is_hidden_from_the_admins_too(lapor):
    number = lapor.submit(privacy="anonim")["number"]
    reporter = lapor.staff_get(f"{LIST}/{number}").get_json()["reporter"]
    assert reporter == {"name": None, "name_withheld": True, "phone": "081277774321",
                        "email": "budi.santoso@example.org"}
