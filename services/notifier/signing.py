"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec 1.0.0).

Every request carries three headers: `webhook-id` (the event id, the same on every retry so
the receiver can deduplicate), `webhook-timestamp` (unix seconds of this attempt, so a
captured request cannot be replayed later) and `webhook-signature`: `v1,<base64>` where the
base64 is the HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes.
The header is a space-separated list so that, during a secret rotation, the request is signed
with both the new and the previous secret and the receiver accepts either.

The signing itself is the maintained `standardwebhooks` package's, so it cannot drift from
the libraries OPD systems verify with.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret
# The spec asks for 24 to 64 random bytes.
SECRET_BYTES = 32
_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{32,88}={0,2}$")
# The id and timestamp are joined with full stops before signing; an id containing one could
# be shifted into the timestamp, so ids are restricted.
_MSG_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def new_secret() -> str:
    """A fresh `whsec_` secret, shown to its owner once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def is_secret(value: str) -> bool:
    return isinstance(value, str) and bool(_SECRET.match(value))


def is_message_id(value: str) -> bool:
    return isinstance(value, str) and bool(_MSG_ID.match(value))


def signature(secrets_: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: one `v1,…` entry per secret, space-separated."""
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    if not is_message_id(msg_id):
        raise ValueError(f"webhook id {msg_id!r} must be letters, digits, '-' or '_'")
    # The library reads the datetime's wall-clock fields as UTC, so it must be given UTC.
    moment = datetime.fromtimestamp(int(timestamp), UTC)
    return " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets_)


def headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: signature(secrets_, msg_id, timestamp, body),
    }
