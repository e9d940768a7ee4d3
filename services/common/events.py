"""The CloudEvents 1.0 envelope every service publishes.

The routing key is `<service>.<entity>.<action>.<opd>` and the envelope's `type` is the
same key without the OPD, so an OPD system binds `#.<opd>` and a consumer dispatches on
`type`. An event that moves a case between OPDs is routed to both: the envelope names the
OPD it reaches (`opd`) and the one it leaves (`fromopd`), and the outbox publishes it under
both keys with one `id`. `data` carries identifiers, states and dates only: never a
citizen's personal data.

Every instant in an event, the envelope's `time` and every date-time in `data`, is written
in UTC with `Z` (`2026-03-02T02:00:00Z`), whatever zone the producer computed it in:
`instant()` is the one spelling. `new_event` writes datetimes so, rewrites date-time text
given with another offset to it, and refuses date-time text without an offset. A consumer
shows an instant in the regency's zone itself. A calendar date stays `YYYY-MM-DD`.
"""

from __future__ import annotations

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
    # The OPD a moving case leaves (`none` if nobody held it); None for an event that
    # moves nothing.
    from_opd: str | None = None
    # `data` as JSON text, when the builder wrote it: the envelope is then written around
    # it rather than serialising `data` a second time. Not copied by `dataclasses.replace`,
    # so a copy with other data is written afresh.
    _data_json: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def routing_key(self) -> str:
        """The key of the OPD the case is with now."""
        return f"{self.type}.{self.opd}"

    @property
    def routing_keys(self) -> tuple[str, ...]:
        """Every key the event is published under: a move also reaches the OPD it left."""
        if self.from_opd is None or self.from_opd == self.opd:
            return (self.routing_key,)
        return (self.routing_key, f"{self.type}.{self.from_opd}")

    def envelope(self) -> dict[str, Any]:
        envelope = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": instant(self.time),
            "datacontenttype": "application/json",
            "opd": self.opd,
        }
        if self.from_opd is not None:
            # CloudEvents extension names are lower-case letters and digits only.
            envelope["fromopd"] = self.from_opd
        envelope["data"] = self.data
        return envelope

    def to_json(self) -> str:
        envelope = self.envelope()
        if self._data_json is not None:
            # The builder's text of `data`, written into the envelope as it is.
            envelope["data"] = orjson.Fragment(self._data_json)
        return _dumps(envelope)


def new_event(
    service: str,
    entity: str,
    action: str,
    *,
    subject: str,
    opd: str | None,
    data: dict[str, Any] | None = None,
    time: datetime | None = None,
    from_opd: str | None = None,
) -> Event:
    """The envelope of one event; `from_opd` only for an event that moves the case.

    A move names the OPD the case leaves (`none` when nobody held it), which must differ
    from `opd`.
    """
    for name, value, pattern in (
        ("service", service, _PART),
        ("entity", entity, _PART),
        ("action", action, _ACTION),
    ):
        if not pattern.match(value):
            raise ValueError(f"event {name} {value!r} must be lower-case letters, digits, underscores")
    return _new_event(
        service, entity, action, subject=subject, opd=opd, data=data, time=time, from_opd=from_opd
    )


def _new_event(
    service: str,
    entity: str,
    action: str,
    *,
    subject: str,
    opd: str | None,
    data: dict[str, Any] | None,
    time: datetime | None,
    from_opd: str | None,
) -> Event:
    """`new_event` for names already checked (a catalogue checks them when declared)."""
    opd_code = _opd_code(opd)
    if not subject:
        raise ValueError("an event needs a subject (the case it is about)")
    from_code = None
    if from_opd is not None:
        from_code = _opd_code(from_opd)
        if from_code == opd_code:
            raise ValueError(f"a move leaves one OPD for another, not {opd_code!r} for itself")
    when = time or datetime.now(UTC)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("event time must be timezone-aware")
    body, body_json = _event_data(data or {})
    event = Event(
        id=str(uuid.uuid4()),
        source=f"/simpul/{service}",
        type=f"{service}.{entity}.{action}",
        subject=subject,
        time=when.astimezone(UTC),
        opd=opd_code,
        data=body,
        from_opd=from_code,
    )
    object.__setattr__(event, "_data_json", body_json)
    return event


