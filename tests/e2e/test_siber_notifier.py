"""End to end: SIBER's daily duty chased by the notifier, across processes.

The real processes run as `make run` starts them (gunicorn web + worker for SIBER and the
notifier) on PostgreSQL and RabbitMQ, on a virtual host of their own, with a directory of
three OPDs. The day's duties are opened (the `open-duties` command the worker's morning
timer runs); Dinas Kesehatan's humas submits an article, which meets its duty at once;
Dinas Pendidikan stays silent: ticking the notifier that afternoon reminds Disdik's humas,
after office hours the duty is breached, and Disdik's head hears of it — Dinkes is never
chased. The processes stand on the next working day's morning (a development-only clock
offset, `SIMPUL_CLOCK_OFFSET_SECONDS`), so the trial is the same whatever day it runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from email import message_from_string
from email.header import decode_header, make_header
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from services.common.calendar import WorkingCalendar
from tests.conftest import ROOT
from tests.e2e.conftest import dump_logs, eventually, own_vhost, running_system

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WIB = ZoneInfo("Asia/Jakarta")
SERVICES = ["siber", "notifier"]
OPDS = ("dinkes", "disdik", "diskominfo")
DINKES_HUMAS, DINKES_HEAD = "humas@dinkes.kapuas.example", "kepala@dinkes.kapuas.example"
DISDIK_HUMAS, DISDIK_HEAD = "humas@disdik.kapuas.example", "kepala@disdik.kapuas.example"
EDITORS = "redaksi@diskominfo.kapuas.example"
DIGEST = "Ringkasan harian"


def trial_morning() -> datetime:
    """09:00 WIB of the first working day after today, where the processes stand."""
    calendar = WorkingCalendar()
    today = datetime.now(UTC).astimezone(WIB).date()
    return datetime.combine(calendar.add_working_days(today, 1), time(9), WIB)


def small_directory(path: Path) -> Path:
    """The regency's OPD directory cut to three OPDs, so the day opens three duties."""
    document = json.loads((ROOT / "config" / "opd.json").read_text())
    document["opds"] = [opd for opd in document["opds"] if opd["code"] in OPDS]
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def system(tmp_path_factory, amqp_url):
    work = tmp_path_factory.mktemp("e2e-siber")
    with own_vhost(amqp_url, "siber") as vhost_url, running_system(
        work, SERVICES, vhost_url,
        OPD_FILE=str(small_directory(work / "opd.json")),
        SIBER_FILES_URL=str(work / "files"),
        SIMPUL_CLOCK_OFFSET_SECONDS=str(round((trial_morning() - datetime.now(UTC)).total_seconds())),
    ) as running:
        yield running


def mails_since(system, start: int) -> list[tuple[str, str, str]]:
    """(recipient, subject, text) of every case notice after the first `start` mails."""
    out = []
    for message in system.mailbox.snapshot()[start:]:
        parsed = message_from_string(message["data"])
        subject = str(make_header(decode_header(parsed["Subject"])))
        if DIGEST in subject:
            continue
        text = next(part.get_payload(decode=True).decode() for part in parsed.walk()
                    if part.get_content_type() == "text/plain")
        out.extend((to, subject, text) for to in message["to"])
    return out


