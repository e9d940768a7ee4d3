"""Schemathesis over the OpenAPI documents of PPID, LAPOR!, SIBER and the notifier, in process on SQLite.

Every operation of each service is called with generated input, valid and invalid, without
a token and with staff tokens: no answer may be a server error, and every documented answer
must match its documented schema and headers (`X-Pagination` among them). The number of
examples per operation is bounded so the run stays within a few minutes on two cores;
`SCHEMATHESIS_EXAMPLES` raises it for a deeper run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from jsonschema import Draft4Validator
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
)

from services.common.migrations import upgrade
from services.lapor.app import create_app as create_lapor_app
from services.lapor.config import LaporSettings
from services.notifier import handlers as notifier_handlers
from services.notifier.app import create_app as create_notifier_app
from services.notifier.app import make_runtime as make_notifier_runtime
from services.notifier.config import NotifierSettings
from services.ppid.app import create_app as create_ppid_app
from services.ppid.config import PpidSettings
from services.siber.app import create_app as create_siber_app
from services.siber.config import SiberSettings
from tests.conftest import service_settings
from tests.lapor.support import REPORT_BODY
from tests.ppid.support import REQUEST_BODY, staff_headers

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))


def pagination_header_conformance(ctx, response, case) -> None:
    """X-Pagination is a JSON object (documented as `application/json` content, which
    schemathesis does not read for headers): it must parse and match PaginationMetadata."""
    raw = response.headers.get("x-pagination")
    if not raw:
        return
    document = case.operation.schema.raw_schema
    schema = {**document["components"]["schemas"]["PaginationMetadata"], "additionalProperties": False}
    metadata = json.loads(raw[0])
    errors = [error.message for error in Draft4Validator(schema).iter_errors(metadata)]
    assert not errors, f"X-Pagination {metadata} does not match PaginationMetadata: {errors}"
    assert metadata["total"] >= 0


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    response_headers_conformance,
    pagination_header_conformance,
]
# A flood of generated calls must not be refused for its rate instead of being answered.
UNLIMITED = {"PUBLIC_RATE_LIMIT": "1000000/second"}


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]


PPID_CALLERS = (
    Caller("anonymous", {}),
    Caller("ppid_utama", staff_headers("ppid_utama")),
    Caller("ppid_pelaksana dinkes", staff_headers("ppid_pelaksana", "dinkes")),
)
LAPOR_CALLERS = (
    Caller("anonymous", {}),
    Caller("lapor_admin", staff_headers("lapor_admin")),
    Caller("lapor_liaison dinkes", staff_headers("lapor_liaison", "dinkes")),
)
NOTIFIER_CALLERS = (
    Caller("anonymous", {}),
    Caller("admin", staff_headers("admin")),
    Caller("opd_head dinkes", staff_headers("opd_head", "dinkes")),
)

SIBER_CALLERS = (
    Caller("anonymous", {}),
    Caller("siber_editor", staff_headers("siber_editor")),
    Caller("humas dinkes", staff_headers("humas", "dinkes")),
)


def _ppid_app(url: str) -> Flask:
    upgrade("ppid", url)
    app = create_ppid_app(service_settings(PpidSettings, "ppid", url, **UNLIMITED))
    # One case to find, so the operations on a number reach more than their 404.
    assert app.test_client().post("/api/v1/requests", json=REQUEST_BODY).status_code == 201
    return app


def _lapor_app(url: str, files: str) -> Flask:
    upgrade("lapor", url)
    app = create_lapor_app(service_settings(LaporSettings, "lapor", url, LAPOR_FILES_URL=files, **UNLIMITED))
    # One report to find, so the operations on a number reach more than their 404.
    assert app.test_client().post("/api/v1/reports", json=REPORT_BODY).status_code == 201
    return app


def _notifier_app(url: str) -> Flask:
    upgrade("notifier", url)
    settings = service_settings(NotifierSettings, "notifier", url, **UNLIMITED)
    rt = make_notifier_runtime(settings)
    try:
        with rt.uow() as uow:
            rt.calendar_sync.seed(uow.session)
            uow.commit()
        notifier_handlers.seed(rt)
    finally:
        rt.dispose()
    return create_notifier_app(settings)


def _siber_app(url: str, files: str) -> Flask:
    upgrade("siber", url)
    app = create_siber_app(service_settings(SiberSettings, "siber", url, SIBER_FILES_URL=files, **UNLIMITED))
    # A published article and a draft, so the operations on an id reach more than their 404.
    client, humas, editor = app.test_client(), staff_headers("humas", "dinkes"), staff_headers("siber_editor")
    for publish in (True, False):
        created = client.post("/api/v1/articles", json={"title": "Posyandu serentak di Kapuas"}, headers=humas)
        assert created.status_code == 201
        if publish:
            path = f"/api/v1/articles/{created.get_json()['id']}"
            submitted = client.post(f"{path}/submit", headers={**humas, "If-Match": created.headers["ETag"]})
            published = client.post(f"{path}/publish", headers={**editor, "If-Match": submitted.headers["ETag"]})
            assert published.status_code == 200
    return app


def _failures(app: Flask, caller: Caller) -> Iterator[str]:
    # Loaded once per app: the callers differ only in their headers.
    schema = app.extensions.get("schemathesis")
    if schema is None:
        schema = app.extensions["schemathesis"] = schemathesis.openapi.from_wsgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}, {caller.name}]"
            try:
                _explore(operation, mode, caller)
            except Unsatisfiable:
                continue  # a path of plain text parameters has no invalid form to send
            except Exception as exc:  # noqa: BLE001 - hypothesis re-raises what it found
                yield f"{label}: {exc}"


def _explore(operation, mode: GenerationMode, caller: Caller) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        case.call_and_validate(headers=caller.headers, checks=CHECKS)

    call()


@pytest.fixture(scope="module")
def ppid_app(tmp_path_factory) -> Flask:
    app = _ppid_app(f"sqlite:///{tmp_path_factory.mktemp('st-ppid') / 'ppid.db'}")
    yield app
    app.extensions["simpul"].dispose()


@pytest.fixture(scope="module")
def lapor_app(tmp_path_factory) -> Flask:
    work = tmp_path_factory.mktemp("st-lapor")
    app = _lapor_app(f"sqlite:///{work / 'lapor.db'}", str(work / "files"))
    yield app
    app.extensions["simpul"].dispose()


@pytest.fixture(scope="module")
def notifier_app(tmp_path_factory) -> Flask:
    app = _notifier_app(f"sqlite:///{tmp_path_factory.mktemp('st-notifier') / 'notifier.db'}")
    yield app
    app.extensions["simpul"].dispose()


@pytest.fixture(scope="module")
def siber_app(tmp_path_factory) -> Flask:
    work = tmp_path_factory.mktemp("st-siber")
    app = _siber_app(f"sqlite:///{work / 'siber.db'}", str(work / "files"))
    yield app
    app.extensions["simpul"].dispose()


@pytest.mark.parametrize("caller", PPID_CALLERS, ids=lambda c: c.name)
def test_ppid_answers_every_generated_call_within_its_contract(ppid_app, caller):
    failures = list(_failures(ppid_app, caller))
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("caller", LAPOR_CALLERS, ids=lambda c: c.name)
def test_lapor_answers_every_generated_call_within_its_contract(lapor_app, caller):
    failures = list(_failures(lapor_app, caller))
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("caller", NOTIFIER_CALLERS, ids=lambda c: c.name)
def test_notifier_answers_every_generated_call_within_its_contract(notifier_app, caller):
    failures = list(_failures(notifier_app, caller))
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("caller", SIBER_CALLERS, ids=lambda c: c.name)
def test_siber_answers_every_generated_call_within_its_contract(siber_app, caller):
    failures = list(_failures(siber_app, caller))
    assert not failures, "\n\n".join(failures)
