"""End to end: a PPID request's legal deadline, watched by the notifier, across processes.

The real processes run as `make run` starts them (gunicorn web + worker for ppid and the
notifier) on PostgreSQL and RabbitMQ. A walk-in request received on Monday 16 March 2026,
the eve of the Nyepi and Lebaran leave, is due on Tuesday 7 April (day 10). Ticking the
notifier at days 7, 8, 11 and 13 must produce nothing, the reminder, the breach notice,
then the escalations, by email to the right people and as signed webhooks; answering the
request stops the clock as breached, with its lateness, and the dashboard counts it.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, time
from email import message_from_string
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from services.common.calendar import WorkingCalendar
from tests.e2e.conftest import dump_logs, eventually
from tests.ppid.support import PERSONAL_STRINGS, REQUEST_BODY

# Starting the processes alone may take minutes on a loaded machine: past the suite's timeout,
# and the waits inside it (migrations, readiness) fail first with their own messages.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WIB = ZoneInfo("Asia/Jakarta")
RECEIVED = datetime(2026, 3, 16, 10, 0, tzinfo=WIB)
OFFICER, HEAD = "petugas.ppid@dinkes.kapuas.example", "kepala@dinkes.kapuas.example"
COORDINATOR, SEKDA = "ppid.utama@diskominfo.kapuas.example", "sekda@kapuas.example"
APPLICANT = {**REQUEST_BODY, "requested_opd": "dinkes"}


def at_day(n: int, hour: int = 9) -> datetime:
    calendar = WorkingCalendar()
    return datetime.combine(calendar.add_working_days(RECEIVED.date(), n), time(hour), WIB)


DIGEST = "Ringkasan harian"


def mails_since(system, start: int) -> list[tuple[str, str, str]]:
    """(recipient, subject, text) of every mail to staff received after the first `start`
    ones (PPID's own mails to the applicant are not the notifier's)."""
    out = []
    for message in system.mailbox.snapshot()[start:]:
        if message["to"] == [REQUEST_BODY["email"]]:
            continue
        parsed = message_from_string(message["data"])
        subject = str(make_header(decode_header(parsed["Subject"])))
        text = next(
            part.get_payload(decode=True).decode()
            for part in parsed.walk()
            if part.get_content_type() == "text/plain"
        )
        out.extend((to, subject, text) for to in message["to"])
    return out


def recipients_since(system, start: int) -> list[tuple[str, str]]:
    """(recipient, subject) of the case notices after the first `start` mails: the
    morning digest to OPD heads is checked on its own."""
    return [(to, subject) for to, subject, _ in mails_since(system, start) if DIGEST not in subject]


def etag_of(path: str, headers: dict) -> str:
    response = requests.get(path, headers=headers, params={"reason": "menindaklanjuti permohonan"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def tick(system, moment: datetime) -> dict:
    result = system.run("notifier", "tick", "--now", moment.isoformat(), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_late_request_is_reminded_breached_escalated_and_counted(system, auth_header):
    admin = auth_header("admin")
    notifier, ppid = system.url("notifier"), system.url("ppid")

    contacts = [
        {"opd": "dinkes", "role": "officer", "service": "ppid", "name": "Petugas PPID Dinkes", "email": OFFICER},
        {"opd": "dinkes", "role": "head", "name": "Kepala Dinas Kesehatan", "email": HEAD},
        {"opd": None, "role": "coordinator", "service": "ppid", "name": "PPID Utama", "email": COORDINATOR},
        {"opd": None, "role": "sekda", "name": "Sekretaris Daerah", "email": SEKDA},
    ]
    for contact in contacts:
        response = requests.post(f"{notifier}/api/v1/directory/contacts", json=contact, headers=admin, timeout=10)
        assert response.status_code == 201, response.text

    hook = requests.post(
        f"{notifier}/api/v1/webhooks",
        json={"url": system.receiver.url, "patterns": ["ppid.#", "notifier.sla.#"], "description": "sistem OPD"},
        headers=admin,
        timeout=10,
    )
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]

    submitted = requests.post(
        f"{ppid}/api/v1/requests/offline",
        json={**APPLICANT, "channel": "walk_in", "submitted_at": RECEIVED.isoformat()},
        headers=auth_header("ppid_utama"),
        timeout=10,
    )
    assert submitted.status_code == 201, submitted.text
    number = submitted.json()["number"]
    due = datetime.fromisoformat(submitted.json()["due_at"])
    assert due.astimezone(WIB).date() == date(2026, 4, 7)
    subject = f"requests/{number}"

    def clock():
        response = requests.get(f"{notifier}/api/v1/clocks/{subject}", headers=admin, timeout=10)
        if response.status_code != 200:
            return None
        clocks = [entry["clock"] for entry in response.json()["clocks"] if entry["clock"]["clock"] == "ppid.response"]
        return clocks[0] if clocks and clocks[0]["opd"] == "dinkes" else None

    try:
        running = eventually(clock, timeout=45)
    except AssertionError:
        pytest.fail("the notifier never started the clock\n" + dump_logs(system))
    assert running["state"] == "running"
    assert datetime.fromisoformat(running["due_at"]) == due

    seen = len(system.mailbox.snapshot())
    tick(system, at_day(7))
    assert recipients_since(system, seen) == [], "nothing is due on day 7"

    tick(system, at_day(8))
    reminded = [m for m in mails_since(system, seen) if DIGEST not in m[1]]
    assert [to for to, _, _ in reminded] == [OFFICER], reminded
    assert number in reminded[0][2] and "Pengingat" in reminded[0][1]
    digests = [m for m in mails_since(system, seen) if DIGEST in m[1]]
    assert [to for to, _, _ in digests] == [HEAD], "the head's morning digest lists the due-soon case"
    assert number in digests[0][2]
    seen = len(system.mailbox.snapshot())

    tick(system, datetime.combine(at_day(10).date(), time(22), WIB))
    assert recipients_since(system, seen) == [], "nothing goes out at night"

    tick(system, at_day(11))
    breached = recipients_since(system, seen)
    assert [to for to, _ in breached] == [OFFICER], breached
    seen = len(system.mailbox.snapshot())

    tick(system, at_day(13))
    escalated = recipients_since(system, seen)
    # Levels 1 and 2 are both due by day 13: only level 2 applies, to the head and the
    # coordinator, and the Pelaksana who must act is told first; level 1 is skipped.
    assert sorted(to for to, _ in escalated) == sorted([OFFICER, HEAD, COORDINATOR])
    assert all("Eskalasi tingkat 2" in subject for _, subject in escalated), escalated
    seen = len(system.mailbox.snapshot())

    tick(system, at_day(13, hour=10))
    assert recipients_since(system, seen) == [], "a second tick sends nothing twice"

    # The OPD system's webhook got the case's events, signed per Standard Webhooks.
    def webhook_types():
        types = set()
        for request in system.receiver.requests:
            headers = {k.lower(): v for k, v in request["headers"].items()}
            Webhook(secret).verify(request["body"], headers)
            types.add(json.loads(request["body"])["type"])
        return types if {"ppid.request.submitted", "notifier.sla.reminded", "notifier.sla.breached", "notifier.sla.escalated"} <= types else None

    types = eventually(webhook_types, timeout=20)
    assert "ppid.request.submitted" in types

    # The PPID Pelaksana of Dinkes answers, long after the deadline.
    path = f"{ppid}/api/v1/requests/{number}"
    pelaksana = auth_header("ppid_pelaksana", opd="dinkes")
    etag = etag_of(path, pelaksana)
    answered = requests.post(
        f"{path}/notice",
        json={"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"},
        headers={**pelaksana, "If-Match": etag},
        timeout=10,
    )
    assert answered.status_code == 201, answered.text

    stopped = eventually(lambda: (c := clock()) and c["state"] == "breached" and not c["open"] and c, timeout=45)
    assert stopped["late_working_days"] > 100
    assert stopped["late_seconds"] > 0

    dashboard = requests.get(f"{notifier}/api/v1/dashboard", headers=admin, timeout=10)
    assert dashboard.status_code == 200
    dinkes = [row for row in dashboard.json()["opds"] if row["opd"] == "dinkes"]
    assert dinkes and dinkes[0]["breached"] >= 1

    # No personal data of the applicant reached the OPD system.
    for request in system.receiver.requests:
        body = base64.b64encode(request["body"]).decode() + request["body"].decode()
        for personal in PERSONAL_STRINGS:
            assert personal not in body


# -- who is told what: an unassigned request, a reassignment and a late walk-in ---------------

JUNE = datetime(2026, 6, 8, 10, 0, tzinfo=WIB)
KOMINFO_PELAKSANA = "pelaksana.ppid@diskominfo.kapuas.example"
DISDIK_OFFICER, DINSOS_OFFICER = "ppid@disdik.kapuas.example", "ppid@dinsos.kapuas.example"
UTAMA = "utama@diskominfo.kapuas.example"


def june_day(n: int, hour: int = 9) -> datetime:
    return datetime.combine(WorkingCalendar().add_working_days(JUNE.date(), n), time(hour), WIB)


def test_the_one_who_must_act_is_told_and_a_late_walk_in_gets_one_breach_and_the_current_level(
    system, auth_header
):
    admin, utama = auth_header("admin"), auth_header("ppid_utama")
    notifier, ppid = system.url("notifier"), system.url("ppid")
    for contact in (
        {"opd": "diskominfo", "role": "officer", "service": "ppid", "name": "Pelaksana Diskominfo",
         "email": KOMINFO_PELAKSANA},
        {"opd": "disdik", "role": "officer", "service": "ppid", "name": "Pelaksana Disdik", "email": DISDIK_OFFICER},
        {"opd": "dinsos", "role": "officer", "service": "ppid", "name": "Pelaksana Dinsos", "email": DINSOS_OFFICER},
        {"opd": None, "role": "coordinator", "service": "ppid", "name": "PPID Utama", "email": UTAMA},
    ):
        response = requests.post(f"{notifier}/api/v1/directory/contacts", json=contact, headers=admin, timeout=10)
        assert response.status_code == 201, response.text

    def walk_in(**extra) -> str:
        response = requests.post(
            f"{ppid}/api/v1/requests/offline",
            json={**REQUEST_BODY, "channel": "walk_in", "submitted_at": JUNE.isoformat(), **extra},
            headers=utama, timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()["number"]

    def timeline(number: str, opd: str):
        response = requests.get(f"{notifier}/api/v1/clocks/requests/{number}", headers=admin, timeout=10)
        if response.status_code != 200:
            return None
        found = [e for e in response.json()["clocks"] if e["clock"]["clock"] == "ppid.response"]
        return found[0] if found and found[0]["clock"]["opd"] == opd else None

    def told(since: int, number: str) -> list[tuple[str, str]]:
        return sorted((to, subject) for to, subject in recipients_since(system, since) if number in subject)

    unassigned = walk_in()
    moved = walk_in(requested_opd="dinkes")
    path = f"{ppid}/api/v1/requests/{moved}"
    reassigned = requests.post(
        f"{path}/reassignment", json={"opd": "disdik", "reason": "Informasi dikuasai Dinas Pendidikan"},
        headers={**utama, "If-Match": etag_of(path, utama)}, timeout=10,
    )
    assert reassigned.status_code == 200, reassigned.text
    try:
        utamas = eventually(lambda: timeline(unassigned, "diskominfo"), timeout=45)
        eventually(lambda: timeline(moved, "disdik"), timeout=45)
    except AssertionError:
        pytest.fail("the notifier never started the clocks\n" + dump_logs(system))
    assert (utamas["clock"]["role"], utamas["clock"]["actions"]) == ("ppid_utama", ["answer", "extend"])

    seen = len(system.mailbox.snapshot())
    tick(system, june_day(8))
    # The unassigned request's reminder reaches the PPID Utama (every coordinator of PPID on
    # file), never the Pelaksana of Diskominfo who cannot open it.
    reminded = told(seen, unassigned)
    assert reminded and {to for to, _ in reminded} <= {UTAMA, COORDINATOR} and UTAMA in {to for to, _ in reminded}
    assert all(subject.startswith("Pengingat") for _, subject in reminded)

    seen = len(system.mailbox.snapshot())
    tick(system, june_day(11))
    breached = told(seen, unassigned)
    assert breached and {to for to, _ in breached} <= {UTAMA, COORDINATOR}
    assert all(subject.startswith("Terlambat") for _, subject in breached)
    assert KOMINFO_PELAKSANA not in {to for to, _, _ in mails_since(system, 0)}
    # The reassigned request's breach notice reaches Disdik's Pelaksana, not Dinkes'. (Its
    # reminders were planned from the reassignment, made today, after these June days.)
    assert [to for to, _ in told(seen, moved)] == [DISDIK_OFFICER]

    # A walk-in of the same day entered only now, long past its deadline and its ladder.
    late = walk_in(requested_opd="dinsos")
    eventually(lambda: timeline(late, "dinsos"), timeout=45)
    seen = len(system.mailbox.snapshot())
    tick(system, june_day(17))
    late_mails = [(to, subject, text) for to, subject, text in mails_since(system, seen) if late in subject]
    to_officer = sorted(subject.split(":")[0] for to, subject, _ in late_mails if to == DINSOS_OFFICER)
    assert to_officer == ["Eskalasi tingkat 3", "Terlambat"], late_mails
    assert not any("tingkat 1" in s or "tingkat 2" in s for _, s, _ in late_mails)
    # Past the deadline, no mail proposes an extension.
    assert all("perpanjang" not in text for _, _, text in late_mails)
    steps = {s["key"]: s["state"] for s in timeline(late, "dinsos")["steps"]}
    assert (steps["breach"], steps["escalate:1"], steps["escalate:2"], steps["escalate:3"]) == (
        "sent", "skipped", "skipped", "sent")
    entries = [h["entry"] for h in timeline(late, "dinsos")["history"]]
    assert entries.count("step_skipped") == 2
