"""The SP4N-LAPOR! import: idempotent on the tracking id, per-item errors in Indonesian,
unknown categories under `lainnya`, through the admin endpoint and the operator's command."""

from __future__ import annotations

import json
from argparse import Namespace
from uuid import uuid4

import pytest
from sqlalchemy import select

from services.common.errors import Conflict
from services.lapor.models import HistoryEntry, Report, Reporter, outbox
from services.lapor.national_import import check_national_id, run_command
from tests.lapor.support import LAPOR_ADMIN, LIAISON, lapor_staff

ENDPOINT = "/api/v1/imports/national"


def national(tracking_id, **overrides) -> dict:
    item = {
        "tracking_id": tracking_id,
        "submitted_at": "2026-02-27T10:15:00+07:00",
        "incident_date": "2026-02-25",
        "classification": "Pengaduan",
        "category": "Kesehatan",
        "title": "Puskesmas tutup pada jam layanan",
        "description": "Puskesmas di desa kami tutup pukul 10 pagi padahal jadwalnya sampai 14.",
        "location": {"latitude": -2.58, "longitude": 114.43, "kecamatan": "Mantangai",
                     "desa": "Mantangai Hilir", "address": "Jl. Puskesmas"},
        "privacy": "Anonim",
        "status": "Belum diverifikasi",
        # Fields the import ignores: the national system keeps the reporter's identity.
        "reporter": {"name": "Siti Aminah", "phone": "081299998888"},
        "agency": "Pemerintah Kabupaten Kapuas",
    }
    item.update(overrides)
    return item


def fresh_id() -> str:
    return f"NAS-{uuid4().hex[:12]}"


def post(lapor, body, role=LAPOR_ADMIN, opd=None):
    return lapor.http.post(ENDPOINT, json=body, headers=lapor_staff(role, opd))


def by_index(summary):
    return {item["index"]: item for item in summary["items"]}


def test_an_export_is_imported_once_and_again_creates_nothing(lapor):
    ids = [fresh_id() for _ in range(3)]
    body = {"exported_at": "2026-03-01T08:00:00+07:00", "reports": [
        national(ids[0]),
        national(ids[1], category="Pariwisata", privacy="publik", location=None),
        national(ids[2], classification="Permintaan Informasi", privacy="Rahasia",
                 category="air bersih"),
    ]}
    first = post(lapor, body)
    assert first.status_code == 200, first.get_json()
    summary = first.get_json()
    assert (summary["created"], summary["skipped"], summary["invalid"]) == (3, 0, 0)
    numbers = [item["number"] for item in summary["items"]]
    assert all(n.startswith("LPR-2026-") for n in numbers)

    again = post(lapor, body).get_json()
    assert (again["created"], again["skipped"], again["invalid"]) == (0, 3, 0)
    assert [item["number"] for item in again["items"]] == numbers
    assert all(item["message"].startswith("Sudah ada") for item in again["items"])

    with lapor.rt.uow() as uow:
        rows = {r.national_id: r for r in uow.session.scalars(
            select(Report).where(Report.national_id.in_(ids)))}
        assert len(rows) == 3
        first_row = rows[ids[0]]
        assert (first_row.channel, first_row.status, first_row.category, first_row.privacy) == (
            "national", "submitted", "kesehatan", "anonim")
        assert (first_row.kecamatan, first_row.desa) == ("62.03.09", "62.03.09.2006")
        assert first_row.verification_due_at > first_row.submitted_at
        assert rows[ids[1]].category == "lainnya" and rows[ids[1]].latitude is None
        assert rows[ids[2]].classification == "permintaan_informasi"
        assert rows[ids[2]].category == "air_bersih"
        reporter = uow.session.get(Reporter, first_row.id)
        assert (reporter.name, reporter.phone, reporter.email) == (None, None, None)
        history = uow.session.scalars(select(HistoryEntry).where(
            HistoryEntry.report_id == first_row.id)).one()
        assert ids[0] in history.note and history.actor_kind == "admin"
        bodies = [json.loads(b) for b in uow.session.scalars(
            select(outbox.c.body).where(outbox.c.subject == f"reports/{first_row.number}"))]
    assert [b["type"] for b in bodies] == ["lapor.report.submitted"]
    assert bodies[0]["data"]["sla"]["start"][0]["clock"] == "lapor.verification"
    assert bodies[0]["data"]["channel"] == "national"
    assert "Siti" not in json.dumps(bodies) and "0812" not in json.dumps(bodies)


