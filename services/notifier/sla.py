"""The contract with the services that own cases: clock instructions in `data.sla`.

A producer computes its own due dates and sends, with the event that changes a case,
which clocks of that case start (with their due instant and OPD), which stop, which are
paused (waiting for the citizen) and which resume with the due instant the owner computed
for the time left. This module reads those instructions; what they do to a clock is `clock_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifier import domain

MAX_SUBJECT = 255
# How far from its event a due date (or a duty's real start) may lie. The longest legal
# duty is months long; a date years away is a producer's mistake, and planning reminders
# and escalations around 9999-12-31 or 0001-01-02 overflows the date arithmetic.
MAX_CLOCK_SPAN = timedelta(days=3 * 366)
STAFF, CITIZEN = "staff", "citizen"
WORKING_DAYS, CALENDAR_DAYS = domain.WORKING_DAYS, domain.CALENDAR_DAYS
DONE, CANCELLED = "done", "cancelled"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MAX_ACTIONS = 20


class SlaError(ValueError):
    """`data.sla` has a shape the notifier cannot act on (the event is dead-lettered)."""


@dataclass(frozen=True)
class Start:
    clock: str
    due_at: datetime
    opd: str | None
    # When the duty really began, if earlier than the event (a walk-in request entered
    # later with its real receipt time); reminders are planned from it.
    started_at: datetime | None = None
    # Who must act: the staff role (a JWT role) in `opd` that can do the duty; None when the
    # producer does not say, and the policy's `officer` of the OPD is told.
    role: str | None = None
    # Whose time it is: a staff duty, or a citizen's window (never overdue, never scored).
    party: str = STAFF
    # What the actor can still do to meet the duty in time; None when the producer does
    # not say (the policy's plain `action` text is shown).
    actions: tuple[str, ...] | None = None
    # How the owner counted the duty's length: working days, or calendar days.
    counting: str = WORKING_DAYS


@dataclass(frozen=True)
class Pause:
    clock: str


@dataclass(frozen=True)
class Resume:
    """Run a paused clock again, due at the instant the owner computed for the time left."""

    clock: str
    due_at: datetime
    opd: str | None
    role: str | None = None
    party: str = STAFF
    # None when the producer does not say: the clock keeps the counting it had.
    counting: str | None = None


@dataclass(frozen=True)
class Stop:
    clock: str
    # `cancelled`: the duty ended without being done and no longer has to be.
    outcome: str = DONE


@dataclass(frozen=True)
class Instructions:
    subject: str
    at: datetime
    stops: tuple[Stop, ...]
    starts: tuple[Start, ...]
    pauses: tuple[Pause, ...] = ()
    resumes: tuple[Resume, ...] = ()


def _parse_instant(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise SlaError(f"{where} must be an RFC 3339 string")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SlaError(f"{where} {raw!r} is not RFC 3339") from exc
    if value.tzinfo is None:
        raise SlaError(f"{where} {raw!r} has no offset")
    # Instants enter the notifier in UTC, the zone they are stored and published in.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise SlaError(f"{where} {raw!r} is out of range") from exc


def _near(value: datetime, at: datetime, where: str) -> datetime:
    if abs(value - at) > MAX_CLOCK_SPAN:
        raise SlaError(
            f"{where} {value.isoformat()} lies more than {MAX_CLOCK_SPAN.days} days from the "
            "event's time"
        )
    return value


def _clock_name(item: Mapping[str, Any], where: str) -> str:
    name = item.get("clock")
    if not isinstance(name, str) or len(name) > 100 or not domain.CLOCK_KIND.match(name):
        raise SlaError(f"{where}.clock must name a clock like 'ppid.response', got {name!r}")
    return name


def _opd_code(raw: Any, where: str) -> str | None:
    if raw is None or raw == "none":
        return None
    if not isinstance(raw, str) or not domain.OPD_CODE.match(raw):
        raise SlaError(f"{where} {raw!r} is not an OPD code")
    return raw


def _optional_code(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _CODE.match(raw):
        raise SlaError(f"{where} {raw!r} is not a lower-case code")
    return raw


def _actions(raw: Any, where: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > _MAX_ACTIONS:
        raise SlaError(f"{where}.actions must be a list of at most {_MAX_ACTIONS} action codes")
    codes = tuple(_optional_code(code, f"{where}.actions") for code in raw)
    if None in codes:
        raise SlaError(f"{where}.actions must name actions by code")
    return tuple(dict.fromkeys(codes))


def parse_sla(
    envelope: Mapping[str, Any], *, knows_opd: Callable[[str], bool] | None = None
) -> Instructions | None:
    """The clock instructions of an envelope, None when it carries none.

    Fields this notifier does not know are ignored (adding a field is not a breaking
    change); a known field with the wrong shape is an error, because acting on half an
    instruction would silently lose a deadline. Everything is checked here, before any
    database work, so an instruction no retry can apply is refused at once. `knows_opd`
    says whether a code is in the OPD directory: a clock for an OPD nobody watches would
    run unseen.
    """
    data = envelope.get("data")
    if not isinstance(data, Mapping) or data.get("sla") is None:
        return None
    sla = data["sla"]
    if not isinstance(sla, Mapping):
        raise SlaError("data.sla must be an object")
    subject = envelope.get("subject")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT:
        raise SlaError("an event with clock instructions needs a subject of at most 255 characters")
    at = _parse_instant(envelope.get("time"), "time")
    default_opd = _opd_code(envelope.get("opd"), "opd")
    lists = {}
    for key in ("start", "stop", "pause", "resume"):
        value = sla.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list):
            raise SlaError(f"data.sla.{key} must be a list")
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise SlaError(f"data.sla.{key}[{i}] must be an object")
        lists[key] = value
    starts, stops = [], []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(lists["start"]):
        where = f"data.sla.start[{i}]"
        name = _clock_name(item, where)
        if ("start", name) in seen:
            raise SlaError(f"{where}: clock {name} is started twice in one event")
        seen.add(("start", name))
        due = _near(_parse_instant(item.get("due_at"), f"{where}.due_at"), at, f"{where}.due_at")
        opd = _opd_code(item["opd"], f"{where}.opd") if "opd" in item else default_opd
        if opd is not None and knows_opd is not None and not knows_opd(opd):
            raise SlaError(f"{where}.opd {opd!r} is not in the OPD directory")
        began = None
        if item.get("started_at") is not None:
            began = _near(
                _parse_instant(item["started_at"], f"{where}.started_at"), at, f"{where}.started_at"
            )
            if began > due:
                raise SlaError(f"{where}.started_at must not be after due_at")
        role, party, counting = _who(item, where)
        starts.append(Start(name, due, opd, began, role, party, _actions(item.get("actions"), where),
                            counting))
    pauses, resumes = [], []
    for i, item in enumerate(lists["pause"]):
        where = f"data.sla.pause[{i}]"
        name = _clock_name(item, where)
        if ("pause", name) not in seen:
            seen.add(("pause", name))
            pauses.append(Pause(name))
    for i, item in enumerate(lists["resume"]):
        where = f"data.sla.resume[{i}]"
        name = _clock_name(item, where)
        if ("resume", name) in seen:
            raise SlaError(f"{where}: clock {name} is resumed twice in one event")
        if ("pause", name) in seen:
            raise SlaError(f"{where}: clock {name} is paused and resumed in one event")
        seen.add(("resume", name))
        due = _near(_parse_instant(item.get("due_at"), f"{where}.due_at"), at, f"{where}.due_at")
        opd = _opd_code(item["opd"], f"{where}.opd") if "opd" in item else default_opd
        if opd is not None and knows_opd is not None and not knows_opd(opd):
            raise SlaError(f"{where}.opd {opd!r} is not in the OPD directory")
        role, party, counting = _who(item, where)
        resumes.append(Resume(name, due, opd, role, party, counting if "counting" in item else None))
    for i, item in enumerate(lists["stop"]):
        where = f"data.sla.stop[{i}]"
        name = _clock_name(item, where)
        outcome = item.get("outcome", DONE)
        if outcome not in (DONE, CANCELLED):
            raise SlaError(f"{where}.outcome must be 'done' or 'cancelled', got {outcome!r}")
        if ("stop", name) not in seen:
            seen.add(("stop", name))
            stops.append(Stop(name, outcome))
    if not (starts or stops or pauses or resumes):
        return None
    return Instructions(subject=subject, at=at, stops=tuple(stops), starts=tuple(starts),
                        pauses=tuple(pauses), resumes=tuple(resumes))


def _who(item: Mapping[str, Any], where: str) -> tuple[str | None, str, str]:
    """The staff role to act, whose time it is, and how its length was counted."""
    role = _optional_code(item.get("role"), f"{where}.role")
    party = item.get("party", STAFF)
    if party not in (STAFF, CITIZEN):
        raise SlaError(f"{where}.party must be 'staff' or 'citizen', got {party!r}")
    if party == CITIZEN:
        # A citizen's window has nobody on the staff to chase.
        role = None
    counting = item.get("counting", WORKING_DAYS)
    if counting not in domain.COUNTINGS:
        raise SlaError(
            f"{where}.counting must be 'working_days' or 'calendar_days', got {counting!r}"
        )
    return role, party, counting
