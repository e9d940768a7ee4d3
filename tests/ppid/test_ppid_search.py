"""Staff lists search with `q`, and every list, detail and export keeps to the officer's OPD.

Each test runs on SQLite and on PostgreSQL (the module's `ppid_env`).
"""

from __future__ import annotations

import csv
import io

import pytest

from services.common.listing import MAX_QUERY_LENGTH
from services.common.migrations import upgrade
from services.ppid.dip_models import DIP_SEARCH, DipEntry
from services.ppid.models import OBJECTION_SEARCH, REQUEST_SEARCH, Objection, Request
from tests.ppid.support import ATASAN, PELAKSANA, T0, UTAMA, PpidClient
from tests.support import search_plan

REQ = "/api/v1/requests"
DBD = "Data kasus demam berdarah (DBD) per kecamatan tahun 2025."
ROADS = "Daftar ruas jalan kabupaten yang diperbaiki tahun 2025."
SCHOOLS = "Jumlah sekolah dasar negeri dan gurunya tahun 2025."


@pytest.fixture(scope="module")
def cases(ppid_env):
    """Three requests, each in its own OPD; the DBD one at Dinkes."""
    ppid_env.clock.set(T0)
    client = PpidClient(ppid_env)
    return {
        "dbd": client.submit(requested_opd="dinkes", information=DBD)["number"],
        "roads": client.submit(requested_opd="dpupr", information=ROADS)["number"],
        "schools": client.submit(requested_opd="disdik", information=SCHOOLS)["number"],
    }


def _numbers(ppid, role=UTAMA, staff_opd=None, **query):
    response = ppid.staff_get(REQ, role, staff_opd, query_string={"page_size": 100, **query})
    assert response.status_code == 200, response.get_json()
    return [r["number"] for r in response.get_json()]


def test_q_finds_the_request_about_dbd_and_not_the_others(ppid, cases):
    # The finding: `?q=DBD` used to be ignored and every request came back.
    assert _numbers(ppid, q="DBD") == [cases["dbd"]]
    assert _numbers(ppid, q="dbd kecamatan") == [cases["dbd"]]
    assert _numbers(ppid, q="demam jalan") == []  # every word must match
    assert _numbers(ppid, q=cases["roads"]) == [cases["roads"]]
    assert _numbers(ppid, q="dpupr") == [cases["roads"]]  # the OPD code
    assert _numbers(ppid, q="sekol") == [cases["schools"]]  # the start of a word


def test_the_total_counts_what_q_found(ppid, cases):
    response = ppid.staff_get(REQ, query_string={"q": "2025", "page_size": 2})
    assert len(response.get_json()) == 2
    assert '"total": 3' in response.headers["X-Pagination"]


def test_an_empty_q_filters_nothing_and_an_overlong_one_is_refused(ppid, cases):
    every = _numbers(ppid)
    assert set(cases.values()) <= set(every)
    assert _numbers(ppid, q="") == every
    assert _numbers(ppid, q="   ") == every
    refused = ppid.staff_get(REQ, query_string={"q": "x" * (MAX_QUERY_LENGTH + 1)})
    assert refused.status_code == 422
    assert f"paling banyak {MAX_QUERY_LENGTH} karakter" in str(refused.get_json())


def test_a_search_stays_inside_the_officers_opd(ppid, cases):
    assert _numbers(ppid, PELAKSANA, "dinkes", q="DBD") == [cases["dbd"]]
    assert _numbers(ppid, PELAKSANA, "disdik", q="DBD") == []
    assert _numbers(ppid, PELAKSANA, "disdik", q="2025") == [cases["schools"]]


def test_an_opd_officer_cannot_reach_another_opds_request_by_list_detail_or_export(ppid, cases):
    dbd = cases["dbd"]
    for role in (PELAKSANA, ATASAN):
        assert dbd not in _numbers(ppid, role, "disdik")
        assert _numbers(ppid, role, "disdik", opd="dinkes") == []
        detail = ppid.staff_get(f"{REQ}/{dbd}", role, "disdik")
        assert detail.status_code == 403
        export = ppid.staff_get("/api/v1/registers/requests", role, "disdik",
                                query_string={"format": "csv", "date_from": "2026-01-01"})
        assert export.status_code == 200
        numbers = [row[0] for row in csv.reader(io.StringIO(export.get_data(as_text=True)))][1:]
        assert cases["schools"] in numbers and dbd not in numbers
        other = ppid.staff_get("/api/v1/registers/requests", role, "disdik",
                               query_string={"format": "csv", "opd": "dinkes"})
        assert other.status_code == 403
    # The same officer's own OPD, and the regency level, see it.
    assert ppid.staff_get(f"{REQ}/{dbd}", PELAKSANA, "dinkes").status_code == 200
    assert dbd in _numbers(ppid, ATASAN)  # a regency-level Atasan PPID
    # A Pelaksana account without its OPD sees no request at all.
    assert _numbers(ppid, PELAKSANA) == []
    assert ppid.staff_get(f"{REQ}/{dbd}", PELAKSANA).status_code == 403


def test_objections_are_found_by_their_requests_words(ppid, cases):
    response = ppid.staff_get("/api/v1/objections", query_string={"q": "DBD"})
    assert response.status_code == 200 and response.get_json() == []
    too_long = ppid.staff_get("/api/v1/objections", query_string={"q": "x" * (MAX_QUERY_LENGTH + 1)})
    assert too_long.status_code == 422


def test_the_openapi_documents_q_in_indonesian(ppid):
    spec = ppid.http.get("/openapi.json").get_json()
    for path in ("/api/v1/requests", "/api/v1/objections"):
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert "Kata pencarian" in parameters["q"]["description"]
        assert parameters["q"]["schema"]["maxLength"] == MAX_QUERY_LENGTH


@pytest.mark.parametrize(
    ("search", "entity", "index"),
    [
        (REQUEST_SEARCH, Request, "ix_requests_search"),
        (OBJECTION_SEARCH, Objection, "ix_objections_search"),
        (DIP_SEARCH, DipEntry, "ix_dip_entries_search"),
    ],
)
def test_postgresql_answers_q_from_the_index_the_migration_built(fresh_pg, search, entity, index):
    upgrade("ppid", fresh_pg)
    plan = search_plan(fresh_pg, search, entity.id, "DBD")
    assert index in plan, plan
