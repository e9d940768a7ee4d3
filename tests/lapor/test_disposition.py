"""Disposition through the API, on SQLite and PostgreSQL: the admin dispositions (verifying
on the way when needed), the lead OPD returns a wrongly dispositioned report, the admin
dispositions it again; every hop is kept and both OPDs hear of each move."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from services.common.errors import Invalid
from services.common.opd import OpdRegistry, parse_directory
from services.lapor import disposition
from tests.conftest import ROOT
from tests.lapor.steps import (
    DISPATCH,
    FOLLOW_UP,
    clocks,
    dispatch,
    last_event,
    opd_act,
    opd_get,
    opd_step,
    types_of,
)
from tests.lapor.support import ADMIN, LIAISON, WIB, lapor_staff

RETURN = {"reason": "Jalan kabupaten ini ditangani Dinas PUPR, bukan Dinas Kesehatan."}


def test_verify_and_dispatch_in_one_call_starts_the_opds_clocks(lapor):
    number = lapor.submit()["number"]
    view = dispatch(lapor, number)
    assert view["status"] == "dispatched"
    assert view["lead_opd"] == "dinkes"
    # Day 0 is Monday 2 March; the fifth working day is Monday 9 March.
    assert datetime.fromisoformat(view["follow_up_due_at"]) == datetime(2026, 3, 9, 23, 59, 59, tzinfo=WIB)
    # 60 calendar days from the complete report (verified on 2 March): 1 May.
    assert datetime.fromisoformat(view["completion_due_at"]) == datetime(2026, 5, 1, 23, 59, 59, tzinfo=WIB)
    hops = {(d["opd"], d["role"], d["active"]) for d in view["dispositions"]}
    assert hops == {("dinkes", "lead", True), ("disdik", "supporting", True)}
    assert [h["action"] for h in view["history"]][-2:] == ["verified", "dispatched"]

    assert types_of(lapor, number)[-2:] == ["verified", "dispatched"]
    keys, dispatched = last_event(lapor, number, "dispatched")
    assert keys == ["lapor.report.dispatched.dinkes"]
    assert dispatched["data"]["supporting_opds"] == ["disdik"]
    sla = clocks(dispatched)
    assert set(sla["stop"]) == {"lapor.verification"}
    follow = sla["start"]["lapor.follow_up"]
    assert (follow["opd"], follow["role"], follow["counting"]) == ("dinkes", LIAISON, "working_days")
    completion = sla["start"]["lapor.completion"]
    assert (completion["opd"], completion["counting"]) == ("dinkes", "calendar_days")
    assert datetime.fromisoformat(completion["due_at"].replace("Z", "+00:00")) == datetime(
        2026, 5, 1, 23, 59, 59, tzinfo=WIB
    )


def test_a_verified_report_is_dispatched_without_a_second_verification(lapor):
    number = lapor.submit()["number"]
    assert lapor.act(number, "verify").status_code == 200
    lapor.clock.advance(hours=2)
    dispatch(lapor, number, {"lead_opd": "dinkes"})
    assert types_of(lapor, number).count("verified") == 1
    # The completion limit counts from the verification, not from the disposition.
    _, dispatched = last_event(lapor, number, "dispatched")
    assert dispatched["data"]["supporting_opds"] == []


def test_bad_dispositions_are_refused_and_change_nothing(lapor):
    number = lapor.submit()["number"]
    before = lapor.etag(number)
    for body, field in (
        ({"lead_opd": "tidak_ada"}, "lead_opd"),
        ({"lead_opd": "dinkes", "supporting_opds": ["dinkes"]}, "supporting_opds"),
        ({"lead_opd": "dinkes", "supporting_opds": ["disdik", "disdik"]}, "supporting_opds"),
        ({"lead_opd": "dinkes", "supporting_opds": ["bukan_opd"]}, "supporting_opds.0"),
        ({"supporting_opds": ["disdik"]}, "lead_opd"),
        ({"lead_opd": "dinkes", "extra": 1}, "extra"),
    ):
        response = lapor.act(number, "dispatch", body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], response.get_json()
    stale = lapor.act(number, "dispatch", DISPATCH, etag='"LPR-2026-000000-1"')
    assert stale.status_code == 412
    headers = lapor_staff()
    assert lapor.http.post(f"/api/v1/admin/reports/{number}/dispatch", json=DISPATCH, headers=headers).status_code == 428
    assert lapor.etag(number) == before

    dispatch(lapor, number)
    again = lapor.act(number, "dispatch", DISPATCH)
    assert again.status_code == 409 and "terverifikasi" in again.get_json()["message"]
    redispatch = lapor.act(number, "redispatch", DISPATCH)
    assert redispatch.status_code == 409 and "dikembalikan" in redispatch.get_json()["message"]


def test_only_admins_dispatch(lapor):
    number = lapor.submit()["number"]
    path = f"/api/v1/admin/reports/{number}/dispatch"
    for headers in (lapor_staff(LIAISON, "dinkes"), lapor_staff("ppid_utama"), {}):
        response = lapor.http.post(path, json=DISPATCH, headers={**headers, "If-Match": lapor.etag(number)})
        assert response.status_code in (401, 403), headers
    assert lapor.act(number, "dispatch", DISPATCH, role=ADMIN).status_code == 200


def test_return_and_redispatch_move_the_report_and_restart_the_follow_up_clock(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number)
    lapor.clock.set(datetime(2026, 3, 3, 10, tzinfo=WIB))

    returned = opd_act(lapor, number, "return", RETURN, "dinkes")
    assert returned.status_code == 200, returned.get_json()
    view = returned.get_json()
    assert view["status"] == "returned" and view["lead_opd"] is None
    assert all(not d["active"] for d in view["dispositions"])
    lead = next(d for d in view["dispositions"] if d["role"] == "lead")
    assert lead["return_reason"] == RETURN["reason"] and lead["returned_at"]
    keys, event = last_event(lapor, number, "returned")
    assert sorted(keys) == ["lapor.report.returned.dinkes", "lapor.report.returned.none"]
    assert event["fromopd"] == "dinkes"
    sla = clocks(event)
    assert sla["stop"]["lapor.follow_up"]["outcome"] == "cancelled"
    verification = sla["start"]["lapor.verification"]
    assert (verification["opd"], verification["role"]) == ("diskominfo", "lapor_admin")
    # The OPD that returned it, and its supporting OPD, no longer hold it.
    assert opd_get(lapor, number, "dinkes").status_code == 404
    assert opd_get(lapor, number, "disdik").status_code == 404

    lapor.clock.set(datetime(2026, 3, 4, 10, tzinfo=WIB))
    again = lapor.act(number, "redispatch", {"lead_opd": "dpupr", "note": "Jalan kabupaten."})
    assert again.status_code == 200, again.get_json()
    view = again.get_json()
    assert (view["status"], view["lead_opd"]) == ("dispatched", "dpupr")
    # Five working days from Wednesday 4 March: Wednesday 11 March.
    assert datetime.fromisoformat(view["follow_up_due_at"]) == datetime(2026, 3, 11, 23, 59, 59, tzinfo=WIB)
    assert datetime.fromisoformat(view["completion_due_at"]) == datetime(2026, 5, 1, 23, 59, 59, tzinfo=WIB)
    keys, event = last_event(lapor, number, "redispatched")
    assert sorted(keys) == ["lapor.report.redispatched.dinkes", "lapor.report.redispatched.dpupr"]
    assert event["fromopd"] == "dinkes" and event["opd"] == "dpupr"
    sla = clocks(event)
    assert sla["start"]["lapor.follow_up"]["opd"] == "dpupr"
    assert sla["start"]["lapor.completion"]["opd"] == "dpupr"
    assert "lapor.verification" in sla["stop"]

    hops = lapor.staff_get(f"/api/v1/admin/reports/{number}/dispositions").get_json()
    assert [(h["opd"], h["role"], h["active"]) for h in hops] == [
        ("dinkes", "lead", False), ("disdik", "supporting", False), ("dpupr", "lead", True),
    ]
    actions = [h["action"] for h in lapor.staff_get(f"/api/v1/admin/reports/{number}").get_json()["history"]]
    assert actions[-3:] == ["dispatched", "returned", "redispatched"]
    assert opd_get(lapor, number, "dpupr").status_code == 200
    assert types_of(lapor, number)[-3:] == ["dispatched", "returned", "redispatched"]


def test_returning_is_the_lead_opds_and_only_before_its_first_response(lapor):
    number = lapor.submit()["number"]
    dispatch(lapor, number)
    before = lapor.etag(number)
    supporting = opd_act(lapor, number, "return", RETURN, "disdik")
    assert supporting.status_code == 403 and "penanggung jawab" in supporting.get_json()["message"]
    stranger = opd_act(lapor, number, "return", RETURN, "dinsos")
    assert stranger.status_code == 404
    short = opd_act(lapor, number, "return", {"reason": "salah"}, "dinkes")
    assert short.status_code == 422 and "reason" in short.get_json()["errors"]
    assert lapor.etag(number) == before

    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    late = opd_act(lapor, number, "return", RETURN, "dinkes")
    assert late.status_code == 409


def test_a_deactivated_opd_takes_no_new_disposition():
    shipped = OpdRegistry.from_file(ROOT / "config" / "opd.json")
    entries = [{"code": o.code, "name": o.name, "short_name": o.short_name, "kind": o.kind, "active": o.code != "dinsos"}
               for o in shipped.all()]
    registry = OpdRegistry(parse_directory(entries), shipped.regency)
    rt = SimpleNamespace(opds=registry)
    disposition._require_known(rt, "dinkes", ["disdik"])
    with pytest.raises(Invalid) as refused:
        disposition._require_known(rt, "dinsos", ["dinsos", "tidak_ada"])
    assert refused.value.errors == {
        "lead_opd": ["OPD tidak aktif lagi: dinsos."],
        "supporting_opds": [
            "Kode OPD tidak dikenal: tidak_ada.", "OPD tidak aktif lagi: dinsos.",
            "OPD penanggung jawab tidak boleh menjadi OPD pendukung.",
        ],
    }