def tick(system, moment: datetime) -> None:
    result = system.run("notifier", "tick", "--now", moment.isoformat(), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_silent_opd_is_reminded_breached_and_escalated_and_the_active_one_is_not(system, auth_header):
    day = trial_morning().date()
    admin = auth_header("admin")
    notifier, siber = system.url("notifier"), system.url("siber")
    contacts = [
        {"opd": "dinkes", "role": "officer", "service": "siber", "name": "Humas Dinkes", "email": DINKES_HUMAS},
        {"opd": "dinkes", "role": "head", "name": "Kepala Dinas Kesehatan", "email": DINKES_HEAD},
        {"opd": "disdik", "role": "officer", "service": "siber", "name": "Humas Disdik", "email": DISDIK_HUMAS},
        {"opd": "disdik", "role": "head", "name": "Kepala Dinas Pendidikan", "email": DISDIK_HEAD},
        {"opd": None, "role": "coordinator", "service": "siber", "name": "Redaksi SIBER", "email": EDITORS},
    ]
    for contact in contacts:
        response = requests.post(f"{notifier}/api/v1/directory/contacts", json=contact, headers=admin, timeout=10)
        assert response.status_code == 201, response.text

    # The worker's morning timer opens the day's duties as it starts; the command opens what it
    # has not (nothing, once it has), never a duty twice.
    opened = system.run("siber", "open-duties", check=False)
    assert opened.returncode == 0, opened.stderr[-3000:]
    assert set(json.loads(opened.stdout.strip().splitlines()[-1])["opened"]) <= set(OPDS)

    def clock(opd):
        response = requests.get(f"{notifier}/api/v1/clocks/duties/{opd}/{day.isoformat()}", headers=admin, timeout=10)
        if response.status_code != 200:
            return None
        found = [e["clock"] for e in response.json()["clocks"] if e["clock"]["clock"] == "siber.daily_news"]
        return found[0] if found else None

    try:
        running = eventually(lambda: clock("disdik") and clock("dinkes"), timeout=60)
    except AssertionError:
        pytest.fail("the notifier never started the daily-news clocks\n" + dump_logs(system))
    assert running["state"] == "running"
    office_end = datetime.combine(day, time(16), WIB)
    assert datetime.fromisoformat(running["due_at"]) == office_end

    humas = auth_header("humas", opd="dinkes")
    created = requests.post(f"{siber}/api/v1/articles", json={"title": "Pemeriksaan Gigi Gratis di Sekolah"},
                            headers=humas, timeout=10)
    assert created.status_code == 201, created.text
    submitted = requests.post(f"{siber}/api/v1/articles/{created.json()['id']}/submit",
                              headers={**humas, "If-Match": created.headers["ETag"]}, timeout=10)
    assert submitted.status_code == 200, submitted.text
    try:
        met = eventually(lambda: (c := clock("dinkes")) and not c["open"] and c, timeout=60)
    except AssertionError:
        pytest.fail("the submission never stopped Dinkes' clock\n" + dump_logs(system))
    assert met["state"] == "met"
    assert clock("disdik")["open"]

    seen = len(system.mailbox.snapshot())
    tick(system, datetime.combine(day, time(13, 30), WIB))
    reminded = mails_since(system, seen)
    assert [to for to, _, _ in reminded] == [DISDIK_HUMAS], reminded
    assert "Pengingat" in reminded[0][1]
    seen = len(system.mailbox.snapshot())

    tick(system, datetime.combine(day, time(16, 30), WIB))
    next_morning = datetime.combine(WorkingCalendar().add_working_days(day, 1), time(9), WIB)
    tick(system, next_morning)
    chased = mails_since(system, seen)
    recipients = {to for to, _, _ in chased}
    assert DISDIK_HUMAS in recipients and DISDIK_HEAD in recipients, chased
    assert not recipients & {DINKES_HUMAS, DINKES_HEAD}
    breached = eventually(lambda: (c := clock("disdik")) and c["state"] == "breached" and c, timeout=10)
    assert breached["opd"] == "disdik"

    dashboard = requests.get(f"{notifier}/api/v1/dashboard", headers=admin, timeout=10)
    assert dashboard.status_code == 200
    rows = {row["opd"]: row for row in dashboard.json()["opds"]}
    # Dinkes met its duty; Disdik's is still open (a breached duty stays owed until news comes).
    assert rows["dinkes"]["met"] >= 1 and rows["dinkes"]["breached"] == 0
    assert rows["disdik"]["open"] >= 1 and rows["disdik"]["met"] == 0
