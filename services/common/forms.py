"""The chassis's form vocabulary: marshmallow fields, validators and schemas that speak
Bahasa Indonesia.

Every request body and query string of every service is read with these, so a citizen or
an officer never meets one of marshmallow's English default messages:

- `Base` is the input schema: unknown fields are refused ("Isian tidak dikenal."), a body
  that is not an object is refused ("Data harus berupa objek JSON."), and any plain
  marshmallow field or validator declared on it (`fields.String()`, `validate.Length(…)`,
  `fields.List(fields.Nested(…))` …) has its English defaults replaced by the Indonesian
  ones of `FIELD_MESSAGES` / the validators below when the schema is built. Messages the
  author wrote stay as written.
- The field makers (`Text`, `Choice`, `When`, `Day`, `Whole`, `Number`, `Flag`, `Email`,
  `OpdCode`, `Nested`, `List`) carry the messages the forms of PPID were written with.
- The validators (`Length`, `Range`, `OneOf`, `Regexp`, `Url`) are marshmallow's with
  Indonesian default messages.
- `cross_field(...)` declares a rule between fields that reports in the same answer as the
  field errors (marshmallow's own `@validates_schema` is skipped when any field failed,
  which makes a form answer in rounds).
- `indonesian(schema)` translates a schema the service did not write (flask-smorest's
  pagination parameters), for the HTTP layer.

Field names stay English (they are identifiers); the messages are for people.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import wraps
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.opd import OpdCodeField

MESSAGES = {
    "required": "Wajib diisi.",
    "null": "Tidak boleh kosong.",
    "invalid": "Format tidak valid.",
    "validator_failed": "Nilai tidak valid.",
}
UNKNOWN_FIELD = "Isian tidak dikenal."
NOT_AN_OBJECT = "Data harus berupa objek JSON."
NOT_A_LIST_OF_OBJECTS = "Harus berupa daftar objek JSON."
DATE_TIME_INVALID = "Tanggal dan waktu tidak valid; gunakan ISO 8601, mis. 2026-03-16T10:00:00+07:00."
DATE_INVALID = "Tanggal tidak valid; gunakan format 2026-03-16."
NUL_IN_TEXT = "Teks mengandung karakter yang tidak diizinkan."
# Dates a form accepts. Before 1970 the regency's zone had other offsets (+07:07:12, +07:30…),
# and near the ends of Python's calendar the working-day arithmetic overflows; no duty of a
# regency office lies outside these years.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2199, 12, 31)
DATE_OUT_OF_RANGE = f"Tanggal harus antara {EARLIEST_DAY.isoformat()} dan {LATEST_DAY.isoformat()}."
# Integers a form accepts: what a PostgreSQL `integer` column holds, so no id, page or count
# read from a request overflows a statement.
SMALLEST_WHOLE = -(2**31)
LARGEST_WHOLE = 2**31 - 1
# An unknown-field answer names at most this many fields, each cut to this length: a body of
# millions of made-up keys must not be echoed back larger than it came.
MAX_UNKNOWN_REPORTED = 20
MAX_REPORTED_KEY_CHARS = 64
MORE_UNKNOWN = "Dan {count} isian tidak dikenal lainnya."

# The Indonesian message of each of marshmallow's error keys, per field class (the most
# specific class in a field's MRO wins). Only keys a caller can meet while a request is
# read are listed; "format" is raised when a response is written, a server fault.
FIELD_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {**MESSAGES},
    fields.String: {"invalid": "Harus berupa teks.", "invalid_utf8": "Teks bukan UTF-8 yang sah."},
    fields.Number: {"invalid": "Harus berupa angka.", "too_large": "Angka terlalu besar."},
    fields.Integer: {"invalid": "Harus berupa bilangan bulat."},
    fields.Float: {"special": "Nilai NaN atau tak hingga tidak diizinkan."},
    fields.Decimal: {"special": "Nilai NaN atau tak hingga tidak diizinkan."},
    fields.Boolean: {"invalid": "Harus true atau false."},
    fields.DateTime: {
        "invalid": DATE_TIME_INVALID,
        "invalid_awareness": "Tanggal dan waktu tidak sesuai aturan zona waktunya.",
    },
    fields.AwareDateTime: {"invalid_awareness": "Sertakan zona waktu, mis. 2026-03-16T10:00:00+07:00."},
    fields.NaiveDateTime: {"invalid_awareness": "Jangan sertakan zona waktu."},
    fields.Date: {"invalid": DATE_INVALID},
    fields.Time: {"invalid": "Waktu tidak valid; gunakan format 10:00:00."},
    fields.TimeDelta: {"invalid": "Jangka waktu tidak valid."},
    fields.UUID: {"invalid_uuid": "UUID tidak valid."},
    fields.Url: {"invalid": "Alamat URL tidak valid."},
    fields.Email: {"invalid": "Alamat surel tidak valid."},
    fields.IP: {"invalid_ip": "Alamat IP tidak valid."},
    fields.IPInterface: {"invalid_ip_interface": "Antarmuka IP tidak valid."},
    fields.Enum: {"unknown": "Pilihan tidak dikenal; gunakan salah satu dari: {choices}."},
    fields.List: {"invalid": "Harus berupa daftar."},
    fields.Tuple: {"invalid": "Harus berupa daftar."},
    fields.Mapping: {"invalid": NOT_AN_OBJECT},
    fields.Nested: {"type": NOT_AN_OBJECT},
}


# -- validators ----------------------------------------------------------------------------


class Length(validate.Length):
    """`validate.Length` in Indonesian (text and lists alike)."""

    message_min = "Panjang paling sedikit {min}."
    message_max = "Panjang paling banyak {max}."
    message_all = "Panjang harus antara {min} dan {max}."
    message_equal = "Panjang harus {equal}."


class Range(validate.Range):
    """`validate.Range` in Indonesian."""

    message_min = "Harus {min_op} {{min}}."
    message_max = "Harus {max_op} {{max}}."
    message_all = "Harus {min_op} {{min}} dan {max_op} {{max}}."
    message_gte = "lebih dari atau sama dengan"
    message_gt = "lebih dari"
    message_lte = "kurang dari atau sama dengan"
    message_lt = "kurang dari"


class OneOf(validate.OneOf):
    default_message = "Pilihan tidak dikenal; gunakan salah satu dari: {choices}."


class Regexp(validate.Regexp):
    default_message = "Format tidak valid."


class Url(validate.URL):
    default_message = "Alamat URL tidak valid."


# Validators whose message is one `error` string, and their Indonesian default.
_ONE_MESSAGE = {
    validate.OneOf: OneOf.default_message,
    validate.Regexp: Regexp.default_message,
    validate.URL: Url.default_message,
    validate.Email: "Alamat surel tidak valid.",
    validate.Equal: "Harus sama dengan {other}.",
    validate.NoneOf: "Nilai tidak diizinkan.",
    validate.ContainsOnly: "Satu atau lebih pilihan tidak termasuk: {choices}.",
    validate.ContainsNoneOf: "Satu atau lebih pilihan termasuk yang tidak diizinkan: {values}.",
    validate.Predicate: "Nilai tidak valid.",
}


def _indonesian_validator(validator: Any) -> Any:
    """`validator` with its English default message replaced; one with an author's own
    message, or of a kind marshmallow does not ship, is returned as it is."""
    kind = type(validator)
    if kind is validate.Length and validator.error is None:
        return Length(validator.min, validator.max, equal=validator.equal)
    if kind is validate.Range and validator.error is None:
        return Range(
            validator.min,
            validator.max,
            min_inclusive=validator.min_inclusive,
            max_inclusive=validator.max_inclusive,
        )
    if kind is validate.And:
        translated = copy.copy(validator)
        translated.validators = [_indonesian_validator(v) for v in validator.validators]
        return translated
    if kind in _ONE_MESSAGE and validator.error == kind.default_message:
        translated = copy.copy(validator)
        translated.error = _ONE_MESSAGE[kind]
        return translated
    return validator


_ENGLISH_DEFAULTS = {
    message
    for cls in vars(fields).values()
    if isinstance(cls, type) and issubclass(cls, fields.Field)
    for message in cls.__dict__.get("default_error_messages", {}).values()
}


def indonesian_field(field: fields.Field) -> None:
    """Replace, in place, the English default messages of `field`, of its validators and
    of the fields inside it (a list's items, a tuple's members, a dict's keys and values)."""
    for key, message in list(field.error_messages.items()):
        if message in _ENGLISH_DEFAULTS:
            field.error_messages[key] = _message_for(field, key)
    field.validators = [_indonesian_validator(v) for v in field.validators]
    inner: list[fields.Field | None] = [getattr(field, "inner", None)]
    inner += list(getattr(field, "tuple_fields", ()) or ())
    inner += [getattr(field, "key_field", None), getattr(field, "value_field", None)]
    for member in inner:
        if isinstance(member, fields.Field):
            indonesian_field(member)


def _message_for(field: fields.Field, key: str) -> str:
    if key == "type" and isinstance(field, fields.Nested) and field.many:
        return NOT_A_LIST_OF_OBJECTS
    for cls in type(field).__mro__:
        message = FIELD_MESSAGES.get(cls, {}).get(key)
        if message is not None:
            return message
    # A key a later marshmallow may add: still not English to the caller.
    return MESSAGES["validator_failed"]


def indonesian(schema: Schema) -> Schema:
    """Translate, in place, a schema instance the service did not declare on `Base`."""
    schema.error_messages = {**schema.error_messages, "unknown": UNKNOWN_FIELD, "type": NOT_AN_OBJECT}
    for field in schema.fields.values():
        indonesian_field(field)
        bounded_field(field)
    return schema


# -- the input schema ------------------------------------------------------------------------


class Base(Schema):
    """The input schema of every service: refuses unknown fields, answers in Indonesian,
    and keeps every value within what the services can store and compute with."""

    error_messages = {"unknown": UNKNOWN_FIELD, "type": NOT_AN_OBJECT}

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        indonesian_field(field_obj)
        bounded_field(field_obj)

    def handle_error(self, error: ValidationError, data: Any, **kwargs: Any) -> None:
        capped = cap_unknown_fields(error.messages)
        if capped is not error.messages:
            raise ValidationError(capped, data=error.data, valid_data=error.valid_data) from error


def bounded_field(field: fields.Field) -> None:
    """Give `field` (and the fields inside it) the chassis's bounds, in place: integers within
    `SMALLEST_WHOLE`..`LARGEST_WHOLE`, dates and instants within `EARLIEST_DAY`..`LATEST_DAY`,
    no NUL character in text (PostgreSQL cannot store one). A bound the author declared
    (a `Range` of their own) stays."""
    bound = None
    if isinstance(field, fields.Integer) and not _has_range(field):
        bound = Range(SMALLEST_WHOLE, LARGEST_WHOLE)
    elif isinstance(field, fields.DateTime) and not _has_range(field):
        bound = _instant_in_range
    elif isinstance(field, fields.Date) and not _has_range(field):
        bound = _day_in_range
    elif isinstance(field, fields.String) and not isinstance(field, Text):
        bound = _without_nul
    if bound is not None and bound not in field.validators:
        field.validators.append(bound)
    inner: list[fields.Field | None] = [getattr(field, "inner", None)]
    inner += list(getattr(field, "tuple_fields", ()) or ())
    inner += [getattr(field, "key_field", None), getattr(field, "value_field", None)]
    for member in inner:
        if isinstance(member, fields.Field):
            bounded_field(member)


def _has_range(field: fields.Field) -> bool:
    """Whether the author bounded `field` on both sides already (`Range(min=1)` alone, as
    flask-smorest's page number has, still gets the chassis's upper bound)."""
    return any(
        isinstance(v, validate.Range) and v.min is not None and v.max is not None
        for v in field.validators
    )


def _day_in_range(value: date) -> None:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValidationError(DATE_OUT_OF_RANGE)


def _instant_in_range(value: datetime) -> None:
    # Compared as a calendar day in its own offset: converting an instant of year 1 to UTC
    # would itself overflow.
    if not EARLIEST_DAY <= value.date() <= LATEST_DAY:
        raise ValidationError(DATE_OUT_OF_RANGE)


def _without_nul(value: Any) -> None:
    # A text field may decode to bytes (a base64 attachment), where NUL is content.
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(NUL_IN_TEXT)


def cap_unknown_fields(messages: Any) -> Any:
    """`messages` with at most `MAX_UNKNOWN_REPORTED` unknown fields named, each name cut to
    `MAX_REPORTED_KEY_CHARS`, and a count of the rest; `messages` itself when within bounds."""
    if not isinstance(messages, Mapping):
        return messages
    unknown = [key for key, value in messages.items() if value == [UNKNOWN_FIELD]]
    long_keys = any(len(str(key)) > MAX_REPORTED_KEY_CHARS for key in unknown)
    if len(unknown) <= MAX_UNKNOWN_REPORTED and not long_keys:
        return messages
    dropped = set(unknown[MAX_UNKNOWN_REPORTED:])
    capped: dict[Any, Any] = {}
    for key, value in messages.items():
        if key in dropped:
            continue
        if value == [UNKNOWN_FIELD] and len(str(key)) > MAX_REPORTED_KEY_CHARS:
            key = f"{str(key)[:MAX_REPORTED_KEY_CHARS]}…"
        capped[key] = value
    if dropped:
        schema_errors = capped.setdefault("_schema", [])
        if not isinstance(schema_errors, list):
            schema_errors = capped["_schema"] = [schema_errors]
        schema_errors.append(MORE_UNKNOWN.format(count=len(dropped)))
    return capped


def cross_field(*depends_on: str) -> Callable:
    """Declare a rule between fields of a `Base` schema, reported with the field errors.

    The method receives the loaded data (as `@validates_schema` does) and raises
    `ValidationError({field: [message]})` for what it finds. It runs even when other fields
    failed, so one answer lists every problem of the form. A field that failed on its own is
    absent from the data, so the rule must not read it as "not sent": it is skipped when one
    of the fields it depends on (`depends_on`, attribute names) failed, and whatever it says
    about a field that already has its own error is dropped (a wrong e-mail address is not
    also called missing). Guard against fields that are absent (optional, not sent) with
    `data.get`.
    """

    def decorator(rule: Callable) -> Callable:
        @wraps(rule)
        def check(self: Schema, data: Any, original_data: Any, **kwargs: Any) -> None:
            failed = _failed_fields(self, data, original_data, kwargs.get("partial"))
            if not failed.isdisjoint(depends_on):
                return
            try:
                rule(self, data, **kwargs)
            except ValidationError as exc:
                messages = exc.normalized_messages()
                remaining = {key: value for key, value in messages.items() if key not in failed}
                if remaining:
                    raise ValidationError(remaining) from exc

        return validates_schema(check, skip_on_field_errors=False, pass_original=True)

    return decorator


_FAILED_MEMO = "_simpul_failed_fields"


def _failed_fields(schema: Schema, data: Any, original: Any, partial: Any) -> set[str]:
    if not isinstance(original, Mapping) or not isinstance(data, Mapping):
        return set(schema.load_fields)
    # Every rule of one load asks about the same data: the answer is kept for the next rule
    # (the same objects, the same keys) rather than worked out per rule, on the busiest
    # forms' hot path. Identity, not equality: a later load's data never matches.
    memo = getattr(schema, _FAILED_MEMO, None)
    if memo is not None and memo[0] is data and memo[1] is original and memo[2] == (partial, len(data)):
        return memo[3]
    failed = _fields_that_failed(schema, data, original, partial)
    setattr(schema, _FAILED_MEMO, (data, original, (partial, len(data)), failed))
    return failed


def _fields_that_failed(schema: Schema, data: Mapping, original: Mapping, partial: Any) -> set[str]:
    failed = set()
    for name, field in schema.load_fields.items():
        if (field.attribute or name) in data:
            continue
        optional_now = partial is True or (bool(partial) and name in partial)
        if (field.data_key or name) in original or (field.required and not optional_now):
            failed.add(name)
    return failed


# -- fields --------------------------------------------------------------------------------


def _messages(**extra: str) -> dict[str, str]:
    return {**MESSAGES, **extra}


class Text(fields.String):
    """Trimmed text with a length range; blank counts as missing."""

    def __init__(self, max_length: int, *, min_length: int = 1, **kwargs: Any):
        kwargs.setdefault("error_messages", _messages(invalid="Harus berupa teks."))
        super().__init__(**kwargs)
        self.min_length = min_length
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if "\x00" in text:
            raise ValidationError(NUL_IN_TEXT)
        if not text:
            if self.required:
                raise ValidationError(MESSAGES["required"])
            return None
        if len(text) < self.min_length:
            raise ValidationError(f"Paling sedikit {self.min_length} karakter.")
        if len(text) > self.max_length:
            raise ValidationError(f"Paling banyak {self.max_length} karakter.")
        return text

    def _validate(self, value: Any) -> None:
        # Most texts have no validator beyond their own checks above; marshmallow would build
        # an empty `And` for each of them on every load.
        if self.validators:
            super()._validate(value)



class Base64Bytes(fields.String):
    """A file's bytes sent as standard base64 text, as every body of the API is JSON."""

    default_error_messages = {"invalid_base64": "Isi berkas harus dikodekan base64."}

    def _deserialize(self, value, attr, data, **kwargs) -> bytes:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.make_error("invalid_base64") from exc

def Choice(choices: Iterable[Any], **kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    """One of `choices` (a dict's keys, or a sequence), listed as an enum in the OpenAPI."""
    names = list(choices)
    return fields.String(
        validate=validate.OneOf(names, error="Pilihan tidak dikenal; gunakan salah satu dari: {choices}."),
        error_messages=_messages(invalid="Harus berupa teks."),
        metadata={"enum": names, **kwargs.pop("metadata", {})},
        **kwargs,
    )


def When(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802
    """An instant with its UTC offset (ISO 8601)."""
    return fields.AwareDateTime(
        error_messages=_messages(
            invalid=DATE_TIME_INVALID,
            invalid_awareness="Sertakan zona waktu, mis. 2026-03-16T10:00:00+07:00.",
        ),
        **kwargs,
    )


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    """A calendar date (YYYY-MM-DD)."""
    return fields.Date(error_messages=_messages(invalid=DATE_INVALID), **kwargs)


def Whole(**kwargs: Any) -> fields.Integer:  # noqa: N802
    """An integer; strict (no "12" or 12.0) unless `strict=False` (query strings)."""
    kwargs.setdefault("strict", True)
    return fields.Integer(error_messages=_messages(invalid="Harus berupa bilangan bulat."), **kwargs)


def Number(**kwargs: Any) -> fields.Float:  # noqa: N802
    """A finite decimal number."""
    return fields.Float(
        error_messages=_messages(
            invalid="Harus berupa angka.", special="Nilai NaN atau tak hingga tidak diizinkan."
        ),
        **kwargs,
    )


def Flag(**kwargs: Any) -> fields.Boolean:  # noqa: N802
    """true or false."""
    return fields.Boolean(error_messages=_messages(invalid="Harus true atau false."), **kwargs)


def Email(**kwargs: Any) -> fields.Email:  # noqa: N802
    """An e-mail address of at most 254 characters (RFC 5321)."""
    return fields.Email(
        validate=validate.Length(max=254, error="Paling banyak {max} karakter."),
        error_messages=_messages(invalid="Alamat surel tidak valid."),
        **kwargs,
    )


def OpdCode(**kwargs: Any) -> OpdCodeField:  # noqa: N802
    """A code of the running service's OPD registry."""
    return OpdCodeField(
        lambda: current_app.extensions["simpul"].opds,
        error_messages=_messages(invalid="Harus berupa kode OPD."),
        **kwargs,
    )


def Nested(schema: Any, **kwargs: Any) -> fields.Nested:  # noqa: N802
    """An object inside the body, read with a `Base` schema."""
    kind = NOT_A_LIST_OF_OBJECTS if kwargs.get("many") else NOT_AN_OBJECT
    return fields.Nested(schema, error_messages=_messages(type=kind), **kwargs)


def List(item: fields.Field, **kwargs: Any) -> fields.List:  # noqa: N802
    """A list of `item`; its items' errors are reported as `field.0`, `field.1`, …"""
    kwargs.setdefault("error_messages", _messages(invalid="Harus berupa daftar."))
    return fields.List(item, **kwargs)
