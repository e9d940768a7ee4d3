"""Fixtures for the notifier: a migrated database, a runtime, a real SMTP server, envelopes."""

from __future__ import annotations

import shutil

import pytest
from aiosmtpd.controller import Controller

from services.common.migrations import upgrade
from services.notifier import handlers
from services.notifier.app import create_app, make_runtime
from services.notifier.config import NotifierSettings
from services.notifier.consumers import events_consumer
from tests.conftest import create_pg_database, drop_pg_database, free_port, pg_url_for
from tests.notifier.notifier_support import SmtpSink


@pytest.fixture
def smtp():
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture
def notifier_settings(make_settings, smtp):
    def make(url: str, **env: str) -> NotifierSettings:
        values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_TIMEOUT_SECONDS": "5",
                  "SMTP_FROM": "Simpul Kapuas <simpul@kapuaskab.go.id>", **env}
        return make_settings(NotifierSettings, "notifier", url, **values)

    return make


def _seeded(url: str) -> None:
    upgrade("notifier", url)
    settings = NotifierSettings.from_env(
        "notifier", {"SIMPUL_ENV": "development", "NOTIFIER_DATABASE_URL": url}
    )
    rt = make_runtime(settings)
    try:
        with rt.uow() as uow:
            rt.calendar_sync.seed(uow.session)
            uow.commit()
        handlers.seed(rt)
    finally:
        rt.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """Migrated, seeded databases made once; each test gets a copy (migrations are tested
    from scratch in test_migrations.py)."""
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        drop_pg_database(made["postgresql"])


def _template(made: dict[str, str], kind: str, tmp_path_factory) -> str:
    if kind not in made:
        if kind == "sqlite":
            path = tmp_path_factory.mktemp("notifier-template") / "template.db"
            _seeded(f"sqlite:///{path}")
            made[kind] = str(path)
        else:
            made[kind] = create_pg_database("simpul_ntpl")
            _seeded(pg_url_for(made[kind]))
    return made[kind]


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated(request, tmp_path, tmp_path_factory, _templates):
    """A migrated and seeded notifier database, on SQLite and on PostgreSQL."""
    template = _template(_templates, request.param, tmp_path_factory)
    if request.param == "sqlite":
        target = tmp_path / "notifier.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    name = create_pg_database("simpul_ntest", template=template)
    yield pg_url_for(name)
    drop_pg_database(name)


@pytest.fixture
def make_rt(notifier_settings):
    made = []

    def make(url: str, *, seed: bool = False, clock=None, **env: str):
        rt = make_runtime(notifier_settings(url, **env), clock=clock)
        made.append(rt)
        if seed:
            with rt.uow() as uow:
                rt.calendar_sync.seed(uow.session)
                uow.commit()
            handlers.seed(rt)
        return rt

    yield make
    for rt in made:
        rt.dispose()


@pytest.fixture
def rt(migrated, make_rt):
    return make_rt(migrated)


@pytest.fixture
def app(rt, notifier_settings):
    return create_app(rt.settings, clock=rt.clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def feed(rt):
    """Hands an envelope to the notifier's consumer as the runner would (inbox + commit)."""
    consumer = events_consumer(rt)

    def feed_one(envelope: dict) -> bool:
        return consumer.process(envelope)

    return feed_one


