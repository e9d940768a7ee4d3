"""The notifier's composition root: nothing happens at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask
from flask_smorest import Blueprint

from services.common.http import create_flask_app
from services.common.runtime import Runtime, build_runtime
from services.notifier import api, webhook_api
from services.notifier.config import NotifierSettings
from services.notifier.models import Base

TITLE = "Simpul Notifier"
DESCRIPTION = (
    "Jam layanan (SLA) lintas OPD: pengingat, pemberitahuan keterlambatan dan eskalasi; "
    "direktori OPD dan kontak; kotak masuk staf; langganan webhook; kalender hari kerja; "
    "dasbor kepatuhan."
)


def blueprints() -> list[Blueprint]:
    """Every blueprint the notifier serves, in one place."""
    return [*api.all_blueprints(), webhook_api.blp]


def make_runtime(
    settings: NotifierSettings | None = None, *, clock: Callable[[], datetime] | None = None
) -> Runtime:
    """`clock` stands the notifier on a chosen instant (tests); by default, the real time."""
    return build_runtime(
        settings or NotifierSettings.from_env("notifier"), Base.metadata, clock=clock
    )


def create_app(
    settings: NotifierSettings | None = None, *, clock: Callable[[], datetime] | None = None
) -> Flask:
    rt = make_runtime(settings, clock=clock)
    return create_flask_app(rt, title=TITLE, description=DESCRIPTION, blueprints=blueprints())
