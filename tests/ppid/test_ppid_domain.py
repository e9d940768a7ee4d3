"""The PPID rules without a database: deadlines on awkward dates, every transition, the
notice's obligations per outcome, objection grounds and windows, NIK checks, access.

2026 facts used (SKB 3 Menteri, as shipped by `holidays`): 16 Feb cuti bersama, 17 Feb
Imlek; 18 Mar cuti, 19 Mar Nyepi, 20 Mar cuti, 21-22 Mar Idul Fitri, 23-24 Mar cuti;
3 Apr Good Friday; 1 May Labour Day; 14 May Ascension, 15 May cuti; 27 May Idul Adha,
28 May cuti; 1 Jun Pancasila; 24 Dec cuti, 25 Dec Christmas; 1 Jan 2027 New Year.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from services.common.auth import Principal
from services.common.calendar import WorkingCalendar
from services.common.errors import Conflict, Forbidden, Invalid
from services.common.scope import OpdScope
from services.ppid import domain

CAL = WorkingCalendar()
WIB = CAL.tz


def wib(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def end_of(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=WIB)


def new_request(submitted_at=wib(2026, 3, 2, 9), status=domain.ASSIGNED, opd="dinkes"):
    received, due = domain.request_deadlines(CAL, submitted_at)
    return SimpleNamespace(
        status=status,
        opd=opd,
        submitted_at=submitted_at,
        received_at=received,
        base_due_at=due,
        due_at=due,
        assigned_at=None,
        extended_at=None,
        extension_ground=None,
        answered_at=None,
        withdrawn_at=None,
    )


def staff(role, opd=None):
    return Principal(sub="u", name=None, roles=frozenset({role}), opd=opd)


# -- deadlines --------------------------------------------------------------------------------

DEADLINES = [
    # submitted (WIB), day 0, notice due (10), extended due (17)
    pytest.param(wib(2026, 3, 2, 9), date(2026, 3, 2), end_of(2026, 3, 16), end_of(2026, 4, 1), id="plain-monday"),
    pytest.param(wib(2026, 1, 9), date(2026, 1, 9), end_of(2026, 1, 26), end_of(2026, 2, 4), id="friday"),
    pytest.param(wib(2026, 1, 10), date(2026, 1, 12), end_of(2026, 1, 27), end_of(2026, 2, 5), id="saturday"),
    pytest.param(wib(2026, 3, 16), date(2026, 3, 16), end_of(2026, 4, 7), end_of(2026, 4, 16), id="lebaran-eve"),
    pytest.param(
        wib(2026, 3, 17, 16, 30), date(2026, 3, 25), end_of(2026, 4, 9), end_of(2026, 4, 20),
        id="after-hours-before-the-leave-run",
    ),
    pytest.param(
        wib(2026, 12, 31, 16, 30), date(2027, 1, 4), end_of(2027, 1, 19), end_of(2027, 1, 28),
        id="new-years-eve-after-hours",
    ),
]


@pytest.mark.parametrize(("submitted", "day0", "due", "extended"), DEADLINES)
def test_request_deadlines(submitted, day0, due, extended):
    received, notice_due = domain.request_deadlines(CAL, submitted)
    assert received.date() == day0
    assert notice_due == due
    assert domain.extended_due(CAL, submitted) == extended


@pytest.mark.parametrize(("submitted", "day0", "due", "extended"), DEADLINES)
def test_explained_deadlines_are_the_request_deadlines_with_their_explanation(submitted, day0, due, extended):
    # A submission takes its instants and its explanation from one count of working days.
    received, notice_due, explanation = domain.explained_deadlines(CAL, submitted)
    assert (received, notice_due) == domain.request_deadlines(CAL, submitted)
    assert (received.tzinfo, notice_due.tzinfo) == (WIB, WIB)
    assert explanation == CAL.explain_due(submitted, domain.NOTICE_DAYS)


def test_extension_moves_due_to_day_17_once_and_only_in_time():
    req = new_request()
    previous = domain.extend(req, CAL, "coordination", now=wib(2026, 3, 16, 15))
    assert previous == end_of(2026, 3, 16)
    assert req.due_at == end_of(2026, 4, 1)
    assert req.extension_ground == "coordination"
    with pytest.raises(Conflict, match="satu kali"):
        domain.extend(req, CAL, "coordination", now=wib(2026, 3, 17))


def test_extension_after_day_10_is_refused_unchanged():
    req = new_request()
    with pytest.raises(Conflict, match="sebelum batas 10 hari kerja"):
        domain.extend(req, CAL, "large_volume", now=wib(2026, 3, 17, 8))
    assert req.due_at == end_of(2026, 3, 16) and req.extended_at is None


def test_extension_needs_a_known_ground():
    req = new_request()
    with pytest.raises(Invalid):
        domain.extend(req, CAL, "busy", now=wib(2026, 3, 3))
    assert req.extended_at is None


LATE = [
    # answered, withdrawn, now, late
    pytest.param(None, None, wib(2026, 3, 16, 23), False, id="open-on-day-10"),
    pytest.param(None, None, wib(2026, 3, 17, 0, 1), True, id="open-after-day-10"),
    pytest.param(end_of(2026, 3, 16), None, wib(2026, 5, 1), False, id="answered-last-second"),
    pytest.param(wib(2026, 3, 17, 8), None, wib(2026, 5, 1), True, id="answered-a-day-late"),
    pytest.param(None, wib(2026, 3, 5), wib(2026, 5, 1), False, id="withdrawn-in-time"),
]


@pytest.mark.parametrize(("answered", "withdrawn", "now", "late"), LATE)
def test_late_means_past_due_without_a_notice(answered, withdrawn, now, late):
    req = new_request()
    req.answered_at, req.withdrawn_at = answered, withdrawn
    assert domain.is_late(req, now) is late


# -- transitions ------------------------------------------------------------------------------

EXPECTED = {
    # action: {status: status after, or None when forbidden}
    "assign": {"received": "assigned", "assigned": None, "answered": None, "withdrawn": None},
    "reassign": {"received": None, "assigned": "assigned", "answered": None, "withdrawn": None},
    "extend": {"received": "received", "assigned": "assigned", "answered": None, "withdrawn": None},
    "answer": {"received": "answered", "assigned": "answered", "answered": None, "withdrawn": None},
    "withdraw": {"received": "withdrawn", "assigned": "withdrawn", "answered": None, "withdrawn": None},
}


@pytest.mark.parametrize(
    ("action", "status"), [(a, s) for a in EXPECTED for s in domain.REQUEST_STATUSES]
)
def test_every_transition(action, status):
    expected = EXPECTED[action][status]
    req = new_request(status=status, opd=None if status == domain.RECEIVED else "dinkes")
    # The PPID Utama takes the staff actions, the applicant (no staff) withdraws.
    actor = None if action == domain.WITHDRAW else staff(domain.UTAMA)
    offered = domain.allowed_actions(req, actor, now=wib(2026, 3, 3), cal=CAL)
    if expected is None:
        with pytest.raises(Conflict, match="tidak dapat"):
            domain.next_status(status, action)
        assert action not in offered
        assert isinstance(domain.refusal(action, req, actor, now=wib(2026, 3, 3), cal=CAL), Conflict)
    else:
        assert domain.next_status(status, action) == expected
        assert action in offered


def test_reassign_to_the_same_opd_is_refused():
    req = new_request()
    with pytest.raises(Invalid):
        domain.reassign(req, "dinkes", now=wib(2026, 3, 3))
    assert domain.reassign(req, "disdik", now=wib(2026, 3, 3)) == "dinkes"
    assert req.opd == "disdik"


def test_answer_records_the_notice_time_and_refuses_one_before_receipt():
    req = new_request()
    with pytest.raises(Invalid):
        domain.answer(req, wib(2026, 3, 1))
    assert req.status == domain.ASSIGNED
    domain.answer(req, wib(2026, 3, 5))
    assert req.status == domain.ANSWERED and req.answered_at == wib(2026, 3, 5)


# -- the written notice -----------------------------------------------------------------------

TODAY = date(2026, 3, 5)
VALID_NOTICES = {
    "granted": {"info_format": "soft_copy", "delivery_method": "email"},
    "partially_granted": {
        "info_format": "hard_copy",
        "delivery_method": "in_person",
        "redacted_parts": "Nomor rekening pribadi pegawai",
        "exemption_clause": "h",
        "consequence_test": "Membuka nomor rekening mengungkap rahasia pribadi.",
    },
    "rejected": {"exemption_clause": "a", "consequence_test": "Menghambat penyidikan yang sedang berjalan."},
    "not_held": {"holder_body": "Badan Pertanahan Nasional Kantor Kapuas"},
    "not_documented": {"documented_by": date(2026, 4, 1)},
}


@pytest.mark.parametrize("outcome", list(VALID_NOTICES))
def test_each_outcome_with_its_fields_is_accepted(outcome):
    cleaned = domain.check_notice({"outcome": outcome, **VALID_NOTICES[outcome]}, today=TODAY)
    assert cleaned["outcome"] == outcome
    assert set(cleaned) == {"outcome", *domain.NOTICE_OUTCOME_FIELDS}
    assert cleaned["fee_amount"] == 0


@pytest.mark.parametrize("outcome", list(VALID_NOTICES))
def test_each_outcome_needs_every_required_field(outcome):
    for name in VALID_NOTICES[outcome]:
        fields = {"outcome": outcome, **VALID_NOTICES[outcome], name: None}
        with pytest.raises(Invalid) as caught:
            domain.check_notice(fields, today=TODAY)
        assert name in caught.value.errors


def test_fields_an_outcome_does_not_use_are_refused():
    with pytest.raises(Invalid) as caught:
        domain.check_notice(
            {"outcome": "rejected", **VALID_NOTICES["rejected"], "fee_amount": 5000, "fee_details": "x"},
            today=TODAY,
        )
    assert {"fee_amount", "fee_details"} <= set(caught.value.errors)
    with pytest.raises(Invalid) as caught:
        domain.check_notice({"outcome": "not_held", **VALID_NOTICES["not_held"]}, today=TODAY, attachments=1)
    assert "attachments" in caught.value.errors


def test_a_fee_needs_its_details_and_documentation_a_future_date():
    with pytest.raises(Invalid) as caught:
        domain.check_notice({"outcome": "granted", **VALID_NOTICES["granted"], "fee_amount": 15000}, today=TODAY)
    assert "fee_details" in caught.value.errors
    with pytest.raises(Invalid) as caught:
        domain.check_notice({"outcome": "not_documented", "documented_by": TODAY}, today=TODAY)
    assert "documented_by" in caught.value.errors


# -- objections -------------------------------------------------------------------------------


def answered(outcome="granted", issued=wib(2026, 3, 16), fee=0, late=False):
    req = new_request()
    req.status, req.answered_at = domain.ANSWERED, issued
    return req, SimpleNamespace(outcome=outcome, issued_at=issued, fee_amount=fee, late=late)


def test_objection_window_is_30_working_days_from_the_notice():
    req, notice = answered("rejected")
    arose, deadline = domain.check_objection(
        req, notice, ["a"], cal=CAL, now=wib(2026, 5, 6, 15), has_open_objection=False
    )
    assert arose == wib(2026, 3, 16)
    assert deadline == end_of(2026, 5, 6)
    with pytest.raises(Conflict, match="telah berakhir"):
        domain.check_objection(req, notice, ["a"], cal=CAL, now=wib(2026, 5, 7, 8), has_open_objection=False)


def test_unanswered_request_may_be_objected_to_once_overdue():
    req = new_request()
    with pytest.raises(Conflict, match="masih dalam batas waktu"):
        domain.check_objection(req, None, ["c"], cal=CAL, now=wib(2026, 3, 16, 20), has_open_objection=False)
    arose, deadline = domain.check_objection(
        req, None, ["c"], cal=CAL, now=wib(2026, 3, 17, 9), has_open_objection=False
    )
    # The ground arose at the end of day 10 (after hours), so day 0 is 17 March.
    assert arose == end_of(2026, 3, 16)
    assert deadline == end_of(2026, 5, 7)


GROUND_CASES = [
    # outcome (None: no notice, overdue), fee, late notice, ground, accepted
    ("granted", 0, False, "a", False),
    ("rejected", 0, False, "a", True),
    ("partially_granted", 0, False, "a", True),
    ("granted", 0, False, "b", True),
    (None, 0, False, "b", True),
    ("granted", 0, False, "c", False),
    (None, 0, False, "c", True),
    ("granted", 0, False, "d", True),
    (None, 0, False, "d", False),
    ("not_held", 0, False, "e", True),
    ("granted", 0, False, "f", False),
    ("granted", 20000, False, "f", True),
    ("granted", 0, False, "g", False),
    ("granted", 0, True, "g", True),
    (None, 0, False, "g", False),
]


@pytest.mark.parametrize(("outcome", "fee", "late", "ground", "accepted"), GROUND_CASES)
def test_each_ground_must_fit_what_happened(outcome, fee, late, ground, accepted):
    if outcome is None:
        req, notice = new_request(), None
    else:
        req, notice = answered(outcome, fee=fee, late=late)
    now = wib(2026, 3, 20)

    def check():
        return domain.check_objection(req, notice, [ground], cal=CAL, now=now, has_open_objection=False)

    if accepted:
        check()
    else:
        with pytest.raises(Invalid) as caught:
            check()
        assert f"huruf {ground}" in caught.value.errors["grounds"][0]


def test_no_objection_on_a_withdrawn_request_or_beside_an_open_one():
    req, notice = answered()
    with pytest.raises(Conflict, match="menunggu tanggapan"):
        domain.check_objection(req, notice, ["d"], cal=CAL, now=wib(2026, 3, 20), has_open_objection=True)
    req.status = domain.WITHDRAWN
    with pytest.raises(Conflict, match="dicabut"):
        domain.check_objection(req, notice, ["d"], cal=CAL, now=wib(2026, 3, 20), has_open_objection=False)


def new_objection(grounds="d", filed=wib(2026, 3, 17)):
    received, due = domain.objection_response_due(CAL, filed)
    return SimpleNamespace(
        status=domain.FILED,
        grounds=grounds,
        filed_at=filed,
        received_at=received,
        response_due_at=due,
        decided_at=None,
        decision=None,
        decision_late=None,
        dispute_window_due_at=None,
    )


def test_atasan_answers_within_30_days_and_the_dispute_window_is_14():
    objection = new_objection()
    assert objection.response_due_at == end_of(2026, 5, 7)
    domain.decide(objection, domain.UPHELD, cal=CAL, now=wib(2026, 4, 1))
    assert objection.decision_late is False
    assert objection.dispute_window_due_at == end_of(2026, 4, 22)
    with pytest.raises(Conflict):
        domain.decide(objection, domain.OVERTURNED, cal=CAL, now=wib(2026, 4, 2))


def test_dispute_window_runs_from_the_lapsed_answer():
    objection = new_objection()
    assert not domain.answer_lapsed(objection, end_of(2026, 5, 7))
    assert domain.answer_lapsed(objection, wib(2026, 5, 8, 8))
    # Day 0 is Friday 8 May; 14-15 May, 27-28 May and 1 June are off.
    assert domain.dispute_window_due(CAL, objection) == end_of(2026, 6, 4)


def test_settlement_only_for_grounds_b_to_g():
    with pytest.raises(Invalid, match="musyawarah"):
        domain.decide(new_objection("a,d"), domain.SETTLED, cal=CAL, now=wib(2026, 4, 1))
    objection = new_objection("c,g")
    domain.decide(objection, domain.SETTLED, cal=CAL, now=wib(2026, 4, 1))
    assert objection.decision == domain.SETTLED


def test_dispute_filing_checks():
    objection = new_objection()
    with pytest.raises(Conflict, match="setelah Atasan PPID"):
        domain.check_dispute(objection, date(2026, 4, 1), cal=CAL, now=wib(2026, 4, 1), has_dispute=False)
    domain.decide(objection, domain.UPHELD, cal=CAL, now=wib(2026, 4, 1))
    now = wib(2026, 5, 4)
    assert domain.check_dispute(objection, date(2026, 4, 22), cal=CAL, now=now, has_dispute=False) is True
    assert domain.check_dispute(objection, date(2026, 4, 23), cal=CAL, now=now, has_dispute=False) is False
    with pytest.raises(Invalid):
        domain.check_dispute(objection, date(2026, 3, 31), cal=CAL, now=now, has_dispute=False)
    with pytest.raises(Invalid):
        domain.check_dispute(objection, date(2026, 5, 5), cal=CAL, now=now, has_dispute=False)
    with pytest.raises(Conflict):
        domain.check_dispute(objection, date(2026, 4, 22), cal=CAL, now=now, has_dispute=True)


# -- applicant data ---------------------------------------------------------------------------

NIKS = [
    ("6203015203900001", None),
    ("6203011203900001", None),
    ("620301520390000", "16 digit"),
    ("62030152039000012", "16 digit"),
    ("62030152039000a1", "16 digit"),
    ("0203015203900001", "kode wilayah"),
    ("6203013203900001", "tanggal lahir"),
    ("6203017203900001", "tanggal lahir"),
    ("6203011213900001", "tanggal lahir"),
    ("6203011203900000", "nomor urut"),
]


@pytest.mark.parametrize(("nik", "problem"), NIKS)
def test_nik(nik, problem):
    found = domain.nik_problem(nik)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("0812-5555-1234", "+6281255551234"),
        ("+62 812 5555 1234", "+6281255551234"),
        ("(0513) 21234", "+6251321234"),
        ("12345", None),
        ("+1 202 555 0100", None),
    ],
)
def test_phone(raw, normalised):
    assert domain.normalise_phone(raw) == normalised


def test_numbers():
    assert domain.format_number("PPID", 2026, 123) == "PPID-2026-000123"
    assert domain.parse_number("KBR-2026-000001") == ("KBR", 2026, 1)
    assert domain.parse_number("PPID-26-1") is None


# -- who may do what --------------------------------------------------------------------------


def test_access_rules_with_two_opds():
    utama, dinkes, disdik = staff(domain.UTAMA), staff(domain.PELAKSANA, "dinkes"), staff(domain.PELAKSANA, "disdik")
    atasan_dinkes, atasan_kab = staff(domain.ATASAN, "dinkes"), staff(domain.ATASAN)
    assert domain.may_view(utama, "dinkes") and domain.may_view(utama, None)
    assert domain.may_view(dinkes, "dinkes") and not domain.may_view(dinkes, "disdik")
    assert not domain.may_view(disdik, "dinkes") and not domain.may_view(dinkes, None)
    assert domain.may_view(atasan_dinkes, "dinkes") and not domain.may_view(atasan_dinkes, "disdik")
    assert not domain.may_view(staff(domain.PELAKSANA), "dinkes")
    assert not domain.may_view(staff("lapor_admin"), "dinkes")
    domain.require_handler(dinkes, "dinkes")
    with pytest.raises(Forbidden):
        domain.require_handler(disdik, "dinkes")
    with pytest.raises(Forbidden):
        domain.require_handler(atasan_dinkes, "dinkes")
    domain.require_decider(atasan_dinkes, "dinkes")
    domain.require_decider(atasan_kab, "dinkes")
    with pytest.raises(Forbidden):
        domain.require_decider(staff(domain.ATASAN, "disdik"), "dinkes")
    with pytest.raises(Forbidden):
        domain.require_decider(dinkes, "dinkes")
    assert domain.scope_of(utama) == OpdScope.every()
    assert domain.scope_of(staff(domain.UTAMA, "diskominfo")) == OpdScope.every()
    assert domain.scope_of(atasan_kab) == OpdScope.every()
    assert domain.scope_of(dinkes) == OpdScope.only("dinkes")
    assert domain.scope_of(atasan_dinkes) == OpdScope.only("dinkes")
    assert domain.scope_of(staff(domain.PELAKSANA)) == OpdScope.nothing()
    assert domain.scope_of(staff("lapor_admin")) == OpdScope.nothing()


@pytest.mark.parametrize(
    ("filename", "content_type", "content", "problem"),
    [
        ("data.pdf", "application/pdf", b"%PDF-1.7 ...", None),
        ("foto.JPG", "image/jpeg", b"\xff\xd8\xff\xe0rest", None),
        ("tabel.csv", "text/csv", b"a;b\n1;2\n", None),
        ("data.pdf", "application/x-msdownload", b"MZ\x90", "tidak diizinkan"),
        ("data.exe", "application/pdf", b"%PDF-1.7", "berakhiran"),
        ("data.pdf", "application/pdf", b"MZ\x90\x00", "tidak sesuai"),
        ("../../etc/passwd.txt", "text/plain", b"x", "Nama berkas"),
        ("big.pdf", "application/pdf", b"%PDF-" + b"0" * 2048, "melebihi"),
        ("empty.pdf", "application/pdf", b"", "kosong"),
    ],
)
def test_attachment_rules(filename, content_type, content, problem):
    found = domain.attachment_problem(filename, content_type, content, max_bytes=1024)
    assert (found is None) if problem is None else (problem in found)
