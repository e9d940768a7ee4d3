"""Open311 GeoReport v2 at `/open311/v2/`: civic apps read and file reports unchanged.

The endpoints and their parameters are the specification's (wiki.open311.org/GeoReport_v2);
each answers in JSON or XML after the extension of its path, and every error in
GeoReport's own shape (`open311_format.errors`) with its HTTP status, not the chassis's. The
updates feed `servicerequestupdates` follows FixMyStreet's.

- A service is a report category (`LAPOR_CATEGORIES_FILE`); it takes no attributes.
- A service request is a public report: `rahasia` reports and spam never exist here (404).
  Nothing of the reporter is ever shown; `agency_responsible` is the lead OPD.
- POST `requests` needs an `api_key` of `LAPOR_OPEN311_API_KEYS` and files the report through
  the citizen intake (channel `open311`, privacy `anonim`: the reporter's name is kept for
  replies but hidden from everyone). It answers the `service_request_id` at once, so a
  request's token is its `service_request_id`, and `tokens/{token}` answers it back.
- Lists answer at most `MAX_REQUESTS`, newest first; without dates, the last
  `DEFAULT_DAYS` days; a range may span at most `DEFAULT_DAYS` days, as the specification
  allows.

These routes are left out of the service's OpenAPI document: their contract is the
GeoReport specification, which the document's one error shape would contradict.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

import flask
from flask import Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from services.common.errors import DomainError
from services.common.forms import EARLIEST_DAY, LATEST_DAY
from services.common.http import (
    SCHEMA_ERRORS,
    error_body,
    field_errors,
    note_in_access_log,
    public_rate_limited,
    runtime,
)
from services.common.registry import load_registry
from services.lapor import categories as category_list
from services.lapor import domain, intake, public_views
from services.lapor import open311_format as georeport
from services.lapor.schemas import SubmitReportSchema

blp = Blueprint("lapor_open311", __name__, url_prefix="/open311/v2",
                description="Open311 GeoReport v2 (di luar dokumen OpenAPI ini; lihat docs/lapor.md).")

MAX_REQUESTS = 1000
DEFAULT_DAYS = 90
MAX_IDS = 100
MAX_PARAMETER = 200
CONTACT = "Admin LAPOR! Pemerintah Kabupaten Kapuas"
KEY_SERVICE = "Kunci API diberikan oleh Diskominfo Kabupaten Kapuas kepada aplikasi mitra."
# The one date since which this endpoint's contract has held.
CHANGESET = "2026-03-01T00:00:00+07:00"

BAD_KEY = "api_key tidak ada atau tidak sah."
NOT_FOUND = "Permintaan layanan tidak ditemukan."
UNKNOWN_SERVICE = "service_code tidak dikenal."
UNKNOWN_PATH = "Alamat tidak ditemukan."
METHOD = "Metode tidak diizinkan untuk alamat ini."
NEEDS_ZONE = "{name} harus tanggal dan waktu W3C dengan zona waktu, mis. 2026-03-16T10:00:00+07:00."
OUT_OF_RANGE = f"{{name}} harus antara {EARLIEST_DAY.year} dan {LATEST_DAY.year}."
RANGE_ORDER = "end_date tidak boleh sebelum start_date."
RANGE_TOO_LONG = f"Rentang start_date sampai end_date paling lama {DEFAULT_DAYS} hari."
BAD_STATUS = "status hanya boleh open dan/atau closed."
TOO_MANY_IDS = f"Paling banyak {MAX_IDS} service_request_id sekaligus."
TOO_LONG = f"{{name}} paling banyak {MAX_PARAMETER} karakter."
# The statuses each GeoReport status stands for.
STATUSES_OF = {
    georeport.OPEN: tuple(s for s in domain.STATUSES if georeport.open311_status(s) == georeport.OPEN),
    georeport.CLOSED: tuple(s for s in domain.STATUSES if georeport.open311_status(s) == georeport.CLOSED),
}
_FORMAT = "<any(json, xml):fmt>"
_WORD = re.compile(r"[^\W_]{4,}")


class Open311Error(Exception):
    """An answer in GeoReport's error shape."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = descriptions


