"""Inspect, replay and purge a consumer's dead letters.

    python -m services.common.deadletters list   --queue notifier.clocks [--json]
    python -m services.common.deadletters show   --queue notifier.clocks --id <message id>
    python -m services.common.deadletters replay --queue notifier.clocks (--id <id> | --all)
    python -m services.common.deadletters purge  --queue notifier.clocks (--id <id> | --all)

`--queue` names the consumer's queue; its dead letters are in `<queue>.dead`. The broker
is `AMQP_URL` (default: the local development broker).

Listing is non-destructive: it takes at most the messages the queue held when it started,
without acking them, and hands them all back, returning once the queue holds them again (so
a `show` right after a `list` finds what the list showed). A replay republishes a dead
letter to its original queue through the default exchange with publisher confirms, and only
then removes the dead copy: a failure in between leaves a duplicate (which the consumer's
inbox absorbs), never a loss.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pika
import pika.exceptions

from services.common.consumer import (
    ERROR_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    dead_letter_queue,
    quiet_pika_connection_errors,
)
from services.common.relay import AMQP_ERRORS, connection_parameters
from services.common.settings import DEFAULT_AMQP_URL

REPLAY_COUNT_HEADER = "x-simpul-replayed"
# Headers describing a previous death: a replayed message starts a fresh life.
_DEATH_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
    ERROR_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    ORIGINAL_QUEUE_HEADER,
)


class DeadLetterError(RuntimeError):
    """The dead-letter queue is missing or a replay could not be confirmed."""


def _dead_name(queue: str) -> str:
    return queue if queue.endswith(".dead") else dead_letter_queue(queue)


def _first_death(headers: dict) -> dict:
    deaths = headers.get("x-death") or []
    return deaths[0] if deaths and isinstance(deaths[0], dict) else {}


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _decoded(body: bytes) -> Any:
    """The body as JSON, or None: a dead letter is often a body no parser could read
    (nested ten thousand levels deep, not UTF-8), and the tool must still show it."""
    try:
        return orjson.loads(body)
    except Exception:  # noqa: BLE001 - whatever the parser raises, the body is not JSON
        return None


def describe(properties, body: bytes) -> dict[str, Any]:
    """The summary of one dead letter (identifiers and reasons, not the event's data)."""
    headers = properties.headers or {}
    death = _first_death(headers)
    envelope = _decoded(body)
    if not isinstance(envelope, dict):
        envelope = {}
    routing_keys = death.get("routing-keys") or []
    reason = headers.get(ERROR_HEADER) or death.get("reason") or headers.get("x-first-death-reason")
    return {
        "message_id": properties.message_id or envelope.get("id"),
        "type": envelope.get("type"),
        "subject": envelope.get("subject"),
        "routing_key": _text(headers.get(ORIGINAL_ROUTING_KEY_HEADER))
        or (_text(routing_keys[0]) if routing_keys else None),
        "queue": _text(headers.get(ORIGINAL_QUEUE_HEADER)) or _text(death.get("queue")),
        "reason": _text(reason),
        "count": int(death.get("count", 1)),
    }


@contextmanager
def _browse(
    amqp_url: str, queue: str
) -> Iterator[tuple[Any, list[tuple[Any, Any, bytes]], set[int]]]:
    """Borrow every message the dead-letter queue holds now; unsettled ones go back."""
    connection = pika.BlockingConnection(connection_parameters(amqp_url, "deadletters tool"))
    try:
        channel = connection.channel()
        dead = _dead_name(queue)
        try:
            declared = channel.queue_declare(dead, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise DeadLetterError(f"queue {dead} does not exist") from exc
        borrowed = []
        # Bounded by the count at the start, so a busy queue cannot keep the listing going.
        for _ in range(declared.method.message_count):
            method, properties, body = channel.basic_get(dead, auto_ack=False)
            if method is None:
                break
            borrowed.append((method, properties, body))
        settled: set[int] = set()
        channel.confirm_delivery()
        yield channel, borrowed, settled
        returned = 0
        for method, _properties, _body in borrowed:
            if method.delivery_tag not in settled:
                channel.basic_nack(method.delivery_tag, requeue=True)
                returned += 1
        if returned:
            _await_ready(channel, dead, returned)
    finally:
        if connection.is_open:
            connection.close()


# How long a listing waits for the messages it handed back to be ready again.
RETURN_TIMEOUT = 5.0


def _await_ready(channel, queue: str, count: int, timeout: float = RETURN_TIMEOUT) -> None:
    """Wait until `queue` holds at least `count` ready messages, or `timeout` passes.

    A quorum queue takes a requeued message back asynchronously (a command its log must
    commit first), after the nack and even after the connection has closed: a `show` run
    right after a `list` could find the queue empty and say the message is not there.
    Someone else taking messages meanwhile only makes this wait the full timeout.
    """
    deadline = time.monotonic() + timeout
    try:
        while channel.queue_declare(queue, passive=True).method.message_count < count:
            if time.monotonic() >= deadline:
                return
            channel.connection.sleep(0.01)
    except pika.exceptions.ChannelClosedByBroker:
        return  # the queue was deleted meanwhile: there is nothing left to wait for


def list_dead(amqp_url: str, queue: str) -> list[dict[str, Any]]:
    """Summaries of the dead letters of `queue`, leaving them in place."""
    with _browse(amqp_url, queue) as (_channel, borrowed, _settled):
        return [describe(properties, body) for _method, properties, body in borrowed]


def show(amqp_url: str, queue: str, message_id: str) -> list[dict[str, Any]]:
    """Every dead copy of one message: summary, headers and the envelope."""
    found = []
    with _browse(amqp_url, queue) as (_channel, borrowed, _settled):
        for _method, properties, body in borrowed:
            if properties.message_id != message_id:
                continue
            envelope = _decoded(body)
            if envelope is None:
                envelope = _text(body)
            # The dead-letter queue's own redelivery count (bumped by every listing) says
            # nothing about the message.
            headers = {
                k: v for k, v in (properties.headers or {}).items() if k != "x-delivery-count"
            }
            found.append({**describe(properties, body), "headers": headers, "envelope": envelope})
    return found


def _settle(
    amqp_url: str,
    queue: str,
    message_id: str | None,
    action: Callable[[Any, Any, Any, bytes], None],
) -> int:
    done = 0
    with _browse(amqp_url, queue) as (channel, borrowed, settled):
        for method, properties, body in borrowed:
            if message_id is not None and properties.message_id != message_id:
                continue
            action(channel, method, properties, body)
            channel.basic_ack(method.delivery_tag)
            settled.add(method.delivery_tag)
            done += 1
    return done


def replay(amqp_url: str, queue: str, message_id: str | None = None) -> int:
    """Send dead letters (all, or those with `message_id`) back to their original queue."""

    def republish(channel, _method, properties, body: bytes) -> None:
        headers = dict(properties.headers or {})
        target = (
            _text(headers.get(ORIGINAL_QUEUE_HEADER))
            or _text(_first_death(headers).get("queue"))
            or _dead_name(queue).removesuffix(".dead")
        )
        replays = int(headers.get(REPLAY_COUNT_HEADER, 0)) + 1
        for name in _DEATH_HEADERS:
            headers.pop(name, None)
        headers[REPLAY_COUNT_HEADER] = replays
        try:
            channel.basic_publish(
                "",
                target,
                body,
                pika.BasicProperties(
                    content_type=properties.content_type,
                    message_id=properties.message_id,
                    timestamp=properties.timestamp,
                    delivery_mode=pika.DeliveryMode.Persistent,
                    headers=headers,
                ),
                mandatory=True,
            )
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
            raise DeadLetterError(f"queue {target} did not accept the replay: {exc!r}") from exc

    return _settle(amqp_url, queue, message_id, republish)


def purge(amqp_url: str, queue: str, message_id: str | None = None) -> int:
    """Delete dead letters for good: all of them, or those with `message_id`."""
    if message_id is None:
        connection = pika.BlockingConnection(connection_parameters(amqp_url, "deadletters tool"))
        try:
            channel = connection.channel()
            try:
                return channel.queue_purge(_dead_name(queue)).method.message_count
            except pika.exceptions.ChannelClosedByBroker as exc:
                raise DeadLetterError(f"queue {_dead_name(queue)} does not exist") from exc
        finally:
            if connection.is_open:
                connection.close()
    return _settle(amqp_url, queue, message_id, lambda *_: None)


# -- command line ---------------------------------------------------------------------------


def _table(rows: list[dict[str, Any]]) -> str:
    columns = ["message_id", "type", "subject", "routing_key", "reason", "count"]
    cells = [[str(row.get(c) if row.get(c) is not None else "-") for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _parser(prog: str = "python -m services.common.deadletters") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Inspect, replay and purge the dead letters of a consumer queue.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="{list,show,replay,purge}"
    )
    for name, text in (
        ("list", "list the dead letters without removing them"),
        ("show", "show one dead letter with its headers and envelope"),
        ("replay", "republish dead letters to their original queue"),
        ("purge", "delete dead letters"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--queue", required=True, help="the consumer queue (not the .dead one)")
        if name == "list":
            sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
        elif name == "show":
            sub.add_argument("--id", required=True, help="message id (the event id)")
        else:
            which = sub.add_mutually_exclusive_group(required=True)
            which.add_argument("--id", help="message id (the event id)")
            which.add_argument("--all", action="store_true", help="every dead letter")
    return parser


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """The command line; `prog` is how a service's own command names it in its help."""
    args = (_parser(prog) if prog else _parser()).parse_args(argv)
    amqp_url = os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL
    quiet_pika_connection_errors()
    try:
        if args.command == "list":
            rows = list_dead(amqp_url, args.queue)
            if args.json:
                print(json.dumps(rows, indent=2, default=str))
            elif rows:
                print(_table(rows))
            else:
                print(f"no dead letters in {_dead_name(args.queue)}")
        elif args.command == "show":
            found = show(amqp_url, args.queue, args.id)
            if not found:
                print(f"no dead letter with id {args.id} in {_dead_name(args.queue)}")
                return 1
            print(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        elif args.command == "replay":
            count = replay(amqp_url, args.queue, None if args.all else args.id)
            print(f"replayed {count} message(s) from {_dead_name(args.queue)}")
            return 0 if count or args.all else 1
        else:
            count = purge(amqp_url, args.queue, None if args.all else args.id)
            print(f"purged {count} message(s) from {_dead_name(args.queue)}")
            return 0 if count or args.all else 1
    except DeadLetterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except AMQP_ERRORS as exc:
        print(f"error: cannot reach the broker: {exc!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
