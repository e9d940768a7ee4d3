"""Policy documents: the shipped seed file, and the field named in every refusal."""

import json
from pathlib import Path

import pytest

from services.notifier import policy

ROOT = Path(__file__).resolve().parents[2]
POLICIES = policy.parse_policy_file(
    json.loads((ROOT / "config" / "notifier_policies.json").read_text())
)


def test_the_seed_file_holds_every_clock_kind_and_round_trips():
    assert set(POLICIES) == {"ppid.response", "ppid.objection_response", "ppid.dispute_window",
                             "lapor.verification", "lapor.follow_up", "lapor.completion",
                             "lapor.reporter_reply", "siber.review", "siber.daily_news",
                             "siber.assignment", "default"}
    for kind, parsed in POLICIES.items():
        assert policy.parse_policy(kind, parsed.to_document()) == parsed


@pytest.mark.parametrize(
    "change, field",
    [
        ({"label": ""}, "label"),
        ({"reminders": [{"before_working_days": 2, "fraction": 0.5}]}, "reminders.0"),
        ({"reminders": [{"fraction": 1.5}]}, "reminders.0.fraction"),
        ({"reminders": [{"before_working_days": 2}, {"before_working_days": 2}]}, "reminders.1"),
        ({"reminders": [{"before_working_hours": 4, "notify": ["mayor"]}]}, "reminders.0.notify"),
        ({"breach": {"notify": ["officer"], "extra": 1}}, "breach"),
        ({"escalation": [{"level": 1, "after_working_days": 3, "notify": ["officer"]},
                         {"level": 2, "after_working_days": 1, "notify": ["head"]}]}, "escalation"),
        ({"escalation": [{"level": 1, "after_working_days": 1, "notify": []}]}, "escalation.0.notify"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_policies_name_the_field(change, field):
    document = {**POLICIES["default"].to_document(), **change}
    with pytest.raises(policy.PolicyError) as info:
        policy.parse_policy("default", document)
    assert field in info.value.errors


def test_the_action_text_follows_what_is_still_open():
    response = POLICIES["ppid.response"]
    assert "perpanjang" in response.action_for(("answer", "extend"))
    assert "perpanjang" not in response.action_for(("answer",))
    assert "perpanjang" not in response.action_for(None)
    assert POLICIES["default"].action_for(("extend",)) == POLICIES["default"].action


@pytest.mark.parametrize(
    "variants, field",
    [
        ("extend", "action_variants"),
        ([{"when": ["extend"]}], "action_variants.0"),
        ([{"when": [], "action": "Perpanjang."}], "action_variants.0.when"),
        ([{"when": ["Perpanjang waktu"], "action": "Perpanjang."}], "action_variants.0.when"),
        ([{"when": ["extend"], "action": " "}], "action_variants.0.action"),
    ],
)
def test_a_bad_action_variant_names_its_field(variants, field):
    document = {**POLICIES["default"].to_document(), "action_variants": variants}
    with pytest.raises(policy.PolicyError) as caught:
        policy.parse_policy("default", document)
    assert field in caught.value.errors
