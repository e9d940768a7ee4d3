"""The shared working-day calendar: when a legal deadline falls due.

Every limit in PPID and LAPOR! is counted in working days (hari kerja). The freedom-of-
information law states the core rule, UU 14/2008 Pasal 22:

    (7) Paling lambat 10 (sepuluh) hari kerja sejak diterimanya permintaan, Badan Publik
        yang bersangkutan wajib menyampaikan pemberitahuan tertulis ...
    (8) Badan Publik dapat memperpanjang waktu untuk mengirimkan pemberitahuan sebagaimana
        dimaksud pada ayat (7), paling lambat 7 (tujuh) hari kerja berikutnya dengan
        memberikan alasan secara tertulis.

Perki 1/2021 (the Komisi Informasi's service standard) keeps those limits, and the LAPOR!
rules count their steps the same way. This module applies them as follows:

- A working day is Monday to Friday, except national holidays (libur nasional, category
  `public` of the `holidays` package, country ID) and joint leave (cuti bersama, category
  `government`), as corrected by the operator: days the decree added, and library holidays
  the decree turned back into working days. Saturday and Sunday are never working days.
- Day zero: the day a request is received is day 0. A request received on a non-working
  day, or outside office hours (default 08:00-16:00 local time, half-open: 16:00 itself is
  after closing), counts as received at the next office opening: the same day's opening
  when it arrives before it on a working day, otherwise the next working day's.
- Day N is the Nth working day after day 0 and ends at 23:59:59 local time (WIB for the
  regency); that instant is the due time.

Every instant taken or returned is time-zone aware: a naive datetime is a ValueError,
because guessing its zone would move deadlines by seven hours.

Operator overrides can be replaced at runtime (the notifier publishes the full exception
list and every service applies it): `WorkingCalendar.set_overrides` swaps one immutable
snapshot, so a call that is computing a deadline sees either the old list or the new one,
never half of each. Library holidays are computed once per year and cached.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

COUNTRY = "ID"
LANGUAGE = "id"
log = logging.getLogger("simpul.calendar")
END_OF_DAY = time(23, 59, 59)

WEEKDAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


class DayOffKind(StrEnum):
    WEEKEND = "weekend"
    NATIONAL_HOLIDAY = "national_holiday"
    JOINT_LEAVE = "joint_leave"
    OPERATOR_HOLIDAY = "operator_holiday"


KIND_LABELS_ID = {
    DayOffKind.WEEKEND: "akhir pekan",
    DayOffKind.NATIONAL_HOLIDAY: "libur nasional",
    DayOffKind.JOINT_LEAVE: "cuti bersama",
    DayOffKind.OPERATOR_HOLIDAY: "hari libur tambahan yang ditetapkan operator",
}


@dataclass(frozen=True)
class DayOff:
    """Why a date is not a working day."""

    date: date
    kind: DayOffKind
    name: str

    @property
    def reason(self) -> str:
        """The reason in Indonesian, naming the category unless the name already does."""
        label = KIND_LABELS_ID[self.kind]
        if self.name.lower().startswith(label):
            return self.name
        return f"{self.name} ({label})"


@dataclass(frozen=True)
class AddedDay:
    """A day the operator declares a holiday (a decree the library does not know yet)."""

    date: date
    name: str


@dataclass(frozen=True)
class RemovedDay:
    """A library holiday the decree made a working day again."""

    date: date
    reason: str


@dataclass(frozen=True)
class _Overrides:
    added: Mapping[date, AddedDay] = field(default_factory=dict)
    removed: Mapping[date, RemovedDay] = field(default_factory=dict)
    # Every due date walks the days one by one, so each snapshot of the overrides remembers
    # its verdicts; a new snapshot (new overrides) starts with none.
    verdicts: dict[date, DayOff | None] = field(default_factory=dict, compare=False, repr=False)
    # The day-by-day listing of explain_due, by (local receipt date, day 0, working days).
    walks: dict[tuple[date, date, int], tuple] = field(default_factory=dict, compare=False, repr=False)


# Enough for years of dates around today; past it, verdicts are computed and not kept, so
# odd dates asked for one by one cannot grow the memory.
_MAX_VERDICTS = 4096


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware, got naive {value.isoformat()}")


def _require_date(value: date, what: str) -> None:
    # A datetime is a date subclass; accepting one would silently use its own zone's date.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a date (convert instants with .astimezone(tz).date())")


def _parse_date(raw: Any, where: str) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str):
        raise ValueError(f"{where}: date must be an ISO date string, got {raw!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{where}: date must look like 2026-12-31, got {raw!r}") from exc


def _text(raw: Any, where: str, key: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string")
    return raw.strip()


def _coerce_entry(item: Any, cls: type, text_key: str, where: str):
    if isinstance(item, cls):
        return item
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected an object with date and {text_key}")
    unknown = set(item) - {"date", text_key}
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    return cls(_parse_date(item.get("date"), where), _text(item.get(text_key), where, text_key))


def _build_overrides(
    added: Iterable[AddedDay | Mapping[str, Any]],
    removed: Iterable[RemovedDay | Mapping[str, Any]],
) -> _Overrides:
    added_by_date: dict[date, AddedDay] = {}
    for i, item in enumerate(added):
        entry = _coerce_entry(item, AddedDay, "name", f"added[{i}]")
        if entry.date in added_by_date:
            raise ValueError(f"added[{i}]: {entry.date} is listed twice")
        added_by_date[entry.date] = entry
    removed_by_date: dict[date, RemovedDay] = {}
    for i, item in enumerate(removed):
        entry = _coerce_entry(item, RemovedDay, "reason", f"removed[{i}]")
        if entry.date in removed_by_date:
            raise ValueError(f"removed[{i}]: {entry.date} is listed twice")
        if entry.date in added_by_date:
            raise ValueError(f"removed[{i}]: {entry.date} is also listed as added")
        # Weekends are off by definition; removing one would change nothing and hides a
        # misunderstanding of what the decree said.
        if entry.date.weekday() >= 5:
            raise ValueError(
                f"removed[{i}]: {entry.date} is a weekend, which is never a working day"
            )
        removed_by_date[entry.date] = entry
    return _Overrides(added=added_by_date, removed=removed_by_date)


def parse_overrides(doc: Mapping[str, Any]) -> tuple[list[AddedDay], list[RemovedDay]]:
    """Validate the override document (`{"added": [...], "removed": [...]}`)."""
    if not isinstance(doc, Mapping):
        raise ValueError("calendar overrides must be a JSON object")
    unknown = set(doc) - {"added", "removed"}
    if unknown:
        raise ValueError(f"calendar overrides: unknown keys {sorted(unknown)}")
    added, removed = doc.get("added", []), doc.get("removed", [])
    if not isinstance(added, list) or not isinstance(removed, list):
        raise ValueError("calendar overrides: added and removed must be lists")
    snapshot = _build_overrides(added, removed)
    return list(snapshot.added.values()), list(snapshot.removed.values())


_COUNTRY_MODULE = "holidays.countries.indonesia"


@cache
def _country() -> type[holidays.HolidayBase]:
    """The `holidays` class of Indonesia (`COUNTRY`), its module loaded on its own.

    `holidays.country_holidays` imports the package `holidays.countries`, whose `__init__`
    imports every one of its 250-odd countries: some 7 MB in each process for the one it
    asks for. The country's module is loaded from its file instead (the "importing a source
    file directly" recipe of `importlib`), the one module lookup that needs.
    """
    module = sys.modules.get(_COUNTRY_MODULE)
    if module is None:
        path = Path(holidays.__file__).parent / "countries" / "indonesia.py"
        spec = importlib.util.spec_from_file_location(_COUNTRY_MODULE, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_COUNTRY_MODULE] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_COUNTRY_MODULE]
            raise
    return module.Indonesia


def _listed(year: int, category: str) -> Mapping[date, str]:
    """What `holidays.country_holidays(COUNTRY, years=year, categories=(category,),
    language=LANGUAGE)` lists, without its import of every other country."""
    return _country()(years=year, categories=(category,), language=LANGUAGE)


def warn_without_next_years_joint_leave(cal: WorkingCalendar, now: datetime) -> bool:
    """Log a warning when the calendar knows no cuti bersama for the year after `now`.

    Called when a process starts, so the operator learns of it months before deadlines in
    that year are counted over joint-leave days as if they were working days. True when
    it warned.
    """
    _require_aware(now, "now")
    year = now.astimezone(cal.tz).year + 1
    if cal.knows_joint_leave(year):
        return False
    log.warning(
        "the working-day calendar knows no cuti bersama (joint leave) for %s: holidays %s lists "
        "none and no operator exception adds any, so deadlines in %s will count those days as "
        "working days. Upgrade the holidays package, or add the decree's days as calendar "
        "exceptions at the notifier.",
        year, holidays.__version__, year,
        extra={"year": year, "holidays_version": holidays.__version__},
    )
    return True


def format_date_id(day: date) -> str:
    """`Senin, 16 Maret 2026`."""
    return f"{WEEKDAYS_ID[day.weekday()]}, {day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def format_instant_id(instant: datetime, *, seconds: bool = False) -> str:
    """`Senin, 16 Maret 2026 pukul 10.00 WIB` (Indonesian writes times with dots)."""
    clock = instant.strftime("%H.%M.%S" if seconds else "%H.%M")
    return f"{format_date_id(instant.date())} pukul {clock} {instant.tzname()}"


class WorkingCalendar:
    """Working days, day zero and due dates for one time zone and one set of overrides.

    Safe to share between threads. `set_overrides` replaces the operator's days in place
    (an atomic swap of an immutable snapshot); the calendar object itself stays the same,
    so code holding a reference sees the new days at its next call.
    """

    def __init__(
        self,
        office_start: time = time(8),
        office_end: time = time(16),
        tz: str = "Asia/Jakarta",
        added: Iterable[AddedDay | Mapping[str, Any]] = (),
        removed: Iterable[RemovedDay | Mapping[str, Any]] = (),
    ):
        if office_start.tzinfo is not None or office_end.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times without a zone")
        if office_start >= office_end:
            raise ValueError("office hours must start before they end")
        self.office_start = office_start
        self.office_end = office_end
        self.tz = ZoneInfo(tz)
        self._overrides = _build_overrides(added, removed)
        self._years: dict[int, Mapping[date, DayOff]] = {}
        self._years_lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> WorkingCalendar:
        """A calendar with the overrides in a JSON file; keyword arguments as `__init__`."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        added, removed = parse_overrides(doc)
        return cls(added=added, removed=removed, **kwargs)

    # -- overrides -------------------------------------------------------------------

    def set_overrides(
        self,
        added: Iterable[AddedDay | Mapping[str, Any]] = (),
        removed: Iterable[RemovedDay | Mapping[str, Any]] = (),
    ) -> None:
        """Replace every operator override at once; invalid input leaves the old ones."""
        self._overrides = _build_overrides(added, removed)

    def overrides(self) -> dict[str, list[dict[str, str]]]:
        """The current overrides in the file's JSON shape, sorted by date."""
        snap = self._overrides
        return {
            "added": [
                {"date": d.isoformat(), "name": snap.added[d].name} for d in sorted(snap.added)
            ],
            "removed": [
                {"date": d.isoformat(), "reason": snap.removed[d].reason}
                for d in sorted(snap.removed)
            ],
        }

    # -- days ------------------------------------------------------------------------

    def _library_days(self, year: int) -> Mapping[date, DayOff]:
        days = self._years.get(year)
        if days is not None:
            return days
        with self._years_lock:
            days = self._years.get(year)
            if days is None:
                days = self._load_year(year)
                self._years[year] = days
        return days

    @staticmethod
    def _load_year(year: int) -> Mapping[date, DayOff]:
        # Loaded per category so each day keeps its own: a date in both lists is a
        # national holiday, the stronger of the two.
        days: dict[date, DayOff] = {}
        for category, kind in (
            (holidays.GOVERNMENT, DayOffKind.JOINT_LEAVE),
            (holidays.PUBLIC, DayOffKind.NATIONAL_HOLIDAY),
        ):
            for day, name in _listed(year, category).items():
                days[day] = DayOff(day, kind, name)
        return days

    def _day_off(self, day: date, snap: _Overrides) -> DayOff | None:
        try:
            return snap.verdicts[day]
        except KeyError:
            verdict = self._judge_day(day, snap)
        if len(snap.verdicts) < _MAX_VERDICTS:
            snap.verdicts[day] = verdict
        return verdict

    def _judge_day(self, day: date, snap: _Overrides) -> DayOff | None:
        added = snap.added.get(day)
        if added is not None:
            return DayOff(day, DayOffKind.OPERATOR_HOLIDAY, added.name)
        if day not in snap.removed:
            listed = self._library_days(day.year).get(day)
            if listed is not None:
                return listed
        if day.weekday() >= 5:
            return DayOff(day, DayOffKind.WEEKEND, WEEKDAYS_ID[day.weekday()])
        return None

    def day_off(self, day: date) -> DayOff | None:
        """Why `day` is not a working day, or None when it is one.

        An operator's added day wins over everything; a holiday on a weekend is reported
        by its name (more useful to a citizen than "Sabtu").
        """
        _require_date(day, "day")
        return self._day_off(day, self._overrides)

    def is_working_day(self, day: date) -> bool:
        _require_date(day, "day")
        return self._day_off(day, self._overrides) is None

    def knows_joint_leave(self, year: int) -> bool:
        """Whether any cuti bersama of `year` is known: the library's or an operator's day.

        The joint-leave days are decreed late in the year before; a `holidays` release older
        than the decree lists none and, for Islamic holidays, only estimates.
        """
        library = self._library_days(year).values()
        if any(off.kind is DayOffKind.JOINT_LEAVE for off in library):
            return True
        return any(day.year == year for day in self._overrides.added)

    def library_day_off(self, day: date) -> DayOff | None:
        """The national holiday or joint leave the `holidays` package lists on `day`.

        What an operator may cancel: a "working day" exception on any other date changes
        nothing, and is most likely a mistyped date.
        """
        _require_date(day, "day")
        return self._library_days(day.year).get(day)

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is off in a few words (Sabtu, a holiday's Indonesian name), else None."""
        off = self.day_off(day)
        return off.name if off else None

    def _next_working_day(self, day: date, snap: _Overrides) -> date:
        day += timedelta(days=1)
        while self._day_off(day, snap) is not None:
            day += timedelta(days=1)
        return day

    def _add_working_days(self, day0: date, n: int, snap: _Overrides) -> date:
        if n < 0:
            raise ValueError("the number of working days must not be negative")
        day = day0
        for _ in range(n):
            day = self._next_working_day(day, snap)
        return day

    def add_working_days(self, day0: date, n: int) -> date:
        """The date of working day N counted from day 0 (`day0` itself when N is 0)."""
        _require_date(day0, "day0")
        return self._add_working_days(day0, n, self._overrides)

    # -- instants --------------------------------------------------------------------

    def _receipt(self, received_at: datetime, snap: _Overrides) -> tuple[datetime, str | None]:
        """The effective receipt instant and, when it moved, why ("di luar jam kerja ...")."""
        _require_aware(received_at, "received_at")
        local = received_at.astimezone(self.tz)
        day, clock = local.date(), local.time()
        off = self._day_off(day, snap)
        if off is not None:
            clause = f"pada hari libur: {off.reason}"
            opening_day = self._next_working_day(day, snap)
        elif clock < self.office_start:
            clause = f"di luar jam kerja (sebelum pukul {self._hhmm(self.office_start)})"
            opening_day = day
        elif clock >= self.office_end:
            clause = f"di luar jam kerja (setelah pukul {self._hhmm(self.office_end)})"
            opening_day = self._next_working_day(day, snap)
        else:
            return local, None
        return datetime.combine(opening_day, self.office_start, tzinfo=self.tz), clause

    def _hhmm(self, clock: time) -> str:
        zone = datetime.combine(date(2000, 1, 1), clock, tzinfo=self.tz).tzname()
        return f"{clock.strftime('%H.%M')} {zone}"

    def receipt_instant(self, received_at: datetime) -> datetime:
        """When the request counts as received (local time); its date is day 0."""
        return self._receipt(received_at, self._overrides)[0]

    def _end_of(self, day: date) -> datetime:
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz)

    def due_at(self, received_at: datetime, n_working_days: int) -> datetime:
        """23:59:59 local time on working day N after day 0."""
        snap = self._overrides
        day0 = self._receipt(received_at, snap)[0].date()
        return self._end_of(self._add_working_days(day0, n_working_days, snap))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after `start`'s local date up to and including `end`'s.

        Lateness: `working_days_between(due_at, done_at)` is 0 for a duty done by the end
        of its due day and 1 for one done on the next working day. Negative when `end`
        falls on an earlier date than `start`. No day-zero rule applies here; `days_taken`
        applies it to a receipt time.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        first, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        sign = 1
        if last < first:
            first, last, sign = last, first, -1
        snap = self._overrides
        count, day = 0, first + timedelta(days=1)
        while day <= last:
            if self._day_off(day, snap) is None:
                count += 1
            day += timedelta(days=1)
        return sign * count

    def days_taken(self, received_at: datetime, done_at: datetime) -> int:
        """Working days from day 0 to the answer, as the annual report counts them.

        An answer given before the request counted as received (say at 16:30 on the day
        it arrived after closing) took 0 days.
        """
        effective = self.receipt_instant(received_at)
        return max(0, self.working_days_between(effective, done_at))

    # -- explanation -----------------------------------------------------------------

    def _walk(
        self, received: date, day0: date, n_working_days: int, snap: _Overrides
    ) -> tuple[date, list[dict[str, Any]], list[dict[str, Any]]]:
        """(due date, counted days, skipped days) from the receipt date to the due date.

        Every request of a day shares its listing, so each snapshot keeps them; callers get
        their own lists.
        """
        key = (received, day0, n_working_days)
        known = snap.walks.get(key)
        if known is None:
            known = self._list_days(received, day0, n_working_days, snap)
            if len(snap.walks) < _MAX_VERDICTS:
                snap.walks[key] = known
        due_day, counted, skipped = known
        return due_day, list(counted), list(skipped)

    def _list_days(
        self, received: date, day0: date, n_working_days: int, snap: _Overrides
    ) -> tuple[date, tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
        due_day = self._add_working_days(day0, n_working_days, snap)
        counted: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        day = received
        while day <= due_day:
            off = self._day_off(day, snap)
            if off is not None:
                skipped.append(
                    {
                        "date": day.isoformat(),
                        "weekday": WEEKDAYS_ID[day.weekday()],
                        "kind": off.kind.value,
                        "kind_label": KIND_LABELS_ID[off.kind],
                        "name": off.name,
                        "reason": off.reason,
                    }
                )
            elif day > day0:
                entry: dict[str, Any] = {
                    "day": len(counted) + 1,
                    "date": day.isoformat(),
                    "weekday": WEEKDAYS_ID[day.weekday()],
                }
                cancelled = snap.removed.get(day)
                listed = self._library_days(day.year).get(day)
                if cancelled is not None and listed is not None:
                    entry["note"] = (
                        f"tetap hari kerja: {listed.name} dibatalkan ({cancelled.reason})"
                    )
                counted.append(entry)
            day += timedelta(days=1)
        return due_day, tuple(counted), tuple(skipped)

    def explain_due(self, received_at: datetime, n_working_days: int) -> dict[str, Any]:
        """How the due time was computed, JSON-able, with Indonesian texts for a citizen.

        `skipped_days` lists every non-working day from the local receipt date up to the
        due date, including those that moved day 0.
        """
        return self.explained_due(received_at, n_working_days)[2]

    def explained_due(
        self, received_at: datetime, n_working_days: int
    ) -> tuple[datetime, datetime, dict[str, Any]]:
        """(day zero's instant, due instant, `explain_due`'s explanation) from one count of
        working days, for a caller that stores the instants and shows the explanation."""
        snap = self._overrides
        effective, moved = self._receipt(received_at, snap)
        received_local = received_at.astimezone(self.tz)
        day0 = effective.date()
        due_day, counted, skipped = self._walk(received_local.date(), day0, n_working_days, snap)
        due = self._end_of(due_day)

        opening = f"Diterima {format_instant_id(received_local)}"
        if moved:
            opening += (
                f" {moved}, sehingga dianggap diterima {format_instant_id(effective)}"
                " sebagai hari ke-0"
            )
        else:
            opening += " (hari ke-0)"
        closing = (
            f"; batas waktu {n_working_days} hari kerja berakhir "
            f"{format_instant_id(due, seconds=True)}"
        )
        if skipped:
            closing += f", dengan {len(skipped)} hari libur dan akhir pekan tidak dihitung"
        explanation = {
            "received_at": received_local.isoformat(),
            "effective_received_at": effective.isoformat(),
            "day_zero": day0.isoformat(),
            "day_zero_moved": moved is not None,
            "day_zero_reason": f"diterima {moved}" if moved else None,
            "working_days": n_working_days,
            "office_hours": {
                "start": self.office_start.strftime("%H:%M"),
                "end": self.office_end.strftime("%H:%M"),
                "timezone": self.tz.key,
            },
            "counted_days": counted,
            "skipped_days": skipped,
            "due_date": due_day.isoformat(),
            "due_at": due.isoformat(),
            "summary": opening + closing + ".",
        }
        return effective, due, explanation


# -- office time ---------------------------------------------------------------------------
# Arithmetic in office hours rather than whole days: a reminder "four working hours before
# the deadline", or "half of the time allowed". Any service planning work inside office
# hours uses these; they read the calendar and never change it.

# Loops over days stop here: no real calendar has ten years without a working day.
_MAX_SEARCH_DAYS = 3660


def office_hours(day: date, cal: WorkingCalendar) -> tuple[datetime, datetime]:
    """The opening and closing instants of `day` in the regency's time zone."""
    return (
        datetime.combine(day, cal.office_start, tzinfo=cal.tz),
        datetime.combine(day, cal.office_end, tzinfo=cal.tz),
    )


def working_seconds_between(start: datetime, end: datetime, cal: WorkingCalendar) -> float:
    """Office time on working days between two instants (0 when `end` is not later)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(cal.tz).date()
    last = end.astimezone(cal.tz).date()
    while day <= last:
        if cal.is_working_day(day):
            opening, closing = office_hours(day, cal)
            lo, hi = max(opening, start), min(closing, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def shift_working_time(moment: datetime, seconds: float, cal: WorkingCalendar) -> datetime:
    """The instant `seconds` of office time after (or, negative, before) `moment`."""
    remaining = abs(seconds)
    forward = seconds >= 0
    day = moment.astimezone(cal.tz).date()
    for _ in range(_MAX_SEARCH_DAYS):
        if cal.is_working_day(day):
            opening, closing = office_hours(day, cal)
            if forward:
                lo = max(opening, moment)
                if lo < closing:
                    available = (closing - lo).total_seconds()
                    if remaining <= available:
                        return lo + timedelta(seconds=remaining)
                    remaining -= available
            else:
                hi = min(closing, moment)
                if hi > opening:
                    available = (hi - opening).total_seconds()
                    if remaining <= available:
                        return hi - timedelta(seconds=remaining)
                    remaining -= available
        day += timedelta(days=1 if forward else -1)
    raise ValueError("no working time within ten years")


def working_days_before(day: date, n: int, cal: WorkingCalendar) -> date:
    """The working day that lies `n` working days before `day`."""
    for _ in range(n):
        for _ in range(_MAX_SEARCH_DAYS):
            day -= timedelta(days=1)
            if cal.is_working_day(day):
                break
        else:
            raise ValueError("no working day within ten years")
    return day
