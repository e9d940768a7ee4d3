"""What clock instructions do to a clock: start, restart, stop, met or breached, and how late.

2026 facts (see tests/common/test_calendar.py): 3 Apr Good Friday.
"""

from datetime import timedelta

import pytest

from services.common.calendar import WorkingCalendar
from services.notifier import clock_rules, domain
from services.notifier.sla import Start
from tests.notifier.notifier_support import wib

CAL = WorkingCalendar()

DUE = wib(2026, 4, 7, 23, 59, 59)
START = Start("ppid.response", DUE, "dinkes")


def running(**changes):
    base = dict(state=domain.RUNNING, due_at=DUE, started_at=wib(2026, 3, 16, 10), stopped_at=None,
                opd="dinkes", last_event_at=wib(2026, 3, 16, 10))
    base.update(changes)
    return clock_rules.ClockSnapshot(**base)


def test_a_first_start_starts_a_run():
    decision = clock_rules.decide_start(None, START, wib(2026, 3, 16, 10), CAL)
    assert decision.outcome == "started" and decision.new_run and not decision.cancel_pending
    assert decision.changes["state"] == domain.RUNNING and decision.changes["due_at"] == DUE


def test_a_start_with_a_new_due_date_restarts_and_withdraws_pending_steps():
    extended = Start("ppid.response", wib(2026, 4, 17, 23, 59, 59), "dinkes")
    decision = clock_rules.decide_start(running(), extended, wib(2026, 4, 1, 9), CAL)
    assert decision.outcome == "restarted" and decision.new_run and decision.cancel_pending
    assert decision.changes["due_at"] == wib(2026, 4, 17, 23, 59, 59)


def test_the_same_start_again_changes_nothing():
    decision = clock_rules.decide_start(running(), START, wib(2026, 3, 17, 9), CAL)
    assert decision.outcome == "unchanged" and not decision.new_run


def test_a_restart_to_another_opd_is_a_new_run():
    decision = clock_rules.decide_start(running(), Start("ppid.response", DUE, "dinsos"), wib(2026, 3, 17, 9), CAL)
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
    decision = clock_rules.decide_stop(running(), stopped_at, CAL)
    assert decision.outcome == "stopped" and decision.cancel_pending
    assert decision.publish == state
    assert decision.changes["state"] == state
    assert decision.changes["late_seconds"] == late_seconds
    assert decision.changes["late_working_days"] == late_days


def test_stale_instructions_change_nothing():
    clock = running(last_event_at=wib(2026, 4, 1, 9))
    assert clock_rules.decide_start(clock, START, wib(2026, 3, 30, 9), CAL).outcome == "stale"
    assert clock_rules.decide_stop(clock, wib(2026, 3, 31, 9), CAL).outcome == "stale"


def test_a_second_stop_is_ignored():
    stopped = running(state=domain.MET, stopped_at=wib(2026, 4, 1, 9), last_event_at=wib(2026, 4, 1, 9))
    assert clock_rules.decide_stop(stopped, wib(2026, 4, 2, 9), CAL).outcome == "already_stopped"


def test_a_stop_that_overtook_its_start_is_judged_when_the_start_arrives():
    orphan = clock_rules.decide_stop(None, wib(2026, 4, 8, 10), CAL)
    assert orphan.outcome == "stopped_unstarted" and orphan.changes["state"] == domain.STOPPED
    snapshot = clock_rules.ClockSnapshot(state=domain.STOPPED, due_at=None, started_at=None,
                                    stopped_at=wib(2026, 4, 8, 10), opd=None,
                                    last_event_at=wib(2026, 4, 8, 10))
    late = clock_rules.decide_start(snapshot, START, wib(2026, 3, 16, 10), CAL)
    assert late.outcome == "resolved" and late.publish == domain.BREACHED
    assert late.changes["late_working_days"] == 1 and late.changes["opd"] == "dinkes"


def test_overdue_means_running_past_the_due_instant():
    assert clock_rules.is_overdue(domain.RUNNING, DUE, DUE + timedelta(seconds=1))
    assert not clock_rules.is_overdue(domain.RUNNING, DUE, DUE)
    assert not clock_rules.is_overdue(domain.MET, DUE, DUE + timedelta(days=1))


def test_a_cancelled_stop_is_neither_met_nor_breached_and_publishes_nothing():
    for at in (wib(2026, 3, 20, 10), wib(2026, 4, 20, 10)):
        decision = clock_rules.decide_stop(running(), at, CAL, "cancelled")
        assert (decision.outcome, decision.changes["state"], decision.publish) == ("cancelled", "cancelled", None)
        assert decision.cancel_pending
    assert clock_rules.decide_stop(None, wib(2026, 3, 20, 10), CAL, "cancelled").changes["state"] == "cancelled"


def test_a_citizens_window_closes_and_is_never_overdue():
    window = running(party=domain.CITIZEN)
    decision = clock_rules.decide_stop(window, wib(2026, 4, 20, 10), CAL)
    assert (decision.changes["state"], decision.publish) == ("closed", None)
    late = wib(2026, 4, 8, 9)
    assert not clock_rules.is_overdue(domain.RUNNING, DUE, late, domain.CITIZEN)
    assert clock_rules.window_ended(domain.RUNNING, DUE, late, domain.CITIZEN)
    assert clock_rules.is_overdue(domain.RUNNING, DUE, late, domain.STAFF)


def test_a_new_actor_or_new_actions_restart_the_duty():
    same = Start("ppid.response", DUE, "dinkes", role="ppid_pelaksana", actions=("answer", "extend"))
    current = running(role="ppid_pelaksana", actions=("answer", "extend"))
    assert clock_rules.decide_start(current, same, wib(2026, 3, 17, 9), CAL).outcome == "unchanged"
    fewer = Start("ppid.response", DUE, "dinkes", role="ppid_pelaksana", actions=("answer",))
    assert clock_rules.decide_start(current, fewer, wib(2026, 3, 17, 9), CAL).outcome == "restarted"
