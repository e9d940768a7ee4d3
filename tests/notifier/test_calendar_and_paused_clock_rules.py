"""Calendar-day clocks and paused clocks: the pure rules (planning, deciding, wording).

2027 facts of the shipped calendar: 8-12 and 15 March are Idul Fitri and its cuti bersama,
25-26 March are holidays. A LAPOR! completion counts 60 calendar days (UU 25/2009).
"""

import json
from datetime import timedelta
from pathlib import Path

from services.common.calendar import WorkingCalendar
from services.notifier import clock_rules, domain, messages
from services.notifier.clock_rules import ClockSnapshot
from services.notifier.notification_plan import plan_steps
from services.notifier.policy import parse_policy_file
from services.notifier.sla import Resume, Start
from tests.notifier.notifier_support import wib

CAL = WorkingCalendar()
ROOT = Path(__file__).resolve().parents[2]
POLICIES = parse_policy_file(json.loads((ROOT / "config" / "notifier_policies.json").read_text()))


def plan(kind, started_at, due_at, counting=domain.CALENDAR_DAYS):
    return {s.key: s.send_after
            for s in plan_steps(POLICIES[kind], started_at, due_at, CAL, counting=counting)}


# -- calendar-day clocks ---------------------------------------------------------------


def test_a_60_day_completion_over_lebaran_2027_reminds_halfway_in_calendar_time():
    started = wib(2027, 2, 12, 10)
    due = wib(2027, 4, 13, 23, 59, 59)  # 60 calendar days later, a Tuesday
    steps = plan("lapor.completion", started, due)
    assert steps == {
        # Halfway is Sunday 14 March; 15 March is still cuti bersama: the office reopens the 16th.
        "remind:50%": wib(2027, 3, 16, 8),
        "remind:-5wd": wib(2027, 4, 6, 8),
        "breach": wib(2027, 4, 14, 8),
        "escalate:1": wib(2027, 4, 15, 8),
        "escalate:2": wib(2027, 4, 19, 8),
        "escalate:3": wib(2027, 4, 28, 8),
    }
    # Counted in working days, halfway falls later: the leave holds no working time.
    assert plan("lapor.completion", started, due, domain.WORKING_DAYS)["remind:50%"] == wib(2027, 3, 17, 13)


def test_a_completion_due_on_a_saturday_breaches_then_and_says_so_on_monday_morning():
    started = wib(2027, 2, 23, 9)
    due = wib(2027, 4, 24, 23, 59, 59)  # Saturday
    steps = plan("lapor.completion", started, due)
    assert steps == {
        # 25 March 16:30 is a holiday, 26 March too, then the weekend.
        "remind:50%": wib(2027, 3, 29, 8),
        "remind:-5wd": wib(2027, 4, 19, 8),  # five working days back from the Saturday
        "breach": wib(2027, 4, 26, 8),
        "escalate:1": wib(2027, 4, 27, 8),
        "escalate:2": wib(2027, 4, 29, 8),
        "escalate:3": wib(2027, 5, 11, 8),
    }
    # The breach itself is the due instant, whatever day it falls on.
    snapshot = ClockSnapshot(domain.RUNNING, due, started, None, "dinkes", started,
                             counting=domain.CALENDAR_DAYS)
    assert clock_rules.is_overdue(snapshot.state, snapshot.due_at, due + timedelta(seconds=1))
    late = clock_rules.decide_stop(snapshot, wib(2027, 4, 25, 10), CAL)
    assert (late.changes["state"], late.changes["late_working_days"]) == (domain.BREACHED, 0)


