"""What a notification says, in Bahasa Indonesia: pure functions, no I/O.

One `Notice` feeds every channel: its title is the email subject and the inbox title, its
context fills the plain-text and HTML templates. A notice names the case (the subject),
the OPD, the duty, the deadline, how late it is and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.common.calendar import WorkingCalendar, format_date_id, format_instant_id
from services.notifier import domain

ROLE_LABELS = {
    domain.OFFICER: "petugas layanan OPD",
    domain.HEAD: "kepala OPD",
    domain.COORDINATOR: "koordinator layanan tingkat kabupaten",
    domain.SEKDA: "Sekretaris Daerah",
    domain.ACTOR: "pejabat yang harus menyelesaikan tugas ini",
}
HEADINGS = {
    domain.REMIND: "Pengingat batas waktu",
    domain.BREACH: "Batas waktu terlewati",
    domain.ESCALATE: "Eskalasi keterlambatan",
}
_MAX_TITLE = 300


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str
    context: dict[str, Any] = field(default_factory=dict)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _clip(text: str, limit: int = _MAX_TITLE) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _calendar_days_between(start: datetime, end: datetime, cal: WorkingCalendar) -> int:
    """Local dates after `start`'s up to and including `end`'s, weekends and holidays too."""
    return (end.astimezone(cal.tz).date() - start.astimezone(cal.tz).date()).days


def lateness_text(
    due_at: datetime, now: datetime, cal: WorkingCalendar, counting: str = domain.WORKING_DAYS
) -> str:
    if now <= due_at:
        return "belum terlambat"
    if counting == domain.CALENDAR_DAYS:
        days, unit, part = _calendar_days_between(due_at, now, cal), "hari", "satu hari"
    else:
        days = cal.working_days_between(due_at, now)
        unit, part = "hari kerja", "satu hari kerja"
    if days <= 0:
        return f"batas waktu telah terlewati (belum genap {part})"
    return f"terlambat {days} {unit}"


def remaining_text(
    due_at: datetime, now: datetime, cal: WorkingCalendar, counting: str = domain.WORKING_DAYS
) -> str:
    if counting == domain.CALENDAR_DAYS:
        days, unit = _calendar_days_between(now, due_at, cal), "hari kalender"
    else:
        days, unit = cal.working_days_between(now, due_at), "hari kerja"
    if days <= 0:
        return "batas waktu berakhir hari ini"
    return f"batas waktu berakhir {days} {unit} lagi (hari ini tidak dihitung)"


def paused_text(paused_at: datetime, cal: WorkingCalendar) -> str:
    return f"dijeda sejak {format_instant_id(paused_at.astimezone(cal.tz))}"


def sla_notice(
    *,
    kind: str,
    level: int | None,
    case: str,
    label: str,
    action: str,
    opd_name: str | None,
    due_at: datetime,
    now: datetime,
    role: str,
    cal: WorkingCalendar,
    counting: str = domain.WORKING_DAYS,
) -> Notice:
    due_local = due_at.astimezone(cal.tz)
    late_days = max(0, cal.working_days_between(due_at, now))
    late = lateness_text(due_at, now, cal, counting)
    if kind == domain.REMIND:
        title = f"Pengingat: {label} {case} jatuh tempo {format_date_id(due_local.date())}"
        status = remaining_text(due_at, now, cal, counting)
        heading = HEADINGS[kind]
    elif kind == domain.BREACH:
        title = f"Terlambat: {label} {case} melewati batas waktu"
        status = late
        heading = HEADINGS[kind]
    else:
        title = f"Eskalasi tingkat {level}: {label} {case} {late}"
        status = late
        heading = f"{HEADINGS[kind]} tingkat {level}"
    context = {
        "heading": heading,
        "case": _one_line(case),
        "label": label,
        "action": action,
        "opd_name": opd_name or "Tingkat kabupaten",
        "deadline": format_instant_id(due_local, seconds=True),
        "status": status,
        "late_working_days": late_days if now > due_at else 0,
        "kind": kind,
        "level": level,
        "role_label": ROLE_LABELS.get(role, role),
        "sent_at": format_instant_id(now.astimezone(cal.tz)),
    }
    return Notice(kind, _clip(title), context)


@dataclass(frozen=True)
class DigestCase:
    case: str
    label: str
    deadline: str
    status: str


def digest_notice(
    *,
    opd_name: str,
    day: date,
    overdue: list[DigestCase],
    due_soon: list[DigestCase],
    now: datetime,
    cal: WorkingCalendar,
) -> Notice:
    title = (
        f"Ringkasan harian {opd_name}, {format_date_id(day)}: "
        f"{len(overdue)} terlambat, {len(due_soon)} segera jatuh tempo"
    )
    context = {
        "heading": "Ringkasan harian batas waktu layanan",
        "opd_name": opd_name,
        "day": format_date_id(day),
        "overdue": overdue,
        "due_soon": due_soon,
        "sent_at": format_instant_id(now.astimezone(cal.tz)),
    }
    return Notice("digest", _clip(title), context)
