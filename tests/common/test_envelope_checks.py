"""What `parse_envelope` refuses: everything a consumer could never store or compute with,
and any body its parser cannot read, each as a ValueError (a dead letter), never another
exception."""

from __future__ import annotations

import json

import pytest

from services.common.events import new_event, parse_envelope


def body(**change) -> str:
    envelope = new_event("ppid", "request", "submitted", subject="requests/PPID-2026-000001",
                         opd="dinkes").envelope()
    envelope.update(change)
    return json.dumps({k: v for k, v in envelope.items() if v is not None})


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"\xff\xfe\x00",
        b'{"n": ' + b"9" * 5000 + b"}",
        b"NaN",
        b"",
    ],
    ids=["nested-list", "nested-object", "not-utf8", "huge-number", "nan", "empty"],
)
def test_a_body_no_parser_reads_is_a_value_error(raw):
    with pytest.raises(ValueError, match="body is not JSON"):
        parse_envelope(raw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "x" * 65}, "id has 65 characters"),
        ({"id": "two words"}, "id 'two words' is not well formed"),
        ({"id": 42}, "id must be a non-empty string"),
        ({"type": "ppid.request." + "a" * 250}, "type has 263 characters"),
        ({"type": "PPID Request"}, "not well formed"),
        ({"source": "/" + "s" * 255}, "source has 256 characters"),
        ({"subject": "requests/" + "1" * 250}, "subject has 259 characters"),
        ({"subject": ["requests/1"]}, "subject must be a non-empty string"),
        ({"opd": "x" * 33}, "opd has 33 characters"),
        ({"opd": "Dinkes"}, "not well formed"),
        ({"fromopd": "no such"}, "fromopd 'no such' is not well formed"),
        ({"time": "9999-12-31T23:59:59-05:00"}, "out of range"),
        ({"time": "0001-01-02T00:00:00+07:00"}, "out of range|outside"),
        ({"time": "1969-12-31T23:59:59Z"}, "outside 1970-2999"),
        ({"time": "3000-01-01T00:00:00Z"}, "outside 1970-2999"),
        ({"time": 1767225600}, "RFC 3339 string"),
    ],
)
def test_attributes_that_cannot_be_stored_or_computed_with_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        parse_envelope(body(**change))


def test_a_sound_envelope_passes_with_or_without_its_optional_attributes():
    assert parse_envelope(body())["type"] == "ppid.request.submitted"
    assert parse_envelope(body(subject=None, opd=None))["id"]
    assert parse_envelope(body(type="ppid.request.answered.v2", fromopd="none"))["fromopd"] == "none"
