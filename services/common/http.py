"""The HTTP conventions every service shares (docs/chassis.md, "HTTP").

`create_flask_app()` gives a service its Flask app with flask-smorest: the API under
`/api/v1/`, `/openapi.json` and `/docs`, `/healthz` and `/readyz`, one JSON error shape,
request ids in logs and responses, CORS for configured origins, a request-body limit and a
rate limiter for public endpoints. Views stay thin: they parse, call a handler, and shape
the response; a handler's `DomainError` becomes the error response here.

Every error, whoever raised it (webargs, flask-smorest, werkzeug, the auth decorators, a
use case), leaves in one shape, in Bahasa Indonesia:
`{"code": 422, "status": "Unprocessable Entity", "message": "…", "errors": {…}}`, where
`errors` (validation only) maps dotted field paths (`power_of_attorney.letter`,
`attachments.0`, `page_size`) to lists of messages, without the request location webargs
files them under. An error of the body as a whole is filed under `_schema`.

`/docs` is Swagger UI served from the pinned `swagger-ui-bundle` package, so it works on an
intranet with no way out.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import wraps
from http import HTTPStatus
from types import FunctionType, MethodType

import orjson
from flask import (
    Flask,
    Response,
    after_this_request,
    current_app,
    g,
    jsonify,
    request,
    send_file,
    send_from_directory,
)
from flask.json.provider import DefaultJSONProvider
from flask_cors import CORS
from flask_smorest import Api, Blueprint, abort
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, NotFound, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from services.common import heartbeat
from services.common.auth import init_auth
from services.common.errors import DomainError, Invalid
from services.common.filenames import normalise_filename
from services.common.forms import LARGEST_WHOLE, NUL_IN_TEXT, indonesian
from services.common.listing import DEFAULT_PAGE_SIZE, Page
from services.common.logs import configure_logging, request_id_var
from services.common.ratelimit import RateLimiter
from services.common.runtime import Runtime

API_PREFIX = "/api/v1"
# Page sizes are part of the API contract, so they are constants rather than settings.
PAGE = {"page_size": DEFAULT_PAGE_SIZE, "max_page_size": 100}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MESSAGES_ID = {
    400: "Permintaan tidak dapat dibaca.",
    401: "Perlu masuk (token tidak ada atau tidak sah).",
    403: "Anda tidak berwenang atas data ini.",
    404: "Data tidak ditemukan.",
    405: "Metode tidak diizinkan untuk alamat ini.",
    409: "Permintaan bertentangan dengan keadaan data saat ini.",
    412: "Data telah diubah orang lain; muat ulang lalu coba lagi.",
    413: "Isi permintaan terlalu besar.",
    414: "Alamat permintaan terlalu panjang.",
    415: "Jenis isi tidak didukung; kirim JSON.",
    422: "Isian tidak valid.",
    428: "Sertakan header If-Match untuk mengubah data ini.",
    429: "Terlalu banyak permintaan. Silakan coba lagi beberapa saat lagi.",
    431: "Header permintaan terlalu besar.",
    500: "Terjadi kesalahan pada server.",
    503: "Layanan sedang tidak tersedia. Silakan coba lagi beberapa saat lagi.",
}
_UNKNOWN_ROUTE = "Alamat tidak ditemukan."
_NOT_JSON = "Isi permintaan bukan JSON yang sah."
_CLIENT_ERROR = "Permintaan tidak dapat diproses."
# The key of an error about the body as a whole rather than one of its fields.
SCHEMA_ERRORS = "_schema"
# Where webargs files validation errors; the one error shape leaves this level out.
_LOCATIONS = frozenset(
    {"json", "query", "querystring", "form", "json_or_form", "headers", "cookies", "files", "view_args", "path"}
)
DOCS_ASSETS = "/docs/assets/"
# A letter or any other HTML page of a service: its own styles and images, no script.
DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
# No form of any service nests deeper; the standard JSON parser fails near 1000.
MAX_JSON_DEPTH = 32
_TOO_DEEP = "Isi permintaan bersarang terlalu dalam."
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DATABASE_UNAVAILABLE = (
    "Layanan sedang tidak dapat menjangkau basis datanya. Silakan coba lagi beberapa saat lagi."
)
# What a client is told to wait before sending again during a database outage.
DATABASE_RETRY_AFTER_SECONDS = 30
# Endpoints that read nothing of the service's database before answering.
_WITHOUT_CALENDAR = frozenset(
    {"healthz", "readyz", "swagger_ui_asset", "api-docs.openapi_json", "api-docs.openapi_swagger_ui"}
)

log = logging.getLogger("simpul.http")
access_log = logging.getLogger("simpul.access")


def runtime() -> Runtime:
    """The composition root's objects for the current app."""
    return current_app.extensions["simpul"]


