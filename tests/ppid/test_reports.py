"""Registers, the annual report (Pasal 12), its PDF, and the public transparency figures.

One year of cases is built once per backend through the HTTP API, then read back:

| request | OPD    | what happened                                   | days | on time |
|---------|--------|--------------------------------------------------|------|---------|
| R1      | dinkes | granted in full, Thu 5 March                    | 3    | yes     |
| R2      | dinkes | rejected (Pasal 17 h), Tue 17 March, late        | 11   | no      |
| R3      | disdik | granted in part (Pasal 17 a), Wed 11 March      | 7    | yes     |
| R4      | -      | never assigned nor answered: overdue            | -    | no      |
| R5      | disdik | withdrawn Thu 5 March                           | -    | -       |
| R6      | dinkes | not held, Thu 5 March                           | 3    | yes     |

R2's applicant objects on grounds a and g; the Atasan of Dinkes upholds the rejection; the
applicant takes it to the Komisi Informasi, which closes it by mediation. R4's applicant
objects on ground c and gets no answer.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import openpyxl
import pytest

from services.ppid import domain, report_pdf, reports
from services.ppid.reports import DisputeFact, ObjectionFact, RequestFact
from tests.ppid.support import (
    ATASAN,
    PELAKSANA,
    PERSONAL_STRINGS,
    T0,
    UTAMA,
    WIB,
    PpidClient,
    staff_headers,
)

REPORT_TIME = datetime(2026, 6, 1, 9, 0, tzinfo=WIB)
REQ = "/api/v1/requests"


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, 0, tzinfo=WIB)


@pytest.fixture(scope="module")
def year(ppid_env):
    """The cases of the table above, built once per backend; returns their numbers."""
    c = PpidClient(ppid_env)
    clock = ppid_env.clock
    clock.set(T0)
    r1 = c.submit(requested_opd="dinkes")
    r2 = c.submit(requested_opd="dinkes")
    r3 = c.submit(requested_opd="disdik")
    r4 = c.submit()
    r5 = c.submit(requested_opd="disdik")
    r6 = c.submit(requested_opd="dinkes", occupation="=HYPERLINK(\"http://x\")")

    clock.set(at(3, 5))
    assert c.notice(r1["number"], role=PELAKSANA, opd="dinkes").status_code == 201
    assert c.notice(r6["number"], {"outcome": "not_held",
                                   "holder_body": "Kantor Pertanahan Kabupaten Kapuas"},
                    role=PELAKSANA, opd="dinkes").status_code == 201
    withdrawn = c.citizen("POST", f"{REQ}/{r5['number']}/withdrawal", r5["access_token"],
                          json={"reason": "Sudah mendapatkan data dari sumber lain."})
    assert withdrawn.status_code == 200, withdrawn.get_json()

    clock.set(at(3, 11))
    partial = c.notice(r3["number"], {
        "outcome": "partially_granted", "info_format": "soft_copy", "delivery_method": "email",
        "redacted_parts": "Nama dan alamat penerima bantuan",
        "exemption_clause": "a", "exemption_basis": "Pasal 17 huruf a",
        "consequence_test": "Membuka bagian ini menghambat penyidikan yang sedang berjalan.",
    }, role=PELAKSANA, opd="disdik")
    assert partial.status_code == 201, partial.get_json()

    clock.set(at(3, 17))
    rejected = c.notice(r2["number"], {
        "outcome": "rejected", "exemption_clause": "h",
        "exemption_basis": "Pasal 17 huruf h angka 2",
        "consequence_test": "Informasi memuat riwayat kesehatan pribadi pasien tertentu.",
    }, role=PELAKSANA, opd="dinkes")
    assert rejected.status_code == 201, rejected.get_json()

    clock.set(at(3, 25))
    statement = {"statement": "Saya keberatan atas jawaban atas permohonan saya."}
    o2 = c.citizen("POST", f"{REQ}/{r2['number']}/objections", r2["access_token"],
                   json={"grounds": ["a", "g"], **statement})
    assert o2.status_code == 201, o2.get_json()
    o4 = c.citizen("POST", f"{REQ}/{r4['number']}/objections", r4["access_token"],
                   json={"grounds": ["c"], **statement})
    assert o4.status_code == 201, o4.get_json()
    o2_path = f"/api/v1/objections/{o2.get_json()['number']}"

    clock.set(at(3, 26))
    decided = c.act(f"{o2_path}/decision",
                    {"decision": "upheld", "reasons": "Pengecualian telah diuji dengan benar."},
                    ATASAN, "dinkes", etag_of=o2_path)
    assert decided.status_code == 200, decided.get_json()
    clock.set(at(4, 2))
    filed = c.act(f"{o2_path}/dispute", {"filed_on": "2026-04-01"}, etag_of=o2_path)
    assert filed.status_code == 201, filed.get_json()
    clock.set(at(4, 10))
    resolved = c.act(f"{o2_path}/dispute/resolution",
                     {"outcome": "mediated", "resolved_on": "2026-04-10"}, etag_of=o2_path)
    assert resolved.status_code == 200, resolved.get_json()
    clock.set(REPORT_TIME)
    return {
        "numbers": [r["number"] for r in (r1, r2, r3, r4, r5, r6)],
        "tokens": [r["access_token"] for r in (r1, r2, r3, r4, r5, r6)],
        "objections": [o2.get_json()["number"], o4.get_json()["number"]],
    }


@pytest.fixture
def http(ppid_env, year):
    ppid_env.clock.set(REPORT_TIME)
    return ppid_env.client


# --- pure counting -----------------------------------------------------------------------


def _fact(days, *, outcome="granted", opd="dinkes", late=False, status="answered", clause=None):
    return RequestFact(number="x", opd=opd, received_date=date(2026, 3, 2), status=status,
                       outcome=outcome if days is not None else None, exemption_clause=clause,
                       extended=False, late=late, days_taken=days)


def test_days_taken_bands_have_inclusive_edges():
    facts = [_fact(d) for d in (0, 5, 6, 10, 11, 17, 18)] + [_fact(None, status="received")]
    figures = reports.request_figures(facts)
    assert figures["days_taken"]["bands"] == {"0-5": 2, "6-10": 2, "11-17": 2, ">17": 1}
    assert figures["total"] == 8 and figures["answered"] == 7
    assert figures["days_taken"]["median"] == 10 and figures["days_taken"]["max"] == 18


def test_empty_year_counts_nothing_and_rates_are_undefined():
    figures = reports.figures([], [], [])
    assert figures["requests"]["on_time_rate"] is None
    assert figures["requests"]["days_taken"]["average"] is None
    assert figures["objections"]["total"] == 0 and figures["disputes"]["total"] == 0


def test_per_opd_figures_follow_the_registry_and_put_unassigned_last(ppid_env):
    facts = [_fact(3, opd="dinkes"), _fact(12, opd="disdik", late=True),
             _fact(None, opd=None, status="received", late=True)]
    objections = [ObjectionFact("K1", "dinkes", ("a", "g"), "decided", "upheld", False)]
    disputes = [DisputeFact("dinkes", "resolved", "mediated", True)]
    rows = reports.by_opd(facts, objections, disputes, ppid_env.rt.opds)
    assert [r["opd"] for r in rows] == ["disdik", "dinkes", None]
    assert rows[-1]["name"] == reports.UNASSIGNED_LABEL
    assert rows[1]["objections"]["by_ground"]["g"] == 1
    assert rows[1]["disputes"]["outcomes"]["mediated"] == 1
    rates = reports.on_time_rates(facts, ppid_env.rt.opds)
    assert [(r["opd"], r["rate"], r["open_overdue"]) for r in rates] == [
        ("disdik", 0.0, 0), ("dinkes", 1.0, 0), (None, None, 1)
    ]


@pytest.mark.parametrize(
    ("subject", "bad"),
    [
        ("Data tenaga kesehatan per kecamatan 2025", False),
        ("Anggaran 2024 dan 2025", False),
        ("Sertifikat tanah milik Siti di Selat", True),
        ("Data pemohon 6203015203900001", True),
        ("Kontak 0812 5555 1234", True),
        ("Balas ke siti@example.org", True),
        ("Laporan SITI RAHMAWATI", True),
    ],
)
def test_public_subjects_must_not_identify_anyone(subject, bad):
    assert bool(reports.subject_problems(subject, "Siti Rahmawati")) is bad


def test_csv_cells_cannot_become_formulas():
    body = reports.to_csv([("a", "A")], [{"a": "=1+1"}, {"a": "@SUM(A1)"}, {"a": "biasa"}])
    assert body.decode("utf-8-sig").splitlines() == ["A", "'=1+1", "'@SUM(A1)", "biasa"]


# --- registers ---------------------------------------------------------------------------


def test_request_register_has_the_auditor_columns(http, year):
    response = http.get("/api/v1/registers/requests?date_from=2026-01-01&date_to=2026-12-31",
                        headers=staff_headers(UTAMA))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert [c["key"] for c in body["columns"]] == [k for k, _ in reports.REQUEST_REGISTER_COLUMNS]
    rows = {r["number"]: r for r in body["rows"]}
    assert list(rows) == year["numbers"]
    r1, r2, r3, r4, r5, r6 = (rows[n] for n in year["numbers"])
    assert r1["name"] == "Siti Rahmawati" and r1["phone"] == "+6281255551234"
    assert r1["received_date"] == "2026-03-02" and r1["notice_date"] == "2026-03-05"
    assert r1["held"] == "Dikuasai" and r1["form"] == "Softcopy" and r1["days_taken"] == 3
    assert r1["access"] == "Mendapatkan salinan" and r1["fee"] == 0
    assert r2["decision"] == domain.OUTCOMES["rejected"] and r2["days_taken"] == 11
    assert r2["rejection_reason"].startswith("Pasal 17 huruf h: mengungkap rahasia pribadi")
    assert r3["rejection_reason"].startswith("Sebagian dihitamkan: Nama dan alamat")
    assert r4["decision"] == "Dalam proses" and r4["notice_date"] is None
    assert r5["decision"] == "Dicabut pemohon"
    assert r6["held"] == "Tidak dikuasai"
    assert r6["rejection_reason"] == "Informasi dikuasai oleh Kantor Pertanahan Kabupaten Kapuas"


def test_registers_are_scoped_to_the_officers_opd(http, year):
    dinkes = http.get("/api/v1/registers/requests?date_from=2026-01-01",
                      headers=staff_headers(PELAKSANA, "dinkes")).get_json()
    assert [r["number"] for r in dinkes["rows"]] == [year["numbers"][i] for i in (0, 1, 5)]
    atasan = http.get("/api/v1/registers/objections?date_from=2026-01-01",
                      headers=staff_headers(ATASAN, "dinkes")).get_json()
    assert [r["number"] for r in atasan["rows"]] == [year["objections"][0]]
    assert http.get("/api/v1/registers/requests?opd=disdik",
                    headers=staff_headers(PELAKSANA, "dinkes")).status_code == 403
    assert http.get("/api/v1/registers/requests",
                    headers=staff_headers(PELAKSANA)).status_code == 403
    assert http.get("/api/v1/registers/requests",
                    headers=staff_headers("humas", "dinkes")).status_code == 403
    assert http.get("/api/v1/registers/requests").status_code == 401
    only_disdik = http.get("/api/v1/registers/requests?opd=disdik&date_from=2026-01-01",
                           headers=staff_headers(UTAMA)).get_json()
    assert len(only_disdik["rows"]) == 2
    march = http.get("/api/v1/registers/requests?date_from=2026-03-03&date_to=2026-03-31",
                     headers=staff_headers(UTAMA)).get_json()
    assert march["rows"] == []
    bad = http.get("/api/v1/registers/requests?date_from=2026-05-01&date_to=2026-04-01",
                   headers=staff_headers(UTAMA))
    assert bad.status_code == 422
    assert http.get("/api/v1/registers/requests?format=pdf",
                    headers=staff_headers(UTAMA)).status_code == 422


def test_objection_register_shows_the_atasan_decision_and_the_applicants_reaction(http, year):
    body = http.get("/api/v1/registers/objections?date_from=2026-01-01",
                    headers=staff_headers(UTAMA)).get_json()
    o2, o4 = body["rows"]
    assert o2["request_number"] == year["numbers"][1] and o2["applicant"] == "Siti Rahmawati"
    assert o2["grounds"].startswith("a. Penolakan") and "; g. " in o2["grounds"]
    assert o2["decision"] == domain.DECISIONS["upheld"] and o2["decision_date"] == "2026-03-26"
    assert o2["reaction"] == "Mengajukan sengketa ke Komisi Informasi pada 2026-04-01"
    assert o4["request_number"] == year["numbers"][3] and o4["decision"] is None
    assert o4["opd"] is None and o4["reaction"] is not None  # the answer lapsed


def test_exports_are_csv_and_xlsx_and_every_read_is_logged(http, year):
    csv_response = http.get("/api/v1/registers/requests?date_from=2026-01-01&format=csv",
                            headers=staff_headers(UTAMA, sub="auditor-1"))
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    assert "attachment;" in csv_response.headers["Content-Disposition"]
    assert csv_response.headers["Cache-Control"] == "no-store"
    table = list(csv.reader(io.StringIO(csv_response.data.decode("utf-8-sig"))))
    assert table[0][:5] == ["Nomor Registrasi", "Tanggal Permohonan", "Waktu Diterima",
                            "Hari ke-0 (Awal Penghitungan)", "Nama Pemohon"]
    assert len(table) == 7
    occupation = [label for _, label in reports.REQUEST_REGISTER_COLUMNS].index("Pekerjaan")
    assert table[6][occupation] == "'=HYPERLINK(\"http://x\")"

    xlsx = http.get("/api/v1/registers/objections?date_from=2026-01-01&format=xlsx",
                    headers=staff_headers(UTAMA, sub="auditor-1"))
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Nomor Registrasi Keberatan"
    assert [row[0] for row in values[1:]] == year["objections"]

    request_register = http.get(
        "/api/v1/registers/requests?date_from=2026-01-01&format=xlsx",
        headers=staff_headers(UTAMA, sub="auditor-1"),
    )
    sheet = openpyxl.load_workbook(io.BytesIO(request_register.data)).active
    cell = sheet.cell(row=7, column=occupation + 1)
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s"

    # The applicant sees who exported their data.
    log = http.get(f"{REQ}/{year['numbers'][1]}/personal-data-access",
                   headers={"X-Access-Token": year["tokens"][1]}).get_json()
    purposes = [(e["purpose"], e["what"]) for e in log]
    assert ("export_register", "Mengunduh register permohonan") in purposes
    assert ("export_objection_register", "Mengunduh register keberatan") in purposes


# --- the annual report -------------------------------------------------------------------


def test_annual_report_counts_the_year(http, year):
    response = http.get("/api/v1/reports/annual/2026")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["year"] == 2026 and report["provisional"] is True
    req = report["total"]["requests"]
    assert req["total"] == 6 and req["answered"] == 4 and req["extended"] == 0
    assert req["by_status"] == {"received": 1, "assigned": 0, "answered": 4, "withdrawn": 1}
    assert (req["granted_in_full"], req["granted_in_part"], req["rejected"],
            req["not_held"], req["not_documented"]) == (1, 1, 1, 1, 0)
    assert req["rejection_reasons"] == [
        {"clause": "h", "label": "mengungkap rahasia pribadi", "count": 1}
    ]
    assert [r["clause"] for r in req["redaction_reasons"]] == ["a"]
    assert req["days_taken"] == {"average": 6.0, "median": 5.0, "max": 11,
                                 "bands": {"0-5": 2, "6-10": 1, "11-17": 1, ">17": 0}}
    assert (req["on_time"], req["late_answers"], req["open_overdue"]) == (3, 1, 1)
    assert req["on_time_rate"] == 0.75
    objections = report["total"]["objections"]
    assert objections["total"] == 2
    assert objections["by_ground"] == {"a": 1, "b": 0, "c": 1, "d": 0, "e": 0, "f": 0, "g": 1}
    assert objections["decisions"]["upheld"] == 1 and objections["late"] == 1
    disputes = report["total"]["disputes"]
    assert disputes["total"] == 1 and disputes["outcomes"]["mediated"] == 1
    assert disputes["by_status"] == {"filed": 0, "resolved": 1}

    assert [o["opd"] for o in report["opds"]] == ["disdik", "dinkes", None]
    dinkes = report["opds"][1]
    assert dinkes["requests"]["total"] == 3 and dinkes["disputes"]["total"] == 1
    assert [r["days_taken"] for r in report["requests"]] == [3, 11, 7, None, None, 3]
    text = json.dumps(report)
    for personal in PERSONAL_STRINGS:
        assert personal not in text

    one = http.get("/api/v1/reports/annual/2026?opd=dinkes").get_json()
    assert one["opd"] == "dinkes" and one["total"]["requests"]["total"] == 3
    assert http.get("/api/v1/reports/annual/2025").get_json()["total"]["requests"]["total"] == 0
    assert http.get("/api/v1/reports/annual/1999").status_code == 422
    assert http.get("/api/v1/reports/annual/2026?opd=nowhere").status_code == 422


def test_annual_report_pdf_has_the_figures_and_charts(http, year, ppid_env):
    response = http.get("/api/v1/reports/annual/2026.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    report = http.get("/api/v1/reports/annual/2026").get_json()
    raw = report_pdf.render_annual_report(report, generated_at=REPORT_TIME, compress=False)
    for text in (b"LAPORAN LAYANAN INFORMASI PUBLIK", b"Hasil pemberitahuan tertulis",
                 b"Permohonan per OPD", b"Keberatan menurut alasan", b"Dinas Kesehatan",
                 b"Dikabulkan seluruhnya"):
        assert text in raw, text
    assert raw.count(b"/Type /Page\n") + raw.count(b"/Type /Page ") >= 2
    dinkes = http.get("/api/v1/reports/annual/2026.pdf?opd=dinkes")
    assert dinkes.status_code == 200 and "dinkes" in dinkes.headers["Content-Disposition"]
    empty = report_pdf.render_annual_report(
        http.get("/api/v1/reports/annual/2025").get_json(), generated_at=REPORT_TIME,
        compress=False,
    )
    assert b"Tidak ada data" in empty


# --- public transparency -----------------------------------------------------------------


def test_public_list_has_no_personal_data(http, year):
    response = http.get("/api/v1/public/requests?year=2026&page_size=100")
    assert response.status_code == 200
    rows = response.get_json()
    assert [r["number"] for r in rows] == list(reversed(year["numbers"]))
    assert '"total": 6' in response.headers["X-Pagination"]
    text = json.dumps(rows)
    for personal in (*PERSONAL_STRINGS, "Salinan laporan realisasi", "Bahan kajian"):
        assert personal not in text
    r2 = next(r for r in rows if r["number"] == year["numbers"][1])
    assert r2["outcome"] == "rejected" and r2["days_taken"] == 11 and r2["late"] is True
    assert set(r2) == {"number", "received_date", "opd", "opd_name", "subject", "status",
                       "status_label", "outcome", "outcome_label", "days_taken", "late"}
    assert len(http.get("/api/v1/public/requests?opd=disdik").get_json()) == 2
    assert len(http.get("/api/v1/public/requests?status=withdrawn").get_json()) == 1
    assert http.get("/api/v1/public/requests?status=lost").status_code == 422


def test_staff_publish_a_subject_line_that_names_no_one(http, year):
    number = year["numbers"][0]
    url = f"/api/v1/public/requests/{number}/subject"
    dinkes = staff_headers(PELAKSANA, "dinkes")
    for bad in ("Laporan keuangan untuk Siti", "NIK 6203015203900001"):
        refused = http.put(url, json={"subject": bad}, headers=dinkes)
        assert refused.status_code == 422 and refused.get_json()["errors"]["subject"]
    assert http.put(url, json={"subject": "Laporan keuangan"},
                    headers=staff_headers(PELAKSANA, "disdik")).status_code == 403
    assert http.put(url, json={"subject": "Laporan keuangan"}).status_code == 401
    assert http.put("/api/v1/public/requests/PPID-2026-999999/subject",
                    json={"subject": "Laporan"}, headers=dinkes).status_code == 404
    ok = http.put(url, json={"subject": "  Laporan realisasi anggaran\u202e 2025 "},
                  headers=dinkes)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["subject"] == "Laporan realisasi anggaran 2025"
    again = http.put(url, json={"subject": "Laporan realisasi anggaran Dinkes 2025"},
                     headers=staff_headers(UTAMA))
    assert again.status_code == 200
    listed = http.get("/api/v1/public/requests?opd=dinkes").get_json()
    assert {r["number"]: r["subject"] for r in listed}[number] == (
        "Laporan realisasi anggaran Dinkes 2025"
    )


def test_on_time_rates_per_opd(http, year):
    body = http.get("/api/v1/public/on-time?year=2026").get_json()
    assert body["regency"]["answered"] == 4 and body["regency"]["rate"] == 0.75
    rates = {r["opd"]: r for r in body["opds"]}
    assert rates["dinkes"]["answered"] == 3 and rates["dinkes"]["on_time"] == 2
    assert rates["dinkes"]["rate"] == pytest.approx(0.6667)
    assert rates["disdik"]["rate"] == 1.0
    assert rates[None]["open_overdue"] == 1 and rates[None]["rate"] is None
    assert http.get("/api/v1/public/on-time").get_json()["year"] == 2026
