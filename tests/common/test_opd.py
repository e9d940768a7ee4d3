"""The shipped OPD list of Kabupaten Kapuas, its validation, and the schema field."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask, current_app
from marshmallow import Schema, ValidationError

from services.common.opd import (
    KINDS,
    Opd,
    OpdCodeField,
    OpdRegistry,
    Regency,
    UnknownOpd,
    default_opd_path,
    parse_directory,
)

KAPUAS_KECAMATAN = {
    "Selat",
    "Kapuas Hilir",
    "Kapuas Timur",
    "Kapuas Kuala",
    "Kapuas Barat",
    "Pulau Petak",
    "Kapuas Murung",
    "Basarang",
    "Mantangai",
    "Timpah",
    "Kapuas Tengah",
    "Kapuas Hulu",
    "Tamban Catur",
    "Pasak Talawang",
    "Mandau Talawang",
    "Dadahup",
    "Bataguh",
}
REGENCY = {
    "code": "kapuas",
    "name": "Pemerintah Kabupaten Kapuas",
    "province": "Kalimantan Tengah",
    "timezone": "Asia/Jakarta",
}


def _entry(code, kind="dinas", name=None):
    return {"code": code, "name": name or f"Dinas {code}", "kind": kind, "short_name": code}


def _write(tmp_path, opds, regency=REGENCY):
    path = tmp_path / "opd.json"
    path.write_text(json.dumps({"regency": regency, "opds": opds}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped() -> OpdRegistry:
    return OpdRegistry.from_file(default_opd_path())


# --- the shipped file -------------------------------------------------------------------


def test_default_path_is_the_repository_config_file():
    path = default_opd_path()
    assert path.is_file()
    assert path.parts[-2:] == ("config", "opd.json")


def test_shipped_file_lists_the_regency_and_about_47_opds(shipped):
    regency = shipped.regency
    assert regency == Regency(**REGENCY, seat=regency.seat, address=regency.address)
    # The letterhead of the printed letters: where they are signed, the office address.
    assert regency.seat == "Kuala Kapuas" and "Kuala Kapuas" in regency.address
    assert 40 <= len(shipped) <= 60
    assert len(shipped.all()) == len(shipped.codes()) == len(shipped)


def test_shipped_codes_are_unique_and_valid(shipped):
    codes = shipped.codes()
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{1,31}", code) for code in codes)
    assert all(opd.kind in KINDS for opd in shipped.all())
    assert all(opd.name.strip() and opd.short_name.strip() for opd in shipped.all())


def test_shipped_file_has_all_17_kecamatan_of_kapuas(shipped):
    kecamatan = shipped.by_kind("kecamatan")
    assert len(kecamatan) == 17
    assert {opd.name.removeprefix("Kecamatan ") for opd in kecamatan} == KAPUAS_KECAMATAN
    assert shipped.require("kec_selat").name == "Kecamatan Selat"
    assert "kec_mandau_talawang" in shipped


def test_shipped_file_has_the_codes_other_services_rely_on(shipped):
    assert shipped.require("diskominfo").kind == "dinas"
    assert "Komunikasi" in shipped.require("diskominfo").name
    assert shipped.require("dinkes").name == "Dinas Kesehatan"
    assert shipped.require("disdik").name == "Dinas Pendidikan"


def test_shipped_file_covers_every_kind_of_agency(shipped):
    assert {opd.kind for opd in shipped} == set(KINDS)
    assert shipped.require("setda").kind == "sekretariat"
    assert shipped.require("setwan").kind == "sekretariat"
    assert shipped.require("inspektorat").kind == "inspektorat"
    assert shipped.require("satpolpp").kind == "satpol_pp"
    assert "Soemarno Sosroatmodjo" in shipped.require("rsud").name


# --- lookups ----------------------------------------------------------------------------


def test_get_contains_and_require(shipped):
    dinkes = shipped.get("dinkes")
    assert isinstance(dinkes, Opd)
    assert dinkes.code == "dinkes"
    assert shipped.require("dinkes") is dinkes
    assert shipped.get("tidak_ada") is None
    assert shipped.get(None) is None
    assert "dinkes" in shipped
    assert "DINKES" not in shipped
    assert 42 not in shipped


def test_require_unknown_code_raises_in_bahasa_indonesia(shipped):
    with pytest.raises(UnknownOpd) as caught:
        shipped.require("dinas_hantu")
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "dinas_hantu"
    assert str(caught.value) == "Kode OPD tidak dikenal: dinas_hantu"


def test_order_of_the_file_is_kept(tmp_path):
    registry = OpdRegistry.from_file(_write(tmp_path, [_entry("zeta"), _entry("alpha")]))
    assert registry.codes() == ("zeta", "alpha")
    assert [opd.code for opd in registry] == ["zeta", "alpha"]


def test_opd_is_immutable(shipped):
    with pytest.raises(AttributeError):
        shipped.require("dinkes").name = "lain"


# --- validation on load -----------------------------------------------------------------


def test_rejects_a_duplicate_code(tmp_path):
    path = _write(tmp_path, [_entry("dinkes"), _entry("disdik"), _entry("dinkes")])
    with pytest.raises(ValueError, match=r"'dinkes' appears more than once"):
        OpdRegistry.from_file(path)


@pytest.mark.parametrize(
    "code", ["Dinkes", "1dinas", "d", "dinas-kesehatan", "dinas kesehatan", "dinkes\n", "x" * 33]
)
def test_rejects_a_bad_code(tmp_path, code):
    with pytest.raises(ValueError, match="is invalid"):
        OpdRegistry.from_file(_write(tmp_path, [_entry(code)]))


def test_rejects_the_reserved_routing_word(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        OpdRegistry.from_file(_write(tmp_path, [_entry("none")]))


def test_rejects_an_unknown_kind(tmp_path):
    path = _write(tmp_path, [_entry("dinkes"), _entry("kantor_x", kind="kantor")])
    with pytest.raises(ValueError, match=r"'kantor_x' has unknown kind 'kantor'"):
        OpdRegistry.from_file(path)


def test_rejects_a_missing_or_empty_field(tmp_path):
    entry = _entry("dinkes")
    entry["name"] = "  "
    with pytest.raises(ValueError, match=r"opds\[0\]: 'name' must be a non-empty string"):
        OpdRegistry.from_file(_write(tmp_path, [entry]))
    del entry["name"]
    with pytest.raises(ValueError, match=r"'name' must be a non-empty string"):
        OpdRegistry.from_file(_write(tmp_path, [entry]))


def test_rejects_unexpected_keys(tmp_path):
    entry = {**_entry("dinkes"), "kepala": "Fulan"}
    with pytest.raises(ValueError, match="unexpected keys: kepala"):
        OpdRegistry.from_file(_write(tmp_path, [entry]))


def test_rejects_an_empty_list_and_a_bad_regency(tmp_path):
    with pytest.raises(ValueError, match="non-empty list"):
        OpdRegistry.from_file(_write(tmp_path, []))
    with pytest.raises(ValueError, match="unknown timezone"):
        OpdRegistry.from_file(
            _write(tmp_path, [_entry("dinkes")], {**REGENCY, "timezone": "Asia/Kapuas"})
        )
    with pytest.raises(ValueError, match="regency"):
        OpdRegistry.from_file(_write(tmp_path, [_entry("dinkes")], None))


def test_the_letterhead_of_the_regency_is_optional_but_never_blank(tmp_path):
    plain = OpdRegistry.from_file(_write(tmp_path, [_entry("dinkes")], REGENCY))
    assert (plain.regency.seat, plain.regency.address) == (None, None)
    for key in ("seat", "address"):
        with pytest.raises(ValueError, match=f"'{key}' must be a non-empty string"):
            OpdRegistry.from_file(_write(tmp_path, [_entry("dinkes")], {**REGENCY, key: " "}))


def test_rejects_a_missing_or_broken_file(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        OpdRegistry.from_file(tmp_path / "tidak_ada.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        OpdRegistry.from_file(broken)


def test_error_names_the_file(tmp_path):
    path = _write(tmp_path, [_entry("dinkes", kind="kantor")])
    with pytest.raises(ValueError, match=re.escape(str(path))):
        OpdRegistry.from_file(path)


def test_constructor_validates_too():
    with pytest.raises(ValueError, match="appears more than once"):
        OpdRegistry([Opd("dinkes", "A", "dinas", "A"), Opd("dinkes", "B", "dinas", "B")])


# --- the marshmallow field --------------------------------------------------------------


class DispositionSchema(Schema):
    opd = OpdCodeField(lambda: current_app.extensions["simpul_opds"], required=True)


@pytest.fixture
def app(shipped):
    app = Flask(__name__)
    app.extensions["simpul_opds"] = shipped
    return app


def test_field_accepts_a_known_code(app):
    with app.app_context():
        assert DispositionSchema().load({"opd": "dinkes"}) == {"opd": "dinkes"}
        assert DispositionSchema().load({"opd": "kec_bataguh"}) == {"opd": "kec_bataguh"}


def test_field_rejects_an_unknown_code_in_bahasa_indonesia(app):
    with app.app_context(), pytest.raises(ValidationError) as caught:
        DispositionSchema().load({"opd": "dinas_hantu"})
    assert caught.value.messages == {"opd": ["Kode OPD tidak dikenal: dinas_hantu."]}


def test_field_is_case_sensitive(app):
    with app.app_context(), pytest.raises(ValidationError):
        DispositionSchema().load({"opd": "DINKES"})


def test_field_rejects_a_non_string(app):
    with app.app_context(), pytest.raises(ValidationError) as caught:
        DispositionSchema().load({"opd": 7})
    assert "opd" in caught.value.messages


def test_field_reads_the_registry_of_the_current_app(tmp_path, app):
    other = Flask("other")
    other.extensions["simpul_opds"] = OpdRegistry.from_file(_write(tmp_path, [_entry("dinas_x")]))
    with other.app_context():
        assert DispositionSchema().load({"opd": "dinas_x"}) == {"opd": "dinas_x"}
        with pytest.raises(ValidationError):
            DispositionSchema().load({"opd": "dinkes"})
    with app.app_context(), pytest.raises(ValidationError):
        DispositionSchema().load({"opd": "dinas_x"})


def test_field_serialises_the_code_unchanged(app):
    with app.app_context():
        assert DispositionSchema().dump({"opd": "diskominfo"}) == {"opd": "diskominfo"}


# -- following the notifier's directory ------------------------------------------------------


def _entry(code, **extra):
    return {"code": code, "name": code.title(), "short_name": code.title(), "kind": "dinas", **extra}


def test_a_directory_snapshot_is_parsed_with_active_flags_and_unknown_fields_ignored():
    parsed = parse_directory([_entry("dinkes", active=False, since="2026"), _entry("dishub")])
    assert [(o.code, o.active) for o in parsed] == [("dinkes", False), ("dishub", True)]


@pytest.mark.parametrize(
    "entries, message",
    [([], "non-empty"), ([_entry("dinkes"), _entry("dinkes")], "more than once"),
     ([_entry("Bad Code")], "invalid"), ([_entry("dinkes", active="yes")], "active"),
     ([{"code": "dinkes"}], "name")],
)
def test_a_malformed_snapshot_is_refused(entries, message):
    with pytest.raises(ValueError, match=message):
        parse_directory(entries)


def test_the_registry_follows_a_new_list_and_keeps_its_regency(shipped):
    registry = OpdRegistry(shipped.all(), shipped.regency)
    registry.replace(parse_directory([_entry("dinkes", active=False), _entry("dishub_baru")]))
    assert registry.codes() == ("dinkes", "dishub_baru")
    assert "dishub_baru" in registry and "setda" not in registry
    assert "dinkes" in registry and not registry.is_active("dinkes") and registry.is_active("dishub_baru")
    assert registry.regency == shipped.regency
    with pytest.raises(ValueError):
        registry.replace([])
    assert registry.codes() == ("dinkes", "dishub_baru"), "an invalid list leaves the current one"


def test_name_of_gives_the_name_or_none(shipped):
    assert shipped.name_of("dinkes") == shipped.require("dinkes").name
    assert shipped.name_of(None) is None
    assert shipped.name_of("") is None
    assert shipped.name_of("tidak-ada") is None
