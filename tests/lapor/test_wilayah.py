"""Kapuas's places and boundary: the shipped file, the point test and the location check."""

from __future__ import annotations

import copy
import json

import pytest

from services.common.errors import Invalid
from services.lapor import wilayah
from services.lapor.wilayah import Location, WilayahFileError, check_location, point_in_ring

KAPUAS = [
    "Selat", "Kapuas Hilir", "Kapuas Timur", "Kapuas Kuala", "Kapuas Barat", "Pulau Petak",
    "Kapuas Murung", "Basarang", "Mantangai", "Timpah", "Kapuas Tengah", "Kapuas Hulu",
    "Tamban Catur", "Pasak Talawang", "Mandau Talawang", "Dadahup", "Bataguh",
]

# Places inside the regency (lat, lon): the capital, towns along the Kapuas river, the north.
INSIDE = {
    "Kuala Kapuas": (-3.00, 114.39),
    "Mandomai": (-2.80, 114.34),
    "Mantangai": (-2.58, 114.43),
    "Timpah": (-1.90, 114.45),
    "Pujon": (-1.40, 114.35),
    "Sei Pinang (Mandau Talawang)": (-0.79, 113.92),
    "Lupak, near the coast": (-3.30, 114.38),
}
# Places outside: the neighbours' capitals and a swapped pair.
OUTSIDE = {
    "Palangka Raya": (-2.21, 113.92),
    "Banjarmasin": (-3.32, 114.59),
    "Muara Teweh": (-0.96, 114.89),
    "Buntok": (-1.71, 114.85),
    "Kuala Kurun": (-1.11, 113.87),
    "Jakarta": (-6.20, 106.82),
    "swapped": (114.39, -3.00),
    "the sea south of the coast": (-3.70, 114.30),
}


@pytest.fixture(scope="module")
def places():
    return wilayah.load()


def test_the_shipped_file_has_the_seventeen_kecamatan_in_kemendagri_order(places):
    assert [k.name for k in places.kecamatan] == KAPUAS
    assert [k.code for k in places.kecamatan] == [f"62.03.{i:02d}" for i in range(1, 18)]
    assert places.regency["code"] == "62.03"
    assert "Kepmendagri" in places.source or "Menteri Dalam Negeri" in places.source


def test_every_kecamatan_has_its_desa_and_the_towns_their_kelurahan(places):
    assert all(len(k.desa) >= 2 for k in places.kecamatan)
    selat = places.find_kecamatan("Selat")
    kelurahan = {d.name for d in selat.desa if d.kind == "kelurahan"}
    assert {"Selat Hilir", "Selat Tengah", "Selat Hulu", "Selat Dalam", "Murung Keramat"} <= kelurahan
    hilir = places.find_kecamatan("62.03.02")
    assert {"Mambulau", "Barimba", "Dahirang", "Hampatung"} <= {
        d.name for d in hilir.desa if d.kind == "kelurahan"}
    codes = [d.code for k in places.kecamatan for d in k.desa]
    assert len(codes) == len(set(codes))
    assert all(d.code.startswith(d.kecamatan + ".") for k in places.kecamatan for d in k.desa)


def test_the_boundary_is_a_closed_ring_within_the_regencys_extent(places):
    ring = places.boundary
    assert ring[0] == ring[-1] and len(ring) >= 20
    assert min(lat for _, lat in ring) < -3.3 and max(lat for _, lat in ring) > -0.7
    # The regency's profile gives 3°27' S as its southmost and 114°44' E as its eastmost.
    assert min(lat for _, lat in ring) >= -3.47
    assert all(113.4 <= lon <= 114 + 44 / 60 for lon, _ in ring)


@pytest.mark.parametrize("name", INSIDE)
def test_places_of_the_regency_are_inside(places, name):
    assert places.contains(*INSIDE[name])


@pytest.mark.parametrize("name", OUTSIDE)
def test_places_beyond_the_regency_are_outside(places, name):
    assert not places.contains(*OUTSIDE[name])


def test_ray_casting_on_a_square():
    square = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
    assert point_in_ring(0.5, 0.5, square)
    assert not point_in_ring(1.5, 0.5, square)
    assert not point_in_ring(0.5, -0.1, square)