def test_bad_items_are_refused_one_by_one_in_indonesian(lapor):
    good, twice = fresh_id(), fresh_id()
    body = {"reports": [
        national(good),
        national(fresh_id(), status="Terdisposisi, selesai"),
        national(fresh_id(), classification="Keluhan", privacy="semua orang"),
        national(fresh_id(), location={"latitude": -2.21, "longitude": 113.92}),
        national(fresh_id(), location={"kecamatan": "Selat", "desa": "Mandomai"}),
        {"title": "tanpa apa-apa"},
        "bukan objek",
        national(twice),
        national(twice),
        national(12345678),
    ]}
    summary = post(lapor, body).get_json()
    items = by_index(summary)
    assert (summary["created"], summary["skipped"], summary["invalid"]) == (3, 1, 6)
    assert items[1]["errors"]["status"][0].startswith("Hanya laporan berstatus")
    assert set(items[2]["errors"]) == {"classification", "privacy"}
    assert items[3]["errors"]["location.latitude"] == ["Lokasi berada di luar wilayah Kabupaten Kapuas."]
    assert "location.desa" in items[4]["errors"]
    assert {"tracking_id", "submitted_at", "classification"} <= set(items[5]["errors"])
    assert items[5]["errors"]["tracking_id"] == ["Wajib diisi."]
    assert items[6]["outcome"] == "invalid"
    assert items[8]["outcome"] == "skipped" and "lebih dari sekali" in items[8]["message"]
    assert items[9]["outcome"] == "created" and items[9]["national_id"] == "12345678"


def test_only_regency_admins_import(lapor):
    body = {"reports": [national(fresh_id())]}
    assert post(lapor, body, role=LIAISON, opd="dinkes").status_code == 403
    assert lapor.http.post(ENDPOINT, json=body).status_code == 401
    assert post(lapor, body, role="admin").status_code == 200


@pytest.mark.parametrize("body", [{}, {"reports": "x"}, {"reports": [], "extra": 1}, [], "x",
                                  {"reports": [{}] * 501}])
def test_a_body_that_is_no_export_is_a_422(lapor, body):
    response = post(lapor, body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["message"]


def test_a_staff_report_cannot_take_a_tracking_id_twice(lapor):
    tracking = fresh_id()
    number = post(lapor, {"reports": [national(tracking)]}).get_json()["items"][0]["number"]
    with lapor.rt.uow() as uow:
        check_national_id(uow.session, None)
        check_national_id(uow.session, fresh_id())
        with pytest.raises(Conflict) as caught:
            check_national_id(uow.session, tracking)
    assert number in caught.value.message


def test_the_operators_command_imports_a_file_idempotently(lapor, tmp_path, capsys):
    path = tmp_path / "ekspor.json"
    path.write_text(json.dumps([national(fresh_id()), national(fresh_id(), status="Ditutup")]),
                    encoding="utf-8")
    assert run_command(lapor.rt, Namespace(file=str(path))) == 1
    out = capsys.readouterr().out
    assert "Dibuat: 1, dilewati (sudah ada): 0, tidak valid: 1" in out
    assert run_command(lapor.rt, Namespace(file=str(path))) == 1
    assert "Dibuat: 0, dilewati (sudah ada): 1, tidak valid: 1" in capsys.readouterr().out
    broken = tmp_path / "rusak.json"
    broken.write_text("{", encoding="utf-8")
    assert run_command(lapor.rt, Namespace(file=str(broken))) == 1
    assert "tidak dapat dibaca" in capsys.readouterr().out
