"""Clock instructions for `data.sla`, built once instead of written out by hand.

The service that owns a case knows its legal deadlines; the notifier keeps the clocks and
knows no service's rules (docs/events/asyncapi.yaml, `sla`). An instruction says
which clock, when it is due, who must act (the staff role and OPD that can do the duty),
whose time it is (a staff duty, which counts in dashboards and scores, or a citizen's
window, which never does) and whether its length counts working or calendar days.

    data["sla"] = sla.instructions(
        sla.stop("ppid.objection_response"),
        sla.start("ppid.dispute_window", due, opd="dinkes", party=sla.CITIZEN),
    )

On the wire a restart is a `start` of a clock that runs (the notifier restarts it with the
new due date); `restart` only names that intent in the code that builds it. `pause` and
`resume` travel under their own keys; a resume carries the due date the owner computed for
the time that is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Whose time it is.
STAFF, CITIZEN = "staff", "citizen"
PARTIES = (STAFF, CITIZEN)
# How the length of the duty was counted.
WORKING_DAYS, CALENDAR_DAYS = "working_days", "calendar_days"
COUNTINGS = (WORKING_DAYS, CALENDAR_DAYS)
KINDS = ("start", "stop", "pause", "resume")
# How a duty ended: done (judged met or breached), or cancelled (it ended without being done,
# e.g. the applicant withdrew: neither met nor breached, and never counted in a score).
DONE, CANCELLED = "done", "cancelled"
OUTCOMES = (DONE, CANCELLED)

# The notifier's own pattern for a clock name (`<service>.<duty>`).
_CLOCK = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its key in `data.sla` and the item listed under it."""

    kind: str
    item: dict[str, Any]

    @property
    def clock(self) -> str:
        return self.item["clock"]


def start(
    clock: str,
    due_at: datetime,
    *,
    opd: str | None = None,
    role: str | None = None,
    party: str = STAFF,
    counting: str = WORKING_DAYS,
    started_at: datetime | None = None,
    actions: tuple[str, ...] | list[str] | None = None,
) -> Instruction:
    """Start `clock`, due at `due_at`; restarts it if it already runs.

    `opd` is the OPD that must act (the notifier falls back to the event's `opd`), `role`
    the staff role within it that can do the duty; a citizen's window has no staff role.
    `started_at` is when the duty really began, if not at the event's time (a walk-in
    request entered later with its real receipt time). `actions` are the codes of what the
    actor can still do to meet the duty in time (`["answer", "extend"]`): the notifier's
    messages propose only those, and none once `due_at` has passed.
    """
    item = _timed(clock, due_at, opd=opd, role=role, party=party, counting=counting, actions=actions)
    if started_at is not None:
        _aware(started_at, "started_at")
        if started_at > due_at:
            raise ValueError(f"clock {clock}: started_at must not be after due_at")
        item["started_at"] = started_at
    return Instruction("start", item)


def restart(clock: str, due_at: datetime, **who: Any) -> Instruction:
    """Start a running clock again with a new due date, or with a new OPD or role to act.

    On the wire a restart is a start (the notifier restarts a running clock); it takes the
    keywords of `start` except `started_at`, since the duty began with the first start.
    """
    if "started_at" in who:
        raise TypeError("restart() keeps the first start's started_at")
    return start(clock, due_at, **who)


def stop(clock: str, *, outcome: str = DONE) -> Instruction:
    """The duty is done; the event's `time` is when (the notifier judges met or breached).

    `outcome=CANCELLED` ends a duty that was not done and no longer has to be (a withdrawn
    request): the notifier closes the clock as cancelled, neither met nor breached.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    item: dict[str, Any] = {"clock": _clock(clock)}
    if outcome != DONE:
        item["outcome"] = outcome
    return Instruction("stop", item)


def pause(clock: str) -> Instruction:
    """Hold the clock from the event's `time` (e.g. waiting for the citizen's clarification)."""
    return Instruction("pause", {"clock": _clock(clock)})


def resume(
    clock: str,
    due_at: datetime,
    *,
    opd: str | None = None,
    role: str | None = None,
    party: str = STAFF,
    counting: str = WORKING_DAYS,
) -> Instruction:
    """Run a paused clock again, due at `due_at`: the owner adds the time that was left."""
    return Instruction("resume", _timed(clock, due_at, opd=opd, role=role, party=party, counting=counting))


def instructions(*items: Instruction) -> dict[str, list[dict[str, Any]]]:
    """The `data.sla` object for these instructions, each kind listed in the given order.

    A clock may appear once per kind: two starts of one clock in one event would leave the
    notifier to guess which due date holds.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, str]] = set()
    for instruction in items:
        if not isinstance(instruction, Instruction):
            raise TypeError(f"not a clock instruction: {instruction!r}")
        key = (instruction.kind, instruction.clock)
        if key in seen:
            raise ValueError(f"clock {instruction.clock} appears twice under {instruction.kind!r}")
        seen.add(key)
        out.setdefault(instruction.kind, []).append(dict(instruction.item))
    if "pause" in out and "resume" in out:
        both = {i["clock"] for i in out["pause"]} & {i["clock"] for i in out["resume"]}
        if both:
            raise ValueError(f"clock {sorted(both)[0]} is paused and resumed in one event")
    return out


def _timed(
    clock: str,
    due_at: datetime,
    *,
    opd: str | None,
    role: str | None,
    party: str,
    counting: str,
    actions: tuple[str, ...] | list[str] | None = None,
) -> dict[str, Any]:
    _aware(due_at, "due_at")
    if party not in PARTIES:
        raise ValueError(f"party must be one of {PARTIES}, got {party!r}")
    if counting not in COUNTINGS:
        raise ValueError(f"counting must be one of {COUNTINGS}, got {counting!r}")
    if party == CITIZEN and role is not None:
        raise ValueError(f"clock {clock}: a citizen's window has no staff role to act")
    item: dict[str, Any] = {"clock": _clock(clock), "due_at": due_at}
    if opd is not None:
        item["opd"] = _code(opd, "opd")
    if role is not None:
        item["role"] = _code(role, "role")
    item["party"] = party
    item["counting"] = counting
    if actions is not None:
        if isinstance(actions, str):
            raise ValueError(f"clock {clock}: actions is a list of codes, not {actions!r}")
        codes = [_code(a, "action") for a in actions]
        if len(set(codes)) != len(codes):
            raise ValueError(f"clock {clock}: an action is named twice in {codes}")
        item["actions"] = codes
    return item


def _clock(name: str) -> str:
    if not isinstance(name, str) or len(name) > 100 or not _CLOCK.match(name):
        raise ValueError(f"a clock is named like 'ppid.response', got {name!r}")
    return name


def _code(value: str, what: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise ValueError(f"{what} {value!r} must be a lower-case code")
    return value


def _aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
