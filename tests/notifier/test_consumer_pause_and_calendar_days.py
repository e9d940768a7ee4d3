"""Paused and calendar-day clocks through the consumer, on SQLite and PostgreSQL.

Envelopes carry `data.sla` built with the chassis builders, as LAPOR! builds them, and are
handed to the consumer's unit of work as the runner does; ticks run at chosen instants.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.common import sla
from services.common.auth import Principal
from services.common.calendar import WorkingCalendar
from services.common.consumer import PermanentError
from services.common.events import new_event
from services.common.listing import Page
from services.notifier import dashboard, handlers
from services.notifier.models import Clock, ClockHistory, InboxMessage, Step
from services.notifier.tick import tick
from tests.notifier.notifier_support import clock_event, wib

ADMIN = Principal(sub="admin-1", name="Admin", roles=frozenset({"admin"}), opd=None)
REPORT = "reports/LPR-2027-000001"
SUBMITTED = wib(2027, 4, 5, 10)  # Monday
FIRST_DUE = wib(2027, 4, 8, 23, 59, 59)  # three working days
ASKED = wib(2027, 4, 6, 11)  # the admin asks the reporter for more detail
ANSWERED = wib(2027, 4, 12, 9)  # Monday: the reporter answers
NEW_DUE = wib(2027, 4, 15, 23, 59, 59)  # the owner adds the time that was left


@pytest.fixture
def now():
    return {"at": SUBMITTED}


@pytest.fixture
def rt(migrated, make_rt, now):
    return make_rt(migrated, clock=lambda: now["at"])


def verification(*instructions, at):
    return clock_event(REPORT, *instructions, at=at, opd=None)


def the_clock(rt, kind="lapor.verification", subject=REPORT):
    with rt.uow() as uow:
        return uow.session.scalars(
            select(Clock).where(Clock.subject == subject, Clock.clock == kind)).one()


def steps(rt, clock_id):
    with rt.uow() as uow:
        return {(s.run, s.key): (s.state, s.send_after) for s in uow.session.scalars(
            select(Step).where(Step.clock_id == clock_id))}


def history(rt, clock_id):
    with rt.uow() as uow:
        return list(uow.session.scalars(
            select(ClockHistory.entry).where(ClockHistory.clock_id == clock_id).order_by(ClockHistory.id)))


def listed(rt, subject=REPORT):
    rows, _ = handlers.list_clocks(rt, ADMIN, handlers.ClockFilter(q=subject), Page(0, 10))
    return rows


def regency(board):
    return next(o for o in board["opds"] if o["opd"] is None)


def test_a_paused_verification_is_not_chased_nor_breached_and_resumes_with_new_steps(rt, feed, now):
    start = sla.start("lapor.verification", FIRST_DUE, role="lapor_admin")
    assert feed(verification(start, at=SUBMITTED))
    clock = the_clock(rt)
    assert steps(rt, clock.id)[(1, "remind:-1wd")] == ("pending", wib(2027, 4, 7, 8))

    now["at"] = ASKED
    assert feed(verification(sla.pause("lapor.verification"), at=ASKED))
    clock = the_clock(rt)
    assert (clock.state, clock.paused_at, clock.stopped_at) == ("paused", ASKED, None)
    assert {state for state, _ in steps(rt, clock.id).values()} == {"cancelled"}

    # The reminder's day, then the day after the first due date: nothing goes out, no breach.
    for at in (wib(2027, 4, 7, 8, 5), wib(2027, 4, 9, 9)):
        now["at"] = at
        summary = tick(rt, at)
        assert (summary.sent, summary.breached) == ([], 0), at
    assert the_clock(rt).state == "paused"
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    [row] = listed(rt)
    assert row["state"] == "paused" and row["status_text"].startswith("dijeda sejak")
    board = dashboard.build(rt, ADMIN, at=wib(2027, 4, 9, 9), period_from=wib(2027, 1, 1),
                            period_to=wib(2027, 12, 31))
    assert (regency(board)["open"], regency(board)["paused"], regency(board)["overdue"]) == (1, 1, 0)
    assert board["totals"]["score"] is None, "a duty held for the citizen is no failure"

    now["at"] = ANSWERED
    resume = sla.resume("lapor.verification", NEW_DUE, role="lapor_admin")
    assert feed(verification(resume, at=ANSWERED))
    clock = the_clock(rt)
    assert (clock.state, clock.run, clock.due_at, clock.paused_at) == ("running", 2, NEW_DUE, None)
    assert clock.paused_working_days == 4  # 7, 8, 9 and 12 April
    planned = {key: value for (run, key), value in steps(rt, clock.id).items() if run == 2}
    assert planned["remind:-1wd"] == ("pending", wib(2027, 4, 14, 8))
    assert planned["breach"] == ("pending", wib(2027, 4, 16, 8))

    now["at"] = wib(2027, 4, 14, 8, 5)
    summary = tick(rt, now["at"])
    assert [s["step"] for s in summary.sent] == ["remind:-1wd"]

    now["at"] = wib(2027, 4, 15, 10)
    assert feed(clock_event(REPORT, sla.stop("lapor.verification"), at=now["at"], opd=None,
                            action="verified"))
    clock = the_clock(rt)
    assert clock.state == "met"
    assert history(rt, clock.id) == ["started", "paused", "resumed", "reminded", "stopped"]
    board = dashboard.build(rt, ADMIN, at=now["at"], period_from=wib(2027, 1, 1),
                            period_to=wib(2027, 12, 31))
    cal = WorkingCalendar()
    # The time spent waiting for the reporter is left out of the time taken.
    assert regency(board)["median_working_days"] == cal.days_taken(SUBMITTED, now["at"]) - 4
    assert regency(board)["score"] == 100.0


def test_pauses_and_resumes_that_do_not_apply_are_recorded_never_dead_lettered(rt, feed, now):
    # Nothing is known of this report yet: nothing to hold, no clock is made.
    assert feed(verification(sla.pause("lapor.verification"), at=ASKED))
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Clock)) == 0

    assert feed(verification(sla.start("lapor.verification", FIRST_DUE), at=SUBMITTED))
    before = steps(rt, the_clock(rt).id)
    assert feed(verification(sla.resume("lapor.verification", NEW_DUE), at=ANSWERED))
    clock = the_clock(rt)
    assert (clock.state, clock.due_at, clock.run) == ("running", FIRST_DUE, 1)
    assert steps(rt, clock.id) == before
    assert history(rt, clock.id) == ["started", "resume_ignored"]

    assert feed(verification(sla.stop("lapor.verification"), at=wib(2027, 4, 13, 9)))
    assert feed(verification(sla.pause("lapor.verification"), at=wib(2027, 4, 13, 10)))
    assert the_clock(rt).state == "breached", "stopped after its due instant"
    assert history(rt, clock.id)[-1] == "pause_ignored"


@pytest.mark.parametrize("data, reason", [
    ({"sla": {"pause": [{"clock": "Lapor verification"}]}}, "pause"),
    ({"sla": {"resume": [{"clock": "lapor.verification", "due_at": "besok"}]}}, "resume"),
    ({"sla": {"start": [{"clock": "lapor.completion", "due_at": "2027-04-30T16:00:00+07:00",
                         "counting": "lunar_days"}]}}, "counting"),
    ({"sla": {"pause": [{"clock": "lapor.verification"}],
              "resume": [{"clock": "lapor.verification", "due_at": "2027-04-30T16:00:00+07:00"}]}},
     "paused and resumed"),
])
def test_malformed_pause_resume_and_counting_are_refused_at_once(rt, feed, data, reason):
    envelope = new_event("lapor", "report", "updated", subject=REPORT, opd=None, data=data,
                         time=ASKED).envelope()
    with pytest.raises(PermanentError, match=reason):
        feed(envelope)


def test_a_60_calendar_day_completion_due_on_a_saturday(rt, feed, now):
    subject = "reports/LPR-2027-000002"
    started, due = wib(2027, 2, 23, 9), wib(2027, 4, 24, 23, 59, 59)
    now["at"] = started
    start = sla.start("lapor.completion", due, opd="dinkes", role="lapor_liaison",
                      counting=sla.CALENDAR_DAYS)
    assert feed(clock_event(subject, start, at=started, action="dispatched"))
    clock = the_clock(rt, "lapor.completion", subject)
    assert clock.counting == "calendar_days"
    planned = {key: at for (_, key), (_, at) in steps(rt, clock.id).items()}
    assert planned["remind:50%"] == wib(2027, 3, 29, 8)  # halfway: the 25-26 March holidays
    assert planned["breach"] == wib(2027, 4, 26, 8)

    now["at"] = wib(2027, 4, 10, 9)
    [row] = listed(rt, subject)
    assert row["counting"] == "calendar_days"
    assert row["status_text"] == "batas waktu berakhir 14 hari kalender lagi (hari ini tidak dihitung)"

    # The morning digest of the Friday before: the time left in calendar days; a duty held
    # for the reporter is not listed.
    held = "reports/LPR-2027-000003"
    assert feed(clock_event(held, sla.start("lapor.follow_up", wib(2027, 4, 23, 23, 59, 59),
                                            opd="dinkes", role="lapor_liaison"),
                            at=wib(2027, 4, 16, 9)))
    assert feed(clock_event(held, sla.pause("lapor.follow_up"), at=wib(2027, 4, 22, 9)))
    now["at"] = wib(2027, 4, 23, 8, 5)
    assert tick(rt, now["at"]).digests == 1
    with rt.uow() as uow:
        [digest] = uow.session.scalars(select(InboxMessage.body).where(InboxMessage.kind == "digest"))
    assert f"{subject} | Penyelesaian laporan LAPOR!" in digest
    assert "batas waktu berakhir 1 hari kalender lagi" in digest
    assert held not in digest

    # Sunday: the duty is breached (a fact at any hour), told on Monday morning.
    sunday = wib(2027, 4, 25, 10)
    summary = tick(rt, sunday)
    assert (summary.breached, summary.sent) == (1, [])
    assert the_clock(rt, "lapor.completion", subject).breached_at == sunday
    now["at"] = wib(2027, 4, 26, 8, 5)
    summary = tick(rt, now["at"])
    assert "breach" in [s["step"] for s in summary.sent]
    [row] = listed(rt, subject)
    assert row["status_text"] == "terlambat 2 hari"
    board = dashboard.build(rt, ADMIN, at=now["at"], period_from=wib(2027, 1, 1),
                            period_to=wib(2027, 12, 31), service="lapor")
    dinkes = next(o for o in board["opds"] if o["opd"] == "dinkes")
    assert (dinkes["open"], dinkes["paused"], dinkes["overdue"], dinkes["score"]) == (2, 1, 1, 0.0)
    assert [s["service"] for s in dinkes["services"]] == ["lapor"]
