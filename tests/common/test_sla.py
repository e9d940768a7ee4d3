"""Clock instructions (`services.common.sla`): what the builders write, what they refuse, and
that the notifier accepts every instruction they can build."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.common import sla
from services.common.events import new_event
from services.notifier.sla import parse_sla

WIB = timezone(timedelta(hours=7))
DUE = datetime(2026, 3, 16, 23, 59, 59, tzinfo=WIB)
BEGAN = datetime(2026, 3, 2, 8, tzinfo=WIB)


def test_start_says_who_must_act_whose_time_and_how_it_was_counted():
    built = sla.instructions(
        sla.start("ppid.response", DUE, opd="dinkes", role="ppid_pelaksana", started_at=BEGAN)
    )
    assert built == {
        "start": [{
            "clock": "ppid.response", "due_at": DUE, "opd": "dinkes", "role": "ppid_pelaksana",
            "party": "staff", "counting": "working_days", "started_at": BEGAN,
        }]
    }


def test_a_citizen_window_counted_in_calendar_days_has_no_role():
    item = sla.instructions(
        sla.start("lapor.rating", DUE, opd="dinkes", party=sla.CITIZEN, counting=sla.CALENDAR_DAYS)
    )["start"][0]
    assert item == {"clock": "lapor.rating", "due_at": DUE, "opd": "dinkes",
                    "party": "citizen", "counting": "calendar_days"}
    with pytest.raises(ValueError, match="no staff role"):
        sla.start("ppid.dispute_window", DUE, role="ppid_utama", party=sla.CITIZEN)


def test_restart_is_a_start_on_the_wire_and_stop_pause_resume_have_their_own_keys():
    built = sla.instructions(
        sla.stop("ppid.objection_response"),
        sla.restart("ppid.response", DUE, opd="dlh", role="ppid_pelaksana"),
        sla.pause("lapor.follow_up"),
        sla.resume("lapor.completion", DUE, opd="dinkes", role="lapor_liaison"),
    )
    assert list(built) == ["stop", "start", "pause", "resume"]
    assert built["stop"] == [{"clock": "ppid.objection_response"}]
    assert built["start"] == [{"clock": "ppid.response", "due_at": DUE, "opd": "dlh",
                               "role": "ppid_pelaksana", "party": "staff", "counting": "working_days"}]
    assert built["pause"] == [{"clock": "lapor.follow_up"}]
    assert built["resume"][0]["due_at"] == DUE and built["resume"][0]["role"] == "lapor_liaison"
    # The OPD may be left to the event's own.
    assert "opd" not in sla.instructions(sla.start("ppid.response", DUE))["start"][0]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: sla.start("ppid.response", DUE.replace(tzinfo=None)), "timezone-aware"),
        (lambda: sla.start("ppid.response", "2026-03-16"), "timezone-aware"),
        (lambda: sla.start("ppid.response", DUE, started_at=BEGAN.replace(tzinfo=None)), "timezone-aware"),
        (lambda: sla.start("ppid.response", DUE, started_at=DUE + timedelta(seconds=1)), "after due_at"),
        (lambda: sla.resume("lapor.follow_up", datetime(2026, 3, 16)), "timezone-aware"),
        (lambda: sla.start("response", DUE), "named like"),
        (lambda: sla.stop("PPID.Response"), "named like"),
        (lambda: sla.pause(""), "named like"),
        (lambda: sla.start("ppid.response", DUE, opd="DINKES"), "opd"),
        (lambda: sla.start("ppid.response", DUE, role="PPID Utama"), "role"),
        (lambda: sla.start("ppid.response", DUE, party="opd"), "party"),
        (lambda: sla.restart("ppid.response", DUE, counting="hours"), "counting"),
    ],
)
def test_the_builders_refuse_what_the_notifier_could_not_act_on(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_one_clock_once_per_kind_and_never_paused_and_resumed_together():
    with pytest.raises(ValueError, match="twice"):
        sla.instructions(sla.start("ppid.response", DUE), sla.restart("ppid.response", DUE))
    with pytest.raises(ValueError, match="paused and resumed"):
        sla.instructions(sla.pause("lapor.follow_up"), sla.resume("lapor.follow_up", DUE))
    with pytest.raises(TypeError):
        sla.instructions({"start": []})
    # A clock stopped and another started in one event is the ordinary hand-over.
    assert set(sla.instructions(sla.stop("ppid.objection_response"),
                                sla.start("ppid.dispute_window", DUE, party=sla.CITIZEN))) == {"stop", "start"}


def test_the_notifier_accepts_every_instruction_the_builders_write():
    # The notifier takes the event and acts on every instruction in it.
    data = {"sla": sla.instructions(
        sla.stop("ppid.objection_response"),
        sla.start("ppid.dispute_window", DUE, opd="dinkes", party=sla.CITIZEN, started_at=BEGAN),
        sla.restart("ppid.response", DUE, opd="dlh", role="ppid_pelaksana", counting=sla.CALENDAR_DAYS),
        sla.pause("lapor.follow_up"),
        sla.resume("lapor.completion", DUE, opd="dinkes"),
    )}
    event = new_event("ppid", "objection", "decided", subject="objections/KBR-2026-000001",
                      opd="dinkes", data=data, time=datetime(2026, 3, 3, 3, tzinfo=UTC))
    parsed = parse_sla(json.loads(event.to_json()))
    assert [s.clock for s in parsed.stops] == ["ppid.objection_response"]
    assert [(s.clock, s.opd, s.due_at) for s in parsed.starts] == [
        ("ppid.dispute_window", "dinkes", DUE), ("ppid.response", "dlh", DUE),
    ]
    assert parsed.starts[0].started_at == BEGAN
    assert parsed.starts[1].counting == sla.CALENDAR_DAYS
    assert [p.clock for p in parsed.pauses] == ["lapor.follow_up"]
    assert [(r.clock, r.opd, r.due_at) for r in parsed.resumes] == [("lapor.completion", "dinkes", DUE)]
    only_pause = new_event("lapor", "report", "held", subject="reports/1", opd="dinkes",
                           data={"sla": sla.instructions(sla.pause("lapor.follow_up"))})
    held = parse_sla(json.loads(only_pause.to_json()))
    assert ([p.clock for p in held.pauses], held.starts, held.stops) == (["lapor.follow_up"], (), ())


def test_a_stop_may_say_the_duty_was_cancelled_and_a_start_which_actions_remain():
    assert sla.stop("ppid.response").item == {"clock": "ppid.response"}
    assert sla.stop("ppid.response", outcome=sla.CANCELLED).item == {"clock": "ppid.response", "outcome": "cancelled"}
    with pytest.raises(ValueError, match="outcome"):
        sla.stop("ppid.response", outcome="withdrawn")
    started = sla.start("ppid.response", DUE, opd="dinkes", role="ppid_pelaksana", actions=("answer", "extend"))
    assert started.item["actions"] == ["answer", "extend"]
    assert "actions" not in sla.restart("ppid.response", DUE).item
    for bad in ("extend", ["Extend"], ["extend", "extend"]):
        with pytest.raises(ValueError, match="action"):
            sla.restart("ppid.response", DUE, actions=bad)
