"""Requests through the HTTP API, on SQLite and PostgreSQL: submission, the citizen's view,
staff entry and lists, assignment, extension, the written notice and withdrawal, with the
ETag rules and refusals that leave the stored request unchanged."""

from __future__ import annotations

import base64
from datetime import datetime

from tests.ppid.support import PELAKSANA, REQUEST_BODY, UTAMA, WIB, staff_headers

REQ = "/api/v1/requests"


def test_submission_returns_number_token_and_explained_due_date(ppid):
    body = ppid.submit()
    assert body["number"].startswith("PPID-2026-")
    assert len(body["access_token"]) >= 40
    assert body["status"] == "received" and body["opd"] is None
    assert body["received_at"] == "2026-03-02T09:00:00+07:00"
    assert body["due_at"] == "2026-03-16T23:59:59+07:00"
    explanation = body["due_explanation"]
    assert explanation["working_days"] == 10 and explanation["day_zero"] == "2026-03-02"
    assert "Senin, 16 Maret 2026 pukul 23.59.59 WIB" in explanation["summary"]
    assert "token hanya ditampilkan sekali" in body["message"]


def test_after_hours_submission_counts_from_the_next_working_day(ppid):
    ppid.clock.set(datetime(2026, 3, 6, 17, 30, tzinfo=WIB))  # Friday evening
    body = ppid.submit()
    assert body["received_at"] == "2026-03-09T08:00:00+07:00"
    assert body["due_at"] == "2026-03-30T23:59:59+07:00"  # 18-24 March are off
    assert body["due_explanation"]["day_zero_moved"] is True
    assert "di luar jam kerja" in body["due_explanation"]["summary"]


def test_a_named_opd_gets_the_request_at_once(ppid):
    body = ppid.submit(requested_opd="dinkes")
    assert body["status"] == "assigned" and body["opd"] == "dinkes"
    view = ppid.staff_get(f"{REQ}/{body['number']}", PELAKSANA, "dinkes").get_json()
    assert view["requested_opd"] == "dinkes" and view["opd_name"] == "Dinas Kesehatan"


def test_legal_entity_with_deed_number_and_power_of_attorney(ppid):
    body = ppid.submit(
        identity_type="legal_entity",
        identity_number="AHU-0012345.AH.01.07.2019",
        name="Yayasan Peduli Kapuas",
        phone=None,
        power_of_attorney={"attorney_name": "Budi Santoso", "letter": "Surat kuasa 12/YPK/III/2026"},
    )
    applicant = ppid.staff_get(f"{REQ}/{body['number']}/applicant").get_json()
    assert applicant["identity_type"] == "legal_entity"
    assert applicant["power_of_attorney"]["attorney_name"] == "Budi Santoso"
    assert applicant["phone"] is None and applicant["email"] == "siti.rahmawati@example.org"


def test_phone_is_normalised(ppid):
    body = ppid.submit(phone="+62 812 5555 1234", email=None, delivery_method="in_person")
    assert ppid.staff_get(f"{REQ}/{body['number']}/applicant").get_json()["phone"] == "+6281255551234"


def _errors(response):
    body = response.get_json()
    return body["errors"]


def test_bad_submissions_are_refused_in_indonesian(ppid):
    cases = [
        ({"favourite_colour": "biru"}, "favourite_colour", "Isian tidak dikenal."),
        ({"obtain_method": "telepati"}, "obtain_method", "Pilihan tidak dikenal"),
        ({"identity_number": "12345"}, "identity_number", "16 digit"),
        ({"identity_number": "6203013203900001"}, "identity_number", "tanggal lahir"),
        ({"phone": None, "email": None, "delivery_method": "in_person"}, "phone", "telepon dan/atau"),
        ({"email": None}, "email", "dikirim melalui surel"),
        ({"email": "bukan-surel"}, "email", "Alamat surel tidak valid."),
        ({"phone": "12"}, "phone", "Nomor telepon tidak valid"),
        ({"information": "   "}, "information", "Wajib diisi."),
        ({"information": ...}, "information", "Wajib diisi."),
        ({"requested_opd": "dinas_sulap"}, "requested_opd", "Kode OPD tidak dikenal"),
        ({"name": "x" * 201}, "name", "Paling banyak 200"),
    ]
    before = ppid.staff_get(REQ).headers["X-Pagination"]
    for overrides, field, message in cases:
        body = ppid.submit(expect=422, **overrides)
        assert body["code"] == 422
        assert any(message in m for m in body["errors"][field]), (overrides, body)
    assert ppid.staff_get(REQ).headers["X-Pagination"] == before


