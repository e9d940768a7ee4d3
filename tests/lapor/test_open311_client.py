"""An Open311 client that knows only the GeoReport v2 document (wiki.open311.org/GeoReport_v2)
and FixMyStreet's updates feed: it reads JSON and XML by the specification's names, files a
request with an API key, follows it by id and by token, lists with the filters, and sees
its status go from open to closed. No name of this service's own API is used here."""

from __future__ import annotations

import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from tests.lapor.public_seed import SECRETS, T0, seed_report
from tests.lapor.support import backend_env

KEY = "kunci-mitra-uji-0123456789"
BASE = "/open311/v2"
DAY = timedelta(days=1)
# GeoReport v2, "GET Service Requests", response fields in the document's order.
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
                  "long", "media_url"]
CITIZEN = {"first_name": "Dewi", "last_name": "Lestari", "email": "dewi.lestari@example.org",
           "phone": "0812-3333-2211"}
CITIZEN_TRACES = ("Dewi", "Lestari", "dewi.lestari", "3333-2211", "33332211")
# Where GeoReport's lists keep their items, in XML: root element, item element.
XML_LISTS = {"service_requests": "request", "services": "service", "errors": "error",
             "service_request_updates": "request_update"}


class GeoReportClient:
    """What a civic app does: build a URL from the endpoint and the format, read the answer."""

    def __init__(self, http, fmt: str):
        self.http = http
        self.fmt = fmt

    def _read(self, response):
        if self.fmt == "json":
            assert response.mimetype == "application/json"
            return json.loads(response.get_data())
        assert response.mimetype == "text/xml"
        assert response.get_data().startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        root = ElementTree.fromstring(response.get_data())
        if root.tag in XML_LISTS:
            assert all(child.tag == XML_LISTS[root.tag] for child in root)
            return [_element(child) for child in root]
        return {root.tag: _element(root)}

    def get(self, path: str, expect: int = 200, **params):
        response = self.http.get(f"{BASE}/{path}.{self.fmt}", query_string=params)
        assert response.status_code == expect, response.get_data(as_text=True)
        return self._read(response), response

    def post(self, path: str, form: dict, expect: int = 201):
        response = self.http.post(f"{BASE}/{path}.{self.fmt}", data=form)
        assert response.status_code == expect, response.get_data(as_text=True)
        return self._read(response), response

    def discovery(self):
        document, _ = self.get("discovery")
        return document["discovery"] if self.fmt == "xml" else document

    def create(self, **form):
        return self.post("requests", {"api_key": KEY, **form})

    def request(self, service_request_id: str) -> dict:
        (found,), _ = self.get(f"requests/{service_request_id}")
        return found

    def requests(self, **params) -> list[dict]:
        return self.get("requests", **params)[0]


def _element(element) -> object:
    children = list(element)
    if not children:
        return element.text
    if element.tag in ("endpoints", "formats", "attributes", "values"):
        return [_element(child) for child in children]
    return {child.tag: _element(child) for child in children}


def number(value) -> float:
    return float(value)


