"""Kapuas's places: its kecamatan, their desa and kelurahan, and the regency's boundary.

The list is data an operator maintains (`LAPOR_WILAYAH_FILE`, by default
`config/lapor_wilayah.json`): Kemendagri codes change whenever a desa is split or merged.
A report names places by code (`62.03.01`, `62.03.01.1006`); a form may also send the name,
which is read case-insensitively and stored as its code.

The boundary is a simplified polygon (see its `note` in the file): it refuses a point that is
plainly elsewhere (Palangka Raya, Banjarmasin, a swapped latitude and longitude), not one a
few hundred metres across the real border.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from services.common.errors import Invalid
from services.common.settings import REPO_ROOT

OUTSIDE = "Lokasi berada di luar wilayah Kabupaten Kapuas."
LATITUDE_WITHOUT_LONGITUDE = "Bujur (longitude) wajib diisi bila lintang diisi."
LONGITUDE_WITHOUT_LATITUDE = "Lintang (latitude) wajib diisi bila bujur diisi."
NOT_A_LATITUDE = "Lintang harus berupa angka antara -90 dan 90."
NOT_A_LONGITUDE = "Bujur harus berupa angka antara -180 dan 180."
UNKNOWN_KECAMATAN = "Kecamatan tidak dikenal di Kabupaten Kapuas."
UNKNOWN_DESA = "Desa/kelurahan tidak dikenal di Kabupaten Kapuas."
DESA_ELSEWHERE = "Desa/kelurahan ini tidak berada di kecamatan yang dipilih."
DESA_AMBIGUOUS = "Ada beberapa desa/kelurahan dengan nama ini; pilih kecamatannya."
LOCATION_INVALID = "Lokasi tidak valid."


class WilayahFileError(ValueError):
    """The places file cannot be used: the process stops rather than accept any place."""


@dataclass(frozen=True)
class Desa:
    code: str
    name: str
    kind: str  # "desa" or "kelurahan"
    kecamatan: str  # its kecamatan's code


@dataclass(frozen=True)
class Kecamatan:
    code: str
    name: str
    desa: tuple[Desa, ...]


class Location(NamedTuple):
    latitude: float | None
    longitude: float | None
    kecamatan: str | None  # code
    desa: str | None  # code


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def point_in_ring(lon: float, lat: float, ring: tuple[tuple[float, float], ...]) -> bool:
    """Even-odd ray casting over one closed ring of (lon, lat) vertices."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


class Wilayah:
    """The regency's places as one file describes them."""

    def __init__(self, document: dict):
        self.source: str = document.get("source", "")
        self.regency: dict = dict(document["regency"])
        self.boundary: tuple[tuple[float, float], ...] = tuple(
            (float(lon), float(lat)) for lon, lat in document["boundary"]["coordinates"][0]
        )
        self.boundary_note: str = document["boundary"].get("note", "")
        self.kecamatan: tuple[Kecamatan, ...] = tuple(
            Kecamatan(
                code=k["code"],
                name=k["name"],
                desa=tuple(Desa(d["code"], d["name"], d.get("kind", "desa"), k["code"])
                           for d in k.get("desa", ())),
            )
            for k in document["kecamatan"]
        )
        self._kecamatan_by_key: dict[str, Kecamatan] = {}
        self._desa_by_code: dict[str, Desa] = {}
        self._desa_by_name: dict[str, list[Desa]] = {}
        for kecamatan in self.kecamatan:
            self._kecamatan_by_key[kecamatan.code] = kecamatan
            self._kecamatan_by_key[_key(kecamatan.name)] = kecamatan
            for desa in kecamatan.desa:
                self._desa_by_code[desa.code] = desa
                self._desa_by_name.setdefault(_key(desa.name), []).append(desa)

    # -- lookups -------------------------------------------------------------------------

    def find_kecamatan(self, code_or_name: str) -> Kecamatan | None:
        return self._kecamatan_by_key.get(code_or_name.strip()) or self._kecamatan_by_key.get(
            _key(code_or_name))

    def kecamatan_name(self, code: str | None) -> str | None:
        found = self._kecamatan_by_key.get(code) if code else None
        return found.name if found else None

    def desa_name(self, code: str | None) -> str | None:
        found = self._desa_by_code.get(code) if code else None
        return found.name if found else None

    def contains(self, latitude: float, longitude: float) -> bool:
        return point_in_ring(longitude, latitude, self.boundary)

    # -- the check a report's location passes ---------------------------------------------

    def check_location(self, latitude: float | None, longitude: float | None,
                       kecamatan: str | None, desa: str | None) -> Location:
        """The location normalised (places as codes), or `Invalid` naming every problem."""
        errors: dict[str, list[str]] = {}
        latitude, longitude = self._check_point(latitude, longitude, errors)
        kecamatan_code, desa_code = self._check_places(kecamatan, desa, errors)
        if errors:
            raise Invalid(LOCATION_INVALID, errors)
        return Location(latitude, longitude, kecamatan_code, desa_code)

    def _check_point(self, latitude, longitude, errors):
        if latitude is None and longitude is None:
            return None, None
        if longitude is None:
            errors["longitude"] = [LATITUDE_WITHOUT_LONGITUDE]
            return None, None
        if latitude is None:
            errors["latitude"] = [LONGITUDE_WITHOUT_LATITUDE]
            return None, None
        lat, lon = _as_coordinate(latitude, 90), _as_coordinate(longitude, 180)
        if lat is None:
            errors["latitude"] = [NOT_A_LATITUDE]
        if lon is None:
            errors["longitude"] = [NOT_A_LONGITUDE]
        if lat is None or lon is None:
            return None, None
        if not self.contains(lat, lon):
            errors["latitude"] = [OUTSIDE]
            errors["longitude"] = [OUTSIDE]
            return None, None
        return lat, lon

    def _check_places(self, kecamatan, desa, errors):
        kecamatan = _blank_to_none(kecamatan)
        desa = _blank_to_none(desa)
        found_kecamatan = None
        if kecamatan is not None:
            found_kecamatan = self.find_kecamatan(kecamatan)
            if found_kecamatan is None:
                errors["kecamatan"] = [UNKNOWN_KECAMATAN]
                return None, None
        if desa is None:
            return (found_kecamatan.code if found_kecamatan else None), None
        found_desa = self._find_desa(desa, found_kecamatan, errors)
        if found_desa is None:
            return (found_kecamatan.code if found_kecamatan else None), None
        return found_desa.kecamatan, found_desa.code

    def _find_desa(self, desa: str, kecamatan: Kecamatan | None, errors) -> Desa | None:
        by_code = self._desa_by_code.get(desa.strip())
        candidates = [by_code] if by_code else self._desa_by_name.get(_key(desa), [])
        if not candidates:
            errors["desa"] = [UNKNOWN_DESA]
            return None
        if kecamatan is not None:
            within = [d for d in candidates if d.kecamatan == kecamatan.code]
            if not within:
                errors["desa"] = [DESA_ELSEWHERE]
                return None
            return within[0]
        if len(candidates) > 1:
            errors["kecamatan"] = [DESA_AMBIGUOUS]
            return None
        return candidates[0]

    def as_list(self) -> list[dict]:
        """Every kecamatan with its desa, for a form's choices."""
        return [
            {"code": k.code, "name": k.name,
             "desa": [{"code": d.code, "name": d.name, "kind": d.kind} for d in k.desa]}
            for k in self.kecamatan
        ]


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return str(value)
    return value if value.strip() else None


