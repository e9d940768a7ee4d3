"""Arithmetic in office time on working days: the calendar's hours, not whole days.

2026 facts (see tests/common/test_calendar.py): 18 Mar cuti bersama, 19 Mar Nyepi, 20 Mar
cuti bersama, 21-22 Mar Idul Fitri (weekend), 23-24 Mar cuti bersama; 3 Apr Good Friday.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.common.calendar import (
    WorkingCalendar,
    shift_working_time,
    working_days_before,
    working_seconds_between,
)

CAL = WorkingCalendar()
WIB = ZoneInfo("Asia/Jakarta")


def wib(y, m, d, hh=0, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=WIB)


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
def test_instants_outside_office_hours_move_to_the_next_opening(instant, expected):
    assert CAL.receipt_instant(instant) == expected


def test_working_seconds_count_office_hours_on_working_days_only():
    # Tue 17 Mar 12:00 to Wed 25 Mar 10:00: 4 h + the whole leave skipped + 2 h.
    assert working_seconds_between(wib(2026, 3, 17, 12), wib(2026, 3, 25, 10), CAL) == 6 * 3600
    assert working_seconds_between(wib(2026, 3, 25, 10), wib(2026, 3, 17, 12), CAL) == 0


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
    assert shift_working_time(moment, hours * 3600, CAL) == expected


def test_working_days_before_skips_days_off():
    assert working_days_before(wib(2026, 4, 7).date(), 2, CAL) == wib(2026, 4, 2).date()
    assert working_days_before(wib(2026, 3, 26).date(), 2, CAL) == wib(2026, 3, 17).date()
