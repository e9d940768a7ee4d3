"""Objections and disputes through the HTTP API, on SQLite and PostgreSQL: the whole life
of a request to the Komisi Informasi, and the refusals that leave the records unchanged."""

from __future__ import annotations

from datetime import datetime

from tests.ppid.support import ATASAN, PELAKSANA, UTAMA, WIB

REQ = "/api/v1/requests"
OBJ = "/api/v1/objections"
REJECTION = {
    "outcome": "rejected",
    "exemption_clause": "a",
    "consequence_test": "Membuka berkas pemeriksaan menghambat penyidikan yang sedang berjalan.",
}


def rejected_request(ppid, opd="dinkes"):
    """Submitted Monday 2 March, rejected by the OPD's PPID on Monday 16 March."""
    submitted = ppid.submit(requested_opd=opd)
    ppid.clock.set(datetime(2026, 3, 16, 10, tzinfo=WIB))
    response = ppid.notice(submitted["number"], REJECTION, PELAKSANA, opd)
    assert response.status_code == 201, response.get_json()
    return submitted["number"], submitted["access_token"]


def file(ppid, number, token, grounds=("a",), statement="Informasi ini menyangkut kepentingan publik."):
    return ppid.citizen(
        "POST", f"{REQ}/{number}/objections", token, json={"grounds": list(grounds), "statement": statement}
    )


def test_the_whole_life_of_a_request(ppid):
    number, token = rejected_request(ppid)
    ppid.clock.set(datetime(2026, 3, 30, 10, tzinfo=WIB))
    filed = file(ppid, number, token)
    assert filed.status_code == 201, filed.get_json()
    objection = filed.get_json()
    kbr = objection["number"]
    assert kbr.startswith("KBR-2026-")
    assert objection["opd"] == "dinkes" and objection["grounds"] == ["a"]
    assert objection["filing_deadline"] == "2026-05-06T23:59:59+07:00"
    assert objection["response_due_at"] == "2026-05-13T23:59:59+07:00"
    assert objection["status"] == "filed"

    # The applicant follows it with the request's token.
    own = ppid.citizen("GET", f"{OBJ}/{kbr}", token)
    assert own.status_code == 200 and "request_status" not in own.get_json()

    ppid.clock.set(datetime(2026, 4, 14, 10, tzinfo=WIB))
    decision = {"decision": "upheld", "reasons": "Penyidikan masih berjalan; pengecualian sah."}
    decided = ppid.act(f"{OBJ}/{kbr}/decision", decision, ATASAN, "dinkes", etag_of=f"{OBJ}/{kbr}")
    assert decided.status_code == 200, decided.get_json()
    view = decided.get_json()
    assert view["decision"] == "upheld" and view["late"] is False
    assert view["dispute_window_due_at"] == "2026-05-05T23:59:59+07:00"

    ppid.clock.set(datetime(2026, 4, 28, 10, tzinfo=WIB))
    dispute = ppid.act(
        f"{OBJ}/{kbr}/dispute", {"filed_on": "2026-04-27", "register_number": "012/IV/KI-KT-PS/2026"},
        etag_of=f"{OBJ}/{kbr}",
    )
    assert dispute.status_code == 201, dispute.get_json()
    assert dispute.get_json()["dispute"]["within_window"] is True

    ppid.clock.set(datetime(2026, 6, 15, 10, tzinfo=WIB))
    resolved = ppid.act(
        f"{OBJ}/{kbr}/dispute/resolution",
        {"outcome": "mediated", "resolved_on": "2026-06-12", "summary": "Para pihak sepakat ringkasan dibuka."},
        etag_of=f"{OBJ}/{kbr}",
    )
    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json()["dispute"]["outcome"] == "mediated"

    history = ppid.stored(number)["history"]
    assert [h["action"] for h in history] == [
        "answered", "objection_filed", "objection_decided", "dispute_filed", "dispute_resolved",
    ]
    assert ppid.stored(number)["objections"][0]["decision"] == "upheld"
    listed = ppid.staff_get(OBJ, ATASAN, "dinkes", query_string={"status": "decided"}).get_json()
    assert kbr in [o["number"] for o in listed]


def test_objection_after_its_window_is_refused(ppid):
    number, token = rejected_request(ppid)
    ppid.clock.set(datetime(2026, 5, 7, 8, tzinfo=WIB))
    before = ppid.stored(number)
    late = file(ppid, number, token)
    assert late.status_code == 409
    assert "Rabu, 6 Mei 2026" in late.get_json()["message"]
    assert ppid.stored(number) == before


def test_objection_grounds_must_fit_and_one_at_a_time(ppid):
    number, token = rejected_request(ppid)
    ppid.clock.set(datetime(2026, 3, 18, 10, tzinfo=WIB))
    unfit = file(ppid, number, token, grounds=("c",))
    assert unfit.status_code == 422
    assert "huruf c" in unfit.get_json()["errors"]["grounds"][0]
    unknown = file(ppid, number, token, grounds=("z",))
    assert unknown.status_code == 422
    empty = file(ppid, number, token, grounds=())
    assert empty.status_code == 422
    assert ppid.stored(number)["objections"] == []
    assert file(ppid, number, token, grounds=("a", "d")).status_code == 201
    second = file(ppid, number, token, grounds=("d",))
    assert second.status_code == 409 and "menunggu tanggapan" in second.get_json()["message"]
    assert len(ppid.stored(number)["objections"]) == 1
    other = ppid.submit()
    assert file(ppid, number, other["access_token"]).status_code == 403


