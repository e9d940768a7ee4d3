"""Reports mirrored from SP4N-LAPOR!: the import of the national system's JSON export.

The regency takes in the reports the national system routed to it that nobody has verified
yet; each becomes a report of channel `national` carrying the national tracking id, waiting
for the regency's LAPOR! admin like any new report (its verification clock starts when it
arrives here). Reports the national system has already verified, dispositioned or finished
are followed up there and are refused, one by one, with the reason.

The import is idempotent on the tracking id (`Report.national_id`, unique): a report already
here is skipped as "sudah ada", also when the same file (or an overlapping one) comes again,
or when two imports run at once. Each item is its own unit of work, so one bad item costs
only itself. A category this regency does not know is filed under `lainnya`. The export's
other fields, the reporter's identity above all, are ignored: the national system keeps it.

The accepted shape is documented in docs/lapor.md ("Impor dari SP4N-LAPOR!").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import EXCLUDE, ValidationError, pre_load
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.citizen import issue_token
from services.common.cli import Command
from services.common.errors import Conflict, DomainError, Invalid
from services.common.forms import Base, Day, Nested, Number, Text, When
from services.common.http import field_errors
from services.lapor import categories, domain, events, records, wilayah
from services.lapor.models import NUMBER_PREFIX, NUMBERS, HistoryEntry, Report, Reporter

# One request is answered item by item within one request's time; the CLI takes any length.
MAX_ITEMS = 500
CREATED, SKIPPED, INVALID = "created", "skipped", "invalid"
ALREADY_HERE = "Sudah ada: laporan dengan ID SP4N-LAPOR! ini sudah diimpor atau dicatat."
TWICE_IN_FILE = "Sudah ada: ID SP4N-LAPOR! ini muncul lebih dari sekali dalam berkas."
NOT_AN_EXPORT = (
    "Berkas bukan ekspor SP4N-LAPOR! yang dikenali: harus berupa daftar laporan atau objek "
    "dengan daftar `reports`."
)
TOO_MANY = f"Paling banyak {MAX_ITEMS} laporan per impor; bagi berkas menjadi beberapa bagian."
NOT_IMPORTABLE = (
    "Hanya laporan berstatus \"Belum diverifikasi\" yang dapat diimpor; laporan yang sudah "
    "diverifikasi atau ditindaklanjuti diteruskan penanganannya di SP4N-LAPOR!."
)
UNKNOWN_CLASSIFICATION = "Klasifikasi tidak dikenal; gunakan Pengaduan, Aspirasi atau Permintaan Informasi."
UNKNOWN_PRIVACY = "Kerahasiaan tidak dikenal; gunakan Publik, Anonim atau Rahasia."
NATIONAL_ID_TAKEN = "Laporan dengan ID SP4N-LAPOR! ini sudah ada: {number}."

# The words the national export (and its operators) use, folded, to our codes.
_CLASSIFICATIONS = {
    "pengaduan": "pengaduan",
    "aspirasi": "aspirasi",
    "permintaan informasi": "permintaan_informasi",
    "permintaan_informasi": "permintaan_informasi",
    "informasi": "permintaan_informasi",
}
_PRIVACIES = {
    "public": "public", "publik": "public", "umum": "public",
    "anonim": "anonim", "anonymous": "anonim", "anonym": "anonim",
    "rahasia": "rahasia", "confidential": "rahasia", "private": "rahasia",
}
_IMPORTABLE_STATUSES = {"belum diverifikasi", "belum_diverifikasi", "submitted", "baru"}


def _folded(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").split())


class NationalLocationSchema(Base):
    class Meta:
        unknown = EXCLUDE

    latitude = Number(load_default=None, allow_none=True)
    longitude = Number(load_default=None, allow_none=True)
    address = Text(300, load_default=None, allow_none=True)
    kecamatan = Text(100, load_default=None, allow_none=True)
    desa = Text(100, load_default=None, allow_none=True)


class NationalReportSchema(Base):
    """One report of the export; fields it does not name are ignored (EXCLUDE)."""

    class Meta:
        unknown = EXCLUDE

    tracking_id = Text(64, required=True, metadata={"description": "ID pelacakan SP4N-LAPOR!"})
    submitted_at = When(required=True)
    incident_date = Day(load_default=None, allow_none=True)
    classification = Text(40, required=True)
    category = Text(100, load_default=None, allow_none=True)
    title = Text(200, required=True)
    description = Text(10000, required=True)
    location = Nested(NationalLocationSchema, load_default=None, allow_none=True)
    privacy = Text(20, required=True)
    status = Text(60, required=True)

    @pre_load
    def _numeric_tracking_id(self, data, **kwargs):
        # The national system numbers its reports; an export may write the id as a number.
        if isinstance(data, dict) and isinstance(data.get("tracking_id"), int) \
                and not isinstance(data.get("tracking_id"), bool):
            data = {**data, "tracking_id": str(data["tracking_id"])}
        return data


@dataclass(frozen=True)
class Actor:
    """Who runs the import: an admin through the API (its `sub`), or the operator's CLI."""

    kind: str  # "admin" or "system"
    sub: str | None = None


