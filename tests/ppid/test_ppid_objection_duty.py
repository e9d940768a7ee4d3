"""What an objection decides: a granted objection (`overturned`) returns the request to the
PPID with a new notice clock, and a notice given late is ground g of Pasal 35.

UU 14/2008 Pasal 35 ayat (1) huruf g: "penyampaian informasi yang melebihi waktu yang
diatur dalam Undang-Undang ini" -- information given after its time. A request never
answered is huruf c ("tidak ditanggapinya permohonan informasi").
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from services.common.settings import SettingsError
from services.ppid.config import PpidSettings
from services.ppid.models import Notice, Request, outbox
from tests.broker_events import check_documented
from tests.ppid.support import ATASAN, PELAKSANA, T0, UTAMA, WIB, PpidClient, build_env

REQ, OBJ = "/api/v1/requests", "/api/v1/objections"
REJECTION = {
    "outcome": "rejected",
    "exemption_clause": "a",
    "consequence_test": "Membuka berkas pemeriksaan menghambat penyidikan yang sedang berjalan.",
}
GRANT = {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, tzinfo=WIB)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def object_to(ppid, number, token, grounds):
    body = {"grounds": list(grounds), "statement": "Saya keberatan atas jawaban ini."}
    return ppid.citizen("POST", f"{REQ}/{number}/objections", token, json=body)


def decide(ppid, kbr, decision, opd="dinkes"):
    body = {"decision": decision, "reasons": "Pertimbangan Atasan PPID atas keberatan."}
    return ppid.act(f"{OBJ}/{kbr}/decision", body, ATASAN, opd, etag_of=f"{OBJ}/{kbr}")


def public_row(ppid, number):
    rows = ppid.http.get("/api/v1/public/requests", query_string={"page_size": 100}).get_json()
    return next(row for row in rows if row["number"] == number)


def request_events(ppid, number, type_):
    with ppid.env.rt.engine.connect() as conn:
        bodies = conn.execute(
            select(outbox.c.body).where(outbox.c.subject == f"requests/{number}").order_by(outbox.c.id)
        ).scalars()
        return [e for e in map(json.loads, bodies) if e["type"] == type_]


def rejected_then_objected(ppid):
    """Submitted Monday 2 March to Dinas Kesehatan, rejected on 16 March, objected on 30 March."""
    submitted = ppid.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    ppid.clock.set(at(3, 16))
    assert ppid.notice(number, REJECTION, PELAKSANA, "dinkes").status_code == 201
    ppid.clock.set(at(3, 30))
    filed = object_to(ppid, number, token, ["a"])
    assert filed.status_code == 201, filed.get_json()
    return number, token, filed.get_json()["number"]


# -- finding 11: a granted objection creates the duty it decides ----------------------------


def test_an_overturned_answer_returns_to_the_ppid_with_a_new_notice_clock(ppid):
    number, token, kbr = rejected_then_objected(ppid)
    assert public_row(ppid, number)["outcome"] == "rejected"

    # Tuesday 14 April, 10:00: the Atasan grants the objection. Day 0 is 14 April; ten
    # working days end on Tuesday 28 April.
    ppid.clock.set(at(4, 14))
    decided = decide(ppid, kbr, "overturned")
    assert decided.status_code == 200, decided.get_json()

    view = ppid.staff_get(f"{REQ}/{number}", PELAKSANA, "dinkes").get_json()
    assert view["status"] == "assigned" and view["outcome"] is None and view["notice"] is None
    assert view["reopened_at"] == "2026-04-14T10:00:00+07:00"
    assert view["late"] is False  # the annulled notice came on time
    assert view["due_at"] == "2026-04-28T23:59:59+07:00"
    assert view["history"][-1]["action"] == "reopened" and view["history"][-1]["note"] == kbr
    # The duty is the Pelaksana's to answer; the one extension does not apply to it.
    assert view["allowed_actions"] == ["reassign", "answer"]
    citizen = ppid.citizen("GET", f"{REQ}/{number}", token).get_json()
    assert citizen["status"] == "assigned" and citizen["allowed_actions"] == ["withdraw"]

    # The notifier is told to start the notice clock again, the Pelaksana's of dinkes.
    [reopened] = request_events(ppid, number, "ppid.request.reopened")
    check_documented(reopened)
    data = reopened["data"]
    assert data["objection_number"] == kbr and data["annulled_outcome"] == "rejected"
    assert instant(data["due_at"]) == datetime(2026, 4, 28, 23, 59, 59, tzinfo=WIB)
    [start] = data["sla"]["start"]
    assert start["clock"] == "ppid.response" and start["role"] == "ppid_pelaksana"
    assert start["opd"] == "dinkes" and start["party"] == "staff"
    # Reminders may propose only the answer: the extension does not cover this duty.
    assert start["actions"] == ["answer"]
    assert instant(start["due_at"]) == instant(data["due_at"])

    # Until the new notice, the public list no longer shows the annulled rejection.
    row = public_row(ppid, number)
    assert row["status"] == "assigned" and row["outcome"] is None

    # A new notice, on time for the new duty; the public list shows the changed outcome.
    ppid.clock.set(at(4, 20))
    issued = ppid.notice(number, GRANT, PELAKSANA, "dinkes")
    assert issued.status_code == 201, issued.get_json()
    assert issued.get_json()["late"] is False and issued.get_json()["outcome"] == "granted"
    row = public_row(ppid, number)
    assert row["status"] == "answered" and row["outcome"] == "granted"
    assert ppid.citizen("GET", f"{REQ}/{number}/notice", token).get_json()["outcome"] == "granted"

    # The annulled notice is kept as the record, superseded.
    with ppid.env.rt.session_factory() as session:
        request_id = session.scalar(select(Request.id).where(Request.number == number))
        notices = session.execute(
            select(Notice.outcome, Notice.superseded_at).where(Notice.request_id == request_id).order_by(Notice.id)
        ).all()
    assert [n.outcome for n in notices] == ["rejected", "granted"]
    assert notices[0].superseded_at == at(4, 14) and notices[1].superseded_at is None


def test_an_upheld_answer_stays_answered(ppid):
    number, _token, kbr = rejected_then_objected(ppid)
    ppid.clock.set(at(4, 14))
    assert decide(ppid, kbr, "upheld").status_code == 200
    view = ppid.stored(number)
    assert view["status"] == "answered" and view["outcome"] == "rejected" and view["reopened_at"] is None
    assert request_events(ppid, number, "ppid.request.reopened") == []


def test_an_overturned_silence_moves_the_open_duty_and_a_new_notice_cannot_predate_it(ppid):
    """An objection on ground c (no answer at all) granted: the PPID's notice is owed within
    the new clock, counted from the decision."""
    submitted = ppid.submit(requested_opd="disdik")
    number, token = submitted["number"], submitted["access_token"]
    ppid.clock.set(at(3, 17, 9))
    kbr = object_to(ppid, number, token, ["c"]).get_json()["number"]
    ppid.clock.set(at(4, 14))
    assert decide(ppid, kbr, "overturned", "disdik").status_code == 200
    view = ppid.stored(number)
    assert view["status"] == "assigned" and view["due_at"] == "2026-04-28T23:59:59+07:00"
    # The new duty does not undo the missed one: the request stays late in the statistics.
    assert view["late"] is True
    listed = ppid.staff_get(REQ, UTAMA, query_string={"late": "true", "page_size": 100}).get_json()
    assert number in [row["number"] for row in listed]
    [reopened] = request_events(ppid, number, "ppid.request.reopened")
    assert reopened["data"]["annulled_outcome"] is None
    ppid.clock.set(at(4, 15))
    backdated = ppid.notice(number, {**GRANT, "issued_at": "2026-04-13T10:00:00+07:00"}, PELAKSANA, "disdik")
    assert backdated.status_code == 422 and "issued_at" in backdated.get_json()["errors"]
    assert ppid.notice(number, GRANT, PELAKSANA, "disdik").status_code == 201


def test_the_new_notice_clock_is_a_setting(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'ppid.db'}", "sqlite", PPID_REOPENED_NOTICE_DAYS="5")
    try:
        env.clock.set(T0)
        number, _token, kbr = rejected_then_objected(PpidClient(env))
        env.clock.set(at(4, 14))
        client = PpidClient(env)
        assert decide(client, kbr, "overturned").status_code == 200
        # Five working days from Tuesday 14 April: Tuesday 21 April.
        assert client.stored(number)["due_at"] == "2026-04-21T23:59:59+07:00"
    finally:
        env.rt.dispose()
    for wrong in ("0", "31"):
        with pytest.raises(SettingsError, match="PPID_REOPENED_NOTICE_DAYS"):
            PpidSettings.from_env("ppid", {"SIMPUL_ENV": "development", "PPID_REOPENED_NOTICE_DAYS": wrong})


def test_one_notice_in_force_per_request(ppid):
    """The database holds the rule too: a second notice in force for one request is refused."""
    number, _token, _kbr = rejected_then_objected(ppid)
    with ppid.env.rt.session_factory() as session:
        current = session.scalars(select(Notice).join(Request).where(Request.number == number)).one()
        session.add(Notice(
            request_id=current.request_id, outcome="granted", issued_at=at(4, 1), issued_by="x",
            info_format="soft_copy", delivery_method="email", fee_amount=0, late=False, days_taken=1,
        ))
        with pytest.raises(Exception, match="(?i)unique"):
            session.commit()
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Notice).where(Notice.request_id == current.request_id)) == 1


# -- finding 15: a request answered late may be objected to on ground g ---------------------


def test_a_notice_given_late_is_ground_g(ppid):
    submitted = ppid.submit(requested_opd="dinkes")
    number, token = submitted["number"], submitted["access_token"]
    # Due Monday 16 March; answered Wednesday 25 March, late.
    ppid.clock.set(at(3, 25))
    issued = ppid.notice(number, GRANT, PELAKSANA, "dinkes")
    assert issued.status_code == 201 and issued.get_json()["late"] is True
    ppid.clock.set(at(3, 26))
    filed = object_to(ppid, number, token, ["g"])
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["grounds"] == ["g"]


def test_ground_g_needs_a_late_notice_and_silence_is_ground_c(ppid):
    on_time = ppid.submit(requested_opd="dinkes")
    ppid.clock.set(at(3, 10))
    assert ppid.notice(on_time["number"], GRANT, PELAKSANA, "dinkes").status_code == 201
    ppid.clock.set(at(3, 11))
    refused = object_to(ppid, on_time["number"], on_time["access_token"], ["g"])
    assert refused.status_code == 422
    assert "tepat waktu" in refused.get_json()["errors"]["grounds"][0]

    ppid.clock.set(at(3, 2, 9))
    silent = ppid.submit(requested_opd="dinkes")
    ppid.clock.set(at(3, 17))
    refused = object_to(ppid, silent["number"], silent["access_token"], ["g"])
    assert refused.status_code == 422
    assert "huruf c" in refused.get_json()["errors"]["grounds"][0]
    assert object_to(ppid, silent["number"], silent["access_token"], ["c"]).status_code == 201
    assert ppid.staff_get(f"{REQ}/{silent['number']}", UTAMA).get_json()["late"] is True
