"""A policy turned into the steps of one clock run, with the instants they go out.

2026 facts (see tests/common/test_calendar.py): 18 Mar cuti bersama, 19 Mar Nyepi, 20 Mar
cuti bersama, 21-22 Mar Idul Fitri (weekend), 23-24 Mar cuti bersama; 3 Apr Good Friday.
"""

import json
from pathlib import Path

from services.common.calendar import WorkingCalendar
from services.notifier.notification_plan import plan_steps, retry_after, step_is_stale
from services.notifier.policy import parse_policy, parse_policy_file
from tests.notifier.notifier_support import wib

CAL = WorkingCalendar()
ROOT = Path(__file__).resolve().parents[2]
POLICIES = parse_policy_file(json.loads((ROOT / "config" / "notifier_policies.json").read_text()))


def plan(kind, started_at, due_at):
    return {s.key: s.send_after for s in plan_steps(POLICIES[kind], started_at, due_at, CAL)}


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
    policy = parse_policy("x.y", {**POLICIES["default"].to_document(),
                                         "reminders": [{"fraction": 0.5, "notify": ["officer"]}]})
    steps = {s.key: s.send_after for s in plan_steps(policy, started, due, CAL)}
    assert steps["remind:50%"] == wib(2026, 3, 25, 12)


def test_a_breach_at_a_friday_due_goes_out_on_monday():
    steps = plan("lapor.verification", wib(2026, 3, 17, 10), wib(2026, 3, 27, 23, 59, 59))
    assert steps["remind:-1wd"] == wib(2026, 3, 26, 8)
    assert steps["breach"] == wib(2026, 3, 30, 8)
    assert steps["escalate:1"] == wib(2026, 3, 31, 8)


def test_the_dispute_window_only_marks_its_end():
    steps = plan_steps(POLICIES["ppid.dispute_window"], wib(2026, 4, 1, 9), wib(2026, 4, 21, 23, 59, 59), CAL)
    assert [(s.key, s.notify) for s in steps] == [("breach", ())]


def test_a_reminder_is_stale_once_the_due_instant_has_come():
    due = wib(2026, 4, 7, 23, 59, 59)
    assert step_is_stale("remind", due, due) and not step_is_stale("remind", due, wib(2026, 4, 7, 12))
    assert not step_is_stale("breach", due, wib(2026, 4, 8, 8))


def test_a_failed_mail_is_retried_after_doubling_waits_up_to_two_hours():
    now = wib(2026, 4, 7, 9)
    waits = [(retry_after(n, now) - now).total_seconds() / 60 for n in (1, 2, 3, 5, 9)]
    assert waits == [5, 10, 20, 80, 120]


def test_of_the_steps_of_one_kind_due_together_only_the_latest_applies():
    from services.notifier.notification_plan import StepDue, open_actions, superseded_by

    at = wib(2026, 4, 20, 9)
    levels = [StepDue(f"escalate:{n}", "escalate", n, wib(2026, 4, 8 + n, 8)) for n in (1, 2, 3)]
    breach = StepDue("breach", "breach", None, wib(2026, 4, 8, 8))
    assert superseded_by(levels[0], levels[1:] + [breach]) == "escalate:3"
    assert superseded_by(levels[1], [levels[0], levels[2]]) == "escalate:3"
    assert superseded_by(levels[2], levels[:2]) is None
    assert superseded_by(breach, levels) is None, "the breach notice always goes out"
    early, late = (StepDue(k, "remind", None, t) for k, t in (("remind:-2wd", wib(2026, 4, 2, 8)),
                                                             ("remind:-4wh", wib(2026, 4, 7, 12))))
    assert superseded_by(early, [late]) == "remind:-4wh" and superseded_by(late, [early]) is None
    # What can still be done in time is nothing once the due instant has passed.
    due = wib(2026, 4, 7, 23, 59, 59)
    assert open_actions(["answer", "extend"], due, wib(2026, 4, 7, 12)) == ("answer", "extend")
    assert open_actions(["answer", "extend"], due, at) == ()
    assert open_actions(None, due, wib(2026, 4, 7, 12)) == ()