def test_body_that_is_not_an_object_is_refused(ppid):
    response = ppid.http.post(REQ, json=["a"])
    assert response.status_code == 422


def test_citizen_sees_own_request_only_with_its_token(ppid):
    first, second = ppid.submit(), ppid.submit()
    own = ppid.citizen("GET", f"{REQ}/{first['number']}", first["access_token"])
    assert own.status_code == 200
    view = own.get_json()
    # The applicant is offered only what the applicant may do: withdraw it, not yet object.
    assert view["number"] == first["number"] and view["allowed_actions"] == ["withdraw"]
    assert "registered_by" not in view
    other = ppid.citizen("GET", f"{REQ}/{second['number']}", first["access_token"])
    assert other.status_code == 403
    assert other.get_json()["message"] == "Token akses tidak sesuai untuk permohonan ini."
    anonymous = ppid.http.get(f"{REQ}/{first['number']}")
    assert anonymous.status_code == 401 and "X-Access-Token" in anonymous.get_json()["message"]
    assert ppid.citizen("GET", f"{REQ}/PPID-2026-999999", first["access_token"]).status_code == 404
    assert ppid.citizen("GET", f"{REQ}/bukan-nomor", first["access_token"]).status_code == 404


def test_staff_entry_of_a_letter_with_its_real_receipt_date(ppid):
    ppid.clock.set(datetime(2026, 3, 10, 10, tzinfo=WIB))
    letter = REQUEST_BODY | {"channel": "letter", "submitted_at": "2026-03-05T14:00:00+07:00"}
    response = ppid.http.post(f"{REQ}/offline", json=letter, headers=staff_headers(PELAKSANA, "disdik"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["received_at"] == "2026-03-05T14:00:00+07:00"
    assert body["due_at"] == "2026-03-26T23:59:59+07:00"  # 18-24 March are off
    # A Pelaksana's desk is its own OPD.
    assert body["opd"] == "disdik" and body["status"] == "assigned"
    view = ppid.staff_get(f"{REQ}/{body['number']}", PELAKSANA, "disdik").get_json()
    assert view["channel"] == "letter" and view["registered_by"] == "ppid_pelaksana-disdik"
    assert view["history"][0]["action"] == "registered"

    future = letter | {"submitted_at": "2026-03-11T09:00:00+07:00"}
    assert ppid.http.post(f"{REQ}/offline", json=future, headers=staff_headers(UTAMA)).status_code == 422
    naive = letter | {"submitted_at": "2026-03-05T14:00:00"}
    refused = ppid.http.post(f"{REQ}/offline", json=naive, headers=staff_headers(UTAMA))
    assert refused.status_code == 422 and "zona waktu" in refused.get_json()["errors"]["submitted_at"][0]
    web_channel = letter | {"channel": "web"}
    assert ppid.http.post(f"{REQ}/offline", json=web_channel, headers=staff_headers(UTAMA)).status_code == 422
    atasan = ppid.http.post(f"{REQ}/offline", json=letter, headers=staff_headers("atasan_ppid", "disdik"))
    assert atasan.status_code == 403


def test_staff_list_paginates_and_filters(ppid):
    ppid.clock.set(datetime(2026, 4, 6, 9, tzinfo=WIB))
    numbers = [ppid.submit(requested_opd="dlh")["number"] for _ in range(3)]
    page = ppid.staff_get(REQ, query_string={"opd": "dlh", "page_size": 2})
    assert page.status_code == 200
    assert [r["number"] for r in page.get_json()] == numbers[::-1][:2]
    assert '"total": 3' in page.headers["X-Pagination"]
    rows = page.get_json()
    assert all("identity_number" not in r and "name" not in r for r in rows)
    received = ppid.staff_get(REQ, query_string={"opd": "dlh", "received_from": "2026-04-06", "received_to": "2026-04-06"})
    assert len(received.get_json()) == 3
    assert ppid.staff_get(REQ, query_string={"opd": "dlh", "received_from": "2026-04-07"}).get_json() == []
    assert ppid.staff_get(REQ, query_string={"opd": "dlh", "late": "true"}).get_json() == []
    ppid.clock.set(datetime(2026, 5, 1, 9, tzinfo=WIB))
    late = ppid.staff_get(REQ, query_string={"opd": "dlh", "late": "true"}).get_json()
    assert {r["number"] for r in late} == set(numbers) and all(r["late"] for r in late)
    bad = ppid.staff_get(REQ, query_string={"status": "lost"})
    assert bad.status_code == 422


def test_assignment_needs_the_current_etag(ppid):
    number = ppid.submit()["number"]
    path = f"{REQ}/{number}"
    before = ppid.stored(number)
    missing = ppid.act(f"{path}/assignment", {"opd": "dinkes"})
    assert missing.status_code == 428 and "If-Match" in missing.get_json()["message"]
    stale = ppid.act(f"{path}/assignment", {"opd": "dinkes"}, etag=f'"{number}.0"')
    assert stale.status_code == 412
    assert ppid.stored(number) == before
    etag = ppid.etag(path)
    done = ppid.act(f"{path}/assignment", {"opd": "dinkes"}, etag=etag)
    assert done.status_code == 200 and done.headers["ETag"] != etag
    assert done.get_json()["status"] == "assigned" and done.get_json()["opd"] == "dinkes"
    # The second officer still holds the old ETag: refused, nothing overwritten.
    again = ppid.act(f"{path}/assignment", {"opd": "disdik"}, etag=etag)
    assert again.status_code == 412
    assert ppid.stored(number)["opd"] == "dinkes"
    wrong_state = ppid.act(f"{path}/assignment", {"opd": "disdik"}, etag_of=path)
    assert wrong_state.status_code == 409
    unknown = ppid.act(f"{path}/reassignment", {"opd": "dinas_sulap", "reason": "salah"}, etag_of=path)
    assert unknown.status_code == 422


def test_reassignment_with_reason(ppid):
    number = ppid.submit(requested_opd="dinkes")["number"]
    path = f"{REQ}/{number}"
    same = ppid.act(f"{path}/reassignment", {"opd": "dinkes", "reason": "tetap di sini"}, etag_of=path)
    assert same.status_code == 422
    moved = ppid.act(
        f"{path}/reassignment",
        {"opd": "disdik", "reason": "Data sekolah dikuasai Dinas Pendidikan"},
        PELAKSANA,
        "dinkes",
        etag=ppid.etag(path),
    )
    assert moved.status_code == 200, moved.get_json()
    view = moved.get_json()
    assert view["opd"] == "disdik"
    assert view["history"][-1] == view["history"][-1] | {
        "action": "reassigned",
        "opd": "disdik",
        "note": "Data sekolah dikuasai Dinas Pendidikan",
    }
    # Dinkes no longer holds it.
    assert ppid.staff_get(path, PELAKSANA, "dinkes").status_code == 403
    assert ppid.staff_get(path, PELAKSANA, "disdik").status_code == 200


def test_extension_once_before_day_10(ppid):
    number = ppid.submit(requested_opd="dinkes")["number"]
    path = f"{REQ}/{number}"
    ppid.clock.set(datetime(2026, 3, 13, 10, tzinfo=WIB))
    body = {"ground": "coordination", "reason": "Data dihimpun dari tiga puskesmas kecamatan."}
    first = ppid.act(f"{path}/extension", body, PELAKSANA, "dinkes", etag_of=path)
    assert first.status_code == 200, first.get_json()
    view = first.get_json()
    assert view["due_at"] == "2026-04-01T23:59:59+07:00" and view["extended"] is True
    assert view["extension"]["ground"] == "coordination"
    before = ppid.stored(number)
    second = ppid.act(f"{path}/extension", body, PELAKSANA, "dinkes", etag_of=path)
    assert second.status_code == 409 and "satu kali" in second.get_json()["message"]
    assert ppid.stored(number) == before
    bad_ground = ppid.act(f"{path}/extension", body | {"ground": "sibuk"}, etag_of=path)
    assert bad_ground.status_code == 422


def test_extension_after_day_10_is_refused(ppid):
    number = ppid.submit()["number"]
    path = f"{REQ}/{number}"
    ppid.clock.set(datetime(2026, 3, 17, 9, tzinfo=WIB))
    before = ppid.stored(number)
    late = ppid.act(f"{path}/extension", {"ground": "large_volume", "reason": "Dokumen lebih dari 500 halaman."}, etag_of=path)
    assert late.status_code == 409 and "sebelum batas 10 hari kerja" in late.get_json()["message"]
    assert ppid.stored(number) == before
    assert before["late"] is True


def test_notice_outcomes_and_their_required_fields(ppid):
    number = ppid.submit(requested_opd="dinkes")["number"]
    path = f"{REQ}/{number}"
    before = ppid.stored(number)
    incomplete = ppid.notice(number, {"outcome": "rejected", "exemption_clause": "a"}, PELAKSANA, "dinkes")
    assert incomplete.status_code == 422
    assert "consequence_test" in incomplete.get_json()["errors"]
    wrong_field = ppid.notice(number, {"outcome": "not_held", "holder_body": "BPN Kapuas", "fee_amount": 1000}, PELAKSANA, "dinkes")
    assert wrong_field.status_code == 422 and "fee_amount" in wrong_field.get_json()["errors"]
    bad_enum = ppid.notice(number, {"outcome": "maybe"}, PELAKSANA, "dinkes")
    assert bad_enum.status_code == 422
    assert ppid.stored(number) == before

    ppid.clock.set(datetime(2026, 3, 9, 11, tzinfo=WIB))
    partial = {
        "outcome": "partially_granted",
        "info_format": "soft_copy",
        "delivery_method": "email",
        "fee_amount": 0,
        "redacted_parts": "Nama dan NIK pasien pada lampiran",
        "exemption_clause": "h",
        "consequence_test": "Membuka identitas pasien mengungkap rahasia pribadi (Pasal 17 huruf h).",
        "letter_number": "045/PPID-DINKES/III/2026",
    }
    issued = ppid.notice(number, partial, PELAKSANA, "dinkes")
    assert issued.status_code == 201, issued.get_json()
    notice = issued.get_json()
    assert notice["outcome"] == "partially_granted" and notice["late"] is False
    assert notice["days_taken"] == 5 and notice["issuing_opd"] == "dinkes"
    view = ppid.stored(number)
    assert view["status"] == "answered" and view["outcome"] == "partially_granted"
    assert view["notice"]["issued_at"] == "2026-03-09T11:00:00+07:00"

    # A closed request takes no second notice, extension or withdrawal.
    closed = ppid.stored(number)
    again = ppid.notice(number, None, PELAKSANA, "dinkes")
    assert again.status_code == 409
    extension = ppid.act(f"{path}/extension", {"ground": "coordination", "reason": "Terlambat sekali."}, etag_of=path)
    assert extension.status_code == 409
    assert ppid.stored(number) == closed


def test_late_notice_is_marked_late(ppid):
    number = ppid.submit()["number"]
    ppid.clock.set(datetime(2026, 3, 18, 9, tzinfo=WIB))
    issued = ppid.notice(number, {"outcome": "not_documented", "documented_by": "2026-04-30"})
    assert issued.status_code == 201, issued.get_json()
    assert issued.get_json()["late"] is True
    view = ppid.stored(number)
    assert view["late"] is True and view["notice"]["days_taken"] == 11


def _attachment(name="data.pdf", content_type="application/pdf", content=b"%PDF-1.4 laporan"):
    return {"filename": name, "content_type": content_type, "content_base64": base64.b64encode(content).decode()}


def test_attachments_are_bounded_checked_and_downloadable(ppid):
    submitted = ppid.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    granted = {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}
    before = ppid.stored(number)
    refused = [
        ([_attachment("program.exe", "application/x-msdownload", b"MZ\x90\x00")], "attachments.0", "tidak diizinkan"),
        ([_attachment("laporan.pdf", "application/pdf", b"MZ\x90\x00 pretending")], "attachments.0", "tidak sesuai"),
        ([_attachment("besar.pdf", "application/pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024))], "attachments.0", "melebihi"),
        ([_attachment(f"d{i}.pdf") for i in range(4)], "attachments", "Paling banyak 3 lampiran"),
    ]
    for attachments, field, problem in refused:
        response = ppid.notice(number, granted | {"attachments": attachments}, PELAKSANA, "dinkes")
        assert response.status_code == 422, response.get_json()
        assert problem in response.get_json()["errors"][field][0]
    not_base64 = ppid.notice(
        number, granted | {"attachments": [{"filename": "a.pdf", "content_type": "application/pdf", "content_base64": "%%%"}]},
        PELAKSANA, "dinkes",
    )
    assert not_base64.status_code == 422
    assert ppid.stored(number) == before

    csv = b"nama;jumlah\nPuskesmas Selat;12\n"
    issued = ppid.notice(
        number,
        granted | {"attachments": [_attachment(), _attachment("rekap.csv", "text/csv", csv)]},
        PELAKSANA,
        "dinkes",
    )
    assert issued.status_code == 201, issued.get_json()
    files = issued.get_json()["attachments"]
    assert [f["filename"] for f in files] == ["data.pdf", "rekap.csv"]
    download = ppid.citizen("GET", f"{REQ}/{number}/notice/attachments/{files[1]['id']}", token)
    assert download.status_code == 200 and download.data == csv
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    other = ppid.submit()
    stolen = ppid.citizen("GET", f"{REQ}/{number}/notice/attachments/{files[1]['id']}", other["access_token"])
    assert stolen.status_code == 403
    assert ppid.staff_get(f"{REQ}/{number}/notice/attachments/999999").status_code == 404


def test_citizen_withdraws_and_the_request_is_closed(ppid):
    submitted = ppid.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    path = f"{REQ}/{number}"
    wrong = ppid.citizen("POST", f"{path}/withdrawal", "bukan-token", json={})
    assert wrong.status_code == 403
    done = ppid.citizen("POST", f"{path}/withdrawal", token, json={"reason": "Sudah mendapat data dari sumber lain."})
    assert done.status_code == 200
    assert done.get_json()["status"] == "withdrawn"
    again = ppid.citizen("POST", f"{path}/withdrawal", token, json={})
    assert again.status_code == 409
    closed = ppid.stored(number)
    assert ppid.notice(number, None, PELAKSANA, "dinkes").status_code == 409
    assert ppid.stored(number) == closed
    unknown_field = ppid.citizen("POST", f"{path}/withdrawal", token, json={"alasan": "x"})
    assert unknown_field.status_code == 422


def test_openapi_documents_the_endpoints(ppid):
    spec = ppid.http.get("/openapi.json").get_json()
    for path in ("/api/v1/requests", "/api/v1/requests/{number}/notice", "/api/v1/objections/{number}/decision"):
        assert path in spec["paths"]