def _opd_code(opd: str | None) -> str:
    code = (opd or NO_OPD).lower()
    if not _OPD.match(code):
        raise ValueError(f"event opd {opd!r} is not a valid OPD code")
    return code


def instant(value: datetime) -> str:
    """An instant as every event writes it: RFC 3339 in UTC with `Z`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes in events must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _event_data(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A copy of `data` in JSON's own types, every instant in UTC with `Z`, and its JSON text.

    Data is written once as JSON text (instants in UTC with `Z`, by `_json_default`) and
    read back. Only when the text holds a string that reads as a date-time not ending in `Z`
    (or what merely looks like one) is the copy walked, to rewrite or refuse that text with
    its path: a walk of every value cost a submission more than the rest of its event.
    """
    text = _dumps(data)
    body = orjson.loads(text)
    if _ZONED_TEXT.search(text) is None:
        return body, text
    body = _in_utc(body, "data")
    return body, _dumps(body)


# Text that reads as a date-time (a producer formatted an instant itself).
_DATE_TIME_TEXT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(?P<zone>[Zz]|[+-]\d{2}(:?\d{2})?)?$"
)


# Where the text may hold a string `_in_utc` rewrites or refuses: the day's end and the time
# of a date-time (`-DD` `T` `HH:MM`), unless an instant as `instant` writes it follows
# (seconds, a fraction, `Z`, the closing quote). A superset of those strings, so the walk
# never misses one; searched from the hyphens, which JSON text has few of, it costs a
# submission a small share of matching every string from its opening quote.
_ZONED_TEXT = re.compile(r'-..[Tt ]..:..(?!:\d\d(?:\.\d+)?Z")')


