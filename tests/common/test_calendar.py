"""The working-day calendar against dates worked out by hand from the 2026 Indonesian calendar.

2026 facts used below (SKB 3 Menteri, as shipped by `holidays`): 1 Jan New Year; 16 Jan
Isra Mikraj (Friday); 16 Feb cuti bersama, 17 Feb Imlek; 18 Mar cuti bersama, 19 Mar Nyepi,
20 Mar cuti bersama, 21-22 Mar Idul Fitri (a weekend), 23-24 Mar cuti bersama; 3 Apr Good
Friday; 1 May Labour Day; 24 Dec cuti bersama, 25 Dec Christmas. 2027: 1 Jan (Friday) New
Year, 5 Jan (Tuesday) Isra Mikraj.
"""

import json
import threading
from datetime import UTC, date, datetime, time
from pathlib import Path

import holidays
import pytest

from services.common import calendar as calendar_module
from services.common.calendar import AddedDay, DayOffKind, RemovedDay, WorkingCalendar

WIB = WorkingCalendar().tz
REPO_ROOT = Path(__file__).resolve().parents[2]


def wib(y, m, d, hh=10, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=WIB)


def end_of(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=WIB)


@pytest.fixture
def cal():
    return WorkingCalendar()


# -- due dates -------------------------------------------------------------------------

DUE_CASES = [
    # received (WIB), working days, day 0, due date
    pytest.param(wib(2026, 1, 9), 10, date(2026, 1, 9), date(2026, 1, 26), id="friday-start"),
    pytest.param(wib(2026, 1, 10), 10, date(2026, 1, 12), date(2026, 1, 27), id="saturday-start"),
    pytest.param(wib(2026, 1, 11), 10, date(2026, 1, 12), date(2026, 1, 27), id="sunday-start"),
    pytest.param(
        wib(2026, 2, 13, 14), 3, date(2026, 2, 13), date(2026, 2, 20), id="friday-before-imlek-3"
    ),
    pytest.param(wib(2026, 3, 16), 10, date(2026, 3, 16), date(2026, 4, 7), id="lebaran-eve-10"),
    pytest.param(wib(2026, 3, 16), 17, date(2026, 3, 16), date(2026, 4, 16), id="lebaran-eve-17"),
    pytest.param(wib(2026, 3, 16), 30, date(2026, 3, 16), date(2026, 5, 6), id="lebaran-eve-30"),
    pytest.param(
        wib(2026, 3, 17, 16, 30),
        10,
        date(2026, 3, 25),
        date(2026, 4, 9),
        id="leave-eve-after-hours-jumps-the-run",
    ),
    pytest.param(wib(2026, 3, 19), 3, date(2026, 3, 25), date(2026, 3, 30), id="received-on-nyepi"),
    pytest.param(
        wib(2026, 12, 23), 3, date(2026, 12, 23), date(2026, 12, 30), id="christmas-eve-3"
    ),
    pytest.param(wib(2026, 12, 23), 5, date(2026, 12, 23), date(2027, 1, 4), id="christmas-eve-5"),
    pytest.param(
        wib(2026, 12, 23), 10, date(2026, 12, 23), date(2027, 1, 12), id="christmas-eve-10"
    ),
    pytest.param(wib(2026, 12, 30), 2, date(2026, 12, 30), date(2027, 1, 4), id="year-end-2"),
    pytest.param(
        wib(2026, 12, 31, 16, 30),
        10,
        date(2027, 1, 4),
        date(2027, 1, 19),
        id="new-years-eve-after-hours",
    ),
    pytest.param(wib(2026, 3, 16), 0, date(2026, 3, 16), date(2026, 3, 16), id="zero-days"),
]


@pytest.mark.parametrize(("received", "n", "day0", "due"), DUE_CASES)
def test_due_at(cal, received, n, day0, due):
    assert cal.receipt_instant(received).date() == day0
    assert cal.add_working_days(day0, n) == due
    result = cal.due_at(received, n)
    assert result == end_of(due.year, due.month, due.day)
    assert result.tzinfo == WIB
    assert result.isoformat() == f"{due.isoformat()}T23:59:59+07:00"


# -- office hours and day zero ---------------------------------------------------------

