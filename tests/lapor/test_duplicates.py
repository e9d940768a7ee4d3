"""Duplicate suggestions (same category, open, recent; near or alike) and the merge of a
duplicate's followers into the original, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services.lapor.duplicates import (
    DIFFLIB_THRESHOLD,
    has_trigrams,
    haversine_m,
    judge,
    merge_followers,
    text_ratio,
)
from services.lapor.models import Follower, Report
from tests.lapor.report_rows import add_report
from tests.lapor.support import LAPOR_ADMIN, LIAISON, T0, lapor_staff


def suggestions(lapor, number, role=LAPOR_ADMIN):
    response = lapor.http.get(f"/api/v1/reports/{number}/duplicates", headers=lapor_staff(role))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def numbers(found):
    return [item["number"] for item in found]


def test_haversine_is_metres():
    assert haversine_m(-3.0, 114.39, -3.0, 114.39) == 0
    assert 1100 < haversine_m(-3.0, 114.39, -3.01, 114.39) < 1120


def test_judge_combines_the_two_signals():
    assert judge(None, None, 0.3) == (0.0, ())
    assert judge(600, 0.1, 0.3) == (0.0, ())
    near, reasons = judge(100, None, 0.3)
    assert 0.7 < near < 0.9 and reasons == ("Lokasi berdekatan (sekitar 100 m).",)
    both, reasons = judge(100, 0.9, 0.3)
    assert both > near and len(reasons) == 2


def test_text_ratio_tells_alike_from_unrelated():
    alike = text_ratio("jalan berlubang di depan pasar kapuas", "jalan berlubang depan pasar kapuas")
    other = text_ratio("jalan berlubang di depan pasar kapuas", "puskesmas tutup pada jam layanan")
    assert alike > 0.8 and other < DIFFLIB_THRESHOLD


def test_nearby_and_alike_open_reports_are_suggested_best_first(lapor):
    rt = lapor.rt
    new = add_report(rt, latitude=-3.0, longitude=114.39, submitted_at=T0)
    near_and_alike = add_report(rt, latitude=-3.001, longitude=114.39, submitted_at=T0 - timedelta(days=3))
    only_near = add_report(rt, latitude=-3.0, longitude=114.392, title="Drainase tersumbat",
                           description="Saluran air tersumbat sampah sehingga banjir saat hujan.",
                           status="in_progress", lead_opd="pupr")
    only_alike = add_report(rt, latitude=-2.5, longitude=114.4)
    far_and_other = add_report(rt, latitude=-2.5, longitude=114.4, title="Jembatan kayu lapuk",
                               description="Papan jembatan desa sudah lapuk dan patah.")
    found = suggestions(lapor, new.number)
    assert numbers(found)[:1] == [near_and_alike.number]
    assert set(numbers(found)) == {near_and_alike.number, only_near.number, only_alike.number}
    assert far_and_other.number not in numbers(found)
    top = found[0]
    assert top["distance_m"] < 200 and top["similarity"] > 0.5 and len(top["reasons"]) == 2
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    by_number = {f["number"]: f for f in found}
    assert by_number[only_near.number]["reasons"][0].startswith("Lokasi berdekatan")
    assert by_number[only_alike.number]["distance_m"] > 50000


def test_other_categories_closed_archived_and_old_reports_are_not_suggested(lapor):
    rt = lapor.rt
    new = add_report(rt, latitude=-2.9, longitude=114.3)
    excluded = [
        add_report(rt, latitude=-2.9, longitude=114.3, category="kesehatan"),
        add_report(rt, latitude=-2.9, longitude=114.3, status="closed", closed_reason="accepted"),
        add_report(rt, latitude=-2.9, longitude=114.3, status="archived", archive_reason="spam"),
        add_report(rt, latitude=-2.9, longitude=114.3, status="not_authority"),
        add_report(rt, latitude=-2.9, longitude=114.3, submitted_at=T0 - timedelta(days=91)),
    ]
    kept = add_report(rt, latitude=-2.9, longitude=114.3, submitted_at=T0 - timedelta(days=89))
    found = numbers(suggestions(lapor, new.number))
    assert kept.number in found
    assert not set(found) & {r.number for r in excluded}
    assert new.number not in found


def test_only_regency_admins_ask_and_an_unknown_number_is_404(lapor):
    new = add_report(lapor.rt)
    assert suggestions(lapor, new.number, role="admin") is not None
    liaison = lapor.http.get(f"/api/v1/reports/{new.number}/duplicates",
                             headers=lapor_staff(LIAISON, "dinkes"))
    assert liaison.status_code == 403
    assert lapor.http.get(f"/api/v1/reports/{new.number}/duplicates").status_code == 401
    missing = lapor.http.get("/api/v1/reports/LPR-2026-999999/duplicates", headers=lapor_staff())
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "Laporan tidak ditemukan."


def _followers(rt, report_id):
    with rt.uow() as uow:
        return sorted(uow.session.scalars(select(Follower.email).where(Follower.report_id == report_id)))


def test_merge_followers_moves_the_reporter_and_followers_without_twins(lapor):
    rt = lapor.rt
    original = add_report(rt, email="pelapor.asli@example.org")
    duplicate = add_report(rt, email="Pelapor.Kedua@example.org")
    with rt.uow() as uow:
        uow.session.add_all([
            Follower(report_id=original.id, email="sudah@example.org", token_hash="a" * 64, created_at=T0),
            Follower(report_id=duplicate.id, email="SUDAH@example.org ", token_hash="b" * 64, created_at=T0),
            Follower(report_id=duplicate.id, email="baru@example.org", token_hash="c" * 64, created_at=T0),
        ])
        uow.commit()
    with rt.uow() as uow:
        dup = uow.session.get(Report, duplicate.id)
        orig = uow.session.get(Report, original.id)
        assert merge_followers(uow.session, dup, orig) == 2
        uow.commit()
    assert _followers(rt, original.id) == [
        "Pelapor.Kedua@example.org", "baru@example.org", "sudah@example.org"]
    with rt.uow() as uow:
        moved = uow.session.scalars(select(Follower).where(
            Follower.report_id == original.id, Follower.email == "baru@example.org")).one()
        assert moved.token_hash == "c" * 64
    # Linking again changes nothing.
    with rt.uow() as uow:
        assert merge_followers(uow.session, uow.session.get(Report, duplicate.id),
                               uow.session.get(Report, original.id)) == 0
        uow.commit()


def test_merged_followers_keep_their_confirmation_and_the_reporter_counts_as_confirmed(lapor):
    rt = lapor.rt
    original = add_report(rt)
    duplicate = add_report(rt, email="pelapor.kedua@example.org")
    with rt.uow() as uow:
        uow.session.add_all([
            Follower(report_id=original.id, email="menunggu@example.org", token_hash="a" * 64, created_at=T0),
            Follower(report_id=duplicate.id, email="menunggu@example.org", token_hash="b" * 64, created_at=T0,
                     confirmed_at=T0),
            Follower(report_id=duplicate.id, email="belum@example.org", token_hash="c" * 64, created_at=T0),
            Follower(report_id=duplicate.id, email="sudah@example.org", token_hash="d" * 64, created_at=T0,
                     confirmed_at=T0 + timedelta(hours=1)),
        ])
        uow.commit()
    with rt.uow() as uow:
        assert merge_followers(uow.session, uow.session.get(Report, duplicate.id),
                               uow.session.get(Report, original.id)) == 3
        uow.commit()
    with rt.uow() as uow:
        rows = {row.email: (row.token_hash, row.confirmed_at) for row in uow.session.scalars(
            select(Follower).where(Follower.report_id == original.id))}
    assert rows["pelapor.kedua@example.org"][1] == duplicate.submitted_at
    assert rows["belum@example.org"] == ("c" * 64, None)
    assert rows["sudah@example.org"] == ("d" * 64, T0 + timedelta(hours=1))
    # A confirmed follow of an address still pending on the original confirms it.
    assert rows["menunggu@example.org"] == ("b" * 64, T0)


def test_merge_followers_of_a_reporter_without_email_adds_only_followers(lapor):
    rt = lapor.rt
    original = add_report(rt)
    duplicate = add_report(rt)
    with rt.uow() as uow:
        assert merge_followers(uow.session, uow.session.get(Report, duplicate.id),
                               uow.session.get(Report, original.id)) == 0
        uow.commit()
    assert _followers(rt, original.id) == []


@pytest.mark.parametrize("number", ["x" * 300, "LPR-2026-%00", "../etc"])
def test_hostile_numbers_are_answered_without_a_5xx(lapor, number):
    response = lapor.http.get(f"/api/v1/reports/{number}/duplicates", headers=lapor_staff())
    assert response.status_code in (404, 422)


def test_archiving_a_duplicate_through_the_api_merges_its_followers(lapor):
    original = lapor.submit(email="asli@example.org")
    duplicate = lapor.submit(email="kedua@example.org")
    suggested = suggestions(lapor, duplicate["number"])
    assert original["number"] in numbers(suggested)
    response = lapor.act(duplicate["number"], "archive", {
        "reason": "duplicate", "duplicate_of": original["number"], "note": "Sama dengan laporan lain."})
    assert response.status_code == 200, response.get_json()
    with lapor.rt.uow() as uow:
        original_id = uow.session.scalars(
            select(Report.id).where(Report.number == original["number"])).one()
    followers = _followers(lapor.rt, original_id)
    assert "kedua@example.org" in followers
    assert len(followers) == len({f.casefold() for f in followers})
    assert duplicate["number"] not in numbers(suggestions(lapor, original["number"]))


def test_postgresql_compares_by_trigrams_and_sqlite_by_difflib(lapor):
    with lapor.rt.uow() as uow:
        assert has_trigrams(uow.session) is (lapor.env.backend == "postgresql")
