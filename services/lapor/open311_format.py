"""GeoReport v2 documents, as JSON and as XML, from plain dictionaries.

The names are the specification's (wiki.open311.org/GeoReport_v2): a list of requests is
`<service_requests><request>…`, of services `<services><service>…`, errors
`<errors><error><code/><description/></error></errors>` (JSON: a list of
`{"code", "description"}`), and the updates feed is FixMyStreet's
`<service_request_updates><request_update>…`. A JSON list document is the bare array of
its items, as the specification's JSON examples are; XML has the root element, preceded
by the declaration with its UTF-8 encoding.

Nothing here reads a database or a request: the blueprint hands dictionaries in and sends
the bytes out, so every document can be checked on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import orjson

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
JSON, XML = "json", "xml"
FORMATS = (JSON, XML)
CONTENT_TYPES = {JSON: "application/json; charset=utf-8", XML: "text/xml; charset=utf-8"}
MEDIA_TYPES = ("text/xml", "application/json")

OPEN, CLOSED = "open", "closed"
# What the government side has finished with. A completed report waits for its reporter's
# verdict; if they reject the answer it reopens and shows as open again.
CLOSED_STATUSES = frozenset({"completed", "closed", "archived", "not_authority"})

# The fields of a service request, in the specification's order.
REQUEST_FIELDS = (
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
)
UPDATE_FIELDS = (
    "update_id", "service_request_id", "status", "updated_datetime", "description", "media_url",
)
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")

# A list inside an object: its element and the element of each item.
_ITEM_OF = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}
# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


@dataclass(frozen=True)
class ListDocument:
    """A list of items under one root element (`services`/`service`, …)."""

    root: str
    item: str
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class ObjectDocument:
    """One object under its root element (`discovery`, `service_definition`)."""

    root: str
    body: dict[str, Any]


Document = ListDocument | ObjectDocument


def open311_status(status: str) -> str:
    """A LAPOR! status as GeoReport's `open` or `closed`."""
    return CLOSED if status in CLOSED_STATUSES else OPEN


def w3c(moment: datetime | None, zone) -> str | None:
    """An instant in the regency's zone with its offset (`2026-03-02T09:00:00+07:00`),
    the W3C profile of ISO 8601 the specification asks for."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def service_requests(items: Iterable[Mapping[str, Any]]) -> ListDocument:
    return ListDocument("service_requests", "request",
                        [{name: item.get(name) for name in REQUEST_FIELDS} for item in items])


def created_requests(items: Iterable[Mapping[str, Any]]) -> ListDocument:
    """The answer to a POST or a token look-up: only the fields given."""
    return ListDocument("service_requests", "request", [dict(item) for item in items])


def services(items: Iterable[Mapping[str, Any]]) -> ListDocument:
    return ListDocument("services", "service",
                        [{name: item.get(name) for name in SERVICE_FIELDS} for item in items])


def updates(items: Iterable[Mapping[str, Any]]) -> ListDocument:
    return ListDocument("service_request_updates", "request_update",
                        [{name: item.get(name) for name in UPDATE_FIELDS} for item in items])


def errors(*problems: tuple[int, str]) -> ListDocument:
    return ListDocument("errors", "error",
                        [{"code": code, "description": description} for code, description in problems])


def service_definition(service_code: str, attributes: list[dict[str, Any]]) -> ObjectDocument:
    return ObjectDocument("service_definition", {"service_code": service_code, "attributes": attributes})


def discovery(*, url: str, changeset: datetime | str, contact: str, key_service: str) -> ObjectDocument:
    changed = changeset if isinstance(changeset, str) else changeset.replace(microsecond=0).isoformat()
    return ObjectDocument("discovery", {
        "changeset": changed,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": url,
            "changeset": changed,
            "type": "production",
            "formats": list(MEDIA_TYPES),
        }],
    })


def render(document: Document, fmt: str) -> tuple[bytes, str]:
    """(body, content type) of `document` in `fmt` (`json` or `xml`)."""
    if fmt == JSON:
        body = document.items if isinstance(document, ListDocument) else document.body
        return orjson.dumps(body), CONTENT_TYPES[JSON]
    if fmt != XML:
        raise ValueError(f"unknown format {fmt!r}")
    root = ElementTree.Element(document.root)
    if isinstance(document, ListDocument):
        for item in document.items:
            _fill(ElementTree.SubElement(root, document.item), item)
    else:
        _fill(root, document.body)
    text = ElementTree.tostring(root, encoding="unicode", short_empty_elements=True)
    return (_DECLARATION + text).encode("utf-8"), CONTENT_TYPES[XML]


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, child in value.items():
            _fill(ElementTree.SubElement(element, name), child)
    elif isinstance(value, list | tuple):
        item_name = _ITEM_OF.get(element.tag, "item")
        for child in value:
            _fill(ElementTree.SubElement(element, item_name), child)
    else:
        element.text = _text(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def service_request(view: Mapping[str, Any], zone, *, agency: str | None = None) -> dict[str, Any]:
    """A public report view (with its `timeline`) as a GeoReport service request.

    `status_notes` is the newest item of the public timeline; `agency_responsible` the lead
    OPD's name, or `agency` (the regency's LAPOR! administration) while nobody leads it.
    """
    timeline = view.get("timeline") or []
    notes = timeline[-1]["text"] if timeline else view.get("status_label")
    return {
        "service_request_id": view["number"],
        "status": open311_status(view["status"]),
        "status_notes": notes,
        "service_name": view.get("category_label") or view.get("category"),
        "service_code": view.get("category"),
        "description": view.get("description"),
        "agency_responsible": view.get("lead_opd_name") or agency,
        "service_notice": view.get("status_label"),
        "requested_datetime": w3c(view.get("submitted_at"), zone),
        "updated_datetime": w3c(view.get("updated_at"), zone),
        "expected_datetime": w3c(view.get("completion_due_at"), zone),
        "address": view.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": view.get("latitude"),
        "long": view.get("longitude"),
        "media_url": view.get("media_url") or "",
    }


def request_update(item: Mapping[str, Any], zone) -> dict[str, Any]:
    """A public timeline item (with `number` and `open`) as an entry of the updates feed."""
    return {
        "update_id": item["id"],
        "service_request_id": item["number"],
        "status": OPEN if item["open"] else CLOSED,
        "updated_datetime": w3c(item["at"], zone),
        "description": item.get("text"),
        "media_url": "",
    }