RECEIPT_CASES = [
    # received, effective receipt instant (WIB)
    pytest.param(wib(2026, 3, 2, 7, 30), wib(2026, 3, 2, 8), id="07:30-before-opening"),
    pytest.param(wib(2026, 3, 2, 8), wib(2026, 3, 2, 8), id="08:00-opening-is-inside"),
    pytest.param(wib(2026, 3, 2, 15, 59, 59), wib(2026, 3, 2, 15, 59, 59), id="15:59:59-inside"),
    pytest.param(wib(2026, 3, 2, 16), wib(2026, 3, 3, 8), id="16:00-closing-is-outside"),
    pytest.param(wib(2026, 3, 2, 16, 30), wib(2026, 3, 3, 8), id="16:30-after-closing"),
    pytest.param(wib(2026, 3, 6, 16, 30), wib(2026, 3, 9, 8), id="friday-16:30-to-monday"),
    pytest.param(wib(2026, 3, 14, 10), wib(2026, 3, 16, 8), id="saturday-to-monday"),
    pytest.param(
        datetime(2026, 3, 2, 1, 0, tzinfo=UTC), wib(2026, 3, 2, 8), id="utc-input-08:00-wib"
    ),
    pytest.param(
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC), wib(2026, 3, 3, 8), id="utc-input-16:00-wib"
    ),
    pytest.param(
        datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        wib(2026, 3, 2, 8),
        id="utc-sunday-is-monday-06:30-wib",
    ),
]


@pytest.mark.parametrize(("received", "effective"), RECEIPT_CASES)
def test_receipt_instant(cal, received, effective):
    result = cal.receipt_instant(received)
    assert result == effective
    assert result.utcoffset() == effective.utcoffset()


@pytest.mark.parametrize(
    ("received", "due"),
    [
        pytest.param(wib(2026, 3, 2, 7, 30), end_of(2026, 3, 16), id="07:30"),
        pytest.param(wib(2026, 3, 2, 8), end_of(2026, 3, 16), id="08:00"),
        pytest.param(wib(2026, 3, 2, 16), end_of(2026, 3, 17), id="16:00"),
        pytest.param(wib(2026, 3, 2, 16, 30), end_of(2026, 3, 17), id="16:30"),
    ],
)
def test_office_hours_move_the_due_date(cal, received, due):
    assert cal.due_at(received, 10) == due


def test_office_hours_are_configurable():
    cal = WorkingCalendar(office_start=time(7, 30), office_end=time(15, 30))
    assert cal.receipt_instant(wib(2026, 3, 2, 7, 30)) == wib(2026, 3, 2, 7, 30)
    assert cal.receipt_instant(wib(2026, 3, 2, 7, 29)) == wib(2026, 3, 2, 7, 30)
    assert cal.receipt_instant(wib(2026, 3, 2, 15, 30)) == wib(2026, 3, 3, 7, 30)
    with pytest.raises(ValueError):
        WorkingCalendar(office_start=time(16), office_end=time(8))


# -- which days are off ----------------------------------------------------------------

DAY_CASES = [
    pytest.param(date(2026, 3, 17), None, None, id="ordinary-tuesday"),
    pytest.param(date(2026, 3, 14), DayOffKind.WEEKEND, "Sabtu", id="saturday"),
    pytest.param(date(2026, 3, 15), DayOffKind.WEEKEND, "Minggu", id="sunday"),
    pytest.param(
        date(2026, 3, 18), DayOffKind.JOINT_LEAVE, "Cuti Bersama Hari Suci Nyepi", id="cuti-nyepi"
    ),
    pytest.param(date(2026, 3, 19), DayOffKind.NATIONAL_HOLIDAY, "Hari Suci Nyepi", id="nyepi"),
    pytest.param(
        date(2026, 3, 21),
        DayOffKind.NATIONAL_HOLIDAY,
        "Hari Raya Idul Fitri",
        id="idul-fitri-on-saturday-named-by-holiday",
    ),
    pytest.param(
        date(2026, 12, 24), DayOffKind.JOINT_LEAVE, "Cuti Bersama Hari Raya Natal", id="cuti-natal"
    ),
    pytest.param(date(2026, 12, 25), DayOffKind.NATIONAL_HOLIDAY, "Hari Raya Natal", id="natal"),
    pytest.param(date(2027, 1, 1), DayOffKind.NATIONAL_HOLIDAY, "Tahun Baru Masehi", id="new-year"),
]


@pytest.mark.parametrize(("day", "kind", "name"), DAY_CASES)
def test_day_off(cal, day, kind, name):
    off = cal.day_off(day)
    assert (off.kind if off else None) == kind
    assert cal.holiday_name(day) == name
    assert cal.is_working_day(day) is (kind is None)


