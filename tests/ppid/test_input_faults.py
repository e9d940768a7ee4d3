"""PPID's answers to input users sent that once gave 500s: huge page numbers and ids on the
public lists too, NUL characters in a search, nested bodies, dates of another era."""

from __future__ import annotations

from tests.ppid.support import UTAMA, staff_headers


def test_huge_page_numbers_are_a_422_on_staff_and_public_lists(ppid):
    for path in ("/api/v1/public/requests", "/api/v1/dip", "/api/v1/requests"):
        response = ppid.http.get(f"{path}?page=99999999999999999999", headers=staff_headers(UTAMA))
        assert response.status_code == 422, (path, response.get_json())
        assert response.get_json()["errors"]["page"]


def test_huge_ids_are_unknown_addresses(ppid):
    for huge in ("2147483648", "99999999999999999999"):
        assert ppid.http.get(f"/api/v1/dip/{huge}").status_code == 404
        assert ppid.http.get(f"/api/v1/reports/annual/{huge}", headers=staff_headers(UTAMA)).status_code == 404


def test_nul_characters_in_a_search_are_a_422(ppid):
    assert ppid.http.get("/api/v1/dip?q=a%00b").status_code == 422
    assert ppid.http.get("/api/v1/requests?q=a%00b", headers=staff_headers(UTAMA)).status_code == 422
    assert ppid.http.get("/api/v1/requests/PPID%00/notice").status_code == 404


def test_a_nested_body_is_a_400_not_a_crash(ppid):
    depth = 5000
    response = ppid.http.post("/api/v1/requests", data="[" * depth + "]" * depth,
                              content_type="application/json")
    assert response.status_code == 400


def test_dates_of_another_era_are_a_422(ppid):
    response = ppid.http.get("/api/v1/registers/requests?date_from=0001-01-01",
                             headers=staff_headers(UTAMA))
    assert response.status_code == 422, response.get_json()


def test_the_printed_notice_and_the_docs_page_name_what_they_may_load(ppid):
    from services.common.http import DOCUMENT_POLICY

    submitted = ppid.submit()
    number, token = submitted["number"], submitted["access_token"]
    assert ppid.notice(number, {"outcome": "granted", "info_format": "soft_copy",
                                "delivery_method": "email",
                                "letter_number": "045/PPID/III/2026"}).status_code == 201
    html = ppid.citizen("GET", f"/api/v1/requests/{number}/notice.html", token)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert html.headers["Content-Security-Policy"] == DOCUMENT_POLICY
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in html.get_data(as_text=True)
    docs = ppid.http.get("/docs")
    assert "script-src 'self' 'sha256-" in docs.headers["Content-Security-Policy"]
    assert docs.headers["X-Content-Type-Options"] == "nosniff"
