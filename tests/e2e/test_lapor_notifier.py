"""End to end: a LAPOR! report's clocks, watched by the notifier, across processes.

The real processes run as `make run` starts them (gunicorn web + worker for LAPOR! and the
notifier) on PostgreSQL and RabbitMQ. A report filed now waits for verification, which is
held while the reporter is asked for detail and runs again on the answer; ticking the
notifier past its third working day breaches the LAPOR! admins' duty. Dispositioned to
Dinas Kesehatan, its follow-up clock reminds Dinkes' liaison two working days before it is
due. Dinkes returns it and the admin dispositions it to Dinas PUPR: the follow-up clock
starts over with PUPR, whose liaison is reminded from then on, never Dinkes'. PUPR follows
up and completes; the reporter's window opens, and once it passed the report closes itself,
which ends the window at the notifier. The OPD system's webhooks never see the reporter.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from email import message_from_string
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
import requests

from services.common.calendar import WorkingCalendar
from tests.e2e.conftest import dump_logs, eventually, own_vhost, running_system
from tests.lapor.support import PERSONAL_STRINGS, REPORT_BODY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WIB = ZoneInfo("Asia/Jakarta")
SERVICES = ["lapor", "notifier"]
ADMIN_DESK = "admin.lapor@diskominfo.kapuas.example"
DINKES_LIAISON, PUPR_LIAISON = "penghubung@dinkes.kapuas.example", "penghubung@dpupr.kapuas.example"
REPORTER = REPORT_BODY["email"]


@pytest.fixture(scope="module")
def lapor_system(tmp_path_factory, amqp_url):
    """LAPOR! and the notifier, each with its own fresh PostgreSQL database, on a virtual
    host of their own."""
    with own_vhost(amqp_url, "lapor") as vhost_url, running_system(
        tmp_path_factory.mktemp("e2e-lapor"), SERVICES, vhost_url, NOTIFIER_WEBHOOK_ALLOW_PRIVATE="1"
    ) as system:
        yield system


def staff_mails(system, start: int) -> list[tuple[str, str]]:
    """(recipient, subject) of the notifier's case notices after the first `start` mails:
    LAPOR!'s own mails to the reporter and the morning digests are left out."""
    out = []
    for message in system.mailbox.snapshot()[start:]:
        if message["to"] == [REPORTER]:
            continue
        subject = str(make_header(decode_header(message_from_string(message["data"])["Subject"])))
        if "Ringkasan harian" not in subject:
            out.extend((to, subject) for to in message["to"])
    return out


