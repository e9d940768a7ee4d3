"""Who may see and do what, tested with tokens of two OPDs (Dinkes and Disdik), and where
the applicant's personal data may and may not appear."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from sqlalchemy import func, select

from services.ppid.models import PersonalDataAccess, outbox
from tests.ppid.support import ATASAN, PELAKSANA, PERSONAL_STRINGS, UTAMA, WIB, staff_headers

REQ = "/api/v1/requests"


@pytest.fixture
def two_requests(ppid):
    dinkes = ppid.submit(requested_opd="dinkes")
    disdik = ppid.submit(requested_opd="disdik")
    return dinkes, disdik


def test_pelaksana_sees_and_acts_on_its_own_opd_only(ppid, two_requests):
    dinkes, disdik = two_requests
    own, other = f"{REQ}/{dinkes['number']}", f"{REQ}/{disdik['number']}"
    assert ppid.staff_get(own, PELAKSANA, "dinkes").status_code == 200
    refused = ppid.staff_get(other, PELAKSANA, "dinkes")
    assert refused.status_code == 403 and "OPD lain" in refused.get_json()["message"]
    listed = {r["number"] for r in ppid.staff_get(REQ, PELAKSANA, "dinkes", query_string={"page_size": 100}).get_json()}
    assert dinkes["number"] in listed and disdik["number"] not in listed
    # Asking for another OPD's list gives nothing of it.
    assert ppid.staff_get(REQ, PELAKSANA, "dinkes", query_string={"opd": "disdik"}).get_json() == []

    before = ppid.stored(disdik["number"])
    notice = {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}
    assert ppid.act(f"{other}/notice", notice, PELAKSANA, "dinkes", etag_of=other).status_code == 403
    extend = {"ground": "coordination", "reason": "Perlu koordinasi lintas OPD."}
    assert ppid.act(f"{other}/extension", extend, PELAKSANA, "dinkes", etag_of=other).status_code == 403
    move = {"opd": "dinkes", "reason": "Diambil alih"}
    assert ppid.act(f"{other}/reassignment", move, PELAKSANA, "dinkes", etag_of=other).status_code == 403
    assert ppid.act(f"{other}/assignment", {"opd": "dinkes"}, PELAKSANA, "disdik", etag_of=other).status_code == 403
    assert ppid.stored(disdik["number"]) == before
    assert ppid.staff_get(f"{other}/applicant", PELAKSANA, "dinkes").status_code == 403

    # A Pelaksana token without an OPD sees nothing.
    assert ppid.staff_get(own, PELAKSANA, None).status_code == 403
    assert ppid.staff_get(REQ, PELAKSANA, None).get_json() == []


def test_utama_sees_and_routes_every_opd(ppid, two_requests):
    dinkes, disdik = two_requests
    listed = {r["number"] for r in ppid.staff_get(REQ, UTAMA, query_string={"page_size": 100}).get_json()}
    assert {dinkes["number"], disdik["number"]} <= listed
    for submitted in two_requests:
        assert ppid.staff_get(f"{REQ}/{submitted['number']}", UTAMA).status_code == 200
    path = f"{REQ}/{disdik['number']}"
    moved = ppid.act(f"{path}/reassignment", {"opd": "dinkes", "reason": "Data gizi ada di Dinkes"}, UTAMA, etag_of=path)
    assert moved.status_code == 200


def test_atasan_reads_its_own_opd_and_answers_nothing(ppid, two_requests):
    dinkes, disdik = two_requests
    assert ppid.staff_get(f"{REQ}/{dinkes['number']}", ATASAN, "dinkes").status_code == 200
    assert ppid.staff_get(f"{REQ}/{disdik['number']}", ATASAN, "dinkes").status_code == 403
    path = f"{REQ}/{dinkes['number']}"
    notice = {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}
    assert ppid.act(f"{path}/notice", notice, ATASAN, "dinkes", etag_of=path).status_code == 403


def test_other_roles_and_anonymous_callers(ppid, two_requests):
    dinkes, _ = two_requests
    path = f"{REQ}/{dinkes['number']}"
    assert ppid.http.get(REQ).status_code == 401
    assert ppid.http.get(REQ, headers=staff_headers("lapor_admin")).status_code == 403
    assert ppid.http.get(path, headers=staff_headers("humas", "dinkes")).status_code == 403
    assert ppid.http.get(path, headers={"Authorization": "Bearer rusak"}).status_code == 401
    assert ppid.http.get(f"{path}/applicant").status_code == 401


def test_citizen_token_opens_that_one_request_only(ppid, two_requests):
    dinkes, disdik = two_requests
    ppid.clock.set(datetime(2026, 3, 5, 10, tzinfo=WIB))
    for submitted in two_requests:
        assert ppid.notice(submitted["number"]).status_code == 201
    token = dinkes["access_token"]
    other = disdik["number"]
    for path in (
        f"{REQ}/{other}",
        f"{REQ}/{other}/notice",
        f"{REQ}/{other}/notice.html",
        f"{REQ}/{other}/notice.pdf",
        f"{REQ}/{other}/personal-data-access",
    ):
        assert ppid.citizen("GET", path, token).status_code == 403, path
    assert ppid.citizen("POST", f"{REQ}/{other}/withdrawal", token, json={}).status_code == 403
    objection = {"grounds": ["d"], "statement": "Jawaban tidak sesuai permintaan saya."}
    assert ppid.citizen("POST", f"{REQ}/{other}/objections", token, json=objection).status_code == 403
    kbr = ppid.citizen("POST", f"{REQ}/{other}/objections", disdik["access_token"], json=objection).get_json()["number"]
    assert ppid.citizen("GET", f"/api/v1/objections/{kbr}", token).status_code == 403
    assert ppid.citizen("GET", f"/api/v1/objections/{kbr}", disdik["access_token"]).status_code == 200
    # A citizen's token is no staff credential.
    assert ppid.citizen("GET", REQ, token).status_code == 401


def test_every_read_of_personal_data_is_logged_for_the_applicant(ppid, two_requests):
    dinkes, _ = two_requests
    number, token = dinkes["number"], dinkes["access_token"]
    path = f"{REQ}/{number}"
    assert ppid.citizen("GET", f"{path}/personal-data-access", token).get_json() == []

    utama = ppid.http.get(f"{path}/applicant", headers=staff_headers(UTAMA, reason=None),
                          query_string={"reason": "Verifikasi identitas"})
    assert utama.status_code == 200
    assert utama.get_json()["identity_number"] == "6203015203900001"
    assert ppid.staff_get(f"{path}/applicant", PELAKSANA, "dinkes").status_code == 200
    ppid.clock.set(datetime(2026, 3, 2, 14, 5, tzinfo=WIB))
    atasan = ppid.http.get(f"{path}/applicant",
                           headers=staff_headers(ATASAN, "dinkes", reason="Memeriksa keberatan pemohon"))
    assert atasan.status_code == 200
    # Refused reads leave no entry; viewing the case without personal data leaves none either.
    assert ppid.staff_get(f"{path}/applicant", PELAKSANA, "disdik").status_code == 403
    assert ppid.staff_get(path, PELAKSANA, "dinkes").status_code == 200

    ppid.clock.set(datetime(2026, 3, 4, 10, tzinfo=WIB))
    assert ppid.notice(number, None, PELAKSANA, "dinkes").status_code == 201
    assert ppid.staff_get(f"{path}/notice.html", PELAKSANA, "dinkes").status_code == 200
    assert ppid.citizen("GET", f"{path}/notice.pdf", token).status_code == 200  # the applicant's own: not logged

    entries = ppid.citizen("GET", f"{path}/personal-data-access", token).get_json()
    assert [(e["who"], e["what"], e["why"]) for e in entries] == [
        ("PPID Utama Pemerintah Kabupaten Kapuas", "Melihat data pemohon", "Verifikasi identitas"),
        ("PPID Pelaksana Dinas Kesehatan", "Melihat data pemohon", "Menindaklanjuti permohonan"),
        ("Atasan PPID Dinas Kesehatan", "Melihat data pemohon", "Memeriksa keberatan pemohon"),
        ("PPID Pelaksana Dinas Kesehatan", "Mencetak pemberitahuan tertulis", "Menindaklanjuti permohonan"),
    ]
    first, third = entries[0], entries[2]
    assert first["when"] == "Senin, 2 Maret 2026 pukul 09.00 WIB"
    assert first["accessed_at"] == "2026-03-02T09:00:00+07:00"
    assert third["when"] == "Senin, 2 Maret 2026 pukul 14.05 WIB"
    assert (third["role"], third["opd"], third["opd_name"]) == ("atasan_ppid", "dinkes", "Dinas Kesehatan")
    assert third["summary"] == (
        "Atasan PPID Dinas Kesehatan — melihat data pemohon pada Senin, 2 Maret 2026 pukul "
        "14.05 WIB, dengan alasan: Memeriksa keberatan pemohon."
    )
    # No endpoint templates, account ids or officers' login names: words a citizen reads.
    raw = str(entries)
    for machine in ("GET /api", "<string:number>", "ppid_utama-kab", "atasan_ppid-dinkes", "endpoint", "actor"):
        assert machine not in raw, machine
    assert ppid.citizen("GET", f"{path}/personal-data-access", "salah").status_code == 403


def _access_count(ppid) -> int:
    with ppid.env.rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(PersonalDataAccess)).scalar_one()


def test_every_staff_read_of_personal_data_needs_a_reason(ppid, two_requests):
    dinkes, _ = two_requests
    number, token = dinkes["number"], dinkes["access_token"]
    path = f"{REQ}/{number}"
    ppid.clock.set(datetime(2026, 3, 4, 10, tzinfo=WIB))
    assert ppid.notice(number, None, PELAKSANA, "dinkes").status_code == 201
    reads = [f"{path}/applicant", f"{path}/notice.html", f"{path}/notice.pdf",
             "/api/v1/registers/requests", "/api/v1/registers/objections"]
    before = _access_count(ppid)
    for url in reads:
        for reason in (None, "   ", "x"):
            refused = ppid.http.get(url, headers=staff_headers(UTAMA, reason=reason))
            assert refused.status_code == 422, (url, reason, refused.status_code)
            body = refused.get_json()
            assert body["message"] == "Keperluan membuka data pribadi pemohon wajib disebutkan.", url
            [problem] = body["errors"]["reason"]
            assert ("Wajib diisi" if reason != "x" else "Terlalu singkat") in problem
    assert _access_count(ppid) == before  # nothing left without its record, nothing recorded
    for url in reads:
        by_header = ppid.http.get(url, headers=staff_headers(UTAMA, reason="Rekap bulanan PPID"))
        assert by_header.status_code == 200, (url, by_header.get_json())
        by_query = ppid.http.get(url, headers=staff_headers(UTAMA, reason=None),
                                 query_string={"reason": "Rekap bulanan PPID"})
        assert by_query.status_code == 200, url
    # The applicant's own copy needs no reason.
    assert ppid.citizen("GET", f"{path}/notice.html", token).status_code == 200
    # A reason written in UTF-8 in the header arrives as written.
    ppid.http.get(f"{path}/applicant", headers={**staff_headers(UTAMA, reason=None),
                                               "X-Access-Reason": "Verifikasi NIK – permintaan pemohon".encode().decode("latin-1")})
    whys = [e["why"] for e in ppid.citizen("GET", f"{path}/personal-data-access", token).get_json()]
    assert whys[-1] == "Verifikasi NIK – permintaan pemohon"


def test_personal_data_stays_out_of_lists_views_events_and_logs(ppid, caplog):
    caplog.set_level(logging.DEBUG)
    submitted = ppid.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    path = f"{REQ}/{number}"
    ppid.clock.set(datetime(2026, 3, 20, 10, tzinfo=WIB))
    ppid.notice(number, {"outcome": "not_held", "holder_body": "Kantor Pertanahan Kabupaten Kapuas"}, PELAKSANA, "dinkes")
    objection = ppid.citizen("POST", f"{path}/objections", token, json={"grounds": ["e"], "statement": "Saya yakin datanya ada."})
    kbr = objection.get_json()["number"]
    bodies = [
        ppid.staff_get(REQ, UTAMA, query_string={"page_size": 100}).get_data(as_text=True),
        ppid.staff_get(path, UTAMA).get_data(as_text=True),
        ppid.citizen("GET", path, token).get_data(as_text=True),
        ppid.staff_get(f"{path}/notice", UTAMA).get_data(as_text=True),
        ppid.staff_get(f"/api/v1/objections/{kbr}", UTAMA).get_data(as_text=True),
        ppid.staff_get("/api/v1/objections", UTAMA).get_data(as_text=True),
    ]
    with ppid.env.rt.engine.connect() as conn:
        bodies += list(conn.execute(select(outbox.c.body)).scalars())
    logged = [
        " ".join([record.getMessage(), *(str(v) for v in record.__dict__.values())])
        for record in caplog.records
    ]
    for text in bodies + logged:
        for personal in PERSONAL_STRINGS:
            assert personal not in text, (personal, text[:300])
    # The submission's one access-log line names the case it created, for operators.
    submissions = [
        r for r in caplog.records
        if r.name == "simpul.access" and getattr(r, "path", None) == REQ and r.method == "POST"
    ]
    assert [(r.status, r.number, r.opd) for r in submissions] == [(201, number, "dinkes")]
