"""The configurable list of report categories and its validator."""

from __future__ import annotations

import pytest

from services.lapor import categories
from services.lapor.categories import CategoriesFileError


def test_the_shipped_categories_load_with_lainnya():
    shipped = categories.load()
    assert {"infrastruktur", "kesehatan", "pendidikan", "kependudukan", "lingkungan_hidup",
            "air_bersih", "listrik", "pelayanan_publik", "ketertiban_umum", "sosial",
            "pertanian", "lainnya"} <= set(shipped.codes)
    assert shipped.label("kesehatan") == "Kesehatan"
    assert "kesehatan" in shipped and "health" not in shipped


@pytest.mark.parametrize("text, code", [
    ("Kesehatan", "kesehatan"), ("KESEHATAN", "kesehatan"), ("air bersih", "air_bersih"),
    ("Infrastruktur Jalan dan Jembatan", "infrastruktur"), ("Pariwisata", "lainnya"),
    ("", "lainnya"), (None, "lainnya"),
])
def test_a_foreign_category_maps_to_ours_or_lainnya(text, code):
    assert categories.load().match(text) == code


@pytest.mark.parametrize("document", [
    {}, {"categories": []}, [],
    {"categories": [{"code": "a", "label": "A"}]},
    {"categories": [{"code": "lainnya", "label": "L"}, {"code": "lainnya", "label": "L2"}]},
    {"categories": [{"code": "Lainnya", "label": "L"}]},
    {"categories": [{"code": "lainnya", "label": " "}]},
    {"categories": ["lainnya"]},
])
def test_a_broken_categories_file_is_refused(document):
    with pytest.raises(CategoriesFileError):
        categories.parse(document)


def test_an_unreadable_categories_file_is_refused(tmp_path):
    with pytest.raises(CategoriesFileError):
        categories.load(tmp_path / "missing.json")
