"""Every transition of a LAPOR! report and every deadline, as pure rules (no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from services.common.auth import Principal
from services.common.calendar import WorkingCalendar
from services.common.errors import Conflict, Invalid
from services.lapor import domain
from tests.lapor.support import T0, WIB

CAL = WorkingCalendar()


def report(status: str = domain.SUBMITTED, **fields) -> SimpleNamespace:
    base = dict(
        id=1, status=status, submitted_at=T0, verified_at=None, dispatched_at=None, lead_opd=None,
        verification_due_at=None, verification_paused_at=None, verification_remaining_days=None,
        follow_up_due_at=None, completion_due_at=None, reply_due_at=None, first_response_at=None,
        completed_at=None, closed_at=None, closed_reason=None, postpone_reason=None,
        archive_reason=None, archive_note=None, authority_body=None, duplicate_of_id=None,
        rating=None, rating_comment=None, rated_at=None,
    )
    base.update(fields)
    return SimpleNamespace(**base)


def submitted() -> SimpleNamespace:
    r = report(status=None)
    domain.submit(r, CAL, T0, 3)
    return r


def test_submission_starts_the_verification_clock_in_working_days():
    r = submitted()
    assert r.status == domain.SUBMITTED
    # Monday 2 March 2026: day 3 is Thursday 5 March, to its last second.
    assert r.verification_due_at == datetime(2026, 3, 5, 23, 59, 59, tzinfo=WIB)


def test_clarification_holds_the_clock_and_the_answer_resumes_it_with_what_was_left():
    r = submitted()
    domain.request_clarification(r, CAL, T0 + timedelta(days=1))  # Tuesday: 2 days left
    assert r.status == domain.AWAITING_CLARIFICATION
    assert r.verification_remaining_days == 2
    answered = datetime(2026, 3, 13, 10, 0, tzinfo=WIB)  # Friday next week
    due = domain.clarify(r, CAL, answered)
    assert r.status == domain.SUBMITTED
    assert due == datetime(2026, 3, 17, 23, 59, 59, tzinfo=WIB)  # Tuesday: weekend skipped
    assert r.verification_paused_at is None and r.verification_remaining_days is None


@pytest.mark.parametrize(("filed", "asked", "answered", "due"), [
    # Filed, asked and answered on a Tuesday evening: day 0 is Wednesday, due Monday.
    (datetime(2026, 3, 3, 18, 0), datetime(2026, 3, 3, 18, 5), datetime(2026, 3, 3, 18, 10),
     datetime(2026, 3, 9, 23, 59, 59)),
    # Filed on Thursday (due Tuesday), held from Saturday to Monday morning.
    (datetime(2026, 3, 5, 10, 0), datetime(2026, 3, 7, 10, 0), datetime(2026, 3, 9, 7, 30),
     datetime(2026, 3, 10, 23, 59, 59)),
])
def test_a_clarification_out_of_office_hours_moves_no_due_date(filed, asked, answered, due):
    """Held only while the office was closed, the clock lost no working time: the answer
    gives back the days it had, counted from the day the question counts as asked on (the
    office-hours rule), not from the evening or weekend it was sent on."""
    r = report(status=None)
    domain.submit(r, CAL, filed.replace(tzinfo=WIB), 3)
    assert r.verification_due_at == due.replace(tzinfo=WIB)
    domain.request_clarification(r, CAL, asked.replace(tzinfo=WIB))
    assert domain.clarify(r, CAL, answered.replace(tzinfo=WIB)) == due.replace(tzinfo=WIB)


def test_a_pause_after_the_due_day_leaves_nothing():
    r = submitted()
    domain.request_clarification(r, CAL, datetime(2026, 3, 9, 9, tzinfo=WIB))
    assert r.verification_remaining_days == 0
    due = domain.clarify(r, CAL, datetime(2026, 3, 10, 9, tzinfo=WIB))
    assert due == datetime(2026, 3, 10, 23, 59, 59, tzinfo=WIB)


def test_clarify_only_while_awaiting():
    with pytest.raises(Conflict, match="tidak sedang menunggu penjelasan"):
        domain.clarify(submitted(), CAL, T0)


def test_verify_from_submitted_and_from_postponed():
    r = submitted()
    domain.verify(r, T0)
    assert (r.status, r.verified_at) == (domain.VERIFIED, T0)
    p = submitted()
    domain.postpone(p, "Menunggu data dari kecamatan")
    assert (p.status, p.postpone_reason) == (domain.POSTPONED, "Menunggu data dari kecamatan")
    domain.verify(p, T0)
    assert p.status == domain.VERIFIED and p.postpone_reason is None


@pytest.mark.parametrize("status", [domain.AWAITING_CLARIFICATION, domain.VERIFIED, domain.DISPATCHED,
                                    domain.ARCHIVED, domain.CLOSED])
def test_verify_refused_elsewhere(status):
    with pytest.raises(Conflict):
        domain.verify(report(status), T0)


def test_postpone_only_from_submitted():
    with pytest.raises(Conflict):
        domain.postpone(report(domain.POSTPONED), "lagi")


def test_archive_reasons():
    r = submitted()
    domain.archive(r, domain.SPAM, "Iklan", T0)
    assert (r.status, r.archive_reason, r.archive_note, r.closed_at) == (domain.ARCHIVED, "spam", "Iklan", T0)
    with pytest.raises(Invalid):
        domain.archive(submitted(), "bosan", None, T0)


def test_archive_as_duplicate_names_another_original():
    original = report(domain.DISPATCHED, id=7)
    r = submitted()
    with pytest.raises(Invalid, match="nomor laporan aslinya"):
        domain.archive(r, domain.DUPLICATE, None, T0)
    with pytest.raises(Invalid, match="dirinya sendiri"):
        domain.archive(r, domain.DUPLICATE, None, T0, duplicate_of=r)
    copy = report(domain.ARCHIVED, id=8, archive_reason=domain.DUPLICATE)
    with pytest.raises(Invalid, match="juga duplikat"):
        domain.archive(r, domain.DUPLICATE, None, T0, duplicate_of=copy)
    with pytest.raises(Invalid, match="Hanya untuk alasan duplikat|hanya disebut"):
        domain.archive(r, domain.SPAM, None, T0, duplicate_of=original)
    assert r.status == domain.SUBMITTED
    domain.archive(r, domain.DUPLICATE, None, T0, duplicate_of=original)
    assert (r.status, r.duplicate_of_id) == (domain.ARCHIVED, 7)


def test_not_our_authority_names_the_body_and_is_final():
    r = report(domain.POSTPONED)
    domain.reject_authority(r, "Balai Wilayah Sungai Kalimantan II", T0)
    assert (r.status, r.authority_body) == (domain.NOT_AUTHORITY, "Balai Wilayah Sungai Kalimantan II")
    with pytest.raises(Conflict):
        domain.verify(r, T0)


def test_dispatch_starts_follow_up_in_working_days_and_completion_in_calendar_days():
    r = submitted()
    domain.verify(r, T0)
    domain.dispatch(r, "dpupr", CAL, T0, 5, 60)
    assert (r.status, r.lead_opd, r.dispatched_at) == (domain.DISPATCHED, "dpupr", T0)
    assert r.follow_up_due_at == datetime(2026, 3, 9, 23, 59, 59, tzinfo=WIB)
    # 60 calendar days from Monday 2 March: Friday 1 May, weekends and holidays counted.
    assert r.completion_due_at == datetime(2026, 5, 1, 23, 59, 59, tzinfo=WIB)


def test_dispatch_needs_a_verified_report():
    with pytest.raises(Conflict, match="terverifikasi"):
        domain.dispatch(submitted(), "dpupr", CAL, T0, 5, 60)


def test_return_and_redispatch_keep_the_completion_limit():
    r = submitted()
    domain.verify(r, T0)
    domain.dispatch(r, "dpupr", CAL, T0, 5, 60)
    limit = r.completion_due_at
    later = T0 + timedelta(days=1)
    assert domain.return_report(r, later, CAL, 3) == "dpupr"
    assert (r.status, r.lead_opd, r.follow_up_due_at) == (domain.RETURNED, None, None)
    assert r.verification_due_at == CAL.due_at(later, 3)
    domain.redispatch(r, "dinkes", CAL, later, 5)
    assert (r.status, r.lead_opd, r.completion_due_at) == (domain.DISPATCHED, "dinkes", limit)
    assert r.follow_up_due_at == CAL.due_at(later, 5)


def test_follow_up_progress_complete_reject_and_rate():
    r = report(domain.DISPATCHED, lead_opd="dpupr", follow_up_due_at=T0)
    with pytest.raises(Conflict):
        domain.progress(r)
    domain.follow_up(r, T0)
    assert (r.status, r.first_response_at, r.follow_up_due_at) == (domain.IN_PROGRESS, T0, None)
    domain.progress(r)
    assert r.status == domain.IN_PROGRESS
    with pytest.raises(Conflict, match="sekali"):
        domain.rate(r, 5, None, T0)  # a rating before completion
    domain.complete(r, CAL, T0, 10)
    assert (r.status, r.completed_at) == (domain.COMPLETED, T0)
    assert r.reply_due_at == CAL.due_at(T0, 10)
    domain.reopen(r, CAL, T0, 5)
    assert (r.status, r.completed_at, r.reply_due_at) == (domain.IN_PROGRESS, None, None)
    assert r.follow_up_due_at == CAL.due_at(T0, 5)
    domain.complete(r, CAL, T0, 10)
    with pytest.raises(Invalid):
        domain.rate(r, 6, None, T0)
    domain.rate(r, 4, "Cepat", T0)
    assert (r.status, r.rating, r.closed_reason, r.closed_at) == (domain.CLOSED, 4, domain.ACCEPTED, T0)
    with pytest.raises(Conflict, match="sudah dinilai"):
        domain.rate(r, 5, None, T0)  # a second rating


def test_close_without_reply_only_after_the_window():
    r = report(domain.COMPLETED, reply_due_at=T0 + timedelta(days=14))
    with pytest.raises(Conflict, match="belum berakhir"):
        domain.close_unanswered(r, T0)
    domain.close_unanswered(r, T0 + timedelta(days=15))
    assert (r.status, r.closed_reason) == (domain.CLOSED, domain.NO_REPLY)


def test_every_transition_is_listed_and_only_from_its_sources():
    for action, (sources, target) in domain.TRANSITIONS.items():
        assert target in domain.STATUSES
        for status in domain.STATUSES:
            assert domain.can(action, status) == (status in sources)
    for status in domain.FINAL_STATUSES:
        assert domain.allowed_actions(status) == []


def test_every_status_has_a_national_label():
    assert set(domain.NATIONAL_LABELS) == set(domain.STATUSES)
    assert domain.national_label(domain.AWAITING_CLARIFICATION) == "Belum diverifikasi"
    assert domain.national_label(domain.IN_PROGRESS) == "Terdisposisi, dalam proses"
    assert domain.national_label(domain.NOT_AUTHORITY) == "Diarsipkan"


def test_scope_admins_everywhere_liaison_own_opd():
    admin = Principal(sub="a", name=None, roles=frozenset({"lapor_admin"}), opd=None)
    liaison = Principal(sub="l", name=None, roles=frozenset({"lapor_liaison"}), opd="dinkes")
    stray = Principal(sub="l", name=None, roles=frozenset({"lapor_liaison"}), opd=None)
    assert domain.scope_of(admin).allows("dpupr") and domain.scope_of(admin).allows(None)
    assert domain.scope_of(liaison).allows("dinkes") and not domain.scope_of(liaison).allows("dpupr")
    assert domain.scope_of(stray).is_empty


def test_clarification_only_from_submitted():
    for status in (domain.POSTPONED, domain.VERIFIED, domain.AWAITING_CLARIFICATION):
        with pytest.raises(Conflict):
            domain.request_clarification(report(status, verification_due_at=T0), CAL, T0)


def test_the_completion_limit_counts_from_the_verification_not_the_dispatch():
    r = submitted()
    domain.verify(r, datetime(2026, 3, 31, 15, tzinfo=WIB))
    domain.dispatch(r, "dinkes", CAL, datetime(2026, 4, 2, 9, tzinfo=WIB), 5, 60)
    # 60 calendar days from Tuesday 31 March: Saturday 30 May, a weekend day counts too.
    assert r.completion_due_at == datetime(2026, 5, 30, 23, 59, 59, tzinfo=WIB)


def test_a_report_filed_after_hours_counts_from_the_next_working_day():
    r = report(status=None)
    domain.submit(r, CAL, datetime(2026, 3, 6, 20, tzinfo=WIB), 3)  # Friday evening
    # Day 0 is Monday 9 March; day 3 is Thursday 12 March.
    assert r.verification_due_at == datetime(2026, 3, 12, 23, 59, 59, tzinfo=WIB)


def test_the_limits_are_settings():
    r = report(status=None)
    domain.submit(r, CAL, T0, 5)
    assert r.verification_due_at == datetime(2026, 3, 9, 23, 59, 59, tzinfo=WIB)
    domain.verify(r, T0)
    domain.dispatch(r, "dinkes", CAL, T0, 2, 30)
    assert r.follow_up_due_at == datetime(2026, 3, 4, 23, 59, 59, tzinfo=WIB)
    assert r.completion_due_at == datetime(2026, 4, 1, 23, 59, 59, tzinfo=WIB)


@pytest.mark.parametrize(("raw", "normal"), [("0812-7777-4321", "081277774321"), ("+62 812 7777 4321", "081277774321"),
                                             ("(0513) 21017", "051321017"), ("12345", None), ("0812abc", None)])
def test_phone_numbers(raw, normal):
    assert domain.normalise_phone(raw) == normal


@pytest.mark.parametrize("days", [0, 3, 10])
def test_explained_working_due_is_working_due_with_its_explanation(days):
    # The intake takes the due instant and the reporter's explanation from one count.
    for start in (T0, T0 + timedelta(hours=9), T0 + timedelta(days=5, hours=3)):
        due_at, explanation = domain.explained_working_due(CAL, start, days)
        assert due_at == domain.working_due(CAL, start, days)
        assert due_at.tzinfo == WIB
        assert explanation == CAL.explain_due(start, days)
