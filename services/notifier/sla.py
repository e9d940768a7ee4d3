"""The contract with the services that own cases: clock instructions in `data.sla`.

A producer computes its own due dates and sends, with the event that changes a case,
which clocks of that case start (with their due instant and OPD) and which stop. This
module reads those instructions; what they do to a clock is `clock_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.notifier import domain

MAX_SUBJECT = 255


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
    # Instants enter the notifier in UTC, the zone they are stored and published in.
    return value.astimezone(UTC)


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
