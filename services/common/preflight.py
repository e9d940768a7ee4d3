"""Before `make run` starts anything: is RabbitMQ there? One clear line if it is not."""

from __future__ import annotations

import logging
import os
import sys

import pika

from services.common.settings import DEFAULT_AMQP_URL


def check_broker(url: str) -> str | None:
    """Returns why the broker cannot be reached, or None when it can."""
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = 3
    try:
        pika.BlockingConnection(params).close()
    except pika.exceptions.ProbableAuthenticationError:
        return "RabbitMQ refused the login in AMQP_URL"
    except pika.exceptions.AMQPError as exc:
        return f"RabbitMQ is not reachable ({type(exc).__name__})"
    return None


def main() -> int:
    # pika logs every failed connection attempt; the operator gets our one line instead.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    url = os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL
    host = pika.URLParameters(url).host
    problem = check_broker(url)
    if problem:
        print(
            f"simpul: {problem} at {host}:{pika.URLParameters(url).port}. Start it with "
            "`rabbitmq-server -detached` (or `sudo systemctl start rabbitmq-server`), "
            "or set AMQP_URL, then run `make run` again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
