"""The notifier's answers to input users sent that once gave 500s (finding: 500s on input
that should get a 4xx)."""

from __future__ import annotations


def test_a_new_opd_is_added_to_the_directory(client, auth_header):
    admin = auth_header("admin", sub="admin-1")
    body = {"code": "disbudpar", "name": "Dinas Kebudayaan dan Pariwisata",
            "short_name": "Disbudpar", "kind": "dinas"}
    created = client.post("/api/v1/directory/opds", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["active"] is True
    inactive = client.post("/api/v1/directory/opds", headers=admin,
                           json={**body, "code": "disbudpar2", "active": False})
    assert inactive.status_code == 201 and inactive.get_json()["active"] is False


def test_the_dashboard_refuses_dates_of_another_era(client, auth_header):
    admin = auth_header("admin", sub="admin-1")
    for query in ("from=0082-01-01T00:00:00%2B07:00", "at=0001-01-01T00:00:00%2B07:00",
                  "to=9999-12-31T23:59:59%2B07:00"):
        response = client.get(f"/api/v1/dashboard?{query}", headers=admin)
        assert response.status_code == 422, (query, response.get_json())
    fine = client.get("/api/v1/dashboard?from=2026-01-01T00:00:00%2B07:00", headers=admin)
    assert fine.status_code == 200
    assert fine.get_json()["period"]["from"].endswith("+07:00")


def test_huge_page_numbers_and_ids_are_4xx(client, auth_header):
    admin = auth_header("admin", sub="admin-1")
    assert client.get("/api/v1/directory/opds?page=99999999999999999999", headers=admin).status_code == 422
    assert client.get("/api/v1/directory/contacts/99999999999999999999", headers=admin).status_code == 404


def test_a_token_with_a_subject_longer_than_255_characters_is_refused(client, auth_header):
    response = client.get("/api/v1/inbox", headers=auth_header("opd_head", opd="dinkes", sub="x" * 256))
    assert response.status_code == 401
    assert client.get("/api/v1/inbox", headers=auth_header("opd_head", opd="dinkes", sub="x" * 255)).status_code == 200
