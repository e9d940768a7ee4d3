"""A clock kind's policy: the document an operator edits, read and validated.

It names the reminders before a due instant (in working days, working hours, or a
fraction of the allowed time), who is told of a breach, and the escalation ladder after it.
Messages are for the operator who wrote the document, so they are in Bahasa Indonesia.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from services.notifier import domain


class PolicyError(ValueError):
    """A policy document is invalid; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Reminder:
    unit: str  # "wd" (working days before), "wh" (working hours before), "pct" (of allowed)
    amount: float
    notify: tuple[str, ...]

    @cached_property  # asked for every planned step of every clock
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

    @cached_property
    def key(self) -> str:
        return f"escalate:{self.level}"


@dataclass(frozen=True)
class ActionVariant:
    """The action text to show while every one of `when` (action codes) is still open."""

    when: tuple[str, ...]
    action: str


@dataclass(frozen=True)
class Policy:
    clock: str
    label: str
    action: str
    reminders: tuple[Reminder, ...]
    breach_notify: tuple[str, ...]
    escalations: tuple[Escalation, ...]
    action_variants: tuple[ActionVariant, ...] = ()

    def action_for(self, open_actions: tuple[str, ...] | list[str] | None) -> str:
        """What the message proposes: the first variant whose actions are all still open,
        else the plain `action` (what can always be done, even late)."""
        available = set(open_actions or ())
        for variant in self.action_variants:
            if set(variant.when) <= available:
                return variant.action
        return self.action

    def to_document(self) -> dict[str, Any]:
        variants = [{"when": list(v.when), "action": v.action} for v in self.action_variants]
        return {
            "label": self.label,
            "action": self.action,
            **({"action_variants": variants} if variants else {}),
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

    if clock != domain.DEFAULT_POLICY and not domain.CLOCK_KIND.match(clock or ""):
        add("clock", "Nama jam harus seperti 'ppid.response' atau 'default'.")
    if not isinstance(document, Mapping):
        raise PolicyError({"_schema": ["Kebijakan harus berupa objek JSON."]})
    unknown = set(document) - {"label", "action", "action_variants", "reminders", "breach", "escalation"}
    for key in sorted(unknown):
        add(key, "Kolom tidak dikenal.")
    label = document.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        add("label", "Wajib diisi, paling banyak 200 karakter.")
    action = document.get("action")
    if not isinstance(action, str) or not action.strip() or len(action) > 1000:
        add("action", "Wajib diisi, paling banyak 1000 karakter.")
    variants = _parse_variants(document.get("action_variants", []), add)

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
        action_variants=variants,
    )


_MAX_VARIANTS = 5
_ACTION_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _parse_variants(raw: Any, add) -> tuple[ActionVariant, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > _MAX_VARIANTS:
        add("action_variants", f"Harus berupa daftar berisi paling banyak {_MAX_VARIANTS} varian.")
        return ()
    out: list[ActionVariant] = []
    for i, item in enumerate(raw):
        where = f"action_variants.{i}"
        if not isinstance(item, Mapping) or set(item) != {"when", "action"}:
            add(where, "Harus berupa objek dengan kolom when dan action.")
            continue
        when, text = item["when"], item["action"]
        if (
            not isinstance(when, list)
            or not when
            or not all(isinstance(c, str) and _ACTION_CODE.match(c) for c in when)
        ):
            add(f"{where}.when", "Sebutkan sedikitnya satu kode tindakan, misalnya extend.")
            continue
        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            add(f"{where}.action", "Wajib diisi, paling banyak 1000 karakter.")
            continue
        out.append(ActionVariant(tuple(dict.fromkeys(when)), text.strip()))
    return tuple(out)


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
    notify = _parse_notify(item.get("notify", [domain.OFFICER]), f"{where}.notify", add)
    if not notify:
        add(f"{where}.notify", "Sebutkan sedikitnya satu penerima.")
    return Reminder(_REMINDER_UNITS[name], float(amount), notify)


def _parse_notify(raw: Any, where: str, add) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        add(where, "Harus berupa daftar peran: officer, head, coordinator, sekda (boleh @kode_opd).")
        return ()
    bad = [x for x in raw if not domain.NOTIFY.match(x)]
    if bad:
        add(where, f"Peran tidak dikenal: {', '.join(bad)}.")
        return ()
    if len(set(raw)) != len(raw):
        add(where, "Peran yang sama disebut dua kali.")
        return ()
    return tuple(raw)


def parse_policy_file(document: Any) -> dict[str, Policy]:
    """The seed file: `{"<clock>": {policy}, ..., "default": {policy}}`."""
    if not isinstance(document, Mapping) or domain.DEFAULT_POLICY not in document:
        raise ValueError("the policy file must be an object with a 'default' policy")
    policies = {}
    for clock, doc in document.items():
        try:
            policies[clock] = parse_policy(clock, doc)
        except PolicyError as exc:
            raise ValueError(f"policy {clock}: {exc}") from exc
    return policies
