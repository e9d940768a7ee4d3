"""GeoReport v2 documents from plain dictionaries: names, roots and values as the
specification writes them, in JSON and XML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest

from services.lapor import open311_format as fmt

WIB = ZoneInfo("Asia/Jakarta")


def xml_of(document) -> ElementTree.Element:
    body, content_type = fmt.render(document, fmt.XML)
    assert content_type == "text/xml; charset=utf-8"
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(body)


def json_of(document):
    body, content_type = fmt.render(document, fmt.JSON)
    assert content_type == "application/json; charset=utf-8"
    return json.loads(body)


@pytest.mark.parametrize("status, expected", [
    ("submitted", "open"), ("awaiting_clarification", "open"), ("verified", "open"),
    ("postponed", "open"), ("dispatched", "open"), ("returned", "open"),
    ("in_progress", "open"), ("completed", "closed"), ("closed", "closed"),
    ("archived", "closed"), ("not_authority", "closed"),
])
def test_every_status_is_open_or_closed(status, expected):
    assert fmt.open311_status(status) == expected


def test_instants_carry_the_regency_offset():
    moment = datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=UTC)
    assert fmt.w3c(moment, WIB) == "2026-03-02T09:00:00+07:00"
    assert fmt.w3c(None, WIB) is None


def test_requests_have_every_field_in_the_specification_order():
    document = fmt.service_requests([{"service_request_id": "LPR-2026-000001", "status": "open",
                                      "lat": -3.0, "long": 114.4, "media_url": None, "secret": "x"}])
    root = xml_of(document)
    assert root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    assert [child.tag for child in request] == list(fmt.REQUEST_FIELDS)
    assert request.findtext("service_request_id") == "LPR-2026-000001"
    assert request.findtext("lat") == "-3.0" and request.findtext("long") == "114.4"
    assert request.findtext("media_url") == ""
    (item,) = json_of(document)
    assert list(item) == list(fmt.REQUEST_FIELDS)
    assert "secret" not in item


def test_services_list_and_booleans():
    document = fmt.services([{"service_code": "jalan", "service_name": "Jalan rusak", "description": "d",
                              "metadata": False, "type": "realtime", "keywords": "jalan, lubang",
                              "group": "Pengaduan"}])
    (service,) = xml_of(document)
    assert service.tag == "service"
    assert service.findtext("metadata") == "false"
    assert service.findtext("type") == "realtime"
    assert json_of(document) == [{"service_code": "jalan", "service_name": "Jalan rusak", "description": "d",
                                  "metadata": False, "type": "realtime", "keywords": "jalan, lubang",
                                  "group": "Pengaduan"}]


def test_errors_in_both_shapes():
    document = fmt.errors((403, "Kunci API tidak sah."))
    root = xml_of(document)
    assert root.tag == "errors"
    assert root.find("error/code").text == "403"
    assert root.find("error/description").text == "Kunci API tidak sah."
    assert json_of(document) == [{"code": 403, "description": "Kunci API tidak sah."}]


def test_discovery_lists_endpoints_and_formats():
    document = fmt.discovery(url="https://lapor.example/open311/v2/", changeset="2026-03-01T00:00:00+07:00",
                             contact="Diskominfo", key_service="Minta kunci API ke Diskominfo")
    root = xml_of(document)
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == fmt.SPECIFICATION
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    assert json_of(document)["endpoints"][0]["formats"] == ["text/xml", "application/json"]


def test_service_definition_attributes_and_values():
    attributes = [{"variable": True, "code": "privacy", "datatype": "singlevaluelist", "required": False,
                   "datatype_description": None, "order": 1, "description": "Kerahasiaan",
                   "values": [{"key": "public", "name": "Publik"}, {"key": "anonim", "name": "Anonim"}]}]
    root = xml_of(fmt.service_definition("jalan", attributes))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "jalan"
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("variable") == "true"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == ["public", "anonim"]
    assert json_of(fmt.service_definition("jalan", []))["attributes"] == []


def test_updates_feed_in_the_fixmystreet_shape():
    document = fmt.updates([{"update_id": "12", "service_request_id": "LPR-2026-000001", "status": "closed",
                             "updated_datetime": "2026-03-02T09:00:00+07:00", "description": "Selesai"}])
    root = xml_of(document)
    assert root.tag == "service_request_updates"
    update = root.find("request_update")
    assert [c.tag for c in update] == list(fmt.UPDATE_FIELDS)
    assert update.findtext("status") == "closed"


def test_text_that_xml_cannot_carry_is_dropped_not_a_broken_document():
    document = fmt.service_requests([{"description": "a\x00b\x07c\u00e9\U0001F600"}])
    request = xml_of(document)[0]
    assert request.findtext("description") == "abc\u00e9\U0001F600"
