"""The dashboard's numbers."""

from services.common.calendar import WorkingCalendar
from services.notifier import compliance
from tests.notifier.notifier_support import wib


def test_compliance_counts_overdue_cases_as_failures():
    assert compliance.compliance_score(met=3, breached=1, overdue=0) == 75.0
    assert compliance.compliance_score(met=3, breached=1, overdue=4) == 37.5
    assert compliance.compliance_score(0, 0, 0) is None
    assert compliance.median([5, 1, 3, 2]) == 2.5 and compliance.median([]) is None


def test_on_time_is_the_share_of_closed_duties_met():
    assert compliance.on_time_percent(1, 2) == 33.3 and compliance.on_time_percent(0, 0) is None


def test_due_soon_ends_with_the_second_working_day_after_today():
    # Thursday 2 April 2026: Good Friday and the weekend are skipped.
    limit = compliance.due_soon_limit(wib(2026, 4, 2, 9), WorkingCalendar())
    assert limit == wib(2026, 4, 7, 23, 59, 59)