def test_time_left_and_lateness_are_told_in_the_clocks_own_days():
    due = wib(2027, 3, 16, 23, 59, 59)
    now = wib(2027, 3, 5, 10)
    assert messages.remaining_text(due, now, CAL, domain.CALENDAR_DAYS) == (
        "batas waktu berakhir 11 hari kalender lagi (hari ini tidak dihitung)")
    # The same instant in working days: only 16 March counts after the Lebaran leave.
    assert messages.remaining_text(due, now, CAL) == (
        "batas waktu berakhir 1 hari kerja lagi (hari ini tidak dihitung)")
    assert messages.lateness_text(due, wib(2027, 3, 20, 9), CAL, domain.CALENDAR_DAYS) == "terlambat 4 hari"
    assert messages.lateness_text(due, wib(2027, 3, 17, 1), CAL, domain.CALENDAR_DAYS) == "terlambat 1 hari"
    midday = wib(2027, 3, 14, 12)  # a Sunday: a calendar-day clock may fall due on one
    assert messages.lateness_text(midday, midday + timedelta(minutes=5), CAL, domain.CALENDAR_DAYS) == (
        "batas waktu telah terlewati (belum genap satu hari)")


def test_a_calendar_day_start_keeps_its_counting_and_a_change_of_counting_restarts():
    at = wib(2027, 2, 12, 10)
    due = wib(2027, 4, 13, 23, 59, 59)
    start = Start("lapor.completion", due, "dinkes", counting=domain.CALENDAR_DAYS)
    first = clock_rules.decide_start(None, start, at, CAL)
    assert first.changes["counting"] == domain.CALENDAR_DAYS
    running = ClockSnapshot(domain.RUNNING, due, at, None, "dinkes", at, counting=domain.CALENDAR_DAYS)
    assert clock_rules.decide_start(running, start, at, CAL).outcome == "unchanged"
    as_working = Start("lapor.completion", due, "dinkes")
    assert clock_rules.decide_start(running, as_working, at, CAL).outcome == "restarted"


# -- the services' new policies --------------------------------------------------------


def test_siber_daily_news_reminds_the_humas_after_lunch_and_the_head_next_morning():
    steps = plan_steps(POLICIES["siber.daily_news"], wib(2027, 4, 5, 8), wib(2027, 4, 5, 16), CAL)
    assert [(s.key, s.send_after, s.notify) for s in steps] == [
        ("remind:-3wh", wib(2027, 4, 5, 13), ("officer",)),
        ("breach", wib(2027, 4, 6, 8), ("officer",)),
        ("escalate:1", wib(2027, 4, 6, 8), ("head",)),
    ]


def test_siber_assignment_and_review_chase_the_right_people():
    steps = plan_steps(POLICIES["siber.assignment"], wib(2027, 4, 5, 9), wib(2027, 4, 8, 16), CAL)
    assert [(s.key, s.send_after, s.notify) for s in steps] == [
        ("remind:-1wd", wib(2027, 4, 7, 8), ("officer",)),
        ("breach", wib(2027, 4, 9, 8), ("officer", "head")),
        ("escalate:1", wib(2027, 4, 12, 8), ("head", "coordinator")),
    ]
    review = plan_steps(POLICIES["siber.review"], wib(2027, 4, 5, 9), wib(2027, 4, 6, 9), CAL)
    assert review[0].key == "remind:-4wh" and review[0].notify == ("coordinator",)
    assert review[0].send_after == wib(2027, 4, 5, 13)
    assert POLICIES["siber.review"].breach_notify == ("coordinator",)


def test_the_reporters_window_is_nobodys_duty_on_the_staff():
    window = POLICIES["lapor.reporter_reply"]
    assert (window.reminders, window.breach_notify, window.escalations) == ((), (), ())


# -- pause and resume ------------------------------------------------------------------

STARTED = wib(2027, 4, 5, 10)
DUE = wib(2027, 4, 8, 23, 59, 59)
PAUSED_AT = wib(2027, 4, 6, 11)


def running(**changes):
    values = {"state": domain.RUNNING, "due_at": DUE, "started_at": STARTED, "stopped_at": None,
              "opd": None, "last_event_at": STARTED, "role": "lapor_admin"}
    return ClockSnapshot(**{**values, **changes})


def paused(**changes):
    return running(**{"state": domain.PAUSED, "paused_at": PAUSED_AT, "last_event_at": PAUSED_AT,
                      **changes})


