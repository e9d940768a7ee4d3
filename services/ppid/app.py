"""The composition root of the PPID web process: nothing happens at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask
from flask_smorest import Blueprint

from services.common.http import create_flask_app
from services.common.runtime import build_runtime
from services.ppid.config import PpidSettings
from services.ppid.models import Base

DESCRIPTION = (
    "Layanan informasi publik (UU 14/2008, Perki 1/2021): permohonan tanpa akun dengan "
    "nomor pendaftaran dan token akses, penugasan ke PPID Pelaksana OPD, perpanjangan, "
    "pemberitahuan tertulis, keberatan kepada Atasan PPID dan sengketa di Komisi Informasi. "
    "Batas waktu dihitung dalam hari kerja."
)


def blueprints() -> list[Blueprint]:
    """Every blueprint the PPID app mounts: the one place to add another."""
    from services.ppid import api, dip_api, reports_api

    return [api.blp, dip_api.blp, reports_api.blp]


def create_app(settings: PpidSettings | None = None, *, clock: Callable[[], datetime] | None = None) -> Flask:
    """The PPID Flask app. `clock` replaces the wall clock (tests stand on chosen dates)."""
    settings = settings or PpidSettings.from_env("ppid")
    rt = build_runtime(settings, Base.metadata, clock=clock)
    return create_flask_app(rt, title="PPID", description=DESCRIPTION, blueprints=blueprints())
