"""The composition root of the SIBER web process: nothing happens at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask
from flask_smorest import Blueprint

from services.common.http import create_flask_app
from services.common.runtime import build_runtime
from services.siber.config import SiberSettings
from services.siber.models import Base

DESCRIPTION = (
    "Ruang redaksi pemerintah kabupaten: operator humas OPD menulis berita kegiatan OPD-nya, "
    "redaktur Diskominfo meninjau, meminta revisi, menyetujui, menjadwalkan dan menerbitkan; "
    "setiap OPD diharapkan mengirim berita setiap hari kerja."
)


def blueprints() -> list[Blueprint]:
    """Every blueprint the SIBER app mounts: the one place to add another."""
    from services.siber import public_api, staff_api, stats_api

    return [*staff_api.blueprints(), public_api.blp, stats_api.blp]


def create_app(settings: SiberSettings | None = None, *, clock: Callable[[], datetime] | None = None) -> Flask:
    """The SIBER Flask app. `clock` replaces the wall clock (tests stand on chosen dates)."""
    settings = settings or SiberSettings.from_env("siber")
    rt = build_runtime(settings, Base.metadata, clock=clock)
    return create_flask_app(rt, title="SIBER", description=DESCRIPTION, blueprints=blueprints())
