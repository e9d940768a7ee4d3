"""The CloudEvents 1.0 envelope every service publishes.

The routing key is `<service>.<entity>.<action>.<opd>` and the envelope's `type` is the
same key without the OPD, so an OPD system binds `#.<opd>` and a consumer dispatches on
`type`. `data` carries identifiers, states and dates only: never a citizen's personal data.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

EXCHANGE = "simpul.events"
DEAD_EXCHANGE = "simpul.dead"
CONTENT_TYPE = "application/cloudevents+json"
NO_OPD = "none"

_PART = re.compile(r"^[a-z][a-z0-9_]*$")
_OPD = re.compile(r"^[a-z][a-z0-9_]*$")
# A later, breaking version of a type carries a suffix such as `.v2` on its action.
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.v[0-9]+)?$")


@dataclass(frozen=True)
class Event:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    opd: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def routing_key(self) -> str:
        return f"{self.type}.{self.opd}"

    def envelope(self) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "opd": self.opd,
            "data": self.data,
        }

    def to_json(self) -> str:
        return _dumps(self.envelope())


def new_event(
    service: str,
    entity: str,
    action: str,
    *,
    subject: str,
    opd: str | None,
    data: dict[str, Any] | None = None,
    time: datetime | None = None,
) -> Event:
    for name, value, pattern in (
        ("service", service, _PART),
        ("entity", entity, _PART),
        ("action", action, _ACTION),
    ):
        if not pattern.match(value):
            raise ValueError(f"event {name} {value!r} must be lower-case letters, digits, underscores")
    opd_code = (opd or NO_OPD).lower()
    if not _OPD.match(opd_code):
        raise ValueError(f"event opd {opd!r} is not a valid OPD code")
    if not subject:
        raise ValueError("an event needs a subject (the case it is about)")
    when = time or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    return Event(
        id=str(uuid.uuid4()),
        source=f"/simpul/{service}",
        type=f"{service}.{entity}.{action}",
        subject=subject,
        time=when,
        opd=opd_code,
        # A copy in JSON's own types: instants become RFC 3339 text once, here.
        data=orjson.loads(_dumps(data or {})),
    )


def parse_envelope(body: bytes | str) -> dict[str, Any]:
    """Decode and check the attributes a consumer relies on; raises ValueError if malformed."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise ValueError("envelope is not a JSON object")
    missing = [k for k in ("specversion", "id", "source", "type", "time") if not envelope.get(k)]
    if missing:
        raise ValueError(f"envelope lacks {', '.join(missing)}")
    if envelope["specversion"] != "1.0":
        raise ValueError(f"unsupported specversion {envelope['specversion']!r}")
    try:
        parsed = datetime.fromisoformat(str(envelope["time"]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"time {envelope['time']!r} is not RFC 3339") from exc
    if parsed.tzinfo is None:
        raise ValueError("time has no offset")
    if "data" in envelope and not isinstance(envelope["data"], dict):
        raise ValueError("data must be a JSON object")
    return envelope


def event_time(envelope: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(envelope["time"]).replace("Z", "+00:00"))


def _dumps(value: Any) -> str:
    # Compact UTF-8; every instant goes through _json_default, which refuses naive ones.
    try:
        return orjson.dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except orjson.JSONEncodeError as exc:
        # orjson wraps what _json_default raised; the caller should see that error itself.
        raise (exc.__cause__ or exc) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes in events must be timezone-aware")
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# -- the catalogue of event types ------------------------------------------------------------
#
# Every service declares the event types it publishes in one module, `services/<name>/
# events.py`, as an `EventCatalogue` named `CATALOGUE`, and builds its events through it: a
# type that is not declared cannot be built, and the AsyncAPI test compares the declared
# types with docs/events/asyncapi.yaml. `new_event` itself stays the plain envelope builder
# (tests use it to stand in for producers that do not exist yet).

# Where an event type is routed (the last routing-key segment).
ROUTE_CASE = "case"  # the OPD holding the case or record, `none` while nobody holds it
ROUTE_NONE = "none"  # always `none`: news for the whole regency
ROUTES = (ROUTE_CASE, ROUTE_NONE)


@dataclass(frozen=True)
class EventType:
    service: str
    entity: str
    action: str
    routes_to: str
    summary: str = ""

    @property
    def name(self) -> str:
        return f"{self.service}.{self.entity}.{self.action}"


_CATALOGUES: dict[str, EventCatalogue] = {}


class EventCatalogue:
    """The event types one service publishes, and the only way its code builds them."""

    def __init__(self, service: str) -> None:
        if not _PART.match(service):
            raise ValueError(f"service {service!r} must be lower-case letters, digits, underscores")
        # The module that declares it: importing that module again (after an import that
        # failed half-way, or a reload) declares afresh; a second module may not.
        module = sys._getframe(1).f_globals.get("__name__", "")
        known = _CATALOGUES.get(service)
        if known is not None and known.module != module:
            raise ValueError(f"service {service!r} already has an event catalogue, in {known.module}")
        self.service = service
        self.module = module
        self._types: dict[tuple[str, str], EventType] = {}
        _CATALOGUES[service] = self

    def declare(self, entity: str, action: str, *, routes_to: str, summary: str = "") -> EventType:
        if not _PART.match(entity) or not _ACTION.match(action):
            raise ValueError(f"event type {self.service}.{entity}.{action} is not well formed")
        if routes_to not in ROUTES:
            raise ValueError(f"routes_to must be one of {ROUTES}, got {routes_to!r}")
        if (entity, action) in self._types:
            raise ValueError(f"event type {self.service}.{entity}.{action} is declared twice")
        declared = EventType(self.service, entity, action, routes_to, summary)
        self._types[(entity, action)] = declared
        return declared

    @property
    def types(self) -> dict[str, EventType]:
        return {t.name: t for t in self._types.values()}

    def event(
        self,
        entity: str,
        action: str,
        *,
        subject: str,
        opd: str | None,
        data: dict[str, Any] | None = None,
        time: datetime | None = None,
    ) -> Event:
        """`new_event` for a declared type; refuses an undeclared one or a wrong route."""
        declared = self._types.get((entity, action))
        if declared is None:
            raise ValueError(
                f"event type {self.service}.{entity}.{action} is not declared in the "
                f"{self.service} event catalogue"
            )
        if declared.routes_to == ROUTE_NONE and opd not in (None, NO_OPD):
            raise ValueError(f"{declared.name} is routed to none, not to OPD {opd!r}")
        return new_event(self.service, entity, action, subject=subject, opd=opd, data=data, time=time)


def event_catalogue(service: str) -> EventCatalogue | None:
    """The catalogue a service declared, once its events module has been imported."""
    return _CATALOGUES.get(service)