def items_of(document: Any, limit: int | None = MAX_ITEMS) -> list:
    """The export's list of reports, or `Invalid`."""
    items = document.get("reports") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise Invalid(NOT_AN_EXPORT, {"reports": [NOT_AN_EXPORT]})
    if limit is not None and len(items) > limit:
        raise Invalid(TOO_MANY, {"reports": [TOO_MANY]})
    return items


def read_item(item: Any, places: wilayah.Wilayah, known: categories.Categories) -> dict:
    """One export item as the columns of a new report, or `Invalid` with flat field errors."""
    try:
        data = NationalReportSchema().load(item if isinstance(item, dict) else {"_": item})
    except ValidationError as error:
        raise Invalid("Laporan tidak valid.", field_errors(error.messages)) from None
    errors: dict[str, list[str]] = {}
    classification = _CLASSIFICATIONS.get(_folded(data["classification"]))
    if classification is None:
        errors["classification"] = [UNKNOWN_CLASSIFICATION]
    privacy = _PRIVACIES.get(_folded(data["privacy"]))
    if privacy is None:
        errors["privacy"] = [UNKNOWN_PRIVACY]
    if _folded(data["status"]) not in _IMPORTABLE_STATUSES:
        errors["status"] = [NOT_IMPORTABLE]
    location = data.get("location") or {}
    try:
        place = places.check_location(location.get("latitude"), location.get("longitude"),
                                      location.get("kecamatan"), location.get("desa"))
    except Invalid as invalid:
        errors.update({f"location.{k}": v for k, v in (invalid.errors or {}).items()})
        place = None
    if errors:
        raise Invalid("Laporan tidak valid.", errors)
    return {
        "national_id": data["tracking_id"],
        "national_submitted_at": data["submitted_at"],
        "classification": classification,
        "category": known.match(data.get("category")),
        "title": data["title"],
        "description": data["description"],
        "incident_date": data.get("incident_date"),
        "latitude": place.latitude,
        "longitude": place.longitude,
        "kecamatan": place.kecamatan,
        "desa": place.desa,
        "address": location.get("address"),
        "privacy": privacy,
    }


def existing_number(session, national_id: str) -> str | None:
    return session.scalars(select(Report.number).where(Report.national_id == national_id)).one_or_none()


def check_national_id(session, national_id: str | None) -> None:
    """For staff intake: a report may carry the national tracking id once only (409)."""
    if national_id is None:
        return
    number = existing_number(session, national_id)
    if number is not None:
        raise Conflict(NATIONAL_ID_TAKEN.format(number=number),
                       {"national_id": [NATIONAL_ID_TAKEN.format(number=number)]})


