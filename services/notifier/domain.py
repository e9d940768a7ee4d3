"""The notifier's rules: pure functions, no I/O.

The notifier knows no service's legal rules. A producer computes its own due dates and sends
clock instructions in `data.sla`; this module decides what those instructions do to a clock
(keyed by subject and clock kind), judges a stopped clock met or breached, and turns a
clock's policy into the list of notification steps with the instant each may go out.

Time rules:
- An instruction takes effect at its event's `time`. Events of one clock are applied in
  event-time order: an instruction older than the last one applied is recorded but changes
  nothing (the broker does not promise order, and a retried event can arrive late).
- A stop at or before `due_at` meets the duty; a later stop breaches it, and the lateness is
  kept in seconds and in working days (`working_days_between(due_at, stopped_at)`).
- Notifications go out in office hours on working days only: an instant outside them moves
  to the next office opening, exactly as a request received out of hours is (the calendar's
  `receipt_instant`).
- Reminders count back from the due date in working days (the office opening of that day),
  in working hours (office time only), or as a fraction of the allowed working time.
  Escalations count forward in working days from the breach notice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.common.calendar import WorkingCalendar

# -- vocabulary --------------------------------------------------------------------------

RUNNING, MET, BREACHED, STOPPED = "running", "met", "breached", "stopped"
# `stopped` is a clock whose stop arrived before any start: its outcome is unknown until a
# start older than the stop turns up (events may arrive out of order).
CLOCK_STATES = (RUNNING, MET, BREACHED, STOPPED)

PENDING, SENT, CANCELLED = "pending", "sent", "cancelled"
STEP_STATES = (PENDING, SENT, CANCELLED)
REMIND, BREACH, ESCALATE = "remind", "breach", "escalate"
STEP_KINDS = (REMIND, BREACH, ESCALATE)

OFFICER, HEAD, COORDINATOR, SEKDA = "officer", "head", "coordinator", "sekda"
CONTACT_ROLES = (OFFICER, HEAD, COORDINATOR, SEKDA)
EMAIL, INBOX, WEBHOOK = "email", "inbox", "webhook"
CHANNELS = (EMAIL, INBOX, WEBHOOK)
SERVICES = ("ppid", "lapor", "siber")

# The staff role (JWT `roles`) that reads a contact role's in-app messages, per service.
_OFFICER_STAFF = {"ppid": "ppid_pelaksana", "lapor": "lapor_liaison", "siber": "humas"}
_COORDINATOR_STAFF = {"ppid": "ppid_utama", "lapor": "lapor_admin", "siber": "siber_editor"}
# The regency coordinator sits in Diskominfo for all three services.
COORDINATOR_OPD = "diskominfo"

CLOCK_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OPD_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_NOTIFY = re.compile(r"^(officer|head|coordinator|sekda)(@([a-z][a-z0-9_]{1,31}))?$")
DEFAULT_POLICY = "default"
MAX_SUBJECT = 255
# Loops over days stop here: no real calendar has ten years without a working day.
_MAX_DAYS = 3660


class SlaError(ValueError):
    """`data.sla` has a shape the notifier cannot act on (the event is dead-lettered)."""


class PolicyError(ValueError):
    """A policy document is invalid; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# -- time helpers ------------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    """The instant in UTC, as it is stored (SQLite keeps no offset, so everything is UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"instant must be time-zone aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """A value read back from the database, made aware (SQLite returns naive UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def service_of(clock: str) -> str:
    """`ppid.response` belongs to `ppid`."""
    return clock.split(".", 1)[0]


# -- clock instructions ------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    clock: str
    due_at: datetime
    opd: str | None
    # When the duty really began, if earlier than the event (a walk-in request entered
    # later with its real receipt time); reminders are planned from it.
    started_at: datetime | None = None


@dataclass(frozen=True)
class Stop:
    clock: str


@dataclass(frozen=True)
class Instructions:
    subject: str
    at: datetime
    stops: tuple[Stop, ...]
    starts: tuple[Start, ...]