def _in_utc(value: Any, path: str) -> Any:
    """`value` with every date-time text in UTC with `Z`, so no producer writes its own zone."""
    if isinstance(value, str):
        found = _DATE_TIME_TEXT.match(value)
        if found is None or value.endswith("Z"):
            return value
        if found.group("zone") is None:
            raise ValueError(f"{path} {value!r}: an instant in an event needs its offset")
        try:
            return instant(datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] == "z" else value))
        except ValueError as exc:
            raise ValueError(f"{path} {value!r} is not a valid instant") from exc
    if isinstance(value, dict):
        return {key: _in_utc(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_in_utc(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


# What a consumer stores of an envelope has a size (the inbox's event id, a type or subject
# column): a value that cannot fit can never be handled, so it is refused on arrival.
MAX_ID_CHARS = 64
MAX_TYPE_CHARS = 255
MAX_SOURCE_CHARS = 255
MAX_SUBJECT_CHARS = 255
MAX_OPD_CHARS = 32
# Instants a working-day calendar and its date arithmetic can serve; outside, an event is
# someone's mistake, and date arithmetic on it would overflow.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(3000, 1, 1, tzinfo=UTC)
_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(\.v[0-9]+)?$")
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def parse_envelope(body: bytes | str) -> dict[str, Any]:
    """Decode and check every attribute a consumer relies on; ValueError if malformed.

    Whatever the body is, the answer is the envelope or a ValueError: a parser's own failure
    on hostile input (nesting too deep, bytes that are not UTF-8, numbers out of range) is
    a malformed body like any other, so a consumer dead-letters it instead of choking on it.
    """
    try:
        # orjson bounds nesting (1024 levels) where the standard library would recurse
        # until RecursionError.
        envelope = orjson.loads(body)
    except Exception as exc:  # noqa: BLE001 - every way a body fails to parse is one answer
        raise ValueError(f"body is not JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(envelope, dict):
        raise ValueError("envelope is not a JSON object")
    missing = [k for k in ("specversion", "id", "source", "type", "time") if not envelope.get(k)]
    if missing:
        raise ValueError(f"envelope lacks {', '.join(missing)}")
    if envelope["specversion"] != "1.0":
        raise ValueError(f"unsupported specversion {str(envelope['specversion'])[:20]!r}")
    _parse_time(envelope["time"])
    if "data" in envelope and not isinstance(envelope["data"], dict):
        raise ValueError("data must be a JSON object")
    _check_text(envelope, "id", MAX_ID_CHARS, _PRINTABLE)
    _check_text(envelope, "type", MAX_TYPE_CHARS, _TYPE)
    _check_text(envelope, "source", MAX_SOURCE_CHARS)
    if envelope.get("subject") is not None:
        _check_text(envelope, "subject", MAX_SUBJECT_CHARS)
    for key in ("opd", "fromopd"):
        if envelope.get(key) is not None:
            _check_text(envelope, key, MAX_OPD_CHARS, _OPD)
    return envelope


def _check_text(envelope: dict[str, Any], key: str, limit: int, pattern: re.Pattern | None = None) -> None:
    value = envelope[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{key} has {len(value)} characters, more than {limit}")
    if pattern is not None and not pattern.match(value):
        raise ValueError(f"{key} {value!r} is not well formed")


def _parse_time(raw: Any) -> datetime:
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValueError("time must be an RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"time {raw!r} is not RFC 3339") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("time has no offset")
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"time {raw!r} is out of range") from exc
    if not EARLIEST_TIME <= in_utc < LATEST_TIME:
        raise ValueError(f"time {raw!r} is outside {EARLIEST_TIME.year}-{LATEST_TIME.year - 1}")
    return parsed


def event_time(envelope: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(envelope["time"]).replace("Z", "+00:00"))


def routing_keys(envelope: dict[str, Any]) -> tuple[str, ...]:
    """The keys a received envelope was published under, for routing it on (webhooks).

    The OPD it is with, then for a move the OPD it left: the same keys `Event.routing_keys`
    gave the outbox.
    """
    opd = str(envelope.get("opd") or NO_OPD).lower()
    keys = [f"{envelope.get('type', '')}.{opd}"]
    left = envelope.get("fromopd")
    if isinstance(left, str) and left and left.lower() != opd:
        keys.append(f"{envelope.get('type', '')}.{left.lower()}")
    return tuple(keys)


def _dumps(value: Any) -> str:
    # Compact UTF-8; every instant goes through _json_default, which refuses naive ones.
    try:
        return orjson.dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except orjson.JSONEncodeError as exc:
        # orjson wraps what _json_default raised; the caller should see that error itself.
        raise (exc.__cause__ or exc) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return instant(value)
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
# The case moves between OPDs: to the OPD it reaches and to the one it leaves (`none` when
# nobody held it), so an OPD system bound to `#.<opd>` hears that a case left it.
ROUTE_MOVE = "move"
ROUTES = (ROUTE_CASE, ROUTE_NONE, ROUTE_MOVE)
# Marks an argument the caller did not give (None is a value: "nobody held the case").
_UNSET: Any = object()


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

    def declared(self, entity: str, action: str) -> EventType | None:
        """The declared type `<service>.<entity>.<action>`, None if there is none."""
        return self._types.get((entity, action))

    def event(
        self,
        entity: str,
        action: str,
        *,
        subject: str,
        opd: str | None,
        data: dict[str, Any] | None = None,
        time: datetime | None = None,
        from_opd: str | None = _UNSET,
    ) -> Event:
        """`new_event` for a declared type; refuses an undeclared one or a wrong route.

        A type routed as a move needs `from_opd`, the OPD the case leaves (None while
        nobody held it); no other type takes it.
        """
        declared = self._types.get((entity, action))
        if declared is None:
            raise ValueError(
                f"event type {self.service}.{entity}.{action} is not declared in the "
                f"{self.service} event catalogue"
            )
        if declared.routes_to == ROUTE_NONE and opd not in (None, NO_OPD):
            raise ValueError(f"{declared.name} is routed to none, not to OPD {opd!r}")
        if declared.routes_to == ROUTE_MOVE:
            if from_opd is _UNSET:
                raise ValueError(f"{declared.name} moves a case: name the OPD it leaves (from_opd)")
            left = from_opd or NO_OPD
        elif from_opd is not _UNSET:
            raise ValueError(f"{declared.name} moves no case between OPDs: it takes no from_opd")
        else:
            left = None
        return _new_event(
            self.service, entity, action, subject=subject, opd=opd, data=data, time=time,
            from_opd=left,
        )


def event_catalogue(service: str) -> EventCatalogue | None:
    """The catalogue a service declared, once its events module has been imported."""
    return _CATALOGUES.get(service)