def _route(rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable:
    """Register a view on the blueprint without documenting it in OpenAPI."""

    def decorator(view: Callable) -> Callable:
        flask.Blueprint.add_url_rule(blp, rule, view.__name__, view, methods=list(methods))
        return view

    return decorator


def _answer(document: georeport.Document, fmt_name: str, status: int = 200) -> Response:
    body, content_type = georeport.render(document, fmt_name)
    return Response(body, status=status, content_type=content_type)


def _asked_format() -> str:
    return georeport.XML if request.path.endswith(".xml") else georeport.JSON


def _error_response(status: int, descriptions: tuple[str, ...], headers: dict | None = None) -> Response:
    response = _answer(georeport.errors(*((status, d) for d in descriptions)), _asked_format(), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@blp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    return _error_response(exc.status, exc.descriptions)


@blp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    described = _described(exc.errors) if exc.errors else ()
    return _error_response(exc.status, tuple(described) or (exc.message,))


@blp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    description = (getattr(exc, "data", None) or {}).get("message") or error_body(status)["message"]
    return _error_response(status, (description,), headers)


# -- parameters ---------------------------------------------------------------------------


def _param(name: str, source=None) -> str | None:
    value = (source if source is not None else request.args).get(name)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_PARAMETER or "\x00" in value:
        raise Open311Error(400, TOO_LONG.format(name=name))
    return value.strip()


def _csv(name: str) -> list[str] | None:
    value = _param(name)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()] or None


def _instant(name: str) -> datetime | None:
    value = _param(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Open311Error(400, NEEDS_ZONE.format(name=name)) from None
    if moment.tzinfo is None:
        raise Open311Error(400, NEEDS_ZONE.format(name=name))
    # The local year is checked first: converting an instant near year 1 or 9999 overflows.
    if not EARLIEST_DAY.year <= moment.year <= LATEST_DAY.year:
        raise Open311Error(400, OUT_OF_RANGE.format(name=name))
    return moment


def _window(now: datetime) -> tuple[datetime, datetime]:
    """The requested [start_date, end_date], by default the last DEFAULT_DAYS days."""
    start, end = _instant("start_date"), _instant("end_date")
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, RANGE_ORDER)
        if end - start > timedelta(days=DEFAULT_DAYS):
            raise Open311Error(400, RANGE_TOO_LONG)
        return start, end
    if start is not None:
        return start, start + timedelta(days=DEFAULT_DAYS)
    end = end or now
    return end - timedelta(days=DEFAULT_DAYS), end


def _statuses() -> tuple[str, ...] | None:
    wanted = _csv("status")
    if wanted is None:
        return None
    if any(value not in STATUSES_OF for value in wanted):
        raise Open311Error(400, BAD_STATUS)
    return tuple(status for value in dict.fromkeys(wanted) for status in STATUSES_OF[value])


# -- documents ----------------------------------------------------------------------------


def _agency(rt) -> str | None:
    coordinator = rt.opds.get(load_registry().coordinator_opd)
    return f"Admin LAPOR! {coordinator.name}" if coordinator else None


def _requests(rt, views: list[dict]) -> georeport.ListDocument:
    zone, agency = rt.calendar.tz, _agency(rt)
    root = request.url_root.rstrip("/")
    for view in views:
        view["media_url"] = root + view["media_path"] if view.get("media_path") else None
    return georeport.service_requests(georeport.service_request(view, zone, agency=agency) for view in views)


def _category_list(rt):
    return category_list.load(rt.settings.categories_file)


def _service(category) -> dict[str, Any]:
    words = dict.fromkeys(w.casefold() for w in _WORD.findall(category.label))
    return {
        "service_code": category.code,
        "service_name": category.label,
        "description": f"Laporan LAPOR! kategori {category.label}",
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(words),
        "group": None,
    }


# -- endpoints ----------------------------------------------------------------------------


@_route(f"/discovery.{_FORMAT}")
@public_rate_limited
def discovery(fmt: str):
    url = request.url_root.rstrip("/") + blp.url_prefix + "/"
    document = georeport.discovery(url=url, changeset=CHANGESET, contact=CONTACT, key_service=KEY_SERVICE)
    return _answer(document, fmt)


@_route(f"/services.{_FORMAT}")
@public_rate_limited
def services(fmt: str):
    return _answer(georeport.services(_service(c) for c in _category_list(runtime())), fmt)


@_route(f"/services/<string:code>.{_FORMAT}")
@public_rate_limited
def service_definition(code: str, fmt: str):
    if code not in _category_list(runtime()):
        raise Open311Error(404, UNKNOWN_SERVICE)
    return _answer(georeport.service_definition(code, []), fmt)


@_route(f"/requests.{_FORMAT}")
@public_rate_limited
def requests_list(fmt: str):
    rt = runtime()
    ids = _csv("service_request_id")
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise Open311Error(400, TOO_MANY_IDS)
        views = public_views.open311_reports(rt, numbers=ids, limit=MAX_REQUESTS)
    else:
        start, end = _window(rt.clock())
        views = public_views.open311_reports(rt, categories=_csv("service_code"), start=start, end=end,
                                             statuses=_statuses(), limit=MAX_REQUESTS)
    return _answer(_requests(rt, views), fmt)


@_route(f"/requests/<string:request_id>.{_FORMAT}")
@public_rate_limited
def request_item(request_id: str, fmt: str):
    rt = runtime()
    views = public_views.open311_reports(rt, numbers=[request_id], limit=1)
    if not views:
        raise Open311Error(404, NOT_FOUND)
    return _answer(_requests(rt, views), fmt)


@_route(f"/tokens/<string:token>.{_FORMAT}")
@public_rate_limited
def token_item(token: str, fmt: str):
    if token not in public_views.find_numbers(runtime(), [token]):
        raise Open311Error(404, NOT_FOUND)
    return _answer(georeport.created_requests([{"service_request_id": token, "token": token}]), fmt)


@_route(f"/servicerequestupdates.{_FORMAT}")
@public_rate_limited
def request_updates(fmt: str):
    rt = runtime()
    start, end = _window(rt.clock())
    items = public_views.updates_between(rt, start, end, MAX_REQUESTS)
    return _answer(georeport.updates(georeport.request_update(item, rt.calendar.tz) for item in items), fmt)


@_route("/", methods=("GET", "POST", "PUT", "PATCH", "DELETE"))
@_route("/<path:rest>", methods=("GET", "POST", "PUT", "PATCH", "DELETE"))
@public_rate_limited
def unknown(rest: str = ""):
    """Whatever else is asked under /open311/v2/ is answered in GeoReport's shape too."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in ("GET", "POST"):
        if method == request.method:
            continue
        try:
            rule, _ = adapter.match(request.path, method=method, return_rule=True)
        except (NotFound, MethodNotAllowed, HTTPException):
            continue
        if rule.endpoint != f"{blp.name}.unknown":
            raise Open311Error(405, METHOD)
    raise Open311Error(404, UNKNOWN_PATH)


# -- filing a request ---------------------------------------------------------------------


def key_holders_unlimited(view: Callable) -> Callable:
    """A partner app with a valid key files for many citizens from one address, so it is
    not held to the per-address limit; a request without a valid key is."""
    limited = public_rate_limited(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _valid_key(_param("api_key", request.form) or _param("api_key")):
            return view(*args, **kwargs)
        return limited(*args, **kwargs)

    wrapper.rate_limited = True  # type: ignore[attr-defined]
    return wrapper


def _valid_key(given: str | None) -> bool:
    if not given:
        return False
    keys = runtime().settings.open311_api_keys
    # Every key is compared, so the time taken does not tell which one came close.
    matches = [hmac.compare_digest(given.encode(), key.encode()) for key in keys]
    return any(matches)


# The report form's fields named as GeoReport names them, for its error descriptions.
OPEN311_NAMES = {"category": "service_code", "latitude": "lat", "longitude": "long",
                 "address": "address_string", "name": "first_name", "title": "description"}
NO_LOCATION = "Sertakan lat dan long, atau address_string."
NOT_A_FORM = "Isi permintaan harus application/x-www-form-urlencoded atau objek JSON."
NOTICE = ("Laporan tercatat dengan nomor {number}. Admin LAPOR! memverifikasinya paling lambat "
          "{due}. Bila alamat surel diisi, token akses untuk memantau laporan dikirim ke sana.")
TITLE_WORDS = 100


def _form() -> dict[str, str]:
    """The POSTed parameters: a form, as the specification has it, or a JSON object."""
    if request.form:
        return request.form.to_dict(flat=True)
    document = request.get_json(silent=True) if request.is_json else None
    if request.is_json or request.get_data(cache=True):
        if not isinstance(document, dict):
            raise Open311Error(400, NOT_A_FORM)
        return {str(k): str(v) for k, v in document.items()
                if isinstance(v, str | int | float) and not isinstance(v, bool)}
    return {}


def _title(description: str | None) -> str | None:
    """A title for the report: the description's first line, cut at a word."""
    if not description:
        return None
    line = description.strip().splitlines()[0] if description.strip() else ""
    if len(line) <= TITLE_WORDS:
        return line
    return line[:TITLE_WORDS].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _report_form(given: dict[str, str]) -> dict[str, Any]:
    """The citizen form filled from GeoReport's parameters."""
    def value(name: str) -> str | None:
        # The form's own schema bounds each field (a description runs to 5,000 characters).
        text = given.get(name)
        return text.strip() or None if isinstance(text, str) else None

    name = " ".join(part for part in (value("first_name"), value("last_name")) if part) or None
    form = {
        "classification": "pengaduan",
        "category": value("service_code"),
        "title": _title(value("description")),
        "description": value("description"),
        "latitude": value("lat"),
        "longitude": value("long"),
        "address": value("address_string"),
        "privacy": domain.ANONIM,
        "name": name,
        "phone": value("phone"),
        "email": value("email"),
    }
    return {key: item for key, item in form.items() if item is not None}


def _described(messages) -> list[str]:
    """Field errors of the report form as GeoReport descriptions, named by its parameters."""
    descriptions = []
    flat = field_errors(messages)
    for field, problems in flat.items():
        if field == "title" and "description" in flat:
            continue  # the title is made from the description: one complaint is enough
        if field == SCHEMA_ERRORS:
            descriptions += problems
            continue
        named = OPEN311_NAMES.get(field, field)
        descriptions += [f"{named}: {problem}" for problem in problems]
    return descriptions


@_route(f"/requests.{_FORMAT}", methods=("POST",))
@key_holders_unlimited
def create_request(fmt: str):
    """File a report for a citizen through a partner app (GeoReport's POST Service Request)."""
    rt = runtime()
    given = _form()
    if not _valid_key(_param("api_key", given)):
        raise Open311Error(403, BAD_KEY)
    if not (_param("lat", given) and _param("long", given)) and not _param("address_string", given):
        raise Open311Error(400, NO_LOCATION)
    try:
        data = SubmitReportSchema().load(_report_form(given))
    except ValidationError as problem:
        raise Open311Error(400, *_described(problem.messages)) from None
    submitted = intake.submit(rt, data, now=rt.clock(), channel="open311")
    note_in_access_log(number=submitted["number"], channel="open311")
    due = georeport.w3c(submitted["due_at"], rt.calendar.tz)
    answer = {"service_request_id": submitted["number"],
              "service_notice": NOTICE.format(number=submitted["number"], due=due),
              "account_id": None}
    return _answer(georeport.created_requests([answer]), fmt, 201)
