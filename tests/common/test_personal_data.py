"""Text that could identify someone is recognised however it is grouped or disguised."""

from __future__ import annotations

import pytest

from services.common.personal_data import (
    DIGITS_PROBLEM,
    EMAIL_PROBLEM,
    NAME_PROBLEM,
    identifying_problems,
)


@pytest.mark.parametrize(
    "text",
    [
        "Data pemohon 6203015203900001",
        "NIK 6203/0152/0390/0001",
        "NIK 6203_0152_0390_0001",
        "NIK 6203 0152 0390 0001",
        "NIK 6203.0152.0390.0001",
        "Kontak 0812 5555 1234",
        "Kontak 0812/5555/1234",
        "Kontak 0812_5555_1234",
        "Kontak (0513) 21000",
        "Kontak +62 812-5555-1234",
        "Kontak ０８１２５５５５１２３４",  # full-width digits
        "Rekening 1234 - 5678 - 90",
    ],
)
def test_long_digit_runs_are_found_however_grouped(text):
    assert identifying_problems(text) == [DIGITS_PROBLEM]


@pytest.mark.parametrize(
    "text",
    [
        "Balas ke siti@example.org",
        "Balas ke siti (at) example.org",
        "Balas ke siti[at]example.org",
        "Balas ke siti [AT] example [dot] org",
        "Balas ke siti{at}example(dot)co(dot)id",
        "Balas ke siti at example dot org",
        "Balas ke siti＠example.org",  # full-width at sign
    ],
)
def test_email_addresses_are_found_however_disguised(text):
    assert identifying_problems(text) == [EMAIL_PROBLEM]


@pytest.mark.parametrize(
    "text",
    [
        "Data tenaga kesehatan per kecamatan 2025",
        "Anggaran 2024 dan 2025",
        "Tahun ajaran 2024/2025",
        "Realisasi per 16/03/2026",
        "Data 2021 2022 2023 2024",
        "Rencana kerja (dinas) tahun 2026",
        "Daftar sekolah at kecamatan Selat",
    ],
)
def test_what_a_subject_may_say_passes(text):
    assert identifying_problems(text, "Siti Rahmawati") == []


def test_the_applicants_name_is_found():
    assert identifying_problems("Laporan SITI RAHMAWATI", "Siti Rahmawati") == [NAME_PROBLEM]
    assert identifying_problems("Sertifikat tanah milik Siti", "Siti Rahmawati") == [NAME_PROBLEM]