def _create(rt, columns: dict, actor: Actor) -> str | None:
    """The new report's number, or None when the tracking id is already here."""
    now = rt.clock()
    national_submitted_at = columns.pop("national_submitted_at")
    with rt.uow() as uow:
        session = uow.session
        if existing_number(session, columns["national_id"]) is not None:
            return None
        numbered = NUMBERS.next(session, NUMBER_PREFIX, now.astimezone(rt.calendar.tz).year)
        report = Report(number=numbered.number, year=numbered.year, sequence=numbered.sequence,
                        channel="national", access_token_hash=issue_token()[1],
                        created_at=now, updated_at=now, **columns)
        domain.submit(report, rt.calendar, now, rt.settings.verification_days)
        session.add(report)
        session.flush()
        # The national system keeps the reporter's identity; the row stays empty.
        session.add(Reporter(report_id=report.id))
        session.add(HistoryEntry(
            report_id=report.id, at=now, action="submitted", actor_kind=actor.kind,
            actor_sub=actor.sub,
            note=(f"Diimpor dari SP4N-LAPOR! (ID {report.national_id}, dilaporkan "
                  f"{national_submitted_at.astimezone(rt.calendar.tz):%Y-%m-%d %H:%M})."),
        ))
        uow.publish(events.report_event(
            report, "submitted", at=now, channel=report.channel, submitted_at=now,
            verification_due_at=report.verification_due_at,
            clocks=(events.verification_clock(records.event_context(rt), report.verification_due_at),),
        ))
        uow.commit()
        return report.number


def import_national(rt, document: Any, actor: Actor, *, limit: int | None = MAX_ITEMS) -> dict[str, Any]:
    """Import an export; counts and one line per item (its outcome, number or errors)."""
    items = items_of(document, limit)
    places = wilayah.load(rt.settings.wilayah_file)
    known = categories.load(rt.settings.categories_file)
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        results.append(_import_one(rt, index, item, places, known, seen, actor))
    counts = {outcome: sum(1 for r in results if r["outcome"] == outcome)
              for outcome in (CREATED, SKIPPED, INVALID)}
    return {**counts, "items": results}


def _import_one(rt, index, item, places, known, seen, actor) -> dict[str, Any]:
    national_id = item.get("tracking_id") if isinstance(item, dict) else None
    # Echoed back only as far as a tracking id can be long.
    line: dict[str, Any] = {"index": index,
                            "national_id": str(national_id)[:64] if national_id is not None else None}
    try:
        columns = read_item(item, places, known)
    except Invalid as invalid:
        return {**line, "outcome": INVALID, "message": invalid.message, "errors": invalid.errors or {}}
    line["national_id"] = columns["national_id"]
    if columns["national_id"] in seen:
        return {**line, "outcome": SKIPPED, "message": TWICE_IN_FILE}
    seen.add(columns["national_id"])
    try:
        number = _create(rt, columns, actor)
    except IntegrityError:
        number = None  # another import took the same tracking id at the same moment
    except DomainError as error:
        return {**line, "outcome": INVALID, "message": error.message, "errors": error.errors or {}}
    if number is None:
        with rt.uow() as uow:
            existing = existing_number(uow.session, columns["national_id"])
        return {**line, "outcome": SKIPPED, "number": existing, "message": ALREADY_HERE}
    return {**line, "outcome": CREATED, "number": number}


# -- the operator's command --------------------------------------------------------------------


def configure_command(parser) -> None:
    parser.add_argument("file", help="ekspor JSON dari SP4N-LAPOR!")


def run_command(rt, args) -> int:
    """`python -m services.lapor import-national FILE`: prints the summary and every item
    that was not created; exits 1 when the file cannot be read or an item was invalid."""
    try:
        document = json.loads(Path(args.file).read_text(encoding="utf-8"))
        summary = import_national(rt, document, Actor("system", "cli"), limit=None)
    except (OSError, ValueError) as error:
        print(f"Berkas tidak dapat dibaca: {error}")
        return 1
    except Invalid as invalid:
        print(invalid.message)
        return 1
    print(f"Dibuat: {summary[CREATED]}, dilewati (sudah ada): {summary[SKIPPED]}, "
          f"tidak valid: {summary[INVALID]}")
    for line in summary["items"]:
        if line["outcome"] == CREATED:
            continue
        where = f"#{line['index']} (ID {line['national_id'] or '-'})"
        details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in line.get("errors", {}).items())
        print(f"  {where}: {line['message']}" + (f" {details}" if details else ""))
    return 1 if summary[INVALID] else 0


COMMAND = Command(help="impor ekspor JSON SP4N-LAPOR! (idempoten pada ID pelacakan)",
                  configure=configure_command, run=run_command)