def test_every_2026_joint_leave_day_is_off(cal):
    joint_leave = [
        date(2026, 2, 16),
        date(2026, 3, 18),
        date(2026, 3, 20),
        date(2026, 3, 23),
        date(2026, 3, 24),
        date(2026, 5, 15),
        date(2026, 5, 28),
        date(2026, 12, 24),
    ]
    for day in joint_leave:
        assert cal.day_off(day).kind is DayOffKind.JOINT_LEAVE, day
        assert not cal.is_working_day(day)


def test_datetimes_are_not_dates(cal):
    with pytest.raises(TypeError):
        cal.is_working_day(wib(2026, 3, 17))
    with pytest.raises(TypeError):
        cal.add_working_days(wib(2026, 3, 17), 1)


def test_negative_working_days_are_rejected(cal):
    with pytest.raises(ValueError):
        cal.due_at(wib(2026, 3, 17), -1)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.receipt_instant(datetime(2026, 3, 2, 10)), id="receipt_instant"),
        pytest.param(lambda c: c.due_at(datetime(2026, 3, 2, 10), 10), id="due_at"),
        pytest.param(lambda c: c.explain_due(datetime(2026, 3, 2, 10), 10), id="explain_due"),
        pytest.param(
            lambda c: c.working_days_between(datetime(2026, 3, 2), wib(2026, 3, 3)),
            id="working_days_between-start",
        ),
        pytest.param(
            lambda c: c.working_days_between(wib(2026, 3, 2), datetime(2026, 3, 3)),
            id="working_days_between-end",
        ),
        pytest.param(
            lambda c: c.days_taken(datetime(2026, 3, 2), wib(2026, 3, 3)), id="days_taken"
        ),
    ],
)
def test_naive_datetimes_are_rejected(cal, call):
    with pytest.raises(ValueError, match="time-zone aware"):
        call(cal)


# -- operator overrides ----------------------------------------------------------------

EXTRA_LEAVE = {"date": "2026-12-31", "name": "Cuti bersama tambahan akhir tahun"}
CANCELLED_LEAVE = {"date": "2026-12-24", "reason": "SKB perubahan: 24 Desember hari kerja"}


def test_added_day_is_a_holiday():
    cal = WorkingCalendar(added=[EXTRA_LEAVE])
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.holiday_name(date(2026, 12, 31)) == "Cuti bersama tambahan akhir tahun"
    assert cal.day_off(date(2026, 12, 31)).kind is DayOffKind.OPERATOR_HOLIDAY
    # 28, 29, 30 Dec; 31 Dec added; 1 Jan; weekend; 4 Jan; 5 Jan Isra Mikraj; 6 Jan.
    assert cal.due_at(wib(2026, 12, 23), 5) == end_of(2027, 1, 6)


def test_removed_day_is_a_working_day():
    cal = WorkingCalendar(removed=[RemovedDay(date(2026, 12, 24), CANCELLED_LEAVE["reason"])])
    assert cal.is_working_day(date(2026, 12, 24))
    assert cal.holiday_name(date(2026, 12, 24)) is None
    # 24 Dec counts; 25 Dec Christmas; weekend; 28, 29 Dec.
    assert cal.due_at(wib(2026, 12, 23), 3) == end_of(2026, 12, 29)


def test_set_overrides_replaces_everything_on_the_same_object(cal):
    received = wib(2026, 12, 23)
    assert cal.due_at(received, 3) == end_of(2026, 12, 30)
    cal.set_overrides(added=[AddedDay(date(2026, 12, 28), "Libur daerah")], removed=[])
    assert cal.due_at(received, 3) == end_of(2026, 12, 31)
    cal.set_overrides(added=[], removed=[CANCELLED_LEAVE])
    assert cal.is_working_day(date(2026, 12, 28))
    assert cal.due_at(received, 3) == end_of(2026, 12, 29)
    assert cal.overrides() == {"added": [], "removed": [CANCELLED_LEAVE]}


def test_invalid_overrides_leave_the_old_ones_in_place():
    cal = WorkingCalendar(added=[EXTRA_LEAVE])
    with pytest.raises(ValueError, match="also listed as added"):
        cal.set_overrides(
            added=[EXTRA_LEAVE], removed=[{"date": "2026-12-31", "reason": "salah ketik"}]
        )
    assert cal.overrides() == {"added": [EXTRA_LEAVE], "removed": []}


