"""The access rules of LAPOR!, each tested with two OPDs' tokens (Dinas Kesehatan and Dinas
Pendidikan), a regency admin and the reporters' tokens:

1. an OPD officer sees and acts only on reports dispositioned to its OPD (lead or
   supporting), and only while the disposition is active;
2. only the lead OPD follows up, returns or completes; a supporting OPD adds progress;
3. an OPD never sees who an anonim or rahasia reporter is, not in the API, not in the names
   of the reporter's files and not in the events;
4. the regency's admins see every report;
5. the access token opens its one report;
6. a rahasia report cannot be followed and does not show that it exists to the public.
"""

from __future__ import annotations

import pytest

from tests.lapor.steps import (
    COMPLETION,
    FOLLOW_UP,
    PROGRESS,
    citizen_post,
    dispatch,
    events_of,
    opd_act,
    opd_get,
    opd_step,
    stored_file,
)
from tests.lapor.support import (
    ADMIN,
    LAPOR_ADMIN,
    LIAISON,
    PERSONAL_STRINGS,
    REPORT_BODY,
    lapor_staff,
)

DINKES, DISDIK = "dinkes", "disdik"


@pytest.fixture
def two_reports(lapor):
    """One report led by Dinkes and one led by Disdik, each supported by nobody."""
    dinkes = lapor.submit(title="Puskesmas tutup pada jam layanan")
    disdik = lapor.submit(title="Atap ruang kelas SD bocor")
    dispatch(lapor, dinkes["number"], {"lead_opd": DINKES})
    dispatch(lapor, disdik["number"], {"lead_opd": DISDIK})
    return dinkes, disdik


def _listed(lapor, opd: str) -> set[str]:
    response = lapor.http.get("/api/v1/opd/reports", headers=lapor_staff(LIAISON, opd),
                              query_string={"page_size": 100})
    assert response.status_code == 200
    return {row["number"] for row in response.get_json()}


def test_an_opd_sees_and_acts_on_its_own_dispositions_only(lapor, two_reports):
    dinkes, disdik = (r["number"] for r in two_reports)
    assert opd_get(lapor, dinkes, DINKES).status_code == 200
    assert opd_get(lapor, disdik, DISDIK).status_code == 200
    for number, stranger in ((dinkes, DISDIK), (disdik, DINKES)):
        refused = opd_get(lapor, number, stranger)
        assert refused.status_code == 404 and refused.get_json()["message"] == "Laporan tidak ditemukan."
        before = lapor.etag(number)
        for step, body in (("follow-up", FOLLOW_UP), ("return", {"reason": "Bukan urusan kami sama sekali."}),
                           ("progress", PROGRESS), ("completion", COMPLETION)):
            assert opd_act(lapor, number, step, body, stranger).status_code == 404, step
        assert lapor.http.get(f"/api/v1/admin/reports/{number}/dispositions",
                              headers=lapor_staff(LIAISON, stranger)).status_code == 404
        assert lapor.etag(number) == before
    assert dinkes in _listed(lapor, DINKES) and disdik not in _listed(lapor, DINKES)
    assert disdik in _listed(lapor, DISDIK) and dinkes not in _listed(lapor, DISDIK)


def test_a_supporting_opd_notes_progress_but_only_the_lead_acts(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number, {"lead_opd": DINKES, "supporting_opds": [DISDIK]})
    assert opd_get(lapor, number, DISDIK).status_code == 200
    assert number in _listed(lapor, DISDIK)
    assert opd_act(lapor, number, "follow-up", FOLLOW_UP, DISDIK).status_code == 403
    assert opd_act(lapor, number, "return", {"reason": "Bukan wewenang Disdik."}, DISDIK).status_code == 403
    opd_step(lapor, number, "follow-up", FOLLOW_UP, DINKES)
    assert opd_act(lapor, number, "progress", PROGRESS, DISDIK).status_code == 200
    assert opd_act(lapor, number, "completion", COMPLETION, DISDIK).status_code == 403
    assert opd_act(lapor, number, "completion", COMPLETION, DINKES).status_code == 200


