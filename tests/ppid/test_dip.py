"""The Daftar Informasi Publik: rules, the public list and staff upkeep with ETags."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

from services.common.auth import Principal
from services.common.errors import Forbidden
from services.common.migrations import upgrade
from services.common.scope import OpdScope
from services.ppid import dip, dip_api
from services.ppid.app import create_app
from services.ppid.config import PpidSettings
from services.ppid.dip_models import DipEntry

TODAY = date(2026, 3, 10)


# --- app ---------------------------------------------------------------------------------


@pytest.fixture
def app(database_url, make_settings):
    upgrade("ppid", database_url)
    app = create_app(make_settings(PpidSettings, "ppid", database_url))
    yield app
    app.extensions["simpul"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def entry_body(**overrides):
    body = {
        "category": "berkala",
        "title": "Laporan keuangan Dinas Kesehatan 2025",
        "summary": "Laporan realisasi anggaran dan neraca tahun anggaran 2025.",
        "opd": "dinkes",
        "holding_unit": "Sub Bagian Keuangan",
        "responsible": "Kepala Sub Bagian Keuangan",
        "made_when": "Februari 2026",
        "made_where": "Kuala Kapuas",
        "soft_copy": True,
        "hard_copy": True,
        "retention_period": "10 tahun",
    }
    body.update(overrides)
    return body


def exempt_body(**overrides):
    future = (datetime.now().date() + timedelta(days=365 * 2)).isoformat()
    values = dict(
        category="dikecualikan",
        title="Rekam medis pasien RSUD",
        summary="Catatan pemeriksaan dan pengobatan pasien.",
        exemption_clause="h",
        exemption_basis="UU 14/2008 Pasal 17 huruf h angka 2; UU 17/2023 tentang Kesehatan",
        consequence_test="Membuka rekam medis mengungkap riwayat kesehatan pribadi pasien; "
        "kerugiannya lebih besar daripada manfaat bagi publik.",
        consequence_test_date="2026-01-15",
        exempt_until=future,
    )
    values.update(overrides)
    return entry_body(**values)


# --- pure rules ------------------------------------------------------------------------


def test_clean_text_removes_controls_and_invisible_overrides():
    raw = "  Laporan\u202e  keuangan\x00\x07\t2025 \r\n kedua  "
    assert dip.clean_text(raw) == "Laporan keuangan 2025 kedua"
    assert dip.clean_text("a\r\n\r\n\r\n\r\nb  \n c", multiline=True) == "a\n\nb\nc"
    assert dip.clean_text("Cafe\u0301") == "Caf\u00e9"  # NFC


@pytest.mark.parametrize(
    ("category", "until", "expired", "effective"),
    [
        ("dikecualikan", TODAY, False, "dikecualikan"),  # lasts to the end of its day
        ("dikecualikan", TODAY - timedelta(days=1), True, "setiap_saat"),
        ("dikecualikan", TODAY + timedelta(days=1), False, "dikecualikan"),
        ("berkala", None, False, "berkala"),
    ],
)
def test_exemption_ends_after_its_last_day(category, until, expired, effective):
    assert dip.exemption_expired(category, until, TODAY) is expired
    assert dip.effective_category(category, until, TODAY) == effective


def _full(**overrides):
    values = {name: None for name in dip_api.EDITABLE}
    values.update(
        category="berkala", title="t", summary="s", opd="dinkes", responsible="r",
        made_when="2026", made_where="Kapuas", soft_copy=True, hard_copy=False,
        retention_period="5 tahun",
    )
    values.update(overrides)
    return values


def test_exempt_entry_needs_ground_test_and_end_date():
    errors = dip.validate(_full(category="dikecualikan"), TODAY, creating=True)
    assert set(errors) == {"exemption_clause", "exemption_basis", "consequence_test",
                           "exempt_until"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"exemption_clause": "k"}, "exemption_clause"),
        ({"consequence_test": "terlalu singkat"}, "consequence_test"),
        ({"exempt_until": TODAY}, "exempt_until"),
        ({"exempt_until": date(2056, 3, 11)}, "exempt_until"),
        ({"consequence_test_date": TODAY + timedelta(days=1)}, "consequence_test_date"),
    ],
)
def test_exemption_values_are_checked(overrides, field):
    values = _full(
        category="dikecualikan", exemption_clause="a", exemption_basis="Pasal 17 huruf a",
        consequence_test="x" * dip.MIN_CONSEQUENCE_TEST_LENGTH,
        exempt_until=date(2027, 1, 1),
    )
    assert dip.validate(values, TODAY, creating=True) == {}
    values.update(overrides)
    assert field in dip.validate(values, TODAY, creating=True)


def test_editing_an_ended_exemption_does_not_demand_a_new_end_date():
    values = _full(
        category="dikecualikan", exemption_clause="a", exemption_basis="Pasal 17 huruf a",
        consequence_test="x" * 40, exempt_until=TODAY - timedelta(days=30),
    )
    assert dip.validate(values, TODAY, changed={"title"}) == {}
    assert "exempt_until" in dip.validate(values, TODAY, changed={"exempt_until"})


def test_open_entries_refuse_exemption_fields_and_need_a_form():
    errors = dip.validate(_full(exemption_clause="a", soft_copy=False), TODAY,
                          changed={"exemption_clause"}, creating=True)
    assert set(errors) == {"exemption_clause", "soft_copy"}


def _staff(role: str, opd: str | None) -> Principal:
    return Principal(sub="u", name=None, roles=frozenset({role}), opd=opd)


def test_staff_scope():
    assert dip.staff_scope(_staff("ppid_utama", None)) == OpdScope.every()
    assert dip.staff_scope(_staff("ppid_utama", "diskominfo")) == OpdScope.every()
    assert dip.staff_scope(_staff("ppid_pelaksana", "dinkes")).allows("dinkes")
    assert not dip.staff_scope(_staff("ppid_pelaksana", "dinkes")).allows("disdik")
    with pytest.raises(Forbidden):
        dip.staff_scope(_staff("ppid_pelaksana", None))
    with pytest.raises(Forbidden):
        dip.staff_scope(_staff("humas", "dinkes"))
    with pytest.raises(Forbidden):
        dip.staff_scope(_staff("atasan_ppid", None))  # sees every request, keeps no DIP


# --- API ---------------------------------------------------------------------------------


def test_staff_keep_the_list_and_the_public_reads_it(client, auth_header):
    utama = auth_header("ppid_utama")
    dinkes = auth_header("ppid_pelaksana", opd="dinkes")

    created = client.post("/api/v1/dip", json=entry_body(opd="disdik"), headers=utama)
    assert created.status_code == 201, created.json
    assert created.headers["ETag"] == f'"dip-{created.json["id"]}-1"'
    assert created.headers["Location"] == f"/api/v1/dip/{created.json['id']}"

    # A Pelaksana's entry belongs to its own OPD when it names none.
    own = client.post("/api/v1/dip", json={k: v for k, v in entry_body().items() if k != "opd"},
                      headers=dinkes)
    assert own.status_code == 201 and own.json["opd"] == "dinkes"
    assert own.json["opd_name"] == "Dinas Kesehatan"
    assert client.post("/api/v1/dip", json=entry_body(opd="disdik"),
                       headers=dinkes).status_code == 403
    assert client.post("/api/v1/dip", json=entry_body(),
                       headers=auth_header("humas", opd="dinkes")).status_code == 403
    assert client.post("/api/v1/dip", json=entry_body()).status_code == 401

    exempt = client.post("/api/v1/dip", json=exempt_body(), headers=dinkes)
    assert exempt.status_code == 201, exempt.json
    assert exempt.json["exemption_clause_label"] == "mengungkap rahasia pribadi"
    assert exempt.json["effective_category"] == "dikecualikan"

    listing = client.get("/api/v1/dip")
    assert listing.status_code == 200
    assert {e["opd"] for e in listing.json} == {"disdik", "dinkes"}
    assert '"total": 3' in listing.headers["X-Pagination"]
    assert all("created_by" not in e for e in listing.json)
    assert [e["opd"] for e in client.get("/api/v1/dip?opd=disdik").json] == ["disdik"]
    assert [e["id"] for e in client.get("/api/v1/dip?category=dikecualikan").json] == [
        exempt.json["id"]
    ]
    assert len(client.get("/api/v1/dip?q=KEUANGAN").json) == 2
    assert client.get("/api/v1/dip?q=100%25").json == []  # a literal %, not a wildcard
    page = client.get("/api/v1/dip?page=2&page_size=2")
    assert len(page.json) == 1

    assert client.get("/api/v1/dip?opd=nowhere").status_code == 422
    assert client.get("/api/v1/dip?category=rahasia").status_code == 422
    one = client.get(f"/api/v1/dip/{own.json['id']}")
    assert one.status_code == 200 and one.headers["ETag"] == f'"dip-{own.json["id"]}-1"'
    assert client.get("/api/v1/dip/999999").status_code == 404
    catalogue = client.get("/api/v1/dip/categories").json
    assert set(catalogue["categories"]) == set(dip.CATEGORIES)
    assert list(catalogue["exemption_clauses"]) == list("abcdefghij")
    paths = client.get("/openapi.json").json["paths"]
    assert {"/api/v1/dip", "/api/v1/dip/{entry_id}", "/api/v1/dip/categories"} <= set(paths)


def test_bad_entries_are_refused_and_nothing_is_stored(client, auth_header):
    utama = auth_header("ppid_utama")
    incomplete = {k: v for k, v in exempt_body().items()
                  if k not in ("exemption_basis", "consequence_test", "exempt_until")}
    response = client.post("/api/v1/dip", json=incomplete, headers=utama)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"exemption_basis", "consequence_test",
                                            "exempt_until"}
    # A field error and the exemption's rules between fields come back in one answer.
    together = client.post("/api/v1/dip", json={**incomplete, "soft_copy": "ya"}, headers=utama)
    assert set(together.json["errors"]) == {"soft_copy", "exemption_basis", "consequence_test",
                                            "exempt_until"}
    past = client.post("/api/v1/dip", json=exempt_body(exempt_until="2020-01-01"),
                       headers=utama)
    assert past.status_code == 422 and "exempt_until" in past.json["errors"]

    unknown = client.post("/api/v1/dip", json=entry_body(secret="x"), headers=utama)
    assert unknown.status_code == 422
    assert unknown.json["errors"]["secret"] == ["Isian tidak dikenal."]
    wrong = client.post("/api/v1/dip", json=entry_body(category="rahasia"), headers=utama)
    assert wrong.json["errors"]["category"][0].startswith("Pilihan tidak dikenal")
    assert client.post("/api/v1/dip", json=entry_body(opd="nowhere"),
                       headers=utama).status_code == 422
    too_long = client.post("/api/v1/dip", json=entry_body(title="x" * 301), headers=utama)
    assert too_long.status_code == 422
    blank = client.post("/api/v1/dip", json=entry_body(title=" \u200b\x00 "), headers=utama)
    assert blank.status_code == 422
    bad_url = client.post("/api/v1/dip", json=entry_body(url="javascript:alert(1)"),
                          headers=utama)
    assert bad_url.status_code == 422 and "url" in bad_url.json["errors"]
    assert client.get("/api/v1/dip").json == []

    cleaned = client.post("/api/v1/dip",
                          json=entry_body(title="Laporan\u202e\x00  keuangan",
                                          summary="Baris satu\r\n\r\n\r\nBaris dua"),
                          headers=utama)
    assert cleaned.status_code == 201
    assert cleaned.json["title"] == "Laporan keuangan"
    assert cleaned.json["summary"] == "Baris satu\n\nBaris dua"


def test_changes_need_the_current_etag_and_the_right_opd(client, auth_header, app):
    utama = auth_header("ppid_utama")
    dinkes = auth_header("ppid_pelaksana", opd="dinkes")
    disdik = auth_header("ppid_pelaksana", opd="disdik")
    created = client.post("/api/v1/dip", json=exempt_body(), headers=dinkes).json
    url, etag = f"/api/v1/dip/{created['id']}", f'"dip-{created["id"]}-1"'

    assert client.patch(url, json={"title": "Baru"}, headers=dinkes).status_code == 428
    assert client.patch(url, json={"title": "Baru"},
                        headers=dinkes | {"If-Match": etag}).status_code == 200
    stale = client.patch(url, json={"title": "Lagi"}, headers=dinkes | {"If-Match": etag})
    assert stale.status_code == 412
    current = client.get(url)
    assert current.json["title"] == "Baru" and current.json["version"] == 2
    fresh = {"If-Match": current.headers["ETag"]}

    assert client.patch(url, json={"title": "X"}, headers=disdik | fresh).status_code == 403
    assert client.patch(url, json={"opd": "disdik"}, headers=dinkes | fresh).status_code == 403
    assert client.delete(url, headers=disdik | fresh).status_code == 403
    assert client.patch(url, json={"title": None}, headers=dinkes | fresh).status_code == 422
    assert client.get(url).json["version"] == 2

    # Declassifying drops the exemption record; the PPID Utama may move it to another OPD.
    moved = client.patch(url, json={"category": "setiap_saat", "opd": "disdik"},
                         headers=utama | fresh)
    assert moved.status_code == 200, moved.json
    assert moved.json["exemption_clause"] is None and moved.json["exempt_until"] is None
    assert moved.headers["ETag"] == f'"dip-{created["id"]}-3"'
    assert client.patch(url, json={"exemption_clause": "a"},
                        headers=utama | {"If-Match": moved.headers["ETag"]}).status_code == 422

    assert client.delete(url, headers=utama | fresh).status_code == 412
    assert client.delete(url, headers=utama).status_code == 428
    gone = client.delete(url, headers=disdik | {"If-Match": moved.headers["ETag"]})
    assert gone.status_code == 204
    assert client.get(url).status_code == 404


def test_an_ended_exemption_is_shown_as_open(client, auth_header, app):
    utama = auth_header("ppid_utama")
    created = client.post("/api/v1/dip", json=exempt_body(), headers=utama).json
    rt = app.extensions["simpul"]
    with rt.uow() as uow:
        uow.session.execute(update(DipEntry).where(DipEntry.id == created["id"])
                            .values(exempt_until=date(2025, 12, 31)))
        uow.commit()

    shown = client.get(f"/api/v1/dip/{created['id']}").json
    assert shown["category"] == "dikecualikan"
    assert shown["exemption_expired"] is True
    assert shown["effective_category"] == "setiap_saat"
    assert client.get("/api/v1/dip?category=dikecualikan").json == []
    assert [e["id"] for e in client.get("/api/v1/dip?category=setiap_saat").json] == [
        created["id"]
    ]
    # Correcting the wording of an ended exemption is allowed; extending it needs a future date.
    etag = {"If-Match": f'"dip-{created["id"]}-1"'}
    assert client.patch(f"/api/v1/dip/{created['id']}", json={"title": "Rekam medis"},
                        headers=utama | etag).status_code == 200
    etag = {"If-Match": f'"dip-{created["id"]}-2"'}
    assert client.patch(f"/api/v1/dip/{created['id']}", json={"exempt_until": "2025-12-31"},
                        headers=utama | etag).status_code == 422


def test_an_author_with_the_longest_allowed_subject_can_write(client, auth_header):
    # Tokens may carry a `sub` of up to 255 characters; the DIP once kept 100 and PostgreSQL
    # refused the write with a 500.
    author = auth_header("ppid_utama", sub="u" * 255)
    created = client.post("/api/v1/dip", json=entry_body(), headers=author)
    assert created.status_code == 201, created.json
    changed = client.patch(f"/api/v1/dip/{created.json['id']}", json={"title": "Judul baru"},
                           headers={**author, "If-Match": created.headers["ETag"]})
    assert changed.status_code == 200, changed.json
