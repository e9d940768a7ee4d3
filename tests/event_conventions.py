"""The conventions every service's events share, checked on what a service really wrote."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# RFC 3339 in UTC with `Z`: the one spelling of an instant in any event (services.common.events).
UTC_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# Anything that starts like a date-time, in whatever zone or none.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def instants(value: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """(path, text) of every date-time text in a decoded envelope."""
    if isinstance(value, str):
        if DATE_TIME.match(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from instants(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from instants(item, f"{path}[{index}]")


def instants_not_in_utc(bodies: Iterable[str]) -> tuple[set[str], list[str]]:
    """The event types seen in outbox bodies, and every instant among them not in UTC with `Z`."""
    types, wrong = set(), []
    for body in bodies:
        envelope = json.loads(body)
        types.add(envelope["type"])
        for path, text in instants(envelope):
            if not UTC_INSTANT.match(text):
                wrong.append(f"{envelope['type']} {path}: {text}")
    return types, wrong