def create_flask_app(
    rt: Runtime, *, title: str, description: str, blueprints: Iterable[Blueprint]
) -> Flask:
    settings = rt.settings
    # gunicorn replaced the CLI's process, so the web process sets up its own JSON logs.
    configure_logging(settings.service, settings.log_level)
    app = _Flask(f"simpul.{settings.service}")
    if settings.trusted_proxies:
        # Behind reverse proxies the connection's peer is the nearest proxy; the client is
        # the address those proxies appended to X-Forwarded-For. Only that many entries are
        # believed, so a client cannot choose its own address by sending the header.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,
        API_SPEC_OPTIONS={
            "info": {"description": description},
        },
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.json = OrjsonProvider(app)
    app.extensions["simpul"] = rt
    app.extensions["simpul_limiter"] = RateLimiter(
        settings.public_rate_limit, settings.rate_limit_storage_uri, namespace=settings.service
    )
    if settings.cors_origins:
        CORS(
            app,
            origins=list(settings.cors_origins),
            expose_headers=["ETag", "X-Request-ID", "X-Pagination"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Access-Token"],
        )
    # Ids in paths are bounded before any view sees them: a number beyond a database
    # integer is an unknown address, not a failed statement.
    app.url_map.converters["int"] = BoundedIntConverter
    api = Api(app)
    api.register_converter(BoundedIntConverter, _bounded_int_schema)
    _document_pagination_header_as_json(api)
    init_auth(app, rt.verifier, api, opds=rt.opds)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
        # flask-smorest reads the query's page and page_size with a schema of its own, at
        # request time, through this attribute; ours answers in Indonesian.
        blueprint.PAGINATION_ARGUMENTS_PARSER = _PAGINATION_PARSER
    _install_docs_assets(app)
    _install_error_handlers(app)
    _install_request_ids(app)
    _install_input_guards(app)
    _install_security_headers(app)
    _install_health(app, rt)

    @app.before_request
    def _calendar_in_step():
        # Liveness, readiness and the API description answer without the calendar: a
        # database outage must not make a liveness probe restart a healthy process.
        if request.endpoint not in _WITHOUT_CALENDAR:
            rt.calendar_sync.refresh_if_stale()

    return app


class _Flask(Flask):
    """Flask, asking once per plain function whether it is a coroutine function.

    Flask asks before it calls every view and every request hook, a dozen times a request,
    and `inspect.iscoroutinefunction` unwraps its argument each time; that cost a citizen's
    submission more CPU than its rate limit. A plain function or method whose code is not a
    coroutine's is returned as it is, exactly what Flask would return; anything else (a
    partial, a callable object, a function marked as a coroutine) is still Flask's to judge.
    """

    def ensure_sync(self, func):
        plain = func.__func__ if type(func) is MethodType else func
        if (
            type(plain) is FunctionType
            and not plain.__code__.co_flags & _COROUTINE_FLAGS
            and not hasattr(plain, "_is_coroutine_marker")
        ):
            return func
        return super().ensure_sync(func)


_COROUTINE_FLAGS = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON with orjson reading and writing: UTF-8 as is, keys in their order.

    Anything orjson does not write natively, dates included, still goes through Flask's own
    default, so the output matches Flask's JSON otherwise.
    """

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def dumps(self, obj, **_kwargs) -> str:
        return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()

    def loads(self, s, **_kwargs):
        return orjson.loads(s)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` of every service: an id that a PostgreSQL `integer` can hold, else no match
    (404), so `/dip/99999999999999999999` never reaches a statement."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_WHOLE)
        super().__init__(url_map, *args, **kwargs)


def _bounded_int_schema(converter: BoundedIntConverter) -> dict:
    return {"type": "integer", "minimum": converter.min or 0, "maximum": converter.max}


def _document_pagination_header_as_json(api: Api) -> None:
    # X-Pagination carries a JSON object; an OpenAPI header with a bare object schema means
    # the `simple` style (`total,3,page,1`), which is not what is sent.
    components = api.spec.components
    for registered in (components.headers, components.headers_lazy):
        header = registered.get("PAGINATION")
        if header is not None and "schema" in header:
            header["content"] = {"application/json": {"schema": header.pop("schema")}}


def error_body(status: int, message: str | None = None, errors: Mapping | None = None) -> dict:
    """The one error shape: code, status (the HTTP reason phrase, an identifier), message
    and, for validation, `errors`: dotted field paths to lists of messages.

    `errors` may come nested, as marshmallow writes them (`{"attachments": {0: {…}}}`);
    they leave flat (`{"attachments.0.filename": […]}`).
    """
    body = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message or _default_message(status),
    }
    flat = field_errors(errors) if errors else {}
    if flat:
        body["errors"] = flat
    return body


def field_errors(errors: Mapping | list | str) -> dict[str, list[str]]:
    """marshmallow's nested messages as `{"dotted.path": [messages]}`.

    List items are numbered (`attachments.0`); a nested schema's own error (`_schema`
    inside `power_of_attorney`) belongs to the object's path; an error of the whole body
    stays under `SCHEMA_ERRORS`.
    """
    flat: dict[str, list[str]] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                key = str(key)
                if key == SCHEMA_ERRORS:
                    walk(value, path)
                else:
                    walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, path)
        else:
            flat.setdefault(path or SCHEMA_ERRORS, []).append(str(node))

    walk(errors, "")
    return flat


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (down, restarting, refusing new
    connections, the pool exhausted) rather than that a statement was wrong."""
    if isinstance(exc, DisconnectionError | PoolTimeoutError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _default_message(status: int) -> str:
    if status in _MESSAGES_ID:
        return _MESSAGES_ID[status]
    return _CLIENT_ERROR if status < 500 else _MESSAGES_ID[500]


def _unlocated(messages: Mapping) -> Mapping:
    """webargs' `{"json": {...}}` / `{"query": {...}}` without the location level."""
    if not messages or not set(messages) <= _LOCATIONS:
        return messages
    merged: dict = {}
    for located in messages.values():
        if isinstance(located, Mapping):
            merged.update(located)
        else:
            merged.setdefault(SCHEMA_ERRORS, []).extend(located)
    return merged


class _IndonesianParser(type(Blueprint.PAGINATION_ARGUMENTS_PARSER)):
    """flask-smorest's own (webargs) parser, for schemas no service declared (its pagination
    parameters: `page`, `page_size`), with the chassis's Indonesian messages."""

    def _get_schema(self, argmap, req):
        return indonesian(super()._get_schema(argmap, req))


_PAGINATION_PARSER = _IndonesianParser()


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        # A use case may name fields flat ("attachments.0") or nested, as marshmallow does.
        return jsonify(error_body(exc.status, exc.message, exc.errors)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # flask-smorest's abort(…, message=…) and webargs' validation put what to say in
        # `data`; werkzeug's own descriptions are English prose for developers, so the
        # Indonesian default message stands in for those.
        data = getattr(exc, "data", None) or {}
        status = exc.code or 500
        message, errors = data.get("message"), data.get("messages")
        if errors is not None and not isinstance(getattr(exc, "exc", None), ValidationError):
            # webargs could not read the body at all (not JSON, not UTF-8); its one English
            # line says no more than this.
            message, errors = _NOT_JSON, None
        elif status == 404 and request.url_rule is None:
            message = message or _UNKNOWN_ROUTE
        response = jsonify(error_body(status, message, _unlocated(errors or {})))
        response.status_code = status
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        if status in (405, 429):
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
        return response

    @app.errorhandler(DBAPIError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def _database_error(exc: Exception):
        if not database_unavailable(exc):
            return _unexpected(exc)
        # The database, not the request, is at fault: the client may send it again later.
        log.warning("database unavailable: %s", type(exc).__name__)
        response = jsonify(error_body(503, DATABASE_UNAVAILABLE))
        response.status_code = 503
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify(error_body(500)), 500


def _install_docs_assets(app: Flask) -> None:
    # Swagger UI's scripts and styles from the installed, pinned package rather than a
    # public CDN: a regency intranet often has no way out.
    @app.get(f"{DOCS_ASSETS}<path:filename>")
    def swagger_ui_asset(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)


def _install_request_ids(app: Flask) -> None:
    # The hooks below take the request and `g` out of their proxies once: each read through
    # a proxy looks them up again, and the hooks read them a dozen times a request.

    @app.before_request
    def _start():
        ctx_g = g._get_current_object()
        incoming = request._get_current_object().headers.get("X-Request-ID", "")
        ctx_g.request_id = request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        ctx_g.request_started = time.perf_counter()
        ctx_g.request_id_token = request_id_var.set(request_id)

    @app.after_request
    def _finish(response):
        req, ctx_g = request._get_current_object(), g._get_current_object()
        response.headers["X-Request-ID"] = ctx_g.get("request_id", "")
        if req.path not in ("/healthz", "/readyz") and access_log.isEnabledFor(logging.INFO):
            # The path only: query strings and bodies may carry personal data.
            rule = req.url_rule
            line = {
                "method": req.method,
                "path": rule.rule if rule else req.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - ctx_g.get("request_started", 0)) * 1000, 1),
                **ctx_g.get("access_log_fields", {}),
            }
            # The record built directly: `access_log.info` would also look up the calling
            # line in the stack, which no access line shows, on every request.
            access_log.handle(access_log.makeRecord(
                access_log.name, logging.INFO, "", 0, "request", (), None, extra=line
            ))
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def _install_input_guards(app: Flask) -> None:
    """Refuse, before any view, input no view could store or read safely: a NUL character
    in the path or the query string (PostgreSQL text cannot hold one), and a JSON body
    nested deeper than any form (Python's own parser would exhaust its stack on it)."""

    @app.before_request
    def _guard_input():
        req = request._get_current_object()
        if "\x00" in req.path:
            raise NotFound()
        refused = sorted({key for key, value in req.args.items(multi=True)
                          if "\x00" in key or "\x00" in value})
        if refused:
            raise Invalid(_MESSAGES_ID[422], {key.replace("\x00", "") or SCHEMA_ERRORS: [NUL_IN_TEXT]
                                              for key in refused})
        if req.method in _BODY_METHODS and req.is_json:
            _check_json_depth(req.get_data(cache=True))


def _check_json_depth(raw: bytes) -> None:
    if not raw:
        return
    try:
        document = orjson.loads(raw)
        # A form of plain fields, as nearly every body is, answers both questions below in
        # one pass over its values.
        flat_wide = _flat_form_wide(document)
        if flat_wide is not None:
            if not flat_wide:
                g.json_body = document
            return
        # The views' parser takes the document from here rather than parsing the body a
        # second time, when the standard parser it would use reads the same: orjson reads
        # an integer beyond 64 bits as a float, the standard parser as an integer.
        if not _may_be_wide_integer(document):
            g.json_body = document
    except orjson.JSONDecodeError:
        # orjson refuses more than the standard parser (integers beyond 64 bits); what both
        # refuse is answered by the parser the views use, except what would crash it.
        try:
            document = json.loads(raw)
        except RecursionError:
            abort(400, message=_TOO_DEEP)
        except ValueError:
            return
    if _depth(document) > MAX_JSON_DEPTH:
        abort(400, message=_TOO_DEEP)


_WIDE = float(2**63)


def _is_wide(value: object) -> bool:
    """A whole float of 64 bits or more: how orjson reads an integer too wide for 64 bits
    (a float written so, `1e19`, is sent to the standard parser all the same)."""
    return type(value) is float and abs(value) >= _WIDE and value.is_integer()


def _flat_form_wide(document: object) -> bool | None:
    """For an object none of whose values is an object or a list (its depth is 1): whether
    it holds a wide value (`_is_wide`). None for any other document."""
    if type(document) is not dict:
        return None
    wide = False
    for value in document.values():
        kind = type(value)
        if kind is dict or kind is list:
            return None
        wide = wide or _is_wide(value)
    return wide


def _may_be_wide_integer(document: object) -> bool:
    """Whether `document` holds a wide value (`_is_wide`) at any depth."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif _is_wide(node):
            return True
    return False


def _depth(document: object) -> int:
    """How deeply lists and objects nest in `document`, without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


class GuardedJsonParser(FlaskParser):
    """webargs' Flask parser, reading a JSON body the input guard already parsed.

    A blueprint whose endpoints take JSON bodies sets it as its `ARGUMENTS_PARSER` before
    declaring them (flask-smorest binds the parser when `@blp.arguments` runs). A body the
    guard did not parse (not JSON, or what only the standard parser reads) is parsed by
    webargs as before, with its own answers to what it cannot read.
    """

    def _raw_load_json(self, req):
        document = g.get("json_body", _UNPARSED)
        if document is _UNPARSED or not req.is_json:
            return super()._raw_load_json(req)
        return document


_UNPARSED = object()


def _install_security_headers(app: Flask) -> None:
    """Every answer forbids content sniffing; every HTML page names what it may load: a
    letter nothing but its own styles and images, Swagger UI its own scripts and the one
    inline script that starts it."""

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html" and not response.direct_passthrough:
            if request.endpoint == "api-docs.openapi_swagger_ui":
                policy = _docs_policy(response.get_data())
            else:
                policy = DOCUMENT_POLICY
            response.headers.setdefault("Content-Security-Policy", policy)
        return response


def _docs_policy(page: bytes) -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def _install_health(app: Flask, rt: Runtime) -> None:
    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": rt.settings.service}

    heartbeats = heartbeat.table_of(rt.outbox.metadata)

    @app.get("/readyz")
    def readyz():
        checks: dict[str, object] = {}
        ready = True
        try:
            with rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                count, oldest = conn.execute(
                    select(func.count(), func.min(rt.outbox.c.created_at)).where(
                        rt.outbox.c.published_at.is_(None)
                    )
                ).one()
                checks["database"] = "ok"
                age = _age_seconds(oldest)
                checks["outbox"] = {"unsent": count, "oldest_unsent_seconds": age}
                if age is not None and age > rt.settings.outbox_stuck_seconds:
                    ready = False
                    checks["outbox"]["status"] = "stuck"
                if heartbeats is not None:
                    # The broker and the consumers, as the worker last reported them.
                    workers_ready, checks["worker"] = heartbeat.readiness(conn, heartbeats)
                    ready = ready and workers_ready
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure as not ready
            ready = False
            checks["database"] = f"error: {type(exc).__name__}"
        status = 200 if ready else 503
        return {"status": "ready" if ready else "not ready", "checks": checks}, status


def _age_seconds(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite returns naive values of what was stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return round((datetime.now(UTC) - moment).total_seconds(), 1)


def public_rate_limited(view):
    """Limits an endpoint citizens call without an account (PUBLIC_RATE_LIMIT per client)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        limiter: RateLimiter = current_app.extensions["simpul_limiter"]
        # Counted per endpoint, so a client reading its case does not use up its submissions.
        # No peer address (a unix socket) counts as 127.0.0.1, as Flask-Limiter did.
        req = request._get_current_object()
        verdict = limiter.hit(req.endpoint, req.remote_addr or "127.0.0.1")
        if verdict is not None:

            # After the request rather than on the view's result, so the headers also reach
            # a 429 and the error responses the view raises.
            @after_this_request
            def _limit_headers(response):
                response.headers.update(verdict.headers)
                return response

            if not verdict.allowed:
                raise TooManyRequests(retry_after=verdict.retry_after)
        return view(*args, **kwargs)

    # Read by the tests that hold every unauthenticated endpoint to a limit.
    wrapper.rate_limited = True
    return wrapper


def paginated(blp: Blueprint, **sizes: int):
    """`@blp.paginate` for a view that takes a `Page` as `page` and returns (body, total).

    The one adapter between flask-smorest's pagination and the service layer: the page and
    page size of the query string become a `services.common.listing.Page`, and the total
    the use case counted becomes `X-Pagination`. `sizes` overrides `PAGE`.
    """
    options = {**PAGE, **sizes}

    def decorator(view):
        @wraps(view)
        def wrapper(*args, pagination_parameters, **kwargs):
            page = Page(pagination_parameters.first_item, pagination_parameters.page_size)
            body, total = view(*args, page=page, **kwargs)
            pagination_parameters.item_count = total
            return body

        return blp.paginate(**options)(wrapper)

    return decorator


def note_in_access_log(**identifiers: str | None) -> None:
    """Add identifiers (never personal data) to this request's one access-log line, say
    the number of the case it created, rather than logging a second line."""
    g.setdefault("access_log_fields", {}).update(identifiers)


# Field types whose dump of a value of exactly this Python type is the value itself.
_PLAIN_FIELDS = {fields.String: str, fields.Integer: int, fields.Boolean: bool}


class PlainAnswer:
    """A busy endpoint's answer in the shape of its documented schema, without marshmallow's
    per-field dump, which cost a citizen's submission as much CPU as its own database write.

    It applies to a schema of plain fields only (strings, integers, booleans, raw values,
    ISO date-times and nested schemas of those, without hooks or renamed fields): the answer
    then is the data's values under the schema's keys, date-times as `isoformat()`, which is
    what `schema.dump` writes for them. Anything else, a schema or a value of an unexpected
    type, goes through `schema.dump` as before, so the answer never differs from it.
    """

    def __init__(self, schema: Schema | type[Schema]):
        self.schema = schema() if isinstance(schema, type) else schema
        self._plan = _dump_plan(self.schema)

    def dump(self, data: Mapping) -> dict:
        if self._plan is not None:
            plain = _plain(self._plan, data)
            if plain is not None:
                return plain
        return self.schema.dump(data)

    def response(self, data: Mapping, status: int = 200) -> Response:
        """The answer as flask-smorest's `@blp.response` would send it; the decorator passes a
        response through as it is, and still documents the schema."""
        response = current_app.json.response(self.dump(data))
        response.status_code = status
        return response


def _dump_plan(schema: Schema) -> list[tuple] | None:
    if any(hooks for tag, hooks in schema._hooks.items() if "dump" in str(tag)):
        return None
    plan = []
    for name, field in schema.dump_fields.items():
        if (field.data_key or name) != name or (field.attribute or name) != name:
            return None
        kind = type(field)
        if kind in _PLAIN_FIELDS or kind is fields.Raw:
            plan.append((name, _PLAIN_FIELDS.get(kind), None))
        elif kind is fields.DateTime and field.format in (None, "iso", "iso8601"):
            plan.append((name, datetime, None))
        elif kind is fields.Nested and not field.many and isinstance(field.schema, Schema):
            nested = _dump_plan(field.schema)
            if nested is None:
                return None
            plan.append((name, dict, nested))
        else:
            return None
    return plan


def _plain(plan: list[tuple], data: Mapping) -> dict | None:
    """`data` under the plan's keys; None when a value is not of its field's plain type."""
    if not isinstance(data, Mapping):
        return None
    out = {}
    for name, kind, nested in plan:
        if name not in data:
            continue  # marshmallow leaves out what the data lacks
        value = data[name]
        if value is None or kind is None:
            out[name] = value
        elif kind is datetime:
            if not isinstance(value, datetime):
                return None
            out[name] = value.isoformat()
        elif kind is dict:
            value = _plain(nested, value)
            if value is None:
                return None
            out[name] = value
        elif type(value) is kind:
            out[name] = value
        else:
            return None
    return out


def if_match_header() -> str | None:
    """The raw If-Match header, for `concurrency.require_match` in a use case."""
    return request.headers.get("If-Match")


def if_match_doc(description: str, responses: Mapping | None = None) -> dict:
    """`@blp.doc(**if_match_doc(...))` for a view that changes a shared record: the
    required If-Match header, `description` saying whose ETag it carries."""
    doc: dict = {
        "parameters": [
            {
                "in": "header",
                "name": "If-Match",
                "required": True,
                "schema": {"type": "string"},
                "description": description,
            }
        ]
    }
    if responses:
        doc["responses"] = dict(responses)
    return doc


def with_etag(result: tuple[dict, str], status: int = 200) -> tuple[dict, int, dict[str, str]]:
    """A use case's (view, ETag) as a flask-smorest answer with the `ETag` header."""
    view, tag = result
    return view, status, {"ETag": tag}


def now() -> datetime:
    """The current time by the app's clock, for the use case a view calls."""
    return runtime().clock()


def endpoint_label() -> str:
    """This request's method and route (`GET /api/v1/x/<number>`), for an access record
    that must name what was read without the identifiers in the path."""
    rule = request.url_rule.rule if request.url_rule else request.path
    return f"{request.method} {rule}"


def header_text(name: str) -> str | None:
    """A request header as the client wrote it: headers travel as Latin-1, so one a
    client sent in UTF-8 gets its words back."""
    raw = request.headers.get(name)
    if not raw:
        return None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def file_download(filename: str, content_type: str, content: bytes) -> Response:
    """A stored file as an attachment, never shown inline, never cached. The name is
    normalised again for rows stored before uploads were, and `send_file` writes it per
    RFC 6266 (`filename*` for what is not ASCII), so no name can make the header unsendable."""
    response = send_file(
        io.BytesIO(content),
        mimetype=content_type,
        as_attachment=True,
        download_name=normalise_filename(filename) or "lampiran",
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
