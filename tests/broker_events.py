"""Reading a service's events off a real broker, and checking each against the contract.

A test binds a queue to the service's routing keys (`bound_queue`), relays what the API
wrote to the outbox (`relay_unpublished`), gathers the deliveries (`drain`) and holds each to
the CloudEvents schema and its message in docs/events/asyncapi.yaml (`check_delivery`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Container, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pika
import yaml
from sqlalchemy import Table, select

from services.common.events import EXCHANGE, routing_keys
from services.common.relay import OutboxRelay
from tests.conftest import AMQP_URL

ROOT = Path(__file__).resolve().parents[1]


class Delivery(NamedTuple):
    method: Any
    properties: Any
    body: bytes
    envelope: dict


@contextmanager
def bound_queue(service: str) -> Iterator[tuple[Any, str]]:
    """(channel, queue name) of an exclusive queue bound to `<service>.#`, deleted after."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    name = f"test.{service}.events.{uuid.uuid4().hex[:8]}"
    channel.queue_declare(name, exclusive=True)
    channel.queue_bind(name, EXCHANGE, routing_key=f"{service}.#")
    try:
        yield channel, name
    finally:
        channel.queue_delete(name)
        connection.close()


def delete_queues(*names: str) -> None:
    """Delete queues a test's consumer declared: they are durable, and would outlive the test
    on the machine's broker."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(name)
    finally:
        connection.close()


def delete_consumer_queues(*consumers) -> None:
    """Delete each consumer's queue and its dead-letter queue."""
    delete_queues(*(name for consumer in consumers for name in (consumer.queue, consumer.dead_queue)))


def messages_ready(queue: str) -> int:
    """How many messages `queue` holds ready for a consumer (not those taken, unacked)."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def relay_unpublished(rt, outbox: Table) -> dict[str, int]:
    """The ids of the events not yet published, with their order of writing, once the
    outbox relay has published them all."""
    with rt.engine.connect() as conn:
        expected: dict[str, int] = {}
        for event_id, row_id in conn.execute(
            select(outbox.c.event_id, outbox.c.id).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id)
        ):
            expected.setdefault(event_id, row_id)
    relay_all(rt)
    return expected


def relay_all(rt) -> None:
    """Publish everything the service's outbox holds, as the worker's relay would."""
    relay = OutboxRelay(rt.engine, rt.outbox, AMQP_URL)
    try:
        while relay.relay_once():
            pass
    finally:
        relay.close()


def drain(channel, name: str, expected_ids: Container[str] | dict) -> dict[str, list[Delivery]]:
    """Every copy (one per routing key the queue matched) of each expected event, read until
    all have come or ten seconds pass without one."""
    received: dict[str, list[Delivery]] = {}
    patience = 200
    while len(received) < len(expected_ids) and patience:
        method, properties, body = channel.basic_get(name, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.05)
            patience -= 1
            continue
        envelope = json.loads(body)
        if envelope["id"] in expected_ids:
            received.setdefault(envelope["id"], []).append(Delivery(method, properties, body, envelope))
    return received


@cache
def _cloudevents(schemas_dir: Path) -> dict:
    return json.loads((schemas_dir / "cloudevents.json").read_text())


@cache
def _catalogue_components() -> dict:
    return yaml.safe_load((ROOT / "docs" / "events" / "asyncapi.yaml").read_text())["components"]


def check_documented(envelope: dict) -> None:
    """The envelope matches its message's payload in docs/events/asyncapi.yaml."""
    documented = {"allOf": [{"$ref": f"#/components/messages/{envelope['type']}/payload"}],
                  "components": _catalogue_components()}
    jsonschema.Draft7Validator(documented, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(envelope)


def check_delivery(delivery: Delivery, schemas_dir: Path) -> None:
    """A valid CloudEvent, documented in the catalogue, routed by its own keys, persistent,
    with its id as the message id."""
    jsonschema.Draft7Validator(_cloudevents(schemas_dir)).validate(delivery.envelope)
    check_documented(delivery.envelope)
    assert delivery.method.routing_key in routing_keys(delivery.envelope)
    assert delivery.properties.message_id == delivery.envelope["id"]
    assert delivery.properties.content_type == "application/cloudevents+json"
    assert delivery.properties.delivery_mode == 2
