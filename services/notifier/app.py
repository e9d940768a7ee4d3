"""The notifier's composition root: nothing happens at import time."""

from __future__ import annotations

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


def make_runtime(settings: NotifierSettings | None = None) -> Runtime:
    return build_runtime(settings or NotifierSettings.from_env("notifier"), Base.metadata)


def create_app(settings: NotifierSettings | None = None) -> Flask:
    rt = make_runtime(settings)
    return create_flask_app(rt, title=TITLE, description=DESCRIPTION, blueprints=blueprints())