@pytest.mark.parametrize(
    ("added", "removed", "message"),
    [
        pytest.param([{"date": "31-12-2026", "name": "x"}], [], "2026-12-31", id="bad-date"),
        pytest.param([{"date": "2026-12-31", "name": " "}], [], "name", id="empty-name"),
        pytest.param([{"date": "2026-12-31"}], [], "name", id="missing-name"),
        pytest.param([{"date": "2026-12-31", "name": "x", "x": 1}], [], "unknown", id="extra-key"),
        pytest.param([EXTRA_LEAVE, EXTRA_LEAVE], [], "twice", id="duplicate"),
        pytest.param([], [{"date": "2026-12-26", "reason": "r"}], "weekend", id="remove-weekend"),
        pytest.param([], [{"date": "2026-12-24"}], "reason", id="missing-reason"),
    ],
)
def test_override_validation(added, removed, message):
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(added=added, removed=removed)


def test_from_file(tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"added": [EXTRA_LEAVE], "removed": [CANCELLED_LEAVE]}))
    cal = WorkingCalendar.from_file(path, office_end=time(15))
    assert cal.overrides() == {"added": [EXTRA_LEAVE], "removed": [CANCELLED_LEAVE]}
    assert cal.office_end == time(15)
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 24))


def test_from_file_rejects_unknown_keys(tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"add": [EXTRA_LEAVE]}))
    with pytest.raises(ValueError, match="unknown keys"):
        WorkingCalendar.from_file(path)


def test_shipped_file_has_no_overrides():
    cal = WorkingCalendar.from_file(REPO_ROOT / "config" / "calendar.json")
    assert cal.overrides() == {"added": [], "removed": []}


# -- counting working days between instants --------------------------------------------

BETWEEN_CASES = [
    pytest.param(wib(2026, 3, 16), wib(2026, 4, 7), 10, id="ten-days-over-lebaran"),
    pytest.param(wib(2026, 3, 17), wib(2026, 3, 25), 1, id="the-whole-leave-run-is-one-day"),
    pytest.param(end_of(2026, 4, 7), wib(2026, 4, 8, 9), 1, id="one-day-late"),
    pytest.param(end_of(2026, 4, 7), wib(2026, 4, 7, 23), 0, id="done-on-the-due-day"),
    pytest.param(end_of(2026, 3, 27), wib(2026, 3, 28), 0, id="done-on-saturday-after-friday"),
    pytest.param(end_of(2026, 3, 27), wib(2026, 3, 30), 1, id="done-monday-after-friday"),
    pytest.param(wib(2026, 4, 10), wib(2026, 4, 7), -3, id="reversed-is-negative"),
    pytest.param(wib(2026, 12, 30), wib(2027, 1, 6), 3, id="across-year-end"),
    pytest.param(
        datetime(2026, 3, 16, 20, tzinfo=UTC),
        datetime(2026, 3, 25, 2, tzinfo=UTC),
        1,
        id="utc-instants-counted-on-wib-dates",
    ),
]


@pytest.mark.parametrize(("start", "end", "expected"), BETWEEN_CASES)
def test_working_days_between(cal, start, end, expected):
    assert cal.working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("received", "done", "expected"),
    [
        pytest.param(wib(2026, 3, 14), wib(2026, 3, 16, 14), 0, id="saturday-answered-monday"),
        pytest.param(wib(2026, 3, 2, 16, 30), wib(2026, 3, 2, 16, 45), 0, id="answered-at-once"),
        pytest.param(wib(2026, 3, 16), wib(2026, 4, 7, 9), 10, id="ten-days"),
        pytest.param(wib(2026, 3, 17, 16, 30), wib(2026, 3, 26), 1, id="after-hours-leave-eve"),
    ],
)
def test_days_taken(cal, received, done, expected):
    assert cal.days_taken(received, done) == expected


# -- the explanation for a citizen -----------------------------------------------------


