"""Who is chased, for what: the one who must act first, staff duties only, one current
escalation for a clock that started late, and only the actions still possible proposed.

Clock events go through the consumer as the runner hands them over; ticks run against a
real SMTP server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.common.auth import Principal
from services.notifier import dashboard, directory
from services.notifier.models import Clock, ClockHistory, InboxMessage, Step
from services.notifier.tick import tick
from tests.notifier.notifier_support import sla_event, wib

ADMIN = Principal(sub="admin-1", name="Admin", roles=frozenset({"admin"}), opd=None)
KOMINFO_PELAKSANA = "pelaksana@diskominfo.kapuaskab.go.id"
DINKES_PELAKSANA = "pelaksana@dinkes.kapuaskab.go.id"
DINKES_HEAD = "kadis@dinkes.kapuaskab.go.id"
UTAMA = "ppid@diskominfo.kapuaskab.go.id"
SEKDA = "sekda@kapuaskab.go.id"
RECEIVED = wib(2026, 3, 16, 10)
DUE = wib(2026, 4, 7, 23, 59, 59)


def contacts(rt):
    for body in (
        {"role": "officer", "opd": "diskominfo", "service": "ppid", "name": "Dewi", "email": KOMINFO_PELAKSANA},
        {"role": "officer", "opd": "dinkes", "service": "ppid", "name": "Rina", "email": DINKES_PELAKSANA},
        {"role": "head", "opd": "dinkes", "name": "dr. Yusuf", "email": DINKES_HEAD},
        {"role": "coordinator", "service": "ppid", "name": "Sari", "email": UTAMA},
        {"role": "sekda", "name": "Ir. Hadi", "email": SEKDA},
    ):
        directory.create_contact(rt, ADMIN, {"preferred_channel": "email", **body})


def response_start(opd: str, role: str, *, due: datetime = DUE, actions=None, **extra) -> dict:
    item = {"clock": "ppid.response", "due_at": due.isoformat(), "opd": opd, "role": role,
            "party": "staff", **extra}
    if actions is not None:
        item["actions"] = actions
    return item


def case_mails(smtp) -> list[tuple[str, str, str]]:
    """(recipient, subject, text) of the SLA notices since the last clear (no digests)."""
    return [
        (r, m["Subject"], m.get_body(("plain",)).get_content())
        for rcpts, m in smtp.messages if not m["Subject"].startswith("Ringkasan harian")
        for r in rcpts
    ]


def run(rt, smtp, at) -> set[str]:
    smtp.clear()
    tick(rt, at)
    return {to for to, _, _ in case_mails(smtp)}


# -- 1. the one who must act is told first --------------------------------------------------


def test_an_unassigned_request_chases_the_ppid_utama_never_a_pelaksana_who_cannot_open_it(rt, feed, smtp):
    contacts(rt)
    # PPID's instruction for a request nobody has assigned: the PPID Utama at Diskominfo.
    assert feed(sla_event("requests/PPID-2026-000001", at=RECEIVED, opd=None,
                          start=[response_start("diskominfo", "ppid_utama")]))

    assert run(rt, smtp, wib(2026, 4, 2, 8)) == {UTAMA}, "the reminder"
    assert run(rt, smtp, wib(2026, 4, 8, 8, 5)) == {UTAMA}, "the breach notice"
    assert run(rt, smtp, wib(2026, 4, 9, 9)) == {UTAMA}, "escalation level 1"
    with rt.uow() as uow:
        inbox = {(m.recipient_role, m.recipient_opd)
                 for m in uow.session.scalars(select(InboxMessage).where(InboxMessage.clock.is_not(None)))}
    assert inbox == {("ppid_utama", None)}, "the Utama's inbox, never diskominfo's ppid_pelaksana"


def test_after_assignment_the_new_opds_pelaksana_is_told_and_the_utama_no_longer(rt, feed, smtp):
    contacts(rt)
    subject = "requests/PPID-2026-000002"
    assert feed(sla_event(subject, at=RECEIVED, opd=None, start=[response_start("diskominfo", "ppid_utama")]))
    assert feed(sla_event(subject, at=wib(2026, 3, 17, 10), opd="dinkes", action="assigned",
                          start=[response_start("dinkes", "ppid_pelaksana")]))
    assert run(rt, smtp, wib(2026, 4, 2, 8)) == {DINKES_PELAKSANA}
    with rt.uow() as uow:
        clock = uow.session.scalars(select(Clock)).one()
        assert (clock.opd, clock.role, clock.run) == ("dinkes", "ppid_pelaksana", 2)


def test_an_atasan_without_a_contact_role_is_reached_in_the_inbox_of_their_role_and_opd(rt, feed, smtp):
    contacts(rt)
    objection = {"clock": "ppid.objection_response", "due_at": DUE.isoformat(), "opd": "dinkes",
                 "role": "atasan_ppid"}
    assert feed(sla_event("objections/KBR-2026-000001", at=RECEIVED, start=[objection]))
    # The policy's breach notice names the head; the one who must act comes first.
    smtp.clear()
    tick(rt, wib(2026, 4, 8, 8, 5))
    assert {to for to, _, _ in case_mails(smtp)} == {DINKES_HEAD}
    with rt.uow() as uow:
        addressed = [(m.recipient_role, m.recipient_opd) for m in uow.session.scalars(
            select(InboxMessage).where(InboxMessage.title.like("Terlambat%")).order_by(InboxMessage.id))]
    assert addressed[0] == ("atasan_ppid", "dinkes") and ("ppid_pelaksana", "dinkes") not in addressed


# -- 2. a citizen's window is not an OPD's duty ----------------------------------------------


def test_a_citizens_window_is_never_overdue_scored_digested_or_chased(rt, feed, smtp):
    contacts(rt)
    window = {"clock": "ppid.dispute_window", "due_at": wib(2026, 4, 1, 23, 59, 59).isoformat(),
              "opd": "dinkes", "party": "citizen"}
    assert feed(sla_event("objections/KBR-2026-000002", at=RECEIVED, start=[window]))
    # And a staff duty of the same OPD, overdue too, as the yardstick.
    assert feed(sla_event("requests/PPID-2026-000003", at=RECEIVED,
                          start=[response_start("dinkes", "ppid_pelaksana", due=wib(2026, 4, 1, 23, 59, 59))]))
    smtp.clear()
    summary = tick(rt, wib(2026, 4, 8, 8, 5))
    assert summary.breached == 1, "only the staff duty is breached"
    digest = [m for _, m in smtp.messages if m["Subject"].startswith("Ringkasan harian")]
    assert len(digest) == 1
    text = digest[0].get_body(("plain",)).get_content()
    assert "requests/PPID-2026-000003" in text and "KBR-2026-000002" not in text
    assert all("KBR" not in subject for _, subject, _ in case_mails(smtp))

    with rt.uow() as uow:
        window_clock = uow.session.scalars(select(Clock).where(Clock.clock == "ppid.dispute_window")).one()
        assert (window_clock.state, window_clock.party) == ("closed", "citizen")
        assert window_clock.stopped_at == wib(2026, 4, 1, 23, 59, 59)
        assert uow.session.scalars(select(Step).where(Step.clock_id == window_clock.id)).all() == []
    board = dashboard.build(rt, ADMIN, at=wib(2026, 4, 8, 9), period_from=wib(2026, 1, 1),
                            period_to=wib(2026, 12, 31))
    dinkes = next(o for o in board["opds"] if o["opd"] == "dinkes")
    assert (dinkes["open"], dinkes["overdue"], dinkes["met"], dinkes["breached"]) == (1, 1, 0, 0)
    assert dinkes["score"] == 0.0


def test_a_dispute_filed_in_the_window_and_a_withdrawal_count_as_nothing_met(rt, feed, smtp):
    window = {"clock": "ppid.dispute_window", "due_at": DUE.isoformat(), "opd": "dinkes", "party": "citizen"}
    assert feed(sla_event("objections/KBR-2026-000003", at=RECEIVED, start=[window]))
    assert feed(sla_event("objections/KBR-2026-000003", at=wib(2026, 3, 20, 10), entity="dispute",
                          action="filed", stop=[{"clock": "ppid.dispute_window"}]))
    assert feed(sla_event("requests/PPID-2026-000004", at=RECEIVED,
                          start=[response_start("dinkes", "ppid_pelaksana", actions=["answer", "extend"])]))
    assert feed(sla_event("requests/PPID-2026-000004", at=wib(2026, 3, 18, 10), action="withdrawn",
                          stop=[{"clock": "ppid.response", "outcome": "cancelled"}]))
    with rt.uow() as uow:
        states = dict(uow.session.execute(select(Clock.clock, Clock.state)).all())
        steps = set(uow.session.scalars(select(Step.state)))
    assert states == {"ppid.dispute_window": "closed", "ppid.response": "cancelled"}
    assert steps == {"cancelled"}, "a withdrawn request's reminders are withdrawn"
    board = dashboard.build(rt, ADMIN, at=wib(2026, 3, 20, 11), period_from=wib(2026, 1, 1),
                            period_to=wib(2026, 12, 31))
    dinkes = next(o for o in board["opds"] if o["opd"] == "dinkes")
    assert (dinkes["open"], dinkes["met"], dinkes["breached"], dinkes["score"]) == (0, 0, 0, None)
    assert run(rt, smtp, wib(2026, 4, 8, 9)) == set()


# -- 3. a clock that starts late --------------------------------------------------------------


def test_a_walk_in_registered_after_its_deadline_sends_the_breach_and_only_the_current_level(rt, feed, smtp):
    contacts(rt)
    # Received on 16 March, entered on 20 April: past its due date and past escalation
    # levels 1 (9 April), 2 (10 April) and 3 (15 April) of the policy.
    subject = "requests/PPID-2026-000005"
    assert feed(sla_event(subject, at=wib(2026, 4, 20, 9),
                          start=[response_start("dinkes", "ppid_pelaksana", started_at=RECEIVED.isoformat(),
                                                actions=["answer", "extend"])]))
    smtp.clear()
    summary = tick(rt, wib(2026, 4, 20, 9, 1))
    assert [s["step"] for s in summary.sent] == ["breach", "escalate:3"]
    assert summary.skipped == 2
    mails = case_mails(smtp)
    assert sorted(subject for _, subject, _ in mails if "Eskalasi" in subject) == [
        f"Eskalasi tingkat 3: Pemberitahuan tertulis atas permohonan informasi publik {subject} terlambat 9 hari kerja"
    ] * 2  # the Pelaksana who must act, and the Sekda
    assert {to for to, _, _ in mails} == {DINKES_PELAKSANA, SEKDA}
    with rt.uow() as uow:
        states = dict(uow.session.execute(select(Step.key, Step.state)).all())
        skipped = [h.detail for h in uow.session.scalars(
            select(ClockHistory).where(ClockHistory.entry == "step_skipped").order_by(ClockHistory.id))]
    assert states["escalate:1"] == states["escalate:2"] == "skipped"
    assert states["breach"] == states["escalate:3"] == "sent"
    assert [d["step"] for d in skipped] == ["escalate:1", "escalate:2"]
    assert {d["superseded_by"] for d in skipped} == {"escalate:3"}
    assert run(rt, smtp, wib(2026, 4, 21, 9)) == set(), "nothing is left to send"


# -- 4. messages propose only what is still possible ------------------------------------------


def test_an_extended_request_is_not_asked_to_extend_again_and_a_late_one_never(rt, feed, smtp):
    contacts(rt)
    subject = "requests/PPID-2026-000006"
    assert feed(sla_event(subject, at=RECEIVED, start=[response_start("dinkes", "ppid_pelaksana",
                                                                      actions=["answer", "extend"])]))
    smtp.clear()
    tick(rt, wib(2026, 4, 2, 8))
    (reminder,) = [text for _, _, text in case_mails(smtp)]
    assert "perpanjang waktu satu kali" in reminder, "before the deadline, extending is still possible"

    # Extended on 3 April: due on working day 17, and no extension left.
    extended_due = wib(2026, 4, 17, 23, 59, 59)
    assert feed(sla_event(subject, at=wib(2026, 4, 6, 10), action="extended",
                          start=[response_start("dinkes", "ppid_pelaksana", due=extended_due,
                                                actions=["answer"])]))
    smtp.clear()
    tick(rt, wib(2026, 4, 15, 8))
    (reminder,) = [text for _, _, text in case_mails(smtp)]
    assert "perpanjang" not in reminder
    assert "Kirim pemberitahuan tertulis kepada pemohon melalui aplikasi PPID secepatnya" in reminder

    smtp.clear()
    tick(rt, wib(2026, 4, 20, 8, 5))
    (breach,) = [(s, text) for _, s, text in case_mails(smtp)]
    assert breach[0].startswith("Terlambat:") and "perpanjang" not in breach[1]


def test_a_breach_never_proposes_an_extension_even_when_none_was_given(rt, feed, smtp):
    contacts(rt)
    assert feed(sla_event("requests/PPID-2026-000007", at=RECEIVED,
                          start=[response_start("dinkes", "ppid_pelaksana", actions=["answer", "extend"])]))
    smtp.clear()
    tick(rt, wib(2026, 4, 8, 8, 5))
    texts = [text for _, subject, text in case_mails(smtp) if subject.startswith("Terlambat:")]
    assert texts and all("perpanjang" not in t for t in texts)


# -- through the API ------------------------------------------------------------------------


def test_the_api_shows_who_must_act_and_edits_action_variants(client, feed, auth_header):
    admin = auth_header("admin", sub="admin-1")
    assert feed(sla_event("requests/PPID-2026-000008", at=RECEIVED, opd=None,
                          start=[response_start("diskominfo", "ppid_utama", actions=["answer", "extend"])]))
    (entry,) = client.get("/api/v1/clocks/requests/PPID-2026-000008", headers=admin).get_json()["clocks"]
    shown = entry["clock"]
    assert (shown["role"], shown["party"], shown["actions"]) == ("ppid_utama", "staff", ["answer", "extend"])

    current = client.get("/api/v1/policies/ppid.response", headers=admin)
    document = {k: current.get_json()[k] for k in ("label", "action", "action_variants", "reminders",
                                                     "breach", "escalation")}
    assert document["action_variants"][0]["when"] == ["extend"]
    document["action_variants"] = [{"when": ["extend"], "action": "Jawab, atau perpanjang sekali."}]
    saved = client.put("/api/v1/policies/ppid.response", json=document,
                       headers={**admin, "If-Match": current.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["action_variants"] == document["action_variants"]
    document["action_variants"] = [{"when": [], "action": "Perpanjang."}]
    refused = client.put("/api/v1/policies/ppid.response", json=document,
                         headers={**admin, "If-Match": saved.headers["ETag"]})
    assert refused.status_code == 422
