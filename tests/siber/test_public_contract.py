"""Schemathesis over SIBER's public reading API and statistics, in process on SQLite: no
generated call, valid or invalid, anonymous or with a staff token, may be a server error or
differ from its documented answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.siber.support import EDITOR, HUMAS, T0, SiberClient, build_env, headers
from tests.test_schemathesis import UNLIMITED, Caller, _explore

OURS = ("/api/v1/public/", "/api/v1/statistics")
CALLERS = (
    Caller("anonymous", {}),
    Caller("siber_editor", headers(EDITOR)),
    Caller("humas dinkes", headers(HUMAS, "dinkes")),
)


@pytest.fixture(scope="module")
def siber_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('st-siber') / 'siber.db'}"
    env = build_env(url, "sqlite", **UNLIMITED)
    # Something to find, so the operations on a slug or a feed reach more than an empty answer.
    SiberClient(env).published("dinkes", at=T0 + timedelta(hours=1))
    env.clock.set(T0 + timedelta(days=1))
    yield env.app
    env.rt.dispose()


def _ours(app):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(OURS):
            yield operation


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_public_reading_and_statistics_answer_within_their_contract(siber_app, caller):
    failures, explored = [], 0
    for operation in _ours(siber_app):
        explored += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _explore(operation, mode, caller)
            except Unsatisfiable:
                continue
            except Exception as exc:  # noqa: BLE001 - hypothesis re-raises what it found
                failures.append(f"{operation.label} [{mode.value}, {caller.name}]: {exc}")
    assert explored >= 8
    assert not failures, "\n\n".join(failures)