def test_explanation_over_nyepi_and_lebaran(cal):
    explanation = cal.explain_due(wib(2026, 3, 16), 10)
    assert json.loads(json.dumps(explanation)) == explanation
    assert explanation["received_at"] == "2026-03-16T10:00:00+07:00"
    assert explanation["effective_received_at"] == "2026-03-16T10:00:00+07:00"
    assert explanation["day_zero"] == "2026-03-16"
    assert explanation["day_zero_moved"] is False
    assert explanation["day_zero_reason"] is None
    assert explanation["working_days"] == 10
    assert explanation["office_hours"] == {
        "start": "08:00",
        "end": "16:00",
        "timezone": "Asia/Jakarta",
    }
    assert [(d["day"], d["date"], d["weekday"]) for d in explanation["counted_days"]] == [
        (1, "2026-03-17", "Selasa"),
        (2, "2026-03-25", "Rabu"),
        (3, "2026-03-26", "Kamis"),
        (4, "2026-03-27", "Jumat"),
        (5, "2026-03-30", "Senin"),
        (6, "2026-03-31", "Selasa"),
        (7, "2026-04-01", "Rabu"),
        (8, "2026-04-02", "Kamis"),
        (9, "2026-04-06", "Senin"),
        (10, "2026-04-07", "Selasa"),
    ]
    assert [(d["date"], d["kind"], d["reason"]) for d in explanation["skipped_days"]] == [
        ("2026-03-18", "joint_leave", "Cuti Bersama Hari Suci Nyepi"),
        ("2026-03-19", "national_holiday", "Hari Suci Nyepi (libur nasional)"),
        ("2026-03-20", "joint_leave", "Cuti Bersama Hari Raya Idul Fitri"),
        ("2026-03-21", "national_holiday", "Hari Raya Idul Fitri (libur nasional)"),
        ("2026-03-22", "national_holiday", "Hari kedua dari Hari Raya Idul Fitri (libur nasional)"),
        ("2026-03-23", "joint_leave", "Cuti Bersama Hari Raya Idul Fitri"),
        ("2026-03-24", "joint_leave", "Cuti Bersama Hari Raya Idul Fitri"),
        ("2026-03-28", "weekend", "Sabtu (akhir pekan)"),
        ("2026-03-29", "weekend", "Minggu (akhir pekan)"),
        ("2026-04-03", "national_holiday", "Wafat Yesus Kristus (libur nasional)"),
        ("2026-04-04", "weekend", "Sabtu (akhir pekan)"),
        ("2026-04-05", "national_holiday", "Kebangkitan Yesus Kristus (libur nasional)"),
    ]
    labels = {d["kind"]: d["kind_label"] for d in explanation["skipped_days"]}
    assert labels == {
        "joint_leave": "cuti bersama",
        "national_holiday": "libur nasional",
        "weekend": "akhir pekan",
    }
    assert explanation["due_date"] == "2026-04-07"
    assert explanation["due_at"] == "2026-04-07T23:59:59+07:00"
    assert explanation["summary"] == (
        "Diterima Senin, 16 Maret 2026 pukul 10.00 WIB (hari ke-0); batas waktu 10 hari kerja "
        "berakhir Selasa, 7 April 2026 pukul 23.59.59 WIB, dengan 12 hari libur dan akhir "
        "pekan tidak dihitung."
    )


def test_explanation_of_a_saturday_receipt(cal):
    explanation = cal.explain_due(wib(2026, 1, 10, 9, 15), 3)
    assert explanation["day_zero"] == "2026-01-12"
    assert explanation["effective_received_at"] == "2026-01-12T08:00:00+07:00"
    assert explanation["day_zero_moved"] is True
    assert explanation["day_zero_reason"] == "diterima pada hari libur: Sabtu (akhir pekan)"
    assert [d["date"] for d in explanation["counted_days"]] == [
        "2026-01-13",
        "2026-01-14",
        "2026-01-15",
    ]
    assert [d["date"] for d in explanation["skipped_days"]] == ["2026-01-10", "2026-01-11"]
    assert explanation["summary"] == (
        "Diterima Sabtu, 10 Januari 2026 pukul 09.15 WIB pada hari libur: Sabtu (akhir pekan), "
        "sehingga dianggap diterima Senin, 12 Januari 2026 pukul 08.00 WIB sebagai hari ke-0; "
        "batas waktu 3 hari kerja berakhir Kamis, 15 Januari 2026 pukul 23.59.59 WIB, dengan "
        "2 hari libur dan akhir pekan tidak dihitung."
    )


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        pytest.param(
            wib(2026, 3, 2, 16, 30),
            "diterima di luar jam kerja (setelah pukul 16.00 WIB)",
            id="after-hours",
        ),
        pytest.param(
            wib(2026, 3, 2, 7, 30),
            "diterima di luar jam kerja (sebelum pukul 08.00 WIB)",
            id="before-hours",
        ),
        pytest.param(
            wib(2026, 3, 19, 9),
            "diterima pada hari libur: Hari Suci Nyepi (libur nasional)",
            id="national-holiday",
        ),
        pytest.param(
            wib(2026, 12, 24, 9),
            "diterima pada hari libur: Cuti Bersama Hari Raya Natal",
            id="joint-leave",
        ),
    ],
)
def test_explanation_says_why_day_zero_moved(cal, received, reason):
    explanation = cal.explain_due(received, 1)
    assert explanation["day_zero_moved"] is True
    assert explanation["day_zero_reason"] == reason


