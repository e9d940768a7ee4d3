"""A request's two dates: when it was received, and day zero, from which its time is counted
(the next working day's opening when it came after 16:00 or on a day off).

The register lists a request under the day it was received, shows both dates, and by default
runs to the end of today in the regency's zone; the written notice names the day the request
was received, and day zero beside it when that is another day.
"""

from __future__ import annotations

from datetime import datetime

from tests.ppid.support import PELAKSANA, UTAMA, WIB, staff_headers

REQ = "/api/v1/requests"
GRANT = {"outcome": "granted", "info_format": "soft_copy", "delivery_method": "email"}


def at(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


def register(ppid, **query):
    response = ppid.staff_get("/api/v1/registers/requests", UTAMA, query_string=query)
    assert response.status_code == 200, response.get_json()
    return {row["number"]: row for row in response.get_json()["rows"]}


def test_todays_register_at_20_10_lists_the_evening_requests(ppid):
    # Wednesday 4 March 2026: one request in office hours, nine after 16:00.
    times = [at(3, 4, 10)] + [at(3, 4, 16, 5 + 6 * i) for i in range(9)]
    numbers = []
    for moment in times:
        ppid.clock.set(moment)
        numbers.append(ppid.submit(requested_opd="dinkes")["number"])
    ppid.clock.set(at(3, 4, 20, 10))

    rows = register(ppid)  # the default period: 1 January to the end of today
    assert set(numbers) <= set(rows), f"{len(set(numbers) & set(rows))} of {len(numbers)} listed"
    morning, evening = rows[numbers[0]], rows[numbers[-1]]
    assert (morning["received_date"], morning["received_time"], morning["day_zero"]) == (
        "2026-03-04", "10:00 WIB", "2026-03-04")
    assert (evening["received_date"], evening["received_time"], evening["day_zero"]) == (
        "2026-03-04", "16:53 WIB", "2026-03-05")
    # An explicit period is by receipt day too: today's evening is today's, not tomorrow's.
    assert set(numbers) <= set(register(ppid, date_from="2026-03-04", date_to="2026-03-04"))
    ppid.clock.set(at(3, 5, 9))
    assert not set(numbers) & set(register(ppid, date_from="2026-03-05", date_to="2026-03-05"))


def test_a_weekend_walk_in_is_in_the_register_of_its_day(ppid):
    ppid.clock.set(at(3, 9, 9))
    body = {
        "identity_type": "nik", "identity_number": "6203015203900001", "name": "Budi",
        "address": "Jl. Sudirman 1", "phone": "081255551234",
        "information": "Data jalan desa.", "purpose": "Penelitian.", "obtain_method": "inspect",
        "delivery_method": "in_person", "channel": "walk_in",
        "submitted_at": "2026-03-07T10:30:00+07:00",
    }
    response = ppid.http.post(f"{REQ}/offline", json=body, headers=staff_headers(UTAMA))
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["number"]
    row = register(ppid, date_from="2026-03-07", date_to="2026-03-07")[number]
    assert (row["received_date"], row["received_time"], row["day_zero"]) == (
        "2026-03-07", "10:30 WIB", "2026-03-09")


def test_the_register_export_has_both_columns(ppid):
    ppid.clock.set(at(3, 6, 19))
    number = ppid.submit(requested_opd="dinkes")["number"]
    ppid.clock.set(at(3, 6, 19, 30))
    response = ppid.staff_get("/api/v1/registers/requests", UTAMA,
                              query_string={"format": "csv", "date_from": "2026-03-06"})
    lines = response.data.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[1:4] == ["Tanggal Permohonan", "Waktu Diterima", "Hari ke-0 (Awal Penghitungan)"]
    [line] = [line for line in lines if line.startswith(number)]
    assert line.split(",")[1:4] == ["2026-03-06", "19:00 WIB", "2026-03-09"]


def notice_html(ppid, number):
    response = ppid.staff_get(f"{REQ}/{number}/notice.html", PELAKSANA, "dinkes")
    assert response.status_code == 200
    return response.data.decode()


def test_a_notice_names_the_day_the_request_was_received(ppid):
    # Friday 6 March, 20:00: after hours, so day zero is Monday 9 March. The PPID answers
    # on Saturday 7 March: the letter must not speak of a request made after it was signed.
    ppid.clock.set(at(3, 6, 20))
    number = ppid.submit(requested_opd="dinkes")["number"]
    ppid.clock.set(at(3, 7, 9))
    assert ppid.notice(number, GRANT, PELAKSANA, "dinkes").status_code == 201
    html = notice_html(ppid, number)
    assert "permohonan informasi pada tanggal Jumat, 6 Maret 2026" in html
    assert "dihitung sejak hari kerja berikutnya, Senin, 9 Maret 2026" in html
    assert "pada tanggal Senin, 9 Maret 2026" not in html
    assert "7 Maret 2026" in html  # the date of signing

    # Received in office hours, day zero is the same day: no second date.
    ppid.clock.set(at(3, 10, 9))
    plain = ppid.submit(requested_opd="dinkes")["number"]
    ppid.clock.set(at(3, 11, 9))
    assert ppid.notice(plain, GRANT, PELAKSANA, "dinkes").status_code == 201
    html = notice_html(ppid, plain)
    assert "permohonan informasi pada tanggal Selasa, 10 Maret 2026" in html
    assert "dihitung sejak" not in html
