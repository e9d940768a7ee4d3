"""The regency's regional agencies (OPD) as reference data.

The notifier owns the OPD directory and publishes it (`notifier.opds.updated`); every
service stores the latest list and its registry follows it (`services.common.calendar_sync`).
Until a service has received one, its registry is `config/opd.json`, which also names the
regency and its time zone.

OPD codes travel in JWT claims, event routing keys and case records, so a code is stable
and validated at load time: a typo in the file stops the process at start-up instead of
routing a citizen's report to an agency nobody watches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import fields

KINDS: tuple[str, ...] = (
    "sekretariat",
    "dinas",
    "badan",
    "inspektorat",
    "rsud",
    "satpol_pp",
    "kecamatan",
)
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,31}")
# Events about no particular agency are routed with this word in the OPD position.
RESERVED_CODES = frozenset({"none"})

_OPD_KEYS = ("code", "name", "kind", "short_name")
_REGENCY_KEYS = ("code", "name", "province", "timezone")


class UnknownOpd(ValueError):
    """A code that names no OPD of this regency."""

    def __init__(self, code: object):
        self.code = code
        super().__init__(f"Kode OPD tidak dikenal: {code!s}")


@dataclass(frozen=True)
class Opd:
    code: str
    name: str
    kind: str
    short_name: str
    # A deactivated OPD stays known, so its old cases keep their names; new work skips it.
    active: bool = True


@dataclass(frozen=True)
class Regency:
    code: str
    name: str
    province: str
    timezone: str
    # The letterhead of the regency's letters: the seat of government, where letters are
    # signed ("Kuala Kapuas, 6 Maret 2026"), and the office address printed under the name.
    seat: str | None = None
    address: str | None = None


def default_opd_path() -> Path:
    """The OPD file shipped with the repository (`config/opd.json`)."""
    return Path(__file__).resolve().parents[2] / "config" / "opd.json"


class OpdRegistry:
    """A validated set of OPDs, in the order the file (or the directory) lists them.

    `replace` swaps the whole set at once, so code holding the registry sees the directory's
    new list at its next call and never half of it.
    """

    def __init__(self, opds: Iterable[Opd], regency: Regency | None = None):
        self.regency = regency
        self._by_code: dict[str, Opd] = _indexed(opds)

    def replace(self, opds: Iterable[Opd]) -> None:
        """Follow the directory; an invalid list raises and leaves the current one."""
        self._by_code = _indexed(opds)

    @classmethod
    def from_file(cls, path: str | Path) -> OpdRegistry:
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValueError(f"OPD file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"OPD file {path} is not valid JSON: {exc}") from exc
        try:
            return cls.from_dict(document)
        except ValueError as exc:
            raise ValueError(f"OPD file {path}: {exc}") from exc

    @classmethod
    def from_dict(cls, document: Any) -> OpdRegistry:
        if not isinstance(document, dict):
            raise ValueError("top level must be an object with 'regency' and 'opds'")
        regency = _parse_regency(document.get("regency"))
        entries = document.get("opds")
        if not isinstance(entries, list) or not entries:
            raise ValueError("'opds' must be a non-empty list")
        return cls((_parse_opd(index, entry) for index, entry in enumerate(entries)), regency)

    def get(self, code: str) -> Opd | None:
        return self._by_code.get(code) if isinstance(code, str) else None

    def name_of(self, code: str | None) -> str | None:
        """The OPD's name, or None for no code or one the directory does not hold."""
        opd = self.get(code) if code else None
        return opd.name if opd else None

    def require(self, code: str) -> Opd:
        opd = self.get(code)
        if opd is None:
            raise UnknownOpd(code)
        return opd

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Opd]:
        return iter(self._by_code.values())

    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def is_active(self, code: str) -> bool:
        opd = self.get(code)
        return opd is not None and opd.active

    def all(self) -> tuple[Opd, ...]:
        return tuple(self._by_code.values())

    def by_kind(self, kind: str) -> tuple[Opd, ...]:
        return tuple(opd for opd in self._by_code.values() if opd.kind == kind)


class OpdCodeField(fields.String):
    """A string field that accepts only a code of the registry.

    The registry is fetched on every deserialisation, not at schema definition, because
    schemas are declared at import time while the registry lives on the Flask app.
    """

    default_error_messages = {"unknown_opd": "Kode OPD tidak dikenal: {input}."}

    def __init__(self, registry_getter: Callable[[], OpdRegistry], **kwargs: Any):
        super().__init__(**kwargs)
        self._registry_getter = registry_getter

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if code not in self._registry_getter():
            raise self.make_error("unknown_opd", input=code)
        return code


def parse_directory(entries: Any) -> tuple[Opd, ...]:
    """The OPD list of a directory snapshot (codes, names, kinds, active flags).

    Fields this version does not know are ignored, as with every event's data; the list is
    validated like the file.
    """
    if not isinstance(entries, list) or not entries:
        raise ValueError("'opds' must be a non-empty list")
    parsed = []
    for index, raw in enumerate(entries):
        where = f"opds[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be an object")
        active = raw.get("active", True)
        if not isinstance(active, bool):
            raise ValueError(f"{where}: 'active' must be true or false")
        parsed.append(Opd(**_required_strings(raw, _OPD_KEYS, where), active=active))
    items = tuple(parsed)
    _validate(items)
    return items


def _indexed(opds: Iterable[Opd]) -> dict[str, Opd]:
    items = tuple(opds)
    _validate(items)
    return {opd.code: opd for opd in items}


def _parse_regency(raw: Any) -> Regency:
    if not isinstance(raw, dict):
        raise ValueError("'regency' must be an object with " + ", ".join(_REGENCY_KEYS))
    values = _required_strings(raw, _REGENCY_KEYS, "regency")
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"regency: unknown timezone {values['timezone']!r}") from exc
    for key in ("seat", "address"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"regency: '{key}' must be a non-empty string when given")
        values[key] = value
    return Regency(**values)


def _parse_opd(index: int, raw: Any) -> Opd:
    where = f"opds[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object")
    extra = sorted(set(raw) - set(_OPD_KEYS))
    if extra:
        raise ValueError(f"{where} has unexpected keys: {', '.join(extra)}")
    return Opd(**_required_strings(raw, _OPD_KEYS, where))


def _required_strings(raw: dict, keys: tuple[str, ...], where: str) -> dict[str, str]:
    values = {}
    for key in keys:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: '{key}' must be a non-empty string")
        values[key] = value
    return values


def _validate(opds: tuple[Opd, ...]) -> None:
    if not opds:
        raise ValueError("the OPD list is empty")
    seen: set[str] = set()
    for opd in opds:
        if not isinstance(opd.code, str) or not CODE_PATTERN.fullmatch(opd.code):
            raise ValueError(
                f"OPD code {opd.code!r} is invalid: use 2-32 characters, lower-case letters, "
                "digits or '_', starting with a letter"
            )
        if opd.code in RESERVED_CODES:
            raise ValueError(f"OPD code {opd.code!r} is reserved")
        if opd.code in seen:
            raise ValueError(f"OPD code {opd.code!r} appears more than once")
        seen.add(opd.code)
        if opd.kind not in KINDS:
            raise ValueError(
                f"OPD {opd.code!r} has unknown kind {opd.kind!r}; expected one of "
                + ", ".join(KINDS)
            )