def test_a_location_is_normalised_to_codes():
    assert check_location(-3.0, 114.39, "selat", " Selat Hilir ") == Location(
        -3.0, 114.39, "62.03.01", "62.03.01.1007")
    assert check_location(None, None, "62.03.09", "62.03.09.2006") == Location(
        None, None, "62.03.09", "62.03.09.2006")


def test_a_desa_alone_names_its_kecamatan():
    assert check_location(None, None, None, "Mandomai").kecamatan == "62.03.05"
    assert check_location(None, None, "", "62.03.17.1001") == Location(
        None, None, "62.03.17", "62.03.17.1001")


def test_nothing_given_is_no_location():
    assert check_location(None, None, None, None) == Location(None, None, None, None)
    assert check_location(None, None, "  ", "") == Location(None, None, None, None)


def _errors(*args):
    with pytest.raises(Invalid) as caught:
        check_location(*args)
    assert caught.value.status == 422
    return caught.value.errors


def test_a_point_outside_the_regency_is_refused():
    errors = _errors(*OUTSIDE["Palangka Raya"], None, None)
    assert errors["latitude"] == ["Lokasi berada di luar wilayah Kabupaten Kapuas."]


def test_latitude_without_longitude_and_the_reverse_are_refused():
    assert "longitude" in _errors(-3.0, None, None, None)
    assert "latitude" in _errors(None, 114.39, None, None)


@pytest.mark.parametrize("lat, lon", [(float("nan"), 114.0), (-3.0, float("inf")), (95, 114.0),
                                      (-3.0, 200), ("utara", 114.0), (True, 114.0)])
def test_hostile_coordinates_are_refused_in_indonesian(lat, lon):
    errors = _errors(lat, lon, None, None)
    assert any("antara" in m for msgs in errors.values() for m in msgs)


def test_an_unknown_kecamatan_is_refused():
    assert _errors(None, None, "Jekan Raya", None) == {
        "kecamatan": ["Kecamatan tidak dikenal di Kabupaten Kapuas."]}


def test_a_desa_of_another_kecamatan_is_refused():
    errors = _errors(None, None, "Selat", "Mandomai")
    assert errors == {"desa": ["Desa/kelurahan ini tidak berada di kecamatan yang dipilih."]}


def test_an_unknown_desa_is_refused():
    assert "desa" in _errors(None, None, "Selat", "Kampung Entah")


def test_a_desa_name_two_kecamatan_share_needs_its_kecamatan():
    # Sidomulyo is a desa of Mantangai and of Tamban Catur.
    assert "kecamatan" in _errors(None, None, None, "Sidomulyo")
    assert check_location(None, None, "Tamban Catur", "Sidomulyo").desa == "62.03.13.2009"


def test_every_problem_is_named_at_once():
    errors = _errors(*OUTSIDE["Jakarta"], "Menteng", None)
    assert set(errors) == {"latitude", "longitude", "kecamatan"}


def _document():
    return json.loads(wilayah.resolve("config/lapor_wilayah.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("spoil", [
    lambda d: d.pop("kecamatan"),
    lambda d: d["kecamatan"].append(copy.deepcopy(d["kecamatan"][0])),
    lambda d: d["kecamatan"][0]["desa"].append({"code": "62.03.02.9999", "name": "X"}),
    lambda d: d["boundary"].update(coordinates=[[[1, 2]]]),
    lambda d: d["boundary"].update(coordinates="none"),
    lambda d: d["kecamatan"][1].update(name=""),
])
def test_a_broken_places_file_is_refused(spoil):
    document = _document()
    spoil(document)
    with pytest.raises(WilayahFileError):
        wilayah.parse(document)


def test_an_unreadable_places_file_is_refused(tmp_path):
    path = tmp_path / "w.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(WilayahFileError):
        wilayah.load(path)


def test_the_form_lists_are_served_publicly(lapor):
    places = lapor.http.get("/api/v1/wilayah")
    assert places.status_code == 200
    body = places.get_json()
    assert [k["name"] for k in body["kecamatan"]] == KAPUAS
    assert body["boundary"]["type"] == "Polygon" and body["boundary"]["note"]
    assert body["regency"]["code"] == "62.03"
    assert "X-RateLimit-Limit" in places.headers
    listed = lapor.http.get("/api/v1/categories").get_json()
    assert {"code": "lainnya", "label": "Lainnya"} in listed
