"""The statistics formulas on hand-made facts (docs/lapor.md, "Statistik publik")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.lapor.statistics import (
    ReportFacts,
    days_to_complete,
    follow_up_on_time,
    median_days,
    per_opd,
    satisfaction,
    summary,
    verification_on_time,
)

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOW = T + timedelta(days=30)


def facts(status="dispatched", lead="dinkes", **fields) -> ReportFacts:
    return ReportFacts(status=status, lead_opd=lead, submitted_at=T, **fields)


def at(days: float) -> datetime:
    return T + timedelta(days=days)


def test_verification_ends_at_dispatch_and_is_judged_against_the_stored_due():
    assert verification_on_time(facts(verification_due_at=at(3), dispatched_at=at(3)), NOW) is True
    assert verification_on_time(facts(verification_due_at=at(3), dispatched_at=at(3.1)), NOW) is False


def test_verification_waiting_past_its_due_is_late_and_before_it_not_counted():
    waiting = facts(status="submitted", lead=None, verification_due_at=at(3))
    assert verification_on_time(waiting, NOW) is False
    assert verification_on_time(waiting, at(2)) is None
    returned = facts(status="returned", lead=None, verification_due_at=at(40), dispatched_at=at(1))
    assert verification_on_time(returned, NOW) is None
    overdue = facts(status="returned", lead=None, verification_due_at=at(20), dispatched_at=at(1))
    assert verification_on_time(overdue, NOW) is False


def test_verification_held_or_postponed_is_not_counted_and_archiving_counts_at_closing():
    assert verification_on_time(facts(status="awaiting_clarification", lead=None, verification_due_at=at(3)),
                                NOW) is None
    assert verification_on_time(facts(status="postponed", lead=None, verification_due_at=at(3)), NOW) is None
    archived = facts(status="archived", lead=None, verification_due_at=at(3), closed_at=at(1))
    assert verification_on_time(archived, NOW) is True


def test_follow_up_by_first_response_against_the_dispatch_due():
    assert follow_up_on_time(facts(status="in_progress", follow_up_due=at(7), first_response_at=at(7)), NOW)
    assert follow_up_on_time(facts(status="in_progress", follow_up_due=at(7), first_response_at=at(8)),
                             NOW) is False
    assert follow_up_on_time(facts(follow_up_due=at(7)), NOW) is False
    assert follow_up_on_time(facts(follow_up_due=at(40)), NOW) is None
    assert follow_up_on_time(facts(status="submitted", lead=None), NOW) is None


def test_days_to_complete_count_from_the_complete_report():
    assert days_to_complete(facts(verified_at=at(1), completed_at=at(11.5))) == 10.5
    assert days_to_complete(facts(verified_at=at(1))) is None


def test_median_of_odd_and_even_counts():
    done = [facts(verified_at=at(0), completed_at=at(d)) for d in (2, 10, 4)]
    assert median_days(done) == 4.0
    assert median_days([*done, facts(verified_at=at(0), completed_at=at(6))]) == 5.0
    assert median_days([facts()]) is None


def test_satisfaction_average_and_count():
    assert satisfaction([facts(rating=5), facts(rating=4), facts(rating=4), facts()]) == (4.33, 3)
    assert satisfaction([facts()]) == (None, 0)


def test_per_opd_rows_follow_the_directory_and_the_total_counts_everything():
    reports = [
        facts(lead="dinkes", verification_due_at=at(3), dispatched_at=at(1), follow_up_due=at(8),
              first_response_at=at(2), verified_at=at(1), completed_at=at(5), rating=4, status="closed"),
        facts(lead="dinkes", verification_due_at=at(3), dispatched_at=at(4), follow_up_due=at(9)),
        facts(lead="pupr", verification_due_at=at(3), dispatched_at=at(2), follow_up_due=at(50)),
        facts(status="submitted", lead=None, verification_due_at=at(3)),
    ]
    rows, total = per_opd(reports, ["pupr", "dinkes", "disdik"], NOW)
    assert [row["opd"] for row in rows] == ["pupr", "dinkes", "disdik"]
    dinkes = rows[1]
    assert dinkes["received"] == 2
    assert (dinkes["verification_on_time"], dinkes["verification_counted"]) == (1, 2)
    assert dinkes["verification_on_time_percent"] == 50.0
    assert (dinkes["follow_up_on_time"], dinkes["follow_up_counted"]) == (1, 2)
    assert dinkes["median_days_to_complete"] == 4.0 and dinkes["completed"] == 1
    assert (dinkes["satisfaction_average"], dinkes["satisfaction_count"]) == (4.0, 1)
    assert rows[2] == {"opd": "disdik", **summary([], NOW)}
    assert rows[2]["verification_on_time_percent"] is None
    assert total["received"] == 4
    assert (total["verification_on_time"], total["verification_counted"]) == (2, 4)
