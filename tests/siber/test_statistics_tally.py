"""The period's tallies from plain facts: local days, working days only, the period so far."""

from datetime import date, datetime, timedelta

from services.common.calendar import WorkingCalendar
from services.siber import statistics
from services.siber.statistics import ArticleFacts, Period
from tests.support import WIB

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=WIB)


def fact(status="submitted", submitted=None, published=None, rejected=None, photos=0, opd="dinkes"):
    return ArticleFacts(opd, status, submitted, published, rejected, photos)


def test_days_are_the_regency_days_and_weekends_do_not_count_as_working_days():
    facts = [
        fact(submitted=at(2, 23, 30)),          # Monday late evening WIB: Monday (Sunday 16:30 UTC is not)
        fact(submitted=at(3, 6, 59)),            # Tuesday early morning
        fact(submitted=at(3, 10)),               # a second one on Tuesday
        fact(submitted=at(7, 10)),               # Saturday: counted as submitted, not as a working day
        fact(submitted=at(9, 10)),               # the next week
    ]
    tallies = statistics.tally(facts, {"dinkes": 1, "disdik": 1}, WEEK, WIB)
    days = statistics.working_days(WEEK, WorkingCalendar())
    assert days == [date(2026, 3, d) for d in range(2, 7)]
    assert tallies["dinkes"].submitted == 4
    figures = {f.opd: f for f in statistics.figures(tallies, days)}
    assert figures["dinkes"].days_with_submission == 2
    assert figures["disdik"].days_with_submission == 0


def test_published_rejected_photos_and_time_to_publication():
    facts = [
        fact("published", submitted=at(2, 9), published=at(2, 15), photos=2),
        fact("published", submitted=at(2, 10), published=at(4, 10), photos=0),
        fact("taken_down", submitted=at(3, 9), published=at(3, 11), photos=1),
        fact("rejected", submitted=at(3, 9), rejected=at(3, 12)),
        fact("published", submitted=at(1, 9), published=at(2, 8), opd="unknown"),
    ]
    counts = statistics.tally(facts, {"dinkes": 2}, WEEK, WIB)["dinkes"]
    assert (counts.submitted, counts.published, counts.rejected) == (4, 2, 1)
    assert (counts.photos, counts.published_with_photo) == (2, 1)
    assert sorted(counts.hours_to_publication) == [6.0, 48.0]
    assert counts.per_day == 2


def test_the_period_is_counted_up_to_today():
    assert statistics.counted_period(WEEK, date(2026, 3, 4)) == Period(date(2026, 3, 2), date(2026, 3, 4))
    assert statistics.counted_period(WEEK, date(2026, 3, 1)) is None
    assert statistics.counted_period(WEEK, date(2026, 4, 1)) == WEEK
    tallies = statistics.tally([fact(submitted=at(2, 9))], {"dinkes": 1}, None, WIB)
    assert tallies["dinkes"].submitted == 0


def test_week_of_starts_on_monday():
    assert statistics.week_of(date(2026, 3, 8)) == WEEK
    assert statistics.week_of(date(2026, 3, 2)) == WEEK
    assert statistics.week_of(date(2026, 3, 2) - timedelta(days=1)).first == date(2026, 2, 23)