def test_explanation_of_a_year_end_after_hours_receipt(cal):
    explanation = cal.explain_due(wib(2026, 12, 31, 16, 30), 2)
    assert explanation["day_zero"] == "2027-01-04"
    assert [(d["date"], d["reason"]) for d in explanation["skipped_days"]] == [
        ("2027-01-01", "Tahun Baru Masehi (libur nasional)"),
        ("2027-01-02", "Sabtu (akhir pekan)"),
        ("2027-01-03", "Minggu (akhir pekan)"),
        ("2027-01-05", "Isra Mikraj Nabi Muhammad (libur nasional)"),
    ]
    assert [d["date"] for d in explanation["counted_days"]] == ["2027-01-06", "2027-01-07"]
    assert explanation["due_at"] == "2027-01-07T23:59:59+07:00"


def test_explanation_names_operator_overrides():
    cal = WorkingCalendar(added=[EXTRA_LEAVE], removed=[CANCELLED_LEAVE])
    explanation = cal.explain_due(wib(2026, 12, 23), 5)
    assert explanation["counted_days"][0] == {
        "day": 1,
        "date": "2026-12-24",
        "weekday": "Kamis",
        "note": (
            "tetap hari kerja: Cuti Bersama Hari Raya Natal dibatalkan "
            "(SKB perubahan: 24 Desember hari kerja)"
        ),
    }
    assert "note" not in explanation["counted_days"][1]
    skipped = {d["date"]: d for d in explanation["skipped_days"]}
    assert sorted(skipped) == [
        "2026-12-25",
        "2026-12-26",
        "2026-12-27",
        "2026-12-31",
        "2027-01-01",
        "2027-01-02",
        "2027-01-03",
    ]
    assert skipped["2026-12-31"] == {
        "date": "2026-12-31",
        "weekday": "Kamis",
        "kind": "operator_holiday",
        "kind_label": "hari libur tambahan yang ditetapkan operator",
        "name": "Cuti bersama tambahan akhir tahun",
        "reason": "Cuti bersama tambahan akhir tahun "
        "(hari libur tambahan yang ditetapkan operator)",
    }
    assert skipped["2027-01-01"]["kind"] == "national_holiday"
    # 24 Dec (kept), 28, 29, 30 Dec, 4 Jan.
    assert explanation["due_at"] == "2027-01-04T23:59:59+07:00"


# -- cost --------------------------------------------------------------------------------


def test_holidays_are_loaded_once_per_year(monkeypatch):
    calls = []
    real = calendar_module._listed

    def counting(year, category):
        calls.append(year)
        return real(year, category)

    monkeypatch.setattr(calendar_module, "_listed", counting)
    cal = WorkingCalendar()
    for hour in range(24):
        cal.due_at(wib(2026, 12, 23, hour), 10)
    cal.set_overrides(added=[EXTRA_LEAVE])
    cal.due_at(wib(2026, 12, 23), 10)
    # One lookup per category (public, government) per year, whatever the overrides.
    assert sorted(calls) == [2026, 2026, 2027, 2027]


def test_the_country_loaded_alone_lists_what_country_holidays_lists():
    # The calendar loads Indonesia's module without the package's other countries; what it
    # lists must be exactly the library's own lookup.
    for year in (2024, 2026, 2027, 2030):
        for category in (holidays.PUBLIC, holidays.GOVERNMENT):
            expected = holidays.country_holidays(
                "ID", years=year, categories=(category,), language="id"
            )
            assert dict(calendar_module._listed(year, category)) == dict(expected)