def test_unanswered_request_objection_c_and_the_lapsed_answer(ppid):
    submitted = ppid.submit(requested_opd="disdik")
    number, token = submitted["number"], submitted["access_token"]
    early = file(ppid, number, token, grounds=("c",))
    assert early.status_code == 409
    ppid.clock.set(datetime(2026, 3, 17, 9, tzinfo=WIB))
    filed = file(ppid, number, token, grounds=("c",))
    assert filed.status_code == 201
    kbr = filed.get_json()["number"]
    # Nobody answers: the dispute may be recorded once the 30 days lapsed, not before.
    ppid.clock.set(datetime(2026, 4, 1, 9, tzinfo=WIB))
    early_dispute = ppid.act(f"{OBJ}/{kbr}/dispute", {"filed_on": "2026-04-01"}, etag_of=f"{OBJ}/{kbr}")
    assert early_dispute.status_code == 409
    ppid.clock.set(datetime(2026, 5, 11, 9, tzinfo=WIB))
    view = ppid.staff_get(f"{OBJ}/{kbr}").get_json()
    assert view["answer_lapsed"] is True and view["late"] is True
    # 14 working days from the lapsed answer (7 May): day 0 is 8 May.
    assert view["dispute_window_due_at"] == "2026-06-04T23:59:59+07:00"
    recorded = ppid.act(f"{OBJ}/{kbr}/dispute", {"filed_on": "2026-05-11"}, etag_of=f"{OBJ}/{kbr}")
    assert recorded.status_code == 201, recorded.get_json()


def test_decision_only_by_the_atasan_of_that_opd(ppid):
    number, token = rejected_request(ppid, "dinkes")
    ppid.clock.set(datetime(2026, 3, 20, 10, tzinfo=WIB))
    kbr = file(ppid, number, token, grounds=("a",)).get_json()["number"]
    path = f"{OBJ}/{kbr}"
    decision = {"decision": "overturned", "reasons": "Informasi wajib dibuka setelah penyidikan selesai."}
    before = ppid.staff_get(path).get_json()
    for role, opd in ((ATASAN, "disdik"), (PELAKSANA, "dinkes"), (UTAMA, None)):
        response = ppid.act(f"{path}/decision", decision, role, opd, etag_of=path)
        assert response.status_code == 403, (role, opd, response.get_json())
    assert ppid.staff_get(path, ATASAN, "disdik").status_code == 403
    settled = ppid.act(f"{path}/decision", {"decision": "settled", "reasons": "Sepakat melalui musyawarah."}, ATASAN, "dinkes", etag_of=path)
    assert settled.status_code == 422 and "musyawarah" in settled.get_json()["message"]
    missing_reason = ppid.act(f"{path}/decision", {"decision": "upheld"}, ATASAN, "dinkes", etag_of=path)
    assert missing_reason.status_code == 422
    stale = ppid.act(f"{path}/decision", decision, ATASAN, "dinkes", etag=f'"{kbr}.0"')
    assert stale.status_code == 412
    assert ppid.staff_get(path).get_json() == before
    done = ppid.act(f"{path}/decision", decision, ATASAN, "dinkes", etag_of=path)
    assert done.status_code == 200
    twice = ppid.act(f"{path}/decision", decision, ATASAN, "dinkes", etag_of=path)
    assert twice.status_code == 409


def test_dispute_recording_rules(ppid):
    number, token = rejected_request(ppid)
    ppid.clock.set(datetime(2026, 3, 20, 10, tzinfo=WIB))
    kbr = file(ppid, number, token).get_json()["number"]
    path = f"{OBJ}/{kbr}"
    ppid.act(f"{path}/decision", {"decision": "upheld", "reasons": "Pengecualian tetap berlaku."}, ATASAN, "dinkes", etag_of=path)
    ppid.clock.set(datetime(2026, 5, 4, 10, tzinfo=WIB))
    by_pelaksana = ppid.act(f"{path}/dispute", {"filed_on": "2026-04-01"}, PELAKSANA, "dinkes", etag_of=path)
    assert by_pelaksana.status_code == 403
    future = ppid.act(f"{path}/dispute", {"filed_on": "2026-05-05"}, etag_of=path)
    assert future.status_code == 422
    no_dispute = ppid.act(f"{path}/dispute/resolution", {"outcome": "granted", "resolved_on": "2026-05-04"}, etag_of=path)
    assert no_dispute.status_code == 404
    # Decided on Friday 20 March, a joint-leave day: day 0 is 25 March and the 14 working
    # days end on 15 April. A later filing is flagged, not refused: the Komisi rules on it.
    late = ppid.act(f"{path}/dispute", {"filed_on": "2026-04-16"}, etag_of=path)
    assert late.status_code == 201 and late.get_json()["dispute"]["within_window"] is False
    again = ppid.act(f"{path}/dispute", {"filed_on": "2026-04-16"}, etag_of=path)
    assert again.status_code == 409
    bad_date = ppid.act(f"{path}/dispute/resolution", {"outcome": "granted", "resolved_on": "2026-04-01"}, etag_of=path)
    assert bad_date.status_code == 422
    bad_outcome = ppid.act(f"{path}/dispute/resolution", {"outcome": "menang", "resolved_on": "2026-05-04"}, etag_of=path)
    assert bad_outcome.status_code == 422
    assert ppid.staff_get(path).get_json()["dispute"]["status"] == "filed"
