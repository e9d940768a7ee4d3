"""The composition root of the LAPOR! web process: nothing happens at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib import import_module

from flask import Flask
from flask_smorest import Blueprint

from services.common.http import create_flask_app
from services.common.runtime import build_runtime
from services.lapor.config import LaporSettings
from services.lapor.models import Base

DESCRIPTION = (
    "Pengaduan dan aspirasi masyarakat (SP4N-LAPOR!, Perpres 76/2013, Permenpan RB 62/2018, "
    "UU 25/2009): laporan tanpa akun dengan nomor dan token akses, verifikasi oleh admin "
    "LAPOR! kabupaten, disposisi ke OPD, tindak lanjut, penyelesaian paling lama 60 hari dan "
    "penilaian oleh pelapor. Batas waktu verifikasi, tindak lanjut dan tanggapan pelapor "
    "dihitung dalam hari kerja; batas penyelesaian dalam hari kalender."
)


def blueprints() -> list[Blueprint]:
    """Every blueprint the LAPOR! app mounts: one line per module that adds one."""
    blps: list[Blueprint] = []
    blps.append(import_module("services.lapor.citizen_api").blp)
    blps.append(import_module("services.lapor.admin_api").blp)
    blps.append(import_module("services.lapor.duplicates_api").blp)
    blps.append(import_module("services.lapor.import_api").blp)
    blps.append(import_module("services.lapor.attachments_api").blp)
    blps.append(import_module("services.lapor.places_api").blp)
    blps.append(import_module("services.lapor.public_api").blp)
    blps.append(import_module("services.lapor.open311").blp)
    blps.append(import_module("services.lapor.opd_api").blp)
    blps.append(import_module("services.lapor.reporter_api").blp)
    return blps


def create_app(settings: LaporSettings | None = None, *, clock: Callable[[], datetime] | None = None) -> Flask:
    """The LAPOR! Flask app. `clock` replaces the wall clock (tests stand on chosen dates)."""
    settings = settings or LaporSettings.from_env("lapor")
    rt = build_runtime(settings, Base.metadata, clock=clock)
    return create_flask_app(rt, title="LAPOR!", description=DESCRIPTION, blueprints=blueprints())