def _parse_instant(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise SlaError(f"{where} must be an RFC 3339 string")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SlaError(f"{where} {raw!r} is not RFC 3339") from exc
    if value.tzinfo is None:
        raise SlaError(f"{where} {raw!r} has no offset")
    return value


def _clock_name(item: Mapping[str, Any], where: str) -> str:
    name = item.get("clock")
    if not isinstance(name, str) or len(name) > 100 or not CLOCK_KIND.match(name):
        raise SlaError(f"{where}.clock must name a clock like 'ppid.response', got {name!r}")
    return name


def _opd_code(raw: Any, where: str) -> str | None:
    if raw is None or raw == "none":
        return None
    if not isinstance(raw, str) or not OPD_CODE.match(raw):
        raise SlaError(f"{where} {raw!r} is not an OPD code")
    return raw


def parse_sla(envelope: Mapping[str, Any]) -> Instructions | None:
    """The clock instructions of an envelope, None when it carries none.

    Fields this notifier does not know are ignored (adding a field is not a breaking
    change); a known field with the wrong shape is an error, because acting on half an
    instruction would silently lose a deadline.
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
    for key in ("start", "stop"):
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
        due = _parse_instant(item.get("due_at"), f"{where}.due_at")
        opd = _opd_code(item["opd"], f"{where}.opd") if "opd" in item else default_opd
        began = None
        if item.get("started_at") is not None:
            began = _parse_instant(item["started_at"], f"{where}.started_at")
            if began > due:
                raise SlaError(f"{where}.started_at must not be after due_at")
        starts.append(Start(name, due, opd, began))
    for i, item in enumerate(lists["stop"]):
        name = _clock_name(item, f"data.sla.stop[{i}]")
        if ("stop", name) not in seen:
            seen.add(("stop", name))
            stops.append(Stop(name))
    if not starts and not stops:
        return None
    return Instructions(subject=subject, at=at, stops=tuple(stops), starts=tuple(starts))


# -- the clock state machine -------------------------------------------------------------


@dataclass(frozen=True)
class ClockSnapshot:
    state: str
    due_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    opd: str | None
    last_event_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


@dataclass(frozen=True)
class Decision:
    """What an instruction does to a clock.

    `outcome` names the history entry; `changes` are the clock fields to set. `new_run`
    starts a fresh set of notification steps (a restart is a new duty: its reminders are
    due again), `cancel_pending` withdraws the steps not sent yet, and `publish` names the
    notifier event to emit (`met` or `breached`).
    """

    outcome: str
    changes: dict[str, Any] = field(default_factory=dict)
    new_run: bool = False
    cancel_pending: bool = False
    publish: str | None = None


@dataclass(frozen=True)
class Judgement:
    state: str
    late_seconds: int
    late_working_days: int


def judge(due_at: datetime, stopped_at: datetime, cal: WorkingCalendar) -> Judgement:
    """Met when the duty was done by its due instant; otherwise breached, and how late."""
    if stopped_at <= due_at:
        return Judgement(MET, 0, 0)
    seconds = math.ceil((stopped_at - due_at).total_seconds())
    return Judgement(BREACHED, seconds, max(0, cal.working_days_between(due_at, stopped_at)))


def _stopped_changes(judgement: Judgement) -> dict[str, Any]:
    return {
        "state": judgement.state,
        "late_seconds": judgement.late_seconds,
        "late_working_days": judgement.late_working_days,
    }


def decide_start(
    clock: ClockSnapshot | None, start: Start, at: datetime, cal: WorkingCalendar
) -> Decision:
    began = start.started_at or at
    fresh = {
        "state": RUNNING,
        "due_at": start.due_at,
        "started_at": began,
        "opd": start.opd,
        "stopped_at": None,
        "breached_at": None,
        "late_seconds": None,
        "late_working_days": None,
        "last_event_at": at,
    }
    if clock is None:
        return Decision("started", {**fresh, "first_started_at": began}, new_run=True)
    if clock.last_event_at is not None and at < clock.last_event_at:
        if clock.state == STOPPED and clock.due_at is None and at <= clock.stopped_at:
            # The stop overtook its own start: now the outcome can be judged.
            judgement = judge(start.due_at, clock.stopped_at, cal)
            changes = {
                "run": 1,
                "due_at": start.due_at,
                "started_at": began,
                "first_started_at": began,
                "opd": start.opd,
                **_stopped_changes(judgement),
            }
            return Decision("resolved", changes, publish=judgement.state)
        return Decision("stale")
    if clock.is_open and clock.due_at == start.due_at and clock.opd == start.opd:
        # The same instruction again (another event repeating it): nothing is due twice.
        return Decision("unchanged", {"last_event_at": at})
    return Decision("restarted", fresh, new_run=True, cancel_pending=True)


def decide_stop(clock: ClockSnapshot | None, at: datetime, cal: WorkingCalendar) -> Decision:
    if clock is None:
        changes = {
            "state": STOPPED,
            "due_at": None,
            "started_at": None,
            "stopped_at": at,
            "last_event_at": at,
        }
        return Decision("stopped_unstarted", changes)
    if clock.last_event_at is not None and at < clock.last_event_at:
        return Decision("stale")
    if not clock.is_open:
        return Decision("already_stopped")
    judgement = judge(clock.due_at, at, cal)
    changes = {"stopped_at": at, "last_event_at": at, **_stopped_changes(judgement)}
    return Decision("stopped", changes, cancel_pending=True, publish=judgement.state)


def is_overdue(state: str, due_at: datetime | None, now: datetime) -> bool:
    """A running clock whose due instant has passed is breached (and stays open)."""
    return state == RUNNING and due_at is not None and due_at < now


# -- working time ------------------------------------------------------------------------


def _office(day: date, cal: WorkingCalendar) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, cal.office_start, tzinfo=cal.tz),
        datetime.combine(day, cal.office_end, tzinfo=cal.tz),
    )


def send_window(instant: datetime, cal: WorkingCalendar) -> datetime:
    """The instant itself inside office hours on a working day, else the next opening."""
    return cal.receipt_instant(instant)


def working_seconds_between(start: datetime, end: datetime, cal: WorkingCalendar) -> float:
    """Office time on working days between two instants (0 when `end` is not later)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(cal.tz).date()
    last = end.astimezone(cal.tz).date()
    while day <= last:
        if cal.is_working_day(day):
            opening, closing = _office(day, cal)
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
    for _ in range(_MAX_DAYS):
        if cal.is_working_day(day):
            opening, closing = _office(day, cal)
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
        for _ in range(_MAX_DAYS):
            day -= timedelta(days=1)
            if cal.is_working_day(day):
                break
        else:
            raise ValueError("no working day within ten years")
    return day


# -- policies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    unit: str  # "wd" (working days before), "wh" (working hours before), "pct" (of allowed)
    amount: float
    notify: tuple[str, ...]

    @property
    def key(self) -> str:
        if self.unit == "pct":
            return f"remind:{_number(self.amount * 100)}%"
        return f"remind:-{_number(self.amount)}{self.unit}"

    def to_document(self) -> dict[str, Any]:
        name = {"wd": "before_working_days", "wh": "before_working_hours", "pct": "fraction"}
        amount: float | int = self.amount if self.unit == "pct" else _int_if_whole(self.amount)
        return {name[self.unit]: amount, "notify": list(self.notify)}


@dataclass(frozen=True)
class Escalation:
    level: int
    after_working_days: int
    notify: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"escalate:{self.level}"


@dataclass(frozen=True)
class Policy:
    clock: str
    label: str
    action: str
    reminders: tuple[Reminder, ...]
    breach_notify: tuple[str, ...]
    escalations: tuple[Escalation, ...]

    def to_document(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "action": self.action,
            "reminders": [r.to_document() for r in self.reminders],
            "breach": {"notify": list(self.breach_notify)},
            "escalation": [
                {"level": e.level, "after_working_days": e.after_working_days, "notify": list(e.notify)}
                for e in self.escalations
            ],
        }


def _number(value: float) -> str:
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


def _int_if_whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_REMINDER_UNITS = {"before_working_days": "wd", "before_working_hours": "wh", "fraction": "pct"}
_MAX_REMINDERS = 10
_MAX_LEVELS = 5
_MAX_DELAY_DAYS = 60


def parse_policy(clock: str, document: Any) -> Policy:
    """Validate a policy document (the JSON an operator edits); raises PolicyError."""
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if clock != DEFAULT_POLICY and not CLOCK_KIND.match(clock or ""):
        add("clock", "Nama jam harus seperti 'ppid.response' atau 'default'.")
    if not isinstance(document, Mapping):
        raise PolicyError({"_schema": ["Kebijakan harus berupa objek JSON."]})
    unknown = set(document) - {"label", "action", "reminders", "breach", "escalation"}
    for key in sorted(unknown):
        add(key, "Kolom tidak dikenal.")
    label = document.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        add("label", "Wajib diisi, paling banyak 200 karakter.")
    action = document.get("action")
    if not isinstance(action, str) or not action.strip() or len(action) > 1000:
        add("action", "Wajib diisi, paling banyak 1000 karakter.")

    reminders: list[Reminder] = []
    raw_reminders = document.get("reminders", [])
    if not isinstance(raw_reminders, list) or len(raw_reminders) > _MAX_REMINDERS:
        add("reminders", f"Harus berupa daftar berisi paling banyak {_MAX_REMINDERS} pengingat.")
        raw_reminders = []
    for i, item in enumerate(raw_reminders):
        reminder = _parse_reminder(item, f"reminders.{i}", add)
        if reminder is not None:
            if any(r.key == reminder.key for r in reminders):
                add(f"reminders.{i}", "Pengingat yang sama disebut dua kali.")
            else:
                reminders.append(reminder)

    breach = document.get("breach")
    breach_notify: tuple[str, ...] = ()
    if not isinstance(breach, Mapping) or set(breach) - {"notify"}:
        add("breach", "Harus berupa objek dengan kolom notify.")
    else:
        breach_notify = _parse_notify(breach.get("notify", []), "breach.notify", add)

    escalations: list[Escalation] = []
    raw_levels = document.get("escalation", [])
    if not isinstance(raw_levels, list) or len(raw_levels) > _MAX_LEVELS:
        add("escalation", f"Harus berupa daftar berisi paling banyak {_MAX_LEVELS} tingkat.")
        raw_levels = []
    for i, item in enumerate(raw_levels):
        where = f"escalation.{i}"
        if not isinstance(item, Mapping) or set(item) - {"level", "after_working_days", "notify"}:
            add(where, "Harus berupa objek dengan kolom level, after_working_days, notify.")
            continue
        level, delay = item.get("level"), item.get("after_working_days")
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= _MAX_LEVELS:
            add(f"{where}.level", f"Tingkat harus bilangan bulat 1 sampai {_MAX_LEVELS}.")
            continue
        if (
            not isinstance(delay, int)
            or isinstance(delay, bool)
            or not 0 <= delay <= _MAX_DELAY_DAYS
        ):
            add(f"{where}.after_working_days", f"Harus bilangan bulat 0 sampai {_MAX_DELAY_DAYS}.")
            continue
        notify = _parse_notify(item.get("notify"), f"{where}.notify", add)
        if not notify:
            add(f"{where}.notify", "Sebutkan sedikitnya satu penerima.")
        escalations.append(Escalation(level, delay, notify))
    levels = [e.level for e in escalations]
    if len(set(levels)) != len(levels):
        add("escalation", "Setiap tingkat hanya boleh disebut sekali.")
    ordered = sorted(escalations, key=lambda e: e.level)
    if any(a.after_working_days > b.after_working_days for a, b in zip(ordered, ordered[1:], strict=False)):
        add("escalation", "Tingkat yang lebih tinggi tidak boleh datang lebih awal.")
    if errors:
        raise PolicyError(errors)
    return Policy(
        clock=clock,
        label=label.strip(),
        action=action.strip(),
        reminders=tuple(reminders),
        breach_notify=breach_notify,
        escalations=tuple(ordered),
    )


def _parse_reminder(item: Any, where: str, add) -> Reminder | None:
    if not isinstance(item, Mapping):
        add(where, "Harus berupa objek.")
        return None
    unknown = set(item) - set(_REMINDER_UNITS) - {"notify"}
    given = [k for k in _REMINDER_UNITS if k in item]
    if unknown or len(given) != 1:
        add(where, "Isi tepat satu dari before_working_days, before_working_hours, fraction.")
        return None
    name = given[0]
    amount = item[name]
    if name == "before_working_days":
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 60:
            add(f"{where}.{name}", "Harus bilangan bulat 1 sampai 60.")
            return None
    elif name == "before_working_hours":
        if not _is_number(amount) or not 0 < amount <= 480:
            add(f"{where}.{name}", "Harus lebih dari 0 dan paling banyak 480 jam kerja.")
            return None
    elif not _is_number(amount) or not 0 < amount < 1:
        add(f"{where}.{name}", "Harus pecahan antara 0 dan 1, misalnya 0.5.")
        return None
    notify = _parse_notify(item.get("notify", [OFFICER]), f"{where}.notify", add)
    if not notify:
        add(f"{where}.notify", "Sebutkan sedikitnya satu penerima.")
    return Reminder(_REMINDER_UNITS[name], float(amount), notify)


def _parse_notify(raw: Any, where: str, add) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        add(where, "Harus berupa daftar peran: officer, head, coordinator, sekda (boleh @kode_opd).")
        return ()
    bad = [x for x in raw if not _NOTIFY.match(x)]
    if bad:
        add(where, f"Peran tidak dikenal: {', '.join(bad)}.")
        return ()
    if len(set(raw)) != len(raw):
        add(where, "Peran yang sama disebut dua kali.")
        return ()
    return tuple(raw)


def parse_policy_file(document: Any) -> dict[str, Policy]:
    """The seed file: `{"<clock>": {policy}, ..., "default": {policy}}`."""
    if not isinstance(document, Mapping) or DEFAULT_POLICY not in document:
        raise ValueError("the policy file must be an object with a 'default' policy")
    policies = {}
    for clock, doc in document.items():
        try:
            policies[clock] = parse_policy(clock, doc)
        except PolicyError as exc:
            raise ValueError(f"policy {clock}: {exc}") from exc
    return policies


# -- notification plan -------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    key: str
    kind: str
    level: int | None
    planned_at: datetime  # the instant the rule gives
    send_after: datetime  # that instant moved into office hours on a working day
    notify: tuple[str, ...]


def plan_steps(
    policy: Policy, started_at: datetime, due_at: datetime, cal: WorkingCalendar
) -> list[PlannedStep]:
    """Every step of a clock's run in send order: reminders, the breach notice, escalations.

    A reminder whose instant is not strictly between the start and the due instant is left
    out: telling someone "two days left" about a duty that was only given one day is noise.
    """
    steps: list[PlannedStep] = []
    allowed = working_seconds_between(started_at, due_at, cal)
    for reminder in policy.reminders:
        if reminder.unit == "wd":
            day = working_days_before(due_at.astimezone(cal.tz).date(), int(reminder.amount), cal)
            planned = datetime.combine(day, cal.office_start, tzinfo=cal.tz)
        elif reminder.unit == "wh":
            planned = shift_working_time(due_at, -reminder.amount * 3600, cal)
        elif allowed > 0:
            planned = shift_working_time(started_at, reminder.amount * allowed, cal)
        else:
            planned = started_at + (due_at - started_at) * reminder.amount
        send_after = send_window(planned, cal)
        if started_at < planned and send_after < due_at:
            steps.append(PlannedStep(reminder.key, REMIND, None, planned, send_after, reminder.notify))
    breach_planned = due_at + timedelta(seconds=1)
    breach_at = send_window(breach_planned, cal)
    steps.append(PlannedStep(BREACH, BREACH, None, breach_planned, breach_at, policy.breach_notify))
    base = breach_at.astimezone(cal.tz)
    for level in policy.escalations:
        day = cal.add_working_days(base.date(), level.after_working_days)
        planned = datetime.combine(day, base.timetz())
        steps.append(
            PlannedStep(
                level.key, ESCALATE, level.level, planned, send_window(planned, cal), level.notify
            )
        )
    steps.sort(key=lambda s: (s.send_after, _KIND_ORDER[s.kind], s.level or 0))
    return steps


_KIND_ORDER = {REMIND: 0, BREACH: 1, ESCALATE: 2}


def step_is_stale(kind: str, due_at: datetime | None, now: datetime) -> bool:
    """A reminder that could only go out after the due instant has nothing left to remind."""
    return kind == REMIND and due_at is not None and now >= due_at


def retry_after(attempts: int, now: datetime) -> datetime:
    """When a step whose mail failed for a passing reason is tried again (5 min doubling, 2 h cap)."""
    minutes = min(5 * 2 ** max(0, attempts - 1), 120)
    return now + timedelta(minutes=minutes)


# -- recipients --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A contact role to tell, and the OPD whose contact it is (None: regency level)."""

    role: str
    opd: str | None


def resolve_recipients(notify: Iterable[str], clock_opd: str | None) -> list[Recipient]:
    """The roles of a step, bound to OPDs.

    `officer` and `head` are the clock's OPD's unless the entry names another OPD
    (`head@diskominfo`); a clock with no OPD has no officer or head, so the regency
    coordinator is told instead. `coordinator` and `sekda` are regency-level.
    """
    out: list[Recipient] = []
    for entry in notify:
        match = _NOTIFY.match(entry)
        if match is None:
            continue
        role, opd = match.group(1), match.group(3)
        if role in (OFFICER, HEAD):
            opd = opd or clock_opd
            recipient = Recipient(role, opd) if opd else Recipient(COORDINATOR, None)
        else:
            recipient = Recipient(role, None)
        if recipient not in out:
            out.append(recipient)
    return out


def staff_role(role: str, service: str) -> str:
    """The JWT role whose holders read this contact role's messages in the in-app inbox."""
    if role == OFFICER:
        return _OFFICER_STAFF.get(service, "admin")
    if role == HEAD:
        return "opd_head"
    if role == COORDINATOR:
        return _COORDINATOR_STAFF.get(service, "admin")
    return "sekda"


def inbox_address(recipient: Recipient, service: str) -> tuple[str, str | None]:
    """(staff role, OPD) that an in-app message for this recipient is addressed to."""
    opd = recipient.opd if recipient.role in (OFFICER, HEAD) else None
    return staff_role(recipient.role, service), opd


# -- dashboards --------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def on_time_percent(met: int, breached: int) -> float | None:
    closed = met + breached
    return round(100.0 * met / closed, 1) if closed else None


def compliance_score(met: int, breached: int, overdue: int) -> float | None:
    """Share of duties done on time, counting every duty still overdue as a failure.

    Duties closed in the period and duties open past their due date form the base, so an
    OPD cannot look good by leaving late cases unanswered.
    """
    base = met + breached + overdue
    return round(100.0 * met / base, 1) if base else None


def due_soon_limit(now: datetime, cal: WorkingCalendar, working_days: int = 2) -> datetime:
    """The end of the second working day after today: "due within two working days"."""
    today = now.astimezone(cal.tz).date()
    day = cal.add_working_days(today, working_days)
    return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=cal.tz)

