"""The notifier's pure rules: instructions, the clock state machine, working time, plans.

2026 facts (see tests/common/test_calendar.py): 18 Mar cuti bersama, 19 Mar Nyepi, 20 Mar
cuti bersama, 21-22 Mar Idul Fitri (weekend), 23-24 Mar cuti bersama; 3 Apr Good Friday.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.calendar import WorkingCalendar
from services.notifier import domain
from tests.notifier.notifier_support import wib

CAL = WorkingCalendar()
ROOT = Path(__file__).resolve().parents[2]
POLICIES = domain.parse_policy_file(json.loads((ROOT / "config" / "notifier_policies.json").read_text()))


def envelope(data, *, subject="requests/PPID-2026-000001", opd="dinkes", time="2026-03-16T03:00:00Z"):
    return {"id": "e1", "type": "ppid.request.received", "subject": subject, "opd": opd,
            "time": time, "data": data}


# -- data.sla ------------------------------------------------------------------------------


def test_instructions_are_read_with_the_event_opd_as_default():
    env = envelope({"sla": {"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59+07:00"}],
                            "stop": [{"clock": "ppid.intake"}], "future_field": 1}})
    parsed = domain.parse_sla(env)
    assert parsed.subject == "requests/PPID-2026-000001"
    assert parsed.at == datetime(2026, 3, 16, 3, tzinfo=UTC)
    assert parsed.starts == (domain.Start("ppid.response", wib(2026, 4, 7, 23, 59, 59), "dinkes"),)
    assert parsed.stops == (domain.Stop("ppid.intake"),)


def test_an_explicit_opd_wins_and_none_means_regency_level():
    env = envelope({"sla": {"start": [{"clock": "lapor.verification", "due_at": "2026-03-20T16:59:59Z", "opd": None},
                                      {"clock": "lapor.follow_up", "due_at": "2026-03-20T16:59:59Z", "opd": "dinsos"}]}},
                   opd="none")
    starts = domain.parse_sla(env).starts
    assert [s.opd for s in starts] == [None, "dinsos"]


@pytest.mark.parametrize("data", [{}, {"sla": None}, {"other": 1}, {"sla": {"start": [], "stop": []}}])
def test_events_without_instructions_give_none(data):
    assert domain.parse_sla(envelope(data)) is None


@pytest.mark.parametrize(
    "sla, fragment",
    [
        ("soon", "must be an object"),
        ({"start": {"clock": "ppid.response"}}, "must be a list"),
        ({"start": ["ppid.response"]}, "must be an object"),
        ({"start": [{"clock": "PPID response", "due_at": "2026-04-07T23:59:59+07:00"}]}, "must name a clock"),
        ({"start": [{"clock": "ppid.response"}]}, "due_at must be an RFC 3339 string"),
        ({"start": [{"clock": "ppid.response", "due_at": "7 April"}]}, "not RFC 3339"),
        ({"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59"}]}, "has no offset"),
        ({"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59Z", "opd": "Dinas Kesehatan"}]}, "not an OPD code"),
        ({"stop": [{"clock": 3}]}, "must name a clock"),
        ({"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59Z"}] * 2}, "started twice"),
    ],
)
def test_malformed_instructions_are_refused_with_the_reason(sla, fragment):
    with pytest.raises(domain.SlaError, match=fragment):
        domain.parse_sla(envelope({"sla": sla}))


def test_instructions_need_a_subject():
    with pytest.raises(domain.SlaError, match="subject"):
        domain.parse_sla(envelope({"sla": {"stop": [{"clock": "ppid.response"}]}}, subject=""))


# -- the clock state machine ---------------------------------------------------------------

DUE = wib(2026, 4, 7, 23, 59, 59)
START = domain.Start("ppid.response", DUE, "dinkes")


def running(**changes):
    base = dict(state=domain.RUNNING, due_at=DUE, started_at=wib(2026, 3, 16, 10), stopped_at=None,
                opd="dinkes", last_event_at=wib(2026, 3, 16, 10))
    base.update(changes)
    return domain.ClockSnapshot(**base)


def test_a_first_start_starts_a_run():
    decision = domain.decide_start(None, START, wib(2026, 3, 16, 10), CAL)
    assert decision.outcome == "started" and decision.new_run and not decision.cancel_pending
    assert decision.changes["state"] == domain.RUNNING and decision.changes["due_at"] == DUE


def test_a_start_with_a_new_due_date_restarts_and_withdraws_pending_steps():
    extended = domain.Start("ppid.response", wib(2026, 4, 17, 23, 59, 59), "dinkes")
    decision = domain.decide_start(running(), extended, wib(2026, 4, 1, 9), CAL)
    assert decision.outcome == "restarted" and decision.new_run and decision.cancel_pending
    assert decision.changes["due_at"] == wib(2026, 4, 17, 23, 59, 59)


def test_the_same_start_again_changes_nothing():
    decision = domain.decide_start(running(), START, wib(2026, 3, 17, 9), CAL)
    assert decision.outcome == "unchanged" and not decision.new_run


def test_a_restart_to_another_opd_is_a_new_run():
    decision = domain.decide_start(running(), domain.Start("ppid.response", DUE, "dinsos"), wib(2026, 3, 17, 9), CAL)
    assert decision.outcome == "restarted" and decision.changes["opd"] == "dinsos"


@pytest.mark.parametrize(
    "stopped_at, state, late_seconds, late_days",
    [
        (wib(2026, 4, 7, 15), domain.MET, 0, 0),
        (wib(2026, 4, 7, 23, 59, 59), domain.MET, 0, 0),
        (wib(2026, 4, 8, 0, 0, 0), domain.BREACHED, 1, 1),
        (wib(2026, 4, 11, 10), domain.BREACHED, 3 * 86400 + 10 * 3600 + 1, 3),  # Saturday: Wed-Fri late
        (wib(2026, 4, 16, 10), domain.BREACHED, 8 * 86400 + 10 * 3600 + 1, 7),
    ],
)
def test_a_stop_judges_met_or_breached_and_how_late(stopped_at, state, late_seconds, late_days):
    decision = domain.decide_stop(running(), stopped_at, CAL)
    assert decision.outcome == "stopped" and decision.cancel_pending
    assert decision.publish == state
    assert decision.changes["state"] == state
    assert decision.changes["late_seconds"] == late_seconds
    assert decision.changes["late_working_days"] == late_days


def test_stale_instructions_change_nothing():
    clock = running(last_event_at=wib(2026, 4, 1, 9))
    assert domain.decide_start(clock, START, wib(2026, 3, 30, 9), CAL).outcome == "stale"
    assert domain.decide_stop(clock, wib(2026, 3, 31, 9), CAL).outcome == "stale"


def test_a_second_stop_is_ignored():
    stopped = running(state=domain.MET, stopped_at=wib(2026, 4, 1, 9), last_event_at=wib(2026, 4, 1, 9))
    assert domain.decide_stop(stopped, wib(2026, 4, 2, 9), CAL).outcome == "already_stopped"


def test_a_stop_that_overtook_its_start_is_judged_when_the_start_arrives():
    orphan = domain.decide_stop(None, wib(2026, 4, 8, 10), CAL)
    assert orphan.outcome == "stopped_unstarted" and orphan.changes["state"] == domain.STOPPED
    snapshot = domain.ClockSnapshot(state=domain.STOPPED, due_at=None, started_at=None,
                                    stopped_at=wib(2026, 4, 8, 10), opd=None,
                                    last_event_at=wib(2026, 4, 8, 10))
    late = domain.decide_start(snapshot, START, wib(2026, 3, 16, 10), CAL)
    assert late.outcome == "resolved" and late.publish == domain.BREACHED
    assert late.changes["late_working_days"] == 1 and late.changes["opd"] == "dinkes"


def test_overdue_means_running_past_the_due_instant():
    assert domain.is_overdue(domain.RUNNING, DUE, DUE + timedelta(seconds=1))
    assert not domain.is_overdue(domain.RUNNING, DUE, DUE)
    assert not domain.is_overdue(domain.MET, DUE, DUE + timedelta(days=1))


# -- working time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "instant, expected",
    [
        (wib(2026, 4, 2, 9), wib(2026, 4, 2, 9)),
        (wib(2026, 4, 2, 7, 59), wib(2026, 4, 2, 8)),
        (wib(2026, 4, 2, 16), wib(2026, 4, 6, 8)),  # Thursday closing -> Good Friday -> Monday
        (wib(2026, 4, 11, 10), wib(2026, 4, 13, 8)),  # Saturday
        (wib(2026, 3, 18, 0), wib(2026, 3, 25, 8)),  # first day of the Lebaran leave
        (wib(2026, 3, 17, 22), wib(2026, 3, 25, 8)),
    ],
)
def test_the_send_window_moves_instants_to_the_next_office_opening(instant, expected):
    assert domain.send_window(instant, CAL) == expected


def test_working_seconds_count_office_hours_on_working_days_only():
    # Tue 17 Mar 12:00 to Wed 25 Mar 10:00: 4 h + the whole leave skipped + 2 h.
    assert domain.working_seconds_between(wib(2026, 3, 17, 12), wib(2026, 3, 25, 10), CAL) == 6 * 3600
    assert domain.working_seconds_between(wib(2026, 3, 25, 10), wib(2026, 3, 17, 12), CAL) == 0


@pytest.mark.parametrize(
    "moment, hours, expected",
    [
        (wib(2026, 4, 7, 23, 59, 59), -4, wib(2026, 4, 7, 12)),
        (wib(2026, 4, 6, 10), -4, wib(2026, 4, 2, 14)),  # back over Good Friday and a weekend
        (wib(2026, 3, 25, 10), -4, wib(2026, 3, 17, 14)),  # back over the Lebaran leave
        (wib(2026, 3, 17, 14), 4, wib(2026, 3, 25, 10)),
        (wib(2026, 3, 14, 9), 1, wib(2026, 3, 16, 9)),  # a Saturday start counts from Monday
    ],
)
def test_shifting_by_working_hours(moment, hours, expected):
    assert domain.shift_working_time(moment, hours * 3600, CAL) == expected


def test_working_days_before_skips_days_off():
    assert domain.working_days_before(wib(2026, 4, 7).date(), 2, CAL) == wib(2026, 4, 2).date()
    assert domain.working_days_before(wib(2026, 3, 26).date(), 2, CAL) == wib(2026, 3, 17).date()


# -- policies ------------------------------------------------------------------------------


def test_the_seed_file_holds_every_clock_kind_and_round_trips():
    assert set(POLICIES) == {"ppid.response", "ppid.objection_response", "ppid.dispute_window",
                             "lapor.verification", "lapor.follow_up", "lapor.completion",
                             "siber.review", "default"}
    for kind, policy in POLICIES.items():
        assert domain.parse_policy(kind, policy.to_document()) == policy


@pytest.mark.parametrize(
    "change, field",
    [
        ({"label": ""}, "label"),
        ({"reminders": [{"before_working_days": 2, "fraction": 0.5}]}, "reminders.0"),
        ({"reminders": [{"fraction": 1.5}]}, "reminders.0.fraction"),
        ({"reminders": [{"before_working_days": 2}, {"before_working_days": 2}]}, "reminders.1"),
        ({"reminders": [{"before_working_hours": 4, "notify": ["mayor"]}]}, "reminders.0.notify"),
        ({"breach": {"notify": ["officer"], "extra": 1}}, "breach"),
        ({"escalation": [{"level": 1, "after_working_days": 3, "notify": ["officer"]},
                         {"level": 2, "after_working_days": 1, "notify": ["head"]}]}, "escalation"),
        ({"escalation": [{"level": 1, "after_working_days": 1, "notify": []}]}, "escalation.0.notify"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_policies_name_the_field(change, field):
    document = {**POLICIES["default"].to_document(), **change}
    with pytest.raises(domain.PolicyError) as info:
        domain.parse_policy("default", document)
    assert field in info.value.errors


# -- plans ---------------------------------------------------------------------------------


def plan(kind, started_at, due_at):
    return {s.key: s.send_after for s in domain.plan_steps(POLICIES[kind], started_at, due_at, CAL)}


def test_ppid_response_received_before_lebaran():
    received = wib(2026, 3, 16, 10)
    due = CAL.due_at(received, 10)
    assert due == wib(2026, 4, 7, 23, 59, 59)
    assert plan("ppid.response", received, due) == {
        "remind:-2wd": wib(2026, 4, 2, 8),  # Thursday: 6 Apr is -1, Good Friday skipped
        "remind:-4wh": wib(2026, 4, 7, 12),
        "breach": wib(2026, 4, 8, 8),
        "escalate:1": wib(2026, 4, 9, 8),
        "escalate:2": wib(2026, 4, 10, 8),
        "escalate:3": wib(2026, 4, 15, 8),  # across the weekend of 11-12 April
    }


def test_a_breach_on_the_eve_of_the_lebaran_leave_waits_for_the_office_to_reopen():
    steps = plan("lapor.follow_up", wib(2026, 3, 16, 10), wib(2026, 3, 17, 23, 59, 59))
    assert steps == {
        "remind:-4wh": wib(2026, 3, 17, 12),  # the -2 working days reminder predates the start
        "breach": wib(2026, 3, 25, 8),
        "escalate:1": wib(2026, 3, 26, 8),
        "escalate:2": wib(2026, 3, 27, 8),
        "escalate:3": wib(2026, 4, 1, 8),
    }


def test_a_fraction_reminder_counts_working_time_only():
    started, due = wib(2026, 3, 16, 8), wib(2026, 3, 27, 16)
    # Working time: 16, 17, 25, 26, 27 March = 5 days of 8 h; half is 20 h -> 25 Mar 12:00.
    policy = domain.parse_policy("x.y", {**POLICIES["default"].to_document(),
                                         "reminders": [{"fraction": 0.5, "notify": ["officer"]}]})
    steps = {s.key: s.send_after for s in domain.plan_steps(policy, started, due, CAL)}
    assert steps["remind:50%"] == wib(2026, 3, 25, 12)


def test_a_breach_at_a_friday_due_goes_out_on_monday():
    steps = plan("lapor.verification", wib(2026, 3, 17, 10), wib(2026, 3, 27, 23, 59, 59))
    assert steps["remind:-1wd"] == wib(2026, 3, 26, 8)
    assert steps["breach"] == wib(2026, 3, 30, 8)
    assert steps["escalate:1"] == wib(2026, 3, 31, 8)


def test_the_dispute_window_only_marks_its_end():
    steps = domain.plan_steps(POLICIES["ppid.dispute_window"], wib(2026, 4, 1, 9), wib(2026, 4, 21, 23, 59, 59), CAL)
    assert [(s.key, s.notify) for s in steps] == [("breach", ())]


# -- recipients ----------------------------------------------------------------------------


def test_recipients_bind_to_the_clock_opd_unless_named():
    got = domain.resolve_recipients(["officer", "head@diskominfo", "coordinator", "sekda"], "dinkes")
    assert got == [domain.Recipient("officer", "dinkes"), domain.Recipient("head", "diskominfo"),
                   domain.Recipient("coordinator", None), domain.Recipient("sekda", None)]


def test_a_clock_without_opd_tells_the_coordinator_instead_of_an_officer():
    assert domain.resolve_recipients(["officer", "head", "coordinator"], None) == [
        domain.Recipient("coordinator", None)
    ]


@pytest.mark.parametrize(
    "role, service, staff",
    [("officer", "ppid", "ppid_pelaksana"), ("officer", "lapor", "lapor_liaison"),
     ("officer", "siber", "humas"), ("head", "ppid", "opd_head"),
     ("coordinator", "ppid", "ppid_utama"), ("coordinator", "lapor", "lapor_admin"),
     ("coordinator", "siber", "siber_editor"), ("sekda", "lapor", "sekda")],
)
def test_inbox_addresses_use_the_staff_roles(role, service, staff):
    assert domain.staff_role(role, service) == staff


def test_compliance_counts_overdue_cases_as_failures():
    assert domain.compliance_score(met=3, breached=1, overdue=0) == 75.0
    assert domain.compliance_score(met=3, breached=1, overdue=4) == 37.5
    assert domain.compliance_score(0, 0, 0) is None
    assert domain.median([5, 1, 3, 2]) == 2.5 and domain.median([]) is None


def test_a_start_may_say_when_the_duty_really_began():
    envelope = {
        "subject": "requests/PPID-2026-000001",
        "time": "2026-11-28T10:00:00+07:00",
        "opd": "dinkes",
        "data": {"sla": {"start": [{
            "clock": "ppid.response",
            "due_at": "2026-04-07T23:59:59+07:00",
            "started_at": "2026-03-16T10:00:00+07:00",
        }]}},
    }
    start = domain.parse_sla(envelope).starts[0]
    assert start.started_at == datetime.fromisoformat("2026-03-16T10:00:00+07:00")
    envelope["data"]["sla"]["start"][0]["started_at"] = "2026-04-08T10:00:00+07:00"
    with pytest.raises(domain.SlaError, match="started_at"):
        domain.parse_sla(envelope)