def text(value) -> str:
    """A GeoReport value as text: JSON false is XML "false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lapor_env(request, tmp_path_factory):
    with backend_env(request.param, tmp_path_factory, LAPOR_OPEN311_API_KEYS=f"kunci-lain,{KEY}") as env:
        env.clock.set(T0)
        env.seeded = {
            "closed": seed_report(env.rt, 11, status="completed", category="kesehatan", lead_opd="dinkes",
                                  latitude=-3.01, longitude=114.38, submitted_at=T0 - 2 * DAY,
                                  completed_at=T0 - DAY,
                                  history=(("submitted", T0 - 2 * DAY, {}),
                                           ("completed", T0 - DAY, {"actor_opd": "dinkes"}))),
            "rahasia": seed_report(env.rt, 12, privacy="rahasia", category="kesehatan",
                                   latitude=-3.01, longitude=114.38, submitted_at=T0 - DAY),
        }
        yield env


@pytest.fixture(params=["json", "xml"])
def client(request, lapor_env) -> GeoReportClient:
    lapor_env.clock.set(T0)
    return GeoReportClient(lapor_env.client, request.param)


def file_one(client, **extra) -> str:
    form = {"service_code": "infrastruktur", "lat": "-3.0", "long": "114.39",
            "address_string": "Jl. Pemuda, depan pasar",
            "description": "Jalan berlubang besar di depan pasar, membahayakan pengendara.",
            **CITIZEN, **extra}
    (created,), _ = client.create(**form)
    return created["service_request_id"]


def test_discovery_names_the_specification_and_both_formats(client):
    discovery = client.discovery()
    (endpoint,) = discovery["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert discovery["changeset"] and discovery["contact"]


def test_services_come_from_the_categories(client):
    services, _ = client.get("services")
    codes = [service["service_code"] for service in services]
    assert "infrastruktur" in codes and "lainnya" in codes
    for service in services:
        assert text(service["metadata"]) == "false"
        assert service["type"] == "realtime"
        assert service["service_name"]
        assert set(service) >= {"service_code", "service_name", "description", "metadata", "type",
                                "keywords", "group"}
    definition, _ = client.get("services/infrastruktur")
    if client.fmt == "xml":
        definition = definition["service_definition"]
    assert definition["service_code"] == "infrastruktur"
    assert not definition["attributes"]
    errors, _ = client.get("services/tidak_ada", expect=404)
    assert text(errors[0]["code"]) == "404" and errors[0]["description"]


def test_a_request_is_filed_with_a_key_and_read_by_id_and_token(client, lapor_env):
    (created,), response = client.create(
        service_code="infrastruktur", lat="-3.0", long="114.39", address_string="Jl. Pemuda",
        description="Lampu penerangan jalan padam di sepanjang Jl. Pemuda.", **CITIZEN)
    service_request_id = created["service_request_id"]
    assert service_request_id.startswith("LPR-")
    assert created["service_notice"]

    by_token, _ = client.get(f"tokens/{service_request_id}")
    assert by_token[0]["service_request_id"] == service_request_id

    request = client.request(service_request_id)
    assert list(request) == REQUEST_FIELDS
    assert request["status"] == "open"
    assert request["service_code"] == "infrastruktur"
    assert request["description"] == "Lampu penerangan jalan padam di sepanjang Jl. Pemuda."
    assert request["requested_datetime"] == "2026-03-02T09:00:00+07:00"
    assert (number(request["lat"]), number(request["long"])) == (-3.0, 114.39)
    assert request["address"] == "Jl. Pemuda"
    assert text(request["media_url"]) == ""
    assert "Admin LAPOR!" in request["agency_responsible"]
    for trace in CITIZEN_TRACES:
        assert trace not in json.dumps(request)
        assert trace not in response.get_data(as_text=True)


@pytest.mark.parametrize("form, status, field", [
    ({"api_key": "salah"}, 403, None),
    ({"api_key": ""}, 403, None),
    ({"service_code": "tidak_ada"}, 400, "service_code"),
    ({"lat": "", "long": "", "address_string": ""}, 400, None),
    ({"lat": "-6.2", "long": "106.8"}, 400, None),
    ({"description": "pendek"}, 400, "description"),
    ({"first_name": "", "last_name": ""}, 400, "first_name"),
    ({"email": "", "phone": ""}, 400, None),
    ({"description": "Jalan rusak. " * 500}, 400, "description"),
])
def test_a_request_that_cannot_be_filed_is_an_open311_error(client, lapor_env, form, status, field):
    base = {"api_key": KEY, "service_code": "infrastruktur", "lat": "-3.0", "long": "114.39",
            "description": "Jalan berlubang besar di depan pasar.", **CITIZEN}
    errors, _ = client.post("requests", {**base, **form}, expect=status)
    assert errors and all(text(error["code"]) == str(status) for error in errors)
    if field:
        assert any(error["description"].startswith(f"{field}:") for error in errors)


def test_a_long_description_is_filed_whole_and_titled_by_its_first_words(client, lapor_env):
    description = "Jalan di depan pasar berlubang dan tergenang setiap hujan turun " * 6
    service_request_id = file_one(client, description=description)
    assert client.request(service_request_id)["description"] == description.strip()


def test_lists_filter_by_id_code_dates_and_status(client, lapor_env):
    seeded = lapor_env.seeded
    mine = file_one(client, service_code="kesehatan")
    both = client.requests(service_request_id=f"{mine},{seeded['closed']},{seeded['rahasia']}")
    assert {r["service_request_id"] for r in both} == {mine, seeded["closed"]}

    health = client.requests(service_code="kesehatan")
    assert {mine, seeded["closed"]} <= {r["service_request_id"] for r in health}
    assert all(r["service_code"] == "kesehatan" for r in health)

    closed = client.requests(status="closed")
    assert seeded["closed"] in {r["service_request_id"] for r in closed}
    assert all(r["status"] == "closed" for r in closed)
    assert mine not in {r["service_request_id"] for r in closed}
    opened = client.requests(status="open")
    assert mine in {r["service_request_id"] for r in opened}

    earlier = client.requests(start_date="2026-02-27T00:00:00+07:00", end_date="2026-03-01T00:00:00+07:00")
    assert [r["service_request_id"] for r in earlier] == [seeded["closed"]]
    assert seeded["rahasia"] not in {r["service_request_id"] for r in client.requests()}


def test_a_closed_request_shows_closed_with_notes_from_the_public_timeline(client, lapor_env):
    request = client.request(lapor_env.seeded["closed"])
    assert request["status"] == "closed"
    assert request["status_notes"] == "OPD menyatakan laporan selesai ditindaklanjuti"
    assert request["agency_responsible"] == "Dinas Kesehatan"


def test_open_becomes_closed_when_the_report_is_completed(client, lapor_env):
    service_request_id = file_one(client)
    assert client.request(service_request_id)["status"] == "open"
    from sqlalchemy import update

    from services.lapor.models import Report

    with lapor_env.rt.uow() as uow:
        uow.session.execute(update(Report).where(Report.number == service_request_id)
                            .values(status="completed", lead_opd="dpupr", completed_at=T0 + DAY))
        uow.commit()
    request = client.request(service_request_id)
    assert request["status"] == "closed"
    assert request["agency_responsible"].startswith("Dinas Pekerjaan Umum")


def test_rahasia_reports_do_not_exist_for_open311(client, lapor_env):
    errors, _ = client.get(f"requests/{lapor_env.seeded['rahasia']}", expect=404)
    assert text(errors[0]["code"]) == "404"
    client.get(f"tokens/{lapor_env.seeded['rahasia']}", expect=404)
    client.get("requests/LPR-2026-999999", expect=404)


def test_updates_feed_in_fixmystreet_style(client, lapor_env):
    updates, _ = client.get("servicerequestupdates", start_date="2026-02-28T00:00:00+07:00",
                            end_date="2026-03-02T00:00:00+07:00")
    closed = [u for u in updates if u["service_request_id"] == lapor_env.seeded["closed"]]
    assert [u["status"] for u in closed] == ["open", "closed"]
    for update in closed:
        assert set(update) >= {"update_id", "service_request_id", "status", "updated_datetime", "description"}
        assert update["updated_datetime"].endswith("+07:00")
    assert lapor_env.seeded["rahasia"] not in {u["service_request_id"] for u in updates}
    body = json.dumps(updates)
    for secret in SECRETS:
        assert secret not in body


@pytest.mark.parametrize("path, params, status", [
    ("requests", {"start_date": "kemarin"}, 400),
    ("requests", {"start_date": "2026-03-01T00:00:00"}, 400),
    ("requests", {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, 400),
    ("requests", {"status": "pending"}, 400),
    ("requests", {"start_date": "9999-12-31T23:00:00-05:00"}, 400),
    ("requests", {"end_date": "0001-01-01T00:00:00+05:00"}, 400),
    ("requests", {"service_request_id": ",".join(str(n) for n in range(200))}, 400),
    ("requests", {"service_code": "x" * 500}, 400),
    ("tidak-ada", {}, 404),
])
def test_bad_queries_answer_in_the_open311_error_shape(client, path, params, status):
    errors, _ = client.get(path, expect=status, **params)
    assert text(errors[0]["code"]) == str(status) and errors[0]["description"]


def test_a_wrong_method_is_an_open311_error(lapor_env):
    response = lapor_env.client.put(f"{BASE}/requests.json")
    assert response.status_code == 405
    assert response.get_json()[0]["code"] == 405
    response = lapor_env.client.delete(f"{BASE}/services.xml")
    assert response.status_code == 405
    assert ElementTree.fromstring(response.get_data()).tag == "errors"


def test_an_open311_client_follows_the_report_through_dispatch_follow_up_and_completion(client, lapor_env):
    from tests.lapor.support import LIAISON, lapor_staff

    http = lapor_env.client
    service_request_id = file_one(client)

    def act(path: str, body: dict, headers: dict, etag_from: str) -> None:
        etag = http.get(etag_from, headers=headers).headers["ETag"]
        response = http.post(path, json=body, headers={**headers, "If-Match": etag})
        assert response.status_code == 200, response.get_json()

    admin = lapor_staff()
    liaison = lapor_staff(LIAISON, "dpupr")
    admin_view = f"/api/v1/admin/reports/{service_request_id}"
    opd_view = f"/api/v1/opd/reports/{service_request_id}"
    act(f"{admin_view}/dispatch", {"lead_opd": "dpupr"}, admin, admin_view)
    request = client.request(service_request_id)
    assert request["status"] == "open"
    assert request["agency_responsible"].startswith("Dinas Pekerjaan Umum")

    act(f"{opd_view}/follow-up", {"response": "Tim akan menambal lubang pekan ini.",
                                  "plan": "Penambalan dengan aspal dingin."}, liaison, opd_view)
    assert client.request(service_request_id)["status_notes"].startswith("Tim akan menambal lubang pekan ini.")

    act(f"{opd_view}/completion", {"summary": "Lubang sudah ditambal pada 5 Maret."}, liaison, opd_view)
    request = client.request(service_request_id)
    assert request["status"] == "closed"
    assert request["status_notes"] == "Lubang sudah ditambal pada 5 Maret."
    closed_ids = {r["service_request_id"] for r in client.requests(status="closed")}
    assert service_request_id in closed_ids


def test_media_url_is_empty_unless_an_opd_made_a_file_public(client, lapor_env):
    from services.lapor.models import Attachment, Report, ReportMessage

    rt = lapor_env.rt
    number = seed_report(rt, 13 if client.fmt == "json" else 14, status="completed", lead_opd="dinkes",
                         messages=(("completion", "opd", "Selesai diperbaiki.", True, T0),
                                   ("note", "opd", "Catatan dalam.", False, T0)))
    assert text(client.request(number)["media_url"]) == ""
    with rt.uow() as uow:
        report = uow.session.query(Report).filter_by(number=number).one()
        public, internal = uow.session.query(ReportMessage).filter_by(report_id=report.id).order_by(
            ReportMessage.id).all()
        for message, name in ((public, "hasil.jpg"), (internal, "dalam.jpg")):
            uow.session.add(Attachment(report_id=report.id, message_id=message.id, key=f"k/{name}", size=10,
                                       content_type="image/jpeg", sha256="0" * 64, filename=name,
                                       uploaded_at=T0, uploaded_by="opd"))
        uow.commit()
        public_file = uow.session.query(Attachment).filter_by(report_id=report.id, filename="hasil.jpg").one().id
    media_url = client.request(number)["media_url"]
    assert media_url == f"http://localhost/api/v1/public/reports/{number}/attachments/{public_file}"


def test_a_rejected_answer_opens_the_request_again_and_a_rating_closes_it(client, lapor_env):
    from tests.lapor.support import LIAISON, lapor_staff, submit_report

    http = lapor_env.client
    submitted = submit_report(http, name="Dewi Lestari", email="dewi.lestari@example.org",
                              phone="0812-3333-2211", privacy="anonim")
    service_request_id, token = submitted["number"], submitted["access_token"]
    admin, liaison = lapor_staff(), lapor_staff(LIAISON, "dpupr")
    admin_view = f"/api/v1/admin/reports/{service_request_id}"
    opd_view = f"/api/v1/opd/reports/{service_request_id}"

    def act(path: str, body: dict, headers: dict, etag_from: str | None = None) -> None:
        lapor_env.clock.advance(hours=1)
        if etag_from is not None:
            headers = {**headers, "If-Match": http.get(etag_from, headers=headers).headers["ETag"]}
        response = http.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.get_json()

    act(f"{admin_view}/dispatch", {"lead_opd": "dpupr"}, admin, admin_view)
    act(f"{opd_view}/follow-up", {"response": "Tim meninjau lokasi besok pagi.",
                                  "plan": "Penambalan lubang jalan."}, liaison, opd_view)
    act(f"{opd_view}/completion", {"summary": "Lubang sudah ditambal."}, liaison, opd_view)
    assert client.request(service_request_id)["status"] == "closed"

    citizen = {"X-Access-Token": token}
    act(f"/api/v1/reports/{service_request_id}/rejection",
        {"reason": "ALASAN-PENOLAKAN: lubang di sisi lain belum ditambal."}, citizen)
    request = client.request(service_request_id)
    assert request["status"] == "open"
    assert request["status_notes"] == "Pelapor menolak jawaban; laporan dibuka kembali"

    act(f"{opd_view}/completion", {"summary": "Sisi lain juga sudah ditambal."}, liaison, opd_view)
    act(f"/api/v1/reports/{service_request_id}/rating", {"rating": 5, "comment": "KOMENTAR-PELAPOR"}, citizen)
    request = client.request(service_request_id)
    assert request["status"] == "closed"
    assert request["status_notes"] == "Laporan ditutup"

    updates, response = client.get("servicerequestupdates", start_date="2026-03-01T00:00:00+07:00",
                                    end_date="2026-03-03T00:00:00+07:00")
    mine = [u["status"] for u in updates if u["service_request_id"] == service_request_id]
    assert mine[-1] == "closed" and "open" in mine
    everything = response.get_data(as_text=True) + json.dumps(client.request(service_request_id))
    for secret in ("ALASAN-PENOLAKAN", "KOMENTAR-PELAPOR", *CITIZEN_TRACES):
        assert secret not in everything