def test_a_pause_holds_a_running_clock_and_withdraws_its_pending_steps():
    decision = clock_rules.decide_pause(running(), PAUSED_AT)
    assert decision.outcome == "paused" and decision.cancel_pending and not decision.new_run
    assert decision.changes == {"state": domain.PAUSED, "paused_at": PAUSED_AT,
                                "last_event_at": PAUSED_AT}
    # Held, it is never overdue, however long the citizen takes.
    assert not clock_rules.is_overdue(domain.PAUSED, DUE, wib(2027, 5, 1))


def test_a_pause_of_nothing_open_and_a_resume_of_nothing_paused_change_nothing():
    resume = Resume("lapor.verification", wib(2027, 4, 20, 23, 59, 59), None)
    later = wib(2027, 4, 7, 9)
    assert clock_rules.decide_pause(None, later).outcome == "pause_ignored"
    stopped = running(state=domain.MET, stopped_at=wib(2027, 4, 6, 9), last_event_at=wib(2027, 4, 6, 9))
    assert clock_rules.decide_pause(stopped, later) == clock_rules.Decision("pause_ignored")
    assert clock_rules.decide_resume(None, resume, later, CAL).outcome == "resume_ignored"
    assert clock_rules.decide_resume(running(), resume, later, CAL) == clock_rules.Decision("resume_ignored")
    assert clock_rules.decide_pause(paused(), later).outcome == "already_paused"
    # An instruction older than the last one applied is stale, as for starts and stops.
    assert clock_rules.decide_resume(paused(), resume, wib(2027, 4, 6, 10), CAL).outcome == "stale"


def test_a_resume_runs_a_new_run_due_at_the_owners_instant_and_keeps_the_time_held():
    resumed_at = wib(2027, 4, 12, 9)  # Monday: 7, 8, 9 and 12 April were spent waiting
    new_due = wib(2027, 4, 15, 23, 59, 59)
    resume = Resume("lapor.verification", new_due, None, role="lapor_admin")
    decision = clock_rules.decide_resume(paused(paused_seconds=60, paused_working_days=1),
                                         resume, resumed_at, CAL)
    assert (decision.outcome, decision.new_run, decision.resumed) == ("resumed", True, True)
    changes = decision.changes
    assert (changes["state"], changes["due_at"], changes["paused_at"]) == (domain.RUNNING, new_due, None)
    assert changes["paused_seconds"] == 60 + int((resumed_at - PAUSED_AT).total_seconds())
    assert changes["paused_working_days"] == 1 + 4
    assert changes["role"] == "lapor_admin" and changes["counting"] == domain.WORKING_DAYS
    # A resume that does not say how it counts keeps the clock's counting.
    held = paused(counting=domain.CALENDAR_DAYS)
    assert clock_rules.decide_resume(held, resume, resumed_at, CAL).changes["counting"] == (
        domain.CALENDAR_DAYS)
    said = Resume("lapor.verification", new_due, None, counting=domain.WORKING_DAYS)
    assert clock_rules.decide_resume(held, said, resumed_at, CAL).changes["counting"] == (
        domain.WORKING_DAYS)


def test_a_duty_done_while_paused_is_judged_as_of_the_pause():
    # The old due instant passed while the owner waited for the citizen: not the staff's delay.
    done_at = wib(2027, 4, 20, 10)
    decision = clock_rules.decide_stop(paused(), done_at, CAL)
    assert (decision.changes["state"], decision.publish) == (domain.MET, domain.MET)
    assert decision.changes["stopped_at"] == done_at and decision.changes["paused_at"] is None
    assert decision.changes["paused_seconds"] == int((done_at - PAUSED_AT).total_seconds())
    # Paused only after its due instant: late it was, and late it stays.
    late = clock_rules.decide_stop(
        paused(paused_at=wib(2027, 4, 9, 9), last_event_at=wib(2027, 4, 9, 9)), done_at, CAL)
    assert late.changes["state"] == domain.BREACHED
    assert late.changes["late_working_days"] == 1


def test_a_start_of_a_paused_clock_restarts_it():
    start = Start("lapor.verification", DUE, None, role="lapor_admin")
    decision = clock_rules.decide_start(paused(), start, wib(2027, 4, 7, 9), CAL)
    assert decision.outcome == "restarted"
    assert decision.changes["state"] == domain.RUNNING and decision.changes["paused_at"] is None