def test_a_returned_report_leaves_the_opds_that_held_it(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number, {"lead_opd": DINKES, "supporting_opds": [DISDIK]})
    assert opd_act(lapor, number, "return", {"reason": "Ini urusan Dinas PUPR, bukan kami."}, DINKES).status_code == 200
    for opd in (DINKES, DISDIK):
        assert opd_get(lapor, number, opd).status_code == 404
        assert number not in _listed(lapor, opd)
    assert lapor.act(number, "redispatch", {"lead_opd": DISDIK}).status_code == 200
    assert opd_get(lapor, number, DISDIK).status_code == 200
    assert opd_get(lapor, number, DINKES).status_code == 404


@pytest.mark.parametrize("privacy", ["anonim", "rahasia"])
def test_an_opd_never_sees_who_an_anonim_or_rahasia_reporter_is(lapor, privacy):
    submitted = lapor.submit(privacy=privacy)
    number = submitted["number"]
    stored_file(lapor, number, "citizen", "KTP Budi Santoso.jpg")
    dispatch(lapor, number, {"lead_opd": DINKES, "supporting_opds": [DISDIK]})
    opd_step(lapor, number, "follow-up", FOLLOW_UP, DINKES)
    opd_step(lapor, number, "progress", PROGRESS, DISDIK)
    answers = [
        opd_get(lapor, number, DINKES),
        opd_get(lapor, number, DISDIK),
        lapor.http.get("/api/v1/opd/reports", headers=lapor_staff(LIAISON, DINKES)),
        lapor.http.get(f"/api/v1/admin/reports/{number}/dispositions", headers=lapor_staff(LIAISON, DINKES)),
        lapor.http.get(f"/api/v1/reports/{number}/attachments", headers=lapor_staff(LIAISON, DINKES)),
    ]
    for response in answers:
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        for personal in PERSONAL_STRINGS:
            assert personal not in text, (response.request.path, personal)
    assert opd_get(lapor, number, DINKES).get_json()["reporter"] is None

    # The events of the report say nothing of who reported it; of a rahasia report, not even
    # what it is about.
    bodies = " ".join(str(envelope) for _, envelope in events_of(lapor, number))
    for personal in PERSONAL_STRINGS:
        assert personal not in bodies
    if privacy == "rahasia":
        assert REPORT_BODY["title"] not in bodies and REPORT_BODY["description"] not in bodies


def test_the_regency_admins_see_every_report(lapor, two_reports):
    for role in (LAPOR_ADMIN, ADMIN):
        for submitted in two_reports:
            number = submitted["number"]
            assert lapor.http.get(f"/api/v1/opd/reports/{number}", headers=lapor_staff(role)).status_code == 200
            hops = lapor.http.get(f"/api/v1/admin/reports/{number}/dispositions", headers=lapor_staff(role))
            assert hops.status_code == 200 and len(hops.get_json()) == 1
        listed = lapor.http.get("/api/v1/opd/reports", headers=lapor_staff(role), query_string={"page_size": 100})
        assert {r["number"] for r in two_reports} <= {row["number"] for row in listed.get_json()}
    # Staff of other services reach nothing of LAPOR!.
    for headers in (lapor_staff("ppid_utama"), lapor_staff("humas", DINKES), {}):
        assert lapor.http.get("/api/v1/opd/reports", headers=headers).status_code in (401, 403)


def test_the_access_token_opens_its_one_report(lapor, two_reports):
    dinkes, disdik = two_reports
    for step, body in (("replies", {"message": "Apakah sudah ada jadwal?"}), ("rating", {"rating": 5}),
                       ("rejection", {"reason": "Belum ada perbaikan sama sekali."})):
        response = citizen_post(lapor, disdik["number"], step, dinkes["access_token"], body)
        assert response.status_code == 403, step
    assert citizen_post(lapor, dinkes["number"], "replies", dinkes["access_token"],
                        {"message": "Apakah sudah ada jadwal?"}).status_code == 200
    # A reporter's token is no staff credential.
    assert lapor.citizen("GET", "/api/v1/opd/reports", dinkes["access_token"]).status_code == 401


def test_a_rahasia_report_cannot_be_followed_and_stays_unknown(lapor):
    secret = lapor.submit(privacy="rahasia")["number"]
    for path in (f"/api/v1/reports/{secret}/followers", "/api/v1/reports/LPR-2026-999999/followers"):
        response = lapor.http.post(path, json={"email": "tetangga@example.org"})
        assert response.status_code == 404 and response.get_json()["message"] == "Laporan tidak ditemukan."