def test_concurrent_readers_see_one_override_set_or_the_other():
    cal = WorkingCalendar()
    received = wib(2026, 12, 23)
    # 3 working days: 30 Dec without overrides, 31 Dec with 28 Dec added as a holiday.
    allowed = {end_of(2026, 12, 30), end_of(2026, 12, 31)}
    seen, stop = set(), threading.Event()

    def read():
        while not stop.is_set():
            seen.add(cal.due_at(received, 3))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for i in range(2000):
        added = [AddedDay(date(2026, 12, 28), "Libur daerah")] if i % 2 else []
        cal.set_overrides(added=added)
    stop.set()
    for thread in readers:
        thread.join()
    assert seen <= allowed and seen


def test_explanations_follow_new_overrides_at_once(cal):
    # Remembered listings belong to one set of overrides: a new set is explained anew.
    at = datetime(2026, 6, 1, 9, tzinfo=WIB)
    before = cal.explain_due(at, 10)
    assert cal.explain_due(at, 10) == before
    cal.set_overrides(added=[{"date": "2026-06-03", "name": "Hari Jadi Kabupaten Kapuas"}])
    after = cal.explain_due(at, 10)
    assert after["due_date"] > before["due_date"]
    assert "2026-06-03" in [d["date"] for d in after["skipped_days"]]
    assert "2026-06-03" not in [d["date"] for d in before["skipped_days"]]
    # Each caller gets lists of its own.
    after["counted_days"].clear()
    assert len(cal.explain_due(at, 10)["counted_days"]) == 10


# -- the holidays package knows the joint-leave days, and says so when it does not ---------


def _lower_bound(package: str) -> tuple[int, ...]:
    import re
    import tomllib

    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in dependencies if re.match(rf"{package}\b", d)]
    return tuple(int(part) for part in re.search(r">=([0-9.]+)", spec).group(1).split("."))


@pytest.mark.parametrize("day, name", [(date(2026, 12, 24), "Natal"), (date(2026, 3, 23), "Idul Fitri"),
                                       (date(2027, 3, 9), "Idul Fitri"), (date(2027, 12, 24), "Natal")])
def test_the_installed_holidays_knows_the_2026_and_2027_joint_leave(day, name):
    off = WorkingCalendar().day_off(day)
    assert off is not None and off.kind is DayOffKind.JOINT_LEAVE and name in off.name


def test_the_required_holidays_version_is_one_that_knows_2027():
    # 0.104 and older list no cuti bersama for 2027 (checked against each release).
    assert _lower_bound("holidays") >= (0, 105)
    installed = tuple(int(p) for p in holidays.__version__.split(".")[:2])
    assert installed >= _lower_bound("holidays")


def test_a_start_in_a_year_whose_next_year_is_known_does_not_warn(caplog):
    from services.common.calendar import warn_without_next_years_joint_leave

    with caplog.at_level("WARNING", logger="simpul.calendar"):
        assert warn_without_next_years_joint_leave(WorkingCalendar(), wib(2026, 11, 30)) is False
    assert not caplog.records


def test_a_start_without_next_years_joint_leave_warns(caplog):
    from services.common.calendar import warn_without_next_years_joint_leave

    # 31 December 2038 17:30 UTC is already 2039 in WIB: the year after is 2040.
    today = datetime(2038, 12, 31, 17, 30, tzinfo=UTC)
    with caplog.at_level("WARNING", logger="simpul.calendar"):
        assert warn_without_next_years_joint_leave(WorkingCalendar(), today) is True
    (record,) = caplog.records
    assert record.year == 2040 and "cuti bersama" in record.getMessage() and "2040" in record.getMessage()
    operator = WorkingCalendar(added=[AddedDay(date(2040, 1, 2), "Cuti bersama tahun baru")])
    assert warn_without_next_years_joint_leave(operator, today) is False, "an operator's days count"


def test_every_process_checks_at_start(caplog, tmp_path, make_settings):
    from sqlalchemy import MetaData

    from services.common.calendar_sync import calendar_state_table
    from services.common.outbox import plumbing_tables
    from services.common.runtime import build_runtime
    from services.common.settings import Settings

    metadata = MetaData()
    plumbing_tables(metadata)
    calendar_state_table(metadata)
    settings = make_settings(Settings, "test", f"sqlite:///{tmp_path / 'x.db'}")
    with caplog.at_level("WARNING", logger="simpul.calendar"):
        build_runtime(settings, metadata, clock=lambda: wib(2026, 11, 30)).dispose()
        assert not caplog.records
        build_runtime(settings, metadata, clock=lambda: wib(2039, 6, 1)).dispose()
    assert [r.year for r in caplog.records] == [2040]