def tick(system, moment: datetime) -> None:
    result = system.run("notifier", "tick", "--now", moment.isoformat(), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_reports_clocks_are_chased_moved_and_closed(lapor_system, auth_header):
    system = lapor_system
    notifier, lapor = system.url("notifier"), system.url("lapor")
    admin, lapor_admin = auth_header("admin"), auth_header("lapor_admin")
    for contact in (
        {"opd": None, "role": "coordinator", "service": "lapor", "name": "Admin LAPOR!", "email": ADMIN_DESK},
        {"opd": "dinkes", "role": "officer", "service": "lapor", "name": "Penghubung Dinkes", "email": DINKES_LIAISON},
        {"opd": "dpupr", "role": "officer", "service": "lapor", "name": "Penghubung PUPR", "email": PUPR_LIAISON},
    ):
        response = requests.post(f"{notifier}/api/v1/directory/contacts", json=contact, headers=admin, timeout=10)
        assert response.status_code == 201, response.text
    hook = requests.post(
        f"{notifier}/api/v1/webhooks",
        json={"url": system.receiver.url, "patterns": ["lapor.#"], "description": "sistem OPD"},
        headers=admin, timeout=10,
    )
    assert hook.status_code == 201, hook.text

    submitted = requests.post(f"{lapor}/api/v1/reports", json=REPORT_BODY, timeout=10)
    assert submitted.status_code == 201, submitted.text
    number, token = submitted.json()["number"], submitted.json()["access_token"]
    calendar = WorkingCalendar()
    day0 = calendar.receipt_instant(datetime.now(WIB)).date()

    def day(n: int, hour: int = 9) -> datetime:
        return datetime.combine(calendar.add_working_days(day0, n), time(hour), WIB)

    def clock(name: str) -> dict | None:
        response = requests.get(f"{notifier}/api/v1/clocks/reports/{number}", headers=admin, timeout=10)
        if response.status_code != 200:
            return None
        found = [entry["clock"] for entry in response.json()["clocks"] if entry["clock"]["clock"] == name]
        return found[0] if found else None

    def clock_where(name: str, **expected):
        def check():
            found = clock(name)
            return found if found and all(found.get(k) == v for k, v in expected.items()) else None
        try:
            return eventually(check, timeout=45)
        except AssertionError:
            pytest.fail(f"the notifier's {name} never became {expected}\n" + dump_logs(system))

    def etag() -> str:
        response = requests.get(f"{lapor}/api/v1/admin/reports/{number}", headers=lapor_admin, timeout=10)
        assert response.status_code == 200, response.text
        return response.headers["ETag"]

    def admin_step(step: str, body: dict) -> dict:
        response = requests.post(f"{lapor}/api/v1/admin/reports/{number}/{step}", json=body,
                                 headers={**lapor_admin, "If-Match": etag()}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def opd_step(opd: str, step: str, body: dict) -> dict:
        liaison = auth_header("lapor_liaison", opd=opd)
        response = requests.post(f"{lapor}/api/v1/opd/reports/{number}/{step}", json=body,
                                 headers={**liaison, "If-Match": etag()}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    # Verification: held while the reporter is asked for detail, then the admins' three
    # working days pass without a decision.
    verification = clock_where("lapor.verification", state="running")
    assert (verification["opd"], verification["role"]) == ("diskominfo", "lapor_admin")
    admin_step("clarification-request", {"question": "Di ruas jalan mana tepatnya lubang itu berada?"})
    clock_where("lapor.verification", state="paused")
    answered = requests.post(f"{lapor}/api/v1/reports/{number}/clarification",
                             json={"answer": "Di depan pintu masuk pasar, lajur kiri."},
                             headers={"X-Access-Token": token}, timeout=10)
    assert answered.status_code == 200, answered.text
    clock_where("lapor.verification", state="running")
    seen = len(system.mailbox.snapshot())
    tick(system, day(4))
    breached = [(to, s) for to, s in staff_mails(system, seen) if number in s]
    assert breached and {to for to, _ in breached} == {ADMIN_DESK}, breached
    assert all(s.startswith("Terlambat") for _, s in breached)

    # Dispositioned to Dinkes: its liaison is reminded two working days before the due day.
    dispatched = admin_step("dispatch", {"lead_opd": "dinkes"})
    follow_up_due = datetime.fromisoformat(dispatched["follow_up_due_at"])
    clock_where("lapor.verification", open=False)
    follow_up = clock_where("lapor.follow_up", opd="dinkes", state="running")
    assert datetime.fromisoformat(follow_up["due_at"]) == follow_up_due
    completion = clock_where("lapor.completion", opd="dinkes")
    assert completion["counting"] == "calendar_days"
    seen = len(system.mailbox.snapshot())
    tick(system, day(3))
    reminded = [(to, s) for to, s in staff_mails(system, seen) if number in s]
    assert reminded == [(DINKES_LIAISON, reminded[0][1])] and reminded[0][1].startswith("Pengingat"), reminded

    # Dinkes returns it; the admin dispositions it to PUPR: the follow-up clock starts over there.
    opd_step("dinkes", "return", {"reason": "Perbaikan jalan adalah urusan Dinas PUPR."})
    admin_step("redispatch", {"lead_opd": "dpupr"})
    moved = clock_where("lapor.follow_up", opd="dpupr", state="running")
    assert moved["role"] == "lapor_liaison"
    seen = len(system.mailbox.snapshot())
    tick(system, day(3, hour=10))
    reminded = [(to, s) for to, s in staff_mails(system, seen) if number in s]
    assert [to for to, _ in reminded] == [PUPR_LIAISON], reminded

    # PUPR answers and completes; the reporter's window opens and, unanswered, closes it.
    opd_step("dpupr", "follow-up", {"response": "Lokasi sudah ditinjau petugas.", "plan": "Penambalan pekan ini."})
    clock_where("lapor.follow_up", state="met", open=False)
    completed = opd_step("dpupr", "completion", {"summary": "Jalan sudah ditambal dan dipadatkan."})
    window = clock_where("lapor.reporter_reply", state="running")
    assert (window["party"], window["role"]) == ("citizen", None)
    reply_due = datetime.fromisoformat(completed["reply_due_at"])
    result = system.run("lapor", "close-unanswered", "--now", (reply_due + timedelta(seconds=1)).isoformat())
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"closed": [number]}
    clock_where("lapor.reporter_reply", open=False)
    view = requests.get(f"{lapor}/api/v1/reports/{number}", headers={"X-Access-Token": token}, timeout=10)
    assert (view.json()["status"], view.json()["closed_reason"]) == ("closed", "no_reply")

    # The OPD systems heard every step, and never who reported it. Webhooks go out on the
    # notifier's tick, which this run's worker does only hourly.
    def webhook_types():
        tick(system, datetime.now(WIB))
        types = {json.loads(r["body"])["type"] for r in system.receiver.requests}
        wanted = {"lapor.report.returned", "lapor.report.redispatched", "lapor.report.closed"}
        return types if wanted <= types else None

    eventually(webhook_types, timeout=60, interval=1)
    for delivered in system.receiver.requests:
        for personal in PERSONAL_STRINGS:
            assert personal not in delivered["body"].decode()
