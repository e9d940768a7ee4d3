"""The CloudEvents envelope: valid against the published JSON schema, on the wire too."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pika
import pytest
from jsonschema.validators import validator_for
from sqlalchemy import MetaData

from services.common.db import make_engine, make_session_factory
from services.common.events import CONTENT_TYPE, instant, new_event, parse_envelope, routing_keys
from services.common.outbox import UnitOfWork, plumbing_tables
from services.common.relay import OutboxRelay

# RFC 3339 date-time, checked here because jsonschema only checks formats whose optional
# helper packages are installed.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@pytest.fixture(scope="module")
def validator(schemas_dir):
    schema = json.loads((schemas_dir / "cloudevents.json").read_text())
    cls = validator_for(schema)
    cls.check_schema(schema)
    checker = jsonschema.FormatChecker()  # a copy: registering below changes no global

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value) -> bool:
        if not isinstance(value, str):
            return True
        if not _RFC3339.match(value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True

    return cls(schema, format_checker=checker)


def sample(**overrides):
    arguments = {
        "subject": "reports/LPR-2026-000123",
        "opd": "DINKES",
        "data": {
            "state": "dispatched",
            "due_at": datetime(2026, 3, 2, 16, 0, tzinfo=timezone(timedelta(hours=7))),
            "sla": {"start": [{"clock": "lapor.follow_up", "opd": "dinkes"}]},
        },
    }
    arguments.update(overrides)
    return new_event("lapor", "report", "dispatched", **arguments)


def test_envelopes_validate_against_the_cloudevents_schema(validator):
    for event in (
        sample(),
        sample(opd=None, data=None),
        new_event("ppid", "request", "answered.v2", subject="requests/PPID-1", opd="diskominfo"),
    ):
        envelope = event.envelope()
        validator.validate(envelope)
        validator.validate(json.loads(event.to_json()))
        assert parse_envelope(event.to_json()) == json.loads(event.to_json())


def test_envelope_attributes_follow_the_conventions():
    at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    event = sample(time=at)
    envelope = event.envelope()
    assert envelope["specversion"] == "1.0"
    assert str(uuid.UUID(envelope["id"])) == envelope["id"]
    assert envelope["source"] == "/simpul/lapor"
    assert envelope["type"] == "lapor.report.dispatched"
    assert envelope["opd"] == "dinkes"
    assert event.routing_key == "lapor.report.dispatched.dinkes"
    assert envelope["time"] == "2026-01-05T02:30:00Z"
    assert envelope["datacontenttype"] == "application/json"
    # Instants in data are written like `time`: UTC with `Z`, whatever zone they came in.
    assert envelope["data"]["due_at"] == "2026-03-02T09:00:00Z"
    assert sample(opd=None).routing_key == "lapor.report.dispatched.none"


WIB = timezone(timedelta(hours=7))


def test_every_instant_in_an_event_is_written_in_utc_with_z():
    # The producer's zone, the notifier's UTC, text a producer formatted itself: one spelling.
    event = sample(
        time=datetime(2026, 3, 2, 9, 0, 0, 500000, tzinfo=WIB),
        data={
            "received_at": datetime(2026, 3, 2, 9, tzinfo=WIB),
            "stopped_at": datetime(2026, 3, 2, 2, tzinfo=UTC),
            "formatted": "2026-03-02T09:00:00+07:00",
            "lower_z": "2026-03-02T02:00:00z",
            "nested": {"sla": {"start": [{"clock": "lapor.follow_up",
                                          "due_at": datetime(2026, 3, 16, 23, 59, 59, tzinfo=WIB)}]}},
            "received_on": datetime(2026, 3, 2, 9, tzinfo=WIB).date(),
            "note": "2026-03-02",
        },
    )
    envelope = json.loads(event.to_json())
    assert envelope["time"] == "2026-03-02T02:00:00.500000Z"
    assert event.time.utcoffset() == timedelta(0)
    data = envelope["data"]
    assert data["received_at"] == data["stopped_at"] == data["formatted"] == data["lower_z"] == "2026-03-02T02:00:00Z"
    assert data["nested"]["sla"]["start"][0]["due_at"] == "2026-03-16T16:59:59Z"
    # A calendar date has no zone and stays one.
    assert data["received_on"] == data["note"] == "2026-03-02"
    assert instant(datetime(2026, 1, 1, 7, tzinfo=WIB)) == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("text", ["2026-03-02T09:00:00", "2026-03-02 09:00", "2026-13-02T09:00:00+07:00"])
def test_date_time_text_that_names_no_instant_is_refused(text):
    with pytest.raises(ValueError, match="instant"):
        sample(data={"at": text})


def test_a_move_is_routed_to_the_opd_it_reaches_and_the_one_it_leaves():
    moved = new_event("lapor", "report", "redisposed", subject="reports/1", opd="disdik", from_opd="DINKES")
    assert moved.routing_keys == ("lapor.report.redisposed.disdik", "lapor.report.redisposed.dinkes")
    assert moved.routing_key == "lapor.report.redisposed.disdik"
    envelope = json.loads(moved.to_json())
    assert (envelope["opd"], envelope["fromopd"]) == ("disdik", "dinkes")
    assert routing_keys(envelope) == moved.routing_keys
    assert parse_envelope(moved.to_json())["fromopd"] == "dinkes"
    # A case nobody held leaves `none`; an event that moves nothing has one key and no fromopd.
    assigned = new_event("ppid", "request", "assigned", subject="requests/1", opd="dinkes", from_opd="none")
    assert assigned.routing_keys == ("ppid.request.assigned.dinkes", "ppid.request.assigned.none")
    still = sample()
    assert still.routing_keys == (still.routing_key,) and "fromopd" not in still.envelope()
    assert routing_keys(still.envelope()) == (still.routing_key,)
    with pytest.raises(ValueError, match="leaves one OPD for another"):
        new_event("lapor", "report", "redisposed", subject="reports/1", opd="dinkes", from_opd="dinkes")
    with pytest.raises(ValueError, match="opd"):
        new_event("lapor", "report", "redisposed", subject="reports/1", opd="dinkes", from_opd="din kes")


def test_a_move_validates_against_the_cloudevents_schema(validator):
    moved = new_event("lapor", "report", "redisposed", subject="reports/1", opd="disdik", from_opd="dinkes")
    validator.validate(json.loads(moved.to_json()))


def test_a_published_message_validates_too(validator, sqlite_url, amqp_url, unique):
    engine = make_engine(sqlite_url)
    metadata = MetaData()
    outbox, _ = plumbing_tables(metadata)
    metadata.create_all(engine)
    service = f"t{unique}"
    queue = f"test.envelope.{unique}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    # A private exchange: the test's event reaches no real subscriber of the shared broker.
    exchange = f"test.events.{unique}"
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key=f"{service}.#")
    relay = OutboxRelay(engine, outbox, amqp_url, exchange=exchange)
    try:
        event = new_event(service, "article", "published", subject="articles/42", opd="setda")
        with UnitOfWork(make_session_factory(engine), outbox) as uow:
            uow.publish(event)
            uow.commit()
        assert relay.relay_once() == 1
        method, properties, body = None, None, None
        for _ in range(50):
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is not None:
                break
            connection.sleep(0.1)
        assert method is not None, "the event never arrived"
        envelope = json.loads(body)
        validator.validate(envelope)
        assert envelope["id"] == properties.message_id == event.id
        assert properties.content_type == CONTENT_TYPE
        assert properties.delivery_mode == 2
        assert method.routing_key == f"{envelope['type']}.{envelope['opd']}"
    finally:
        relay.close()
        channel.queue_delete(queue)
        channel.exchange_delete(exchange)
        connection.close()
        engine.dispose()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"service": "Lapor"}, "service"),
        ({"service": "la-por"}, "service"),
        ({"entity": ""}, "entity"),
        ({"action": "dispatched now"}, "action"),
        ({"action": "dispatched.final"}, "action"),
        ({"opd": "din-kes"}, "opd"),
        ({"subject": ""}, "subject"),
        ({"time": datetime(2026, 1, 5, 9, 30)}, "timezone-aware"),
        ({"data": {"at": datetime(2026, 1, 5, 9, 30)}}, "timezone-aware"),
    ],
)
def test_invalid_inputs_to_new_event_raise(arguments, message):
    values = {
        "service": "lapor",
        "entity": "report",
        "action": "dispatched",
        "subject": "reports/1",
        "opd": "dinkes",
    }
    values.update(arguments)
    positional = [values.pop(k) for k in ("service", "entity", "action")]
    with pytest.raises(ValueError, match=message):
        new_event(*positional, **values)


def test_data_that_is_not_json_is_refused():
    with pytest.raises(TypeError):
        new_event(
            "lapor", "report", "dispatched", subject="reports/1", opd=None, data={"x": {1, 2}}
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe", "not JSON"),
        ("{not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"specversion": "1.0", "id": "x", "source": "/s", "type": "t"}', "lacks time"),
        (
            '{"specversion": "0.3", "id": "x", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00Z"}',
            "specversion",
        ),
        (
            '{"specversion": "1.0", "id": "x", "source": "/s", "type": "t", "time": "yesterday"}',
            "RFC 3339",
        ),
        (
            '{"specversion": "1.0", "id": "x", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00"}',
            "offset",
        ),
        (
            '{"specversion": "1.0", "id": "x", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": [1]}',
            "data must be",
        ),
    ],
)
def test_malformed_envelopes_are_rejected(body, message):
    with pytest.raises(ValueError, match=message):
        parse_envelope(body)


def test_the_schema_check_itself_rejects_a_broken_envelope(validator):
    envelope = sample().envelope()
    broken = dict(envelope, time="5 January 2026")
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)
    missing = {k: v for k, v in envelope.items() if k != "source"}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(missing)


def test_the_builders_data_text_writes_the_same_envelope_as_serialising_it_afresh():
    import dataclasses

    from services.common.events import _dumps

    event = new_event(
        "lapor", "report", "submitted", subject="LPR-1", opd="dinkes",
        data={"number": "LPR-1", "at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "n": [1, 2]},
    )
    assert event._data_json is not None
    assert event.to_json() == _dumps(event.envelope())
    # A copy with other data does not carry the builder's text: it is written afresh.
    copy = dataclasses.replace(event, data={"number": "LPR-2"})
    assert json.loads(copy.to_json())["data"] == {"number": "LPR-2"}
