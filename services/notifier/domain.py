"""The notifier's vocabulary: the names of clock and step states, contact roles, channels,
and the shapes of clock kinds and OPD codes. The rules live beside it, one module each:

- `sla`: the contract with producers, reading `data.sla` into instructions;
- `clock_rules`: what an instruction does to a clock, met or breached;
- `policy`: the policy document an operator edits (reminders, breach notice, escalation);
- `notification_plan`: a policy turned into the steps of one clock run and their instants;
- `recipients`: who a step tells, and which staff role reads it in the app;
- `compliance`: the dashboard's numbers.

All of them are pure: no I/O, no clock of their own.
"""

from __future__ import annotations

import re

RUNNING, MET, BREACHED, STOPPED = "running", "met", "breached", "stopped"
# `stopped` is a clock whose stop arrived before any start: its outcome is unknown until a
# start older than the stop turns up (events may arrive out of order).
# `cancelled`: a duty ended without being done and no longer due (a withdrawn request);
# `closed`: a citizen's window ended (the citizen acted, or the time ran out). Neither is
# met or breached, and neither counts in a score.
CLOSED = "closed"
# `paused`: the owner holds the duty (waiting for the citizen's clarification); no step goes
# out and it is not breached until a resume gives it its new due instant.
PAUSED = "paused"
PENDING, SENT, CANCELLED, SKIPPED = "pending", "sent", "cancelled", "skipped"
CLOCK_STATES = (RUNNING, MET, BREACHED, STOPPED, CANCELLED, CLOSED, PAUSED)

# `skipped`: a step whose time came together with a later step of its kind (a clock that
# started late, or a tick after an outage): only the latest applies.
STEP_STATES = (PENDING, SENT, CANCELLED, SKIPPED)
# Whose time a clock is: a staff duty, or a citizen's window.
STAFF, CITIZEN = "staff", "citizen"
# How the length of a duty was counted by its owner (a LAPOR! completion: calendar days).
WORKING_DAYS, CALENDAR_DAYS = "working_days", "calendar_days"
COUNTINGS = (WORKING_DAYS, CALENDAR_DAYS)
REMIND, BREACH, ESCALATE = "remind", "breach", "escalate"
STEP_KINDS = (REMIND, BREACH, ESCALATE)

OFFICER, HEAD, COORDINATOR, SEKDA = "officer", "head", "coordinator", "sekda"
CONTACT_ROLES = (OFFICER, HEAD, COORDINATOR, SEKDA)
# The one who must act, as the clock names them, when no contact role holds their staff role
# (an Atasan PPID): reached in the in-app inbox of that role and OPD.
ACTOR = "actor"
EMAIL, INBOX, WEBHOOK = "email", "inbox", "webhook"
CHANNELS = (EMAIL, INBOX, WEBHOOK)

CLOCK_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OPD_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
# A policy's `notify` entry: a contact role, optionally bound to a named OPD.
NOTIFY = re.compile(r"^(officer|head|coordinator|sekda)(@([a-z][a-z0-9_]{1,31}))?$")
DEFAULT_POLICY = "default"


def service_of(clock: str) -> str:
    """`ppid.response` belongs to `ppid`."""
    return clock.split(".", 1)[0]
