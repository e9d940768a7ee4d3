"""The contract with producers: clock instructions read from `data.sla`."""

from datetime import UTC, datetime

import pytest

from services.notifier import sla
from tests.notifier.notifier_support import wib


def envelope(data, *, subject="requests/PPID-2026-000001", opd="dinkes", time="2026-03-16T03:00:00Z"):
    return {"id": "e1", "type": "ppid.request.received", "subject": subject, "opd": opd,
            "time": time, "data": data}


# -- data.sla ------------------------------------------------------------------------------


def test_instructions_are_read_with_the_event_opd_as_default():
    env = envelope({"sla": {"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59+07:00"}],
                            "stop": [{"clock": "ppid.intake"}], "future_field": 1}})
    parsed = sla.parse_sla(env)
    assert parsed.subject == "requests/PPID-2026-000001"
    assert parsed.at == datetime(2026, 3, 16, 3, tzinfo=UTC)
    assert parsed.starts == (sla.Start("ppid.response", wib(2026, 4, 7, 23, 59, 59), "dinkes"),)
    assert parsed.stops == (sla.Stop("ppid.intake"),)


def test_an_explicit_opd_wins_and_none_means_regency_level():
    env = envelope({"sla": {"start": [{"clock": "lapor.verification", "due_at": "2026-03-20T16:59:59Z", "opd": None},
                                      {"clock": "lapor.follow_up", "due_at": "2026-03-20T16:59:59Z", "opd": "dinsos"}]}},
                   opd="none")
    starts = sla.parse_sla(env).starts
    assert [s.opd for s in starts] == [None, "dinsos"]


@pytest.mark.parametrize("data", [{}, {"sla": None}, {"other": 1}, {"sla": {"start": [], "stop": []}}])
def test_events_without_instructions_give_none(data):
    assert sla.parse_sla(envelope(data)) is None


@pytest.mark.parametrize(
    "instructions, fragment",
    [
        ("soon", "must be an object"),
        ({"start": {"clock": "ppid.response"}}, "must be a list"),
        ({"start": ["ppid.response"]}, "must be an object"),
        ({"start": [{"clock": "PPID response", "due_at": "2026-04-07T23:59:59+07:00"}]}, "must name a clock"),
        ({"start": [{"clock": "ppid.response"}]}, "due_at must be an RFC 3339 string"),
        ({"start": [{"clock": "ppid.response", "due_at": "7 April"}]}, "not RFC 3339"),
        ({"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59"}]}, "has no offset"),
        ({"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59Z", "opd": "Dinas Kesehatan"}]}, "not an OPD code"),
        ({"stop": [{"clock": 3}]}, "must name a clock"),
        ({"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59Z"}] * 2}, "started twice"),
    ],
)
def test_malformed_instructions_are_refused_with_the_reason(instructions, fragment):
    with pytest.raises(sla.SlaError, match=fragment):
        sla.parse_sla(envelope({"sla": instructions}))


def test_instructions_need_a_subject():
    with pytest.raises(sla.SlaError, match="subject"):
        sla.parse_sla(envelope({"sla": {"stop": [{"clock": "ppid.response"}]}}, subject=""))


def test_a_start_may_say_when_the_duty_really_began():
    envelope = {
        "subject": "requests/PPID-2026-000001",
        "time": "2026-11-28T10:00:00+07:00",
        "opd": "dinkes",
        "data": {"sla": {"start": [{
            "clock": "ppid.response",
            "due_at": "2026-04-07T23:59:59+07:00",
            "started_at": "2026-03-16T10:00:00+07:00",
        }]}},
    }
    start = sla.parse_sla(envelope).starts[0]
    assert start.started_at == datetime.fromisoformat("2026-03-16T10:00:00+07:00")
    envelope["data"]["sla"]["start"][0]["started_at"] = "2026-04-08T10:00:00+07:00"
    with pytest.raises(sla.SlaError, match="started_at"):
        sla.parse_sla(envelope)


def test_instants_are_read_into_utc():
    env = envelope({"sla": {"start": [{"clock": "ppid.response", "due_at": "2026-04-07T23:59:59+07:00",
                                       "started_at": "2026-03-16T10:00:00+07:00"}]}},
                   time="2026-03-16T10:00:00+07:00")
    parsed = sla.parse_sla(env)
    start = parsed.starts[0]
    assert parsed.at.utcoffset().total_seconds() == 0 and parsed.at == wib(2026, 3, 16, 10)
    assert start.due_at.tzinfo is UTC and start.due_at == wib(2026, 4, 7, 23, 59, 59)
    assert start.started_at.tzinfo is UTC and start.started_at == datetime(2026, 3, 16, 3, tzinfo=UTC)


# -- who must act, whose time, what is still possible ----------------------------------------


def test_a_start_keeps_who_must_act_whose_time_it_is_and_the_actions_still_open():
    env = envelope({"sla": {"start": [
        {"clock": "ppid.response", "due_at": "2026-04-07T16:59:59Z", "opd": "diskominfo",
         "role": "ppid_utama", "party": "staff", "actions": ["answer", "extend"]},
        {"clock": "ppid.dispute_window", "due_at": "2026-04-07T16:59:59Z", "party": "citizen"},
    ], "stop": [{"clock": "ppid.objection_response", "outcome": "cancelled"}]}})
    parsed = sla.parse_sla(env)
    utama, window = parsed.starts
    assert (utama.role, utama.party, utama.actions) == ("ppid_utama", "staff", ("answer", "extend"))
    assert (window.role, window.party, window.actions) == (None, "citizen", None)
    assert parsed.stops == (sla.Stop("ppid.objection_response", "cancelled"),)
    plain = sla.parse_sla(envelope({"sla": {"stop": [{"clock": "ppid.response"}]}}))
    assert plain.stops[0].outcome == "done"


@pytest.mark.parametrize(
    "item, message",
    [
        ({"role": "PPID Utama"}, "role"),
        ({"party": "opd"}, "party"),
        ({"actions": "extend"}, "actions"),
        ({"actions": ["Perpanjang"]}, "actions"),
    ],
)
def test_a_malformed_actor_party_or_action_is_refused(item, message):
    env = envelope({"sla": {"start": [{"clock": "ppid.response", "due_at": "2026-04-07T16:59:59Z", **item}]}})
    with pytest.raises(sla.SlaError, match=message):
        sla.parse_sla(env)


def test_a_stop_with_an_unknown_outcome_is_refused():
    with pytest.raises(sla.SlaError, match="outcome"):
        sla.parse_sla(envelope({"sla": {"stop": [{"clock": "ppid.response", "outcome": "met"}]}}))