def _as_coordinate(value, limit: float) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or not -limit <= number <= limit:
        return None
    return number


# -- loading ---------------------------------------------------------------------------------


def resolve(path: str | Path) -> Path:
    """A configured path; a relative one is read from the repository's root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def parse(document: object) -> Wilayah:
    """The places of a parsed file, or `WilayahFileError` saying what is wrong with it."""
    problems = list(_problems(document))
    if problems:
        raise WilayahFileError("; ".join(problems))
    return Wilayah(document)  # type: ignore[arg-type]


def _problems(document: object):
    if not isinstance(document, dict):
        yield "the file must hold a JSON object"
        return
    if not isinstance(document.get("regency"), dict):
        yield "regency must be an object"
    yield from _boundary_problems(document.get("boundary"))
    kecamatan = document.get("kecamatan")
    if not isinstance(kecamatan, list) or not kecamatan:
        yield "kecamatan must be a non-empty list"
        return
    codes: set[str] = set()
    for index, item in enumerate(kecamatan):
        if not isinstance(item, dict) or not _text(item.get("code")) or not _text(item.get("name")):
            yield f"kecamatan[{index}] needs a code and a name"
            continue
        if item["code"] in codes:
            yield f"kecamatan code {item['code']} appears twice"
        codes.add(item["code"])
        for d_index, desa in enumerate(item.get("desa", [])):
            if not isinstance(desa, dict) or not _text(desa.get("code")) or not _text(desa.get("name")):
                yield f"kecamatan[{index}].desa[{d_index}] needs a code and a name"
                continue
            if not desa["code"].startswith(item["code"] + "."):
                yield f"desa {desa['code']} is not under kecamatan {item['code']}"
            if desa["code"] in codes:
                yield f"code {desa['code']} appears twice"
            codes.add(desa["code"])
            if desa.get("kind", "desa") not in ("desa", "kelurahan"):
                yield f"desa {desa['code']}: kind must be desa or kelurahan"


def _boundary_problems(boundary: object):
    try:
        ring = boundary["coordinates"][0]  # type: ignore[index]
        points = [(float(lon), float(lat)) for lon, lat in ring]
    except (TypeError, KeyError, IndexError, ValueError):
        yield "boundary must be a GeoJSON Polygon with [longitude, latitude] pairs"
        return
    if len(points) < 4:
        yield "boundary needs at least three distinct vertices"
    if any(not (-180 <= lon <= 180 and -90 <= lat <= 90) for lon, lat in points):
        yield "boundary has a vertex outside longitude/latitude bounds"


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Wilayah:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise WilayahFileError(f"{path}: {error}") from error
    return parse(document)


def load(path: str | Path = "config/lapor_wilayah.json") -> Wilayah:
    """The places file, read once per process and path."""
    return _load_cached(str(resolve(path)))


def check_location(latitude: float | None, longitude: float | None, kecamatan: str | None,
                   desa: str | None, *, wilayah: Wilayah | None = None) -> Location:
    """`Wilayah.check_location` against the given places, by default the shipped file."""
    return (wilayah or load()).check_location(latitude, longitude, kecamatan, desa)
